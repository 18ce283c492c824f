//! Where a client configuration can come from, and in which order they are tried — the order
//! of controller-runtime's `GetConfig`, which MetalLB v0.16 uses: `--kubeconfig`, then
//! `KUBECONFIG`, then the in-cluster ServiceAccount, then `~/.kube/config`. Pure: nothing here
//! reads a file.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

/// The directory where Kubernetes mounts a pod's ServiceAccount token, CA and namespace.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// What the process environment says about reaching the apiserver, read once so that
/// choosing a source is plain data (and tests need not change the process environment).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Environment {
    /// `KUBECONFIG`: one or more kubeconfig files, separated as in `PATH`.
    pub kubeconfig: Option<OsString>,
    /// `KUBERNETES_SERVICE_HOST`, set by the kubelet in every pod.
    pub service_host: Option<String>,
    /// `KUBERNETES_SERVICE_PORT`, set by the kubelet in every pod.
    pub service_port: Option<String>,
    /// Where the ServiceAccount files are ([`SERVICE_ACCOUNT_DIR`] in a pod).
    pub service_account_dir: PathBuf,
    /// `HOME`, for `~/.kube/config`.
    pub home: Option<PathBuf>,
}

impl Environment {
    /// The environment of this process. Empty variables count as unset, as in Go.
    pub fn from_process() -> Self {
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
        let text = |name| var(name).and_then(|v| v.into_string().ok());
        Environment {
            kubeconfig: var("KUBECONFIG"),
            service_host: text("KUBERNETES_SERVICE_HOST"),
            service_port: text("KUBERNETES_SERVICE_PORT"),
            service_account_dir: PathBuf::from(SERVICE_ACCOUNT_DIR),
            home: var("HOME").map(PathBuf::from),
        }
    }
}

/// One place a client configuration can come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The file named by `--kubeconfig`.
    KubeconfigFlag(PathBuf),
    /// The files named by `KUBECONFIG`, merged as kubectl merges them.
    KubeconfigEnv(OsString),
    /// The pod's ServiceAccount: token and CA in `dir`, apiserver from
    /// `KUBERNETES_SERVICE_HOST`/`_PORT`.
    InCluster {
        /// `KUBERNETES_SERVICE_HOST`, if set.
        host: Option<String>,
        /// `KUBERNETES_SERVICE_PORT`, if set.
        port: Option<String>,
        /// The ServiceAccount directory.
        dir: PathBuf,
    },
    /// `~/.kube/config`.
    HomeKubeconfig(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::KubeconfigFlag(path) => write!(f, "--kubeconfig {}", path.display()),
            Source::KubeconfigEnv(list) => write!(f, "KUBECONFIG={}", list.to_string_lossy()),
            Source::InCluster { dir, .. } => write!(
                f,
                "in-cluster config (KUBERNETES_SERVICE_HOST/PORT and {})",
                dir.display()
            ),
            Source::HomeKubeconfig(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The sources to try, in order. An explicit `--kubeconfig` or `KUBECONFIG` is the only
/// source tried: if it is broken, the user wants to hear so, not to be silently connected
/// elsewhere. Otherwise the in-cluster config, and `~/.kube/config` when that is unusable.
pub fn sources(flag: Option<&Path>, env: &Environment) -> Vec<Source> {
    if let Some(path) = flag {
        return vec![Source::KubeconfigFlag(path.to_path_buf())];
    }
    if let Some(list) = &env.kubeconfig {
        return vec![Source::KubeconfigEnv(list.clone())];
    }
    let mut out = vec![Source::InCluster {
        host: env.service_host.clone(),
        port: env.service_port.clone(),
        dir: env.service_account_dir.clone(),
    }];
    if let Some(home) = &env.home {
        out.push(Source::HomeKubeconfig(home.join(".kube").join("config")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Environment {
        Environment {
            kubeconfig: Some("/env/a:/env/b".into()),
            service_host: Some("10.96.0.1".into()),
            service_port: Some("443".into()),
            service_account_dir: PathBuf::from(SERVICE_ACCOUNT_DIR),
            home: Some(PathBuf::from("/home/op")),
        }
    }

    #[test]
    fn flag_wins_over_everything_and_is_the_only_source() {
        assert_eq!(
            sources(Some(Path::new("/etc/kc")), &env()),
            [Source::KubeconfigFlag("/etc/kc".into())]
        );
    }

    #[test]
    fn kubeconfig_env_comes_next_and_alone() {
        assert_eq!(
            sources(None, &env()),
            [Source::KubeconfigEnv("/env/a:/env/b".into())]
        );
    }

    #[test]
    fn without_either_in_cluster_then_home() {
        let e = Environment {
            kubeconfig: None,
            ..env()
        };
        assert_eq!(
            sources(None, &e),
            [
                Source::InCluster {
                    host: Some("10.96.0.1".into()),
                    port: Some("443".into()),
                    dir: SERVICE_ACCOUNT_DIR.into(),
                },
                Source::HomeKubeconfig("/home/op/.kube/config".into()),
            ]
        );
        let no_home = Environment { home: None, ..e };
        assert_eq!(sources(None, &no_home).len(), 1);
    }

    #[test]
    fn sources_describe_themselves() {
        let e = Environment {
            kubeconfig: None,
            ..env()
        };
        let names: Vec<String> = sources(None, &e).iter().map(ToString::to_string).collect();
        assert_eq!(
            names,
            [
                "in-cluster config (KUBERNETES_SERVICE_HOST/PORT and \
                 /var/run/secrets/kubernetes.io/serviceaccount)",
                "/home/op/.kube/config",
            ]
        );
        assert_eq!(
            Source::KubeconfigFlag("/k".into()).to_string(),
            "--kubeconfig /k"
        );
    }
}
