//! Interop with FRR 8.4 `bgpd` started from its Debian package on a loopback address of its
//! own (see `interop/frr.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod interop;

use std::net::IpAddr;
use std::time::Duration;

use interop::frr::Frr;
use interop::gobgp::GoBgp;
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
