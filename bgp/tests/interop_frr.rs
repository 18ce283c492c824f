//! Interop with FRR 8.4 `bgpd` started from its Debian package on a loopback address of its
//! own (see `interop/frr.rs`).
//!
//! Our speaker against it (`interop/scenarios.rs`): sessions opened by either side, IPv4 and
//! IPv6 routes over an IPv4 session and IPv6 routes over an IPv6 session, each way with
//! AS_PATH (4-octet ASNs), MED, communities, large communities and NEXT_HOP intact, their
//! withdrawals, LOCAL_PREF on iBGP, the daemon's Bad Peer AS NOTIFICATION reported as
//! received 2/2, our hold timer expiring while the daemon is frozen with SIGSTOP, and a
//! session the daemon resets taken back at once (not after ConnectRetry).
//! FRR also checks TCP MD5 (RFC 2385): the same password establishes, a different one never
//! does. `harness_frr_peers_with_gobgp` proves the harness itself (two daemons, no ferrolb).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod interop;

use std::net::IpAddr;
use std::time::Duration;

use bgp::{Event, SessionState};
use interop::frr::Frr;
use interop::gobgp::GoBgp;
use interop::ours::Ours;
use interop::scenarios::{self, Kind};
use interop::{Daemon, Endpoint, PeerSpec, Route, wait_established, wait_no_route, wait_route};

const WAIT: Duration = Duration::from_secs(20);

/// Proves the harness rather than our code: FRR and GoBGP, each started by it, reach
/// Established with each other and exchange IPv4 and IPv6 routes with their attributes, and a
/// withdrawal made at runtime reaches the other side.
#[test]
fn harness_frr_peers_with_gobgp() {
    let frr_at = Endpoint::allocate().unwrap();
    let gobgp_at = Endpoint::allocate().unwrap();
    let mut frr_spec = PeerSpec::new(65001, gobgp_at.ip(), gobgp_at.port, 4_200_000_002);
    frr_spec.routes = vec![
        Route::new("10.11.0.0/24")
            .med(11)
            .community(65001, 7)
            .large_community(4_200_000_000, 1, 2)
            .prepend(&[4_200_000_009])
            // GoBGP refuses a loopback NEXT_HOP.
            .next_hop("192.0.2.11"),
        Route::new("2001:db8:11::/48").community(65001, 8),
    ];
    let mut gobgp_spec = PeerSpec::new(4_200_000_002, frr_at.ip(), frr_at.port, 65001);
    gobgp_spec.passive = true;
    gobgp_spec.routes = vec![
        Route::new("10.12.0.0/24")
            .med(12)
            .community(65002, 1)
            .large_community(4_200_000_002, 3, 4)
            .prepend(&[65010]),
        Route::new("2001:db8:12::/48").large_community(1, 2, 3),
    ];
    let mut gobgp = GoBgp::start_at(gobgp_at, gobgp_spec).unwrap();
    let mut frr = Frr::start_at(frr_at, frr_spec).unwrap();

    wait_established(&mut frr, WAIT);
    wait_established(&mut gobgp, WAIT);

    let at_gobgp = wait_route(&mut gobgp, "10.11.0.0/24".parse().unwrap(), WAIT);
    assert_eq!(at_gobgp.as_path, vec![65001, 4_200_000_009]);
    assert_eq!(at_gobgp.med, Some(11));
    assert_eq!(at_gobgp.communities, vec![(65001, 7)]);
    assert_eq!(at_gobgp.large_communities, vec![(4_200_000_000, 1, 2)]);
    assert_eq!(
        at_gobgp.next_hop,
        Some("192.0.2.11".parse::<IpAddr>().unwrap())
    );
    let at_gobgp6 = wait_route(&mut gobgp, "2001:db8:11::/48".parse().unwrap(), WAIT);
    assert_eq!(at_gobgp6.communities, vec![(65001, 8)]);
    assert_eq!(
        at_gobgp6.next_hop,
        Some(IpAddr::V6(frr.spec().ipv6_next_hop))
    );

    let at_frr = wait_route(&mut frr, "10.12.0.0/24".parse().unwrap(), WAIT);
    assert_eq!(at_frr.as_path, vec![4_200_000_002, 65010]);
    assert_eq!(at_frr.med, Some(12));
    assert_eq!(at_frr.communities, vec![(65002, 1)]);
    assert_eq!(at_frr.large_communities, vec![(4_200_000_002, 3, 4)]);
    assert_eq!(at_frr.next_hop, Some(IpAddr::V4(gobgp.addr())));
    let at_frr6 = wait_route(&mut frr, "2001:db8:12::/48".parse().unwrap(), WAIT);
    assert_eq!(at_frr6.large_communities, vec![(1, 2, 3)]);

    frr.withdraw("10.11.0.0/24".parse().unwrap()).unwrap();
    wait_no_route(&mut gobgp, "10.11.0.0/24".parse().unwrap(), WAIT);
    gobgp.withdraw("2001:db8:12::/48".parse().unwrap()).unwrap();
    wait_no_route(&mut frr, "2001:db8:12::/48".parse().unwrap(), WAIT);

    frr.announce(&Route::new("10.13.0.0/24").med(13).next_hop("192.0.2.13"))
        .unwrap();
    let added = wait_route(&mut gobgp, "10.13.0.0/24".parse().unwrap(), WAIT);
    assert_eq!(added.med, Some(13));
}

