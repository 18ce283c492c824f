//! Kubernetes Events (`events.k8s.io/v1`) on Services and the ConfigurationState, with the
//! fields kube's `Recorder` writes (reporting controller and instance, action, reason, note,
//! regarding object, event time), and repeats folded into a series as it does: the same event
//! on the same object within six minutes patches `series.count` and
//! `series.lastObservedTime` of the first Event instead of creating another.
//!
//! Why not kube's `Recorder`: it keeps a full copy of every Event of the last six minutes and
//! scans all of them on each publish, so allocating 10,000 Services held ~18 MB of Events and
//! cost quadratic CPU (the largest heap item after the Service cache, and the top
//! controller symbol in `perf`); in the speaker, 1,000 `nodeAssigned` Events held 4.7 MB,
//! a third of its heap (`bench/RESULTS.md`). [`Recent`] remembers at most [`RECENT_CAPACITY`] events —
//! client-go's event cache size, what MetalLB's recorder has — as a hash and the Event's
//! name, about 100 bytes each, and finds a repeat in O(1).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event as K8sEvent, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType, Reporter};
use serde_json::json;

/// How long a published event counts as recent: a repeat within it joins its series (kube's
/// `Recorder` uses the same six minutes).
pub const RECENT_TTL: SignedDuration = SignedDuration::from_mins(6);
/// How many recent events are remembered at most (client-go's event cache holds 4,096).
pub const RECENT_CAPACITY: usize = 4096;

/// Publishes Events as one reporting controller; cheap to clone (the memory of recent events
/// is shared).
#[derive(Clone)]
pub struct Publisher {
    client: Client,
    reporter: Reporter,
    recent: Arc<Mutex<Recent>>,
}

impl Publisher {
    /// A publisher reporting as `reporter`.
    pub fn new(client: Client, reporter: Reporter) -> Self {
        Publisher {
            client,
            reporter,
            recent: Arc::new(Mutex::new(Recent::new(RECENT_CAPACITY, RECENT_TTL))),
        }
    }

