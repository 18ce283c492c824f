//! The speaker's watch caches ([`lb_daemon::watch`]): Services and EndpointSlices of the
//! whole cluster, its own Node, the Secrets and configuration of MetalLB's namespace, and the
//! ServiceBGPStatus objects of its node. Each change is a [`Notice`] to the reconcile loop.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::watcher;
use kube::{Api, Client};
use lb_config::crd::service_bgp_status::ServiceBGPStatus;
use lb_daemon::watch::config::ConfigCaches;
use lb_daemon::watch::{Cache, spawn};
use tokio::sync::mpsc;

use crate::announce::slice_service_key;
use crate::status::LABEL_NODE;

/// What changed, as the watchers report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The Service `namespace/name`, or one of its EndpointSlices, changed.
    Service(String),
    /// The speaker's Node changed.
    Node,
    /// A configuration object changed.
    Config,
    /// A Secret of MetalLB's namespace changed (peers' passwords).
    Secrets,
    /// A ServiceBGPStatus of this node changed (read by the status writer only).
    Status,
    /// A watch completed a full list (the first, or again after losing its connection).
    Synced,
}

/// Every cache the speaker reads.
pub struct Caches {
    /// Services of every namespace.
    pub services: Cache<Service>,
    /// EndpointSlices of every namespace.
    pub slices: Cache<EndpointSlice>,
    /// The speaker's Node (the watch selects it by name).
    pub node: Cache<Node>,
    /// Secrets of MetalLB's namespace.
    pub secrets: Cache<Secret>,
    /// ServiceBGPStatus objects of this node in MetalLB's namespace.
    pub statuses: Cache<ServiceBGPStatus>,
    /// The configuration.
    pub config: ConfigCaches,
}

impl Caches {
    /// Whether every cache has had its first complete list.
    pub fn all_synced(&self) -> bool {
        self.services.is_synced()
            && self.slices.is_synced()
            && self.node.is_synced()
            && self.secrets.is_synced()
            && self.statuses.is_synced()
            && self.config.all_synced()
    }

    /// The speaker's Node, once seen.
    pub fn node(&self, name: &str) -> Option<Arc<Node>> {
        self.node.get(None, name)
    }

    /// The Secrets of MetalLB's namespace by name.
    pub fn secrets(&self) -> BTreeMap<String, Secret> {
        self.secrets
            .state()
            .into_iter()
            .filter_map(|s| Some((s.metadata.name.clone()?, (*s).clone())))
            .collect()
    }

    /// Every EndpointSlice by the key of its Service.
    pub fn slices_by_service(&self) -> BTreeMap<String, Vec<Arc<EndpointSlice>>> {
        let mut by_service: BTreeMap<String, Vec<Arc<EndpointSlice>>> = BTreeMap::new();
        for slice in self.slices.state() {
            if let Some(key) = slice_service_key(&slice) {
                by_service.entry(key).or_default().push(slice);
            }
        }
        by_service
    }
}

/// The key (`namespace/name`) of a Service.
pub fn service_key(svc: &Service) -> String {
    format!(
        "{}/{}",
        svc.metadata.namespace.as_deref().unwrap_or_default(),
        svc.metadata.name.as_deref().unwrap_or_default()
    )
}

/// Starts a watcher for every kind the speaker of `node` reads in `namespace`; notices go to
/// `tx`, and the tasks end when its receiver is dropped.
pub fn start(client: &Client, namespace: &str, node: &str, tx: &mpsc::Sender<Notice>) -> Caches {
    let all = watcher::Config::default;
    Caches {
        services: spawn(
            Api::<Service>::all(client.clone()),
            all(),
            tx.clone(),
            |s: &Service| Notice::Service(service_key(s)),
            Notice::Synced,
        ),
        slices: spawn(
            Api::<EndpointSlice>::all(client.clone()),
            all(),
            tx.clone(),
            // An unlabelled slice belongs to no Service: its notice names none.
            |s: &EndpointSlice| Notice::Service(slice_service_key(s).unwrap_or_default()),
            Notice::Synced,
        ),
        node: spawn(
            Api::<Node>::all(client.clone()),
            all().fields(&format!("metadata.name={node}")),
            tx.clone(),
            |_| Notice::Node,
            Notice::Synced,
        ),
        secrets: spawn(
            Api::<Secret>::namespaced(client.clone(), namespace),
            all(),
            tx.clone(),
            |_| Notice::Secrets,
            Notice::Synced,
        ),
        statuses: spawn(
            Api::<ServiceBGPStatus>::namespaced(client.clone(), namespace),
            all().labels(&format!("{LABEL_NODE}={node}")),
            tx.clone(),
            |_| Notice::Status,
            Notice::Synced,
        ),
        config: ConfigCaches::start(client, namespace, tx, Notice::Config, Notice::Synced),
    }
}
