//! BFD interop, end to end, in network namespaces these tests create: mini-router in `ours`
//! (10.77.0.1/24, AS 65001) with `neighbor 10.77.0.2 bfd profile fast` (300 ms × 3), and in
//! `peer` (10.77.0.2/24, AS 65002) either FRR 8.4 (zebra, bfdd and bgpd with `neighbor …
//! bfd profile fast`) or BIRD 2 (`protocol bfd` and `bfd on` in its BGP protocol).
//!
//! Both see the BFD session Up and the BGP session Established. The peer is frozen with
//! SIGSTOP: mini-router's BFD goes down by detection timeout (the peer's silence that took,
//! as its log reports it, is under 1 s, the detection time being 900 ms) and takes BGP down
//! with Cease/10; BGP stays down while the peer is frozen. After SIGCONT both come back
//! up. Then the other way: mini-router is frozen and the peer's BFD and BGP go down, and
//! come back after it runs again.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Duration;

use serde_json::Value;
use support::bird::Bird;
use support::frr_stack::FrrRouter;
use support::{Lan, MiniRouter, signal};

const OURS: &str = "10.77.0.1";
const PEER: &str = "10.77.0.2";
/// Bound for sessions to come up (FRR sends once a second before Up, BGP's start timers).
const UP_WAIT: Duration = Duration::from_secs(45);
/// Bound for a loss to be noticed: far above the 900 ms detection time.
const DOWN_WAIT: Duration = Duration::from_secs(10);

fn lan() -> Lan {
    Lan::create(&[("ours", "10.77.0.1/24"), ("peer", "10.77.0.2/24")])
}

fn start_ours(lan: &Lan) -> MiniRouter {
    let router = MiniRouter::start(Some(lan.host("ours")), &["--hostname", "ours"]);
    router.ok(&[
        "configure terminal",
        "bfd",
        "profile fast",
        "receive-interval 300",
        "transmit-interval 300",
        "detect-multiplier 3",
        "end",
        "configure terminal",
        "router bgp 65001",
        "bgp router-id 10.77.0.1",
        "neighbor 10.77.0.2 remote-as 65002",
        "neighbor 10.77.0.2 bfd profile fast",
    ]);
    router
}

/// mini-router's BFD session with the peer, from `show bfd peers json`.
fn our_bfd(router: &MiniRouter) -> Result<Value, String> {
    let out = router.cli(&["show bfd peers json"]);
    let list: Value = serde_json::from_str(&out.stdout).map_err(|e| format!("{e}: {out:?}"))?;
    list.as_array()
        .and_then(|l| l.iter().find(|p| p["peer"] == PEER))
        .cloned()
        .ok_or_else(|| format!("no session with {PEER}: {list}"))
}

fn our_bgp_state(router: &MiniRouter) -> Result<String, String> {
    let out = router.cli(&["show ip bgp neighbors 10.77.0.2 json"]);
    let n: Value = serde_json::from_str(&out.stdout).map_err(|e| format!("{e}: {out:?}"))?;
    n[PEER]["bgpState"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{n}"))
}

fn wait_ours(router: &mut MiniRouter, what: &str, timeout: Duration, bfd: &str, bgp_up: bool) {
    support::poll(what, timeout, || {
        router.daemon.assert_running();
        let session = our_bfd(router)?;
        let state = our_bgp_state(router)?;
        if session["status"] == bfd && (state == "Established") == bgp_up {
            Ok(())
        } else {
            Err(format!("BFD {session}, BGP {state}"))
        }
    });
}

/// The log's lines without ANSI colours.
fn plain_log(router: &MiniRouter) -> Vec<String> {
    router
        .daemon
        .log()
        .lines()
        .map(|line| {
            let mut out = String::new();
            let mut chars = line.chars();
            while let Some(c) = chars.next() {
                if c == '\u{1b}' {
                    for c in chars.by_ref() {
                        if c == 'm' {
                            break;
                        }
                    }
                } else {
                    out.push(c);
                }
            }
            out
        })
        .collect()
}

/// Seconds of the day of a log line's RFC 3339 timestamp (`2026-12-08T00:40:06.123456Z`).
fn log_time(line: &str) -> f64 {
    let stamp = line.split_whitespace().next().unwrap_or_default();
    let time = stamp
        .split('T')
        .nth(1)
        .unwrap_or_default()
        .trim_end_matches('Z');
    time.split(':')
        .map(|p| p.parse::<f64>().unwrap_or(0.0))
        .fold(0.0, |acc, v| acc * 60.0 + v)
}

/// Checks, from mini-router's log, that BFD went down by detection timeout after less than
/// 1 s of silence and that BGP followed within a second with "BFD down received".
fn assert_detected_from_log(router: &MiniRouter) {
    let log = plain_log(router);
    let down = log
        .iter()
        .rev()
        .find(|l| {
            l.contains("BFD session state change") && l.contains("from=Up") && l.contains("to=Down")
        })
        .unwrap_or_else(|| panic!("no BFD Down in the log:\n{}", log.join("\n")));
    assert!(down.contains("control detection time expired"), "{down}");
    let silent_ms: u64 = down
        .split("silent_ms=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no silent_ms in {down}"));
    assert!(
        (900..1000).contains(&silent_ms),
        "detection took {silent_ms} ms at 300 ms × 3: {down}"
    );
    let bgp_down = log
        .iter()
        .rev()
        .find(|l| l.contains("BGP session down") && l.contains("BFD down"))
        .unwrap_or_else(|| panic!("no BGP down for BFD in the log:\n{}", log.join("\n")));
    let lag = (log_time(bgp_down) - log_time(down)).rem_euclid(86400.0);
    eprintln!("detected after {silent_ms} ms of silence; BGP down {lag:.3} s later");
    assert!(
        lag < 1.0,
        "BGP went down {lag:.3} s after BFD:\n{down}\n{bgp_down}"
    );
}

