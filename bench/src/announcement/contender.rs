//! The two speakers and what they need. Both get the same cluster state ([`configure`]):
//! ferrolb's CRDs (plus MetalLB's `ServiceL2Status`, which only MetalLB's speaker watches),
//! the two Nodes with their InternalIPs, one `IPAddressPool`, one `BGPPeer` (the router, no
//! node selector) and one `BGPAdvertisement` of the pool, and a Pod object per node that
//! the speaker reads as its own (MetalLB's needs it for the owner of its ServiceBGPStatus
//! and ConfigurationState objects; nothing runs it).
//!
//! Each speaker runs in its node's namespace with the admin kubeconfig and the flags both
//! spell alike ([`daemon::common_args`]: metrics off, health probes on 17472 inside the
//! node's namespace) plus `--node-name`. MetalLB's also gets `METALLB_BGP_TYPE=native` (its
//! default when unset, set to be sure) and no `--ml-bindaddr`/`--ml-labels`, so its
//! memberlist stays off, as its log says ("not starting fast dead node detection").

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use lab::process::Process;
use serde_json::json;

use super::topology::{self, NODES, ROUTER_ASN, SPEAKER_ASN};
use crate::k8s::daemon;
use crate::k8s::setup::{
    self, METALLB_NAMESPACE, POOL_NAME, create_default_service_account, create_metallb_object,
    create_own_pod, create_pool,
};
use crate::k8s::{BenchError, Result, write_err};

/// The speakers' health-probe port (each in its own namespace).
const HEALTH_PORT: u16 = 17472;

/// Whose speaker runs on the nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Contender {
    /// No speaker: how fast the apiserver takes the workload's writes alone, the ceiling of
    /// the others (the speakers add writes of their own: ServiceBGPStatus objects, Events).
    Apiserver,
    /// ferrolb's speaker.
    Ours,
    /// MetalLB v0.16.2's speaker in native BGP mode.
    Metallb,
}

impl Contender {
    /// Every contender, in the order each round runs them.
    pub const ALL: [Contender; 3] = [Contender::Apiserver, Contender::Ours, Contender::Metallb];

    /// The name on the command line.
    pub fn key(self) -> &'static str {
        match self {
            Contender::Apiserver => "apiserver",
            Contender::Ours => "ours",
            Contender::Metallb => "metallb",
        }
    }

    /// The name in tables.
    pub fn title(self) -> &'static str {
        match self {
            Contender::Apiserver => "apiserver alone (the writes, no speaker)",
            Contender::Ours => "ferrolb speaker",
            Contender::Metallb => "MetalLB v0.16.2 speaker (native BGP)",
        }
    }

    /// Parses a name given on the command line.
    pub fn parse(text: &str) -> Option<Contender> {
        Contender::ALL.into_iter().find(|c| c.key() == text)
    }

    /// Whether speakers run (all but the ceiling).
    pub fn has_speakers(self) -> bool {
        self != Contender::Apiserver
    }
}

/// Where the speaker programs are, and MetalLB's CRD files.
#[derive(Debug, Clone)]
pub struct Programs {
    /// ferrolb's `speaker` binary.
    pub ours: PathBuf,
    /// MetalLB's speaker, built by `bench/scripts/build-metallb.sh`.
    pub metallb: PathBuf,
    /// MetalLB's `ServiceL2Status` CRD, copied next to its binaries by the script.
    pub metallb_l2_status_crd: PathBuf,
}

impl Programs {
    /// The default places: ours next to this program (the same cargo build), MetalLB's in
    /// the cache `build-metallb.sh` fills.
    pub fn default_paths() -> Programs {
        let metallb = daemon::metallb_program("speaker");
        let crds = metallb
            .parent()
            .and_then(Path::parent)
            .map_or_else(|| PathBuf::from("crds"), |dir| dir.join("crds"));
        Programs {
            ours: daemon::next_to_this_program("speaker"),
            metallb,
            metallb_l2_status_crd: crds.join("metallb.io_servicel2statuses.yaml"),
        }
    }

    /// Fails naming the first program (or file) one of `contenders` needs that is not there.
    pub fn check(&self, contenders: &[Contender]) -> Result<()> {
        for &contender in contenders {
            match contender {
                Contender::Apiserver => {}
                Contender::Ours => daemon::check_program(
                    &self.ours,
                    "ferrolb's speaker",
                    "build it with `cargo build --release -p speaker` (or pass --ours)",
                )?,
                Contender::Metallb => {
                    daemon::check_program(
                        &self.metallb,
                        "MetalLB's speaker",
                        "build it with `bench/scripts/build-metallb.sh speaker` (or pass --metallb)",
                    )?;
                    daemon::check_program(
                        &self.metallb_l2_status_crd,
                        "MetalLB's ServiceL2Status CRD",
                        "`bench/scripts/build-metallb.sh speaker` copies it there",
                    )?;
                }
            }
        }
        Ok(())
    }

