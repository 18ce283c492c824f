//! The engine over hand-filled watch caches: what it decides on start, on a restart with
//! addresses already held, on a broken configuration, and with a write in flight or landed.
#![allow(clippy::unwrap_used)]

use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::runtime::reflector::store::Writer;
use kube::runtime::watcher;
use serde_json::json;

use super::*;
use lb_daemon::watch::Cache;
use lb_daemon::watch::config::ConfigCaches;

/// Caches with writers to fill them, every kind synced.
struct Cluster {
    services: Writer<Service>,
    config_maps: Writer<ConfigMap>,
}

fn engine() -> (Engine, Cluster) {
    let (services, services_w) = Cache::filled_by_hand();
    let (config, config_w) = ConfigCaches::filled_by_hand();
    let caches = Caches {
        services,
        namespaces: Cache::filled_by_hand().0,
        config,
    };
    (
        Engine::new(caches, None),
        Cluster {
            services: services_w,
            config_maps: config_w.config_maps,
        },
    )
}

impl Cluster {
    fn config(&mut self, text: &str) {
        let cm: ConfigMap = serde_json::from_value(json!({
            "metadata": {"namespace": "metallb-system", "name": "config", "resourceVersion": "1"},
            "data": {"config": text},
        }))
        .unwrap();
        self.config_maps
            .apply_watcher_event(&watcher::Event::Apply(cm));
    }

    fn service(&mut self, name: &str, held: Option<&str>) {
        let mut svc = json!({
            "metadata": {"namespace": "default", "name": name, "resourceVersion": "1"},
            "spec": {"type": "LoadBalancer", "clusterIPs": ["10.96.0.10"], "ports": [{"port": 80, "protocol": "TCP"}]},
        });
        if let Some(ip) = held {
            svc["status"] = json!({"loadBalancer": {"ingress": [{"ip": ip}]}});
            svc["metadata"]["annotations"] = json!({"metallb.io/ip-allocated-from-pool": "p"});
        }
        self.services
            .apply_watcher_event(&watcher::Event::Apply(serde_json::from_value(svc).unwrap()));
    }
}

const POOL: &str = "address-pools:\n- name: p\n  protocol: bgp\n  addresses: [198.51.100.0/30]\n";

fn writes(out: &[Output]) -> Vec<(String, Vec<String>)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Service(w) => {
                let ips = w.status.as_ref().map(|s| {
                    s.ingress
                        .iter()
                        .flatten()
                        .filter_map(|i| i.ip.clone())
                        .collect()
                });
                Some((w.key.to_string(), ips.unwrap_or_default()))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn nothing_is_decided_before_the_first_sync() {
    let (mut engine, mut cluster) = engine();
    cluster.config(POOL);
    cluster.service("a", None);
    assert!(
        engine
            .handle(Input::Service(ServiceKey::new("default", "a")))
            .is_empty()
    );
    assert!(!engine.ready());
    let out = engine.handle(Input::Synced);
    assert!(engine.ready());
    assert_eq!(
        writes(&out),
        [("default/a".to_owned(), vec!["198.51.100.0".to_owned()])]
    );
    assert!(out.contains(&Output::ConfigState(ConfigState::Valid)));
}

#[test]
fn on_restart_holders_keep_their_addresses_and_newcomers_take_only_free_ones() {
    let (mut engine, mut cluster) = engine();
    cluster.config(POOL);
    // "a-new" sorts before the holders: it must still not take .0 or .1.
    cluster.service("a-new", None);
    cluster.service("b", Some("198.51.100.0"));
    cluster.service("c", Some("198.51.100.1"));
    let out = engine.handle(Input::Synced);
    assert_eq!(
        writes(&out),
        [("default/a-new".to_owned(), vec!["198.51.100.2".to_owned()])]
    );
}

#[test]
fn a_broken_configuration_is_reported_and_changes_nothing() {
    let (mut engine, mut cluster) = engine();
    cluster.config(POOL);
    cluster.service("a", None);
    engine.handle(Input::Synced);
    cluster.config("address-pools:\n- name: p\n  addresses: [not-a-cidr]\n");
    let out = engine.handle(Input::Config);
    assert!(writes(&out).is_empty(), "{out:?}");
    assert!(
        matches!(out.as_slice(), [Output::ConfigState(ConfigState::Invalid(e))] if e.contains("not-a-cidr")),
        "{out:?}"
    );
    assert_eq!(
        engine
            .allocator()
            .ips(&ServiceKey::new("default", "a"))
            .unwrap()
            .len(),
        1
    );
    // Reported once, not on every later notice.
    assert!(engine.handle(Input::Config).is_empty());
}

#[test]
fn a_stale_watch_event_does_not_undo_a_write_in_flight() {
    let (mut engine, mut cluster) = engine();
    cluster.config(POOL);
    cluster.service("a", None);
    let out = engine.handle(Input::Synced);
    assert_eq!(writes(&out).len(), 1);
    // The watch delivers an older version of the Service (no status yet): no new decision.
    cluster.service("a", None);
    let out = engine.handle(Input::Service(ServiceKey::new("default", "a")));
    assert!(writes(&out).is_empty(), "{out:?}");
    assert_eq!(
        engine
            .allocator()
            .ips(&ServiceKey::new("default", "a"))
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_write_the_watch_showed_before_it_landed_leaves_no_overlay_behind() {
    let (mut engine, mut cluster) = engine();
    cluster.config(POOL);
    cluster.service("a", None);
    let out = engine.handle(Input::Synced);
    assert_eq!(writes(&out).len(), 1);
    // The watch shows the written Service (as the apiserver stores it) before the writer
    // reports the write landed.
    let written: Service = serde_json::from_value(json!({
        "metadata": {"namespace": "default", "name": "a", "resourceVersion": "2",
                     "annotations": {"metallb.io/ip-allocated-from-pool": "p"}},
        "spec": {"type": "LoadBalancer", "clusterIPs": ["10.96.0.10"], "ports": [{"port": 80, "protocol": "TCP"}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.0", "ipMode": "VIP"}]}},
    }))
    .unwrap();
    cluster
        .services
        .apply_watcher_event(&watcher::Event::Apply(written));
    let key = ServiceKey::new("default", "a");
    assert!(writes(&engine.handle(Input::Service(key.clone()))).is_empty());
    assert_eq!(engine.in_flight.len(), 1);
    engine.write_landed(&key, Some("2".into()));
    assert!(engine.in_flight.is_empty());
    // Seen again later, from the cache alone: still nothing to write.
    assert!(writes(&engine.handle(Input::Service(key))).is_empty());
}

#[test]
fn a_freed_address_goes_to_the_first_waiting_service() {
    let (mut engine, mut cluster) = engine();
    cluster.config("address-pools:\n- name: p\n  protocol: bgp\n  addresses: [198.51.100.0/32]\n");
    cluster.service("a", None);
    cluster.service("b", None);
    let out = engine.handle(Input::Synced);
    assert_eq!(
        writes(&out)[0],
        ("default/a".to_owned(), vec!["198.51.100.0".to_owned()])
    );
    cluster
        .services
        .apply_watcher_event(&watcher::Event::Delete(
            serde_json::from_value(json!({"metadata": {"namespace": "default", "name": "a"}}))
                .unwrap(),
        ));
    let out = engine.handle(Input::Service(ServiceKey::new("default", "a")));
    assert_eq!(
        writes(&out),
        [("default/b".to_owned(), vec!["198.51.100.0".to_owned()])]
    );
}
