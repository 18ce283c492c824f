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
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, ServiceAccount};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, PostParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use lab::process::Process;
use serde_json::json;

use super::{BenchError, Result, api_err, object, poll_until};

/// MetalLB's namespace, where the configuration lives.
pub const METALLB_NAMESPACE: &str = "metallb-system";
/// The name of the one address pool.
pub const POOL_NAME: &str = "bench";
/// The Pod object MetalLB's controller reads as its own (`--pod-name`).
pub const POD_NAME: &str = "controller-bench";
/// The MetalLB version the benchmark compares with.
pub const METALLB_VERSION: &str = "v0.16.2";

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
        let ours = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join("controller")))
            .unwrap_or_else(|| PathBuf::from("controller"));
        let cache = std::env::var_os("FERROLB_METALLB_CACHE")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/ferrolb/metallb"))
            })
            .unwrap_or_else(|| PathBuf::from(".cache/ferrolb/metallb"));
        Programs {
            ours,
            metallb: cache.join(METALLB_VERSION).join("bin/controller"),
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
            if !path.is_file() {
                return Err(BenchError::MissingProgram {
                    what: format!("the controller of {}", contender.key()),
                    path: path.clone(),
                    hint: hint.to_owned(),
                });
            }
        }
        Ok(())
    }
}

/// Installs ferrolb's CRDs, waits until the apiserver serves them, and creates MetalLB's
/// namespace and `namespaces`: the same cluster state for every contender.
pub async fn prepare_cluster(client: &Client, namespaces: &[&str]) -> Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let definitions = lb_config::crd::definitions();
    for crd in &definitions {
        let name = crd.metadata.name.clone().unwrap_or_default();
        crds.create(&PostParams::default(), crd)
            .await
            .map_err(api_err(format!("creating CRD {name}")))?;
    }
    for crd in &definitions {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let what = format!("CRD {name} to be established");
        poll_until(
            &what,
            Duration::from_secs(60),
            Duration::from_millis(100),
            || {
                let crds = crds.clone();
                let name = name.clone();
                async move {
                    let crd = crds
                        .get(&name)
                        .await
                        .map_err(api_err(format!("reading CRD {name}")))?;
                    let established = crd.status.and_then(|s| s.conditions).is_some_and(|cs| {
                        cs.iter()
                            .any(|c| c.type_ == "Established" && c.status == "True")
                    });
                    Ok(established.then_some(()))
                }
            },
        )
        .await?;
    }
    let all = Api::<Namespace>::all(client.clone());
    for name in std::iter::once(METALLB_NAMESPACE).chain(namespaces.iter().copied()) {
        let ns: Namespace = object("a namespace", json!({"metadata": {"name": name}}))?;
        all.create(&PostParams::default(), &ns)
            .await
            .map_err(api_err(format!("creating namespace {name}")))?;
    }
    Ok(())
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
            create_own_pod(client).await?;
        }
    }
    Ok(())
}

async fn create_pool(client: &Client, pool: &str) -> Result<()> {
    let gvk = GroupVersionKind::gvk("metallb.io", "v1beta1", "IPAddressPool");
    let resource = ApiResource::from_gvk(&gvk);
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), METALLB_NAMESPACE, &resource);
    let obj: DynamicObject = object(
        "the IPAddressPool",
        json!({
            "apiVersion": "metallb.io/v1beta1",
            "kind": "IPAddressPool",
            "metadata": {"name": POOL_NAME, "namespace": METALLB_NAMESPACE},
            "spec": {"addresses": [pool]},
        }),
    )?;
    api.create(&PostParams::default(), &obj)
        .await
        .map_err(api_err("creating the IPAddressPool"))?;
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

/// The Pod MetalLB's controller reads at start. Without kube-controller-manager nobody
/// creates the namespace's `default` ServiceAccount, which the Pod admission needs.
async fn create_own_pod(client: &Client) -> Result<()> {
    let sa: ServiceAccount = object(
        "the default ServiceAccount",
        json!({"metadata": {"name": "default", "namespace": METALLB_NAMESPACE}}),
    )?;
    Api::<ServiceAccount>::namespaced(client.clone(), METALLB_NAMESPACE)
        .create(&PostParams::default(), &sa)
        .await
        .map_err(api_err("creating the default ServiceAccount"))?;
    let pod: Pod = object(
        "MetalLB's Pod",
        json!({
            "metadata": {"name": POD_NAME, "namespace": METALLB_NAMESPACE,
                         "labels": {"app": "metallb", "component": "controller"}},
            "spec": {
                "automountServiceAccountToken": false,
                "containers": [{"name": "controller",
                                "image": format!("quay.io/metallb/controller:{METALLB_VERSION}")}],
            },
        }),
    )?;
    Api::<Pod>::namespaced(client.clone(), METALLB_NAMESPACE)
        .create(&PostParams::default(), &pod)
        .await
        .map_err(api_err("creating MetalLB's Pod object"))?;
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
    // The flags both take, with the same spelling.
    let health = lab::ports::free_port(IpAddr::V4(Ipv4Addr::UNSPECIFIED), "health probes")?;
    let mut args = vec![
        format!("--namespace={METALLB_NAMESPACE}"),
        format!("--kubeconfig={}", kubeconfig.display()),
        format!("--pod-name={POD_NAME}"),
        "--port=0".to_owned(),
        format!("--health-probe-port={health}"),
        "--log-level=info".to_owned(),
    ];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    Ok(Some(Process::spawn(
        contender.key(),
        program,
        &args,
        None,
        log,
    )?))
}
