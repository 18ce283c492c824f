//! The seed tutorial's router scenario, end to end, in network namespaces these tests create:
//! `router` (mini-router, 10.192.0.7/24, headless, kernel FIB on), `node1` 10.192.0.3 and
//! `node2` 10.192.0.4 on one bridge, each running GoBGP's gobgpd in AS 64512 the way
//! MetalLB's speaker does (dials the router, announces 198.51.100.0/32 with next hop self
//! and ORIGIN incomplete) and a web server on 198.51.100.0 (the service address on lo).
//!
//! The tests read the router with `mini-router -c` over its control socket, the kernel with
//! `ip -j route show proto bgp` in the router's namespace, and fetch
//! `http://198.51.100.0/` with busybox wget from the router, as the tutorial does after
//! `start-shell`. The path rows of `show ip bgp` are compared with FRR 8.4's captures of the
//! same states (tests/frr-8.4/).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Duration;

use support::speaker::{Speaker, WebServer, wget};
use support::{Lan, MiniRouter, QUICK_START, summary_rows, table_paths};

const PREFIX: &str = "198.51.100.0/32";
const SERVICE: &str = "198.51.100.0";
const NODE1: &str = "10.192.0.3";
const NODE2: &str = "10.192.0.4";
const ROUTER: &str = "10.192.0.7";
const WAIT: Duration = Duration::from_secs(40);

fn seed_lan() -> Lan {
    Lan::create(&[
        ("router", "10.192.0.7/24"),
        ("node1", "10.192.0.3/24"),
        ("node2", "10.192.0.4/24"),
    ])
}

