//! The speaker end to end: two nodes' speakers in their namespaces, the real controller, a
//! real apiserver, and FRR or mini-router as the router, as in the seed's tutorial.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use support::routers::{Frr, MiniRouter, Router, frr_config};
use support::{Lab, NODES, TUTORIAL_CONFIG, eventually, workspace_binary};

/// Waits until the router has every one of `neighbors` Established.
async fn wait_established(router: &dyn Router, neighbors: &[&str], ipv6: bool) {
    eventually(
        &format!("{neighbors:?} Established at the router"),
        Duration::from_secs(60),
        || async move {
            let seen = router.neighbors(ipv6).ok()?;
            neighbors
                .iter()
                .all(|n| {
                    seen.iter()
                        .any(|(a, state)| a == n && state == "Established")
                })
                .then_some(())
        },
    )
    .await;
}

/// Waits until the router's paths for `prefix` come from exactly `next_hops`; returns them.
async fn wait_next_hops(
    router: &dyn Router,
    prefix: &str,
    next_hops: &[&str],
) -> Vec<support::routers::SeenPath> {
    let want: BTreeSet<String> = next_hops.iter().map(|s| (*s).to_owned()).collect();
    eventually(
        &format!("{prefix} via {next_hops:?} at the router"),
        Duration::from_secs(30),
        || {
            let want = want.clone();
            async move {
                let paths = router.paths(prefix).ok()?;
                let seen: BTreeSet<String> = paths.iter().map(|p| p.next_hop.clone()).collect();
                (seen == want).then_some(paths)
            }
        },
    )
    .await
}

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
    let binary = workspace_binary("mini-router", "mini-router");
    let router = MiniRouter::start(
        &binary,
        lab.net.host("router"),
        &[
            "--asn",
            "64512",
            "--listen-range",
            "10.192.0.0/24",
            "--hostname",
            "router",
        ],
    );
    tutorial(&mut lab, &router).await;
}
