//! The contenders and what each needs: the same CRDs (ferrolb's, which MetalLB's controller
//! reads as well: same group, versions and fields) and namespaces for all, then one address
//! pool — as an `IPAddressPool` or as the legacy ConfigMap — and the controller process with
//! the admin kubeconfig.
//!
//! MetalLB's controller also reads its own Pod at start (for the owner reference of its
//! ConfigurationState), so a Pod object is created for it; nothing runs it, no kubelet is
//! needed. Its admission webhook is off (`--webhook-mode=disabled`) and so are the metrics
//! of both (`--port=0`): neither is part of allocating.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::{Api, PostParams};
use lab::process::Process;
use serde_json::json;

use super::{Result, api_err, object};
use crate::k8s::daemon;
pub use crate::k8s::daemon::METALLB_VERSION;
use crate::k8s::setup::{
    METALLB_NAMESPACE, POOL_NAME, create_default_service_account, create_own_pod, create_pool,
};

/// The Pod object MetalLB's controller reads as its own (`--pod-name`).
pub const POD_NAME: &str = "controller-bench";

/// Who allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Contender {
    /// No controller: the apiserver's create rate, the ceiling of the others.
    Apiserver,
    /// ferrolb's controller with an `IPAddressPool`.
    Ours,
    /// ferrolb's controller with the legacy ConfigMap `config`.
    OursConfigMap,
    /// MetalLB v0.16.2's controller with an `IPAddressPool`.
    Metallb,
}

impl Contender {
    /// Every contender, in the order each round runs them.
    pub const ALL: [Contender; 4] = [
        Contender::Apiserver,
        Contender::Ours,
        Contender::OursConfigMap,
        Contender::Metallb,
    ];

    /// The name on the command line.
    pub fn key(self) -> &'static str {
        match self {
            Contender::Apiserver => "apiserver",
            Contender::Ours => "ours",
            Contender::OursConfigMap => "ours-configmap",
            Contender::Metallb => "metallb",
        }
    }

    /// The name in tables.
    pub fn title(self) -> &'static str {
        match self {
            Contender::Apiserver => "apiserver alone (creates, no controller)",
            Contender::Ours => "ferrolb controller (IPAddressPool)",
            Contender::OursConfigMap => "ferrolb controller (legacy ConfigMap)",
            Contender::Metallb => "MetalLB v0.16.2 controller (IPAddressPool)",
        }
    }

    /// Parses a name given on the command line.
    pub fn parse(text: &str) -> Option<Contender> {
        Contender::ALL.into_iter().find(|c| c.key() == text)
    }

    /// Whether a controller process runs (all but the ceiling).
    pub fn has_controller(self) -> bool {
        self != Contender::Apiserver
    }
}

/// Where the controller programs are.
#[derive(Debug, Clone)]
pub struct Programs {
    /// ferrolb's `controller` binary.
    pub ours: PathBuf,
    /// MetalLB's controller, built by `bench/scripts/build-metallb.sh`.
    pub metallb: PathBuf,
}

impl Programs {
    /// The default places: ours next to this program (the same cargo build), MetalLB's in
    /// the cache `build-metallb.sh` fills.
    pub fn default_paths() -> Programs {
        Programs {
            ours: daemon::next_to_this_program("controller"),
            metallb: daemon::metallb_program("controller"),
        }
    }

    /// Fails naming the first program one of `contenders` needs that is not there.
    pub fn check(&self, contenders: &[Contender]) -> Result<()> {
        for &contender in contenders {
            let (path, hint) = match contender {
                Contender::Apiserver => continue,
                Contender::Ours | Contender::OursConfigMap => (
                    &self.ours,
                    "build it with `cargo build --release -p controller` (or pass --ours)",
                ),
                Contender::Metallb => (
                    &self.metallb,
                    "build it with `bench/scripts/build-metallb.sh` (or pass --metallb)",
                ),
            };
            daemon::check_program(
                path,
                &format!("the controller of {}", contender.key()),
                hint,
            )?;
        }
        Ok(())
    }
}

/// Writes what `contender` reads: an `IPAddressPool` (or the legacy ConfigMap) of `pool`,
/// and MetalLB's Pod object.
pub async fn configure(client: &Client, contender: Contender, pool: &str) -> Result<()> {
    match contender {
        Contender::Apiserver => {}
        Contender::Ours => create_pool(client, pool).await?,
        Contender::OursConfigMap => create_legacy_config(client, pool).await?,
        Contender::Metallb => {
            create_pool(client, pool).await?;
            create_default_service_account(client).await?;
            create_own_pod(client, POD_NAME, "controller", None).await?;
        }
    }
    Ok(())
}

async fn create_legacy_config(client: &Client, pool: &str) -> Result<()> {
    let config = format!(
        "address-pools:\n- name: {POOL_NAME}\n  protocol: layer2\n  addresses:\n  - {pool}\n"
    );
    let cm: ConfigMap = object(
        "the legacy ConfigMap",
        json!({
            "metadata": {"name": "config", "namespace": METALLB_NAMESPACE},
            "data": {"config": config},
        }),
    )?;
    Api::<ConfigMap>::namespaced(client.clone(), METALLB_NAMESPACE)
        .create(&PostParams::default(), &cm)
        .await
        .map_err(api_err("creating the legacy ConfigMap"))?;
    Ok(())
}

/// Starts the controller of `contender` (none for the ceiling) against the cluster of
/// `kubeconfig`, its output in `log`.
pub fn start(
    contender: Contender,
    programs: &Programs,
    kubeconfig: &Path,
    log: &Path,
) -> Result<Option<Process>> {
    let (program, extra): (&Path, &[&str]) = match contender {
        Contender::Apiserver => return Ok(None),
        Contender::Ours | Contender::OursConfigMap => (&programs.ours, &[]),
        Contender::Metallb => (&programs.metallb, &["--webhook-mode=disabled"]),
    };
    let health = lab::ports::free_port(IpAddr::V4(Ipv4Addr::UNSPECIFIED), "health probes")?;
    let mut args = daemon::common_args(kubeconfig, POD_NAME, health);
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    Ok(Some(Process::spawn(
        contender.key(),
        program,
        &args,
        None,
        log,
    )?))
}
