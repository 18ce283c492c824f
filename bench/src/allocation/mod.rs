//! `bench/controller`: N Services of type LoadBalancer created against a fresh lab apiserver
//! (`lab::Cluster`), once per contender — ferrolb's controller (with an IPAddressPool, and
//! with the legacy ConfigMap), MetalLB v0.16.2's controller, and the apiserver alone as the
//! ceiling — measuring the time from the first create until a watch has seen every Service's
//! `status.loadBalancer.ingress`, the controller's peak RSS and CPU. The binary is
//! `src/bin/controller.rs`; this module holds the parts.
//!
//! - [`contender`]: what each contender needs in the cluster and how its process starts.
//! - [`workload`]: the Services, created with bounded concurrency, and the watch that sees
//!   their addresses arrive and checks them.
//! - [`run`]: one measurement, from a fresh cluster to the stopped controller.
//! - [`report`]: medians and the Markdown table.

pub mod contender;
pub mod report;
pub mod run;
pub mod workload;

pub use crate::k8s::{BenchError, Result, api_err, object, poll_until};
