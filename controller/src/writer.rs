//! Writes Services' allocations to the apiserver, many at once, one at a time per Service.
//!
//! The address, its pool annotation and the status go in one merge patch on the `status`
//! subresource (which accepts metadata changes), so a watcher never sees one without the
//! other. Writes for different Services run concurrently (the apiserver, not the controller,
//! is the bottleneck with thousands of Services); a newer write for a Service whose previous
//! one is still running waits for it and replaces any older one queued, so the last decision
//! always lands last. A failed write is retried with back-off until it lands, is superseded
//! or the Service is gone.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use kube::api::{Patch, PatchParams};
use kube::runtime::events::{Event, EventType as KubeEventType};
use kube::{Api, Client};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::allocator::ServiceKey;
use crate::engine::ServiceWrite;
use crate::events::Publisher;
use crate::service::EventType;

/// How many Service writes may be in flight at once.
const CONCURRENCY: usize = 32;
/// The longest wait between two attempts of a failing write.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A landed write, reported back to the engine.
#[derive(Debug)]
pub struct Landed {
    /// `namespace/name`.
    pub key: ServiceKey,
    /// The Service's resourceVersion after the write (`None` when nothing was patched).
    pub resource_version: Option<String>,
}

/// Accepts Service writes and runs them.
pub struct ServiceWriter {
    client: Client,
    events: Publisher,
    running: JoinSet<(ServiceKey, Option<String>)>,
    in_flight: HashSet<ServiceKey>,
    queued: BTreeMap<ServiceKey, ServiceWrite>,
    landed: mpsc::UnboundedSender<Landed>,
}

impl ServiceWriter {
    /// A writer publishing Events with `events`; landed writes are reported on `landed`.
    pub fn new(client: Client, events: Publisher, landed: mpsc::UnboundedSender<Landed>) -> Self {
        ServiceWriter {
            client,
            events,
            running: JoinSet::new(),
            in_flight: HashSet::new(),
            queued: BTreeMap::new(),
            landed,
        }
    }

    /// Queues a write; it starts now unless the Service already has one running or too many
    /// are in flight.
    pub fn submit(&mut self, write: ServiceWrite) {
        self.queued.insert(write.key.clone(), write);
        self.start_queued();
    }

    /// Whether writes are running or queued.
    pub fn busy(&self) -> bool {
        !self.running.is_empty() || !self.queued.is_empty()
    }

    /// Waits for one running write to finish and starts queued ones. Pending forever when
    /// nothing runs (use it in `select!`).
    pub async fn progress(&mut self) {
        match self.running.join_next().await {
            Some(Ok((key, resource_version))) => {
                self.in_flight.remove(&key);
                let _ = self.landed.send(Landed {
                    key,
                    resource_version,
                });
            }
            Some(Err(err)) => tracing::error!(error = %err, "service write task failed"),
            None => std::future::pending::<()>().await,
        }
        self.start_queued();
    }

    fn start_queued(&mut self) {
        let ready: Vec<ServiceKey> = self
            .queued
            .keys()
            .filter(|k| !self.in_flight.contains(*k))
            .take(CONCURRENCY.saturating_sub(self.running.len()))
            .cloned()
            .collect();
        for key in ready {
            let Some(write) = self.queued.remove(&key) else {
                continue;
            };
            self.in_flight.insert(key.clone());
            let client = self.client.clone();
            let events = self.events.clone();
            self.running.spawn(async move {
                let rv = write_with_retry(&client, &write).await;
                publish_events(&events, &write).await;
                (write.key, rv)
            });
        }
    }
}

/// Patches the Service until it lands or the Service is gone; returns its new
/// resourceVersion.
async fn write_with_retry(client: &Client, write: &ServiceWrite) -> Option<String> {
    if write.status.is_none() && write.annotations.is_empty() {
        return None;
    }
    let api: Api<Service> = Api::namespaced(client.clone(), &write.namespace);
    let patch = Patch::Merge(patch_body(write));
    let mut backoff = Duration::from_millis(200);
    loop {
        match api
            .patch_status(&write.name, &PatchParams::default(), &patch)
            .await
        {
            Ok(svc) => {
                tracing::info!(event = "serviceUpdated", service = %write.key, "updated service object");
                return svc.metadata.resource_version;
            }
            Err(kube::Error::Api(status)) if status.code == 404 => {
                tracing::debug!(service = %write.key, "service gone before its update was written");
                return None;
            }
            Err(err) => {
                tracing::error!(op = "updateServiceStatus", error = %err, service = %write.key, "failed to update service");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// The merge patch: annotations set or removed (`null`), and `status.loadBalancer` replaced
/// (an empty status removes `ingress`).
fn patch_body(write: &ServiceWrite) -> Value {
    let mut body = json!({});
    if !write.annotations.is_empty() {
        body["metadata"] = json!({ "annotations": write.annotations });
    }
    if let Some(status) = &write.status {
        let ingress = match &status.ingress {
            Some(list) if !list.is_empty() => json!(list),
            _ => Value::Null,
        };
        body["status"] = json!({ "loadBalancer": { "ingress": ingress } });
    }
    body
}

async fn publish_events(events: &Publisher, write: &ServiceWrite) {
    let reference = k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Service".into()),
        namespace: Some(write.namespace.clone()),
        name: Some(write.name.clone()),
        uid: write.uid.clone(),
        ..Default::default()
    };
    for ev in &write.events {
        let event = Event {
            type_: match ev.kind {
                EventType::Normal => KubeEventType::Normal,
                EventType::Warning => KubeEventType::Warning,
            },
            reason: ev.reason.to_owned(),
            note: Some(ev.message.clone()),
            action: ev.reason.to_owned(),
            secondary: None,
        };
        if let Err(err) = events.publish(&event, &reference).await {
            tracing::warn!(error = %err, service = %write.key, reason = ev.reason, "failed to publish event");
        }
    }
}
