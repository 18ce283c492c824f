//! The workload and its observer.
//!
//! The workload is N Services `svc-00000`… of type LoadBalancer (one TCP port,
//! `allocateLoadBalancerNodePorts: false`: the default NodePort range holds only 2,768 ports,
//! so 10,000 LoadBalancer Services would otherwise fail at create), created with at most
//! `concurrency` requests in flight so that creating is not what limits the rate.
//!
//! The [`Tracker`] watches the namespace (one watch, no per-Service reads) and notes the
//! moment every Service has been seen — with an ingress address, when a controller runs —
//! and checks the addresses: one per Service, all distinct, all inside the pool.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use ipnet::IpNet;
use k8s_openapi::api::core::v1::Service;
use kube::Client;
use kube::api::{Api, PostParams};
use kube::runtime::watcher;
use serde_json::json;
use tokio::sync::watch;

use super::{BenchError, Result, object};
use crate::k8s::retrying;

/// The name of Service `i`.
pub fn service_name(i: usize) -> String {
    format!("svc-{i:05}")
}

/// The Service object of the workload.
pub fn service(namespace: &str, name: &str) -> Result<Service> {
    object(
        "a Service",
        json!({
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "type": "LoadBalancer",
                "allocateLoadBalancerNodePorts": false,
                "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
                "selector": {"app": "bench"},
            },
        }),
    )
}

/// Creates Services `0..count` in `namespace`, `concurrency` at a time, and returns when the
/// last create has returned. A create that fails is tried again (a conflict then means the
/// earlier attempt landed).
pub async fn create_services(
    client: &Client,
    namespace: &str,
    count: usize,
    concurrency: usize,
) -> Result<()> {
    let api: Api<Service> = Api::namespaced(client.clone(), namespace);
    futures::stream::iter(0..count)
        .map(|i| create_one(&api, namespace, i))
        .buffer_unordered(concurrency.max(1))
        .try_for_each(|()| async { Ok(()) })
        .await
}

async fn create_one(api: &Api<Service>, namespace: &str, i: usize) -> Result<()> {
    let name = service_name(i);
    let svc = service(namespace, &name)?;
    let what = format!("creating Service {namespace}/{name}");
    let params = PostParams::default();
    retrying(&what, Some(409), || api.create(&params, &svc)).await
}

/// What the watch saw by the time every Service was there.
#[derive(Debug, Clone)]
pub struct Seen {
    /// When the last missing Service (or its address) arrived.
    pub at: Instant,
    /// Each Service's ingress addresses.
    pub addresses: HashMap<String, Vec<IpAddr>>,
}

/// Watches the workload's namespace from before the first create until every Service is
/// there (and, with `want_address`, has an ingress address).
pub struct Tracker {
    done: watch::Receiver<Option<Seen>>,
    failure: Arc<Mutex<Option<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Tracker {
    /// Starts the watch and returns once its initial list is complete, so no event of the
    /// run can be missed.
    pub async fn start(
        client: &Client,
        namespace: &str,
        count: usize,
        want_address: bool,
    ) -> Result<Tracker> {
        let api: Api<Service> = Api::namespaced(client.clone(), namespace);
        let (listed_tx, listed_rx) = tokio::sync::oneshot::channel();
        let (done_tx, done) = watch::channel(None);
        let failure = Arc::new(Mutex::new(None));
        let task = tokio::spawn(observe(
            api,
            count,
            want_address,
            listed_tx,
            done_tx,
            failure.clone(),
        ));
        let tracker = Tracker {
            done,
            failure,
            task,
        };
        match tokio::time::timeout(Duration::from_secs(60), listed_rx).await {
            Ok(Ok(())) => Ok(tracker),
            _ => Err(BenchError::Timeout {
                what: format!(
                    "the watch of namespace {namespace} to list ({})",
                    tracker.failure().unwrap_or_else(|| "no error".into())
                ),
                timeout: Duration::from_secs(60),
            }),
        }
    }

    /// What was seen, once every Service is there.
    pub fn seen(&self) -> Option<Seen> {
        self.done.borrow().clone()
    }

    /// The last watch error, if any.
    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until every Service is there, at most `timeout`.
    pub async fn wait(&mut self, timeout: Duration) -> Option<Seen> {
        let finished = tokio::time::timeout(timeout, self.done.wait_for(Option::is_some)).await;
        match finished {
            Ok(Ok(seen)) => seen.clone(),
            _ => None,
        }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn observe(
    api: Api<Service>,
    count: usize,
    want_address: bool,
    listed: tokio::sync::oneshot::Sender<()>,
    done: watch::Sender<Option<Seen>>,
    failure: Arc<Mutex<Option<String>>>,
) {
    let mut listed = Some(listed);
    let mut addresses: HashMap<String, Vec<IpAddr>> = HashMap::with_capacity(count);
    let mut complete: HashSet<String> = HashSet::with_capacity(count);
    let stream = watcher(api, watcher::Config::default());
    let mut stream = std::pin::pin!(stream);
    while let Some(event) = stream.next().await {
        let svc = match event {
            Ok(watcher::Event::Apply(svc) | watcher::Event::InitApply(svc)) => svc,
            Ok(watcher::Event::InitDone) => {
                if let Some(tx) = listed.take() {
                    let _ = tx.send(());
                }
                continue;
            }
            Ok(watcher::Event::Init | watcher::Event::Delete(_)) => continue,
            Err(err) => {
                *failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(err.to_string());
                continue;
            }
        };
        let Some(name) = svc.metadata.name.clone() else {
            continue;
        };
        let ips = ingress_ips(&svc);
        if !want_address || !ips.is_empty() {
            complete.insert(name.clone());
        }
        addresses.insert(name, ips);
        if complete.len() >= count && done.borrow().is_none() {
            let at = Instant::now();
            done.send_replace(Some(Seen {
                at,
                addresses: std::mem::take(&mut addresses),
            }));
            return;
        }
    }
}

/// The IPs of a Service's `status.loadBalancer.ingress` (entries without a parsable IP are
/// left out).
pub fn ingress_ips(svc: &Service) -> Vec<IpAddr> {
    svc.status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .map(|ingress| {
            ingress
                .iter()
                .filter_map(|i| i.ip.as_deref().and_then(|ip| ip.parse().ok()))
                .collect()
        })
        .unwrap_or_default()
}

/// Checks what a correct controller must have done: every one of `count` Services has
/// exactly one address, from `pool`, and no two share one (none asked to share).
pub fn check_addresses(seen: &Seen, count: usize, pool: IpNet) -> Result<()> {
    let mut owners: HashMap<IpAddr, &str> = HashMap::with_capacity(count);
    let mut problems = Vec::new();
    for (name, ips) in &seen.addresses {
        if ips.len() != 1 {
            problems.push(format!("{name} has {} addresses {ips:?}", ips.len()));
        }
        for ip in ips {
            if !pool.contains(ip) {
                problems.push(format!("{name} got {ip}, outside the pool {pool}"));
            }
            if let Some(other) = owners.insert(*ip, name) {
                problems.push(format!("{name} and {other} both got {ip}"));
            }
        }
    }
    if seen.addresses.len() != count {
        problems.push(format!(
            "{} Services seen, {count} created",
            seen.addresses.len()
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    problems.sort();
    Err(BenchError::WrongResult(format!(
        "{} problems, e.g. {}",
        problems.len(),
        problems
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ")
    )))
}
