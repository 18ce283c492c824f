//! `lab kube-proxy`: a stand-in for kube-proxy on one node of the lab. kwok's pods run
//! nothing, so there is no nginx to forward to; instead this answers HTTP itself on the
//! service addresses the node would accept traffic for ([`plan`]), with a page that says
//! which Service and endpoints it stands for ([`page`]). The addresses go on the loopback
//! device of the node's namespace (kube-proxy's IPVS mode puts them on a dummy device, but
//! the dummy module is often missing where the lab runs, in containers), so packets the
//! router sends to the node for 198.51.100.0 are delivered there, and
//! `wget 198.51.100.0` from the router's shell gets an answer through its kernel route.

pub mod page;
pub mod plan;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher::{self, Event};
use kube::{Client, Config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use self::plan::{Backend, Listen};
use crate::network::ip;

/// The device that holds the service addresses.
pub const DEVICE: &str = "lo";

/// The longest request head read.
const MAX_HEAD: usize = 8 * 1024;

/// How a stand-in is set up.
#[derive(Debug, Clone)]
pub struct KubeProxyConfig {
    /// The node.
    pub node: String,
    /// A kubeconfig that may watch Services and EndpointSlices.
    pub kubeconfig: PathBuf,
}

/// Why the stand-in stopped.
#[derive(Debug, thiserror::Error)]
#[error("kube-proxy stand-in: {0}")]
pub struct KubeProxyError(pub String);

/// What changed in the objects watched.
enum Change {
    Services(Box<Event<Service>>),
    Slices(Box<Event<EndpointSlice>>),
}

fn key(meta: &kube::core::ObjectMeta) -> String {
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default()
    )
}

/// A map of objects kept up to date from a watcher's events.
struct Cache<K> {
    objects: BTreeMap<String, K>,
    initial: Option<BTreeMap<String, K>>,
}

impl<K: kube::Resource + Clone> Cache<K> {
    fn new() -> Self {
        Cache {
            objects: BTreeMap::new(),
            initial: None,
        }
    }

    fn apply(&mut self, event: Event<K>) {
        match event {
            Event::Init => self.initial = Some(BTreeMap::new()),
            Event::InitApply(o) => {
                if let Some(m) = self.initial.as_mut() {
                    m.insert(key(o.meta()), o);
                }
            }
            Event::InitDone => {
                if let Some(m) = self.initial.take() {
                    self.objects = m;
                }
            }
            Event::Apply(o) => {
                self.objects.insert(key(o.meta()), o);
            }
            Event::Delete(o) => {
                self.objects.remove(&key(o.meta()));
            }
        }
    }

    fn list(&self) -> Vec<K> {
        self.objects.values().cloned().collect()
    }
}

/// Runs the stand-in until SIGTERM or SIGINT, then removes its addresses.
pub async fn run(config: KubeProxyConfig) -> Result<(), KubeProxyError> {
    let err = |e: String| KubeProxyError(e);
    let kc = Kubeconfig::read_from(&config.kubeconfig).map_err(|e| err(e.to_string()))?;
    let cc = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| err(e.to_string()))?;
    let client = Client::try_from(cc).map_err(|e| err(e.to_string()))?;
    eprintln!("kube-proxy: node {}", config.node);

    let services: Api<Service> = Api::all(client.clone());
    let slices: Api<EndpointSlice> = Api::all(client);
    let mut changes = futures::stream::select(
        watcher::watcher(services, watcher::Config::default())
            .map(|e| e.map(|e| Change::Services(Box::new(e))))
            .boxed(),
        watcher::watcher(slices, watcher::Config::default())
            .map(|e| e.map(|e| Change::Slices(Box::new(e))))
            .boxed(),
    );
    let mut service_cache = Cache::<Service>::new();
    let mut slice_cache = Cache::<EndpointSlice>::new();
    let mut serving = Serving::default();
    let mut term = Box::pin(crate::signals::terminated());
    loop {
        tokio::select! {
            change = changes.next() => {
                match change {
                    Some(Ok(Change::Services(e))) => service_cache.apply(*e),
                    Some(Ok(Change::Slices(e))) => slice_cache.apply(*e),
                    Some(Err(e)) => {
                        eprintln!("kube-proxy: watching: {e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                    None => break,
                }
                // Let a burst of changes settle into one reconciliation.
                tokio::time::sleep(Duration::from_millis(50)).await;
                while let Some(Some(more)) = futures::FutureExt::now_or_never(changes.next()) {
                    match more {
                        Ok(Change::Services(e)) => service_cache.apply(*e),
                        Ok(Change::Slices(e)) => slice_cache.apply(*e),
                        Err(_) => break,
                    }
                }
                let want = plan::plan(&service_cache.list(), &slice_cache.list(), &config.node);
                serving.reconcile(want, &config.node).await;
            }
            _ = &mut term => break,
        }
    }
    serving.reconcile(plan::Plan::default(), &config.node).await;
    Ok(())
}

/// The addresses on the device, the listeners answering on them, and the blackhole routes
/// that drop what this node must not answer.
#[derive(Default)]
struct Serving {
    addresses: BTreeSet<IpAddr>,
    blackholes: BTreeSet<IpAddr>,
    listeners: BTreeMap<Listen, (watch::Sender<Backend>, tokio::task::JoinHandle<()>)>,
}

fn prefix(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => format!("{a}/32"),
        IpAddr::V6(a) => format!("{a}/128"),
    }
}

