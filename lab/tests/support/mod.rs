//! What the tests of `lab up` share: the `lab` binary run against a state directory of the
//! test's own, a lab that is taken down when the test ends (also on panic), and bounded
//! waiting.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

pub mod tutorial;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The path of a file of the repository's `manifests/`.
pub fn manifest(name: &str) -> String {
    format!("{}/../manifests/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A lab brought up by the test; `lab down` when dropped.
pub struct Lab {
    /// Its state directory (`FERROLB_LAB_DIR`).
    pub state_dir: PathBuf,
    /// Set once the test took it down itself.
    pub down_done: bool,
}

impl Lab {
    /// A lab (not up yet) with a state directory named after `name`, after checking that
    /// no other lab is up on this machine.
    pub fn new(name: &str) -> Lab {
        let before = lab::network::leftovers();
        assert!(
            before.is_empty(),
            "a lab is already up on this machine ({}); run `lab down` before this test",
            before.join(", ")
        );
        Lab {
            state_dir: std::env::temp_dir()
                .join(format!("ferrolb-lab-{name}-{}", std::process::id())),
            down_done: false,
        }
    }

    /// `lab ARGS`, with `stdin` fed to it.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lab"));
        cmd.args(args)
            .env("FERROLB_LAB_DIR", &self.state_dir)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        if let Some(text) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        child.wait_with_output().unwrap()
    }

    /// `lab ARGS`, which must succeed; its stdout.
    pub fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "`lab {}` failed ({}):\n{}\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `lab kubectl ARGS` output (stdout and stderr), and whether it succeeded.
    pub fn kubectl(&self, args: &[&str]) -> (bool, String) {
        let mut all = vec!["kubectl"];
        all.extend_from_slice(args);
        let out = self.run(&all, None);
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    /// `lab kubectl ARGS … -o json`, parsed.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let (ok, text) = self.kubectl(&all);
        assert!(ok, "kubectl {} failed: {text}", all.join(" "));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if !self.down_done {
            let _ = self.run(&["down"], None);
        }
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}

/// Polls `f` every 300 ms until it yields a value; panics naming `what` after `timeout`.
pub fn eventually<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The pids the lab's state file records.
pub fn pids_in_state(dir: &Path) -> Vec<u32> {
    let text = std::fs::read_to_string(dir.join("state.json")).unwrap();
    let state: lab::seed::LabState = serde_json::from_str(&text).unwrap();
    state.processes.iter().map(|(_, c)| c.pid).collect()
}
