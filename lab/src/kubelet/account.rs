//! A pod's ServiceAccount files, as the kubelet projects them into
//! `/var/run/secrets/kubernetes.io/serviceaccount`: `token` (a TokenRequest bound to the
//! pod, so it dies with the pod, renewed at 80 % of its life), `ca.crt` and `namespace`.
//! The lab writes them into the pod's directory; [`super::init`] mounts that directory at the
//! real path in the container's own mount namespace, so the binary finds its in-cluster
//! configuration exactly where a pod has it and acts with its ServiceAccount's rights.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::Client;
use kube::api::{Api, PostParams};

/// Where pods find their ServiceAccount (through `/var/run`, a link to `/run`).
pub const MOUNT_POINT: &str = "/run/secrets/kubernetes.io/serviceaccount";

/// How long the kubelet asks tokens to live.
pub const TOKEN_SECONDS: i64 = 3607;

/// What the files are for.
#[derive(Debug, Clone)]
pub struct Account {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub pod: String,
    /// The pod's uid.
    pub uid: String,
    /// The ServiceAccount.
    pub service_account: String,
    /// The cluster's CA certificate file.
    pub ca: PathBuf,
    /// Group that may read the token (`fsGroup`), else it is readable by all.
    pub fs_group: Option<u32>,
}

/// The files could not be written or the token not obtained.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// A file.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TokenRequest.
    #[error("requesting a token for ServiceAccount {namespace}/{name}: {source}")]
    Token {
        /// The namespace.
        namespace: String,
        /// The ServiceAccount.
        name: String,
        /// The client's error.
        source: kube::Error,
    },
    /// The apiserver gave no token.
    #[error("the apiserver returned no token for ServiceAccount {0}")]
    NoToken(String),
}

fn write(path: &Path, content: &[u8], mode: u32, group: Option<u32>) -> Result<(), AccountError> {
    let err = |source| AccountError::Write {
        path: path.to_owned(),
        source,
    };
    // Written beside and renamed, so a reader never sees half a token.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content).map_err(err)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode)).map_err(err)?;
    if let Some(g) = group {
        nix::unistd::chown(&tmp, None, Some(nix::unistd::Gid::from_raw(g)))
            .map_err(|e| err(std::io::Error::from(e)))?;
    }
    std::fs::rename(&tmp, path).map_err(err)
}

/// Writes `ca.crt`, `namespace` and a fresh `token` into `dir`; returns how long until the
/// token should be renewed.
pub async fn project(
    client: &Client,
    account: &Account,
    dir: &Path,
) -> Result<Duration, AccountError> {
    std::fs::create_dir_all(dir).map_err(|source| AccountError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
    let ca = std::fs::read(&account.ca).map_err(|source| AccountError::Write {
        path: account.ca.clone(),
        source,
    })?;
    write(&dir.join("ca.crt"), &ca, 0o644, None)?;
    write(
        &dir.join("namespace"),
        account.namespace.as_bytes(),
        0o644,
        None,
    )?;
    refresh(client, account, dir).await
}

/// Replaces the token in `dir`; returns how long until it should be renewed again.
pub async fn refresh(
    client: &Client,
    account: &Account,
    dir: &Path,
) -> Result<Duration, AccountError> {
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), &account.namespace);
    let request: TokenRequest = serde_json::from_value(serde_json::json!({
        "spec": {
            "audiences": [],
            "expirationSeconds": TOKEN_SECONDS,
            "boundObjectRef": {
                "apiVersion": "v1", "kind": "Pod", "name": account.pod, "uid": account.uid
            },
        }
    }))
    .map_err(|e| AccountError::NoToken(format!("{}: {e}", account.service_account)))?;
    let response = accounts
        .create_token_request(&account.service_account, &PostParams::default(), &request)
        .await
        .map_err(|source| AccountError::Token {
            namespace: account.namespace.clone(),
            name: account.service_account.clone(),
            source,
        })?;
    let status = response
        .status
        .ok_or_else(|| AccountError::NoToken(account.service_account.clone()))?;
    let token = status
        .token
        .ok_or_else(|| AccountError::NoToken(account.service_account.clone()))?;
    let (mode, group) = match account.fs_group {
        Some(g) => (0o640, Some(g)),
        None => (0o644, None),
    };
    write(&dir.join("token"), token.as_bytes(), mode, group)?;
    let lifetime = status
        .expiration_timestamp
        .map_or(Duration::from_secs(600), |t| {
            t.0.duration_since(jiff::Timestamp::now()).unsigned_abs()
        });
    Ok(renew_after(lifetime))
}

/// When to renew a token that lives `lifetime` more: at 80 % of it, as the kubelet does,
/// and not more often than every 10 s.
pub fn renew_after(lifetime: Duration) -> Duration {
    (lifetime * 4 / 5).max(Duration::from_secs(10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_renewed_at_eighty_percent_of_their_life() {
        assert_eq!(
            renew_after(Duration::from_secs(3600)),
            Duration::from_secs(2880)
        );
        assert_eq!(renew_after(Duration::from_secs(5)), Duration::from_secs(10));
    }
}
