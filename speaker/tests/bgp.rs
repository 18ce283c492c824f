//! The speaker end to end: two nodes' speakers in their namespaces, the real controller, a
//! real apiserver, and FRR or mini-router as the router, as in the seed's tutorial.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use support::routers::{Frr, MiniRouter, Router, frr_config, wait_established, wait_next_hops};
use support::{Lab, NODES, TUTORIAL_CONFIG, eventually, workspace_binary};

const NODE_ADDRESSES: [&str; 2] = ["10.192.0.3", "10.192.0.4"];

/// The seed's steps: the tutorial's ConfigMap, the controller, a speaker per node, an nginx
/// Service; the router learns 198.51.100.0/32 from both nodes.
async fn tutorial(lab: &mut Lab, router: &dyn Router) {
    lab.apply_legacy_config(TUTORIAL_CONFIG).await;
    lab.start_controller();
    for (node, _) in NODES {
        lab.start_speaker(node, &[]);
    }
    wait_established(router, &NODE_ADDRESSES, false).await;
    lab.create_service(json!({"metadata": {"name": "nginx"}}))
        .await;
    lab.endpoints("nginx", &["kube-node-1"]).await;
    lab.wait_ingress("nginx", &["198.51.100.0"]).await;
    let paths = wait_next_hops(router, "198.51.100.0/32", &NODE_ADDRESSES).await;
    assert!(
        paths.iter().all(|p| p.origin == "incomplete"),
        "MetalLB's ORIGIN: {paths:?}"
    );
}

