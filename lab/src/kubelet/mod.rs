//! `lab kubelet`: the lab's kubelet for the pods kwok leaves to it (those of
//! `metallb-system`), one per node. kwok keeps the nodes Ready and plays every other pod;
//! this one runs each of its pods as the real program of the pod's image (the binaries cargo
//! built next to `lab`), in the node's network namespace (hostNetwork) or a namespace of the
//! pod's own on the node's pod network, with the pod's environment and downward-API values,
//! its ServiceAccount token at the in-cluster path, and its security context applied. It
//! writes the pod status a kubelet writes (Running, readiness from the probes, restarts,
//! CrashLoopBackOff) and the CRI logs kwok serves for `kubectl logs`, and forwards the node's
//! kubelet port to kwok so the apiserver reaches those logs at the node's address.
//!
//! Pure parts: [`plan`], [`security`], [`status`], [`backoff`], [`probe`]'s tracker,
//! [`crilog`]'s splitter, [`expand`]. I/O: [`worker`] (one pod), [`container`] (one run),
//! [`account`], [`podnet`], [`forward`], [`init`] (the process between fork and exec).

pub mod account;
pub mod backoff;
pub mod container;
pub mod crilog;
pub mod expand;
pub mod forward;
pub mod init;
pub mod plan;
pub mod podnet;
pub mod probe;
pub mod security;
pub mod status;
pub mod worker;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher::{self, Event};
use kube::{Client, Config};
use tokio::sync::watch;

use self::container::Runtime;
use self::plan::NodeContext;
use self::podnet::PodCidr;
use self::worker::{PodEvent, Shared};

/// How a kubelet is set up.
#[derive(Debug, Clone)]
pub struct KubeletConfig {
    /// The node it plays.
    pub node: String,
    /// The network namespace of the node, entered before anything else runs.
    pub netns: Option<String>,
    /// A kubeconfig with the rights to read pods and write their status.
    pub kubeconfig: PathBuf,
    /// Where pods' files go.
    pub pods_dir: PathBuf,
    /// The namespaces whose pods it plays.
    pub namespaces: Vec<String>,
    /// Forward this node's kubelet port to kwok: `(listen, kwok's address)`.
    pub forward: Option<(SocketAddr, String)>,
}

/// Why the kubelet could not start.
#[derive(Debug, thiserror::Error)]
pub enum KubeletError {
    /// The kubeconfig.
    #[error("the kubeconfig {path}: {reason}")]
    Kubeconfig {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The node.
    #[error("node {node}: {reason}")]
    Node {
        /// The node.
        node: String,
        /// Why.
        reason: String,
    },
    /// A program it needs.
    #[error("{0}")]
    Program(String),
}

/// The apiserver's host and port, and the CA file, from a kubeconfig.
fn apiserver_of(kc: &Kubeconfig) -> Option<(String, u16, PathBuf)> {
    let cluster = kc.clusters.first()?.cluster.as_ref()?;
    let url: http::Uri = cluster.server.as_ref()?.parse().ok()?;
    let host = url
        .host()?
        .trim_matches(|c| c == '[' || c == ']')
        .to_owned();
    let port = url.port_u16().unwrap_or(443);
    let ca = PathBuf::from(cluster.certificate_authority.as_ref()?);
    Some((host, port, ca))
}

/// A program on `PATH`.
fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// Enters the network namespace `netns` on this thread: call before any other thread starts,
/// so every thread of the process lives there.
pub fn enter_netns(netns: &str) -> Result<(), KubeletError> {
    let path = podnet::netns_path(netns);
    let file = std::fs::File::open(&path)
        .map_err(|e| KubeletError::Program(format!("opening {path}: {e}")))?;
    nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| KubeletError::Program(format!("entering the network namespace {netns}: {e}")))
}

