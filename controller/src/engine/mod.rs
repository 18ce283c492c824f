//! The controller's one owner of allocation state: it turns "this changed" notices into the
//! writes that make Services, ConfigurationState and pool statuses current.
//!
//! Every input names what changed; the engine reads the current objects from the watch
//! caches ([`Caches`]), decides with the pure [`crate::service`] and [`crate::allocator`]
//! code, and returns [`Output`]s for the writer. It does no I/O itself, so it runs the same
//! in tests with hand-filled caches.
//!
//! Two rules keep addresses from moving:
//! - nothing is decided before every cache has its first complete list, and the first pass
//!   assigns the addresses Services already hold before any Service gets a new one (MetalLB
//!   does the same on its first load);
//! - a configuration that does not validate is reported and ignored: the last good one stays
//!   in force and nothing is released.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{LoadBalancerStatus, Service};
use kube::ResourceExt;

pub use lb_daemon::config_state::ConfigState;

use crate::allocator::{Allocator, ServiceKey};
use crate::caches::Caches;
use crate::service::{self, Outcome, ServiceEvent, Sync};

/// What changed, as the watchers report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The Service with this key (`namespace/name`) was added, changed or deleted.
    Service(ServiceKey),
    /// Some configuration object (ConfigMap `config` or a `metallb.io` resource) changed.
    Config,
    /// A Namespace's labels may have changed (pools select namespaces by label).
    Namespaces,
    /// Every cache has had its first complete list; also sent after a watch re-listed.
    Synced,
}

/// A write the engine asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Write a Service's allocation and publish its Events.
    Service(ServiceWrite),
    /// Report the configuration's state (ConfigurationState `controller`, log, metric).
    ConfigState(ConfigState),
    /// The counters of these pools changed (IPAddressPool status, metrics).
    Pools(BTreeSet<String>),
}

/// One Service's new allocation state and the Events explaining it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceWrite {
    /// `namespace/name`.
    pub key: ServiceKey,
    /// The Service's namespace.
    pub namespace: String,
    /// The Service's name.
    pub name: String,
    /// The Service's UID, so Events point at this very object.
    pub uid: Option<String>,
    /// The new `status.loadBalancer`, when it changed.
    pub status: Option<LoadBalancerStatus>,
    /// Annotation changes: `Some(value)` sets, `None` removes.
    pub annotations: BTreeMap<String, Option<String>>,
    /// Events to publish on the Service, in order.
    pub events: Vec<ServiceEvent>,
}

/// The allocation state and what is needed to decide.
pub struct Engine {
    caches: Caches,
    lb_class: Option<String>,
    allocator: Allocator,
    config: Option<lb_config::Config>,
    last_state: Option<ConfigState>,
    initial_load_done: bool,
    /// What was last written per Service but not yet seen back from the watch: applied over
    /// the cached object so a stale watch event cannot undo an allocation in flight.
    in_flight: HashMap<ServiceKey, InFlight>,
}

/// A write not yet seen back from the watch.
#[derive(Debug, Clone)]
struct InFlight {
    status: LoadBalancerStatus,
    annotations: BTreeMap<String, String>,
    resource_version: Option<String>,
}

impl Engine {
    /// An engine over these caches, for Services of `lb_class` (MetalLB's `--lb-class`).
    pub fn new(caches: Caches, lb_class: Option<String>) -> Self {
        Engine {
            caches,
            lb_class,
            allocator: Allocator::new(),
            config: None,
            last_state: None,
            initial_load_done: false,
            in_flight: HashMap::new(),
        }
    }

    /// The allocator, for metrics and pool statuses.
    pub fn allocator(&self) -> &Allocator {
        &self.allocator
    }

    /// The configuration in force, if one was loaded.
    pub fn config(&self) -> Option<&lb_config::Config> {
        self.config.as_ref()
    }

    /// Whether the first complete pass over the cluster has been made (readiness).
    pub fn ready(&self) -> bool {
        self.initial_load_done
    }

