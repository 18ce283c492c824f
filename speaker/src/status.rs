//! What the speaker reports in the cluster besides its ConfigurationState
//! ([`lb_daemon::config_state`]): a `ServiceBGPStatus` per Service it announces, listing the
//! BGPPeers the Service goes to (MetalLB's `ServiceBGPStatusReconciler`), and the
//! `nodeAssigned` Event on a Service when this node starts announcing it.
//!
//! ServiceBGPStatus objects are named by the apiserver (`generateName: bgp-`, as MetalLB) and
//! found again by their labels — node, Service name and namespace — in the watch cache of this
//! node's objects. Writes go through a [`WriteQueue`]; a failed one is retried a few times, and
//! every Service's status is submitted again after a watch re-lists, so the objects converge
//! once the apiserver is back.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType};
use kube::runtime::reflector::Store;
use kube::{Api, Client};
use lb_config::crd::service_bgp_status::{MetalLBServiceBGPStatus, ServiceBGPStatus};
use lb_daemon::events::Publisher;
use lb_daemon::write_queue::{BoxedWrite, WriteQueue};
use serde_json::json;
use tokio::sync::mpsc;

/// The label naming the node of a ServiceBGPStatus.
pub const LABEL_NODE: &str = "metallb.io/node";
/// The label naming the Service of a ServiceBGPStatus.
pub const LABEL_SERVICE_NAME: &str = "metallb.io/service-name";
/// The label naming the Service's namespace of a ServiceBGPStatus.
pub const LABEL_SERVICE_NAMESPACE: &str = "metallb.io/service-namespace";
/// MetalLB's reporting component for the speaker's Events.
pub const COMPONENT: &str = "metallb-speaker";

/// How many status writes run at once.
const CONCURRENCY: usize = 16;
/// Attempts of one status write before it waits for the next change or re-list.
const ATTEMPTS: u32 = 5;

/// The `nodeAssigned` Event's text, as MetalLB words it.
pub fn node_assigned_note(node: &str) -> String {
    format!("announcing from node {node:?} with protocol \"bgp\"")
}

/// Where status objects go and who owns them.
#[derive(Clone)]
struct Target {
    client: Client,
    namespace: String,
    node: String,
    owner: Option<OwnerReference>,
    cache: Store<ServiceBGPStatus>,
    /// Objects this speaker created, by Service key, until the cache shows them (so a quick
    /// second write patches instead of creating a duplicate).
    created: Arc<Mutex<HashMap<String, String>>>,
}

/// Writes the ServiceBGPStatus objects of this node.
pub struct StatusWriter {
    queue: WriteQueue<String, (String, BTreeSet<String>), ()>,
}

impl StatusWriter {
    /// A writer of `node`'s objects in `namespace`, owned by `owner` (the speaker's Pod, so
    /// the objects go with it, as MetalLB's), looking up existing ones in `cache`.
    pub fn new(
        client: Client,
        namespace: &str,
        node: &str,
        owner: Option<OwnerReference>,
        cache: Store<ServiceBGPStatus>,
    ) -> Self {
        let target = Target {
            client,
            namespace: namespace.to_owned(),
            node: node.to_owned(),
            owner,
            cache,
            created: Arc::default(),
        };
        let queue = WriteQueue::new(
            CONCURRENCY,
            move |(key, peers): (String, BTreeSet<String>)| {
                let target = target.clone();
                Box::pin(async move { write_with_retry(&target, &key, &peers).await })
                    as BoxedWrite<()>
            },
        );
        StatusWriter { queue }
    }

    /// Makes the Service `key`'s object list `peers` (none: no object).
    pub fn submit(&mut self, key: &str, peers: BTreeSet<String>) {
        self.queue.submit(key.to_owned(), (key.to_owned(), peers));
    }

    /// Whether writes are running or queued.
    pub fn busy(&self) -> bool {
        self.queue.busy()
    }

    /// Waits for a write to finish (see [`WriteQueue::progress`]).
    pub async fn progress(&mut self) {
        self.queue.progress().await;
    }
}

