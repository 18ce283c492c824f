//! Plumbing shared by the ferrolb `controller` and `speaker`, so neither copies it:
//!
//! - [`args`]: the command-line flags both daemons take, spelled as MetalLB v0.16 spells them,
//!   and the MetalLB flags that mean nothing here, accepted and logged as ignored;
//! - [`logging`]: MetalLB's JSON log lines through tracing;
//! - [`client`]: a Kubernetes client from `--kubeconfig`, `KUBECONFIG`, the in-cluster
//!   ServiceAccount or `~/.kube/config`, in that order;
//! - [`http`]: the plain-HTTP endpoint with `/metrics`, `/healthz` and `/readyz`, on axum
//!   (hyper 1 is already there through kube; axum adds routing and graceful shutdown for
//!   little — see the module);
//! - [`k8s_metrics`]: MetalLB's `metallb_k8s_client_*` metrics;
//! - [`watch`]: a watch cache per kind with a synced flag, and the configuration's kinds
//!   parsed into one `lb_config::Config`;
//! - [`config_state`]: whether that configuration is in force, as log, metrics and
//!   ConfigurationState;
//! - [`events`]: Kubernetes Events with kube's `Recorder` fields and series, remembering
//!   only a bounded number of recent ones (the controller's and the speaker's);
//! - [`signals`]: SIGTERM and SIGINT as one future;
//! - [`write_queue`]: per-object writes, concurrent across objects, in order per object.
//!
//! Why the ports and log shape are what they are: `docs/decisions/0005-daemon-plumbing.md`.
//!
//! A daemon's `main` with these parts:
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use clap::Parser;
//! use lb_daemon::args::{CommonArgs, Controller, IgnoredFlags};
//! use lb_daemon::k8s_metrics::K8sClientMetrics;
//! use lb_daemon::{client, http, logging};
//! use prometheus_client::registry::Registry;
//! use tokio_util::sync::CancellationToken;
//!
//! #[derive(Parser)]
//! struct Cli {
//!     #[command(flatten)]
//!     common: CommonArgs,
//!     #[command(flatten)]
//!     ignored: IgnoredFlags<Controller>,
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let cli = Cli::parse();
//!     logging::init(cli.common.log_level)?;
//!     cli.common.ignored.log();
//!     cli.ignored.log();
//!
//!     let env = client::Environment::from_process();
//!     let namespace = cli.common.namespace(&env)?;
//!     let conn = client::connect(cli.common.kubeconfig(), &env).await?;
//!     tracing::info!(op = "startup", source = %conn.source, namespace, "Kubernetes client configured");
//!
//!     let mut registry = Registry::default();
//!     let k8s_metrics = K8sClientMetrics::register(&mut registry);
//!     let readiness = http::Readiness::new();
//!     let synced = readiness.condition("caches synced");
//!     let endpoints = http::Endpoints { registry: Arc::new(registry), readiness };
//!
//!     // Bind before starting work, so a taken port fails the start.
//!     let server = http::Server::bind(&cli.common.listen_addresses(None)).await?;
//!     let shutdown = CancellationToken::new();
//!     let http = tokio::spawn(server.serve(endpoints, shutdown.clone()));
//!
//!     // … watches and reconcilers: synced.met() once the caches are filled,
//!     // k8s_metrics.updates.inc() per update …
//!     # let _ = (synced, k8s_metrics);
//!
//!     shutdown.cancel();
//!     http.await??;
//!     Ok(())
//! }
//! ```

pub mod args;
pub mod client;
pub mod config_state;
pub mod events;
pub mod http;
pub mod k8s_metrics;
pub mod logging;
pub mod signals;
pub mod watch;
pub mod write_queue;
