//! One pod on this node, from the moment the scheduler binds it here until it is gone: its
//! network, its ServiceAccount files and kwok's `Logs` object for it, one task per container
//! (start, probes, restarts with back-off, stop), and the pod's status after every change.
//! When the pod is deleted its containers get SIGTERM and the pod's grace period, then the
//! pod is removed from the API, as the kubelet does.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use tokio::sync::{mpsc, watch};

use super::account::{self, Account};
use super::backoff::Backoff;
use super::container::{self, LogFiles, Run, Runtime};
use super::init::InitSpec;
use super::plan::{self, EnvSources, LaunchError, NodeContext};
use super::podnet::{self, PodCidr, PodNetwork};
use super::probe::{self, Probe, Tracker};
use super::status::{self, ContainerRecord, PodFacts, State, Termination};
use crate::kwok::{self, ContainerLogs};

/// What the kubelet shares with its pods.
#[derive(Clone)]
pub struct Shared {
    /// The admin client.
    pub client: Client,
    /// The node.
    pub node: Arc<NodeContext>,
    /// The node's pod CIDR, for pods with their own network.
    pub cidr: Option<PodCidr>,
    /// The programs a run needs.
    pub runtime: Runtime,
    /// Where pods' files go (one directory per pod).
    pub pods_dir: PathBuf,
    /// The cluster CA, for the ServiceAccount files.
    pub ca: PathBuf,
    /// Pod addresses handed out on this node.
    pub addresses: Arc<Mutex<BTreeSet<IpAddr>>>,
}

/// What the kubelet learns about a pod after starting its worker.
#[derive(Debug, Clone)]
pub enum PodEvent {
    /// The pod as the API has it now.
    Update(Box<Pod>),
    /// The pod is gone from the API (force-deleted).
    Gone,
}