#[test]
fn frr_bfdd_and_bgpd_up_both_ways_frozen_peer_detected_and_bgp_follows() {
    let lan = lan();
    let frr = FrrRouter::start(
        lan.host("peer"),
        "bfd\n profile fast\n  receive-interval 300\n  transmit-interval 300\n  detect-multiplier 3\n !\n!\n",
        "router bgp 65002\n bgp router-id 10.77.0.2\n bgp log-neighbor-changes\n no bgp ebgp-requires-policy\n neighbor 10.77.0.1 remote-as 65001\n neighbor 10.77.0.1 bfd profile fast\n!\n",
    );
    let mut ours = start_ours(&lan);

    wait_ours(&mut ours, "BFD up and BGP Established", UP_WAIT, "up", true);
    support::poll("FRR sees BFD up and BGP Established", UP_WAIT, || {
        let (bfd, bgp) = (frr.bfd_status(OURS)?, frr.bgp_state(OURS)?);
        if bfd == "up" && bgp == "Established" {
            Ok(())
        } else {
            Err(format!("FRR: BFD {bfd}, BGP {bgp}\n{}", frr.logs()))
        }
    });
    let text = ours.ok(&["show bfd peers"]);
    assert!(
        text.contains("\tpeer 10.77.0.2 local-address 10.77.0.1 vrf default interface eth0\n"),
        "{text}"
    );
    assert!(
        text.contains("\t\tStatus: up\n") && text.contains("\t\tPeer Type: dynamic\n"),
        "{text}"
    );
    let session = our_bfd(&ours).unwrap();
    assert_eq!(session["remote-receive-interval"], 300, "{session}");
    assert_eq!(session["remote-detect-multiplier"], 3, "{session}");
    let neighbor = ours.ok(&["show ip bgp neighbors 10.77.0.2"]);
    assert!(neighbor.contains("  BFD: Type: single hop\n  Detect Multiplier: 3, Min Rx interval: 300, Min Tx interval: 300\n  Status: Up, Last update: "), "{neighbor}");

    // FRR hangs: our BFD notices, BGP goes down with Cease/10 and stays down.
    frr.freeze();
    wait_ours(
        &mut ours,
        "BFD down after the peer froze",
        DOWN_WAIT,
        "down",
        false,
    );
    let session = our_bfd(&ours).unwrap();
    assert_eq!(session["diagnostic"], "control detection time expired");
    assert_detected_from_log(&ours);
    std::thread::sleep(Duration::from_secs(3));
    assert_ne!(our_bgp_state(&ours).unwrap(), "Established");
    let neighbor = ours.ok(&["show ip bgp neighbors 10.77.0.2"]);
    assert!(neighbor.contains("BFD down received"), "{neighbor}");

    // FRR runs again: BFD and BGP come back; FRR got our Cease/10.
    frr.thaw();
    wait_ours(
        &mut ours,
        "BFD and BGP back after SIGCONT",
        UP_WAIT,
        "up",
        true,
    );
    // Our Cease/10 waits in bgpd's socket while it is frozen; when it runs again, its own
    // BFD session may time out first, and bgpd then sends Cease/10 before reading ours.
    // Either way the session went down for BFD, with FRR's Cease subcode.
    let logs = frr.logs();
    assert!(
        logs.lines()
            .any(|l| (l.contains("received from neighbor 10.77.0.1")
                || l.contains("sent to neighbor 10.77.0.1"))
                && l.contains("6/10 (Cease/BFD Down)")),
        "bgpd logs a Cease/10 (BFD Down) with us:\n{logs}"
    );

    // The other way: mini-router hangs, FRR's BFD and BGP go down; it comes back.
    signal(ours.daemon.pid(), "STOP");
    support::poll("FRR sees BFD down", DOWN_WAIT, || {
        let bfd = frr.bfd_status(OURS)?;
        if bfd == "down" { Ok(()) } else { Err(bfd) }
    });
    let peers = frr.json("show bfd peers json").unwrap();
    assert_eq!(
        peers[0]["diagnostic"], "control detection time expired",
        "{peers}"
    );
    signal(ours.daemon.pid(), "CONT");
    wait_ours(
        &mut ours,
        "BFD and BGP back after mini-router ran again",
        UP_WAIT,
        "up",
        true,
    );
    support::poll("FRR back up", UP_WAIT, || {
        let (bfd, bgp) = (frr.bfd_status(OURS)?, frr.bgp_state(OURS)?);
        if bfd == "up" && bgp == "Established" {
            Ok(())
        } else {
            Err(format!("{bfd} {bgp}"))
        }
    });
}

