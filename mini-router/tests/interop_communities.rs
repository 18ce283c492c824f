//! Routes with standard, extended and large communities from real daemons — GoBGP, BIRD and
//! ExaBGP, each on a loopback address of its own (the `bgp` crate's interop harness) — sent
//! over eBGP to a mini-router process, which shows them with `show ip bgp PREFIX [json]` and
//! `show bgp ipv6 unicast PREFIX [json]` as FRR 8.4 does. The layout itself is compared with
//! FRR's own captures in `render.rs`; here the communities travel the wire from each daemon's
//! encoder to the screen.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../../bgp/tests/interop/mod.rs"]
mod interop;
mod support;

use std::time::Duration;

use interop::bird::Bird;
use interop::exabgp::ExaBgp;
use interop::gobgp::GoBgp;
use interop::{Daemon, Endpoint, PeerSpec, Route};
use serde_json::Value;
use support::MiniRouter;

const OUR_AS: u32 = 64512;
const DAEMON_AS: u32 = 65001;
const WAIT: Duration = Duration::from_secs(40);

const RT_AS2: &str = "0002fc0000000064";
const SOO_AS2: &str = "0003fc0000000007";
const RT_IPV4: &str = "0102c00002010005";
const RT_AS4: &str = "0202fa56ea000005";
const ENCAP_VXLAN: &str = "030c000000000008";

/// One route of each family with the same communities, in an order that is not FRR's
/// (mini-router must sort them), with a duplicate.
fn routes(prefix_v4: &str, prefix_v6: &str, ext: &[&str]) -> Vec<Route> {
    [prefix_v4, prefix_v6]
        .iter()
        .map(|prefix| {
            let mut route = Route::new(prefix)
                .community(65001, 7)
                .community(65535, 65281)
                .community(64512, 100)
                .community(65535, 666)
                .community(65001, 7)
                .large_community(65001, 1, 2)
                .large_community(64512, 0, 7);
            for hex in ext {
                route = route.ext_community(hex);
            }
            route
        })
        .collect()
}

/// A mini-router in AS 64512 listening on `endpoint`, taking any speaker of `daemon` as an
/// eBGP neighbor in AS 65001, for IPv4 and IPv6 unicast.
fn mini_router(endpoint: &Endpoint, daemon: &Endpoint) -> MiniRouter {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("mini-router.conf");
    let text = format!(
        "router bgp {OUR_AS}\n bgp router-id {}\n neighbor SPEAKERS peer-group\n \
         neighbor SPEAKERS remote-as {DAEMON_AS}\n bgp listen range {}/32 peer-group SPEAKERS\n \
         address-family ipv6 unicast\n  neighbor SPEAKERS activate\n exit-address-family\n",
        endpoint.address.addr(),
        daemon.ip(),
    );
    std::fs::write(&config, text).expect("write mini-router.conf");
    let listen = format!("{}:{}", endpoint.ip(), endpoint.port);
    let config = config.display().to_string();
    MiniRouter::start_in(
        dir,
        None,
        &[
            "--config",
            &config,
            "--listen",
            &listen,
            "--no-fib",
            "--hostname",
            "router",
        ],
    )
}

/// The lines of `show … PREFIX` between the path's attribute line and `Last update:`, once
/// the route is there with a Community line.
fn detail(router: &mut MiniRouter, command: &str) -> (String, Vec<String>) {
    let text = router.wait_show(command, "the route with its communities", WAIT, |text| {
        if text.contains("Community: ") {
            Ok(text.to_string())
        } else {
            Err(text.to_string())
        }
    });
    let lines = text
        .lines()
        .filter(|l| l.contains("Community: "))
        .map(|l| l.trim_end().to_string())
        .collect();
    (text, lines)
}

