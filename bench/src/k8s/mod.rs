//! What the Kubernetes benchmarks (`controller-bench`, `speaker-bench`) share: one error
//! type, request and bounded-wait helpers (here), and
//!
//! - [`setup`]: the cluster state every contender gets — ferrolb's CRDs, namespaces, the
//!   IPAddressPool, the Pod object a MetalLB daemon reads as its own;
//! - [`daemon`]: where MetalLB's and ferrolb's programs are, the flags both spell alike, the
//!   error for a daemon that exited, copying a run's logs.

pub mod daemon;
pub mod setup;

use std::path::PathBuf;
use std::time::Duration;

use crate::ingest::IngestError;

/// Everything that can make one measurement fail.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The lab's control plane did not start (or a request it makes failed).
    #[error(transparent)]
    Cluster(#[from] lab::ClusterError),
    /// A daemon's process could not be started.
    #[error(transparent)]
    Spawn(#[from] lab::process::SpawnError),
    /// No free port for a daemon's listener.
    #[error(transparent)]
    NoFreePort(#[from] lab::ports::NoFreePort),
    /// Reading a process' resource use from `/proc` failed.
    #[error(transparent)]
    ProcStat(#[from] IngestError),
    /// The benchmark's network (namespaces, bridge, veth pairs) could not be built.
    #[error(transparent)]
    Network(#[from] lab::network::IpError),
    /// A thread could not move into a network namespace.
    #[error(transparent)]
    Enter(#[from] lab::lan::EnterError),
    /// The benchmark's own BGP router failed.
    #[error("the counting router: {0}")]
    Router(#[from] bgp::SpeakerError),
    /// Writing an object through `lab::objects` failed.
    #[error("{what}: {source}")]
    Write {
        /// What was being done.
        what: String,
        /// The error.
        source: lab::objects::ObjectError,
    },
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
    /// A daemon exited during the run.
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
    /// The result breaks a rule every correct contender keeps (a controller: distinct
    /// addresses from the pool; a speaker: every prefix from every node), or the command line
    /// asks for something impossible.
    #[error("wrong result: {0}")]
    WrongResult(String),
}

/// Short alias for results of this module.
pub type Result<T> = std::result::Result<T, BenchError>;

/// Wraps a client error with what was being done.
pub fn api_err(what: impl Into<String>) -> impl FnOnce(kube::Error) -> BenchError {
    let what = what.into();
    move |source| BenchError::Api { what, source }
}

/// Wraps an error of `lab::objects` with what was being done.
pub fn write_err(what: impl Into<String>) -> impl FnOnce(lab::objects::ObjectError) -> BenchError {
    let what = what.into();
    move |source| BenchError::Write { what, source }
}

/// How often a failed request is tried before the run fails.
const REQUEST_ATTEMPTS: u32 = 5;

/// Sends `request` until it succeeds, at most [`REQUEST_ATTEMPTS`] times with a growing pause
/// (a loaded apiserver sometimes times out a write). An answer with status `landed` to a
/// retry counts as success: it says an earlier attempt got through (409 for a create, 404
/// for a delete; `None` for a request that can simply be repeated). `what` names the
/// request in the messages.
pub async fn retrying<T, F, Fut>(what: &str, landed: Option<u16>, mut request: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, kube::Error>>,
{
    let mut attempt = 1;
    loop {
        match request().await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(status)) if Some(status.code) == landed && attempt > 1 => {
                return Ok(());
            }
            Err(err) if attempt < REQUEST_ATTEMPTS => {
                eprintln!("bench: {what} failed (attempt {attempt}), retrying: {err}");
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
            }
            Err(err) => return Err(api_err(what)(err)),
        }
    }
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
