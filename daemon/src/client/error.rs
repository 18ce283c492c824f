//! What can go wrong setting up the client, with the source and file named.

use std::fmt;
use std::io;
use std::path::PathBuf;

use super::sources::Source;

/// Why one source gave no client configuration.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A kubeconfig file could not be read or used.
    #[error("{0}")]
    Kubeconfig(#[from] kube::config::KubeconfigError),
    /// None of the kubeconfig files exists.
    #[error("no such file")]
    NotFound,
    /// An in-cluster variable is unset.
    #[error("{0} is not set (not running in a pod)")]
    NotInCluster(&'static str),
    /// `KUBERNETES_SERVICE_PORT` is no port number.
    #[error("KUBERNETES_SERVICE_PORT={0:?} is not a port number")]
    BadPort(String),
    /// `KUBERNETES_SERVICE_HOST`/`_PORT` make no URL.
    #[error("https://{host}:{port} is not a valid apiserver URL: {source}")]
    BadUrl {
        /// `KUBERNETES_SERVICE_HOST`.
        host: String,
        /// `KUBERNETES_SERVICE_PORT`.
        port: u16,
        /// The parse error.
        #[source]
        source: http::uri::InvalidUri,
    },
    /// A ServiceAccount file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The token file is empty.
    #[error("{0} is empty")]
    EmptyToken(PathBuf),
    /// The CA file is not PEM.
    #[error("{path} is not a PEM certificate bundle: {source}")]
    BadCa {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: pem::PemError,
    },
    /// The CA file holds no certificate.
    #[error("{0} holds no CERTIFICATE")]
    NoCertificate(PathBuf),
    /// kube (which takes the token file's name as UTF-8) cannot use a non-UTF-8 path.
    #[error("{0} is not a UTF-8 path")]
    NotUtf8(PathBuf),
    /// The configuration loaded but kube could not build a client from it.
    #[error("cannot build a client: {0}")]
    Client(#[source] kube::Error),
}

/// One source tried and why it failed.
#[derive(Debug)]
pub struct Attempt {
    /// The source.
    pub source: Source,
    /// Why it gave no client.
    pub error: LoadError,
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.error)
    }
}

/// No source gave a client: every attempt, in the order made.
#[derive(Debug)]
pub struct ClientError {
    /// The sources tried and their errors.
    pub attempts: Vec<Attempt>,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no usable Kubernetes client configuration; tried ")?;
        let implicit = !matches!(
            self.attempts.first().map(|a| &a.source),
            Some(Source::KubeconfigFlag(_) | Source::KubeconfigEnv(_))
        );
        if implicit {
            f.write_str("--kubeconfig (not given), KUBECONFIG (not set), ")?;
        }
        for (i, attempt) in self.attempts.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{attempt}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ClientError {}