    /// Handles one notice and returns the writes it calls for.
    pub fn handle(&mut self, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        self.decide(input, &mut out);
        let pools = self.allocator.take_changed_pools();
        if !pools.is_empty() {
            out.push(Output::Pools(pools));
        }
        out
    }

    fn decide(&mut self, input: Input, out: &mut Vec<Output>) {
        let out = &mut *out;
        if !self.initial_load_done {
            if input == Input::Synced && self.caches.all_synced() {
                self.reload_config(out);
                self.initial_load(out);
            }
            return;
        }
        match input {
            Input::Service(key) => {
                let shares = self
                    .caches
                    .service(&key)
                    .is_some_and(|s| service::sharing_key(s.annotations()).is_some());
                let shared = self
                    .allocator
                    .allocation_key(&key)
                    .is_some_and(|k| !k.sharing.is_empty());
                if self.process_service(&key, out) == Sync::ReprocessAll {
                    if shares || shared {
                        // Sharers of the address may no longer fit together: check them all.
                        self.process_all(out);
                    } else {
                        // An address was freed: only Services still waiting can use it.
                        self.process_waiting(out);
                    }
                }
            }
            Input::Config | Input::Namespaces => {
                if self.reload_config(out) || input == Input::Namespaces {
                    self.process_all(out);
                }
            }
            Input::Synced => {
                self.forget_vanished_services(out);
                self.reload_config(out);
                self.process_all(out);
            }
        }
    }

    /// The writer reports that a Service write landed with this resourceVersion.
    pub fn write_landed(&mut self, key: &ServiceKey, resource_version: Option<String>) {
        // The watch may have delivered the written object already: then the cache holds the
        // write and the overlay is done with (else it would stay until the Service changes
        // again, some 500 bytes for each of thousands of Services).
        let cached = self.caches.service(key).and_then(|s| s.resource_version());
        if resource_version.is_some() && cached == resource_version {
            self.in_flight.remove(key);
        } else if let Some(flight) = self.in_flight.get_mut(key) {
            flight.resource_version = resource_version;
        }
    }

    /// Parses the configuration from the caches; on success puts it in force. Returns whether
    /// the configuration in force changed.
    fn reload_config(&mut self, out: &mut Vec<Output>) -> bool {
        let (state, changed) = match self.caches.parse_config() {
            Ok(config) => {
                let changed = self.config.as_ref() != Some(&config);
                if changed {
                    let change = self.allocator.set_pools(&config.pools);
                    for key in &change.released {
                        tracing::info!(event = "clearAssignment", service = %key, "address no longer in any pool, service will be re-evaluated");
                    }
                    self.config = Some(config);
                    tracing::info!(event = "configLoaded", "config (re)loaded");
                }
                (ConfigState::Valid, changed)
            }
            Err(errors) => (ConfigState::Invalid(errors), false),
        };
        if self.last_state.as_ref() != Some(&state) {
            self.last_state = Some(state.clone());
            out.push(Output::ConfigState(state));
        }
        changed
    }

    /// MetalLB's first load: Services that already hold addresses first, then the rest, each
    /// group in key order so the outcome does not depend on watch order.
    fn initial_load(&mut self, out: &mut Vec<Output>) {
        self.process_all(out);
        self.initial_load_done = true;
        tracing::info!(
            event = "initialLoad",
            services = self.caches.services().len(),
            "initial load performed"
        );
    }

    /// One pass over every Service, holders of addresses first. Repeats (a bounded number of
    /// times) while a pass frees addresses others may be waiting for.
    fn process_all(&mut self, out: &mut Vec<Output>) {
        for _ in 0..3 {
            let mut services = self.caches.services();
            services.sort_by_cached_key(|s| (!holds_address(s), service::service_key(s)));
            let mut again = false;
            for svc in services {
                let key = service::service_key(&svc);
                if self.process_service(&key, out) == Sync::ReprocessAll {
                    again = true;
                }
            }
            if !again {
                break;
            }
        }
    }