    /// MetalLB's `ServiceL2Status` CRD (read from its YAML file).
    pub fn l2_status_crd(&self) -> Result<CustomResourceDefinition> {
        let path = &self.metallb_l2_status_crd;
        let text = std::fs::read_to_string(path)
            .map_err(|e| BenchError::WrongResult(format!("reading {}: {e}", path.display())))?;
        serde_saphyr::from_str(&text)
            .map_err(|e| BenchError::WrongResult(format!("parsing {}: {e}", path.display())))
    }
}

/// The Pod object the speaker of `node` reads as its own.
pub fn pod_name(node: &str) -> String {
    format!("speaker-{node}")
}

/// Writes what both speakers read: the CRDs, namespaces, Nodes, the pool, the router as a
/// `BGPPeer`, a `BGPAdvertisement` of the pool, and the Pod objects.
pub async fn configure(
    client: &Client,
    programs: &Programs,
    pool: &str,
    namespaces: &[&str],
) -> Result<()> {
    // Without MetalLB's run there is no need for its file; with it both runs get it.
    let extra = if programs.metallb_l2_status_crd.is_file() {
        vec![programs.l2_status_crd()?]
    } else {
        Vec::new()
    };
    setup::prepare_cluster(client, namespaces, extra).await?;
    for (node, byte) in NODES {
        lab::objects::create_node(client, node, &[IpAddr::V4(topology::address(byte))], &[])
            .await
            .map_err(write_err(format!("creating Node {node}")))?;
    }
    create_pool(client, pool).await?;
    create_metallb_object(
        client,
        "the BGPPeer",
        json!({
            "apiVersion": "metallb.io/v1beta2",
            "kind": "BGPPeer",
            "metadata": {"name": "router", "namespace": METALLB_NAMESPACE},
            "spec": {"myASN": SPEAKER_ASN, "peerASN": ROUTER_ASN,
                     "peerAddress": topology::router_address().to_string()},
        }),
    )
    .await?;
    create_advertisement(client).await?;
    create_default_service_account(client).await?;
    for (node, _) in NODES {
        create_own_pod(client, &pod_name(node), "speaker", Some(node)).await?;
    }
    Ok(())
}

/// Creates the `BGPAdvertisement` of the pool (to every peer, no selectors).
pub async fn create_advertisement(client: &Client) -> Result<()> {
    create_metallb_object(
        client,
        "the BGPAdvertisement",
        json!({
            "apiVersion": "metallb.io/v1beta1",
            "kind": "BGPAdvertisement",
            "metadata": {"name": POOL_NAME, "namespace": METALLB_NAMESPACE},
            "spec": {"ipAddressPools": [POOL_NAME]},
        }),
    )
    .await
}

/// Deletes the `BGPAdvertisement`: the pool's addresses are no longer announced anywhere.
pub async fn delete_advertisement(client: &Client) -> Result<()> {
    lab::objects::delete_cr(
        client,
        METALLB_NAMESPACE,
        "v1beta1",
        "BGPAdvertisement",
        POOL_NAME,
    )
    .await
    .map_err(write_err("deleting the BGPAdvertisement"))
}

/// Starts `contender`'s speaker for `node` in namespace `netns`, its output in `log` (none
/// for the ceiling).
pub fn start(
    contender: Contender,
    programs: &Programs,
    kubeconfig: &Path,
    node: &str,
    netns: &str,
    log: &Path,
) -> Result<Option<Process>> {
    let mut args = Vec::new();
    let program = match contender {
        Contender::Apiserver => return Ok(None),
        Contender::Ours => programs.ours.clone(),
        Contender::Metallb => {
            // `env` execs MetalLB's program, so the pid stays the speaker's.
            args.push("METALLB_BGP_TYPE=native".to_owned());
            args.push(programs.metallb.display().to_string());
            PathBuf::from("/usr/bin/env")
        }
    };
    args.extend(daemon::common_args(
        kubeconfig,
        &pod_name(node),
        HEALTH_PORT,
    ));
    args.push(format!("--node-name={node}"));
    let name = format!("{}-speaker-{node}", contender.key());
    Ok(Some(Process::spawn(
        &name,
        &program,
        &args,
        Some(netns),
        log,
    )?))
}