#[tokio::test]
async fn two_speakers_announce_the_tutorials_service_to_frr_from_both_nodes() {
    let mut lab = Lab::start().await;
    let frr = Frr::start(lab.net.host("router"), &frr_config(&NODE_ADDRESSES, ""));
    tutorial(&mut lab, &frr).await;
    // Without `enableGracefulRestart` (the legacy ConfigMap has none) the speakers send no
    // Graceful Restart capability: FRR lists only its own.
    for address in NODE_ADDRESSES {
        let caps = frr.neighbor(address).unwrap()["neighborCapabilities"].clone();
        assert_eq!(
            (&caps["gracefulRestart"], &caps["gracefulRestartCapability"]),
            (&serde_json::Value::Null, &json!("advertised")),
            "{address}: {caps}"
        );
    }

    // The attributes MetalLB's native speaker sends: ORIGIN incomplete and, with no
    // localPref configured, LOCAL_PREF 0 (FRR shows "localpref 0", as in the reference).
    for p in wait_next_hops(&frr, "198.51.100.0/32", &NODE_ADDRESSES).await {
        assert_eq!(
            (p.local_pref, p.origin.as_str()),
            (Some(0), "incomplete"),
            "{p:?}"
        );
    }

    for (node, _) in NODES {
        let up = lab.speaker_events(node, "sessionUp");
        assert!(
            up.iter().any(|l| l["peer"] == "10.192.0.7"
                && l["localASN"] == 64512
                && l["peerASN"] == 64512
                && l["msg"] == "BGP session established"),
            "{node}: {up:?}"
        );
        let announced = lab.speaker_events(node, "serviceAnnounced");
        assert!(
            announced.iter().any(|l| l["ips"] == json!(["198.51.100.0"])
                && l["pool"] == "my-ip-space"
                && l["protocol"] == "bgp"),
            "{node}: {announced:?}"
        );
        assert!(
            !lab.speaker_log(node).contains("forbidden"),
            "{}",
            lab.speaker_log(node)
        );
    }

    // The nodeAssigned Event from each node, with MetalLB's text.
    let notes = eventually(
        "nodeAssigned from both nodes",
        Duration::from_secs(20),
        || async {
            let notes: BTreeSet<String> = lab
                .events("nginx")
                .await
                .into_iter()
                .filter(|e| e.reason == "nodeAssigned" && e.controller == "metallb-speaker")
                .map(|e| e.note)
                .collect();
            (notes.len() == 2).then_some(notes)
        },
    )
    .await;
    assert_eq!(
        notes,
        BTreeSet::from([
            r#"announcing from node "kube-node-1" with protocol "bgp""#.to_owned(),
            r#"announcing from node "kube-node-2" with protocol "bgp""#.to_owned(),
        ])
    );

    // One ServiceBGPStatus per node, naming the peer.
    let statuses = eventually(
        "a ServiceBGPStatus per node",
        Duration::from_secs(20),
        || async {
            let list = lab.list_cr("v1beta1", "ServiceBGPStatus").await;
            let seen: BTreeSet<(String, String, String, String)> = list
                .iter()
                .map(|o| {
                    (
                        o["status"]["node"].as_str().unwrap_or_default().to_owned(),
                        o["status"]["serviceNamespace"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        o["status"]["serviceName"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        o["status"]["peers"].to_string(),
                    )
                })
                .collect();
            (seen.len() == 2 && list.len() == 2).then_some(seen)
        },
    )
    .await;
    for (node, _) in NODES {
        assert!(
            statuses.contains(&(
                node.to_owned(),
                "default".to_owned(),
                "nginx".to_owned(),
                json!(["peer1"]).to_string()
            )),
            "{statuses:?}"
        );
    }

    // ConfigurationState speaker-<node>, Valid.
    for (node, _) in NODES {
        let name = format!("speaker-{node}");
        eventually(
            &format!("{name} Valid"),
            Duration::from_secs(20),
            || async {
                let states = lab.list_cr("v1beta1", "ConfigurationState").await;
                states
                    .iter()
                    .any(|s| {
                        s["metadata"]["name"] == name.as_str() && s["status"]["result"] == "Valid"
                    })
                    .then_some(())
            },
        )
        .await;
    }

    // MetalLB's metrics.
    let metrics = eventually("the session metrics", Duration::from_secs(20), || async {
        let m = lab.speaker_http("kube-node-1", "/metrics").await?;
        m.contains(r#"metallb_bgp_announced_prefixes_total{peer="10.192.0.7:179"} 1"#)
            .then_some(m)
    })
    .await;
    for line in [
        r#"metallb_bgp_session_up{peer="10.192.0.7:179"} 1"#,
        r#"metallb_bgp_pending_prefixes_total{peer="10.192.0.7:179"} 1"#,
        r#"metallb_speaker_announced{service="default/nginx",protocol="bgp",node="kube-node-1",ip="198.51.100.0"} 1"#,
        "metallb_k8s_client_config_loaded_bool 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line:?} in\n{metrics}"
        );
    }
    let updates = metrics
        .lines()
        .find_map(|l| l.strip_prefix(r#"metallb_bgp_updates_total{peer="10.192.0.7:179"} "#))
        .and_then(|v| v.parse::<u64>().ok());
    assert!(updates.is_some_and(|n| n >= 1), "{metrics}");
}

#[tokio::test]
async fn two_speakers_announce_the_tutorials_service_to_mini_router_from_both_nodes() {
    let mut lab = Lab::start().await;
    let router = quick_start_mini_router(&lab, false);
    tutorial(&mut lab, &router).await;
}

/// mini-router in the router namespace as the tutorial starts it (AS 64512, any speaker of
/// the LAN as a dynamic neighbor), with or without its kernel FIB.
fn quick_start_mini_router(lab: &Lab, fib: bool) -> MiniRouter {
    let binary = workspace_binary("mini-router", "mini-router");
    let args = [
        "--asn",
        "64512",
        "--listen-range",
        "10.192.0.0/24",
        "--hostname",
        "router",
    ];
    let ns = lab.net.host("router");
    if fib {
        MiniRouter::start_with_fib(&binary, ns, &args)
    } else {
        MiniRouter::start(&binary, ns, &args)
    }
}

/// The lab with FRR peering with both nodes (`extra` inside `router bgp`), the controller,
/// and both speakers, after the configuration `config` (legacy text) was applied.
async fn lab_with_frr(extra: &str) -> (Lab, Frr) {
    let mut lab = Lab::start().await;
    let frr = Frr::start(lab.net.host("router"), &frr_config(&NODE_ADDRESSES, extra));
    lab.start_controller();
    (lab, frr)
}

fn start_speakers(lab: &mut Lab) {
    for (node, _) in NODES {
        lab.start_speaker(node, &[]);
    }
}

/// A FRR neighbor's value at `pointer` (e.g. `/messageStats/opensRecv`).
fn neighbor_u64(frr: &Frr, neighbor: &str, pointer: &str) -> u64 {
    let n = frr.neighbor(neighbor).unwrap();
    n.pointer(pointer)
        .and_then(serde_json::Value::as_u64)
        .unwrap_or_else(|| panic!("no {pointer} in {n}"))
}

/// Waits until `node`'s speaker has logged `event` at least `count` times.
async fn wait_logged(lab: &Lab, node: &str, event: &str, count: usize) -> Vec<serde_json::Value> {
    eventually(
        &format!("{node}'s speaker to log {event} {count} times"),
        Duration::from_secs(30),
        || async move {
            let lines = lab.speaker_events(node, event);
            (lines.len() >= count).then_some(lines)
        },
    )
    .await
}

#[tokio::test]
async fn local_traffic_follows_the_endpoint_and_a_deleted_service_is_withdrawn_everywhere() {
    let (mut lab, frr) = lab_with_frr("").await;
    lab.apply_legacy_config(TUTORIAL_CONFIG).await;
    start_speakers(&mut lab);
    wait_established(&frr, &NODE_ADDRESSES, false).await;
    lab.create_service(
        json!({"metadata": {"name": "web"}, "spec": {"externalTrafficPolicy": "Local"}}),
    )
    .await;
    lab.wait_ingress("web", &["198.51.100.0"]).await;
    lab.endpoints("web", &["kube-node-1"]).await;
    wait_next_hops(&frr, "198.51.100.0/32", &["10.192.0.3"]).await;
    lab.endpoints("web", &["kube-node-2"]).await;
    wait_next_hops(&frr, "198.51.100.0/32", &["10.192.0.4"]).await;
    let withdrawn = wait_logged(&lab, "kube-node-1", "serviceWithdrawn", 1).await;
    assert_eq!(withdrawn[0]["reason"], "noLocalEndpoints", "{withdrawn:?}");
    assert_eq!(withdrawn[0]["ip"], json!(["198.51.100.0"]));

    lab.endpoints("web", &["kube-node-1", "kube-node-2"]).await;
    wait_next_hops(&frr, "198.51.100.0/32", &NODE_ADDRESSES).await;
    lab.delete_service("web").await;
    wait_next_hops(&frr, "198.51.100.0/32", &[]).await;
    for (node, _) in NODES {
        let lines = wait_logged(&lab, node, "serviceWithdrawn", 1).await;
        assert_eq!(
            lines.last().unwrap()["reason"],
            "serviceDeleted",
            "{node}: {lines:?}"
        );
    }
    // The ServiceBGPStatus objects go with the announcement.
    eventually(
        "no ServiceBGPStatus left",
        Duration::from_secs(20),
        || async {
            lab.list_cr("v1beta1", "ServiceBGPStatus")
                .await
                .is_empty()
                .then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn a_shared_address_stays_announced_while_one_sharer_remains() {
    let (mut lab, frr) = lab_with_frr("").await;
    lab.apply_legacy_config(TUTORIAL_CONFIG).await;
    start_speakers(&mut lab);
    wait_established(&frr, &NODE_ADDRESSES, false).await;
    for (name, port) in [("http", 80), ("https", 443)] {
        lab.create_service(json!({
            "metadata": {"name": name, "annotations": {"metallb.io/allow-shared-ip": "web"}},
            "spec": {"loadBalancerIP": "198.51.100.10", "ports": [{"port": port, "protocol": "TCP"}]},
        }))
        .await;
        lab.endpoints(name, &["kube-node-1"]).await;
        lab.wait_ingress(name, &["198.51.100.10"]).await;
    }
    wait_next_hops(&frr, "198.51.100.10/32", &NODE_ADDRESSES).await;
    let before = neighbor_u64(&frr, "10.192.0.3", "/messageStats/updatesRecv");

    lab.delete_service("http").await;
    for (node, _) in NODES {
        let lines = wait_logged(&lab, node, "serviceWithdrawn", 1).await;
        assert_eq!(lines[0]["service"], "default/http", "{lines:?}");
    }
    // The speakers have handled the deletion: the route is still there, and no UPDATE was
    // sent for it.
    let paths = frr.paths("198.51.100.10/32").unwrap();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert_eq!(
        neighbor_u64(&frr, "10.192.0.3", "/messageStats/updatesRecv"),
        before
    );

    lab.delete_service("https").await;
    wait_next_hops(&frr, "198.51.100.10/32", &[]).await;
}

#[tokio::test]
async fn sigterm_withdraws_then_closes_with_cease_2_and_a_restarted_speaker_is_back_at_once() {
    let (mut lab, frr) = lab_with_frr("").await;
    tutorial(&mut lab, &frr).await;
    let updates = neighbor_u64(&frr, "10.192.0.3", "/messageStats/updatesRecv");

    assert!(
        lab.terminate_speaker("kube-node-1"),
        "a clean exit on SIGTERM"
    );
    wait_next_hops(&frr, "198.51.100.0/32", &["10.192.0.4"]).await;
    let neighbor = eventually(
        "10.192.0.3 down at FRR",
        Duration::from_secs(10),
        || async {
            let n = frr.neighbor("10.192.0.3").ok()?;
            (n["bgpState"] != "Established").then_some(n)
        },
    )
    .await;
    assert!(
        neighbor["messageStats"]["updatesRecv"].as_u64() > Some(updates),
        "the withdrawal came as an UPDATE: {neighbor}"
    );
    let reset = neighbor.to_string();
    assert!(
        reset.contains("Administrative Shutdown"),
        "Cease/2 Administrative Shutdown: {neighbor}"
    );
    // FRR logged the withdrawal before the NOTIFICATION.
    let log = frr.log();
    let withdrawn = log.lines().position(|l| {
        l.contains("10.192.0.3") && l.contains("198.51.100.0/32") && l.contains("withdrawn")
    });
    let notified = log.lines().position(|l| {
        l.contains("10.192.0.3") && l.contains("received") && l.contains("NOTIFICATION")
    });
    assert!(
        matches!((withdrawn, notified), (Some(w), Some(n)) if w < n),
        "withdrawal {withdrawn:?} before NOTIFICATION {notified:?}:\n{log}"
    );
    let shutdown: Vec<String> = lab
        .speaker_log("kube-node-1")
        .lines()
        .filter(|l| l.contains(r#""op":"shutdown""#))
        .map(str::to_owned)
        .collect();
    assert_eq!(shutdown.len(), 2, "starting shutdown, done: {shutdown:?}");

    // Started again, it is taken back at once and announces again.
    lab.start_speaker("kube-node-1", &[]);
    wait_next_hops(&frr, "198.51.100.0/32", &NODE_ADDRESSES).await;
    assert_eq!(
        neighbor_u64(&frr, "10.192.0.3", "/connectionsEstablished"),
        2
    );
}

/// BGPPeers, a pool and an advertisement as custom resources; peer `b` dials from a second
/// address of kube-node-1 (10.192.0.13), so FRR sees two neighbors.
fn two_peer_objects(hold_b: &str) -> Vec<serde_json::Value> {
    vec![
        json!({"apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer", "metadata": {"name": "a"},
               "spec": {"myASN": 64512, "peerASN": 64512, "peerAddress": "10.192.0.7",
                        "nodeSelectors": [{"matchLabels": {"kubernetes.io/hostname": "kube-node-1"}}]}}),
        json!({"apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer", "metadata": {"name": "b"},
               "spec": {"myASN": 64512, "peerASN": 64512, "peerAddress": "10.192.0.8",
                        "sourceAddress": "10.192.0.13", "holdTime": hold_b,
                        "nodeSelectors": [{"matchLabels": {"kubernetes.io/hostname": "kube-node-1"}}]}}),
        json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "pool"},
               "spec": {"addresses": ["198.51.100.0/24"]}}),
        json!({"apiVersion": "metallb.io/v1beta1", "kind": "BGPAdvertisement", "metadata": {"name": "all"}, "spec": {}}),
    ]
}

/// The lab with a second address on the router (10.192.0.8) and on kube-node-1
/// (10.192.0.13), and FRR peering with both of kube-node-1's addresses.
async fn two_peer_lab() -> (Lab, Frr) {
    let lab = Lab::start().await;
    lab.add_address("router", "10.192.0.8/24");
    lab.add_address("kube-node-1", "10.192.0.13/24");
    let frr = Frr::start(
        lab.net.host("router"),
        &frr_config(&["10.192.0.3", "10.192.0.13"], ""),
    );
    (lab, frr)
}

#[tokio::test]
async fn an_unrelated_edit_resets_no_session_and_a_timer_change_resets_only_its_peer() {
    let (mut lab, frr) = two_peer_lab().await;
    for object in two_peer_objects("90s") {
        lab.apply_cr(object).await;
    }
    lab.start_controller();
    lab.start_speaker("kube-node-1", &[]);
    wait_established(&frr, &["10.192.0.3", "10.192.0.13"], false).await;
    lab.create_service(json!({"metadata": {"name": "nginx"}}))
        .await;
    lab.endpoints("nginx", &["kube-node-1"]).await;
    wait_next_hops(&frr, "198.51.100.0/32", &["10.192.0.3", "10.192.0.13"]).await;
    let opens = |n: &str| neighbor_u64(&frr, n, "/messageStats/opensRecv");
    let (a, b) = (opens("10.192.0.3"), opens("10.192.0.13"));
    let loaded = lab.speaker_events("kube-node-1", "configLoaded").len();

    // Unrelated: a new pool, a new advertisement of it, a new Service.
    lab.apply_cr(json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "other"},
                        "spec": {"addresses": ["203.0.113.0/24"], "autoAssign": false}}))
        .await;
    lab.apply_cr(json!({"apiVersion": "metallb.io/v1beta1", "kind": "BGPAdvertisement", "metadata": {"name": "other"},
                        "spec": {"ipAddressPools": ["other"], "communities": ["64512:9"]}}))
        .await;
    wait_logged(&lab, "kube-node-1", "configLoaded", loaded + 1).await;
    lab.create_service(
        json!({"metadata": {"name": "other", "annotations": {"metallb.io/address-pool": "other"}}}),
    )
    .await;
    lab.endpoints("other", &["kube-node-1"]).await;
    wait_next_hops(&frr, "203.0.113.0/32", &["10.192.0.3", "10.192.0.13"]).await;
    assert_eq!(
        (opens("10.192.0.3"), opens("10.192.0.13")),
        (a, b),
        "no session was reset"
    );
    for n in ["10.192.0.3", "10.192.0.13"] {
        assert_eq!(neighbor_u64(&frr, n, "/connectionsEstablished"), 1, "{n}");
    }

    // Peer b's hold time: only b's session is replaced.
    lab.apply_cr(two_peer_objects("30s").swap_remove(1)).await;
    eventually("peer b's new session", Duration::from_secs(30), || async {
        (neighbor_u64(&frr, "10.192.0.13", "/connectionsEstablished") == 2
            && frr.neighbor("10.192.0.13").ok()?["bgpState"] == "Established")
            .then_some(())
    })
    .await;
    assert_eq!(opens("10.192.0.3"), a, "peer a was not reset");
    assert_eq!(
        neighbor_u64(&frr, "10.192.0.3", "/connectionsEstablished"),
        1
    );
    let removed = lab.speaker_events("kube-node-1", "peerRemoved");
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(removed[0]["reason"], "parametersChanged");
    assert_eq!(removed[0]["peer"], "10.192.0.8");
}

#[tokio::test]
async fn communities_local_pref_and_aggregation_reach_frr() {
    let mut lab = Lab::start().await;
    let frr = Frr::start(lab.net.host("router"), &frr_config(&NODE_ADDRESSES, ""));
    for object in [
        json!({"apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer", "metadata": {"name": "router"},
               "spec": {"myASN": 64512, "peerASN": 64512, "peerAddress": "10.192.0.7"}}),
        json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "pool"},
               "spec": {"addresses": ["198.51.100.0/24"]}}),
        json!({"apiVersion": "metallb.io/v1beta1", "kind": "Community", "metadata": {"name": "aliases"},
               "spec": {"communities": [{"name": "tenant-blue", "value": "64512:100"}]}}),
        json!({"apiVersion": "metallb.io/v1beta1", "kind": "BGPAdvertisement", "metadata": {"name": "aggregated"},
               "spec": {"aggregationLength": 24, "localPref": 150,
                        "communities": ["tenant-blue", "64512:7", "large:64512:1:2"]}}),
    ] {
        lab.apply_cr(object).await;
    }
    lab.start_controller();
    start_speakers(&mut lab);
    wait_established(&frr, &NODE_ADDRESSES, false).await;
    lab.create_service(json!({"metadata": {"name": "nginx"}}))
        .await;
    lab.endpoints("nginx", &["kube-node-1"]).await;
    let paths = wait_next_hops(&frr, "198.51.100.0/24", &NODE_ADDRESSES).await;
    for p in &paths {
        assert_eq!(p.local_pref, Some(150), "{p:?}");
        assert_eq!(p.communities, ["64512:100", "64512:7"], "{p:?}");
        assert_eq!(p.large_communities, ["64512:1:2"], "{p:?}");
        assert_eq!(p.origin, "incomplete", "{p:?}");
    }
    assert!(
        frr.paths("198.51.100.0/32").unwrap().is_empty(),
        "only the aggregate"
    );
}