    /// Another pass for the Services that hold no address (those an address freed by a
    /// deletion or a change may serve), in key order. MetalLB re-converges every Service
    /// here; for the others the pass would change nothing, and skipping them keeps a burst
    /// of deletions among thousands of Services from costing a full pass each.
    fn process_waiting(&mut self, out: &mut Vec<Output>) {
        let mut waiting: Vec<ServiceKey> = self
            .caches
            .services()
            .iter()
            .map(|s| service::service_key(s))
            .filter(|k| self.allocator.ips(k).is_none())
            .collect();
        waiting.sort();
        for key in waiting {
            self.process_service(&key, out);
        }
    }

    /// Services that disappeared while the watch was re-listing: release their addresses.
    fn forget_vanished_services(&mut self, out: &mut Vec<Output>) {
        let present: BTreeSet<ServiceKey> = self
            .caches
            .services()
            .iter()
            .map(|s| service::service_key(s))
            .collect();
        for key in self.allocator.service_keys() {
            if !present.contains(&key) {
                self.process_service(&key, out);
            }
        }
    }

    fn process_service(&mut self, key: &ServiceKey, out: &mut Vec<Output>) -> Sync {
        let svc = self
            .caches
            .service(key)
            .map(|s| self.with_in_flight(key, s));
        if let Some(svc) = &svc {
            if service::filtered_by_class(svc, self.lb_class.as_deref()) {
                tracing::debug!(service = %key, "filtered service (load balancer class)");
                return Sync::Success;
            }
        } else {
            self.in_flight.remove(key);
        }
        let namespace_labels = svc
            .as_ref()
            .and_then(|s| s.namespace())
            .map(|ns| self.caches.namespace_labels(&ns))
            .unwrap_or_default();
        let Outcome {
            sync,
            update,
            events,
        } = service::set_balancer(
            &mut self.allocator,
            self.config.is_some(),
            key,
            svc.as_deref(),
            &namespace_labels,
        );
        if let Some(svc) = svc {
            let status = update.as_ref().and_then(|u| u.status.clone());
            let new_annotations = update.as_ref().and_then(|u| u.annotations.clone());
            if status.is_some() || new_annotations.is_some() || !events.is_empty() {
                let old_annotations = svc.annotations().clone();
                let annotations = new_annotations
                    .as_ref()
                    .map(|new| annotation_patch(&old_annotations, new))
                    .unwrap_or_default();
                if status.is_some() || new_annotations.is_some() {
                    self.in_flight.insert(
                        key.clone(),
                        InFlight {
                            status: status.clone().unwrap_or_else(|| current_status(&svc)),
                            annotations: new_annotations.unwrap_or(old_annotations),
                            resource_version: None,
                        },
                    );
                }
                out.push(Output::Service(ServiceWrite {
                    key: key.clone(),
                    namespace: svc.namespace().unwrap_or_default(),
                    name: svc.name_any(),
                    uid: svc.uid(),
                    status,
                    annotations,
                    events,
                }));
            }
        }
        sync
    }

    /// The cached Service with the engine's own write applied, until the watch shows it.
    fn with_in_flight(&mut self, key: &ServiceKey, svc: Arc<Service>) -> Arc<Service> {
        let Some(flight) = self.in_flight.get(key) else {
            return svc;
        };
        if flight.resource_version.is_some() && flight.resource_version == svc.resource_version() {
            self.in_flight.remove(key);
            return svc;
        }
        let mut copy = (*svc).clone();
        copy.metadata.annotations = Some(flight.annotations.clone());
        copy.status
            .get_or_insert_with(Default::default)
            .load_balancer = Some(flight.status.clone());
        Arc::new(copy)
    }
}

fn current_status(svc: &Service) -> LoadBalancerStatus {
    svc.status
        .as_ref()
        .and_then(|s| s.load_balancer.clone())
        .unwrap_or_default()
}

fn holds_address(svc: &Service) -> bool {
    current_status(svc)
        .ingress
        .is_some_and(|i| i.iter().any(|i| i.ip.is_some()))
}

/// The merge-patch form of going from `old` to `new` annotations.
fn annotation_patch(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> BTreeMap<String, Option<String>> {
    let removed = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .map(|k| (k.clone(), None));
    let set = new
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), Some(v.clone())));
    removed.chain(set).collect()
}

#[cfg(test)]
mod tests;
