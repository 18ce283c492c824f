//! The in-cluster configuration from a ServiceAccount directory: the token file (which kube
//! re-reads, so rotated tokens keep working), the CA bundle (re-read too) and the namespace,
//! with the apiserver from `KUBERNETES_SERVICE_HOST`/`_PORT` as client-go forms it.

use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use kube::Config;

use super::error::LoadError;

/// The apiserver URL: `https://` and the host and port joined as Go's `net.JoinHostPort`
/// (an IPv6 address in brackets).
pub(crate) fn apiserver_url(host: &str, port: &str) -> Result<http::Uri, LoadError> {
    let port: u16 = port
        .trim()
        .parse()
        .map_err(|_| LoadError::BadPort(port.to_owned()))?;
    let url = match host.parse::<IpAddr>() {
        Ok(IpAddr::V6(ip)) => format!("https://[{ip}]:{port}"),
        _ => format!("https://{host}:{port}"),
    };
    url.parse().map_err(|source| LoadError::BadUrl {
        host: host.to_owned(),
        port,
        source,
    })
}

/// The namespace the pod runs in, from the ServiceAccount's `namespace` file (surrounding
/// whitespace removed).
pub fn read_namespace(dir: &Path) -> io::Result<String> {
    let text = std::fs::read_to_string(dir.join("namespace"))?;
    Ok(text.trim().to_owned())
}

fn read(path: PathBuf) -> Result<(PathBuf, Vec<u8>), LoadError> {
    match std::fs::read(&path) {
        Ok(bytes) => Ok((path, bytes)),
        Err(source) => Err(LoadError::Read { path, source }),
    }
}

/// The CA bundle's certificates in DER, as kube wants them.
fn certificates(path: &Path, pem_bytes: &[u8]) -> Result<Vec<Vec<u8>>, LoadError> {
    let blocks = pem::parse_many(pem_bytes).map_err(|source| LoadError::BadCa {
        path: path.to_path_buf(),
        source,
    })?;
    let ders: Vec<Vec<u8>> = blocks
        .into_iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .map(pem::Pem::into_contents)
        .collect();
    if ders.is_empty() {
        return Err(LoadError::NoCertificate(path.to_path_buf()));
    }
    Ok(ders)
}

/// The configuration of a pod's ServiceAccount in `dir`, for the apiserver at `host`:`port`.
pub(crate) fn config(
    host: Option<&str>,
    port: Option<&str>,
    dir: &Path,
) -> Result<Config, LoadError> {
    let host = host.ok_or(LoadError::NotInCluster("KUBERNETES_SERVICE_HOST"))?;
    let port = port.ok_or(LoadError::NotInCluster("KUBERNETES_SERVICE_PORT"))?;
    let url = apiserver_url(host, port)?;

    // Read the token now so that a missing or empty one fails here with its path, rather
    // than as a 401 on the first request.
    let (token_path, token) = read(dir.join("token"))?;
    if token.iter().all(u8::is_ascii_whitespace) {
        return Err(LoadError::EmptyToken(token_path));
    }
    let token_file = token_path
        .clone()
        .into_os_string()
        .into_string()
        .map_err(|_| LoadError::NotUtf8(token_path))?;
    let (ca_path, ca) = read(dir.join("ca.crt"))?;
    let roots = certificates(&ca_path, &ca)?;
    let namespace = match read_namespace(dir) {
        Ok(ns) if !ns.is_empty() => ns,
        _ => "default".to_owned(),
    };

    let mut config = Config::new(url);
    config.default_namespace = namespace;
    config.root_cert = Some(roots);
    config.root_cert_file = Some(ca_path);
    config.auth_info.token_file = Some(token_file);
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_joins_host_and_port_as_go_does() {
        let table = [
            ("10.96.0.1", "443", "https://10.96.0.1:443/"),
            ("fd00::1", "6443", "https://[fd00::1]:6443/"),
            (
                "kubernetes.default.svc",
                "443",
                "https://kubernetes.default.svc:443/",
            ),
        ];
        for (host, port, url) in table {
            match apiserver_url(host, port) {
                Ok(u) => assert_eq!(u.to_string(), url),
                Err(e) => panic!("{host} {port}: {e}"),
            }
        }
    }

    #[test]
    fn bad_port_and_host_are_named() {
        match apiserver_url("10.96.0.1", "https") {
            Err(e) => assert_eq!(
                e.to_string(),
                "KUBERNETES_SERVICE_PORT=\"https\" is not a port number"
            ),
            Ok(u) => panic!("accepted {u}"),
        }
        match apiserver_url("bad host", "443") {
            Err(e) => assert!(
                e.to_string()
                    .starts_with("https://bad host:443 is not a valid apiserver URL"),
                "{e}"
            ),
            Ok(u) => panic!("accepted {u}"),
        }
    }

    #[test]
    fn missing_variables_say_not_in_a_pod() {
        let dir = Path::new("/nonexistent");
        match config(None, Some("443"), dir) {
            Err(e) => assert_eq!(
                e.to_string(),
                "KUBERNETES_SERVICE_HOST is not set (not running in a pod)"
            ),
            Ok(_) => panic!("configured without a host"),
        }
        match config(Some("10.96.0.1"), None, dir) {
            Err(e) => assert_eq!(
                e.to_string(),
                "KUBERNETES_SERVICE_PORT is not set (not running in a pod)"
            ),
            Ok(_) => panic!("configured without a port"),
        }
    }

    fn write(dir: &Path, name: &str, text: &str) {
        if let Err(e) = std::fs::write(dir.join(name), text) {
            panic!("writing {name}: {e}");
        }
    }

    #[test]
    fn missing_empty_or_bad_files_are_named() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let dir = tmp.path();
        let err = |dir| match config(Some("10.96.0.1"), Some("443"), dir) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("configured from a bad ServiceAccount dir"),
        };
        let token = dir.join("token").display().to_string();
        let ca = dir.join("ca.crt").display().to_string();
        assert!(
            err(dir).starts_with(&format!("cannot read {token}: ")),
            "{}",
            err(dir)
        );
        write(dir, "token", " \n");
        assert_eq!(err(dir), format!("{token} is empty"));
        write(dir, "token", "abc");
        assert!(
            err(dir).starts_with(&format!("cannot read {ca}: ")),
            "{}",
            err(dir)
        );
        write(
            dir,
            "ca.crt",
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        );
        assert!(
            err(dir).starts_with(&format!("{ca} is not a PEM certificate bundle")),
            "{}",
            err(dir)
        );
        write(
            dir,
            "ca.crt",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        );
        assert_eq!(err(dir), format!("{ca} holds no CERTIFICATE"));
    }

    #[test]
    fn namespace_file_is_trimmed() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        write(tmp.path(), "namespace", "metallb-system\n");
        assert_eq!(
            read_namespace(tmp.path()).ok().as_deref(),
            Some("metallb-system")
        );
    }
}
