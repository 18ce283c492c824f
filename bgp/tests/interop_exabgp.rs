//! Interop with ExaBGP 4.2 started from its Debian package on a loopback address of its own
//! (see `interop/exabgp.rs`).
//!
//! Our speaker against it (`interop/scenarios.rs`): sessions opened by either side, IPv4 and
//! IPv6 routes over an IPv4 session and IPv6 routes over an IPv6 session, each way with
//! AS_PATH (4-octet ASNs), MED, communities, large communities and NEXT_HOP intact, their
//! withdrawals, LOCAL_PREF on iBGP, the daemon's Bad Peer AS NOTIFICATION reported as
//! received 2/2, our hold timer expiring while the daemon is frozen with SIGSTOP, and a
//! session the daemon resets taken back at once (not after ConnectRetry).
//! `harness_exabgp_peers_with_frr` proves the harness itself (two daemons, no ferrolb).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod interop;

use std::net::IpAddr;
use std::time::Duration;

use interop::exabgp::ExaBgp;
use interop::frr::Frr;
use interop::scenarios::{self, Kind};
use interop::{Daemon, Endpoint, PeerSpec, Route, wait_established, wait_no_route, wait_route};

const WAIT: Duration = Duration::from_secs(20);

/// Proves the harness rather than our code: ExaBGP (passive) and FRR reach Established and
/// exchange routes with their attributes; ExaBGP's API pipe announces and withdraws at runtime.
#[test]
fn harness_exabgp_peers_with_frr() {
    let exa_at = Endpoint::allocate().unwrap();
    let frr_at = Endpoint::allocate().unwrap();
    let mut exa_spec = PeerSpec::new(65040, frr_at.ip(), frr_at.port, 65041);
    exa_spec.passive = true;
    exa_spec.routes = vec![
        Route::new("10.40.0.0/24")
            .med(40)
            .community(65040, 1)
            .large_community(4_200_000_040, 1, 2)
            .prepend(&[4_200_000_041]),
        Route::new("2001:db8:40::/48").community(65040, 6),
    ];
    let mut frr_spec = PeerSpec::new(65041, exa_at.ip(), exa_at.port, 65040);
    frr_spec.routes = vec![
        Route::new("10.41.0.0/24")
            .med(41)
            .community(65041, 1)
            .large_community(1, 2, 3),
        Route::new("2001:db8:41::/48"),
    ];
    let mut exa = ExaBgp::start_at(exa_at, exa_spec).unwrap();
    let mut frr = Frr::start_at(frr_at, frr_spec).unwrap();

    wait_established(&mut frr, WAIT);
    wait_established(&mut exa, WAIT);

    let at_frr = wait_route(&mut frr, "10.40.0.0/24".parse().unwrap(), WAIT);
    assert_eq!(at_frr.as_path, vec![65040, 4_200_000_041]);
    assert_eq!(at_frr.med, Some(40));
    assert_eq!(at_frr.communities, vec![(65040, 1)]);
    assert_eq!(at_frr.large_communities, vec![(4_200_000_040, 1, 2)]);
    assert_eq!(at_frr.next_hop, Some(IpAddr::V4(exa.addr())));
    wait_route(&mut frr, "2001:db8:40::/48".parse().unwrap(), WAIT);

    let at_exa = wait_route(&mut exa, "10.41.0.0/24".parse().unwrap(), WAIT);
    assert_eq!(at_exa.as_path, vec![65041]);
    assert_eq!(at_exa.med, Some(41));
    assert_eq!(at_exa.communities, vec![(65041, 1)]);
    assert_eq!(at_exa.large_communities, vec![(1, 2, 3)]);
    let at_exa6 = wait_route(&mut exa, "2001:db8:41::/48".parse().unwrap(), WAIT);
    assert_eq!(at_exa6.next_hop, Some(IpAddr::V6(frr.spec().ipv6_next_hop)));

    exa.withdraw("10.40.0.0/24".parse().unwrap()).unwrap();
    wait_no_route(&mut frr, "10.40.0.0/24".parse().unwrap(), WAIT);
    exa.announce(&Route::new("10.42.0.0/24").med(42)).unwrap();
    assert_eq!(
        wait_route(&mut frr, "10.42.0.0/24".parse().unwrap(), WAIT).med,
        Some(42)
    );
    frr.withdraw("2001:db8:41::/48".parse().unwrap()).unwrap();
    wait_no_route(&mut exa, "2001:db8:41::/48".parse().unwrap(), WAIT);
}

fn start_exabgp(at: Endpoint, spec: PeerSpec) -> interop::Result<Box<dyn Daemon>> {
    Ok(Box::new(ExaBgp::start_at(at, spec)?))
}

const KIND: Kind = Kind {
    start: start_exabgp,
    accepts_loopback_next_hop: true,
    accepts_ipv6_loopback_next_hop: true,
    cease_may_be_lost_when_it_connects: true,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_connect_to_exabgp_and_routes_with_attributes_and_withdrawals_flow_both_ways() {
    scenarios::routes_flow_both_ways(KIND, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exabgp_connects_to_us_and_routes_with_attributes_and_withdrawals_flow_both_ways() {
    scenarios::routes_flow_both_ways(KIND, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_session_with_exabgp_carries_ipv6_routes_with_attributes_both_ways() {
    scenarios::ipv6_session_carries_ipv6_routes(KIND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ibgp_with_exabgp_carries_local_pref_both_ways() {
    scenarios::ibgp_carries_local_pref(KIND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exabgp_bad_peer_as_notification_is_reported_as_received_2_2() {
    scenarios::their_as_mismatch_notification_is_reported(KIND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_exabgp_expires_our_hold_timer() {
    scenarios::frozen_peer_expires_our_hold_timer(KIND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exabgp_resetting_the_session_it_opened_is_taken_back_at_once() {
    scenarios::session_reset_by_the_daemon_comes_back(KIND, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exabgp_resetting_the_session_we_opened_is_dialed_again_at_once() {
    scenarios::session_reset_by_the_daemon_comes_back(KIND, true).await;
}
