//! MetalLB's Kubernetes client metrics (`internal/k8s/controllers/stats.go`): the same names,
//! help texts and types, registered into the daemon's registry.
//!
//! prometheus-client writes OpenMetrics text, where a counter family is named without its
//! `_total` suffix in `# HELP`/`# TYPE` and the sample carries it; the series Prometheus
//! stores (`metallb_k8s_client_updates_total`, …) are exactly MetalLB's.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The four `metallb_k8s_client_*` metrics. Clones share the same values.
#[derive(Clone, Debug, Default)]
pub struct K8sClientMetrics {
    /// `metallb_k8s_client_updates_total`: Kubernetes object updates processed.
    pub updates: Counter,
    /// `metallb_k8s_client_update_errors_total`: updates whose processing failed.
    pub update_errors: Counter,
    /// `metallb_k8s_client_config_loaded_bool`: 1 once a configuration was loaded.
    pub config_loaded: Gauge,
    /// `metallb_k8s_client_config_stale_bool`: 1 while the newest configuration failed to
    /// load and an older one is in force.
    pub config_stale: Gauge,
}

impl K8sClientMetrics {
    /// Creates the metrics and registers them into `registry` (which should have no prefix:
    /// the names are complete).
    pub fn register(registry: &mut Registry) -> Self {
        let m = K8sClientMetrics::default();
        // prometheus-client adds the final period of each help text itself.
        registry.register(
            "metallb_k8s_client_updates",
            "Number of k8s object updates that have been processed",
            m.updates.clone(),
        );
        registry.register(
            "metallb_k8s_client_update_errors",
            "Number of k8s object updates that failed for some reason",
            m.update_errors.clone(),
        );
        registry.register(
            "metallb_k8s_client_config_loaded_bool",
            "1 if the MetalLB configuration was successfully loaded at least once",
            m.config_loaded.clone(),
        );
        registry.register(
            "metallb_k8s_client_config_stale_bool",
            "1 if running on a stale configuration, because the latest config failed to load",
            m.config_stale.clone(),
        );
        m
    }

    /// A configuration was loaded and is now in force: loaded 1, stale 0 (as MetalLB after a
    /// successful reload).
    pub fn config_applied(&self) {
        self.config_loaded.set(1);
        self.config_stale.set(0);
    }

    /// The newest configuration was rejected; the previous one, if any, stays in force.
    /// Stale 1 and one more update error, as MetalLB's config controller counts it.
    pub fn config_rejected(&self) {
        self.config_stale.set(1);
        self.update_errors.inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposition(registry: &Registry) -> String {
        crate::http::exposition(registry).unwrap_or_else(|e| panic!("encoding the registry: {e}"))
    }

    #[test]
    fn exposition_has_metallbs_names_help_and_types() {
        let mut registry = Registry::default();
        let _m = K8sClientMetrics::register(&mut registry);
        assert_eq!(
            exposition(&registry),
            "# HELP metallb_k8s_client_updates Number of k8s object updates that have been processed.\n\
             # TYPE metallb_k8s_client_updates counter\n\
             metallb_k8s_client_updates_total 0\n\
             # HELP metallb_k8s_client_update_errors Number of k8s object updates that failed for some reason.\n\
             # TYPE metallb_k8s_client_update_errors counter\n\
             metallb_k8s_client_update_errors_total 0\n\
             # HELP metallb_k8s_client_config_loaded_bool 1 if the MetalLB configuration was successfully loaded at least once.\n\
             # TYPE metallb_k8s_client_config_loaded_bool gauge\n\
             metallb_k8s_client_config_loaded_bool 0\n\
             # HELP metallb_k8s_client_config_stale_bool 1 if running on a stale configuration, because the latest config failed to load.\n\
             # TYPE metallb_k8s_client_config_stale_bool gauge\n\
             metallb_k8s_client_config_stale_bool 0\n\
             # EOF\n"
        );
    }

    #[test]
    fn rejected_then_applied_config_moves_the_gauges_as_metallb() {
        let mut registry = Registry::default();
        let m = K8sClientMetrics::register(&mut registry);
        m.updates.inc();
        m.config_rejected();
        let text = exposition(&registry);
        assert!(
            text.contains("metallb_k8s_client_updates_total 1\n"),
            "{text}"
        );
        assert!(
            text.contains("metallb_k8s_client_update_errors_total 1\n"),
            "{text}"
        );
        assert!(
            text.contains("metallb_k8s_client_config_stale_bool 1\n"),
            "{text}"
        );
        assert!(
            text.contains("metallb_k8s_client_config_loaded_bool 0\n"),
            "{text}"
        );

        m.updates.inc();
        m.config_applied();
        let text = exposition(&registry);
        assert!(
            text.contains("metallb_k8s_client_updates_total 2\n"),
            "{text}"
        );
        assert!(
            text.contains("metallb_k8s_client_config_stale_bool 0\n"),
            "{text}"
        );
        assert!(
            text.contains("metallb_k8s_client_config_loaded_bool 1\n"),
            "{text}"
        );
    }
}
