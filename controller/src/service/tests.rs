//! `set_balancer` as tables: a Service as the apiserver would hold it, the allocator's
//! pools, and what MetalLB's `SetBalancer` would write and say.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Service;
use serde_json::{Value, json};

use super::*;
use crate::allocator::tests::pool;

fn allocator(pools: &[(&str, &[&str])]) -> Allocator {
    let mut alloc = Allocator::new();
    alloc.set_pools(
        &pools
            .iter()
            .map(|(n, c)| (n.to_string(), pool(n, c)))
            .collect(),
    );
    alloc
}

/// A LoadBalancer Service `default/svc` with a cluster IP, merged with `extra`.
fn service(extra: Value) -> Service {
    let mut svc = json!({
        "metadata": {"namespace": "default", "name": "svc"},
        "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                 "ports": [{"port": 80, "protocol": "TCP"}]},
    });
    merge(&mut svc, extra);
    serde_json::from_value(svc).unwrap()
}

fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

fn key() -> ServiceKey {
    ServiceKey::new("default", "svc")
}

fn run(alloc: &mut Allocator, svc: &Service) -> Outcome {
    set_balancer(alloc, true, &key(), Some(svc), &BTreeMap::new())
}

fn ingress(outcome: &Outcome) -> Vec<String> {
    let status = outcome
        .update
        .as_ref()
        .and_then(|u| u.status.clone())
        .unwrap_or_default();
    status
        .ingress
        .unwrap_or_default()
        .into_iter()
        .filter_map(|i| i.ip)
        .collect()
}

fn reasons(outcome: &Outcome) -> Vec<(&'static str, &str)> {
    outcome
        .events
        .iter()
        .map(|e| (e.reason, e.message.as_str()))
        .collect()
}

#[test]
fn a_new_service_gets_the_lowest_address_its_pool_annotation_and_ip_allocated() {
    let mut alloc = allocator(&[("my-ip-space", &["198.51.100.0/24"])]);
    let out = run(&mut alloc, &service(json!({})));
    assert_eq!(out.sync, Sync::Success);
    assert_eq!(ingress(&out), ["198.51.100.0"]);
    let annotations = out.update.unwrap().annotations.unwrap();
    assert_eq!(
        annotations
            .get(ANNOTATION_ALLOCATED_FROM_POOL)
            .map(String::as_str),
        Some("my-ip-space")
    );
    assert_eq!(out.events.len(), 1);
    assert_eq!(
        (out.events[0].kind, out.events[0].reason),
        (EventType::Normal, "IPAllocated")
    );
    assert_eq!(out.events[0].message, r#"Assigned IP ["198.51.100.0"]"#);
}

#[test]
fn a_service_already_holding_its_address_is_taken_back_without_writes_or_events() {
    let mut alloc = allocator(&[("p", &["198.51.100.0/24"])]);
    let svc = service(json!({
        "metadata": {"annotations": {ANNOTATION_ALLOCATED_FROM_POOL: "p"}},
        "status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.77"}]}},
    }));
    let out = run(&mut alloc, &svc);
    assert_eq!(out.sync, Sync::Success);
    assert_eq!(out.update, None);
    assert!(out.events.is_empty());
    assert_eq!(
        alloc.ips(&key()).unwrap(),
        ["198.51.100.77".parse::<IpAddr>().unwrap()]
    );
}

#[test]
fn the_apiservers_default_ip_mode_is_no_reason_to_write_again() {
    // What the apiserver stores after the controller wrote `{"ip": …}`: ipMode VIP added.
    let stored = |mode: &str| {
        service(json!({
            "metadata": {"annotations": {ANNOTATION_ALLOCATED_FROM_POOL: "p"}},
            "status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.77", "ipMode": mode}]}},
        }))
    };
    let mut alloc = allocator(&[("p", &["198.51.100.0/24"])]);
    let out = run(&mut alloc, &stored("VIP"));
    assert_eq!(out.update, None);
    assert!(out.events.is_empty());
    // Another mode is not the default: the controller's status (no ipMode) is written.
    let mut alloc = allocator(&[("p", &["198.51.100.0/24"])]);
    let out = run(&mut alloc, &stored("Proxy"));
    assert_eq!(ingress(&out), ["198.51.100.77"]);
}