#[tokio::test]
async fn node_selectors_choose_which_nodes_peer_and_which_announce() {
    let mut lab = Lab::start().await;
    let frr = Frr::start(lab.net.host("router"), &frr_config(&NODE_ADDRESSES, ""));
    lab.label_node("kube-node-1", "zone", Some("a")).await;
    lab.label_node("kube-node-2", "zone", Some("b")).await;
    let advertisement = |selector: serde_json::Value| {
        json!({"apiVersion": "metallb.io/v1beta1", "kind": "BGPAdvertisement", "metadata": {"name": "ad"},
               "spec": {"nodeSelectors": selector}})
    };
    for object in [
        json!({"apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer", "metadata": {"name": "zone-a"},
               "spec": {"myASN": 64512, "peerASN": 64512, "peerAddress": "10.192.0.7",
                        "nodeSelectors": [{"matchLabels": {"zone": "a"}}]}}),
        json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "pool"},
               "spec": {"addresses": ["198.51.100.0/24"]}}),
        advertisement(json!([])),
    ] {
        lab.apply_cr(object).await;
    }
    lab.start_controller();
    start_speakers(&mut lab);
    lab.create_service(json!({"metadata": {"name": "nginx"}}))
        .await;
    lab.endpoints("nginx", &["kube-node-1"]).await;
    wait_next_hops(&frr, "198.51.100.0/32", &["10.192.0.3"]).await;
    // kube-node-2 decided (it announces to every peer it has: none) and opened no session.
    wait_logged(&lab, "kube-node-2", "serviceAnnounced", 1).await;
    assert!(lab.speaker_events("kube-node-2", "peerAdded").is_empty());
    assert_ne!(
        frr.neighbor("10.192.0.4").unwrap()["bgpState"],
        "Established"
    );

    // The node's labels change: it peers and announces too.
    lab.label_node("kube-node-2", "zone", Some("a")).await;
    wait_next_hops(&frr, "198.51.100.0/32", &NODE_ADDRESSES).await;
    let changed = wait_logged(&lab, "kube-node-2", "nodeLabelsChanged", 1).await;
    assert_eq!(
        changed[0]["msg"],
        "Node labels changed, resyncing BGP peers"
    );

    // An advertisement for kube-node-2 only: kube-node-1 withdraws.
    lab.apply_cr(advertisement(
        json!([{"matchLabels": {"kubernetes.io/hostname": "kube-node-2"}}]),
    ))
    .await;
    wait_next_hops(&frr, "198.51.100.0/32", &["10.192.0.4"]).await;
    let withdrawn = wait_logged(&lab, "kube-node-1", "serviceWithdrawn", 1).await;
    assert_eq!(withdrawn[0]["reason"], "notOwner", "{withdrawn:?}");

    // Excluded from external load balancers: kube-node-2 withdraws too, as MetalLB's.
    lab.label_node(
        "kube-node-2",
        "node.kubernetes.io/exclude-from-external-load-balancers",
        Some(""),
    )
    .await;
    wait_next_hops(&frr, "198.51.100.0/32", &[]).await;
    let withdrawn = wait_logged(&lab, "kube-node-2", "serviceWithdrawn", 1).await;
    assert_eq!(
        withdrawn[0]["reason"], "nodeLabeledExcludeBalancers",
        "{withdrawn:?}"
    );
}

