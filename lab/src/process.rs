//! One control-plane process: started in its own process group with its output in a log
//! file, optionally inside a network namespace, and stopped with its whole group.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// Why a process could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The log file could not be created.
    #[error("cannot create the log file {path} of {component}: {source}")]
    Log {
        /// The component.
        component: String,
        /// The log file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The program could not be executed.
    #[error("cannot start {component} ({program}): {source}")]
    Exec {
        /// The component.
        component: String,
        /// The program.
        program: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A running component. Dropping it stops its process group.
#[derive(Debug)]
pub struct Process {
    name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Process {
    /// Starts `program args` as component `name`, in network namespace `netns` when given
    /// (through `ip netns exec`, which execs the program, so the pid stays the program's),
    /// with stdout and stderr appended to `log`.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        netns: Option<&str>,
        log: &Path,
    ) -> Result<Process, SpawnError> {
        let log_err = |source| SpawnError::Log {
            component: name.to_owned(),
            path: log.to_owned(),
            source,
        };
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(log_err)?;
        let err = out.try_clone().map_err(log_err)?;
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(program);
                c
            }
            None => Command::new(program),
        };
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        let child = cmd.spawn().map_err(|source| SpawnError::Exec {
            component: name.to_owned(),
            program: program.to_owned(),
            source,
        })?;
        Ok(Process {
            name: name.to_owned(),
            child: Some(child),
            log: log.to_owned(),
        })
    }

    /// The component's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The process id (also its process group id).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The log file.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// The exit status if the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log, lines)
    }

    /// Sends SIGTERM to the process group, without waiting.
    pub fn terminate(&self) {
        if let Some(raw) = self.pid().and_then(|p| i32::try_from(p).ok()) {
            let _ = killpg(Pid::from_raw(raw), Signal::SIGTERM);
        }
    }

    /// Forgets the process without stopping it (for `lab up`, whose processes outlive it).
    pub fn detach(mut self) -> Option<u32> {
        self.child.take().map(|c| c.id())
    }

    /// Stops the process group: SIGTERM, then SIGKILL after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        if let Some(mut child) = self.child.take() {
            stop_group(child.id(), grace, || {
                matches!(child.try_wait(), Ok(Some(_)))
            });
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(3));
    }
}

/// Sends SIGTERM to process group `pgid`, waits until `gone()` or `grace` passes, then sends
/// SIGKILL to the group (children the leader left behind die too).
pub fn stop_group(pgid: u32, grace: Duration, mut gone: impl FnMut() -> bool) {
    let Ok(raw) = i32::try_from(pgid) else { return };
    let group = Pid::from_raw(raw);
    if killpg(group, Signal::SIGTERM).is_err() {
        return;
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && !gone() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = killpg(group, Signal::SIGKILL);
}

/// Stops several process groups at once: SIGTERM to all, a shared `grace` period, then
/// SIGKILL to those left, so a lab with five components stops in one grace period.
pub fn stop_groups(pgids: &[u32], grace: Duration) {
    let groups: Vec<Pid> = pgids
        .iter()
        .filter_map(|p| i32::try_from(*p).ok())
        .map(Pid::from_raw)
        .collect();
    for g in &groups {
        let _ = killpg(*g, Signal::SIGTERM);
    }
    let alive = |g: &Pid| group_alive(g.as_raw().unsigned_abs());
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && groups.iter().any(alive) {
        std::thread::sleep(Duration::from_millis(20));
    }
    for g in &groups {
        let _ = killpg(*g, Signal::SIGKILL);
    }
    // SIGKILL is delivered asynchronously: wait until the kernel has ended them.
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline && groups.iter().any(alive) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether process group `pgid` still has a member that runs. A leader that has ended but
/// was not reaped yet (a zombie, whose parent is not us) counts as ended.
pub fn group_alive(pgid: u32) -> bool {
    let signalable = i32::try_from(pgid).is_ok_and(|raw| killpg(Pid::from_raw(raw), None).is_ok());
    signalable && !is_zombie(pgid)
}

/// Whether process `pid` is a zombie (state `Z` in `/proc/PID/stat`).
fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // The state follows the command name, which is in parentheses and may hold spaces.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            == Some("Z")
    })
}

/// The last `lines` lines of a log file (empty if it cannot be read).
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    all.get(start..).unwrap_or_default().join("\n")
}