fn start_frr(at: Endpoint, spec: PeerSpec) -> interop::Result<Box<dyn Daemon>> {
    Ok(Box::new(Frr::start_at(at, spec)?))
}

const KIND: Kind = Kind {
    start: start_frr,
    accepts_loopback_next_hop: true,
    accepts_ipv6_loopback_next_hop: false,
    cease_may_be_lost_when_it_connects: false,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_connect_to_frr_and_routes_with_attributes_and_withdrawals_flow_both_ways() {
    scenarios::routes_flow_both_ways(KIND, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr_connects_to_us_and_routes_with_attributes_and_withdrawals_flow_both_ways() {
    scenarios::routes_flow_both_ways(KIND, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_session_with_frr_carries_ipv6_routes_with_attributes_both_ways() {
    scenarios::ipv6_session_carries_ipv6_routes(KIND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ibgp_with_frr_carries_local_pref_both_ways() {
    scenarios::ibgp_carries_local_pref(KIND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr_bad_peer_as_notification_is_reported_as_received_2_2() {
    scenarios::their_as_mismatch_notification_is_reported(KIND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_frr_expires_our_hold_timer() {
    scenarios::frozen_peer_expires_our_hold_timer(KIND).await;
}

/// Starts our speaker and FRR, both active, with the given TCP MD5 passwords.
async fn md5_pair(ours_password: &str, frr_password: &str) -> (Ours, Frr) {
    let ours = Ours::start(scenarios::OUR_AS).await;
    let mut spec = PeerSpec::new(
        scenarios::THEIR_AS,
        ours.ip(),
        ours.endpoint.port,
        scenarios::OUR_AS,
    );
    spec.password = Some(frr_password.to_string());
    let frr = Frr::start(spec).unwrap();
    let mut config = ours.peer_config(&frr, scenarios::THEIR_AS);
    config.password = Some(ours_password.to_string());
    ours.add_peer(config).await;
    (ours, frr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_md5_with_the_same_password_as_frr_establishes() {
    let (mut ours, mut frr) = md5_pair("ferrolb-md5-secret", "ferrolb-md5-secret").await;
    ours.wait_up(IpAddr::V4(frr.addr()), WAIT).await;
    interop::wait_for_async(&mut frr, WAIT, "session Established", |f| {
        Ok(f.established()?.then_some(()))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_md5_with_a_different_password_than_frr_never_establishes() {
    let (mut ours, frr) = md5_pair("ferrolb-md5-secret", "another-secret").await;
    let peer = IpAddr::V4(frr.addr());
    // Both sides keep trying (our retry is 300 ms, FRR's 1 s): watch a few rounds of it.
    let until = tokio::time::Instant::now() + Duration::from_secs(6);
    while tokio::time::Instant::now() < until {
        while let Ok(event) = ours.events.try_recv() {
            assert!(
                !matches!(event, Event::PeerUp { .. }),
                "session came up with different MD5 passwords: {event:?}"
            );
        }
        assert_ne!(frr.state().unwrap(), "Established");
        assert_ne!(ours.state(peer).await, Some(SessionState::Established));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(frr.connections_established().unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr_resetting_the_session_it_opened_is_taken_back_at_once() {
    scenarios::session_reset_by_the_daemon_comes_back(KIND, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr_resetting_the_session_we_opened_is_dialed_again_at_once() {
    scenarios::session_reset_by_the_daemon_comes_back(KIND, true).await;
}
