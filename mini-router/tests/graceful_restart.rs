//! Graceful restart (RFC 4724) between mini-router and FRR 8.4's bgpd, both roles, on a LAN
//! these tests create (mini-router in `router` 10.192.0.7/24, bgpd in `node1` 10.192.0.3/24,
//! iBGP AS 64512; `support::Lan` removes it even when a test fails):
//!
//! - FRR restarting (SIGKILL of bgpd, `bgp graceful-restart preserve-fw-state`): mini-router,
//!   in FRR's default Helper mode, keeps the routes — marked stale, and in the kernel table
//!   all along — replaces them as FRR announces them again and drops the rest at FRR's
//!   End-of-RIB; when FRR does not come back, the restart timer removes them.
//! - mini-router restarting (`bgp graceful-restart`, SIGTERM): FRR keeps its routes stale,
//!   gets its End-of-RIB after the restart and drops what mini-router no longer announces.
//! - Without graceful restart (`bgp graceful-restart-disable`) FRR sees no capability.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::frr::Frr;
use support::{Lan, MiniRouter, Netns};

const ROUTER: &str = "10.192.0.7";
const NODE1: &str = "10.192.0.3";
const WAIT: Duration = Duration::from_secs(40);

fn lan() -> Lan {
    Lan::create(&[("router", "10.192.0.7/24"), ("node1", "10.192.0.3/24")])
}

/// bgpd on node1 peering with the router, restarting gracefully with `restart_time`,
/// originating `networks` (next hop self).
fn frr_restarting(restart_time: u16, networks: &[&str]) -> String {
    let mut s = format!(
        "frr defaults traditional\nhostname node1\n!\nrouter bgp 64512\n bgp router-id {NODE1}\n \
         no bgp ebgp-requires-policy\n no bgp network import-check\n \
         bgp graceful-restart restart-time {restart_time}\n bgp graceful-restart\n \
         bgp graceful-restart preserve-fw-state\n neighbor {ROUTER} remote-as 64512\n \
         neighbor {ROUTER} timers connect 1\n address-family ipv4 unicast\n"
    );
    for n in networks {
        s.push_str(&format!("  network {n}\n"));
    }
    s.push_str(" exit-address-family\n");
    s
}

/// bgpd on node1 in FRR's default graceful restart mode (Helper), peering with the router.
fn frr_helper() -> String {
    format!(
        "frr defaults traditional\nhostname node1\n!\nrouter bgp 64512\n bgp router-id {NODE1}\n \
         no bgp ebgp-requires-policy\n neighbor {ROUTER} remote-as 64512\n \
         neighbor {ROUTER} timers connect 1\n"
    )
}