/// Checks what mini-router shows for the daemon's two routes.
fn check(router: &mut MiniRouter, daemon: &mut impl Daemon, prefixes: [&str; 2], extended: &str) {
    for (prefix, command) in [
        (prefixes[0], format!("show ip bgp {}", prefixes[0])),
        (
            prefixes[1],
            format!("show bgp ipv6 unicast {}", prefixes[1]),
        ),
    ] {
        let (text, lines) = detail(router, &command);
        let name = daemon.name();
        assert_eq!(
            lines,
            [
                "      Community: 64512:100 65001:7 blackhole no-export".to_string(),
                format!("      Extended Community: {extended}"),
                "      Large Community: 64512:0:7 65001:1:2".to_string(),
            ],
            "{name} {prefix}:\n{text}"
        );
        assert!(
            text.contains("(1 available, best #1, table default, inform peer to blackhole prefix)"),
            "{name} {prefix}: the Paths line notes the blackhole community:\n{text}"
        );
        let json: Value = serde_json::from_str(&router.ok(&[&format!("{command} json")]))
            .unwrap_or_else(|e| panic!("{name} {prefix}: JSON: {e}"));
        let path = &json["paths"][0];
        assert_eq!(
            path["community"]["string"], "64512:100 65001:7 blackhole no-export",
            "{name} {prefix}: {json}"
        );
        assert_eq!(
            path["community"]["list"],
            serde_json::json!(["64512:100", "65001:7", "blackhole", "noExport"]),
            "{name} {prefix}"
        );
        assert_eq!(
            path["extendedCommunity"]["string"], extended,
            "{name} {prefix}"
        );
        assert_eq!(
            path["largeCommunity"]["string"], "64512:0:7 65001:1:2",
            "{name} {prefix}"
        );
        assert_eq!(
            path["largeCommunity"]["list"],
            serde_json::json!(["64512:0:7", "65001:1:2"]),
            "{name} {prefix}"
        );
        assert_eq!(
            path["peer"]["peerId"],
            daemon.peer_ip().to_string(),
            "{name}"
        );
    }
}

/// The spec of a daemon in AS 65001 that connects to mini-router on `router`.
fn spec(router: &Endpoint, routes: Vec<Route>) -> PeerSpec {
    let mut spec = PeerSpec::new(DAEMON_AS, router.ip(), router.port, OUR_AS);
    spec.hold_time = 9;
    spec.routes = routes;
    spec
}

/// Starts mini-router and a daemon (`start`) that sends it `prefixes` with the common
/// communities and the extended ones of `ext`, and checks what mini-router shows.
fn communities_from<D: Daemon>(
    start: impl FnOnce(Endpoint, PeerSpec) -> interop::Result<D>,
    prefixes: [&str; 2],
    ext: &[&str],
    extended: &str,
) {
    let router_end = Endpoint::allocate().unwrap();
    let daemon_end = Endpoint::allocate().unwrap();
    let mut router = mini_router(&router_end, &daemon_end);
    let routes = routes(prefixes[0], prefixes[1], ext);
    let mut daemon = start(daemon_end, spec(&router_end, routes)).unwrap();
    check(&mut router, &mut daemon, prefixes, extended);
}

#[test]
fn communities_from_exabgp_are_shown_as_frr_shows_them() {
    communities_from(
        ExaBgp::start_at,
        ["203.0.113.0/24", "2001:db8:e::/48"],
        &[ENCAP_VXLAN, RT_AS4, SOO_AS2, RT_IPV4, RT_AS2, RT_AS2],
        "RT:64512:100 SoO:64512:7 RT:192.0.2.1:5 RT:4200000000:5 ET:8",
    );
}

#[test]
fn communities_from_bird_are_shown_as_frr_shows_them() {
    communities_from(
        Bird::start_at,
        ["198.51.100.0/24", "2001:db8:b::/48"],
        &[ENCAP_VXLAN, RT_AS4, SOO_AS2, RT_IPV4, RT_AS2],
        "RT:64512:100 SoO:64512:7 RT:192.0.2.1:5 RT:4200000000:5 ET:8",
    );
}

#[test]
fn communities_from_gobgp_are_shown_as_frr_shows_them() {
    // GoBGP's CLI has no site of origin.
    communities_from(
        GoBgp::start_at,
        ["192.0.2.0/24", "2001:db8:9::/48"],
        &[ENCAP_VXLAN, RT_AS4, RT_IPV4, RT_AS2],
        "RT:64512:100 RT:192.0.2.1:5 RT:4200000000:5 ET:8",
    );
}