async fn write_with_retry(target: &Target, key: &str, peers: &BTreeSet<String>) {
    let mut backoff = Duration::from_millis(200);
    for attempt in 1..=ATTEMPTS {
        match write(target, key, peers).await {
            Ok(()) => return,
            Err(err) if attempt == ATTEMPTS => {
                tracing::error!(controller = "ServiceBGPStatus", service = key, error = %err, "failed to write the ServiceBGPStatus; retried after the next change");
            }
            Err(err) => {
                tracing::debug!(controller = "ServiceBGPStatus", service = key, error = %err, "ServiceBGPStatus write failed, retrying");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
    }
}

/// One attempt at making the Service's objects match `peers`.
async fn write(target: &Target, key: &str, peers: &BTreeSet<String>) -> Result<(), kube::Error> {
    let (namespace, name) = key.split_once('/').unwrap_or(("", key));
    let api: Api<ServiceBGPStatus> = Api::namespaced(target.client.clone(), &target.namespace);
    let mut existing: Vec<Arc<ServiceBGPStatus>> = target
        .cache
        .state()
        .into_iter()
        .filter(|o| is_for(o, &target.node, namespace, name))
        .collect();
    existing.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let created = target
        .created
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(key)
        .cloned();
    if peers.is_empty() {
        let names = existing
            .iter()
            .filter_map(|o| o.metadata.name.clone())
            .chain(created);
        for object in names.collect::<BTreeSet<_>>() {
            delete(&api, &object).await?;
        }
        forget_created(target, key);
        return Ok(());
    }
    let desired = MetalLBServiceBGPStatus {
        node: target.node.clone(),
        service_name: name.to_owned(),
        service_namespace: namespace.to_owned(),
        peers: peers.iter().cloned().collect(),
    };
    let (object, current) = match existing.first() {
        Some(first) => (
            first.metadata.name.clone().unwrap_or_default(),
            first.status.clone(),
        ),
        None => match created {
            Some(known) => (known, None),
            None => (create(target, &api, namespace, name, key).await?, None),
        },
    };
    // Redundant objects (a duplicate from an older speaker) go, as MetalLB removes them.
    for extra in existing
        .iter()
        .skip(1)
        .filter_map(|o| o.metadata.name.clone())
    {
        delete(&api, &extra).await?;
    }
    if current.as_ref() == Some(&desired) {
        return Ok(());
    }
    let patch = json!({"status": desired});
    match api
        .patch_status(&object, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => {
            // Deleted under us (or never seen by the cache): create it afresh next attempt.
            forget_created(target, key);
            Err(kube::Error::Api(status))
        }
        Err(err) => Err(err),
    }
}

fn is_for(object: &ServiceBGPStatus, node: &str, namespace: &str, name: &str) -> bool {
    let Some(labels) = object.metadata.labels.as_ref() else {
        return false;
    };
    labels.get(LABEL_NODE).map(String::as_str) == Some(node)
        && labels.get(LABEL_SERVICE_NAME).map(String::as_str) == Some(name)
        && labels.get(LABEL_SERVICE_NAMESPACE).map(String::as_str) == Some(namespace)
}

async fn create(
    target: &Target,
    api: &Api<ServiceBGPStatus>,
    namespace: &str,
    name: &str,
    key: &str,
) -> Result<String, kube::Error> {
    let mut metadata = json!({
        "generateName": "bgp-",
        "namespace": target.namespace,
        "labels": {
            LABEL_NODE: target.node,
            LABEL_SERVICE_NAME: name,
            LABEL_SERVICE_NAMESPACE: namespace,
        },
    });
    if let Some(owner) = &target.owner {
        metadata["ownerReferences"] = json!([owner]);
    }
    let object: ServiceBGPStatus = serde_json::from_value(json!({
        "apiVersion": "metallb.io/v1beta1",
        "kind": "ServiceBGPStatus",
        "metadata": metadata,
        "spec": {},
    }))
    .map_err(kube::Error::SerdeError)?;
    let made = api.create(&PostParams::default(), &object).await?;
    let made_name = made.metadata.name.unwrap_or_default();
    tracing::debug!(
        controller = "ServiceBGPStatus",
        service = key,
        name = made_name.as_str(),
        "created state"
    );
    target
        .created
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(key.to_owned(), made_name.clone());
    Ok(made_name)
}

async fn delete(api: &Api<ServiceBGPStatus>, name: &str) -> Result<(), kube::Error> {
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(err) => Err(err),
    }
}

fn forget_created(target: &Target, key: &str) {
    target
        .created
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(key);
}

/// How many `nodeAssigned` Events are published at once. A configuration change can make a
/// thousand Services announced in one pass; unbounded, each publish was a request of its
/// own at the same moment, each on a new connection with its TLS buffers (the speaker's RSS
/// doubled, to 65 MiB, for 1,000 Services: `bench/RESULTS.md`). Waiting Events are queued
/// as data (a few hundred bytes each), not as a thousand spawned request futures (~3.6 KB
/// each).
pub const EVENT_CONCURRENCY: usize = 16;

/// An Event waiting to be published: what, on which object, for which Service (logs).
type QueuedEvent = (Event, ObjectReference, String);

/// Publishes the speaker's Events in the background, started in the order sent, at most
/// [`EVENT_CONCURRENCY`] at a time; a failure is logged.
#[derive(Clone)]
pub struct EventSender {
    queue: mpsc::UnboundedSender<QueuedEvent>,
}

impl EventSender {
    /// A sender through `publisher`; its task runs until every sender is dropped.
    pub fn new(publisher: Publisher) -> Self {
        let (queue, mut waiting) = mpsc::unbounded_channel::<QueuedEvent>();
        let queued = futures::stream::poll_fn(move |cx| waiting.poll_recv(cx));
        tokio::spawn(queued.for_each_concurrent(
            EVENT_CONCURRENCY,
            move |(event, regarding, key)| {
                let publisher = publisher.clone();
                async move {
                    if let Err(err) = publisher.publish(&event, &regarding).await {
                        tracing::warn!(service = key.as_str(), error = %err, "failed to publish the nodeAssigned event");
                    }
                }
            },
        ));
        EventSender { queue }
    }

    fn send(&self, event: Event, regarding: ObjectReference, key: String) {
        // The task ends only when every sender is gone, so this cannot fail while `self` lives.
        let _ = self.queue.send((event, regarding, key));
    }
}

/// Publishes the `nodeAssigned` Event on the Service `key` (with its `uid`), in the
/// background; a failure is logged.
pub fn publish_node_assigned(events: &EventSender, key: &str, uid: Option<String>, node: &str) {
    let (namespace, name) = key.split_once('/').unwrap_or(("", key));
    let reference = ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Service".into()),
        namespace: Some(namespace.to_owned()),
        name: Some(name.to_owned()),
        uid,
        ..Default::default()
    };
    let event = Event {
        type_: EventType::Normal,
        reason: "nodeAssigned".into(),
        note: Some(node_assigned_note(node)),
        action: "Announce".into(),
        secondary: None,
    };
    events.send(event, reference, key.to_owned());
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

    use super::*;

    #[test]
    fn the_event_text_is_metallbs() {
        assert_eq!(
            node_assigned_note("kube-node-1"),
            r#"announcing from node "kube-node-1" with protocol "bgp""#
        );
    }

    /// Requests in flight now and at most, at a stand-in apiserver.
    #[derive(Default)]
    struct InFlight {
        now: AtomicUsize,
        most: AtomicUsize,
        done: AtomicUsize,
    }

    /// Answers every request (one per connection) with an Event after a pause, counting
    /// how many are in flight at once.
    async fn slow_apiserver(listener: tokio::net::TcpListener, seen: Arc<InFlight>) {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; length];
                let _ = stream.read_exact(&mut body).await;
                let now = seen.now.fetch_add(1, Ordering::SeqCst) + 1;
                seen.most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                seen.now.fetch_sub(1, Ordering::SeqCst);
                let event =
                    r#"{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"e"}}"#;
                let response = format!(
                    "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{event}",
                    event.len()
                );
                let _ = stream.get_mut().write_all(response.as_bytes()).await;
                seen.done.fetch_add(1, Ordering::SeqCst);
            });
        }
    }

    #[tokio::test]
    async fn a_burst_of_announcements_publishes_at_most_sixteen_events_at_once() {
        let Ok(listener) = tokio::net::TcpListener::bind("127.0.0.1:0").await else {
            panic!("cannot listen on loopback");
        };
        let Ok(address) = listener.local_addr() else {
            panic!("no local address");
        };
        let seen = Arc::new(InFlight::default());
        tokio::spawn(slow_apiserver(listener, seen.clone()));
        let Ok(url) = format!("http://{address}").parse() else {
            panic!("bad URL");
        };
        let Ok(client) = Client::try_from(kube::Config::new(url)) else {
            panic!("no client");
        };
        let reporter = kube::runtime::events::Reporter {
            controller: COMPONENT.into(),
            instance: Some("speaker-0".into()),
        };
        let events = EventSender::new(Publisher::new(client, reporter));
        let services = 100;
        for i in 0..services {
            publish_node_assigned(&events, &format!("default/svc-{i}"), None, "kube-node-1");
        }
        for _ in 0..500 {
            if seen.done.load(Ordering::SeqCst) == services {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            seen.done.load(Ordering::SeqCst),
            services,
            "every Event published"
        );
        let most = seen.most.load(Ordering::SeqCst);
        assert!(most <= EVENT_CONCURRENCY, "{most} Events in flight at once");
        assert!(most > 1, "Events are published concurrently");
    }
}
