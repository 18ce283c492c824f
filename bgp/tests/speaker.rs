//! Sessions between our own speakers (and a scripted raw peer) on loopback: the behaviours
//! of the session layer that need no foreign daemon — route exchange with attributes,
//! eBGP/iBGP rules, re-advertisement, collisions, dynamic neighbors, TCP MD5, hold timer,
//! maximum-prefix, reset and shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod interop;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bgp::packet::{Community, Notification, Origin};
use bgp::{
    DownReason, Event, Family, ListenRange, LocalRoute, OriginAttributes, PeerConfig, RemoteAs,
    SessionState, Speaker, SpeakerConfig,
};
use interop::Endpoint;
use ipnet::IpNet;
use tokio::sync::mpsc::Receiver;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(20);

struct Node {
    speaker: Speaker,
    events: Receiver<Event>,
    endpoint: Endpoint,
    asn: u32,
}

impl Node {
    async fn start(asn: u32, readvertise: bool) -> Node {
        let endpoint = Endpoint::allocate().unwrap();
        let config = SpeakerConfig {
            local_as: asn,
            router_id: endpoint.address.addr(),
            listen: vec![std::net::SocketAddr::new(endpoint.ip(), endpoint.port)],
            readvertise,
            ..SpeakerConfig::default()
        };
        let (speaker, events) = Speaker::start(config).await.unwrap();
        Node {
            speaker,
            events,
            endpoint,
            asn,
        }
    }

    fn ip(&self) -> IpAddr {
        self.endpoint.ip()
    }

    /// A peer config pointing at `other`, fast timers, bound to our address.
    fn peer_for(&self, other: &Node) -> PeerConfig {
        let mut config = PeerConfig::new(other.ip(), RemoteAs::Asn(other.asn));
        config.port = other.endpoint.port;
        config.local_address = Some(self.ip());
        config.hold_time = 6;
        config.connect_retry = Duration::from_millis(300);
        config
    }

    async fn wait_for(&mut self, what: &str, pred: impl FnMut(&Event) -> bool) -> Event {
        interop::ours::next_event(&mut self.events, WAIT, what, pred).await
    }

    /// Waits for a session to end with a NOTIFICATION from the peer and returns it.
    async fn wait_notification(&mut self, what: &str) -> Notification {
        let event = self
            .wait_for(what, |e| {
                matches!(
                    e,
                    Event::PeerDown {
                        reason: DownReason::NotificationReceived(_),
                        ..
                    }
                )
            })
            .await;
        match event {
            Event::PeerDown {
                reason: DownReason::NotificationReceived(n),
                ..
            } => n,
            other => panic!("{what}: got {other:?}"),
        }
    }

    async fn wait_established(&mut self, peer: IpAddr) {
        self.wait_for(
            "Established",
            |e| matches!(e, Event::PeerUp { peer: p, .. } if *p == peer),
        )
        .await;
    }

