//! The interop scenarios every daemon goes through, written once and run by each
//! `interop_<daemon>.rs` test file with its [`Kind`]: sessions in both directions, IPv4 and
//! IPv6 routes with their attributes both ways and their withdrawals, LOCAL_PREF on iBGP, the
//! daemon's NOTIFICATION on an AS mismatch, hold timer expiry when the daemon is frozen, and
//! the session coming back at once when the daemon resets it.
//!
//! Our speaker uses a 4-octet AS and the daemons prepend a 4-octet AS, so AS4 handling is
//! exercised both ways.

use std::net::IpAddr;
use std::time::Duration;

use bgp::{DownReason, IdleHold, PeerConfig};

use super::ours::Ours;
use super::{Daemon, Endpoint, PeerSpec, Result, Route, wait_for_async};

/// Bound for every wait on a session or a route.
pub const WAIT: Duration = Duration::from_secs(20);

/// Our AS on eBGP sessions (4-octet).
pub const OUR_AS: u32 = 4_200_000_001;

/// The daemon's AS on eBGP sessions.
pub const THEIR_AS: u32 = 65_100;

/// A 4-octet AS the daemons put in the paths they send.
pub const THEIR_PREPEND: u32 = 4_200_000_077;

/// How to start one kind of daemon, and what it accepts.
#[derive(Clone, Copy)]
pub struct Kind {
    /// Starts the daemon at an endpoint with a spec.
    pub start: fn(Endpoint, PeerSpec) -> Result<Box<dyn Daemon>>,
    /// The daemon accepts an IPv4 NEXT_HOP in 127/8 (GoBGP treats it as withdraw).
    pub accepts_loopback_next_hop: bool,
    /// The daemon accepts `::1` as IPv6 next hop (FRR denies it as martian even with
    /// `bgp allow-martian-nexthop`).
    pub accepts_ipv6_loopback_next_hop: bool,
    /// When the daemon resets a session it opened, its Cease may never reach us. ExaBGP 4.2
    /// leaves Nagle on for the connections it opens and closes right after queueing the
    /// NOTIFICATION: with our UPDATEs still unread in its socket, the kernel answers that
    /// close with a RST (RFC 2525 §2.17) and drops the NOTIFICATION still held back by Nagle
    /// behind an unacknowledged segment, so all we see is the reset connection.
    pub cease_may_be_lost_when_it_connects: bool,
}

fn start(kind: Kind, at: Endpoint, spec: PeerSpec) -> Box<dyn Daemon> {
    (kind.start)(at, spec).unwrap_or_else(|e| panic!("start the daemon: {e}"))
}

fn prefix(text: &str) -> ipnet::IpNet {
    text.parse()
        .unwrap_or_else(|e| panic!("test prefix {text}: {e}"))
}

async fn wait_established(daemon: &mut dyn Daemon) {
    wait_for_async(daemon, WAIT, "session Established", |d| {
        Ok(d.established()?.then_some(()))
    })
    .await;
}

async fn wait_route(daemon: &mut dyn Daemon, p: ipnet::IpNet) -> super::SeenRoute {
    wait_for_async(daemon, WAIT, &format!("route {p}"), |d| d.received_route(p)).await
}

async fn wait_no_route(daemon: &mut dyn Daemon, p: ipnet::IpNet) {
    wait_for_async(daemon, WAIT, &format!("withdrawal of {p}"), |d| {
        Ok(d.received_route(p)?.is_none().then_some(()))
    })
    .await;
}

/// Starts our speaker and a daemon peered with it over eBGP (or iBGP when `asn` is the same
/// on both sides), `we_connect` choosing which side opens the TCP connection, and waits until
/// both report Established.
async fn session(
    kind: Kind,
    our_as: u32,
    their_as: u32,
    we_connect: bool,
    routes: Vec<Route>,
) -> (Ours, Box<dyn Daemon>) {
    session_with(kind, our_as, their_as, we_connect, routes, |_| {}).await
}

/// As [`session`], with our peer configuration changed by `tune` before it is added.
async fn session_with(
    kind: Kind,
    our_as: u32,
    their_as: u32,
    we_connect: bool,
    routes: Vec<Route>,
    tune: impl FnOnce(&mut PeerConfig),
) -> (Ours, Box<dyn Daemon>) {
    let mut ours = Ours::start(our_as).await;
    let mut spec = PeerSpec::new(their_as, ours.ip(), ours.endpoint.port, our_as);
    spec.passive = we_connect;
    spec.routes = routes;
    let mut daemon = start(
        kind,
        Endpoint::allocate().unwrap_or_else(|e| panic!("{e}")),
        spec,
    );
    let mut config = ours.peer_config(daemon.as_ref(), their_as);
    config.passive = !we_connect;
    tune(&mut config);
    ours.add_peer(config).await;
    let peer = daemon.peer_ip();
    ours.wait_up(peer, WAIT).await;
    wait_established(daemon.as_mut()).await;
    (ours, daemon)
}