#[test]
fn bird_bfd_up_both_ways_frozen_peer_detected_and_bgp_follows() {
    let lan = lan();
    let bird = Bird::start(
        lan.host("peer"),
        "router id 10.77.0.2;\nprotocol device {}\nprotocol bfd {\n  interface \"eth0\" { min rx interval 300 ms; min tx interval 300 ms; multiplier 3; };\n}\nprotocol bgp ours {\n  local 10.77.0.2 as 65002;\n  neighbor 10.77.0.1 as 65001;\n  bfd on;\n  connect retry time 1;\n  error wait time 1, 5;\n  ipv4 { import all; export none; };\n}\n",
    );
    let mut ours = start_ours(&lan);

    wait_ours(&mut ours, "BFD up and BGP Established", UP_WAIT, "up", true);
    support::poll("BIRD sees BFD up and BGP Established", UP_WAIT, || {
        let bfd = bird.bfd_state(OURS)?;
        if bfd == "Up" && bird.bgp_established("ours") {
            Ok(())
        } else {
            Err(format!(
                "BIRD: BFD {bfd}\n{}",
                bird.birdc("show protocols all ours")
            ))
        }
    });
    let session = our_bfd(&ours).unwrap();
    assert_eq!(session["remote-detect-multiplier"], 3, "{session}");

    bird.freeze();
    wait_ours(
        &mut ours,
        "BFD down after BIRD froze",
        DOWN_WAIT,
        "down",
        false,
    );
    assert_detected_from_log(&ours);
    std::thread::sleep(Duration::from_secs(3));
    assert_ne!(our_bgp_state(&ours).unwrap(), "Established");

    bird.thaw();
    wait_ours(
        &mut ours,
        "BFD and BGP back after SIGCONT",
        UP_WAIT,
        "up",
        true,
    );

    signal(ours.daemon.pid(), "STOP");
    support::poll("BIRD sees BFD down", DOWN_WAIT, || {
        let bfd = bird.bfd_state(OURS)?;
        if bfd == "Down" || bfd == "Init" {
            Ok(())
        } else {
            Err(bfd)
        }
    });
    signal(ours.daemon.pid(), "CONT");
    wait_ours(
        &mut ours,
        "back after mini-router ran again",
        UP_WAIT,
        "up",
        true,
    );
    support::poll("BIRD back up", UP_WAIT, || {
        let bfd = bird.bfd_state(OURS)?;
        if bfd == "Up" && bird.bgp_established("ours") {
            Ok(())
        } else {
            Err(format!("{bfd}\n{}", bird.log()))
        }
    });
}
