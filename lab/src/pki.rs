//! The cluster's certificates: one CA, the serving certificate of kube-apiserver, client
//! certificates for each identity that talks to it, and the service-account signing key.
//!
//! Everything is generated fresh for each cluster (ECDSA P-256, so it takes milliseconds) and
//! written as PEM files into the cluster's data directory.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// Why the certificates could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// rcgen refused to generate a key or sign a certificate.
    #[error("cannot generate the certificate or key for {what}: {source}")]
    Generate {
        /// Which certificate or key.
        what: String,
        /// rcgen's reason.
        source: rcgen::Error,
    },
    /// A PEM file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A certificate and its private key, as written to disk.
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// The PEM certificate.
    pub cert: PathBuf,
    /// The PEM (PKCS#8) private key.
    pub key: PathBuf,
}

/// A client identity: the user name (certificate CN) and groups (O) the apiserver sees.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    /// File stem in the data directory, e.g. `admin`.
    pub file: &'a str,
    /// The user name, e.g. `kubernetes-admin`.
    pub user: &'a str,
    /// The groups, e.g. `system:masters`.
    pub groups: &'a [&'a str],
}

/// The cluster's certificate authority and the files it produced.
pub struct Pki {
    dir: PathBuf,
    ca_params: CertificateParams,
    ca_key: KeyPair,
    /// The CA certificate (PEM) file, trusted by every component and client.
    pub ca_cert: PathBuf,
    /// The CA certificate as PEM text, for kubeconfigs and clients.
    pub ca_pem: String,
}

fn gen_err(what: &str) -> impl FnOnce(rcgen::Error) -> PkiError + '_ {
    move |source| PkiError::Generate {
        what: what.to_owned(),
        source,
    }
}

fn write(path: &Path, contents: &str) -> Result<(), PkiError> {
    std::fs::write(path, contents).map_err(|source| PkiError::Write {
        path: path.to_owned(),
        source,
    })
}

impl Pki {
    /// Generates a new CA and writes its certificate to `dir/ca.crt`.
    pub fn create(dir: &Path) -> Result<Pki, PkiError> {
        let ca_key = KeyPair::generate().map_err(gen_err("the CA key"))?;
        let mut ca_params =
            CertificateParams::new(Vec::<String>::new()).map_err(gen_err("the CA"))?;
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "ferrolb-lab-ca");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = ca_params.self_signed(&ca_key).map_err(gen_err("the CA"))?;
        let ca_cert = dir.join("ca.crt");
        let ca_pem = ca.pem();
        write(&ca_cert, &ca_pem)?;
        Ok(Pki {
            dir: dir.to_owned(),
            ca_params,
            ca_key,
            ca_cert,
            ca_pem,
        })
    }

    fn sign(
        &self,
        what: &str,
        mut params: CertificateParams,
        usage: ExtendedKeyUsagePurpose,
    ) -> Result<(String, String), PkiError> {
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![usage];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().map_err(gen_err(what))?;
        let issuer = Issuer::from_params(&self.ca_params, &self.ca_key);
        let cert = params.signed_by(&key, &issuer).map_err(gen_err(what))?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// A serving certificate for `name` valid for the given DNS names and IP addresses,
    /// written to `dir/<name>.crt` and `dir/<name>.key`.
    pub fn server(&self, name: &str, dns: &[&str], ips: &[IpAddr]) -> Result<CertFiles, PkiError> {
        let sans: Vec<String> = dns
            .iter()
            .map(|d| (*d).to_owned())
            .chain(ips.iter().map(IpAddr::to_string))
            .collect();
        let mut params = CertificateParams::new(sans).map_err(gen_err(name))?;
        params.distinguished_name.push(DnType::CommonName, name);
        let (cert, key) = self.sign(name, params, ExtendedKeyUsagePurpose::ServerAuth)?;
        self.write_pair(name, &cert, &key)
    }

    /// A client certificate for `identity`, written to `dir/<file>.crt` and `.key`.
    pub fn client(&self, identity: Identity<'_>) -> Result<CertFiles, PkiError> {
        let mut params =
            CertificateParams::new(Vec::<String>::new()).map_err(gen_err(identity.user))?;
        params
            .distinguished_name
            .push(DnType::CommonName, identity.user);
        for group in identity.groups {
            params
                .distinguished_name
                .push(DnType::OrganizationName, *group);
        }
        let (cert, key) = self.sign(identity.user, params, ExtendedKeyUsagePurpose::ClientAuth)?;
        self.write_pair(identity.file, &cert, &key)
    }

    /// The service-account token signing key pair, written to `dir/sa.key` and `dir/sa.pub`.
    pub fn service_account_key(&self) -> Result<CertFiles, PkiError> {
        let key = KeyPair::generate().map_err(gen_err("the service-account key"))?;
        let files = CertFiles {
            cert: self.dir.join("sa.pub"),
            key: self.dir.join("sa.key"),
        };
        write(&files.cert, &key.public_key_pem())?;
        write(&files.key, &key.serialize_pem())?;
        Ok(files)
    }

    fn write_pair(&self, stem: &str, cert: &str, key: &str) -> Result<CertFiles, PkiError> {
        let files = CertFiles {
            cert: self.dir.join(format!("{stem}.crt")),
            key: self.dir.join(format!("{stem}.key")),
        };
        write(&files.cert, cert)?;
        write(&files.key, key)?;
        Ok(files)
    }
}