    /// Publishes `ev` on the object `regarding` (in its namespace; `default` for a
    /// cluster-scoped object): a new Event, or the next count of a recent identical one.
    pub async fn publish(
        &self,
        ev: &Event,
        regarding: &ObjectReference,
    ) -> Result<(), kube::Error> {
        let now = Timestamp::now();
        let key = event_key(ev, regarding);
        let seen = self.recent().observe(key, now);
        if let Seen::Repeat {
            namespace,
            name,
            count,
        } = seen
        {
            let api: Api<K8sEvent> = Api::namespaced(self.client.clone(), &namespace);
            let series = EventSeries {
                count,
                last_observed_time: MicroTime(now),
            };
            let patch = Patch::Merge(json!({ "series": series }));
            match api.patch(&name, &PatchParams::default(), &patch).await {
                Ok(_) => {
                    self.recent().record(key, &namespace, &name, count, now);
                    return Ok(());
                }
                // Gone (the apiserver expires Events): start a new one.
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(err) => return Err(err),
            }
        }
        let event = self.new_event(ev, regarding, now);
        let namespace = event.metadata.namespace.clone().unwrap_or_default();
        let name = event.metadata.name.clone().unwrap_or_default();
        Api::<K8sEvent>::namespaced(self.client.clone(), &namespace)
            .create(&PostParams::default(), &event)
            .await?;
        self.recent().record(key, &namespace, &name, 1, now);
        Ok(())
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, Recent> {
        self.recent.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The Event object, as kube's `Recorder` builds it.
    fn new_event(&self, ev: &Event, regarding: &ObjectReference, now: Timestamp) -> K8sEvent {
        let namespace = regarding
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let object = regarding.name.as_ref().unwrap_or(&self.reporter.controller);
        K8sEvent {
            action: Some(ev.action.clone()),
            reason: Some(ev.reason.clone()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            related: ev.secondary.clone(),
            note: ev.note.clone(),
            metadata: ObjectMeta {
                namespace: Some(namespace),
                name: Some(format!("{object}.{:x}", now.as_nanosecond())),
                ..Default::default()
            },
            reporting_controller: Some(self.reporter.controller.clone()),
            reporting_instance: Some(
                self.reporter
                    .instance
                    .clone()
                    .unwrap_or_else(|| self.reporter.controller.clone()),
            ),
            type_: Some(
                match ev.type_ {
                    EventType::Normal => "Normal",
                    EventType::Warning => "Warning",
                }
                .to_owned(),
            ),
            ..Default::default()
        }
    }
}

/// What makes two events the same: type, action, reason, note, the object and the related
/// object (the reporter is the publisher's own).
pub fn event_key(ev: &Event, regarding: &ObjectReference) -> u64 {
    let mut h = DefaultHasher::new();
    matches!(ev.type_, EventType::Warning).hash(&mut h);
    ev.action.hash(&mut h);
    ev.reason.hash(&mut h);
    ev.note.hash(&mut h);
    hash_reference(regarding, &mut h);
    if let Some(related) = &ev.secondary {
        hash_reference(related, &mut h);
    }
    h.finish()
}

fn hash_reference(r: &ObjectReference, h: &mut DefaultHasher) {
    r.api_version.hash(h);
    r.kind.hash(h);
    r.namespace.hash(h);
    r.name.hash(h);
    r.uid.hash(h);
    r.field_path.hash(h);
}

/// Whether an event was published recently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Not within the TTL (or forgotten): create a new Event.
    New,
    /// The Event `namespace/name` is recent: this is its `count`-th occurrence.
    Repeat {
        /// The Event's namespace.
        namespace: String,
        /// The Event's name.
        name: String,
        /// The series count to write.
        count: i32,
    },
}

#[derive(Debug, Clone)]
struct Entry {
    namespace: String,
    name: String,
    count: i32,
    last: Timestamp,
}

/// The recently published events, bounded in number and age (pure: the caller passes the
/// time).
#[derive(Debug)]
pub struct Recent {
    entries: HashMap<u64, Entry>,
    capacity: usize,
    ttl: SignedDuration,
}

impl Recent {
    /// Remembers at most `capacity` events, each for `ttl` after it was last seen.
    pub fn new(capacity: usize, ttl: SignedDuration) -> Self {
        Recent {
            entries: HashMap::new(),
            capacity: capacity.max(1),
            ttl,
        }
    }

    /// How many events are remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the event with `key` is recent at `now`, and if so its next count.
    pub fn observe(&self, key: u64, now: Timestamp) -> Seen {
        match self.entries.get(&key) {
            Some(e) if !expired(e.last, self.ttl, now) => Seen::Repeat {
                namespace: e.namespace.clone(),
                name: e.name.clone(),
                count: e.count.saturating_add(1),
            },
            _ => Seen::New,
        }
    }

    /// Notes that the event with `key` was written as `namespace/name` with `count`
    /// occurrences at `now`. When full, forgets the expired events, and if that is not
    /// enough the least recently seen quarter, so that a publish stays O(1) amortized.
    pub fn record(&mut self, key: u64, namespace: &str, name: &str, count: i32, now: Timestamp) {
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            self.make_room(now);
        }
        self.entries.insert(
            key,
            Entry {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                count,
                last: now,
            },
        );
    }

    fn make_room(&mut self, now: Timestamp) {
        let ttl = self.ttl;
        self.entries.retain(|_, e| !expired(e.last, ttl, now));
        if self.entries.len() < self.capacity {
            return;
        }
        let mut by_age: Vec<(Timestamp, u64)> =
            self.entries.iter().map(|(k, e)| (e.last, *k)).collect();
        by_age.sort_unstable();
        let forget = (self.capacity / 4).max(1);
        for (_, key) in by_age.into_iter().take(forget) {
            self.entries.remove(&key);
        }
    }
}

/// Whether an event last seen at `last` is no longer recent at `now` (never, should the end
/// of its TTL not be representable).
fn expired(last: Timestamp, ttl: SignedDuration, now: Timestamp) -> bool {
    last.checked_add(ttl).is_ok_and(|end| end <= now)
}

#[cfg(test)]
mod tests;
