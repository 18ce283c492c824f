//! Where the control-plane binaries are: the cache directory that
//! `lab/scripts/build-control-plane.sh` fills for the versions pinned in
//! `lab/control-plane.env` (compiled in here, so the script and the crate always agree).

use std::fmt;
use std::path::{Path, PathBuf};

/// The pinned versions file, shared with the build script.
const PINNED: &str = include_str!("../control-plane.env");

/// The script that builds the binaries, relative to the repository root.
pub const BUILD_SCRIPT: &str = "lab/scripts/build-control-plane.sh";

/// A control-plane program the lab runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Binary {
    /// etcd, the apiserver's storage.
    Etcd,
    /// kube-apiserver.
    KubeApiserver,
    /// kube-controller-manager.
    KubeControllerManager,
    /// kube-scheduler.
    KubeScheduler,
    /// kwok, which plays kubelet for fake nodes.
    Kwok,
    /// kubectl, for people and for `lab kubectl`.
    Kubectl,
    /// Not a program: the Stage objects that tell kwok how nodes and pods behave, taken from
    /// the pinned kwok release by the build script.
    KwokStages,
}

impl Binary {
    /// The file name of the program, which is also the component's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Binary::Etcd => "etcd",
            Binary::KubeApiserver => "kube-apiserver",
            Binary::KubeControllerManager => "kube-controller-manager",
            Binary::KubeScheduler => "kube-scheduler",
            Binary::Kwok => "kwok",
            Binary::Kubectl => "kubectl",
            Binary::KwokStages => "kwok-stages.yaml",
        }
    }
}

impl fmt::Display for Binary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A binary that is not where it should be.
#[derive(Debug, thiserror::Error)]
#[error(
    "{binary} not found at {path}: build the control-plane binaries with `{BUILD_SCRIPT}` \
     (or point FERROLB_CP_BIN at a directory that has them)"
)]
pub struct MissingBinary {
    /// The program.
    pub binary: Binary,
    /// Where it was looked for.
    pub path: PathBuf,
}

/// The value of `key` in the pinned versions file.
pub fn pinned(key: &str) -> Option<&'static str> {
    PINNED.lines().find_map(|line| {
        let (k, v) = line.trim().split_once('=')?;
        (k == key).then_some(v)
    })
}

/// The Kubernetes version the binaries are built at, e.g. `v1.36.3`.
pub fn kubernetes_version() -> &'static str {
    pinned("K8S_VERSION").unwrap_or("unknown")
}

/// The cache key naming the pinned versions: the same string as the build script's.
pub fn cache_key() -> String {
    format!(
        "k8s-{}_etcd-{}_kwok-{}_r{}",
        pinned("K8S_VERSION").unwrap_or("unknown"),
        pinned("ETCD_VERSION").unwrap_or("unknown"),
        pinned("KWOK_VERSION").unwrap_or("unknown"),
        pinned("RECIPE").unwrap_or("unknown"),
    )
}

/// The directory holding the binaries: `$FERROLB_CP_BIN` when set, else
/// `$FERROLB_CP_CACHE/<key>/bin` with `FERROLB_CP_CACHE` defaulting to
/// `~/.cache/ferrolb/control-plane`, as in the build script.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FERROLB_CP_BIN") {
        return PathBuf::from(dir);
    }
    let root = match std::env::var_os("FERROLB_CP_CACHE") {
        Some(root) => PathBuf::from(root),
        None => {
            let home =
                std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
            home.join(".cache/ferrolb/control-plane")
        }
    };
    root.join(cache_key()).join("bin")
}

/// Where to find the control-plane programs.
#[derive(Debug, Clone)]
pub struct Binaries {
    dir: PathBuf,
}

impl Binaries {
    /// The binaries in [`bin_dir`].
    pub fn from_env() -> Binaries {
        Binaries { dir: bin_dir() }
    }

    /// The binaries in `dir`.
    pub fn in_dir(dir: impl Into<PathBuf>) -> Binaries {
        Binaries { dir: dir.into() }
    }

    /// The directory searched.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of `binary`, or an error saying how to build it.
    pub fn path(&self, binary: Binary) -> Result<PathBuf, MissingBinary> {
        let path = self.dir.join(binary.name());
        if path.is_file() {
            Ok(path)
        } else {
            Err(MissingBinary { binary, path })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_versions_are_read_from_the_shared_file() {
        assert!(kubernetes_version().starts_with("v1.36."));
        assert!(pinned("ETCD_VERSION").is_some_and(|v| v.starts_with("v3.6.")));
        assert!(pinned("KWOK_VERSION").is_some_and(|v| v.starts_with("v0.8.")));
        assert!(!cache_key().contains("unknown"));
    }

    #[test]
    fn missing_binary_error_names_the_build_script() {
        let bins = Binaries::in_dir("/nonexistent-ferrolb-dir");
        let err = bins
            .path(Binary::KubeApiserver)
            .err()
            .map(|e| e.to_string());
        let msg = err.unwrap_or_default();
        assert!(msg.contains("kube-apiserver"), "{msg}");
        assert!(msg.contains(BUILD_SCRIPT), "{msg}");
    }
}