#[tokio::test]
async fn a_wrong_password_gives_no_session_and_a_clear_log_until_the_secret_has_the_right_one() {
    let mut lab = Lab::start().await;
    let frr = Frr::start(
        lab.net.host("router"),
        &frr_config(&["10.192.0.3"], " neighbor 10.192.0.3 password s3cret\n"),
    );
    let peer = |spec: serde_json::Value| {
        let mut s = json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.192.0.7", "connectTime": "2s"});
        support::merge_json(&mut s, spec);
        json!({"apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer", "metadata": {"name": "router"}, "spec": s})
    };
    lab.apply_cr(peer(json!({"password": "wrong"}))).await;
    lab.apply_cr(json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "pool"},
                        "spec": {"addresses": ["198.51.100.0/24"]}}))
        .await;
    lab.start_speaker("kube-node-1", &[]);
    let line = eventually(
        "the connect failure logged",
        Duration::from_secs(40),
        || async {
            lab.speaker_log("kube-node-1")
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|l| l["op"] == "connect" && l["msg"] == "failed to connect to peer")
        },
    )
    .await;
    assert_eq!(line["peer"], "10.192.0.7", "{line}");
    assert!(
        line["error"]
            .as_str()
            .unwrap_or_default()
            .contains("TCP MD5 password"),
        "{line}"
    );
    assert_ne!(
        frr.neighbor("10.192.0.3").unwrap()["bgpState"],
        "Established"
    );
    assert!(lab.speaker_events("kube-node-1", "sessionUp").is_empty());

    // The right password, from a basic-auth Secret: the session comes up.
    lab.create_secret(
        "router-password",
        "kubernetes.io/basic-auth",
        &[("password", "s3cret")],
    )
    .await;
    // Applied by the same field manager, the password left out is removed.
    lab.apply_cr(peer(json!({"passwordSecret": {"name": "router-password"}})))
        .await;
    wait_established(&frr, &["10.192.0.3"], false).await;
    wait_logged(&lab, "kube-node-1", "sessionUp", 1).await;
}

