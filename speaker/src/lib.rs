//! The ferrolb speaker as a library: the pure decisions (`node`, `peers`, `announce`), the
//! engine that owns them, and the thin shell around it (`watch`, `reconcile`, `status`,
//! `metrics`) that the `speaker` binary runs. Decisions are plain functions over plain data,
//! tested with tables, as MetalLB's speaker separates `bgpController` from its Kubernetes
//! client.

pub mod announce;
pub mod engine;
pub mod metrics;
pub mod node;
pub mod peers;
pub mod reconcile;
pub mod status;
pub mod watch;

#[cfg(test)]
mod testing;
