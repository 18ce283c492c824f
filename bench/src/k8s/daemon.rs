//! The daemons the Kubernetes benchmarks run: where ferrolb's (next to the benchmark, from
//! the same cargo build) and MetalLB's (built by `bench/scripts/build-metallb.sh` into its
//! cache) programs are, the flags both spell alike, the error for a daemon that exited
//! during a run, and copying a run's logs for later reading.

use std::path::{Path, PathBuf};

use lab::process::Process;

use super::setup::METALLB_NAMESPACE;
use super::{BenchError, Result};
use crate::machine;

/// The MetalLB version the benchmarks compare with.
pub const METALLB_VERSION: &str = "v0.16.2";

/// `name` in the directory of this program (a binary of the same cargo build).
pub fn next_to_this_program(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(name)))
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Where `build-metallb.sh` puts MetalLB's program `name` (`controller`, `speaker`):
/// `$FERROLB_METALLB_CACHE/<version>/bin/<name>`, the cache defaulting to
/// `~/.cache/ferrolb/metallb`.
pub fn metallb_program(name: &str) -> PathBuf {
    let cache = std::env::var_os("FERROLB_METALLB_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/ferrolb/metallb"))
        })
        .unwrap_or_else(|| PathBuf::from(".cache/ferrolb/metallb"));
    cache.join(METALLB_VERSION).join("bin").join(name)
}

/// Fails naming `what` and how to get it (`hint`) when `path` is not a file.
pub fn check_program(path: &Path, what: &str, hint: &str) -> Result<()> {
    if path.is_file() {
        return Ok(());
    }
    Err(BenchError::MissingProgram {
        what: what.to_owned(),
        path: path.to_owned(),
        hint: hint.to_owned(),
    })
}

/// The flags ferrolb's and MetalLB's daemons both take, with the same spelling: MetalLB's
/// namespace, the kubeconfig, the Pod object they read as their own, metrics off (neither
/// is part of what is measured), the health probes on `health_port`, `info` logs.
pub fn common_args(kubeconfig: &Path, pod_name: &str, health_port: u16) -> Vec<String> {
    vec![
        format!("--namespace={METALLB_NAMESPACE}"),
        format!("--kubeconfig={}", kubeconfig.display()),
        format!("--pod-name={pod_name}"),
        "--port=0".to_owned(),
        format!("--health-probe-port={health_port}"),
        "--log-level=info".to_owned(),
    ]
}

/// The error for daemon `name` if its process has exited.
pub fn exited(name: &str, process: &mut Process) -> Option<BenchError> {
    let status = process.exited()?;
    Some(BenchError::Exited {
        name: name.to_owned(),
        status: status.to_string(),
        log: process.log().to_owned(),
        tail: process.log_tail(25),
    })
}

/// Copies each of `files` that exists to `dir/<prefix>-<file name>` (best effort: a result
/// does not depend on it; failures are printed).
pub fn keep_logs(dir: &Path, prefix: &str, files: &[PathBuf]) {
    if let Err(err) = std::fs::create_dir_all(dir) {
        eprintln!("bench: cannot create {}: {err}", dir.display());
        return;
    }
    for from in files.iter().filter(|f| f.exists()) {
        let Some(name) = from.file_name() else {
            continue;
        };
        let to = dir.join(format!("{prefix}-{}", name.to_string_lossy()));
        if let Err(err) = std::fs::copy(from, &to) {
            eprintln!("bench: cannot copy {}: {err}", from.display());
        }
    }
}

/// Machine and versions, as the Markdown list the benchmarks print above their tables:
/// cores, CPU, memory and load; rustc, go, kube-apiserver (found as `lab` finds it),
/// ferrolb (`ours --version`) and MetalLB.
pub fn environment(ours: &Path) -> String {
    let apiserver = lab::Binaries::from_env()
        .path(lab::Binary::KubeApiserver)
        .map_or_else(|e| e.to_string(), |p| machine::version_line(p, "--version"));
    format!(
        "- machine: {} cores, {}, {}; load average at start {}\n\
         - versions: {}, {}, {apiserver}, ferrolb {}, MetalLB {METALLB_VERSION} (go.universe.tf/metallb, bench/scripts/build-metallb.sh)\n",
        machine::cores(),
        machine::cpu_model(),
        machine::memory(),
        machine::load_average_text(),
        machine::version_line("rustc", "--version"),
        machine::version_line("go", "version"),
        machine::version_line(ours, "--version"),
    )
}
