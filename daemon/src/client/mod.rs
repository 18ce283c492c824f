//! A [`kube::Client`] for the daemons, from the first usable of `--kubeconfig`, `KUBECONFIG`,
//! the pod's ServiceAccount (in-cluster) and `~/.kube/config` — the order of controller-runtime,
//! through which MetalLB v0.16 gets its client. When none works, the error names every source
//! tried and why it failed.
//!
//! ```no_run
//! # async fn f() -> Result<(), lb_daemon::client::ClientError> {
//! use lb_daemon::client::{connect, Environment};
//! let conn = connect(None, &Environment::from_process()).await?;
//! tracing::info!(op = "startup", source = %conn.source, "Kubernetes client configured");
//! # Ok(()) }
//! ```

mod error;
mod in_cluster;
mod sources;

use std::ffi::OsStr;
use std::path::Path;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

pub use error::{Attempt, ClientError, LoadError};
pub use in_cluster::read_namespace;
pub use sources::{Environment, SERVICE_ACCOUNT_DIR, Source, sources};

/// A client and where its configuration came from.
#[derive(Clone)]
pub struct Connection {
    /// The client. Building it contacts nothing; the first request does.
    pub client: Client,
    /// The source used, for the startup log line.
    pub source: Source,
    /// The namespace of the kubeconfig context or the ServiceAccount (`default` if neither
    /// says).
    pub default_namespace: String,
}

/// Builds a client from the first usable source (see [`sources`]); `flag` is `--kubeconfig`.
pub async fn connect(flag: Option<&Path>, env: &Environment) -> Result<Connection, ClientError> {
    let mut attempts = Vec::new();
    for source in sources(flag, env) {
        match build(&source).await {
            Ok((client, default_namespace)) => {
                return Ok(Connection {
                    client,
                    source,
                    default_namespace,
                });
            }
            Err(error) => {
                tracing::debug!(op = "startup", source = %source, error = %error, "client configuration unusable");
                attempts.push(Attempt { source, error });
            }
        }
    }
    Err(ClientError { attempts })
}

async fn build(source: &Source) -> Result<(Client, String), LoadError> {
    let config = load(source).await?;
    let namespace = config.default_namespace.clone();
    let client = Client::try_from(config).map_err(LoadError::Client)?;
    Ok((client, namespace))
}

/// The configuration one source gives.
pub async fn load(source: &Source) -> Result<Config, LoadError> {
    match source {
        Source::KubeconfigFlag(path) => from_kubeconfig(Kubeconfig::read_from(path)?).await,
        Source::KubeconfigEnv(list) => from_kubeconfig(read_list(list)?).await,
        Source::InCluster { host, port, dir } => {
            in_cluster::config(host.as_deref(), port.as_deref(), dir)
        }
        Source::HomeKubeconfig(path) => {
            if !path.exists() {
                return Err(LoadError::NotFound);
            }
            from_kubeconfig(Kubeconfig::read_from(path)?).await
        }
    }
}

/// The files of a `KUBECONFIG` list merged as kubectl merges them (the first file to set a
/// value wins); files that do not exist are skipped, as kubectl skips them.
fn read_list(list: &OsStr) -> Result<Kubeconfig, LoadError> {
    let mut merged: Option<Kubeconfig> = None;
    for path in std::env::split_paths(list) {
        if path.as_os_str().is_empty() || !path.exists() {
            continue;
        }
        let next = Kubeconfig::read_from(&path)?;
        merged = Some(match merged {
            None => next,
            Some(m) => m.merge(next)?,
        });
    }
    merged.ok_or(LoadError::NotFound)
}

async fn from_kubeconfig(kubeconfig: Kubeconfig) -> Result<Config, LoadError> {
    Ok(Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    async fn failure(flag: Option<&Path>, env: &Environment) -> String {
        match connect(flag, env).await {
            Err(e) => e.to_string(),
            Ok(c) => panic!("connected through {}", c.source),
        }
    }

    #[tokio::test]
    async fn nothing_usable_names_every_source_tried() {
        let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let env = Environment {
            service_account_dir: PathBuf::from("/nonexistent/sa"),
            home: Some(home.path().to_path_buf()),
            ..Environment::default()
        };
        assert_eq!(
            failure(None, &env).await,
            format!(
                "no usable Kubernetes client configuration; tried --kubeconfig (not given), \
                 KUBECONFIG (not set), in-cluster config (KUBERNETES_SERVICE_HOST/PORT and \
                 /nonexistent/sa): KUBERNETES_SERVICE_HOST is not set (not running in a pod), \
                 {}/.kube/config: no such file",
                home.path().display()
            )
        );
    }

    #[tokio::test]
    async fn a_broken_flag_is_final_and_named() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let bad = tmp.path().join("kubeconfig");
        if let Err(e) = std::fs::write(&bad, "clusters: [") {
            panic!("{e}");
        }
        // A usable in-cluster setup would be next, but an explicit flag is never passed over.
        let env = Environment {
            service_host: Some("127.0.0.1".into()),
            service_port: Some("6443".into()),
            ..Environment::default()
        };
        let text = failure(Some(&bad), &env).await;
        let prefix = format!(
            "no usable Kubernetes client configuration; tried --kubeconfig {}: failed to parse kubeconfig YAML",
            bad.display()
        );
        assert!(text.starts_with(&prefix), "{text}");
    }

    #[tokio::test]
    async fn a_kubeconfig_list_of_missing_files_is_not_found() {
        let env = Environment {
            kubeconfig: Some("/nonexistent/a:/nonexistent/b".into()),
            ..Environment::default()
        };
        assert_eq!(
            failure(None, &env).await,
            "no usable Kubernetes client configuration; tried \
             KUBECONFIG=/nonexistent/a:/nonexistent/b: no such file"
        );
    }
}
