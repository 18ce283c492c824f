//! Kubeconfig files for the cluster's identities: the admin (the user and the tests), the
//! controller-manager, the scheduler and kwok, each with its own client certificate.

use std::path::{Path, PathBuf};

use crate::pki::CertFiles;

/// A kubeconfig could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the kubeconfig {path}: {source}")]
pub struct KubeconfigError {
    /// The file.
    pub path: PathBuf,
    /// The I/O error.
    pub source: std::io::Error,
}

/// Quotes a string for YAML (double-quoted style), so any path is safe.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The text of a kubeconfig with one cluster, one user and one context named `context`.
pub fn render(context: &str, server: &str, ca: &Path, client: &CertFiles) -> String {
    let ca = quote(&ca.display().to_string());
    let cert = quote(&client.cert.display().to_string());
    let key = quote(&client.key.display().to_string());
    let server = quote(server);
    let name = quote(context);
    format!(
        "apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: {name}\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\n\
         users:\n\
         - name: {name}\n  user:\n    client-certificate: {cert}\n    client-key: {key}\n\
         contexts:\n\
         - name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n\
         current-context: {name}\n"
    )
}

/// Writes a kubeconfig (see [`render`]) to `path`.
pub fn write(
    path: &Path,
    context: &str,
    server: &str,
    ca: &Path,
    client: &CertFiles,
) -> Result<(), KubeconfigError> {
    std::fs::write(path, render(context, server, ca, client)).map_err(|source| KubeconfigError {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_quotes_paths_and_names_one_context() {
        let files = CertFiles {
            cert: PathBuf::from("/tmp/a \"b\"/admin.crt"),
            key: PathBuf::from("/tmp/admin.key"),
        };
        let text = render(
            "lab",
            "https://127.0.0.1:6443",
            Path::new("/tmp/ca.crt"),
            &files,
        );
        assert!(text.contains("client-certificate: \"/tmp/a \\\"b\\\"/admin.crt\""));
        assert!(text.contains("current-context: \"lab\""));
        assert!(text.contains("server: \"https://127.0.0.1:6443\""));
    }
}