#[tokio::test]
async fn an_ipv6_service_address_goes_over_an_ipv6_session() {
    let mut lab = Lab::start().await;
    let frr = Frr::start(lab.net.host("router"), &frr_config(&["fd00:192::3"], ""));
    for object in [
        json!({"apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer", "metadata": {"name": "router-v6"},
               "spec": {"myASN": 64512, "peerASN": 64512, "peerAddress": "fd00:192::7"}}),
        json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "v6"},
               "spec": {"addresses": ["fd00:1::/120"]}}),
        json!({"apiVersion": "metallb.io/v1beta1", "kind": "BGPAdvertisement", "metadata": {"name": "all"}, "spec": {}}),
    ] {
        lab.apply_cr(object).await;
    }
    lab.start_speaker("kube-node-1", &[]);
    wait_established(&frr, &["fd00:192::3"], true).await;
    // No controller here: the status an IPv6 allocation would write, by hand.
    lab.create_service(json!({"metadata": {"name": "v6"}}))
        .await;
    lab.set_ingress("v6", &["fd00:1::5"]).await;
    lab.endpoints("v6", &["kube-node-1"]).await;
    let paths = wait_next_hops(&frr, "fd00:1::5/128", &["fd00:192::3"]).await;
    assert_eq!(paths[0].origin, "incomplete");
    let up = wait_logged(&lab, "kube-node-1", "sessionUp", 1).await;
    assert_eq!(up[0]["peer"], "fd00:192::7");
}

