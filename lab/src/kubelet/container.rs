//! One run of a container: the process started through `lab container-init` and `setpriv`
//! with the container's environment and nothing else, its output written to the run's CRI
//! log (`RESTART.log` in the container's directory, with `current.log` and `previous.log`
//! pointing at this run's and the last one's, which kwok serves), and its end.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use super::crilog::{self, Stream};
use super::init::InitSpec;
use super::plan::Launch;
use super::security::setpriv_args;

/// The programs a run needs besides the container's own.
#[derive(Debug, Clone)]
pub struct Runtime {
    /// The `lab` binary, for `lab container-init`.
    pub lab: PathBuf,
    /// util-linux's `setpriv`.
    pub setpriv: PathBuf,
}

/// The log files of one container.
#[derive(Debug, Clone)]
pub struct LogFiles {
    /// The container's directory.
    pub dir: PathBuf,
}

impl LogFiles {
    /// The link to the current run's log.
    pub fn current(&self) -> PathBuf {
        self.dir.join("current.log")
    }

    /// The link to the previous run's log.
    pub fn previous(&self) -> PathBuf {
        self.dir.join("previous.log")
    }

    /// Points `current.log` at run `restart`'s file and `previous.log` at the one before;
    /// returns the run's file.
    fn rotate(&self, restart: i32) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)?;
        let file = self.dir.join(format!("{restart}.log"));
        std::fs::File::create(&file)?;
        relink(&self.current(), &file)?;
        if restart > 0 {
            relink(
                &self.previous(),
                &self.dir.join(format!("{}.log", restart - 1)),
            )?;
        }
        Ok(file)
    }
}

fn relink(link: &Path, target: &Path) -> std::io::Result<()> {
    let tmp = link.with_extension("new");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    std::fs::rename(&tmp, link)
}

/// A running container process.
#[derive(Debug)]
pub struct Run {
    child: Child,
    pid: u32,
    /// When it started (RFC 3339).
    pub started_at: String,
    log: tokio::task::JoinHandle<()>,
}

/// Starts run `restart` of `launch`.
pub fn start(
    runtime: &Runtime,
    launch: &Launch,
    init: &InitSpec,
    logs: &LogFiles,
    restart: i32,
) -> std::io::Result<Run> {
    let file = logs.rotate(restart)?;
    let init = InitSpec {
        read_only_root: init.read_only_root || launch.identity.read_only_root,
        ..init.clone()
    };
    let mut cmd = Command::new(&runtime.lab);
    cmd.arg("container-init")
        .args(init.args())
        .arg("--")
        .arg(&runtime.setpriv)
        .args(setpriv_args(&launch.identity))
        .arg("--")
        .arg(&launch.program)
        .args(&launch.args)
        .env_clear()
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn()?;
    let pid = child.id().unwrap_or_default();
    let (tx, rx) = mpsc::channel(256);
    if let Some(out) = child.stdout.take() {
        tokio::spawn(crilog::pump(out, Stream::Stdout, tx.clone()));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(crilog::pump(err, Stream::Stderr, tx));
    }
    let log = tokio::spawn(async move { crilog::write_entries(&file, rx).await });
    Ok(Run {
        child,
        pid,
        started_at: jiff::Timestamp::now().to_string(),
        log,
    })
}

/// The exit code a runtime reports for a status: the code, or 128 + the signal.
fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(255)
}

impl Run {
    /// The container's id as its status shows it.
    pub fn container_id(&self) -> String {
        format!("lab://{}", self.pid)
    }

    /// Waits for the end; returns the exit code once its output is written.
    pub async fn wait(&mut self) -> i32 {
        let code = match self.child.wait().await {
            Ok(status) => exit_code(status),
            Err(_) => 255,
        };
        // The pipes close with the process (unless it left children holding them).
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut self.log).await;
        code
    }

    /// Stops it as the kubelet does: SIGTERM, then SIGKILL after `grace`. Returns the code.
    pub async fn stop(&mut self, grace: Duration) -> i32 {
        if let Ok(raw) = i32::try_from(self.pid) {
            let _ = kill(Pid::from_raw(raw), Signal::SIGTERM);
        }
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(Ok(status)) => {
                let _ = tokio::time::timeout(Duration::from_secs(2), &mut self.log).await;
                exit_code(status)
            }
            _ => {
                let _ = self.child.start_kill();
                self.wait().await
            }
        }
    }
}
