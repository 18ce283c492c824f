//! `show bfd peers [brief|counters] [json]` and the BFD lines of `show ip bgp neighbors`,
//! rendered from the state FRR 8.4 was in when `frr-8.4/bfd/` was captured and compared with
//! those captures byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use mini_router::render::bfd;
use mini_router::view::{BfdPeerView, BfdTimersView, NeighborBfdView};

fn capture(file: &str) -> String {
    let path = format!("{}/tests/frr-8.4/bfd/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// FRR's defaults as bfdd reports them: 300/300/3 and the 50 ms echo receive interval it
/// advertises even with echo off.
fn frr_timers() -> BfdTimersView {
    BfdTimersView {
        detect_multiplier: 3,
        receive_ms: 300,
        transmit_ms: 300,
        echo_receive_ms: 50,
    }
}

/// r1's session with r2, 13 s after it came up.
fn up() -> BfdPeerView {
    BfdPeerView {
        peer: "10.77.0.2".parse().unwrap(),
        local: Some("10.77.0.1".parse().unwrap()),
        multihop: false,
        interface: Some("veth-c1".into()),
        id: 2727206127,
        remote_id: 1108845197,
        passive: false,
        minimum_ttl: 254,
        status: "up",
        since_secs: 13,
        diagnostic: "ok",
        remote_diagnostic: "ok",
        local_timers: frr_timers(),
        remote_timers: frr_timers(),
        control_in: 53,
        control_out: 52,
        up_events: 1,
        down_events: 0,
    }
}

/// The same session 2 s after r2's bfdd was frozen.
fn down() -> BfdPeerView {
    BfdPeerView {
        remote_id: 0,
        status: "down",
        since_secs: 2,
        diagnostic: "control detection time expired",
        ..up()
    }
}

#[test]
fn show_bfd_peers_is_bfdd_s_layout_up_and_down() {
    assert_eq!(bfd::peers(&[up()]), capture("show_bfd_peers.txt"));
    assert_eq!(bfd::peers(&[down()]), capture("down_show_bfd_peers.txt"));
}

#[test]
fn show_bfd_peers_brief_is_bfdd_s_table() {
    assert_eq!(
        bfd::peers_brief(&[up()]),
        capture("show_bfd_peers_brief.txt")
    );
    assert_eq!(bfd::peers_brief(&[down()]), capture("down_brief.txt"));
}

#[test]
fn show_bfd_peers_json_has_bfdd_s_keys_in_its_order() {
    assert_eq!(bfd::peers_json(&[up()]), capture("show_bfd_peers_json.txt"));
    assert_eq!(
        bfd::peers_json(&[up()]),
        capture("show_bfd_peers_brief_json.txt")
    );
}

#[test]
fn show_bfd_peers_counters_text_and_json() {
    // bfdd counted two zebra notifications (Down, then Up) for one up event.
    let mut counted = up();
    counted.up_events = 1;
    counted.down_events = 1;
    let text = bfd::peers_counters(std::slice::from_ref(&counted));
    let frr = capture("show_bfd_peers_counters.txt");
    let differs: Vec<_> = text
        .lines()
        .zip(frr.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(
        differs,
        [("\t\tSession down events: 1", "\t\tSession down events: 0")]
    );
    assert_eq!(
        bfd::peers_counters(&[up()]).lines().count(),
        frr.lines().count()
    );
    let json = bfd::peers_counters_json(&[counted]);
    assert_eq!(
        json.replace("\"session-down\":1", "\"session-down\":0"),
        capture("show_bfd_peers_counters_json.txt")
    );
}

#[test]
fn a_multihop_passive_session_shows_its_mode_and_minimum_ttl() {
    let mh = BfdPeerView {
        multihop: true,
        interface: None,
        passive: true,
        minimum_ttl: 250,
        status: "init",
        ..up()
    };
    let text = bfd::peers(std::slice::from_ref(&mh));
    assert!(text.starts_with(
        "BFD Peers:\n\tpeer 10.77.0.2 multihop local-address 10.77.0.1 vrf default\n\t\tID: 2727206127\n\t\tRemote ID: 1108845197\n\t\tPassive mode\n\t\tMinimum TTL: 250\n\t\tStatus: init\n\t\tDiagnostics: ok\n"
    ), "{text}");
    let json = bfd::peers_json(&[mh]);
    assert!(json.contains("\"passive-mode\":true,\n    \"minimum-ttl\":250,\n    \"status\":\"init\",\n    \"diagnostic\""), "{json}");
}

#[test]
fn uptimes_are_spelled_as_bfdd_does() {
    assert_eq!(bfd::duration_words(0), "0 second(s)");
    assert_eq!(bfd::duration_words(65), "1 minute(s), 5 second(s)");
    assert_eq!(
        bfd::duration_words(90061),
        "1 day(s), 1 hour(s), 1 minute(s), 1 second(s)"
    );
    assert_eq!(
        bfd::duration_words(31 * 86400),
        "1 month(s), 1 day(s), 0 second(s)"
    );
}

#[test]
fn neighbor_bfd_lines_are_bgpd_s() {
    let b = NeighborBfdView {
        multihop: false,
        detect_multiplier: 3,
        min_rx_ms: 300,
        min_tx_ms: 300,
        status: "Up",
        last_update: Some(Duration::from_secs(14)),
    };
    let mut text = String::new();
    bfd::neighbor(&mut text, &b).unwrap();
    let frr = capture("show_ip_bgp_neighbors_10.77.0.2.txt");
    let start = frr.find("  BFD: Type").unwrap();
    assert_eq!(text, frr[start..frr.len() - 1]);
    let down = NeighborBfdView {
        status: "Down",
        last_update: Some(Duration::from_secs(2)),
        ..b.clone()
    };
    let mut text = String::new();
    bfd::neighbor(&mut text, &down).unwrap();
    let frr = capture("down_show_ip_bgp_neighbors.txt");
    let start = frr.find("  BFD: Type").unwrap();
    assert_eq!(text, frr[start..frr.len() - 1]);
    let json = mini_router::render::json::pretty(&bfd::neighbor_json(&b));
    let frr = capture("show_ip_bgp_neighbors_10.77.0.2_json.txt");
    let start = frr.find("\"peerBfdInfo\":").unwrap() + "\"peerBfdInfo\":".len();
    let expected: String = frr[start..]
        .lines()
        .take(8)
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(json, expected);
}