impl Serving {
    async fn reconcile(&mut self, plan: plan::Plan, node: &str) {
        for old in self
            .blackholes
            .difference(&plan.dropped)
            .copied()
            .collect::<Vec<_>>()
        {
            let _ = ip(&["route", "del", "blackhole", &prefix(old)]);
            self.blackholes.remove(&old);
        }
        for new in plan.dropped.difference(&self.blackholes.clone()) {
            match ip(&["route", "replace", "blackhole", &prefix(*new)]) {
                Ok(()) => {
                    self.blackholes.insert(*new);
                }
                Err(e) => eprintln!("kube-proxy: {e}"),
            }
        }
        let want = plan.listeners;
        let gone: Vec<Listen> = self
            .listeners
            .keys()
            .filter(|l| !want.contains_key(l))
            .copied()
            .collect();
        for l in gone {
            if let Some((_, task)) = self.listeners.remove(&l) {
                task.abort();
                eprintln!("kube-proxy: no longer answering on {}:{}", l.ip, l.port);
            }
        }
        let ips: BTreeSet<IpAddr> = want.keys().map(|l| l.ip).collect();
        for old in self.addresses.difference(&ips).copied().collect::<Vec<_>>() {
            let _ = ip(&["addr", "del", &prefix(old), "dev", DEVICE]);
            self.addresses.remove(&old);
        }
        for new in ips.difference(&self.addresses.clone()) {
            match ip(&["addr", "add", &prefix(*new), "dev", DEVICE]) {
                Ok(()) => {
                    self.addresses.insert(*new);
                }
                Err(e) => eprintln!("kube-proxy: {e}"),
            }
        }
        for (listen, backend) in want {
            if let Some((tx, _)) = self.listeners.get(&listen) {
                tx.send_if_modified(|b| {
                    let changed = *b != backend;
                    *b = backend.clone();
                    changed
                });
                continue;
            }
            let addr = SocketAddr::new(listen.ip, listen.port);
            match TcpListener::bind(addr).await {
                Ok(listener) => {
                    eprintln!("kube-proxy: answering for {} on {addr}", backend.service);
                    let (tx, rx) = watch::channel(backend);
                    let task = tokio::spawn(accept(listener, rx, node.to_owned()));
                    self.listeners.insert(listen, (tx, task));
                }
                Err(e) => eprintln!("kube-proxy: listening on {addr}: {e}"),
            }
        }
    }
}

async fn accept(listener: TcpListener, backend: watch::Receiver<Backend>, node: String) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let backend = backend.borrow().clone();
        let node = node.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(10), answer(stream, &backend, &node))
                .await;
        });
    }
}

/// Reads a request head and answers it.
async fn answer(mut stream: TcpStream, backend: &Backend, node: &str) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    let text = String::from_utf8_lossy(&head);
    let first = text.lines().next().unwrap_or_default();
    stream
        .write_all(&page::response(first, backend, node))
        .await?;
    stream.shutdown().await
}
