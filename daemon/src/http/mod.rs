//! The HTTP endpoint both daemons run: `GET /metrics` (the Prometheus text of the daemon's
//! [`Registry`](prometheus_client::registry::Registry)), `GET /healthz` (200 while the
//! process runs), `GET /readyz` (200 once every [`Readiness`] condition holds, 503 naming
//! the ones that do not), 404 for anything else. Plain HTTP, as DESIGN asks of every daemon.
//!
//! Server crate: axum on hyper 1. kube already brings hyper 1, hyper-util and tower, so axum
//! adds little (its routing and core); in exchange routing, the 404 fallback and graceful
//! shutdown are a few lines instead of a hand-written accept loop over hyper-util. It is
//! maintained by the tokio project and used without its JSON/form features.

mod readiness;
mod routes;
mod server;

pub use readiness::{Condition, Readiness};
pub use routes::{Endpoints, OPENMETRICS_CONTENT_TYPE, exposition};
pub use server::{HttpError, ListenAddress, Server, bind, listen_addresses, run};

#[cfg(test)]
mod tests;