/// Runs the kubelet until SIGTERM or SIGINT; then stops every container it runs.
pub async fn run(config: KubeletConfig) -> Result<(), KubeletError> {
    let kc_err = |reason: String| KubeletError::Kubeconfig {
        path: config.kubeconfig.clone(),
        reason,
    };
    let kc = Kubeconfig::read_from(&config.kubeconfig).map_err(|e| kc_err(e.to_string()))?;
    let (apiserver_host, apiserver_port, ca) =
        apiserver_of(&kc).ok_or_else(|| kc_err("no server URL or CA file".to_owned()))?;
    let client_config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| kc_err(e.to_string()))?;
    let client = Client::try_from(client_config).map_err(|e| kc_err(e.to_string()))?;

    let node_err = |reason: String| KubeletError::Node {
        node: config.node.clone(),
        reason,
    };
    let nodes: Api<Node> = Api::all(client.clone());
    let node = nodes
        .get(&config.node)
        .await
        .map_err(|e| node_err(e.to_string()))?;
    let host_ip: IpAddr = node
        .status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .and_then(|a| a.iter().find(|a| a.type_ == "InternalIP"))
        .and_then(|a| a.address.parse().ok())
        .ok_or_else(|| node_err("no InternalIP".to_owned()))?;
    let cidr = node
        .spec
        .as_ref()
        .and_then(|s| s.pod_cidr.as_deref())
        .map(PodCidr::parse)
        .transpose()
        .map_err(node_err)?;

    let setpriv = which("setpriv")
        .ok_or_else(|| KubeletError::Program("setpriv (util-linux) is not on PATH".to_owned()))?;
    let lab = std::env::current_exe()
        .map_err(|e| KubeletError::Program(format!("the lab binary: {e}")))?;
    std::fs::create_dir_all(&config.pods_dir).map_err(|e| {
        KubeletError::Program(format!("creating {}: {e}", config.pods_dir.display()))
    })?;
    let shared = Shared {
        client: client.clone(),
        node: Arc::new(NodeContext {
            node_name: config.node.clone(),
            host_ip,
            apiserver_host,
            apiserver_port,
            bin_dir: plan::bin_dir(),
        }),
        cidr,
        runtime: Runtime { lab, setpriv },
        pods_dir: config.pods_dir.clone(),
        ca,
        addresses: Arc::new(Mutex::new(BTreeSet::new())),
    };
    if let Some((listen, target)) = &config.forward {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| KubeletError::Program(format!("listening on {listen}: {e}")))?;
        tokio::spawn(forward::serve(listener, target.clone()));
    }
    eprintln!(
        "kubelet: node {} ({host_ip}), pods of {} from {}",
        config.node,
        config.namespaces.join(", "),
        shared.node.bin_dir.display()
    );

    let streams = config.namespaces.iter().map(|ns| {
        let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
        let wc = watcher::Config::default().fields(&format!("spec.nodeName={}", config.node));
        watcher::watcher(pods, wc).boxed()
    });
    let mut events = futures::stream::select_all(streams);
    let mut pods = Pods::default();
    let mut term = Box::pin(crate::signals::terminated());
    loop {
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(e)) => pods.handle(&shared, e).await,
                Some(Err(e)) => {
                    eprintln!("kubelet: watching pods: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                None => break,
            },
            _ = &mut term => break,
        }
        pods.prune();
    }
    eprintln!("kubelet: stopping");
    pods.stop_all().await;
    Ok(())
}

/// The pods the kubelet runs, by uid.
#[derive(Default)]
struct Pods {
    running: BTreeMap<String, (watch::Sender<PodEvent>, tokio::task::JoinHandle<()>)>,
    /// Pods whose worker has finished: late events about them start nothing.
    finished: BTreeSet<String>,
    /// Pods seen since the watch (re)started, to find those that went while it was down.
    seen: Option<BTreeSet<String>>,
}

impl Pods {
    async fn handle(&mut self, shared: &Shared, event: Event<Pod>) {
        match event {
            Event::Init => self.seen = Some(BTreeSet::new()),
            Event::InitApply(pod) | Event::Apply(pod) => {
                let uid = pod.metadata.uid.clone().unwrap_or_default();
                if let Some(seen) = self.seen.as_mut() {
                    seen.insert(uid.clone());
                }
                self.apply(shared, uid, pod).await;
            }
            Event::InitDone => {
                if let Some(seen) = self.seen.take() {
                    let gone: Vec<String> = self
                        .running
                        .keys()
                        .filter(|uid| !seen.contains(*uid))
                        .cloned()
                        .collect();
                    for uid in gone {
                        self.gone(&uid);
                    }
                }
            }
            Event::Delete(pod) => {
                let uid = pod.metadata.uid.clone().unwrap_or_default();
                self.gone(&uid);
            }
        }
    }

    async fn apply(&mut self, shared: &Shared, uid: String, pod: Pod) {
        if let Some((tx, _)) = self.running.get(&uid) {
            let _ = tx.send(PodEvent::Update(Box::new(pod)));
            return;
        }
        if self.finished.contains(&uid) {
            return;
        }
        if pod.metadata.deletion_timestamp.is_some() {
            // Deleted before this kubelet ran it: nothing to stop, it may go.
            let ns = pod.metadata.namespace.clone().unwrap_or_default();
            let name = pod.metadata.name.clone().unwrap_or_default();
            let api: Api<Pod> = Api::namespaced(shared.client.clone(), &ns);
            let _ = api
                .delete(
                    &name,
                    &DeleteParams {
                        grace_period_seconds: Some(0),
                        ..DeleteParams::default()
                    },
                )
                .await;
            self.finished.insert(uid);
            return;
        }
        let (tx, rx) = watch::channel(PodEvent::Update(Box::new(pod.clone())));
        let task = tokio::spawn(worker::run(shared.clone(), pod, rx));
        self.running.insert(uid, (tx, task));
    }

    fn gone(&mut self, uid: &str) {
        if let Some((tx, _)) = self.running.get(uid) {
            let _ = tx.send(PodEvent::Gone);
        }
    }

    fn prune(&mut self) {
        let done: Vec<String> = self
            .running
            .iter()
            .filter(|(_, (_, t))| t.is_finished())
            .map(|(uid, _)| uid.clone())
            .collect();
        for uid in done {
            self.running.remove(&uid);
            self.finished.insert(uid);
        }
    }

    async fn stop_all(&mut self) {
        for (tx, _) in self.running.values() {
            let _ = tx.send(PodEvent::Gone);
        }
        for (_, (_, task)) in std::mem::take(&mut self.running) {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
}