    /// Polls the Loc-RIB until `pred` holds for the route of `prefix` (None = absent).
    async fn wait_route(
        &self,
        prefix: &str,
        what: &str,
        pred: impl Fn(Option<&bgp::RouteView>) -> bool,
    ) -> Option<bgp::RouteView> {
        let prefix: IpNet = prefix.parse().unwrap();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let route = self.speaker.route(prefix).await.unwrap();
            if pred(route.as_ref()) {
                return route;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("timed out waiting for {prefix}: {what}; last seen {route:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Connects `a` and `b` (both sides configured, both active) and waits for Established.
async fn peer_up(a: &mut Node, b: &mut Node) {
    a.speaker.add_peer(a.peer_for(b)).await.unwrap();
    b.speaker.add_peer(b.peer_for(a)).await.unwrap();
    let (bi, ai) = (b.ip(), a.ip());
    a.wait_established(bi).await;
    b.wait_established(ai).await;
}

fn route_with_attributes(prefix: &str) -> LocalRoute {
    let mut route = LocalRoute::new(prefix.parse().unwrap());
    route.attributes = OriginAttributes {
        origin: Origin::Incomplete,
        med: Some(42),
        communities: [Community::new(64512, 100).0].into(),
        large_communities: [(4_200_000_000, 1, 2)].into(),
        ..OriginAttributes::default()
    };
    route
}

#[tokio::test]
async fn ebgp_speakers_exchange_ipv4_and_ipv6_routes_with_attributes_and_withdraw_them() {
    let mut a = Node::start(4_200_000_001, false).await;
    let mut b = Node::start(65002, false).await;
    peer_up(&mut a, &mut b).await;

    a.speaker
        .announce(route_with_attributes("198.51.100.0/24"))
        .await
        .unwrap();
    a.speaker
        .announce(route_with_attributes("2001:db8:1::/48"))
        .await
        .unwrap();

    for prefix in ["198.51.100.0/24", "2001:db8:1::/48"] {
        let route = b
            .wait_route(prefix, "learned from a", |r| r.is_some())
            .await
            .unwrap();
        let path = &route.paths[0];
        let attrs = &path.attrs.attrs();
        assert_eq!(attrs.as_path.to_string(), "4200000001", "{prefix}");
        assert_eq!(attrs.origin, Origin::Incomplete);
        assert_eq!(attrs.med, Some(42));
        assert_eq!(attrs.local_pref, None, "no LOCAL_PREF on eBGP");
        assert_eq!(attrs.communities, vec![Community::new(64512, 100)]);
        assert_eq!(attrs.large_communities.len(), 1);
        let expected_nh: IpAddr = match prefix.contains(':') {
            false => a.ip(),
            true => match a.ip() {
                IpAddr::V4(v4) => IpAddr::V6(v4.to_ipv6_mapped()),
                v6 => v6,
            },
        };
        assert_eq!(
            path.attrs.next_hop, expected_nh,
            "next hop self for {prefix}"
        );
    }

    a.speaker
        .withdraw("198.51.100.0/24".parse().unwrap())
        .await
        .unwrap();
    b.wait_route("198.51.100.0/24", "withdrawn", |r| r.is_none())
        .await;
    b.wait_route("2001:db8:1::/48", "still there", |r| r.is_some())
        .await;
}

#[tokio::test]
async fn ibgp_routes_carry_local_pref_and_keep_an_empty_as_path() {
    let mut a = Node::start(64512, false).await;
    let mut b = Node::start(64512, false).await;
    peer_up(&mut a, &mut b).await;
    a.speaker
        .announce(route_with_attributes("203.0.113.0/24"))
        .await
        .unwrap();
    let route = b
        .wait_route("203.0.113.0/24", "learned", |r| r.is_some())
        .await
        .unwrap();
    let attrs = &route.paths[0].attrs.attrs();
    assert_eq!(attrs.local_pref, Some(100));
    assert!(attrs.as_path.segments.is_empty());
}

#[tokio::test]
async fn a_router_readvertises_ebgp_routes_with_its_as_prepended() {
    let mut a = Node::start(65001, false).await;
    let mut r = Node::start(65010, true).await;
    let mut c = Node::start(65003, false).await;
    peer_up(&mut a, &mut r).await;
    peer_up(&mut r, &mut c).await;
    a.speaker
        .announce(LocalRoute::new("192.0.2.0/24".parse().unwrap()))
        .await
        .unwrap();
    let route = c
        .wait_route("192.0.2.0/24", "via the router", |r| r.is_some())
        .await
        .unwrap();
    assert_eq!(
        route.paths[0].attrs.attrs().as_path.to_string(),
        "65010 65001"
    );
    assert_eq!(route.paths[0].attrs.next_hop, r.ip());
    a.speaker
        .withdraw("192.0.2.0/24".parse().unwrap())
        .await
        .unwrap();
    c.wait_route("192.0.2.0/24", "withdrawn through the router", |r| {
        r.is_none()
    })
    .await;
}

#[tokio::test]
async fn peer_with_the_wrong_as_is_refused_with_open_error_bad_peer_as() {
    let mut a = Node::start(65001, false).await;
    let b = Node::start(65002, false).await;
    let mut wrong = b.peer_for(&a);
    wrong.remote_as = RemoteAs::Asn(65999);
    b.speaker.add_peer(wrong).await.unwrap();
    a.speaker.add_peer(a.peer_for(&b)).await.unwrap();
    let n = a.wait_notification("NOTIFICATION from b").await;
    assert_eq!((n.code, n.subcode), (2, 2), "{n}");
}

#[tokio::test]
async fn both_sides_connecting_at_once_end_with_one_session() {
    let mut a = Node::start(65001, false).await;
    let mut b = Node::start(65002, false).await;
    peer_up(&mut a, &mut b).await;
    // Whatever collided, both sides settle on Established and stay there.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (node, other) in [(&a, b.ip()), (&b, a.ip())] {
        let peers = node.speaker.peers().await.unwrap();
        let peer = peers.iter().find(|p| p.config.address == other).unwrap();
        assert_eq!(peer.status.state, SessionState::Established);
        assert_eq!(peer.status.established_count, 1, "one session only");
    }
}

#[tokio::test]
async fn listen_range_accepts_a_speaker_that_is_not_configured() {
    let mut router = Node::start(64512, false).await;
    let mut node = Node::start(64512, false).await;
    let mut template = PeerConfig::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), RemoteAs::Internal);
    template.hold_time = 6;
    let range: IpNet = "127.0.0.0/8".parse().unwrap();
    router
        .speaker
        .add_listen_range(ListenRange { range, template })
        .await
        .unwrap();
    node.speaker.add_peer(node.peer_for(&router)).await.unwrap();
    let (ri, ni) = (router.ip(), node.ip());
    node.wait_established(ri).await;
    router.wait_established(ni).await;
    let peers = router.speaker.peers().await.unwrap();
    assert!(peers.iter().any(|p| p.config.address == ni && p.dynamic));
    node.speaker
        .announce(LocalRoute::new("198.51.100.0/32".parse().unwrap()))
        .await
        .unwrap();
    router
        .wait_route("198.51.100.0/32", "from the dynamic neighbor", |r| {
            r.is_some()
        })
        .await;
}

#[tokio::test]
async fn tcp_md5_with_matching_passwords_establishes_and_with_different_ones_does_not() {
    let mut a = Node::start(65001, false).await;
    let b = Node::start(65002, false).await;
    let mut pa = a.peer_for(&b);
    pa.password = Some("s3cret".into());
    let mut pb = b.peer_for(&a);
    pb.password = Some("s3cret".into());
    a.speaker.add_peer(pa).await.unwrap();
    b.speaker.add_peer(pb).await.unwrap();
    let bi = b.ip();
    a.wait_established(bi).await;

    let c = Node::start(65001, false).await;
    let d = Node::start(65002, false).await;
    let mut pc = c.peer_for(&d);
    pc.password = Some("one".into());
    let mut pd = d.peer_for(&c);
    pd.password = Some("other".into());
    c.speaker.add_peer(pc).await.unwrap();
    d.speaker.add_peer(pd).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let peers = c.speaker.peers().await.unwrap();
    assert!(peers.iter().all(|p| p.status.state != SessionState::Established && p.status.established_count == 0));
}

#[tokio::test]
async fn maximum_prefix_closes_the_session_with_cease_1() {
    let mut a = Node::start(65001, false).await;
    let b = Node::start(65002, false).await;
    a.speaker.add_peer(a.peer_for(&b)).await.unwrap();
    let mut limited = b.peer_for(&a);
    limited.max_prefix = Some(2);
    b.speaker.add_peer(limited).await.unwrap();
    let bi = b.ip();
    a.wait_established(bi).await;
    for p in ["10.1.0.0/24", "10.2.0.0/24", "10.3.0.0/24"] {
        a.speaker
            .announce(LocalRoute::new(p.parse().unwrap()))
            .await
            .unwrap();
    }
    let n = a.wait_notification("Cease/1 from b").await;
    assert_eq!((n.code, n.subcode), (6, 1));
}

#[tokio::test]
async fn neighbor_shutdown_sends_cease_2_and_withdraws_its_routes() {
    let mut a = Node::start(65001, false).await;
    let mut b = Node::start(65002, false).await;
    peer_up(&mut a, &mut b).await;
    a.speaker
        .announce(LocalRoute::new("10.9.0.0/16".parse().unwrap()))
        .await
        .unwrap();
    b.wait_route("10.9.0.0/16", "learned", |r| r.is_some())
        .await;
    let ai = a.ip();
    b.speaker.set_shutdown(ai, true).await.unwrap();
    let n = a.wait_notification("Cease/2").await;
    assert_eq!((n.code, n.subcode), (6, 2));
    b.wait_route("10.9.0.0/16", "gone with the session", |r| r.is_none())
        .await;
    b.speaker.set_shutdown(ai, false).await.unwrap();
    b.wait_route("10.9.0.0/16", "back after no shutdown", |r| r.is_some())
        .await;
}

#[tokio::test]
async fn multipath_groups_equal_ibgp_paths_when_maximum_paths_ibgp_allows() {
    let mut router = Node::start(64512, false).await;
    let mut n1 = Node::start(64512, false).await;
    let mut n2 = Node::start(64512, false).await;
    peer_up(&mut router, &mut n1).await;
    peer_up(&mut router, &mut n2).await;
    router.speaker.set_max_paths(1, 1).await.unwrap();
    let mut route = LocalRoute::new("198.51.100.0/32".parse().unwrap());
    route.attributes.origin = Origin::Incomplete;
    n1.speaker.announce(route.clone()).await.unwrap();
    n2.speaker.announce(route).await.unwrap();
    let two = router
        .wait_route("198.51.100.0/32", "two paths", |r| {
            r.is_some_and(|r| r.paths.len() == 2)
        })
        .await
        .unwrap();
    assert_eq!(two.paths.iter().filter(|p| p.best).count(), 1);
    assert!(
        two.paths.iter().all(|p| !p.multipath),
        "maximum-paths ibgp 1"
    );
    let best = two.paths.iter().find(|p| p.best).unwrap();
    let lower = n1.ip().min(n2.ip());
    assert_eq!(
        best.from.as_ref().map(|f| f.address),
        Some(lower),
        "lower router ID wins"
    );
    router.speaker.set_max_paths(1, 2).await.unwrap();
    router
        .wait_route("198.51.100.0/32", "multipath", |r| {
            r.is_some_and(|r| r.paths.iter().filter(|p| p.multipath || p.best).count() == 2)
        })
        .await;
    let family = router.speaker.routes(Family::Ipv4Unicast).await.unwrap();
    assert_eq!(family.len(), 1);
}

#[tokio::test]
async fn shutdown_ends_sessions_with_cease_2() {
    let mut a = Node::start(65001, false).await;
    let mut b = Node::start(65002, false).await;
    peer_up(&mut a, &mut b).await;
    timeout(Duration::from_secs(10), a.speaker.shutdown())
        .await
        .unwrap()
        .unwrap();
    let n = b.wait_notification("Cease/2").await;
    assert_eq!(n, Notification::new(6, 2));
}

#[tokio::test]
async fn ipv6_routes_over_an_ipv4_session_use_the_configured_global_next_hop() {
    let mut a = Node::start(65001, false).await;
    let b = Node::start(65002, false).await;
    let mut to_b = a.peer_for(&b);
    to_b.ipv6_next_hop = Some("2001:db8:ffff::a".parse().unwrap());
    a.speaker.add_peer(to_b).await.unwrap();
    b.speaker.add_peer(b.peer_for(&a)).await.unwrap();
    let bi = b.ip();
    a.wait_established(bi).await;
    a.speaker
        .announce(LocalRoute::new("2001:db8:7::/48".parse().unwrap()))
        .await
        .unwrap();
    let route = b
        .wait_route("2001:db8:7::/48", "learned", |r| r.is_some())
        .await
        .unwrap();
    assert_eq!(
        route.paths[0].attrs.next_hop,
        "2001:db8:ffff::a".parse::<IpAddr>().unwrap()
    );
}