#[tokio::test]
async fn sessions_and_routes_survive_30_s_without_the_apiserver_and_resynchronise_after() {
    let (mut lab, frr) = lab_with_frr("").await;
    tutorial(&mut lab, &frr).await;
    lab.create_service(json!({"metadata": {"name": "gone-meanwhile"}}))
        .await;
    lab.endpoints("gone-meanwhile", &["kube-node-1"]).await;
    lab.wait_ingress("gone-meanwhile", &["198.51.100.1"]).await;
    wait_next_hops(&frr, "198.51.100.1/32", &NODE_ADDRESSES).await;

    // Nothing between the speakers and the apiserver, either way.
    let rules: [&[&str]; 2] = [
        &[
            "OUTPUT",
            "-d",
            "10.192.0.1",
            "-p",
            "tcp",
            "-j",
            "REJECT",
            "--reject-with",
            "tcp-reset",
        ],
        &["INPUT", "-s", "10.192.0.1", "-p", "tcp", "-j", "DROP"],
    ];
    let iptables = |lab: &Lab, action: &str| {
        for (node, _) in NODES {
            for rule in rules {
                let mut args = vec![action];
                args.extend(rule);
                lab.run_in(node, "iptables", &args);
            }
        }
    };
    iptables(&lab, "-I");
    lab.delete_service("gone-meanwhile").await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    for n in NODE_ADDRESSES {
        assert_eq!(frr.neighbor(n).unwrap()["bgpState"], "Established", "{n}");
    }
    assert_eq!(frr.paths("198.51.100.0/32").unwrap().len(), 2);
    assert_eq!(
        frr.paths("198.51.100.1/32").unwrap().len(),
        2,
        "the speakers cannot know yet"
    );
    iptables(&lab, "-D");
    // The watches come back (after their back-off) and the deletion is seen.
    eventually(
        "the deleted Service withdrawn",
        Duration::from_secs(90),
        || async { frr.paths("198.51.100.1/32").ok()?.is_empty().then_some(()) },
    )
    .await;
    assert_eq!(frr.paths("198.51.100.0/32").unwrap().len(), 2);
    for n in NODE_ADDRESSES {
        assert_eq!(neighbor_u64(&frr, n, "/connectionsEstablished"), 1, "{n}");
    }
}

