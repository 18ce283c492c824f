//! The engine over hand-filled watch caches: the first pass, passes that change nothing,
//! edits that must not reset sessions, deletions, shared addresses and broken configurations.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::Ordering;

use k8s_openapi::api::core::v1::{ConfigMap, Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::reflector::store::Writer;
use kube::runtime::watcher;
use lb_config::crd::service_bgp_status::ServiceBGPStatus;
use lb_daemon::watch::Cache;
use lb_daemon::watch::config::ConfigCaches;
use serde_json::json;

use super::*;
use crate::testing::{TUTORIAL, service, slice};

struct Cluster {
    statuses: Writer<ServiceBGPStatus>,
    services: Writer<Service>,
    slices: Writer<EndpointSlice>,
    nodes: Writer<Node>,
    config_maps: Writer<ConfigMap>,
}

fn engine() -> (Engine, Cluster) {
    let (services, services_w) = Cache::filled_by_hand();
    let (slices, slices_w) = Cache::filled_by_hand();
    let (node, nodes_w) = Cache::filled_by_hand();
    let (config, config_w) = ConfigCaches::filled_by_hand();
    let (statuses, statuses_w) = Cache::filled_by_hand();
    let caches = Caches {
        services,
        slices,
        node,
        secrets: Cache::filled_by_hand().0,
        statuses,
        config,
    };
    let mut cluster = Cluster {
        statuses: statuses_w,
        services: services_w,
        slices: slices_w,
        nodes: nodes_w,
        config_maps: config_w.config_maps,
    };
    cluster.node();
    (
        Engine::new(caches, "metallb-system", "kube-node-1", Options::default()),
        cluster,
    )
}

impl Cluster {
    fn node(&mut self) {
        let node: Node = serde_json::from_value(json!({
            "metadata": {"name": "kube-node-1", "resourceVersion": "1"},
            "status": {"addresses": [{"type": "InternalIP", "address": "10.192.0.3"}]},
        }))
        .unwrap();
        self.nodes.apply_watcher_event(&watcher::Event::Apply(node));
    }

    fn config(&mut self, text: &str) {
        let cm: ConfigMap = serde_json::from_value(json!({
            "metadata": {"namespace": "metallb-system", "name": "config"},
            "data": {"config": text},
        }))
        .unwrap();
        self.config_maps
            .apply_watcher_event(&watcher::Event::Apply(cm));
    }

    fn service(&mut self, name: &str, ip: &str) {
        self.services
            .apply_watcher_event(&watcher::Event::Apply(service(name, &[ip], json!({}))));
        self.slices
            .apply_watcher_event(&watcher::Event::Apply(slice(
                name,
                &format!("{name}-1"),
                &[(Some("kube-node-2"), Some(true), None, &["10.244.2.5"])],
            )));
    }

    fn delete_service(&mut self, name: &str) {
        self.services
            .apply_watcher_event(&watcher::Event::Delete(service(name, &[], json!({}))));
    }
}

fn everything() -> Dirty {
    let mut d = Dirty::default();
    d.add(Notice::Synced);
    d
}

/// Node and configuration changed (no re-list).
fn node_and_config() -> Dirty {
    let mut d = Dirty::default();
    d.add(Notice::Node);
    d.add(Notice::Config);
    d
}

fn service_changed(key: &str) -> Dirty {
    let mut d = Dirty::default();
    d.add(Notice::Service(key.to_owned()));
    d
}

fn prefixes(plan: &Plan) -> Option<Vec<String>> {
    plan.routes
        .as_ref()
        .map(|r| r.iter().map(|r| r.prefix.to_string()).collect())
}

fn peers(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

#[test]
fn nothing_is_decided_before_every_cache_is_synced() {
    let (mut engine, mut cluster) = engine();
    cluster.config(TUTORIAL);
    cluster.service("nginx", "198.51.100.0");
    engine.caches.slices.synced.store(false, Ordering::Release);
    assert_eq!(engine.pass(&everything()), Plan::default());
    assert!(!engine.ready());
    engine.caches.slices.synced.store(true, Ordering::Release);
    let plan = engine.pass(&everything());
    assert!(engine.ready());
    assert_eq!(prefixes(&plan), Some(vec!["198.51.100.0/32".to_owned()]));
}

#[test]
fn the_first_pass_opens_the_session_announces_and_reports_then_a_quiet_pass_does_nothing() {
    let (mut engine, mut cluster) = engine();
    cluster.config(TUTORIAL);
    cluster.service("nginx", "198.51.100.0");
    let plan = engine.pass(&everything());
    assert_eq!(plan.config_state, Some(ConfigState::Valid));
    assert!(plan.sessions.remove.is_empty());
    assert_eq!(
        plan.sessions
            .add
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["peer1"]
    );
    assert_eq!(prefixes(&plan), Some(vec!["198.51.100.0/32".to_owned()]));
    assert_eq!(
        plan.pending,
        Some(BTreeMap::from([(("10.192.0.7".parse().unwrap(), 179), 1)]))
    );
    assert_eq!(
        plan.transitions,
        [Transition::Announced {
            key: "default/nginx".into(),
            uid: None,
            ips: vec!["198.51.100.0".parse().unwrap()],
        }]
    );
    assert_eq!(
        plan.statuses,
        [("default/nginx".to_owned(), peers(&["peer1"]))]
    );

    assert_eq!(engine.pass(&node_and_config()), Plan::default());
    assert_eq!(
        engine.pass(&service_changed("default/nginx")),
        Plan::default()
    );
}

#[test]
fn an_unrelated_configuration_edit_resets_no_session_and_resends_no_route() {
    let (mut engine, mut cluster) = engine();
    cluster.config(TUTORIAL);
    cluster.service("nginx", "198.51.100.0");
    engine.pass(&everything());
    cluster.config(&format!(
        "{TUTORIAL}- name: other\n  protocol: bgp\n  addresses:\n  - 203.0.113.0/24\n"
    ));
    let mut dirty = Dirty::default();
    dirty.add(Notice::Config);
    assert_eq!(engine.pass(&dirty), Plan::default());
}

#[test]
fn a_broken_configuration_is_reported_and_the_last_good_one_stays_in_force() {
    let (mut engine, mut cluster) = engine();
    cluster.config(TUTORIAL);
    cluster.service("nginx", "198.51.100.0");
    engine.pass(&everything());
    cluster.config("address-pools:\n- name: broken\n  protocol: bgp\n  addresses: [not-a-cidr]\n");
    let mut dirty = Dirty::default();
    dirty.add(Notice::Config);
    let plan = engine.pass(&dirty);
    assert!(
        matches!(&plan.config_state, Some(ConfigState::Invalid(e)) if e.contains("not-a-cidr")),
        "{plan:?}"
    );
    assert!(plan.sessions.is_empty() && plan.routes.is_none() && plan.transitions.is_empty());
    assert_eq!(engine.sessions().len(), 1);
}

#[test]
fn a_shared_address_stays_while_one_sharer_remains_and_goes_with_the_last() {
    let (mut engine, mut cluster) = engine();
    cluster.config(TUTORIAL);
    cluster.service("a", "198.51.100.5");
    cluster.service("b", "198.51.100.5");
    let plan = engine.pass(&everything());
    assert_eq!(prefixes(&plan), Some(vec!["198.51.100.5/32".to_owned()]));
    assert_eq!(plan.transitions.len(), 2);

    cluster.delete_service("a");
    let plan = engine.pass(&service_changed("default/a"));
    assert_eq!(plan.routes, None, "b still needs the route");
    assert_eq!(
        plan.transitions,
        [Transition::Withdrawn {
            key: "default/a".into(),
            ips: vec!["198.51.100.5".parse().unwrap()],
        }]
    );
    assert_eq!(plan.statuses, [("default/a".to_owned(), BTreeSet::new())]);

    cluster.delete_service("b");
    let plan = engine.pass(&service_changed("default/b"));
    assert_eq!(prefixes(&plan), Some(vec![]));
    assert_eq!(plan.statuses, [("default/b".to_owned(), BTreeSet::new())]);
}

#[test]
fn a_new_address_withdraws_the_old_one_and_announces_again() {
    let (mut engine, mut cluster) = engine();
    cluster.config(TUTORIAL);
    cluster.service("nginx", "198.51.100.0");
    engine.pass(&everything());
    cluster.service("nginx", "198.51.100.1");
    let plan = engine.pass(&service_changed("default/nginx"));
    assert_eq!(prefixes(&plan), Some(vec!["198.51.100.1/32".to_owned()]));
    assert_eq!(
        plan.transitions,
        [
            Transition::Withdrawn {
                key: "default/nginx".into(),
                ips: vec!["198.51.100.0".parse().unwrap()],
            },
            Transition::Announced {
                key: "default/nginx".into(),
                uid: None,
                ips: vec!["198.51.100.1".parse().unwrap()],
            },
        ]
    );
    assert!(plan.statuses.is_empty(), "same peers: the status stays");
}

#[test]
fn a_relist_resubmits_every_status_and_a_missing_node_stops_everything() {
    let (mut engine, mut cluster) = engine();
    cluster.config(TUTORIAL);
    cluster.service("nginx", "198.51.100.0");
    engine.pass(&everything());
    let plan = engine.pass(&node_and_config());
    assert_eq!(plan.statuses, Vec::new(), "a plain pass writes nothing");
    let mut relisted = Dirty {
        resync: true,
        ..Dirty::default()
    };
    relisted.add(Notice::Node);
    let plan = engine.pass(&relisted);
    assert_eq!(
        plan.statuses,
        [("default/nginx".to_owned(), peers(&["peer1"]))]
    );

    let node: Node = serde_json::from_value(json!({"metadata": {"name": "kube-node-1"}})).unwrap();
    cluster
        .nodes
        .apply_watcher_event(&watcher::Event::Delete(node));
    let plan = engine.pass(&relisted);
    assert_eq!(plan.sessions.remove.len(), 1);
    assert_eq!(prefixes(&plan), Some(vec![]));
    assert_eq!(
        plan.statuses,
        [("default/nginx".to_owned(), BTreeSet::new())]
    );
}

#[test]
fn the_first_pass_removes_status_objects_an_earlier_run_left_for_services_now_gone() {
    let (mut engine, mut cluster) = engine();
    cluster.config(TUTORIAL);
    cluster.service("nginx", "198.51.100.0");
    let left: ServiceBGPStatus = serde_json::from_value(json!({
        "metadata": {"namespace": "metallb-system", "name": "bgp-old", "labels": {
            "metallb.io/node": "kube-node-1", "metallb.io/service-name": "deleted-meanwhile",
            "metallb.io/service-namespace": "default"}},
        "spec": {},
    }))
    .unwrap();
    cluster
        .statuses
        .apply_watcher_event(&watcher::Event::Apply(left));
    let plan = engine.pass(&node_and_config());
    assert_eq!(
        plan.statuses,
        [
            ("default/nginx".to_owned(), peers(&["peer1"])),
            ("default/deleted-meanwhile".to_owned(), BTreeSet::new()),
        ]
    );
    assert_eq!(engine.pass(&node_and_config()).statuses, Vec::new());
}