#[test]
fn refusals_carry_metallbs_event_texts() {
    let cases: &[(Value, &str, &str)] = &[
        (
            json!({"spec": {"loadBalancerIP": "203.0.113.1"}}),
            "AllocationFailed",
            r#"Failed to allocate IP for "default/svc": ["203.0.113.1"] is not allowed in config"#,
        ),
        (
            json!({"spec": {"loadBalancerIP": "198.51.100.1"}, "metadata": {"annotations": {ANNOTATION_LOAD_BALANCER_IPS: "198.51.100.2"}}}),
            "AllocationFailed",
            r#"Failed to allocate IP for "default/svc": service can not have both metallb.io/loadBalancerIPs and svc.Spec.LoadBalancerIP"#,
        ),
        (
            json!({"metadata": {"annotations": {ANNOTATION_ADDRESS_POOL: "nope"}}}),
            "AllocationFailed",
            r#"Failed to allocate IP for "default/svc": unknown pool "nope""#,
        ),
        (
            json!({"metadata": {"annotations": {ANNOTATION_LOAD_BALANCER_IPS: "not-an-ip"}}}),
            "AllocationFailed",
            r#"Failed to allocate IP for "default/svc": invalid metallb.io/loadBalancerIPs: "not-an-ip""#,
        ),
        (
            json!({"spec": {"loadBalancerIP": "2001:db8::1"}}),
            "AllocationFailed",
            r#"Failed to allocate IP for "default/svc": requested loadBalancer IP(s) ["2001:db8::1"] does not match the ipFamily of the service"#,
        ),
        (
            json!({"spec": {"ipFamilyPolicy": "RequireDualStack"}}),
            "not enough clusterips",
            "Service requires dual stack but not enough clusterips [10.96.0.10]",
        ),
    ];
    for (extra, reason, message) in cases {
        let mut alloc = allocator(&[("p", &["198.51.100.0/24"])]);
        let out = run(&mut alloc, &service(extra.clone()));
        assert_eq!(out.sync, Sync::ErrorNoRetry, "{extra}");
        assert_eq!(reasons(&out), [(*reason, *message)], "{extra}");
        assert!(ingress(&out).is_empty(), "{extra}");
        assert_eq!(out.events[0].kind, EventType::Warning);
    }
}

#[test]
fn a_pool_change_in_the_annotation_moves_the_service_to_the_new_pool() {
    let mut alloc = allocator(&[("a", &["198.51.100.0/24"]), ("b", &["192.0.2.0/24"])]);
    let held = service(json!({
        "metadata": {"annotations": {ANNOTATION_ALLOCATED_FROM_POOL: "a", ANNOTATION_ADDRESS_POOL: "b"}},
        "status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.5"}]}},
    }));
    let out = run(&mut alloc, &held);
    assert_eq!(ingress(&out), ["192.0.2.0"]);
    assert_eq!(alloc.pool(&key()), Some("b"));
    assert_eq!(
        reasons(&out),
        [("IPAllocated", r#"Assigned IP ["192.0.2.0"]"#)]
    );
}

#[test]
fn not_a_load_balancer_any_more_clears_status_and_annotation_and_frees_the_address() {
    let mut alloc = allocator(&[("p", &["198.51.100.0/24"])]);
    let lb = service(json!({}));
    assert_eq!(ingress(&run(&mut alloc, &lb)), ["198.51.100.0"]);
    let cluster_ip = service(json!({
        "spec": {"type": "ClusterIP"},
        "metadata": {"annotations": {ANNOTATION_ALLOCATED_FROM_POOL: "p"}},
        "status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.0"}]}},
    }));
    let out = run(&mut alloc, &cluster_ip);
    assert_eq!(
        out.sync,
        Sync::ReprocessAll,
        "a freed address may serve a waiting Service"
    );
    let update = out.update.unwrap();
    assert_eq!(update.status, Some(LoadBalancerStatus::default()));
    assert_eq!(update.annotations, Some(BTreeMap::new()));
    assert_eq!(alloc.ips(&key()), None);
}

