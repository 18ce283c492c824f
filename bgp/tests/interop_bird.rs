//! Interop with BIRD 2.0 started from its Debian package on a loopback address of its own
//! (see `interop/bird.rs`).
//!
//! Our speaker against it (`interop/scenarios.rs`): sessions opened by either side, IPv4 and
//! IPv6 routes over an IPv4 session and IPv6 routes over an IPv6 session, each way with
//! AS_PATH (4-octet ASNs), MED, communities, large communities and NEXT_HOP intact, their
//! withdrawals, LOCAL_PREF on iBGP, the daemon's Bad Peer AS NOTIFICATION reported as
//! received 2/2, our hold timer expiring while the daemon is frozen with SIGSTOP, and a
//! session the daemon resets taken back at once (not after ConnectRetry).
//! `harness_bird_peers_with_frr` proves the harness itself (two daemons, no ferrolb).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod interop;

use std::net::IpAddr;
use std::time::Duration;

use interop::bird::Bird;
use interop::frr::Frr;
use interop::scenarios::{self, Kind};
use interop::{Daemon, Endpoint, PeerSpec, Route, wait_established, wait_no_route, wait_route};

const WAIT: Duration = Duration::from_secs(20);

/// Proves the harness rather than our code: BIRD and FRR, each started by it, reach
/// Established and exchange routes with their attributes; BIRD's runtime reconfiguration
/// announces and withdraws.
#[test]
fn harness_bird_peers_with_frr() {
    let bird_at = Endpoint::allocate().unwrap();
    let frr_at = Endpoint::allocate().unwrap();
    let mut bird_spec = PeerSpec::new(65030, frr_at.ip(), frr_at.port, 65031);
    bird_spec.routes = vec![
        Route::new("10.30.0.0/24")
            .med(30)
            .community(65030, 1)
            .large_community(4_200_000_030, 1, 2)
            .prepend(&[4_200_000_031]),
        Route::new("2001:db8:30::/48").community(65030, 6),
    ];
    let mut frr_spec = PeerSpec::new(65031, bird_at.ip(), bird_at.port, 65030);
    frr_spec.passive = true;
    frr_spec.routes = vec![Route::new("10.31.0.0/24").med(31).community(65031, 1)];
    let mut frr = Frr::start_at(frr_at, frr_spec).unwrap();
    let mut bird = Bird::start_at(bird_at, bird_spec).unwrap();

    wait_established(&mut bird, WAIT);
    wait_established(&mut frr, WAIT);

    let at_frr = wait_route(&mut frr, "10.30.0.0/24".parse().unwrap(), WAIT);
    assert_eq!(at_frr.as_path, vec![65030, 4_200_000_031]);
    assert_eq!(at_frr.med, Some(30));
    assert_eq!(at_frr.communities, vec![(65030, 1)]);
    assert_eq!(at_frr.large_communities, vec![(4_200_000_030, 1, 2)]);
    assert_eq!(at_frr.next_hop, Some(IpAddr::V4(bird.addr())));
    let at_frr6 = wait_route(&mut frr, "2001:db8:30::/48".parse().unwrap(), WAIT);
    assert_eq!(at_frr6.communities, vec![(65030, 6)]);

    let at_bird = wait_route(&mut bird, "10.31.0.0/24".parse().unwrap(), WAIT);
    assert_eq!(at_bird.as_path, vec![65031]);
    assert_eq!(at_bird.med, Some(31));
    assert_eq!(at_bird.communities, vec![(65031, 1)]);

    bird.withdraw("10.30.0.0/24".parse().unwrap()).unwrap();
    wait_no_route(&mut frr, "10.30.0.0/24".parse().unwrap(), WAIT);
    bird.announce(&Route::new("10.32.0.0/24").med(32)).unwrap();
    assert_eq!(
        wait_route(&mut frr, "10.32.0.0/24".parse().unwrap(), WAIT).med,
        Some(32)
    );
}

fn start_bird(at: Endpoint, spec: PeerSpec) -> interop::Result<Box<dyn Daemon>> {
    Ok(Box::new(Bird::start_at(at, spec)?))
}

const KIND: Kind = Kind {
    start: start_bird,
    accepts_loopback_next_hop: true,
    accepts_ipv6_loopback_next_hop: true,
    cease_may_be_lost_when_it_connects: false,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_connect_to_bird_and_routes_with_attributes_and_withdrawals_flow_both_ways() {
    scenarios::routes_flow_both_ways(KIND, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bird_connects_to_us_and_routes_with_attributes_and_withdrawals_flow_both_ways() {
    scenarios::routes_flow_both_ways(KIND, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_session_with_bird_carries_ipv6_routes_with_attributes_both_ways() {
    scenarios::ipv6_session_carries_ipv6_routes(KIND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ibgp_with_bird_carries_local_pref_both_ways() {
    scenarios::ibgp_carries_local_pref(KIND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bird_bad_peer_as_notification_is_reported_as_received_2_2() {
    scenarios::their_as_mismatch_notification_is_reported(KIND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_bird_expires_our_hold_timer() {
    scenarios::frozen_peer_expires_our_hold_timer(KIND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bird_resetting_the_session_it_opened_is_taken_back_at_once() {
    scenarios::session_reset_by_the_daemon_comes_back(KIND, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bird_resetting_the_session_we_opened_is_dialed_again_at_once() {
    scenarios::session_reset_by_the_daemon_comes_back(KIND, true).await;
}