#[tokio::test]
async fn runs_with_a_service_account_token_bound_to_its_rbac() {
    let (mut lab, frr) = lab_with_frr("").await;
    lab.apply_legacy_config(TUTORIAL_CONFIG).await;
    let manifest = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../manifests/parts/speaker-rbac.yaml"
    );
    let kubectl = lab::Binaries::from_env()
        .path(lab::Binary::Kubectl)
        .expect("kubectl (lab/scripts/build-control-plane.sh)");
    let out = std::process::Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(lab.cluster.kubeconfig())
        .args(["apply", "-f", manifest])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = lab
        .cluster
        .service_account_token(support::NS, "speaker")
        .await
        .unwrap();
    for (node, _) in NODES {
        let kubeconfig = lab
            .cluster
            .data_dir()
            .join(format!("speaker-{node}.kubeconfig"));
        lab.cluster
            .write_kubeconfig_with_token(&token, &kubeconfig)
            .unwrap();
        lab.start_speaker_with(node, &["--kubeconfig", kubeconfig.to_str().unwrap()], &[]);
    }
    wait_established(&frr, &NODE_ADDRESSES, false).await;
    lab.create_service(json!({"metadata": {"name": "nginx"}}))
        .await;
    lab.endpoints("nginx", &["kube-node-1"]).await;
    wait_next_hops(&frr, "198.51.100.0/32", &NODE_ADDRESSES).await;
    eventually(
        "statuses, states and events written",
        Duration::from_secs(20),
        || async {
            let statuses = lab.list_cr("v1beta1", "ServiceBGPStatus").await.len();
            let states = lab.list_cr("v1beta1", "ConfigurationState").await;
            let speakers = states
                .iter()
                .filter(|s| s["status"]["result"] == "Valid")
                .count();
            let events = lab
                .events("nginx")
                .await
                .iter()
                .filter(|e| e.reason == "nodeAssigned")
                .count();
            (statuses == 2 && speakers >= 2 && events == 2).then_some(())
        },
    )
    .await;
    for (node, _) in NODES {
        let log = lab.speaker_log(node);
        assert!(
            !log.contains("forbidden"),
            "{node}'s speaker lacked a right:\n{log}"
        );
    }
}

#[tokio::test]
async fn two_advertisements_of_one_pool_send_different_communities_to_two_peers() {
    let (mut lab, frr) = two_peer_lab().await;
    let mut objects = two_peer_objects("90s");
    objects.truncate(3);
    for (name, peer, community) in [("to-a", "a", "64512:1"), ("to-b", "b", "64512:2")] {
        objects.push(
            json!({"apiVersion": "metallb.io/v1beta1", "kind": "BGPAdvertisement",
                            "metadata": {"name": name},
                            "spec": {"peers": [peer], "communities": [community]}}),
        );
    }
    for object in objects {
        lab.apply_cr(object).await;
    }
    lab.start_controller();
    lab.start_speaker("kube-node-1", &[]);
    wait_established(&frr, &["10.192.0.3", "10.192.0.13"], false).await;
    lab.create_service(json!({"metadata": {"name": "nginx"}}))
        .await;
    lab.endpoints("nginx", &["kube-node-1"]).await;
    let paths = wait_next_hops(&frr, "198.51.100.0/32", &["10.192.0.3", "10.192.0.13"]).await;
    for p in &paths {
        let want = if p.next_hop == "10.192.0.3" {
            "64512:1"
        } else {
            "64512:2"
        };
        assert_eq!(p.communities, [want], "{paths:?}");
    }
    eventually(
        "the status lists both peers",
        Duration::from_secs(20),
        || async {
            let list = lab.list_cr("v1beta1", "ServiceBGPStatus").await;
            (list.len() == 1 && list[0]["status"]["peers"] == json!(["a", "b"])).then_some(())
        },
    )
    .await;
}

/// The BGP destinations in the router namespace's kernel table via `gateway`.
fn kernel_routes_via(lab: &Lab, gateway: &str) -> Vec<String> {
    let text = support::net::ip(&[
        "-n",
        lab.net.host("router").name(),
        "-j",
        "route",
        "show",
        "proto",
        "bgp",
    ]);
    let routes: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap_or_default();
    routes
        .iter()
        .filter(|r| r["gateway"] == gateway)
        .filter_map(|r| r["dst"].as_str().map(str::to_owned))
        .collect()
}

/// Whether every path of `prefix` in `show ip bgp json` is stale (None: no such prefix).
fn stale_at(router: &MiniRouter, prefix: &str) -> Option<bool> {
    let table = router.show_json("show ip bgp json").ok()?;
    let paths = table["routes"][prefix].as_array()?;
    Some(paths.iter().all(|p| p["stale"] == true))
}

