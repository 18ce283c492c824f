//! BFD from MetalLB's configuration, end to end: a `BFDProfile` referenced by the `BGPPeer`'s
//! `bfdProfile`, both nodes' speakers, the real controller and apiserver, and mini-router as
//! the router with `neighbor … bfd profile fast`. Each speaker runs BFD with the profile's
//! timers (the router shows them as the remote timers), logs the session up, reports
//! MetalLB's `metallb_bfd_*` series, and reports the profile's echo mode as not supported.
//! A node whose speaker hangs (SIGSTOP) loses its path at the router through BFD, well
//! before its BGP hold time (90 s) would have; it comes back after SIGCONT.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::{Value, json};
use support::routers::{MiniRouter, Router, wait_established, wait_next_hops};
use support::{Lab, NODES, eventually, workspace_binary};

const NODE_ADDRESSES: [&str; 2] = ["10.192.0.3", "10.192.0.4"];

fn objects() -> Vec<Value> {
    vec![
        json!({"apiVersion": "metallb.io/v1beta1", "kind": "BFDProfile", "metadata": {"name": "fast"},
               "spec": {"receiveInterval": 100, "transmitInterval": 150, "detectMultiplier": 4, "echoMode": true}}),
        json!({"apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer", "metadata": {"name": "router"},
               "spec": {"myASN": 64512, "peerASN": 64512, "peerAddress": "10.192.0.7", "bfdProfile": "fast"}}),
        json!({"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "pool"},
               "spec": {"addresses": ["198.51.100.0/24"]}}),
        json!({"apiVersion": "metallb.io/v1beta1", "kind": "BGPAdvertisement", "metadata": {"name": "all"}, "spec": {}}),
    ]
}

/// The router's BFD sessions as (peer, status, remote transmit interval, remote multiplier).
fn router_bfd(router: &MiniRouter) -> Vec<(String, String, u64, u64)> {
    let list = router
        .show_json("show bfd peers json")
        .unwrap_or(Value::Null);
    list.as_array()
        .map(|l| {
            l.iter()
                .map(|p| {
                    (
                        p["peer"].as_str().unwrap_or_default().to_owned(),
                        p["status"].as_str().unwrap_or_default().to_owned(),
                        p["remote-transmit-interval"].as_u64().unwrap_or(0),
                        p["remote-detect-multiplier"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_bfd_profile_runs_bfd_with_the_router_and_a_hung_node_loses_its_path_through_it() {
    let started = std::time::Instant::now();
    let mut lab = Lab::start().await;
    eprintln!("lab up after {:?}", started.elapsed());
    let binary = workspace_binary("mini-router", "mini-router");
    let router = MiniRouter::start(&binary, lab.net.host("router"), &["--hostname", "router"]);
    router
        .cli(&[
            "configure terminal",
            "bfd",
            "profile fast",
            "receive-interval 100",
            "transmit-interval 100",
            "end",
            "configure terminal",
            "router bgp 64512",
            "neighbor 10.192.0.3 remote-as 64512",
            "neighbor 10.192.0.3 bfd profile fast",
            "neighbor 10.192.0.4 remote-as 64512",
            "neighbor 10.192.0.4 bfd profile fast",
        ])
        .unwrap();
    for object in objects() {
        lab.apply_cr(object).await;
    }
    lab.start_controller();
    for (node, _) in NODES {
        lab.start_speaker(node, &[]);
    }

    // BFD up with both nodes, with the profile's timers; BGP follows.
    eventually(
        "BFD up with both nodes",
        Duration::from_secs(60),
        || async {
            let seen = router_bfd(&router);
            NODE_ADDRESSES
                .iter()
                .all(|n| {
                    seen.iter()
                        .any(|(p, s, tx, mult)| p == n && s == "up" && *tx == 150 && *mult == 4)
                })
                .then_some(())
        },
    )
    .await;
    eprintln!("BFD up after {:?}", started.elapsed());
    wait_established(&router, &NODE_ADDRESSES, false).await;
    eprintln!("BGP up after {:?}", started.elapsed());
    for (node, _) in NODES {
        let up = lab.speaker_events(node, "bfdSessionUp");
        assert!(
            up.iter()
                .any(|l| l["peer"] == "10.192.0.7" && l["to"] == "up"),
            "{node}: {up:?}\n{}",
            lab.speaker_log(node)
        );
        let ignored: Vec<Value> = lab
            .speaker_log(node)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["msg"] == "peer setting ignored")
            .collect();
        assert!(
            ignored.iter().any(|v| v["peer"] == "router"
                && v["warning"]
                    .as_str()
                    .is_some_and(|w| w.contains("echoMode") && w.contains("not supported"))),
            "{node}: {ignored:?}"
        );
        assert!(
            !ignored.iter().any(|v| v["warning"]
                .as_str()
                .is_some_and(|w| w.contains("bfdProfile"))),
            "bfdProfile is no longer ignored: {ignored:?}"
        );
    }
    let metrics = eventually("the BFD metrics", Duration::from_secs(20), || async {
        let m = lab.speaker_http("kube-node-1", "/metrics").await?;
        m.contains(r#"metallb_bfd_session_up{peer="10.192.0.7",vrf="default"} 1"#)
            .then_some(m)
    })
    .await;
    for name in [
        "metallb_bfd_control_packet_input",
        "metallb_bfd_control_packet_output",
    ] {
        let value = metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!(r#"{name}{{peer="10.192.0.7",vrf="default"}} "#)))
            .and_then(|v| v.parse::<u64>().ok());
        assert!(value.is_some_and(|n| n > 0), "{name} in\n{metrics}");
    }
    assert!(
        metrics
            .lines()
            .any(|l| l == r#"metallb_bfd_session_up_events{peer="10.192.0.7",vrf="default"} 1"#),
        "{metrics}"
    );

    eprintln!("metrics after {:?}", started.elapsed());
    // A Service announced from both nodes.
    lab.create_service(json!({"metadata": {"name": "nginx"}}))
        .await;
    lab.endpoints("nginx", &["kube-node-1", "kube-node-2"])
        .await;
    lab.wait_ingress("nginx", &["198.51.100.0"]).await;
    wait_next_hops(&router, "198.51.100.0/32", &NODE_ADDRESSES).await;

    eprintln!("paths after {:?}", started.elapsed());
    // kube-node-1's speaker hangs: the router's BFD notices within its detection time and
    // the path goes, long before the 90 s hold time.
    lab.signal_speaker("kube-node-1", Signal::SIGSTOP);
    let frozen_at = std::time::Instant::now();
    wait_next_hops(&router, "198.51.100.0/32", &["10.192.0.4"]).await;
    assert!(
        frozen_at.elapsed() < Duration::from_secs(30),
        "the path went through BFD, not the hold timer"
    );
    let down = router_bfd(&router);
    assert!(
        down.iter()
            .any(|(p, s, _, _)| p == "10.192.0.3" && s == "down"),
        "{down:?}"
    );

    eprintln!("failover after {:?}", frozen_at.elapsed());
    // It runs again: BFD, BGP and the path come back.
    lab.signal_speaker("kube-node-1", Signal::SIGCONT);
    wait_next_hops(&router, "198.51.100.0/32", &NODE_ADDRESSES).await;
    let seen = router_bfd(&router);
    assert!(seen.iter().all(|(_, s, _, _)| s == "up"), "{seen:?}");
}
