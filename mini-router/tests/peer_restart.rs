//! A MetalLB speaker pod that restarts, end to end, in network namespaces these tests create:
//! mini-router in `router` (10.192.0.7/24) and GoBGP's gobgpd as a MetalLB-like speaker in
//! `node1` (10.192.0.3/24, dials the router only; `support/speaker.rs`). The speaker is
//! killed once its session is Established and started again: mini-router takes it back at
//! once, as FRR does, for a configured neighbor and for a dynamic one of a listen range
//! alike. It used to answer every new connection with Cease/5 for the whole ConnectRetry time
//! (120 s); the waits here are bounded well below that. While the configured neighbor is
//! down, `show ip bgp neighbors ADDR` says when the next attempt is due, in FRR's words.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Duration;

use support::speaker::Speaker;
use support::{Lan, MiniRouter, QUICK_START, summary_rows};

const NODE1: &str = "10.192.0.3";
const ROUTER: &str = "10.192.0.7";
/// Bound for the first session and for the down state to show.
const WAIT: Duration = Duration::from_secs(40);
/// Bound for the session to come back: half the ConnectRetry time mini-router used to wait.
const RESTART_WAIT: Duration = Duration::from_secs(60);

fn lan() -> Lan {
    Lan::create(&[("router", "10.192.0.7/24"), ("node1", "10.192.0.3/24")])
}

/// Waits until `show ip bgp summary` has node1 Established (a prefix count in the State/PfxRcd
/// column), marked dynamic or not.
fn wait_established(router: &mut MiniRouter, dynamic: bool, timeout: Duration) {
    router.wait_show(
        "show ip bgp summary",
        "node1 Established",
        timeout,
        |text| {
            let rows = summary_rows(text);
            match rows.iter().find(|r| r.address == NODE1) {
                Some(r) if r.dynamic == dynamic && r.state_or_prefixes.parse::<u64>().is_ok() => {
                    Ok(())
                }
                other => Err(format!("node1 row {other:?}")),
            }
        },
    );
}

#[test]
fn a_configured_neighbor_whose_speaker_restarts_is_taken_back_and_shows_its_next_attempt() {
    let lan = lan();
    let mut router = MiniRouter::start(Some(lan.host("router")), &["--hostname", "router"]);
    router.ok(&[
        "configure terminal",
        "router bgp 64512",
        "neighbor 10.192.0.3 remote-as 64512",
    ]);
    let speaker = Speaker::start(lan.host("node1"), NODE1, 64512, ROUTER);
    wait_established(&mut router, false, WAIT);

    drop(speaker);
    let command = "show ip bgp neighbors 10.192.0.3";
    let line = router.wait_show(command, "the next attempt while down", WAIT, |text| {
        if text.contains("BGP state = Established") {
            return Err("still Established".into());
        }
        text.lines()
            .find(|l| {
                l.starts_with("Next start timer due in ")
                    || l.starts_with("Next connect timer due in ")
            })
            .map(str::to_owned)
            .ok_or_else(|| "no next-attempt line".into())
    });
    let seconds: u64 = line
        .split_whitespace()
        .nth(5)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no seconds in {line:?}"));
    assert!(line.ends_with(" seconds"), "{line}");
    assert!(seconds <= 120, "{line}");
    let json = router.wait_show(
        "show ip bgp neighbors 10.192.0.3 json",
        "the next attempt in JSON",
        WAIT,
        |text| {
            let json: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
            let n = &json[NODE1];
            ["nextStartTimerDueInMsecs", "nextConnectTimerDueInMsecs"]
                .iter()
                .find_map(|key| n[key].as_u64())
                .ok_or_else(|| "no nextStart/nextConnect key".into())
        },
    );
    assert!(json <= 120_000, "{json}");

    let _speaker = Speaker::start(lan.host("node1"), NODE1, 64512, ROUTER);
    wait_established(&mut router, false, RESTART_WAIT);
}

#[test]
fn a_dynamic_neighbor_whose_speaker_restarts_is_taken_back() {
    let lan = lan();
    let mut router = MiniRouter::start(Some(lan.host("router")), &QUICK_START);
    let speaker = Speaker::start(lan.host("node1"), NODE1, 64512, ROUTER);
    wait_established(&mut router, true, WAIT);
    drop(speaker);
    // FRR forgets a dynamic neighbor when its session ends.
    router.wait_show(
        "show ip bgp summary",
        "node1 gone",
        WAIT,
        |text| match summary_rows(text).iter().find(|r| r.address == NODE1) {
            None => Ok(()),
            Some(row) => Err(format!("still listed: {row:?}")),
        },
    );
    let _speaker = Speaker::start(lan.host("node1"), NODE1, 64512, ROUTER);
    wait_established(&mut router, true, RESTART_WAIT);
}