/// Each prefix of `show ip bgp json` with whether its (only) path is stale.
fn stale_flags(table: &Value) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = table["routes"]
        .as_object()
        .map(|routes| {
            routes
                .iter()
                .map(|(prefix, paths)| {
                    let stale = paths[0]["stale"].as_bool().unwrap_or(false);
                    (prefix.clone(), stale)
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn router_stale_flags(router: &MiniRouter) -> Vec<(String, bool)> {
    let text = router.ok(&["show ip bgp json"]);
    stale_flags(&serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The destinations of the router namespace's BGP kernel routes via node1.
fn kernel(router_ns: &Netns) -> Vec<String> {
    let mut routes: Vec<String> = router_ns
        .bgp_routes()
        .into_iter()
        .filter(|(_, gateways)| gateways == &[NODE1.to_owned()])
        // `ip -j` writes host routes without their length.
        .map(|(dst, _)| {
            if dst.contains('/') {
                dst
            } else {
                format!("{dst}/32")
            }
        })
        .collect();
    routes.sort();
    routes
}

/// Polls until `check` holds, asserting `always` at every poll (and once more at the end).
fn wait_while_holding(
    what: &str,
    timeout: Duration,
    mut always: impl FnMut() -> Result<(), String>,
    mut check: impl FnMut() -> Result<(), String>,
) {
    let start = Instant::now();
    loop {
        if let Err(broken) = always() {
            panic!("while waiting for {what}: {broken}");
        }
        match check() {
            Ok(()) => return,
            Err(last) if start.elapsed() > timeout => {
                panic!("timed out after {timeout:?} waiting for {what}; last seen: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn expect<T: PartialEq + std::fmt::Debug>(got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("have {got:?}, want {want:?}"))
    }
}

#[test]
fn a_restarting_frr_keeps_its_routes_in_the_kernel_until_its_end_of_rib_or_restart_timer() {
    let lan = lan();
    let router_ns = lan.host("router");
    let router = MiniRouter::start(Some(router_ns), &["--hostname", "router"]);
    router.ok(&[
        "configure terminal",
        "router bgp 64512",
        "neighbor 10.192.0.3 remote-as 64512",
    ]);
    let both = ["198.51.100.0/32", "198.51.100.1/32"];
    let mut frr = Frr::start(lan.host("node1"), NODE1, &frr_restarting(60, &both));
    support::poll("both routes in the router's kernel", WAIT, || {
        expect(kernel(router_ns), both.map(str::to_owned).to_vec())
    });

    // bgpd crashes: its kernel closes the connection without a NOTIFICATION.
    frr.kill();
    let in_kernel = || expect(kernel(router_ns), both.map(str::to_owned).to_vec());
    wait_while_holding("the routes marked stale", WAIT, in_kernel, || {
        expect(
            router_stale_flags(&router),
            both.iter().map(|p| ((*p).to_owned(), true)).collect(),
        )
    });
    let neighbor = router.ok(&["show ip bgp neighbors 10.192.0.3"]);
    assert!(
        neighbor.contains(" (NSF passive)\n")
            && neighbor.contains("    The remaining time of restart timer is "),
        "{neighbor}"
    );
    let detail = router.ok(&["show ip bgp 198.51.100.0/32"]);
    assert!(
        detail.contains("  Local, (stale)\n")
            && detail.contains("      Time until Graceful Restart stale route deleted: "),
        "{detail}"
    );
    let table = router.ok(&["show ip bgp"]);
    assert!(table.contains("S>i198.51.100.0/32"), "{table}");

    // Back without 198.51.100.1 (and a short restart time for the next time): the kept
    // route is refreshed, the other goes at FRR's End-of-RIB; 198.51.100.0 never leaves the
    // kernel.
    frr.restart(&frr_restarting(3, &both[..1]));
    let first_in_kernel = || {
        let k = kernel(router_ns);
        if k.contains(&both[0].to_owned()) {
            Ok(())
        } else {
            Err(format!("{} left the kernel: {k:?}", both[0]))
        }
    };
    wait_while_holding(
        "the stale route refreshed and the other removed",
        WAIT,
        first_in_kernel,
        || {
            expect(
                (router_stale_flags(&router), kernel(router_ns)),
                (vec![(both[0].to_owned(), false)], vec![both[0].to_owned()]),
            )
        },
    );
    let json: Value =
        serde_json::from_str(&router.ok(&["show ip bgp neighbors 10.192.0.3 json"])).unwrap();
    let info = &json[NODE1]["gracefulRestartInfo"];
    assert_eq!(info["endOfRibRecv"]["ipv4Unicast"], true, "{info}");
    assert_eq!(info["remoteGrMode"], "Restart", "{info}");
    assert_eq!(info["rBit"], true, "{info}");
    assert_eq!(info["ipv4Unicast"]["fBit"], true, "{info}");

    // Gone for good: the restart time (3 s) runs out and the route leaves the kernel.
    frr.kill();
    support::poll("the stale route", WAIT, || {
        expect(
            router_stale_flags(&router),
            vec![(both[0].to_owned(), true)],
        )
    });
    support::poll("the route removed at the restart timer", WAIT, || {
        expect(
            (router_stale_flags(&router), kernel(router_ns)),
            (vec![], vec![]),
        )
    });
}

#[test]
fn frr_keeps_a_restarting_mini_routers_routes_stale_until_its_end_of_rib() {
    let lan = lan();
    let router_ns = lan.host("router");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("mini-router.conf");
    let write_config = |networks: &[&str]| {
        let mut text = format!(
            "hostname router\nrouter bgp 64512\n bgp router-id {ROUTER}\n bgp graceful-restart\n \
             bgp graceful-restart preserve-fw-state\n neighbor {NODE1} remote-as 64512\n \
             address-family ipv4 unicast\n"
        );
        for n in networks {
            text.push_str(&format!("  network {n}\n"));
        }
        text.push_str(" exit-address-family\n");
        std::fs::write(&config, text).expect("write mini-router.conf");
    };
    let both = ["203.0.113.0/24", "203.0.113.128/25"];
    write_config(&both);
    let config_arg = config.display().to_string();
    let args = ["--config", config_arg.as_str(), "--no-fib"];
    let router = MiniRouter::start_in(dir, Some(router_ns), &args);
    let frr = Frr::start(lan.host("node1"), NODE1, &frr_helper());
    let frr_table = || stale_flags(&frr.json("show ip bgp json"));
    support::poll("FRR to learn both routes", WAIT, || {
        expect(
            frr_table(),
            both.iter().map(|p| ((*p).to_owned(), false)).collect(),
        )
    });

    // mini-router stops (SIGTERM): it closes the session without a NOTIFICATION.
    let dir = router.into_dir();
    support::poll("FRR to keep both routes stale", WAIT, || {
        expect(
            frr_table(),
            both.iter().map(|p| ((*p).to_owned(), true)).collect(),
        )
    });
    let neighbor = frr.json(&format!("show ip bgp neighbors {ROUTER} json"));
    assert_eq!(
        neighbor[ROUTER]["lastResetDueTo"], "NSF peer closed the session",
        "{neighbor}"
    );

    // Back with one network less: FRR refreshes one, drops the other at the End-of-RIB.
    write_config(&both[..1]);
    let _router = MiniRouter::start_in(dir, Some(router_ns), &args);
    support::poll("FRR to refresh one route and drop the other", WAIT, || {
        expect(frr_table(), vec![(both[0].to_owned(), false)])
    });
    let neighbor = frr.json(&format!("show ip bgp neighbors {ROUTER} json"));
    let info = &neighbor[ROUTER]["gracefulRestartInfo"];
    assert_eq!(info["endOfRibRecv"]["ipv4Unicast"], true, "{info}");
    assert_eq!(info["remoteGrMode"], "Restart", "{info}");
    assert_eq!(info["rBit"], true, "{info}");
    assert_eq!(info["ipv4Unicast"]["fBit"], true, "{info}");
}

#[test]
fn frr_sees_no_graceful_restart_capability_when_it_is_disabled() {
    let lan = lan();
    let router = MiniRouter::start(Some(lan.host("router")), &["--hostname", "router"]);
    router.ok(&[
        "configure terminal",
        "router bgp 64512",
        "bgp graceful-restart-disable",
        "neighbor 10.192.0.3 remote-as 64512",
    ]);
    let frr = Frr::start(lan.host("node1"), NODE1, &frr_helper());
    let capability = || {
        let n = frr.json(&format!("show ip bgp neighbors {ROUTER} json"));
        let n = &n[ROUTER];
        if n["bgpState"] != "Established" {
            return Err(format!("not established: {n}"));
        }
        Ok(n["neighborCapabilities"].clone())
    };
    let seen = support::poll("the session", WAIT, capability);
    // FRR names the capability `gracefulRestartCapability` unless both sides sent it.
    assert_eq!(
        (&seen["gracefulRestart"], &seen["gracefulRestartCapability"]),
        (&Value::Null, &Value::from("advertised")),
        "{seen}"
    );

    // FRR's default mode on mini-router (Helper): the capability, with no family.
    router.ok(&[
        "configure terminal",
        "router bgp 64512",
        "no bgp graceful-restart-disable",
    ]);
    support::poll("the capability received", WAIT, || {
        let caps = capability()?;
        expect(
            caps["gracefulRestart"].clone(),
            Value::from("advertisedAndReceived"),
        )
    });
    let n = frr.json(&format!("show ip bgp neighbors {ROUTER} json"));
    assert_eq!(
        n[ROUTER]["gracefulRestartInfo"]["remoteGrMode"], "Helper",
        "{n}"
    );
}
