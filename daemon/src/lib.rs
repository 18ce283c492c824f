//! Plumbing shared by the ferrolb `controller` and `speaker`, so neither copies it:
//!
//! - [`args`]: the command-line flags both daemons take, spelled as MetalLB v0.16 spells them,
//!   and the MetalLB flags that mean nothing here, accepted and logged as ignored;
//! - [`logging`]: MetalLB's JSON log lines through tracing;
//! - [`client`]: a Kubernetes client from `--kubeconfig`, `KUBECONFIG`, the in-cluster
//!   ServiceAccount or `~/.kube/config`, in that order;
//! - [`http`]: the HTTP endpoint with `/metrics`, `/healthz` and `/readyz`;
//! - [`k8s_metrics`]: MetalLB's `metallb_k8s_client_*` metrics.

pub mod args;
pub mod client;
pub mod http;
pub mod k8s_metrics;
pub mod logging;
