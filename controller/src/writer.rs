//! Writes Services' allocations to the apiserver, many at once, one at a time per Service.
//!
//! The address, its pool annotation and the status go in one merge patch on the `status`
//! subresource (which accepts metadata changes), so a watcher never sees one without the
//! other. Writes run through a [`WriteQueue`]: concurrently for different Services, one at a
//! time per Service, the last decision last. A failed write is retried with back-off until
//! it lands or the Service is gone.

use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use kube::api::{Patch, PatchParams};
use kube::runtime::events::{Event, EventType as KubeEventType};
use kube::{Api, Client};
use lb_daemon::write_queue::{BoxedWrite, WriteQueue};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::allocator::ServiceKey;
use crate::engine::ServiceWrite;
use crate::service::EventType;
use lb_daemon::events::Publisher;

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

/// Accepts Service writes and runs them ([`WriteQueue`]: concurrently, one at a time per
/// Service, the newest last).
pub struct ServiceWriter {
    queue: WriteQueue<ServiceKey, ServiceWrite, Option<String>>,
    landed: mpsc::UnboundedSender<Landed>,
}

impl ServiceWriter {
    /// A writer publishing Events with `events`; landed writes are reported on `landed`.
    pub fn new(client: Client, events: Publisher, landed: mpsc::UnboundedSender<Landed>) -> Self {
        let queue = WriteQueue::new(CONCURRENCY, move |write: ServiceWrite| {
            let client = client.clone();
            let events = events.clone();
            Box::pin(async move {
                let rv = write_with_retry(&client, &write).await;
                publish_events(&events, &write).await;
                rv
            }) as BoxedWrite<Option<String>>
        });
        ServiceWriter { queue, landed }
    }

    /// Queues a write; it starts now unless the Service already has one running or too many
    /// are in flight.
    pub fn submit(&mut self, write: ServiceWrite) {
        self.queue.submit(write.key.clone(), write);
    }

    /// Whether writes are running or queued.
    pub fn busy(&self) -> bool {
        self.queue.busy()
    }

    /// Waits for one running write to finish and starts queued ones. Pending forever when
    /// nothing runs (use it in `select!`).
    pub async fn progress(&mut self) {
        if let Some((key, resource_version)) = self.queue.progress().await {
            let _ = self.landed.send(Landed {
                key,
                resource_version,
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