/// MetalLB's `enableGracefulRestart`: the speaker advertises graceful restart (restart time
/// 120 s, forwarding state kept), and on a rolling restart (SIGTERM, start again) it leaves
/// its route in place and closes without a NOTIFICATION; mini-router, a graceful-restart
/// helper by default, keeps the route — stale, and in its kernel table all along — until the
/// restarted speaker announces it again and sends its End-of-RIB.
#[tokio::test]
async fn a_speaker_restarted_with_graceful_restart_keeps_its_route_at_the_router_throughout() {
    let mut lab = Lab::start().await;
    let router = quick_start_mini_router(&lab, true);
    for object in [
        json!({"apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer", "metadata": {"name": "router"},
               "spec": {"myASN": 64512, "peerASN": 64512, "peerAddress": "10.192.0.7",
                        "enableGracefulRestart": true}}),
        json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "pool"},
               "spec": {"addresses": ["198.51.100.0/24"]}}),
        json!({"apiVersion": "metallb.io/v1beta1", "kind": "BGPAdvertisement", "metadata": {"name": "all"}, "spec": {}}),
    ] {
        lab.apply_cr(object).await;
    }
    lab.start_controller();
    lab.start_speaker("kube-node-1", &[]);
    wait_established(&router, &["10.192.0.3"], false).await;
    lab.create_service(json!({"metadata": {"name": "nginx"}}))
        .await;
    lab.endpoints("nginx", &["kube-node-1"]).await;
    lab.wait_ingress("nginx", &["198.51.100.0"]).await;
    let route = vec!["198.51.100.0".to_owned()];
    eventually(
        "the route in the router's kernel table",
        Duration::from_secs(30),
        || async { (kernel_routes_via(&lab, "10.192.0.3") == route).then_some(()) },
    )
    .await;
    let neighbor = router
        .show_json("show ip bgp neighbors 10.192.0.3 json")
        .unwrap();
    let info = &neighbor["10.192.0.3"]["gracefulRestartInfo"];
    assert_eq!(info["remoteGrMode"], "Restart", "{info}");
    assert_eq!(info["timers"]["receivedRestartTimer"], 120, "{info}");
    assert_eq!(info["ipv4Unicast"]["fBit"], true, "{info}");
    assert_eq!(info["endOfRibRecv"]["ipv4Unicast"], true, "{info}");

    // Sample the kernel table every 20 ms through the whole restart.
    let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let router_ns = lab.net.host("router").name().to_owned();
    let sampler = {
        let watching = std::sync::Arc::clone(&watching);
        std::thread::spawn(move || {
            let (mut samples, mut missing) = (0u32, Vec::new());
            while watching.load(std::sync::atomic::Ordering::Relaxed) {
                let text =
                    support::net::ip(&["-n", &router_ns, "-j", "route", "show", "proto", "bgp"]);
                let has = serde_json::from_str::<Vec<serde_json::Value>>(&text)
                    .unwrap_or_default()
                    .iter()
                    .any(|r| r["dst"] == "198.51.100.0" && r["gateway"] == "10.192.0.3");
                samples += 1;
                if !has {
                    missing.push(samples);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            (samples, missing)
        })
    };

    assert!(
        lab.terminate_speaker("kube-node-1"),
        "a clean exit on SIGTERM"
    );
    let log = lab.speaker_log("kube-node-1");
    assert!(
        log.contains("keeping the routes towards graceful-restart peers"),
        "{log}"
    );
    eventually(
        "the route kept as stale",
        Duration::from_secs(10),
        || async { (stale_at(&router, "198.51.100.0/32") == Some(true)).then_some(()) },
    )
    .await;
    assert_eq!(
        kernel_routes_via(&lab, "10.192.0.3"),
        route,
        "stale, and still in the kernel"
    );
    let neighbor = router
        .show_json("show ip bgp neighbors 10.192.0.3 json")
        .unwrap();
    assert_eq!(
        neighbor["10.192.0.3"]["lastResetDueTo"], "NSF peer closed the session",
        "no NOTIFICATION: {neighbor}"
    );

    lab.start_speaker("kube-node-1", &[]);
    eventually(
        "the route refreshed by the restarted speaker",
        Duration::from_secs(60),
        || async {
            let n = router
                .show_json("show ip bgp neighbors 10.192.0.3 json")
                .ok()?;
            let n = &n["10.192.0.3"];
            let back = n["connectionsEstablished"] == 2
                && n["gracefulRestartInfo"]["endOfRibRecv"]["ipv4Unicast"] == true;
            (back && stale_at(&router, "198.51.100.0/32") == Some(false)).then_some(())
        },
    )
    .await;
    watching.store(false, std::sync::atomic::Ordering::Relaxed);
    let (samples, missing) = sampler.join().unwrap();
    assert!(samples >= 2, "only {samples} samples");
    assert!(
        missing.is_empty(),
        "the route left the kernel in samples {missing:?} of {samples}:\n{}",
        router.log()
    );
    assert_eq!(kernel_routes_via(&lab, "10.192.0.3"), route);
}
