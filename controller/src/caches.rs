//! The controller's view of the cluster: one watch cache (a kube reflector store) per kind it
//! reads, each knowing whether its first complete list has arrived.
//!
//! The engine reads objects from here instead of from the events themselves, so it always
//! acts on the latest state and a burst of changes to one object costs one decision.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use kube::runtime::reflector::{ObjectRef, Store};

use crate::allocator::ServiceKey;
use lb_config::crd::bfd_profile::BFDProfile;
use lb_config::crd::bgp_advertisement::BGPAdvertisement;
use lb_config::crd::bgp_peer::BGPPeer;
use lb_config::crd::community::Community;
use lb_config::crd::ip_address_pool::IPAddressPool;
use lb_config::crd::l2_advertisement::L2Advertisement;

/// The name of the legacy ConfigMap (in MetalLB's namespace), as in MetalLB's first releases.
pub const LEGACY_CONFIGMAP: &str = "config";

/// One kind's watch cache.
pub struct Cache<K: kube::Resource<DynamicType = ()> + Clone + 'static> {
    /// The objects, kept current by the kind's watcher.
    pub store: Store<K>,
    /// Set once the first complete list is in the store (or the kind does not exist).
    pub synced: Arc<AtomicBool>,
}

impl<K: kube::Resource<DynamicType = ()> + Clone + 'static> Cache<K> {
    /// A cache over `store`, not yet synced.
    pub fn new(store: Store<K>) -> Self {
        Cache {
            store,
            synced: Arc::new(AtomicBool::new(false)),
        }
    }

    fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    fn all(&self) -> Vec<K> {
        let mut objects: Vec<K> = self.store.state().iter().map(|o| (**o).clone()).collect();
        objects.sort_by(|a, b| a.meta().name.cmp(&b.meta().name));
        objects
    }
}

/// Every cache the controller reads.
pub struct Caches {
    /// Services of every namespace.
    pub services: Cache<Service>,
    /// Namespaces (for pools' `namespaceSelectors`).
    pub namespaces: Cache<Namespace>,
    /// ConfigMaps of MetalLB's namespace (only `config` is read).
    pub config_maps: Cache<ConfigMap>,
    /// IPAddressPools of MetalLB's namespace.
    pub pools: Cache<IPAddressPool>,
    /// BGPPeers of MetalLB's namespace.
    pub peers: Cache<BGPPeer>,
    /// BGPAdvertisements of MetalLB's namespace.
    pub bgp_advertisements: Cache<BGPAdvertisement>,
    /// L2Advertisements of MetalLB's namespace.
    pub l2_advertisements: Cache<L2Advertisement>,
    /// Communities of MetalLB's namespace.
    pub communities: Cache<Community>,
    /// BFDProfiles of MetalLB's namespace.
    pub bfd_profiles: Cache<BFDProfile>,
}

impl Caches {
    /// Whether every cache has had its first complete list.
    pub fn all_synced(&self) -> bool {
        self.services.is_synced()
            && self.namespaces.is_synced()
            && self.config_maps.is_synced()
            && self.pools.is_synced()
            && self.peers.is_synced()
            && self.bgp_advertisements.is_synced()
            && self.l2_advertisements.is_synced()
            && self.communities.is_synced()
            && self.bfd_profiles.is_synced()
    }

    /// Every Service.
    pub fn services(&self) -> Vec<Arc<Service>> {
        self.services.store.state()
    }

    /// The Service `namespace/name`, if it exists.
    pub fn service(&self, key: &ServiceKey) -> Option<Arc<Service>> {
        let (namespace, name) = key.as_str().split_once('/')?;
        self.services
            .store
            .get(&ObjectRef::new(name).within(namespace))
    }

    /// The labels of a namespace (empty when it is not known).
    pub fn namespace_labels(&self, namespace: &str) -> BTreeMap<String, String> {
        self.namespaces
            .store
            .get(&ObjectRef::new(namespace))
            .and_then(|ns| ns.metadata.labels.clone())
            .unwrap_or_default()
    }

    /// The configuration from the legacy ConfigMap and the custom resources (none at all is
    /// a valid configuration without pools, as for MetalLB). `Err` holds every validation
    /// error, one per line.
    pub fn parse_config(&self) -> Result<lb_config::Config, String> {
        let legacy = self
            .config_maps
            .store
            .state()
            .iter()
            .find(|cm| cm.metadata.name.as_deref() == Some(LEGACY_CONFIGMAP))
            .map(|cm| {
                cm.data
                    .as_ref()
                    .and_then(|d| d.get("config").cloned())
                    .unwrap_or_default()
            });
        let resources = lb_config::Resources {
            pools: self.pools.all(),
            peers: self.peers.all(),
            bgp_advertisements: self.bgp_advertisements.all(),
            l2_advertisements: self.l2_advertisements.all(),
            communities: self.communities.all(),
            bfd_profiles: self.bfd_profiles.all(),
            legacy_config: legacy,
        };
        let parsed = lb_config::parse(&resources).map_err(|errors| errors.to_string())?;
        for warning in &parsed.warnings {
            tracing::warn!(controller = "ConfigReconciler", warning = %warning, "configuration accepted with a warning");
        }
        Ok(parsed.config)
    }
}
