//! The controller process against a real kube-apiserver: addresses handed out, requested,
//! refused, shared, released and kept, with MetalLB's Events, annotations and status.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::json;
use support::{Lab, NS, TUTORIAL_CONFIG, eventually};

#[tokio::test]
async fn tutorial_configmap_gives_nginx_the_first_address_with_event_and_annotation() {
    let mut lab = Lab::start().await;
    lab.apply_legacy_config(TUTORIAL_CONFIG).await;
    lab.start_controller(&[]);
    lab.wait_ready().await;
    lab.create_service("default", json!({"metadata": {"name": "nginx"}}))
        .await;

    lab.wait_ingress("default", "nginx", &["198.51.100.0"])
        .await;
    let svc = lab.services("default").get("nginx").await.unwrap();
    let annotations = svc.metadata.annotations.unwrap_or_default();
    assert_eq!(
        annotations
            .get("metallb.io/ip-allocated-from-pool")
            .map(String::as_str),
        Some("my-ip-space")
    );
    let note = lab.wait_event("default", "nginx", "IPAllocated").await;
    assert_eq!(note, r#"Assigned IP ["198.51.100.0"]"#);
    let events = lab.events("default", "nginx").await;
    let allocated = events.iter().find(|e| e.1 == "IPAllocated").unwrap();
    assert_eq!(
        (allocated.0.as_str(), allocated.3.as_str()),
        ("Normal", "metallb-controller")
    );

    let state = lab.wait_configuration_state("Valid").await;
    assert_eq!(state["errorSummary"], json!(""), "{state}");
    let log = lab.controller_log();
    assert!(
        log.lines()
            .any(|l| l.contains(r#""event":"ipAllocated""#) && l.contains("198.51.100.0")),
        "{log}"
    );
    let metrics = eventually("pool gauges", Duration::from_secs(10), || async {
        let m = lab.metrics().await;
        m.contains(r#"metallb_allocator_addresses_in_use_total{pool="my-ip-space"} 1"#)
            .then_some(m)
    })
    .await;
    assert!(
        metrics.contains(r#"metallb_allocator_addresses_total{pool="my-ip-space"} 256"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("metallb_k8s_client_config_loaded_bool 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("metallb_k8s_client_config_stale_bool 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn requested_addresses_are_honoured_or_refused_with_an_event() {
    let mut lab = Lab::start().await;
    lab.apply_legacy_config(TUTORIAL_CONFIG).await;
    lab.start_controller(&[]);
    lab.wait_ready().await;

    lab.create_service(
        "default",
        json!({"metadata": {"name": "by-spec"}, "spec": {"loadBalancerIP": "198.51.100.42"}}),
    )
    .await;
    lab.create_service(
        "default",
        json!({"metadata": {"name": "by-annotation", "annotations": {"metallb.io/loadBalancerIPs": "198.51.100.43"}}}),
    )
    .await;
    lab.create_service(
        "default",
        json!({"metadata": {"name": "deprecated", "annotations": {"metallb.universe.tf/loadBalancerIPs": "198.51.100.44"}}}),
    )
    .await;
    lab.wait_ingress("default", "by-spec", &["198.51.100.42"])
        .await;
    lab.wait_ingress("default", "by-annotation", &["198.51.100.43"])
        .await;
    lab.wait_ingress("default", "deprecated", &["198.51.100.44"])
        .await;
    let note = lab
        .wait_event("default", "deprecated", "deprecatedAnnotation")
        .await;
    assert_eq!(
        note,
        "Service uses deprecated annotation metallb.universe.tf/loadBalancerIPs"
    );

    lab.create_service(
        "default",
        json!({"metadata": {"name": "outside"}, "spec": {"loadBalancerIP": "203.0.113.9"}}),
    )
    .await;
    let note = lab
        .wait_event("default", "outside", "AllocationFailed")
        .await;
    assert_eq!(
        note,
        r#"Failed to allocate IP for "default/outside": ["203.0.113.9"] is not allowed in config"#
    );
    assert!(lab.ingress("default", "outside").await.is_empty());

    lab.create_service(
        "default",
        json!({"metadata": {"name": "taken"}, "spec": {"loadBalancerIP": "198.51.100.42"}}),
    )
    .await;
    let note = lab.wait_event("default", "taken", "AllocationFailed").await;
    assert_eq!(
        note,
        r#"Failed to allocate IP for "default/taken": can't change sharing key for "default/taken", address also in use by default/by-spec"#
    );
    assert!(lab.ingress("default", "taken").await.is_empty());
}

#[tokio::test]
async fn pool_annotation_and_exhaustion_then_served_when_an_address_is_freed() {
    let mut lab = Lab::start().await;
    lab.apply_legacy_config(
        "address-pools:
- name: big
  protocol: bgp
  addresses: [198.51.100.0/24]
- name: tiny
  protocol: bgp
  addresses: [192.0.2.10-192.0.2.11]
",
    )
    .await;
    lab.start_controller(&[]);
    lab.wait_ready().await;
    for name in ["t1", "t2", "t3"] {
        lab.create_service(
            "default",
            json!({"metadata": {"name": name, "annotations": {"metallb.io/address-pool": "tiny"}}}),
        )
        .await;
    }
    lab.wait_ingress("default", "t1", &["192.0.2.10"]).await;
    lab.wait_ingress("default", "t2", &["192.0.2.11"]).await;
    let note = lab.wait_event("default", "t3", "AllocationFailed").await;
    assert_eq!(
        note,
        r#"Failed to allocate IP for "default/t3": no available IPs in pool tiny"#
    );
    assert!(lab.ingress("default", "t3").await.is_empty());

    lab.delete_service("default", "t1").await;
    lab.wait_ingress("default", "t3", &["192.0.2.10"]).await;
    assert_eq!(lab.ingress("default", "t2").await, ["192.0.2.11"]);
}

#[tokio::test]
async fn sharing_key_shares_compatible_services_and_refuses_a_port_clash() {
    let mut lab = Lab::start().await;
    lab.apply_legacy_config(TUTORIAL_CONFIG).await;
    lab.start_controller(&[]);
    lab.wait_ready().await;
    let shared = |name: &str, port: i32| {
        json!({
            "metadata": {"name": name, "annotations": {"metallb.io/allow-shared-ip": "web"}},
            "spec": {"loadBalancerIP": "198.51.100.7", "ports": [{"port": port, "protocol": "TCP"}]},
        })
    };
    lab.create_service("default", shared("http", 80)).await;
    lab.create_service("default", shared("https", 443)).await;
    lab.wait_ingress("default", "http", &["198.51.100.7"]).await;
    lab.wait_ingress("default", "https", &["198.51.100.7"])
        .await;

    lab.create_service("default", shared("clash", 80)).await;
    let note = lab.wait_event("default", "clash", "AllocationFailed").await;
    assert!(note.contains("port TCP/80 is already in use"), "{note}");

    lab.create_service(
        "default",
        json!({"metadata": {"name": "other-key", "annotations": {"metallb.io/allow-shared-ip": "other"}},
               "spec": {"loadBalancerIP": "198.51.100.7", "ports": [{"port": 8080, "protocol": "TCP"}]}}),
    )
    .await;
    let note = lab
        .wait_event("default", "other-key", "AllocationFailed")
        .await;
    assert!(note.contains("can't change sharing key"), "{note}");

    // The address stays while one sharer remains.
    lab.delete_service("default", "http").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(lab.ingress("default", "https").await, ["198.51.100.7"]);
}

#[tokio::test]
async fn dual_stack_services_get_one_address_of_each_family() {
    let mut lab = Lab::start().await;
    lab.apply_legacy_config(
        "address-pools:
- name: dual
  protocol: bgp
  addresses: [198.51.100.0/24, 2001:db8:5::/120]
",
    )
    .await;
    lab.start_controller(&[]);
    lab.wait_ready().await;
    lab.create_service(
        "default",
        json!({"metadata": {"name": "both"}, "spec": {"ipFamilyPolicy": "RequireDualStack"}}),
    )
    .await;
    lab.create_service(
        "default",
        json!({"metadata": {"name": "v6"}, "spec": {"ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv6"]}}),
    )
    .await;
    lab.wait_ingress("default", "both", &["198.51.100.0", "2001:db8:5::"])
        .await;
    lab.wait_ingress("default", "v6", &["2001:db8:5::1"]).await;
}

#[tokio::test]
async fn lb_class_limits_the_controller_to_its_services() {
    let mut lab = Lab::start().await;
    lab.apply_legacy_config(TUTORIAL_CONFIG).await;
    lab.start_controller(&["--lb-class", "ferrolb"]);
    lab.wait_ready().await;
    lab.create_service("default", json!({"metadata": {"name": "no-class"}}))
        .await;
    lab.create_service(
        "default",
        json!({"metadata": {"name": "other"}, "spec": {"loadBalancerClass": "example.com/other"}}),
    )
    .await;
    lab.create_service(
        "default",
        json!({"metadata": {"name": "ours"}, "spec": {"loadBalancerClass": "ferrolb"}}),
    )
    .await;
    lab.wait_ingress("default", "ours", &["198.51.100.0"]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(lab.ingress("default", "no-class").await.is_empty());
    assert!(lab.ingress("default", "other").await.is_empty());
}

#[tokio::test]
async fn a_service_that_stops_being_a_load_balancer_releases_its_address() {
    let mut lab = Lab::start().await;
    lab.apply_legacy_config(TUTORIAL_CONFIG).await;
    lab.start_controller(&[]);
    lab.wait_ready().await;
    lab.create_service("default", json!({"metadata": {"name": "a"}}))
        .await;
    lab.wait_ingress("default", "a", &["198.51.100.0"]).await;
    let patch = json!({"spec": {"type": "ClusterIP", "ports": [{"port": 80, "protocol": "TCP", "nodePort": null}]}});
    lab.services("default")
        .patch(
            "a",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .unwrap();
    lab.wait_ingress("default", "a", &[]).await;
    lab.create_service("default", json!({"metadata": {"name": "b"}}))
        .await;
    lab.wait_ingress("default", "b", &["198.51.100.0"]).await;
    let svc = lab.services("default").get("a").await.unwrap();
    assert!(
        !svc.metadata
            .annotations
            .unwrap_or_default()
            .contains_key("metallb.io/ip-allocated-from-pool")
    );
}

#[tokio::test]
async fn restart_keeps_every_address_even_when_new_services_wait() {
    let mut lab = Lab::start().await;
    lab.apply_legacy_config(TUTORIAL_CONFIG).await;
    lab.start_controller(&[]);
    lab.wait_ready().await;
    for i in 0..20 {
        lab.create_service("default", json!({"metadata": {"name": format!("s{i:02}")}}))
            .await;
    }
    for i in 0..20 {
        lab.wait_ingress(
            "default",
            &format!("s{i:02}"),
            &[&format!("198.51.100.{i}")],
        )
        .await;
    }
    lab.stop_controller();
    // Free low addresses and add Services while the controller is down: on restart the
    // newcomers must not take an address someone still holds.
    for i in [3, 7] {
        lab.delete_service("default", &format!("s{i:02}")).await;
    }
    for name in ["aa-new", "ab-new", "ac-new"] {
        lab.create_service("default", json!({"metadata": {"name": name}}))
            .await;
    }
    lab.start_controller(&[]);
    lab.wait_ready().await;
    lab.wait_ingress("default", "aa-new", &["198.51.100.3"])
        .await;
    lab.wait_ingress("default", "ab-new", &["198.51.100.7"])
        .await;
    lab.wait_ingress("default", "ac-new", &["198.51.100.20"])
        .await;
    for i in (0..20).filter(|i| ![3, 7].contains(i)) {
        assert_eq!(
            lab.ingress("default", &format!("s{i:02}")).await,
            [format!("198.51.100.{i}")]
        );
    }
    let reallocated = lab
        .controller_log()
        .lines()
        .filter(|l| l.contains(r#""event":"clearAssignment""#) && l.contains("s0"))
        .count();
    assert_eq!(reallocated, 0, "{}", lab.controller_log());
}

#[tokio::test]
async fn broken_configuration_is_reported_and_the_last_good_one_stays() {
    let mut lab = Lab::start().await;
    lab.apply_legacy_config(TUTORIAL_CONFIG).await;
    lab.start_controller(&[]);
    lab.wait_ready().await;
    lab.create_service("default", json!({"metadata": {"name": "keep"}}))
        .await;
    lab.wait_ingress("default", "keep", &["198.51.100.0"]).await;

    lab.apply_legacy_config("address-pools:\n- name: my-ip-space\n  addresses: [198.51.100.0/24\n")
        .await;
    let state = lab.wait_configuration_state("Invalid").await;
    let summary = state["errorSummary"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!summary.is_empty(), "{state}");
    eventually("stale metric", Duration::from_secs(10), || async {
        lab.metrics()
            .await
            .contains("metallb_k8s_client_config_stale_bool 1")
            .then_some(())
    })
    .await;
    lab.wait_event(NS, "controller", "InvalidConfig").await;

    // Overlapping pools: a cross-object error.
    lab.apply_legacy_config(
        "address-pools:
- name: my-ip-space
  protocol: bgp
  addresses: [198.51.100.0/24]
- name: overlap
  protocol: bgp
  addresses: [198.51.100.128/25]
",
    )
    .await;
    eventually("overlap reported", Duration::from_secs(30), || async {
        let status = lab.configuration_state().await?;
        status["errorSummary"]
            .as_str()?
            .contains("overlap")
            .then_some(())
    })
    .await;

    // Nothing was released, and new Services still get addresses from the last good config.
    assert_eq!(lab.ingress("default", "keep").await, ["198.51.100.0"]);
    lab.create_service("default", json!({"metadata": {"name": "new"}}))
        .await;
    lab.wait_ingress("default", "new", &["198.51.100.1"]).await;

    lab.apply_legacy_config(TUTORIAL_CONFIG).await;
    lab.wait_configuration_state("Valid").await;
    assert!(lab.controller_running());
}

#[tokio::test]
async fn pools_from_custom_resources_shrink_and_go_away_as_in_metallb() {
    let mut lab = Lab::start().await;
    let pool = |addresses: &[&str]| {
        json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "crs", "namespace": NS},
               "spec": {"addresses": addresses}})
    };
    lab.apply_cr(pool(&["198.51.100.0/30"])).await.unwrap();
    lab.start_controller(&[]);
    lab.wait_ready().await;
    for name in ["a", "b", "c"] {
        lab.create_service("default", json!({"metadata": {"name": name}}))
            .await;
    }
    lab.wait_ingress("default", "c", &["198.51.100.2"]).await;
    eventually("pool status counters", Duration::from_secs(20), || async {
        let api: kube::Api<lb_config::crd::ip_address_pool::IPAddressPool> =
            kube::Api::namespaced(lab.client.clone(), NS);
        let status = api.get("crs").await.ok()?.status?;
        (status.assigned_ipv4 == 3 && status.available_ipv4 == 1).then_some(())
    })
    .await;

    // Shrink: the Service whose address left the pool is re-evaluated and gets a free one.
    lab.apply_cr(pool(&["198.51.100.0-198.51.100.1", "198.51.100.3/32"]))
        .await
        .unwrap();
    lab.wait_ingress("default", "c", &["198.51.100.3"]).await;
    assert_eq!(lab.ingress("default", "a").await, ["198.51.100.0"]);

    // Gone: every Service loses its address.
    lab.delete_cr("v1beta1", "IPAddressPool", "crs").await;
    for name in ["a", "b", "c"] {
        lab.wait_ingress("default", name, &[]).await;
    }
}

#[tokio::test]
async fn runs_with_only_the_rights_its_manifest_grants() {
    let mut lab = Lab::start().await;
    let manifest = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../manifests/parts/controller-rbac.yaml"
    );
    lab.kubectl(&["apply", "-f", manifest]);
    let token = lab
        .cluster
        .service_account_token(NS, "controller")
        .await
        .unwrap();
    let kubeconfig = lab.cluster.data_dir().join("controller-sa.kubeconfig");
    lab.cluster
        .write_kubeconfig_with_token(&token, &kubeconfig)
        .unwrap();

    let pool = json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "crs", "namespace": NS},
                      "spec": {"addresses": ["198.51.100.0/24"]}});
    lab.apply_cr(pool).await.unwrap();
    lab.start_controller_with(&["--kubeconfig", kubeconfig.to_str().unwrap()], &[]);
    lab.wait_ready().await;
    lab.create_service("default", json!({"metadata": {"name": "nginx"}}))
        .await;
    lab.wait_ingress("default", "nginx", &["198.51.100.0"])
        .await;
    lab.wait_event("default", "nginx", "IPAllocated").await;
    lab.wait_configuration_state("Valid").await;
    eventually("pool status written", Duration::from_secs(20), || async {
        let api: kube::Api<lb_config::crd::ip_address_pool::IPAddressPool> =
            kube::Api::namespaced(lab.client.clone(), NS);
        (api.get("crs").await.ok()?.status?.assigned_ipv4 == 1).then_some(())
    })
    .await;
    let log = lab.controller_log();
    assert!(
        !log.contains("forbidden"),
        "the controller lacked a right:\n{log}"
    );
}

#[tokio::test]
async fn service_allocation_picks_pools_by_namespace_label_and_priority() {
    let mut lab = Lab::start().await;
    lab.create_namespace("team-a", &[("team", "a")]).await;
    lab.create_namespace("team-b", &[("team", "b")]).await;
    let pool = |name: &str, cidr: &str, allocation: serde_json::Value| {
        json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": name, "namespace": NS},
               "spec": {"addresses": [cidr], "serviceAllocation": allocation}})
    };
    lab.apply_cr(pool("general", "198.51.100.0/24", json!({"priority": 50})))
        .await
        .unwrap();
    lab.apply_cr(pool(
        "team-a",
        "192.0.2.0/24",
        json!({"priority": 10, "namespaceSelectors": [{"matchLabels": {"team": "a"}}]}),
    ))
    .await
    .unwrap();
    lab.apply_cr(pool("labelled", "203.0.113.0/24", json!({"priority": 5, "serviceSelectors": [{"matchExpressions": [{"key": "tier", "operator": "In", "values": ["edge"]}]}]})))
        .await
        .unwrap();
    lab.start_controller(&[]);
    lab.wait_ready().await;

    lab.create_service("team-a", json!({"metadata": {"name": "web"}}))
        .await;
    lab.create_service("team-b", json!({"metadata": {"name": "web"}}))
        .await;
    lab.create_service(
        "team-b",
        json!({"metadata": {"name": "edge", "labels": {"tier": "edge"}}}),
    )
    .await;
    lab.wait_ingress("team-a", "web", &["192.0.2.0"]).await;
    lab.wait_ingress("team-b", "web", &["198.51.100.0"]).await;
    lab.wait_ingress("team-b", "edge", &["203.0.113.0"]).await;
    let svc = lab.services("team-a").get("web").await.unwrap();
    assert_eq!(
        svc.metadata
            .annotations
            .unwrap_or_default()
            .get("metallb.io/ip-allocated-from-pool")
            .map(String::as_str),
        Some("team-a")
    );
}