/// The grace period for stopping a pod's containers: the deletion's, else the pod's
/// `terminationGracePeriodSeconds`, else 30 s; at least 2 s, as the kubelet gives.
fn grace(pod: &Pod) -> Duration {
    let seconds = pod
        .metadata
        .deletion_grace_period_seconds
        .or_else(|| {
            pod.spec
                .as_ref()
                .and_then(|s| s.termination_grace_period_seconds)
        })
        .unwrap_or(30);
    Duration::from_secs(u64::try_from(seconds).unwrap_or(0).max(2))
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

fn name_of(pod: &Pod) -> (String, String, String) {
    (
        pod.metadata.namespace.clone().unwrap_or_default(),
        pod.metadata.name.clone().unwrap_or_default(),
        pod.metadata.uid.clone().unwrap_or_default(),
    )
}

/// A container task's news for its pod.
#[derive(Debug)]
struct Update {
    index: usize,
    record: ContainerRecord,
}

/// Runs pod `pod` until it is gone; `events` brings what the API says about it later.
pub async fn run(shared: Shared, pod: Pod, mut events: watch::Receiver<PodEvent>) {
    let (namespace, name, uid) = name_of(&pod);
    let who = format!("{namespace}/{name}");
    let dir = shared.pods_dir.join(format!("{namespace}_{name}_{uid}"));
    let spec = pod.spec.clone().unwrap_or_default();
    let host_network = spec.host_network == Some(true);
    eprintln!(
        "kubelet: pod {who} (uid {uid}) on {}",
        shared.node.node_name
    );

    // The pod's address: the node's, or a namespace of its own.
    let mut network: Option<PodNetwork> = None;
    let pod_ip = if host_network {
        Some(shared.node.host_ip)
    } else {
        match start_network(&shared, &uid).await {
            Ok(n) => {
                let ip = IpAddr::V4(n.address);
                network = Some(n);
                Some(ip)
            }
            Err(e) => {
                eprintln!("kubelet: pod {who}: no network: {e}");
                None
            }
        }
    };

    // The ServiceAccount files, renewed by their own task.
    let sa_dir = dir.join("serviceaccount");
    let automount = spec.automount_service_account_token != Some(false);
    let account = Account {
        namespace: namespace.clone(),
        pod: name.clone(),
        uid: uid.clone(),
        service_account: spec
            .service_account_name
            .clone()
            .unwrap_or_else(|| "default".to_owned()),
        ca: shared.ca.clone(),
        fs_group: spec
            .security_context
            .as_ref()
            .and_then(|s| s.fs_group)
            .and_then(|g| u32::try_from(g).ok()),
    };
    let mut account_ok = !automount;
    let renewer = if automount {
        match account::project(&shared.client, &account, &sa_dir).await {
            Ok(after) => {
                account_ok = true;
                let (client, account, sa_dir) =
                    (shared.client.clone(), account.clone(), sa_dir.clone());
                Some(tokio::spawn(async move {
                    renew(client, account, sa_dir, after).await
                }))
            }
            Err(e) => {
                eprintln!("kubelet: pod {who}: {e}");
                None
            }
        }
    } else {
        None
    };

    // kwok serves `kubectl logs` from these files.
    let logs: Vec<LogFiles> = spec
        .containers
        .iter()
        .map(|c| LogFiles {
            dir: dir.join(&c.name),
        })
        .collect();
    publish_logs(&shared.client, &pod, &spec.containers, &logs).await;

    let facts = PodFacts {
        host_ip: shared.node.host_ip,
        pod_ip,
        start_time: now(),
        restarts: spec.restart_policy.as_deref() != Some("Never"),
    };
    let mut records: Vec<ContainerRecord> = spec
        .containers
        .iter()
        .map(|c| ContainerRecord::creating(&c.name, c.image.as_deref().unwrap_or_default()))
        .collect();
    let mut latest = pod.clone();
    write_status(&shared.client, &latest, &facts, &records).await;

    let (stop_tx, stop_rx) = watch::channel(None::<Duration>);
    let (tx, mut rx) = mpsc::channel::<Update>(64);
    let mut tasks = Vec::new();
    let setup_error = if pod_ip.is_none() {
        Some(LaunchError {
            reason: "CreateContainerError",
            message: "the lab could not set up the pod's network".to_owned(),
        })
    } else if !account_ok {
        Some(LaunchError {
            reason: "CreateContainerConfigError",
            message: format!("no token for ServiceAccount {}", account.service_account),
        })
    } else {
        None
    };
    for (index, c) in spec.containers.iter().enumerate() {
        let task = ContainerTask {
            shared: shared.clone(),
            pod: pod.clone(),
            container: c.clone(),
            index,
            pod_ip: pod_ip.unwrap_or(shared.node.host_ip),
            init: InitSpec {
                netns: network
                    .as_ref()
                    .map(|n| podnet::netns_path(&n.netns).into()),
                binds: if automount {
                    vec![(sa_dir.clone(), PathBuf::from(account::MOUNT_POINT))]
                } else {
                    Vec::new()
                },
                // From the container's security context, at each start.
                read_only_root: false,
            },
            logs: logs[index].clone(),
            updates: tx.clone(),
            stop: stop_rx.clone(),
            setup_error: setup_error.clone(),
            record: records[index].clone(),
        };
        tasks.push(tokio::spawn(task.run()));
    }
    drop(tx);

    let mut deleting = false;
    let mut gone = false;
    loop {
        tokio::select! {
            update = rx.recv() => {
                let Some(first) = update else { break };
                records[first.index] = first.record;
                // Coalesce what else is already there into one write.
                while let Ok(more) = rx.try_recv() {
                    records[more.index] = more.record;
                }
                if !gone {
                    write_status(&shared.client, &latest, &facts, &records).await;
                }
            }
            changed = events.changed(), if !gone => {
                if changed.is_err() {
                    gone = true;
                    let _ = stop_tx.send(Some(Duration::from_secs(2)));
                    continue;
                }
                let event = events.borrow_and_update().clone();
                match event {
                    PodEvent::Update(p) => {
                        latest = *p;
                        if latest.metadata.deletion_timestamp.is_some() && !deleting {
                            deleting = true;
                            eprintln!("kubelet: pod {who}: deleting, grace {:?}", grace(&latest));
                            let _ = stop_tx.send(Some(grace(&latest)));
                        }
                    }
                    PodEvent::Gone => {
                        gone = true;
                        let _ = stop_tx.send(Some(Duration::from_secs(2)));
                    }
                }
            }
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    if let Some(r) = renewer {
        r.abort();
    }
    if let Some(n) = &network {
        if let Err(e) = podnet::remove(n) {
            eprintln!("kubelet: pod {who}: {e}");
        }
        if let Ok(mut used) = shared.addresses.lock() {
            used.remove(&IpAddr::V4(n.address));
        }
    }
    if !gone {
        // The containers have stopped: the pod may go (grace 0, this very pod only).
        let pods: Api<Pod> = Api::namespaced(shared.client.clone(), &namespace);
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: Some(uid.clone()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        if let Err(e) = pods.delete(&name, &params).await {
            eprintln!("kubelet: pod {who}: removing it: {e}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("kubelet: pod {who} gone");
}

/// Picks an address and builds the pod's namespace.
async fn start_network(shared: &Shared, uid: &str) -> Result<PodNetwork, String> {
    let cidr = shared
        .cidr
        .ok_or_else(|| "the node has no pod CIDR".to_owned())?;
    // kwok's pods on this node have addresses too.
    let pods: Api<Pod> = Api::all(shared.client.clone());
    let on_node = ListParams::default().fields(&format!("spec.nodeName={}", shared.node.node_name));
    let listed = pods
        .list(&on_node)
        .await
        .map_err(|e| format!("listing pods: {e}"))?;
    let mut taken: BTreeSet<IpAddr> = listed
        .items
        .iter()
        .filter_map(|p| p.status.as_ref()?.pod_ip.as_ref()?.parse().ok())
        .collect();
    let address = {
        let mut used = shared
            .addresses
            .lock()
            .map_err(|_| "the address table is poisoned".to_owned())?;
        taken.extend(used.iter().copied());
        let address = cidr
            .free_address(&taken)
            .ok_or_else(|| "no free pod address".to_owned())?;
        used.insert(IpAddr::V4(address));
        address
    };
    podnet::create(uid, cidr, address).map_err(|e| {
        if let Ok(mut used) = shared.addresses.lock() {
            used.remove(&IpAddr::V4(address));
        }
        e.to_string()
    })
}

/// Renews the token before it expires, for as long as the pod lives.
async fn renew(client: Client, account: Account, dir: PathBuf, mut after: Duration) {
    loop {
        tokio::time::sleep(after).await;
        after = match account::refresh(&client, &account, &dir).await {
            Ok(next) => next,
            Err(e) => {
                eprintln!("kubelet: pod {}/{}: {e}", account.namespace, account.pod);
                Duration::from_secs(10)
            }
        };
    }
}

/// Creates (or replaces) kwok's `Logs` object for the pod.
async fn publish_logs(client: &Client, pod: &Pod, containers: &[Container], logs: &[LogFiles]) {
    let (namespace, name, uid) = name_of(pod);
    let entries: Vec<ContainerLogs> = containers
        .iter()
        .zip(logs)
        .map(|(c, l)| ContainerLogs {
            container: c.name.clone(),
            current: l.current().display().to_string(),
            previous: l.previous().display().to_string(),
        })
        .collect();
    let value = kwok::logs_object(&namespace, &name, &uid, &entries);
    let gvk = GroupVersionKind::gvk("kwok.x-k8s.io", "v1alpha1", "Logs");
    let resource = ApiResource::from_gvk_with_plural(&gvk, "logs");
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &resource);
    let object: DynamicObject = match serde_json::from_value(value) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("kubelet: pod {namespace}/{name}: the Logs object: {e}");
            return;
        }
    };
    let _ = api.delete(&name, &DeleteParams::default()).await;
    if let Err(e) = api.create(&PostParams::default(), &object).await {
        eprintln!(
            "kubelet: pod {namespace}/{name}: kwok's Logs object: {e} (kubectl logs will not work)"
        );
    }
}

/// Writes the pod's status; a failure is logged and the next change writes again.
async fn write_status(client: &Client, pod: &Pod, facts: &PodFacts, records: &[ContainerRecord]) {
    let (namespace, name, _) = name_of(pod);
    let previous = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let body =
        serde_json::json!({ "status": status::pod_status(facts, records, &previous, &now()) });
    let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    if let Err(e) = pods
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&body))
        .await
    {
        eprintln!("kubelet: pod {namespace}/{name}: writing status: {e}");
    }
}

/// One container of a pod.
struct ContainerTask {
    shared: Shared,
    pod: Pod,
    container: Container,
    index: usize,
    pod_ip: IpAddr,
    init: InitSpec,
    logs: LogFiles,
    updates: mpsc::Sender<Update>,
    stop: watch::Receiver<Option<Duration>>,
    setup_error: Option<LaunchError>,
    record: ContainerRecord,
}

/// What a run ended with.
enum Ended {
    /// The process exited (or was killed by a failed liveness probe) with this code.
    Exited(i32),
    /// The pod is stopping: the process was stopped and the task ends.
    Stopped(i32),
}

impl ContainerTask {
    async fn report(&self) {
        let _ = self
            .updates
            .send(Update {
                index: self.index,
                record: self.record.clone(),
            })
            .await;
    }

    fn stopping(&self) -> Option<Duration> {
        *self.stop.borrow()
    }

    /// Sleeps `wait`, or less if the pod starts stopping; true if it did.
    async fn sleep_or_stop(&mut self, wait: Duration) -> bool {
        if self.stopping().is_some() {
            return true;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => self.stopping().is_some(),
            _ = self.stop.changed() => true,
        }
    }

    async fn sources(&self) -> EnvSources {
        let (maps, secrets) = plan::referenced_sources(&self.pod);
        let namespace = self.pod.metadata.namespace.clone().unwrap_or_default();
        let mut out = EnvSources::default();
        let cm: Api<ConfigMap> = Api::namespaced(self.shared.client.clone(), &namespace);
        for name in maps {
            if let Ok(Some(m)) = cm.get_opt(&name).await {
                out.config_maps.insert(name, m.data.unwrap_or_default());
            }
        }
        let sec: Api<Secret> = Api::namespaced(self.shared.client.clone(), &namespace);
        for name in secrets {
            if let Ok(Some(s)) = sec.get_opt(&name).await {
                let data = s
                    .data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
                    .collect();
                out.secrets.insert(name, data);
            }
        }
        out
    }

    async fn run(mut self) {
        let (namespace, name, uid) = name_of(&self.pod);
        let restart_policy = self
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.restart_policy.clone())
            .unwrap_or_else(|| "Always".to_owned());
        let mut backoff = Backoff::default();
        loop {
            let launch = match &self.setup_error {
                Some(e) => Err(e.clone()),
                None => {
                    let sources = self.sources().await;
                    plan::launch(
                        &self.pod,
                        &self.container,
                        &self.shared.node,
                        self.pod_ip,
                        &sources,
                    )
                }
            };
            let launch = match launch {
                Ok(l) => l,
                Err(e) => {
                    eprintln!(
                        "kubelet: pod {namespace}/{name} container {}: {e}",
                        self.container.name
                    );
                    self.record.state = State::Waiting {
                        reason: e.reason.to_owned(),
                        message: Some(e.message),
                    };
                    self.report().await;
                    // As the kubelet retries: the image or a ConfigMap may appear.
                    if self.sleep_or_stop(Duration::from_secs(20)).await {
                        return;
                    }
                    continue;
                }
            };
            if self.stopping().is_some() {
                return;
            }
            let mut run = match container::start(
                &self.shared.runtime,
                &launch,
                &self.init,
                &self.logs,
                self.record.restart_count,
            ) {
                Ok(r) => r,
                Err(e) => {
                    self.record.state = State::Waiting {
                        reason: "CreateContainerError".to_owned(),
                        message: Some(e.to_string()),
                    };
                    self.report().await;
                    if self.sleep_or_stop(Duration::from_secs(10)).await {
                        return;
                    }
                    continue;
                }
            };
            let container_id = run.container_id();
            let started_at = run.started_at.clone();
            let readiness = self.probe(self.container.readiness_probe.as_ref());
            let liveness = self.probe(self.container.liveness_probe.as_ref());
            self.record.state = State::Running {
                started_at: started_at.clone(),
                container_id: container_id.clone(),
            };
            self.record.ready = readiness.is_none();
            self.report().await;
            let ended = self.supervise(&mut run, readiness, liveness).await;
            let (code, stopped) = match ended {
                Ended::Exited(c) => (c, false),
                Ended::Stopped(c) => (c, true),
            };
            let ended_at = now();
            let termination = Termination {
                exit_code: code,
                reason: Termination::reason_for(code).to_owned(),
                started_at,
                finished_at: ended_at,
                container_id,
            };
            eprintln!(
                "kubelet: pod {namespace}/{name} container {} exited with {code}",
                self.container.name
            );
            self.record.ready = false;
            let restart = !stopped
                && match restart_policy.as_str() {
                    "Never" => false,
                    "OnFailure" => code != 0,
                    _ => true,
                };
            if !restart {
                self.record.state = State::Terminated(termination);
                self.report().await;
                return;
            }
            let wait = backoff.delay_after_exit(Instant::now());
            self.record.last = Some(termination.clone());
            if wait > Duration::ZERO {
                self.record.state = State::Waiting {
                    reason: "CrashLoopBackOff".to_owned(),
                    message: Some(format!(
                        "back-off {}s restarting failed container={} pod={name}_{namespace}({uid})",
                        wait.as_secs(),
                        self.container.name
                    )),
                };
            } else {
                self.record.state = State::Terminated(termination);
            }
            self.report().await;
            if self.sleep_or_stop(wait).await {
                return;
            }
            self.record.restart_count += 1;
        }
    }

    fn probe(&self, spec: Option<&k8s_openapi::api::core::v1::Probe>) -> Option<Probe> {
        let spec = spec?;
        match Probe::from_spec(spec, &self.container) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!(
                    "kubelet: container {}: a probe the lab cannot run ({e}); treated as passing",
                    self.container.name
                );
                None
            }
        }
    }

    /// Watches one run until it exits, a liveness probe kills it, or the pod stops.
    async fn supervise(
        &mut self,
        run: &mut Run,
        readiness: Option<Probe>,
        liveness: Option<Probe>,
    ) -> Ended {
        let (probe_tx, mut probe_rx) = mpsc::channel::<(bool, bool)>(8);
        let mut probers = Vec::new();
        for (probe, is_readiness) in [(readiness.clone(), true), (liveness.clone(), false)] {
            let Some(probe) = probe else { continue };
            let tx = probe_tx.clone();
            let ip = self.pod_ip;
            probers.push(tokio::spawn(async move {
                tokio::time::sleep(probe.initial_delay).await;
                loop {
                    let ok = probe::check(&probe, ip).await;
                    if tx.send((is_readiness, ok)).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(probe.period).await;
                }
            }));
        }
        drop(probe_tx);
        let mut ready = Tracker::new(false);
        let mut alive = Tracker::new(true);
        let ended = loop {
            if let Some(grace) = self.stopping() {
                break Ended::Stopped(run.stop(grace).await);
            }
            tokio::select! {
                code = run.wait() => break Ended::Exited(code),
                _ = self.stop.changed() => {}
                result = probe_rx.recv(), if !probers.is_empty() => {
                    let Some((is_readiness, ok)) = result else { continue };
                    if is_readiness {
                        if let Some(p) = &readiness
                            && let Some(now_ready) = ready.record(ok, p)
                        {
                            self.record.ready = now_ready;
                            self.report().await;
                        }
                    } else if let Some(p) = &liveness
                        && alive.record(ok, p) == Some(false)
                    {
                        eprintln!("kubelet: container {}: liveness probe failed; restarting it", self.container.name);
                        let grace = grace(&self.pod);
                        break Ended::Exited(run.stop(grace).await);
                    }
                }
            }
        };
        for p in probers {
            p.abort();
        }
        ended
    }
}
