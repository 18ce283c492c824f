//! `bench/ingest`: one sender pushes N distinct IPv4 prefixes, packed in pre-encoded UPDATEs,
//! into one fresh receiver after another (our engine, FRR bgpd, BIRD 2, gobgpd) and measures
//! the time from Established until the receiver holds all N, its peak RSS and the CPU time it
//! spent. The binary is `src/bin/ingest.rs`; this module holds the parts.
//!
//! - [`sender`]: the pre-encoded workload and the raw BGP session that pushes it.
//! - [`receivers`]: how each daemon is configured, started, queried for its count, stopped.
//! - [`procstat`]: peak RSS and CPU time from `/proc`.
//! - [`netns`]: the network namespace of the kernel-install variant.
//! - [`report`]: medians and the result tables.

pub mod netns;
pub mod procstat;
pub mod receivers;
pub mod report;
pub mod sender;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Everything that can make one measurement fail.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// A file, socket or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A helper command exited with an error.
    #[error("`{command}` failed ({status}): {output}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// Its stderr and stdout, shortened.
        output: String,
    },
    /// A daemon's answer did not have the expected shape.
    #[error("cannot read {what} from `{text}`")]
    Parse {
        /// What was being read.
        what: String,
        /// The text (shortened).
        text: String,
    },
    /// A receiver process exited while it was being measured.
    #[error("{name} exited: {status}; log tail:\n{log}")]
    Exited {
        /// The receiver.
        name: String,
        /// Its exit status.
        status: String,
        /// The end of its log.
        log: String,
    },
    /// A bounded wait ran out.
    #[error("timed out after {timeout:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The bound.
        timeout: Duration,
    },
    /// The receiver closed the BGP session or sent something unexpected.
    #[error("BGP session with {name}: {detail}")]
    Session {
        /// The receiver.
        name: String,
        /// What happened.
        detail: String,
    },
    /// The UPDATEs could not be encoded.
    #[error("encoding the workload: {0}")]
    Encode(#[from] bgp::packet::EncodeError),
    /// Entering the network namespace failed.
    #[error("setns into {namespace}: {source}")]
    Setns {
        /// The namespace.
        namespace: String,
        /// The error.
        source: nix::Error,
    },
}

/// Short alias for results of this module.
pub type Result<T> = std::result::Result<T, IngestError>;

/// Wraps an I/O error with what was being done.
pub fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> IngestError {
    let what = what.into();
    move |source| IngestError::Io { what, source }
}

/// Builds a parse error, keeping at most 500 characters of the text.
pub fn parse_err(what: impl Into<String>, text: &str) -> IngestError {
    IngestError::Parse {
        what: what.into(),
        text: text.chars().take(500).collect(),
    }
}

/// Runs a command to completion and returns its stdout; a non-zero exit is an error.
pub fn run_stdout(command: &mut Command) -> Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(io_err(format!("run {command:?}")))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stdout));
        Err(IngestError::Command {
            command: format!("{command:?}"),
            status: output.status.to_string(),
            output: text.chars().take(1000).collect(),
        })
    }
}

/// A daemon child process in its own process group. Dropping it stops the whole group:
/// SIGTERM (so FRR removes its pid files), SIGKILL after 3 s, then reaps it.
#[derive(Debug)]
pub struct DaemonChild {
    name: String,
    child: Child,
    log: PathBuf,
}

impl DaemonChild {
    /// Spawns `command` in a new process group with stdout and stderr to `log` (stdin null).
    pub fn spawn(name: &str, mut command: Command, log: PathBuf) -> Result<DaemonChild> {
        use std::os::unix::process::CommandExt as _;
        let out =
            std::fs::File::create(&log).map_err(io_err(format!("create {}", log.display())))?;
        let err = out
            .try_clone()
            .map_err(io_err(format!("clone {}", log.display())))?;
        command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        let child = command
            .spawn()
            .map_err(io_err(format!("start {name}: {command:?}")))?;
        Ok(DaemonChild {
            name: name.to_string(),
            child,
            log,
        })
    }

    /// Wraps a child spawned elsewhere (with piped stdio) in its own process group.
    pub fn adopt(name: &str, child: Child, log: PathBuf) -> DaemonChild {
        DaemonChild {
            name: name.to_string(),
            child,
            log,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The child itself (for its pipes).
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Fails with the log tail if the process has exited.
    pub fn check_running(&mut self) -> Result<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(IngestError::Exited {
                name: self.name.clone(),
                status: status.to_string(),
                log: self.log_tail(),
            }),
            Err(e) => Err(io_err(format!("wait for {}", self.name))(e)),
        }
    }

    /// The last 15 lines of the log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// Stops the process group (idempotent).
    pub fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-TERM", "--", &group])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DaemonChild {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `check` every `every` until it returns `Some` or `timeout` passes. Errors from
/// `check` end the wait at once.
pub fn poll_until<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut check: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check()? {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            return Err(IngestError::Timeout {
                what: what.to_string(),
                timeout,
            });
        }
        std::thread::sleep(every);
    }
}

/// Like [`poll_until`], but errors count as "not yet" (a control socket that does not exist
/// yet) until the timeout, when the last one is returned.
pub fn poll_tolerant<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match check() {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => None,
            Err(e) => Some(e),
        };
        if Instant::now() >= deadline {
            return Err(last.unwrap_or(IngestError::Timeout {
                what: what.to_string(),
                timeout,
            }));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
