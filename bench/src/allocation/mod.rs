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

use std::path::PathBuf;
use std::time::Duration;

use crate::ingest::IngestError;

/// Everything that can make one measurement fail.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The lab's control plane did not start (or a request it makes failed).
    #[error(transparent)]
    Cluster(#[from] lab::ClusterError),
    /// A controller process could not be started.
    #[error(transparent)]
    Spawn(#[from] lab::process::SpawnError),
    /// No free port for a controller's listener.
    #[error(transparent)]
    NoFreePort(#[from] lab::ports::NoFreePort),
    /// Reading a process' resource use from `/proc` failed.
    #[error(transparent)]
    ProcStat(#[from] IngestError),
    /// A request to the apiserver failed.
    #[error("{what}: {source}")]
    Api {
        /// What was being done.
        what: String,
        /// The client's error.
        source: kube::Error,
    },
    /// An object built by the benchmark did not deserialize (a bug in the benchmark).
    #[error("building {what}: {source}")]
    Object {
        /// Which object.
        what: String,
        /// The error.
        source: serde_json::Error,
    },
    /// A program the benchmark runs is not there.
    #[error("{what} not found at {path}: {hint}")]
    MissingProgram {
        /// The program.
        what: String,
        /// Where it was looked for.
        path: PathBuf,
        /// How to get it.
        hint: String,
    },
    /// A controller exited during the run.
    #[error("{name} exited ({status}); the end of its log {log}:\n{tail}")]
    Exited {
        /// The contender.
        name: String,
        /// How it ended.
        status: String,
        /// Its log file.
        log: PathBuf,
        /// The last lines of its log.
        tail: String,
    },
    /// A bounded wait ran out.
    #[error("timed out after {timeout:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The bound.
        timeout: Duration,
    },
    /// The Services' addresses break a rule every correct controller keeps (distinct, from
    /// the pool).
    #[error("wrong allocations: {0}")]
    WrongResult(String),
}

/// Short alias for results of this module.
pub type Result<T> = std::result::Result<T, BenchError>;

/// Wraps a client error with what was being done.
pub fn api_err(what: impl Into<String>) -> impl FnOnce(kube::Error) -> BenchError {
    let what = what.into();
    move |source| BenchError::Api { what, source }
}

/// Calls `check` every `every` until it yields a value; a timeout error naming `what` once
/// `timeout` has passed.
pub async fn poll_until<T, F, Fut>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut check: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let start = std::time::Instant::now();
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if start.elapsed() > timeout {
            return Err(BenchError::Timeout {
                what: what.to_owned(),
                timeout,
            });
        }
        tokio::time::sleep(every).await;
    }
}

/// Deserializes a JSON object built by the benchmark into a typed Kubernetes object.
pub fn object<T: serde::de::DeserializeOwned>(what: &str, value: serde_json::Value) -> Result<T> {
    serde_json::from_value(value).map_err(|source| BenchError::Object {
        what: what.to_owned(),
        source,
    })
}