/// The (prefix, status codes, next hop) rows of a reference `show ip bgp` capture.
fn reference_paths(scenario: &str) -> Vec<(String, String, String)> {
    let path = format!(
        "{}/tests/frr-8.4/{scenario}/show_ip_bgp.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    table_paths(&text)
}

/// Waits until `show ip bgp summary` lists exactly `expected` as (address, State/PfxRcd),
/// every row with AS 64512 and the dynamic mark `dynamic`.
fn wait_summary(router: &mut MiniRouter, expected: &[(&str, &str)], dynamic: bool) -> String {
    router.wait_show(
        "show ip bgp summary",
        &format!("summary {expected:?}"),
        WAIT,
        |text| {
            let rows = summary_rows(text);
            let got: Vec<(&str, &str)> = rows
                .iter()
                .map(|r| (r.address.as_str(), r.state_or_prefixes.as_str()))
                .collect();
            if got != expected {
                return Err(format!("rows {got:?}"));
            }
            if let Some(row) = rows
                .iter()
                .find(|r| r.remote_as != "64512" || r.dynamic != dynamic)
            {
                return Err(format!("row {row:?}: want AS 64512, dynamic {dynamic}"));
            }
            Ok(text.to_owned())
        },
    )
}

/// Waits until the path rows of `show ip bgp` are exactly `expected`.
fn wait_paths(router: &mut MiniRouter, expected: &[(String, String, String)]) -> String {
    router.wait_show(
        "show ip bgp",
        &format!("paths {expected:?}"),
        WAIT,
        |text| {
            let got = table_paths(text);
            if got == expected {
                Ok(text.to_owned())
            } else {
                Err(format!("paths {got:?}"))
            }
        },
    )
}

fn paths(rows: &[(&str, &str)]) -> Vec<(String, String, String)> {
    rows.iter()
        .map(|(codes, nh)| (PREFIX.to_owned(), (*codes).to_owned(), (*nh).to_owned()))
        .collect()
}

/// Waits until the router namespace's bgp routes are exactly `expected` (destination,
/// sorted gateways).
fn wait_kernel(lan: &Lan, expected: &[(&str, &[&str])]) {
    let want: Vec<(String, Vec<String>)> = expected
        .iter()
        .map(|(dst, gws)| {
            (
                (*dst).to_owned(),
                gws.iter().map(|g| (*g).to_owned()).collect(),
            )
        })
        .collect();
    support::poll(&format!("kernel routes {want:?}"), WAIT, || {
        let got = lan.host("router").bgp_routes();
        if got == want {
            Ok(())
        } else {
            Err(format!("{got:?}"))
        }
    });
}

/// Fetches the service from the router until it answers; returns the body.
fn fetch_service(lan: &Lan) -> String {
    support::poll(
        "http://198.51.100.0/ from router",
        Duration::from_secs(20),
        || wget(lan.host("router"), &format!("http://{SERVICE}/")),
    )
}

/// Stops mini-router with SIGTERM: it must exit cleanly, leave no bgp route in the kernel
/// and stop answering on its control socket.
fn stop_and_assert_clean(lan: &Lan, mut router: MiniRouter) {
    let status = router.daemon.terminate(Duration::from_secs(10));
    let log = router.daemon.log();
    assert!(
        status.is_some_and(|s| s.success()),
        "mini-router did not exit cleanly on SIGTERM ({status:?}):\n{log}"
    );
    assert_eq!(
        lan.host("router").bgp_routes(),
        vec![],
        "bgp routes left in the kernel after exit"
    );
    let out = router.cli(&["show ip bgp summary"]);
    assert_eq!(out.code, Some(2), "-c after exit: {out:?}");
}

#[test]
fn quick_start_learns_both_speakers_installs_ecmp_follows_maximum_paths_and_withdrawals() {
    let lan = seed_lan();
    let _web1 = WebServer::start(
        lan.host("node1"),
        SERVICE,
        "hello from node1 (10.192.0.3)\n",
    );
    let _web2 = WebServer::start(
        lan.host("node2"),
        SERVICE,
        "hello from node2 (10.192.0.4)\n",
    );
    let mut router = MiniRouter::start(Some(lan.host("router")), &QUICK_START);
    let node1 = Speaker::start(lan.host("node1"), NODE1, 64512, ROUTER);
    let node2 = Speaker::start(lan.host("node2"), NODE2, 64512, ROUTER);

    // Both speakers dial in and are accepted as dynamic neighbors, nothing announced yet.
    wait_summary(&mut router, &[(NODE1, "0"), (NODE2, "0")], true);

    // node1 first, then node2: the order of FRR's capture.
    node1.announce(PREFIX);
    wait_paths(&mut router, &paths(&[("*>i", NODE1)]));
    node2.announce(PREFIX);
    let summary = wait_summary(&mut router, &[(NODE1, "1"), (NODE2, "1")], true);
    assert!(summary.contains("Total number of neighbors 2"), "{summary}");
    assert!(summary.contains("local AS number 64512"), "{summary}");

    // Default maximum-paths is multipath (FRR's reference build: 256).
    let table = wait_paths(&mut router, &reference_paths("two-paths"));
    assert!(
        table.contains("Displayed  1 routes and 2 total paths"),
        "{table}"
    );
    wait_kernel(&lan, &[(SERVICE, &[NODE1, NODE2])]);
    let body = fetch_service(&lan);
    assert!(body.starts_with("hello from node"), "{body}");

    // maximum-paths ibgp 1: one best path, one nexthop in the kernel, traffic to node1.
    router.ok(&[
        "configure terminal",
        "router bgp 64512",
        "address-family ipv4 unicast",
        "maximum-paths ibgp 1",
    ]);
    wait_paths(&mut router, &reference_paths("two-paths-maxpaths-ibgp-1"));
    wait_kernel(&lan, &[(SERVICE, &[NODE1])]);
    assert_eq!(fetch_service(&lan), "hello from node1 (10.192.0.3)\n");

    // maximum-paths ibgp 2: multipath again, both nexthops, either node answers.
    router.ok(&[
        "configure terminal",
        "router bgp 64512",
        "address-family ipv4 unicast",
        "maximum-paths ibgp 2",
    ]);
    wait_paths(&mut router, &reference_paths("two-paths-maxpaths-ibgp-2"));
    wait_kernel(&lan, &[(SERVICE, &[NODE1, NODE2])]);
    let body = fetch_service(&lan);
    assert!(body.starts_with("hello from node"), "{body}");
    let running = router.ok(&["show running-config"]);
    assert!(running.contains("  maximum-paths ibgp 2\n"), "{running}");

    // node2 withdraws: one path left, one nexthop; node2's session stays up with 0 prefixes.
    node2.withdraw(PREFIX);
    wait_paths(&mut router, &paths(&[("*>i", NODE1)]));
    wait_summary(&mut router, &[(NODE1, "1"), (NODE2, "0")], true);
    wait_kernel(&lan, &[(SERVICE, &[NODE1])]);

    // node1 withdraws: gone from the RIB and the kernel, the service is unreachable.
    node1.withdraw(PREFIX);
    wait_paths(&mut router, &[]);
    wait_kernel(&lan, &[]);
    assert!(wget(lan.host("router"), &format!("http://{SERVICE}/")).is_err());

    // Announced again, then mini-router stops: nothing is left in the kernel.
    node1.announce(PREFIX);
    wait_kernel(&lan, &[(SERVICE, &[NODE1])]);
    stop_and_assert_clean(&lan, router);
}

#[test]
fn seed_neighbor_lines_typed_over_c_peer_with_both_speakers_and_forward_to_the_best_path() {
    let lan = seed_lan();
    let _web1 = WebServer::start(
        lan.host("node1"),
        SERVICE,
        "hello from node1 (10.192.0.3)\n",
    );
    let mut router = MiniRouter::start(Some(lan.host("router")), &["--hostname", "router"]);

    // The tutorial's typed configuration, as one -c session; nothing is printed.
    let out = router.ok(&[
        "configure terminal",
        "router bgp 64512",
        "neighbor 10.192.0.3 remote-as 64512",
        "neighbor 10.192.0.4 remote-as 64512",
        "exit",
        "exit",
    ]);
    assert_eq!(out, "");
    let running = router.ok(&["show running-config"]);
    assert!(
        running.contains(
            "router bgp 64512\n neighbor 10.192.0.3 remote-as 64512\n neighbor 10.192.0.4 remote-as 64512\nexit\n"
        ),
        "{running}"
    );
    // Quagga's single best path, as in the seed's output.
    router.ok(&[
        "configure terminal",
        "router bgp 64512",
        "address-family ipv4 unicast",
        "maximum-paths ibgp 1",
    ]);

    let node1 = Speaker::start(lan.host("node1"), NODE1, 64512, ROUTER);
    let node2 = Speaker::start(lan.host("node2"), NODE2, 64512, ROUTER);
    node1.announce(PREFIX);
    wait_paths(&mut router, &paths(&[("*>i", NODE1)]));
    node2.announce(PREFIX);

    let summary = wait_summary(&mut router, &[(NODE1, "1"), (NODE2, "1")], false);
    assert!(
        summary.contains("BGP router identifier 10.192.0.7"),
        "{summary}"
    );
    let table = wait_paths(&mut router, &reference_paths("two-paths-maxpaths-ibgp-1"));
    assert!(table.contains("local router ID is 10.192.0.7"), "{table}");
    wait_kernel(&lan, &[(SERVICE, &[NODE1])]);
    assert_eq!(fetch_service(&lan), "hello from node1 (10.192.0.3)\n");

    // The best path's speaker withdraws: node2's path becomes best and the kernel follows.
    node1.withdraw(PREFIX);
    wait_paths(&mut router, &paths(&[("*>i", NODE2)]));
    wait_kernel(&lan, &[(SERVICE, &[NODE2])]);
    node2.withdraw(PREFIX);
    wait_paths(&mut router, &[]);
    wait_kernel(&lan, &[]);

    node2.announce(PREFIX);
    wait_kernel(&lan, &[(SERVICE, &[NODE2])]);
    stop_and_assert_clean(&lan, router);
}
