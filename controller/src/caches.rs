//! The controller's view of the cluster: one watch cache ([`lb_daemon::watch::Cache`]) per
//! kind it reads — Services, Namespaces and the configuration's kinds.
//!
//! The engine reads objects from here instead of from the events themselves, so it always
//! acts on the latest state and a burst of changes to one object costs one decision.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Namespace, Service};
use lb_daemon::watch::Cache;
use lb_daemon::watch::config::ConfigCaches;

use crate::allocator::ServiceKey;

/// Every cache the controller reads.
pub struct Caches {
    /// Services of every namespace.
    pub services: Cache<Service>,
    /// Namespaces (for pools' `namespaceSelectors`).
    pub namespaces: Cache<Namespace>,
    /// The configuration's kinds in MetalLB's namespace.
    pub config: ConfigCaches,
}

impl Caches {
    /// Whether every cache has had its first complete list.
    pub fn all_synced(&self) -> bool {
        self.services.is_synced() && self.namespaces.is_synced() && self.config.all_synced()
    }

    /// Every Service.
    pub fn services(&self) -> Vec<Arc<Service>> {
        self.services.state()
    }

    /// The Service `namespace/name`, if it exists.
    pub fn service(&self, key: &ServiceKey) -> Option<Arc<Service>> {
        let (namespace, name) = key.as_str().split_once('/')?;
        self.services.get(Some(namespace), name)
    }

    /// The labels of a namespace (empty when it is not known).
    pub fn namespace_labels(&self, namespace: &str) -> BTreeMap<String, String> {
        self.namespaces
            .get(None, namespace)
            .and_then(|ns| ns.metadata.labels.clone())
            .unwrap_or_default()
    }

    /// The configuration from the legacy ConfigMap and the custom resources; `Err` holds
    /// every validation error, one per line.
    pub fn parse_config(&self) -> Result<lb_config::Config, String> {
        self.config.parse()
    }
}