#[test]
fn deletion_frees_and_asks_to_reprocess_only_when_something_was_held() {
    let mut alloc = allocator(&[("p", &["198.51.100.0/24"])]);
    let out = set_balancer(&mut alloc, true, &key(), None, &BTreeMap::new());
    assert_eq!((out.sync, out.update), (Sync::Success, None));
    run(&mut alloc, &service(json!({})));
    let out = set_balancer(&mut alloc, true, &key(), None, &BTreeMap::new());
    assert_eq!(out.sync, Sync::ReprocessAll);
    assert_eq!(alloc.ips(&key()), None);
}

#[test]
fn without_a_configuration_nothing_is_touched() {
    let mut alloc = Allocator::new();
    let held = service(json!({"status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.5"}]}}}));
    let out = set_balancer(&mut alloc, false, &key(), Some(&held), &BTreeMap::new());
    assert_eq!(
        (out.sync, out.update, out.events.len()),
        (Sync::Success, None, 0)
    );
}

#[test]
fn deprecated_annotations_still_work_and_are_warned_about_once_per_change() {
    let mut alloc = allocator(&[("a", &["198.51.100.0/24"]), ("b", &["192.0.2.0/24"])]);
    let svc =
        service(json!({"metadata": {"annotations": {"metallb.universe.tf/address-pool": "b"}}}));
    let out = run(&mut alloc, &svc);
    assert_eq!(ingress(&out), ["192.0.2.0"]);
    assert_eq!(
        reasons(&out),
        [
            ("IPAllocated", r#"Assigned IP ["192.0.2.0"]"#),
            (
                "deprecatedAnnotation",
                "Service uses deprecated annotation metallb.universe.tf/address-pool"
            ),
        ]
    );
}

#[test]
fn prefer_dual_stack_adds_the_missing_family_from_the_same_pool() {
    let mut alloc = allocator(&[("dual", &["198.51.100.0/24", "2001:db8::/120"])]);
    let held = service(json!({
        "metadata": {"annotations": {ANNOTATION_ALLOCATED_FROM_POOL: "dual"}},
        "spec": {"ipFamilyPolicy": "PreferDualStack", "clusterIPs": ["10.96.0.10", "fd00:10:96::a"]},
        "status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.9"}]}},
    }));
    let out = run(&mut alloc, &held);
    assert_eq!(ingress(&out), ["198.51.100.9", "2001:db8::"]);
    assert_eq!(
        reasons(&out),
        [("IPAllocated", r#"Assigned additional IP "2001:db8::""#)]
    );
}

#[test]
fn load_balancer_class_selects_the_services_of_this_controller() {
    let none = service(json!({}));
    let ours = service(json!({"spec": {"loadBalancerClass": "ferrolb"}}));
    assert!(!filtered_by_class(&none, None));
    assert!(filtered_by_class(&ours, None));
    assert!(filtered_by_class(&none, Some("ferrolb")));
    assert!(!filtered_by_class(&ours, Some("ferrolb")));
    assert!(filtered_by_class(&ours, Some("other")));
}

#[test]
fn backend_key_is_the_sorted_selector_only_for_local_traffic() {
    let local = service(
        json!({"spec": {"externalTrafficPolicy": "Local", "selector": {"b": "2", "a": "1"}}}),
    );
    let cluster =
        service(json!({"spec": {"externalTrafficPolicy": "Cluster", "selector": {"a": "1"}}}));
    assert_eq!(backend_key(&local), "a=1,b=2");
    assert_eq!(backend_key(&cluster), "");
}
