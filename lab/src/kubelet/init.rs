//! `lab container-init`: what a container runtime does between fork and exec, for the lab's
//! pods. It enters the pod's network namespace (unless the pod uses the node's), gives the
//! process a mount namespace of its own in which the pod's ServiceAccount directory is
//! mounted read-only where pods find it and, for `readOnlyRootFilesystem`, `/` is read-only,
//! then execs the rest of its command line (`setpriv … PROGRAM ARGS`, which drops to the
//! container's user and capabilities). Exec keeps the process id, so the kubelet's child is
//! the container's process.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, setns, unshare};

/// The exit code of a container that could not be started, as runtimes report it.
pub const START_ERROR: u8 = 128;

/// What to set up before exec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InitSpec {
    /// The network namespace to enter (a path under `/run/netns`).
    pub netns: Option<PathBuf>,
    /// Directories to mount read-only: `(source, target)`.
    pub binds: Vec<(PathBuf, PathBuf)>,
    /// Make `/` read-only.
    pub read_only_root: bool,
}

impl InitSpec {
    /// The command-line arguments of `lab container-init` for this spec, before `--`.
    pub fn args(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(ns) = &self.netns {
            out.push(format!("--netns={}", ns.display()));
        }
        for (src, dst) in &self.binds {
            out.push(format!("--bind={}:{}", src.display(), dst.display()));
        }
        if self.read_only_root {
            out.push("--read-only-root".to_owned());
        }
        out
    }
}

/// Parses `SOURCE:TARGET`.
pub fn parse_bind(text: &str) -> Result<(PathBuf, PathBuf), String> {
    let (src, dst) = text
        .split_once(':')
        .ok_or_else(|| format!("--bind {text:?}: want SOURCE:TARGET"))?;
    Ok((PathBuf::from(src), PathBuf::from(dst)))
}

fn setup(spec: &InitSpec) -> Result<(), String> {
    if let Some(ns) = &spec.netns {
        let file = std::fs::File::open(ns).map_err(|e| format!("opening {}: {e}", ns.display()))?;
        setns(&file, CloneFlags::CLONE_NEWNET)
            .map_err(|e| format!("entering the network namespace {}: {e}", ns.display()))?;
    }
    unshare(CloneFlags::CLONE_NEWNS).map_err(|e| format!("a mount namespace: {e}"))?;
    // Nothing mounted here may show outside.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| format!("making / private: {e}"))?;
    for (src, dst) in &spec.binds {
        mount(Some(src), dst, None::<&str>, MsFlags::MS_BIND, None::<&str>)
            .map_err(|e| format!("mounting {} on {}: {e}", src.display(), dst.display()))?;
        let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        mount(None::<&str>, dst, None::<&str>, ro, None::<&str>)
            .map_err(|e| format!("making {} read-only: {e}", dst.display()))?;
    }
    if spec.read_only_root {
        let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        mount(None::<&str>, "/", None::<&str>, ro, None::<&str>)
            .map_err(|e| format!("making / read-only: {e}"))?;
    }
    Ok(())
}

/// Sets up as `spec` says and execs `command`; returns only on failure, with the message
/// already printed.
pub fn run(spec: &InitSpec, command: &[String]) -> u8 {
    let Some((program, args)) = command.split_first() else {
        eprintln!("container-init: no command to run");
        return START_ERROR;
    };
    if let Err(message) = setup(spec) {
        eprintln!("container-init: {message}");
        return START_ERROR;
    }
    let err = std::process::Command::new(program).args(args).exec();
    eprintln!("container-init: cannot run {program}: {err}");
    START_ERROR
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_round_trip() {
        let spec = InitSpec {
            netns: Some("/run/netns/lab-pod-1".into()),
            binds: vec![(
                "/s/sa".into(),
                "/run/secrets/kubernetes.io/serviceaccount".into(),
            )],
            read_only_root: true,
        };
        assert_eq!(
            spec.args(),
            [
                "--netns=/run/netns/lab-pod-1",
                "--bind=/s/sa:/run/secrets/kubernetes.io/serviceaccount",
                "--read-only-root"
            ]
        );
        assert_eq!(
            parse_bind("/a:/b"),
            Ok((PathBuf::from("/a"), PathBuf::from("/b")))
        );
        assert!(parse_bind("/a").is_err());
    }
}