/// eBGP in the given direction: the daemon's IPv4 and IPv6 routes arrive with AS_PATH (with
/// a 4-octet AS), MED, communities, large communities and NEXT_HOP intact; ours arrive at the
/// daemon the same way; withdrawals on each side remove the routes on the other.
pub async fn routes_flow_both_ways(kind: Kind, we_connect: bool) {
    let their_v4 = prefix("10.100.0.0/24");
    let their_v6 = prefix("2001:db8:100::/48");
    let routes = vec![
        Route::new("10.100.0.0/24")
            .med(100)
            .community(65100, 1)
            .community(65100, 2)
            .large_community(4_200_000_100, 1, 2)
            .prepend(&[THEIR_PREPEND]),
        Route::new("2001:db8:100::/48")
            .med(106)
            .community(65100, 6)
            .large_community(4_200_000_100, 6, 6),
    ];
    let (ours, mut daemon) = session(kind, OUR_AS, THEIR_AS, we_connect, routes).await;
    let their_ipv6_next_hop: IpAddr = "2001:db8:ffff::d".parse().unwrap_or_else(|e| panic!("{e}"));

    // Theirs at ours.
    let v4 = ours.wait_learned(their_v4, WAIT).await;
    assert_eq!(
        v4.as_path,
        vec![THEIR_AS, THEIR_PREPEND],
        "AS_PATH of {v4:?}"
    );
    assert_eq!(v4.med, Some(100), "MED of {v4:?}");
    assert_eq!(v4.communities, vec![(65100, 1), (65100, 2)], "{v4:?}");
    assert_eq!(v4.large_communities, vec![(4_200_000_100, 1, 2)], "{v4:?}");
    assert_eq!(v4.next_hop, Some(IpAddr::V4(daemon.addr())), "{v4:?}");
    let v6 = ours.wait_learned(their_v6, WAIT).await;
    assert_eq!(v6.as_path, vec![THEIR_AS], "{v6:?}");
    assert_eq!(v6.med, Some(106), "{v6:?}");
    assert_eq!(v6.communities, vec![(65100, 6)], "{v6:?}");
    assert_eq!(v6.large_communities, vec![(4_200_000_100, 6, 6)], "{v6:?}");
    assert_eq!(v6.next_hop, Some(their_ipv6_next_hop), "{v6:?}");

    // Ours at theirs.
    let our_v4 = Route::new("10.101.0.0/24")
        .med(101)
        .community(64512, 101)
        .large_community(OUR_AS, 101, 1)
        .next_hop("192.0.2.101");
    let our_v6 = Route::new("2001:db8:101::/48")
        .med(107)
        .community(64512, 107)
        .large_community(OUR_AS, 107, 1)
        .next_hop("2001:db8:ffff::101");
    ours.announce(&our_v4).await;
    ours.announce(&our_v6).await;
    let at = wait_route(daemon.as_mut(), our_v4.prefix).await;
    assert_eq!(at.as_path, vec![OUR_AS], "{at:?}");
    assert_eq!(at.med, Some(101), "{at:?}");
    assert_eq!(at.communities, vec![(64512, 101)], "{at:?}");
    assert_eq!(at.large_communities, vec![(OUR_AS, 101, 1)], "{at:?}");
    // Next hops are checked last so that a wrong one does not hide the other behaviours.
    let mut next_hops = vec![(at.clone(), our_v4.next_hop)];
    let at6 = wait_route(daemon.as_mut(), our_v6.prefix).await;
    assert_eq!(at6.as_path, vec![OUR_AS], "{at6:?}");
    assert_eq!(at6.med, Some(107), "{at6:?}");
    assert_eq!(at6.communities, vec![(64512, 107)], "{at6:?}");
    assert_eq!(at6.large_communities, vec![(OUR_AS, 107, 1)], "{at6:?}");
    next_hops.push((at6.clone(), our_v6.next_hop));
    if kind.accepts_loopback_next_hop {
        // Without an explicit next hop we advertise our own address.
        let self_nh = Route::new("10.102.0.0/24");
        ours.announce(&self_nh).await;
        let at = wait_route(daemon.as_mut(), self_nh.prefix).await;
        next_hops.push((at, Some(ours.ip())));
    }

    // Withdrawals both ways.
    ours.withdraw(our_v4.prefix).await;
    ours.withdraw(our_v6.prefix).await;
    wait_no_route(daemon.as_mut(), our_v4.prefix).await;
    wait_no_route(daemon.as_mut(), our_v6.prefix).await;
    daemon
        .withdraw(their_v4)
        .unwrap_or_else(|e| panic!("withdraw at the daemon: {e}"));
    daemon
        .withdraw(their_v6)
        .unwrap_or_else(|e| panic!("withdraw at the daemon: {e}"));
    ours.wait_unlearned(their_v4, WAIT).await;
    ours.wait_unlearned(their_v6, WAIT).await;

    // A route the daemon adds at runtime arrives too.
    daemon
        .announce(&Route::new("10.103.0.0/24").med(103))
        .unwrap_or_else(|e| panic!("announce at the daemon: {e}"));
    let late = ours.wait_learned(prefix("10.103.0.0/24"), WAIT).await;
    assert_eq!(late.med, Some(103), "{late:?}");

    let wrong: Vec<String> = next_hops
        .iter()
        .filter(|(seen, expected)| seen.next_hop != *expected)
        .map(|(seen, expected)| {
            format!(
                "{}: {:?} instead of {expected:?}",
                seen.prefix, seen.next_hop
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "NEXT_HOP at the daemon: {}",
        wrong.join("; ")
    );
}

/// iBGP (same 4-octet AS on both sides): LOCAL_PREF travels both ways.
pub async fn ibgp_carries_local_pref(kind: Kind) {
    let asn = 4_200_000_200;
    let routes = vec![Route::new("10.110.0.0/24").local_pref(250).med(5)];
    let (ours, mut daemon) = session(kind, asn, asn, true, routes).await;

    let theirs = ours.wait_learned(prefix("10.110.0.0/24"), WAIT).await;
    assert_eq!(theirs.local_pref, Some(250), "{theirs:?}");
    assert_eq!(theirs.as_path, Vec::<u32>::new(), "{theirs:?}");
    assert_eq!(theirs.med, Some(5), "{theirs:?}");

    let mine = Route::new("10.111.0.0/24")
        .local_pref(300)
        .community(64512, 300)
        .next_hop("192.0.2.111");
    ours.announce(&mine).await;
    let at = wait_route(daemon.as_mut(), mine.prefix).await;
    assert_eq!(at.local_pref, Some(300), "{at:?}");
    assert_eq!(at.as_path, Vec::<u32>::new(), "{at:?}");
    assert_eq!(at.communities, vec![(64512, 300)], "{at:?}");
    assert_eq!(at.next_hop, mine.next_hop, "{at:?}");
}

/// The daemon expects another AS than ours: its NOTIFICATION Bad Peer AS (2/2) is reported as
/// PeerDown with NotificationReceived(2/2), and the session never comes up.
pub async fn their_as_mismatch_notification_is_reported(kind: Kind) {
    let mut ours = Ours::start(OUR_AS).await;
    let wrong_as = 65_099;
    let mut spec = PeerSpec::new(THEIR_AS, ours.ip(), ours.endpoint.port, wrong_as);
    spec.passive = true;
    let daemon = start(
        kind,
        Endpoint::allocate().unwrap_or_else(|e| panic!("{e}")),
        spec,
    );
    ours.add_peer(ours.peer_config(daemon.as_ref(), THEIR_AS))
        .await;
    let peer = daemon.peer_ip();
    let event = ours
        .wait_event(WAIT, "PeerDown with a received NOTIFICATION", |e| {
            if let bgp::Event::PeerUp { peer: p, .. } = e {
                assert_ne!(*p, peer, "the session came up despite the AS mismatch");
            }
            matches!(
                e,
                bgp::Event::PeerDown { peer: p, reason: DownReason::NotificationReceived(_) }
                    if *p == peer
            )
        })
        .await;
    match event {
        bgp::Event::PeerDown {
            reason: DownReason::NotificationReceived(n),
            ..
        } => assert_eq!((n.code, n.subcode), (2, 2), "NOTIFICATION {n:?}"),
        other => panic!("unexpected event {other:?}"),
    }
}

/// The daemon is frozen with SIGSTOP once Established: with a 3 s hold time our speaker
/// reports PeerDown HoldTimerExpired.
pub async fn frozen_peer_expires_our_hold_timer(kind: Kind) {
    let (mut ours, daemon) = session(kind, OUR_AS, THEIR_AS, true, Vec::new()).await;
    let peer = daemon.peer_ip();
    daemon
        .process()
        .freeze()
        .unwrap_or_else(|e| panic!("SIGSTOP the daemon: {e}"));
    let reason = ours.wait_down(peer, Duration::from_secs(10)).await;
    // Let it run again so it is killed and reaped normally.
    let _ = daemon.process().thaw();
    assert!(
        matches!(reason, DownReason::HoldTimerExpired),
        "expected HoldTimerExpired, got {reason:?}"
    );
}

/// A session over IPv6 (`::1` on both sides, told apart by port), we connect: the daemon's
/// IPv6 route arrives with its attributes, ours arrives with next hop self (`::1`; an explicit
/// one for daemons that refuse `::1`), and both withdrawals go through.
pub async fn ipv6_session_carries_ipv6_routes(kind: Kind) {
    let mut ours = Ours::start_ipv6(OUR_AS).await;
    let mut spec = PeerSpec::new(THEIR_AS, ours.ip(), ours.endpoint.port, OUR_AS);
    spec.passive = true;
    spec.routes = vec![
        Route::new("2001:db8:120::/48")
            .med(120)
            .community(65100, 120)
            .large_community(4_200_000_120, 1, 2)
            .prepend(&[THEIR_PREPEND]),
    ];
    let endpoint = Endpoint::allocate_ipv6().unwrap_or_else(|e| panic!("{e}"));
    let mut daemon = start(kind, endpoint, spec);
    ours.add_peer(ours.peer_config(daemon.as_ref(), THEIR_AS))
        .await;
    let peer = daemon.peer_ip();
    ours.wait_up(peer, WAIT).await;
    wait_established(daemon.as_mut()).await;

    let theirs = ours.wait_learned(prefix("2001:db8:120::/48"), WAIT).await;
    assert_eq!(theirs.as_path, vec![THEIR_AS, THEIR_PREPEND], "{theirs:?}");
    assert_eq!(theirs.med, Some(120), "{theirs:?}");
    assert_eq!(theirs.communities, vec![(65100, 120)], "{theirs:?}");
    assert_eq!(
        theirs.large_communities,
        vec![(4_200_000_120, 1, 2)],
        "{theirs:?}"
    );
    let their_next_hop: IpAddr = "2001:db8:ffff::d".parse().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(theirs.next_hop, Some(their_next_hop), "{theirs:?}");

    let mut mine = Route::new("2001:db8:121::/48")
        .med(121)
        .community(64512, 121)
        .large_community(OUR_AS, 121, 1);
    if !kind.accepts_ipv6_loopback_next_hop {
        mine = mine.next_hop("2001:db8:ffff::121");
    }
    ours.announce(&mine).await;
    let at = wait_route(daemon.as_mut(), mine.prefix).await;
    assert_eq!(at.as_path, vec![OUR_AS], "{at:?}");
    assert_eq!(at.med, Some(121), "{at:?}");
    assert_eq!(at.communities, vec![(64512, 121)], "{at:?}");
    assert_eq!(at.large_communities, vec![(OUR_AS, 121, 1)], "{at:?}");
    assert_eq!(at.next_hop, mine.next_hop.or(Some(ours.ip())), "{at:?}");

    ours.withdraw(mine.prefix).await;
    wait_no_route(daemon.as_mut(), mine.prefix).await;
    daemon
        .withdraw(prefix("2001:db8:120::/48"))
        .unwrap_or_else(|e| panic!("withdraw at the daemon: {e}"));
    ours.wait_unlearned(prefix("2001:db8:120::/48"), WAIT).await;
}

/// The daemon resets the Established session from its side (its operator's `clear`: a
/// NOTIFICATION Cease, then it starts over). Our speaker, with FRR's ConnectRetry of 120 s,
/// takes the session back at once: it accepts the daemon's new connection, or dials again
/// when the daemon only listens (`we_connect`). It used to wait out the 120 s in Idle,
/// refusing the daemon with Cease/5; the wait here is bounded well below that. The Cease
/// itself is required except where the daemon's own stack can drop it
/// ([`Kind::cease_may_be_lost_when_it_connects`]); then the reset connection is the only sign.
pub async fn session_reset_by_the_daemon_comes_back(kind: Kind, we_connect: bool) {
    let (mut ours, mut daemon) =
        session_with(kind, OUR_AS, THEIR_AS, we_connect, Vec::new(), |config| {
            config.connect_retry = Duration::from_secs(120);
            config.idle_hold = IdleHold::DEFAULT;
        })
        .await;
    let peer = daemon.peer_ip();
    daemon
        .reset_session()
        .unwrap_or_else(|e| panic!("reset the session from {}: {e}", daemon.name()));
    let reason = ours.wait_down(peer, WAIT).await;
    let cease = matches!(&reason, DownReason::NotificationReceived(n) if n.code == 6);
    let lost_cease = kind.cease_may_be_lost_when_it_connects
        && !we_connect
        && reason == DownReason::ConnectionClosed;
    assert!(
        cease || lost_cease,
        "expected a Cease from {}, got {reason:?}",
        daemon.name()
    );
    ours.wait_up(peer, RESTART_WAIT).await;
    wait_established(daemon.as_mut()).await;
}

/// Bound for a session to come back after a reset: generous for a loaded machine, and still
/// half of the ConnectRetry time the speaker used to wait.
const RESTART_WAIT: Duration = Duration::from_secs(60);
