//! The command-line flags both daemons take, with MetalLB v0.16's spelling and environment
//! variables, to `#[command(flatten)]` into each binary's own clap struct.
//!
//! Two deliberate differences from MetalLB v0.16, whose metrics are HTTPS on port 9120
//! behind Kubernetes authentication: `--port` serves plain HTTP (as DESIGN asks of every
//! daemon) and defaults to 7472, the metrics port of the MetalLB releases the tutorial was
//! written for; `--health-probe-port` (17472) is v0.16's, so its manifests' probes work.
//! See `docs/decisions/` for the record.
//!
//! As in Go, a flag or variable set to the empty string counts as not given; the accessor
//! methods apply that rule.

mod ignored;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use clap::builder::TypedValueParser;

use crate::client::{Environment, read_namespace};
use crate::http::{ListenAddress, listen_addresses};
use crate::logging::LogLevel;

pub use ignored::{
    Common, Controller, FlagKind, FlagSet, GivenFlag, IgnoredFlag, IgnoredFlags, Speaker,
};

/// The flags of both `controller` and `speaker`.
#[derive(Args, Clone, Debug)]
pub struct CommonArgs {
    /// Namespace of the configuration (default: the pod's ServiceAccount namespace)
    #[arg(long, env = "METALLB_NAMESPACE")]
    pub namespace: Option<String>,

    /// Port of the Prometheus metrics endpoint (plain HTTP); 0 turns it off
    #[arg(long, default_value_t = 7472)]
    pub port: u16,

    /// Port of the /healthz and /readyz probes (all addresses); 0 turns it off
    #[arg(long, default_value_t = 17472)]
    pub health_probe_port: u16,

    /// Log level
    #[arg(long, value_enum, default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,

    /// Kubeconfig file, only needed outside a cluster [else: KUBECONFIG, the in-cluster
    /// ServiceAccount, ~/.kube/config]
    // Empty is allowed (and means not given), which clap's default PathBuf parser refuses.
    #[arg(long, value_parser = clap::builder::OsStringValueParser::new().map(PathBuf::from))]
    pub kubeconfig: Option<PathBuf>,

    /// Name of this pod
    #[arg(long, env = "METALLB_POD_NAME")]
    pub pod_name: Option<String>,

    /// Load balancer class: when set, only Services whose spec.loadBalancerClass matches are
    /// handled
    #[arg(long = "lb-class")]
    pub lb_class: Option<String>,

    /// MetalLB flags of both binaries that have no effect here.
    #[command(flatten)]
    pub ignored: IgnoredFlags<Common>,
}

/// `--host`/`METALLB_HOST`: the address the speaker's metrics listen on (all addresses when
/// unset), as in the MetalLB releases with plain-HTTP metrics.
#[derive(Args, Clone, Debug, Default)]
pub struct HostArg {
    /// Address for the metrics endpoint (default: all addresses)
    #[arg(long, env = "METALLB_HOST", value_parser = parse_host)]
    pub host: Option<String>,
}

fn parse_host(text: &str) -> Result<String, String> {
    if text.is_empty() || text.parse::<IpAddr>().is_ok() {
        Ok(text.to_owned())
    } else {
        Err(format!("{text:?} is not an IP address"))
    }
}

impl HostArg {
    /// The address, if one was given.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.as_deref().and_then(|h| h.parse().ok())
    }
}

/// The namespace is neither given nor readable from the pod's ServiceAccount.
#[derive(Debug, thiserror::Error)]
#[error(
    "unable to get the namespace from the pod's ServiceAccount ({path}: {reason}); \
     please specify --namespace or METALLB_NAMESPACE"
)]
pub struct NamespaceError {
    /// The ServiceAccount's namespace file.
    pub path: PathBuf,
    /// Why it could not be used.
    pub reason: String,
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

impl CommonArgs {
    /// `--namespace`, else the namespace of the pod's ServiceAccount, as MetalLB resolves it.
    pub fn namespace(&self, env: &Environment) -> Result<String, NamespaceError> {
        if let Some(ns) = non_empty(&self.namespace) {
            return Ok(ns.to_owned());
        }
        let dir = &env.service_account_dir;
        let error = |reason: String| NamespaceError {
            path: dir.join("namespace"),
            reason,
        };
        match read_namespace(dir) {
            Ok(ns) if ns.is_empty() => Err(error("empty".to_owned())),
            Ok(ns) => Ok(ns),
            Err(e) => Err(error(e.to_string())),
        }
    }

    /// `--kubeconfig`, if given.
    pub fn kubeconfig(&self) -> Option<&Path> {
        self.kubeconfig
            .as_deref()
            .filter(|p| !p.as_os_str().is_empty())
    }

    /// `--pod-name`, if given.
    pub fn pod_name(&self) -> Option<&str> {
        non_empty(&self.pod_name)
    }

    /// `--lb-class`, if given: Services of any other class (or none) are not ours.
    pub fn load_balancer_class(&self) -> Option<&str> {
        non_empty(&self.lb_class)
    }

    /// Where the metrics/health endpoint listens; `host` is the speaker's `--host`.
    pub fn listen_addresses(&self, host: Option<IpAddr>) -> Vec<ListenAddress> {
        listen_addresses(self.port, self.health_probe_port, host)
    }
}

#[cfg(test)]
mod tests;
