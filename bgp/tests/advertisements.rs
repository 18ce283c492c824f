//! The speaker API for originated routes (what the MetalLB speaker uses), on real sessions
//! over loopback: advertisements per peer seen by two ExaBGP peers (one eBGP, one iBGP: ExaBGP
//! reports every attribute as received, so a LOCAL_PREF sent on eBGP would show), the
//! declarative set sending only its changes without resetting a session (UPDATE counters and
//! the receiver's counts of announced and withdrawn prefixes prove it), a shared prefix kept
//! while one of its advertisements remains, a peer added later getting the current set,
//! announce-only peers that count 100,000 routes without keeping any, and the BGP identifier
//! of each session's OPEN.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod interop;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bgp::packet::Community;
use bgp::{Advertisement, Event, Family, Origin, OriginAttributes, RouteView};
use interop::exabgp::ExaBgp;
use interop::ours::{Ours, assert_first_session};
use interop::{Daemon, Endpoint, PeerSpec, SeenRoute, wait_for_async};
use ipnet::{IpNet, Ipv4Net};
use tokio::time::Instant;

/// Bound of every wait (a debug build on a busy machine).
const WAIT: Duration = Duration::from_secs(60);
/// Our AS, and the AS of the iBGP peers.
const OUR_AS: u32 = 64512;
/// The AS of the eBGP peers.
const THEIR_AS: u32 = 64600;

fn net(text: &str) -> IpNet {
    text.parse().unwrap()
}

/// An advertisement as MetalLB makes them: ORIGIN INCOMPLETE, communities `64512:v`.
fn ad(
    prefix: &str,
    peers: &[IpAddr],
    communities: &[u16],
    local_pref: Option<u32>,
) -> Advertisement {
    Advertisement {
        prefix: net(prefix),
        peers: peers.to_vec(),
        attributes: OriginAttributes {
            origin: Origin::Incomplete,
            local_pref,
            communities: communities
                .iter()
                .map(|v| Community::new(64512, *v).0)
                .collect(),
            ..OriginAttributes::default()
        },
    }
}

async fn set(speaker: &Ours, ads: Vec<Advertisement>) {
    speaker
        .speaker
        .set_advertisements(ads)
        .await
        .unwrap_or_else(|e| panic!("set_advertisements: {e}"));
}

/// `sender` connects to `receiver` (which only listens, so no collision muddles the counts)
/// and both see the session Established.
async fn connect(sender: &mut Ours, receiver: &mut Ours, tune: impl FnOnce(&mut bgp::PeerConfig)) {
    let mut out = sender.peer_for(receiver);
    tune(&mut out);
    sender.add_peer(out).await;
    let mut back = receiver.peer_for(sender);
    back.passive = true;
    receiver.add_peer(back).await;
    sender.wait_up(receiver.ip(), WAIT).await;
    receiver.wait_up(sender.ip(), WAIT).await;
}

/// Polls `speaker`'s Loc-RIB until `pred` holds for the route of `prefix` (None = absent).
async fn wait_route(
    speaker: &Ours,
    prefix: &str,
    what: &str,
    pred: impl Fn(Option<&RouteView>) -> bool,
) -> Option<RouteView> {
    let prefix = net(prefix);
    let deadline = Instant::now() + WAIT;
    loop {
        let route = speaker.speaker.route(prefix).await.unwrap();
        if pred(route.as_ref()) {
            return route;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {prefix}: {what}; last seen {route:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The communities of the route's best path, as `64512:v` values `v`.
fn communities(route: Option<&RouteView>) -> Vec<u16> {
    route
        .and_then(|r| r.paths.iter().find(|p| p.best))
        .map(|p| {
            p.attrs
                .attrs()
                .communities
                .iter()
                .map(|c| (c.0 & 0xffff) as u16)
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until `receiver` has counted `expected` UPDATEs from `peer`, then checks that it is
/// no more than that.
async fn wait_updates(receiver: &Ours, peer: IpAddr, expected: u64, what: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let got = receiver.summary(peer).await.status.received.updates;
        if got >= expected {
            assert_eq!(got, expected, "UPDATEs received after {what}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{got} of {expected} UPDATEs after {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Prefixes announced and withdrawn that the events reported since the last call.
fn routes_received(speaker: &mut Ours) -> (usize, usize) {
    let mut total = (0, 0);
    while let Ok(event) = speaker.events.try_recv() {
        match event {
            Event::RoutesReceived {
                announced,
                withdrawn,
                ..
            } => {
                total.0 += announced;
                total.1 += withdrawn;
            }
            Event::Lagged(n) => panic!("{n} events lost; the counts are unknown"),
            _ => {}
        }
    }
    total
}

/// The session between the two is still the first one, and no NOTIFICATION went either way.
async fn assert_session_intact(a: &Ours, b: &Ours) {
    assert_first_session(&a.summary(b.ip()).await.status);
    assert_first_session(&b.summary(a.ip()).await.status);
}

/// Two speakers in a session (eBGP) that has carried its End-of-RIBs, no routes yet, and
/// the receiver's events up to then read.
async fn sender_and_receiver() -> (Ours, Ours) {
    let mut sender = Ours::start(OUR_AS).await;
    let mut receiver = Ours::start(THEIR_AS).await;
    connect(&mut sender, &mut receiver, |_| {}).await;
    // The End-of-RIB of each family.
    wait_updates(&receiver, sender.ip(), 2, "the session start").await;
    routes_received(&mut receiver);
    (sender, receiver)
}

/// Starts ExaBGP peering with `ours` (ExaBGP only listens; we connect) and adds it as a peer.
async fn exabgp_peer(ours: &mut Ours, their_as: u32) -> ExaBgp {
    let mut spec = PeerSpec::new(their_as, ours.ip(), ours.endpoint.port, OUR_AS);
    spec.passive = true;
    let exa = ExaBgp::start_at(Endpoint::allocate().unwrap(), spec).unwrap();
    let config = ours.peer_config(&exa, their_as);
    ours.add_peer(config).await;
    exa
}

async fn wait_seen(
    daemon: &mut ExaBgp,
    prefix: &str,
    pred: impl Fn(&SeenRoute) -> bool,
) -> SeenRoute {
    let prefix = net(prefix);
    wait_for_async(daemon, WAIT, &format!("route {prefix} as expected"), |d| {
        Ok(d.received_route(prefix)?.filter(|r| pred(r)))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_prefix_reaches_two_exabgp_peers_with_their_own_attributes() {
    let mut ours = Ours::start(OUR_AS).await;
    let mut ebgp = exabgp_peer(&mut ours, THEIR_AS).await;
    let mut ibgp = exabgp_peer(&mut ours, OUR_AS).await;
    for exa in [&ebgp, &ibgp] {
        ours.wait_up(exa.peer_ip(), WAIT).await;
    }
    let (e, i) = (ebgp.peer_ip(), ibgp.peer_ip());
    // Two advertisements of one service IP for the two peers, a third merged into the iBGP
    // peer's, and one for every peer.
    set(
        &ours,
        vec![
            ad("198.51.100.10/32", &[e], &[1], Some(300)),
            ad("198.51.100.10/32", &[i], &[2], Some(200)),
            ad("198.51.100.10/32", &[i], &[3], Some(250)),
            ad("198.51.100.11/32", &[], &[9], None),
        ],
    )
    .await;

    let at_e = wait_seen(&mut ebgp, "198.51.100.10/32", |_| true).await;
    assert_eq!(at_e.communities, vec![(64512, 1)], "{at_e:?}");
    assert_eq!(at_e.local_pref, None, "no LOCAL_PREF on eBGP: {at_e:?}");
    assert_eq!(at_e.as_path, vec![OUR_AS], "{at_e:?}");
    assert_eq!(at_e.next_hop, Some(ours.ip()), "next hop self: {at_e:?}");
    let at_i = wait_seen(&mut ibgp, "198.51.100.10/32", |_| true).await;
    assert_eq!(at_i.communities, vec![(64512, 2), (64512, 3)], "{at_i:?}");
    assert_eq!(
        at_i.local_pref,
        Some(250),
        "the highest LOCAL_PREF: {at_i:?}"
    );
    assert_eq!(at_i.as_path, Vec::<u32>::new(), "{at_i:?}");
    assert_eq!(at_i.next_hop, Some(ours.ip()), "{at_i:?}");

    let all_e = wait_seen(&mut ebgp, "198.51.100.11/32", |_| true).await;
    assert_eq!(
        (all_e.communities.as_slice(), all_e.local_pref),
        (&[(64512, 9)][..], None)
    );
    let all_i = wait_seen(&mut ibgp, "198.51.100.11/32", |_| true).await;
    assert_eq!(all_i.communities, vec![(64512, 9)]);
    assert_eq!(
        all_i.local_pref,
        Some(100),
        "the default LOCAL_PREF on iBGP"
    );

    // The eBGP peer's advertisement goes; it keeps the route for every peer, the iBGP peer
    // keeps its own attributes.
    set(
        &ours,
        vec![
            ad("198.51.100.10/32", &[i], &[2], Some(200)),
            ad("198.51.100.10/32", &[i], &[3], Some(250)),
            ad("198.51.100.11/32", &[], &[9], None),
        ],
    )
    .await;
    wait_for_async(&mut ebgp, WAIT, "withdrawal of 198.51.100.10/32", |d| {
        Ok(d.received_route(net("198.51.100.10/32"))?
            .is_none()
            .then_some(()))
    })
    .await;
    assert!(
        ebgp.received_route(net("198.51.100.11/32"))
            .unwrap()
            .is_some()
    );
    assert_eq!(
        ibgp.received_route(net("198.51.100.10/32")).unwrap(),
        Some(at_i)
    );
    for exa in [&mut ebgp, &mut ibgp] {
        assert!(
            exa.established().unwrap(),
            "{} lost the session",
            exa.name()
        );
        let status = ours.summary(exa.peer_ip()).await.status;
        assert_eq!(
            (status.established_count, status.dropped_count),
            (1, 0),
            "{status:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_declarative_set_sends_only_its_changes_and_never_resets_the_session() {
    let (mut sender, mut receiver) = sender_and_receiver().await;
    let from = sender.ip();

    // Two attribute sets: two UPDATEs for three prefixes. LOCAL_PREF stays home on eBGP.
    let x = |p: &str| ad(p, &[], &[1], Some(300));
    let y = |p: &str| ad(p, &[], &[2], None);
    let first = vec![
        x("198.51.100.1/32"),
        x("198.51.100.2/32"),
        y("198.51.100.3/32"),
    ];
    set(&sender, first.clone()).await;
    for p in ["198.51.100.1/32", "198.51.100.2/32", "198.51.100.3/32"] {
        wait_route(&receiver, p, "announced", |r| r.is_some()).await;
    }
    wait_updates(&receiver, from, 4, "the first set").await;
    assert_eq!(routes_received(&mut receiver), (3, 0));
    let route = receiver
        .speaker
        .route(net("198.51.100.1/32"))
        .await
        .unwrap();
    let path = &route.as_ref().unwrap().paths[0];
    assert_eq!(path.attrs.attrs().local_pref, None, "{path:?}");
    assert_eq!(path.attrs.next_hop, sender.ip(), "{path:?}");
    assert_eq!(communities(route.as_ref()), vec![1]);

    // The same set again sends nothing; a prefix added sends that prefix alone.
    set(&sender, first.clone()).await;
    let mut second = first;
    second.push(x("198.51.100.4/32"));
    set(&sender, second.clone()).await;
    wait_route(&receiver, "198.51.100.4/32", "added", |r| r.is_some()).await;
    wait_updates(
        &receiver,
        from,
        5,
        "an unchanged set, then one prefix added",
    )
    .await;
    assert_eq!(routes_received(&mut receiver), (1, 0));

    // New communities for one prefix: one UPDATE for it.
    second[2] = ad("198.51.100.3/32", &[], &[3], None);
    set(&sender, second.clone()).await;
    wait_route(&receiver, "198.51.100.3/32", "new communities", |r| {
        communities(r) == [3]
    })
    .await;
    wait_updates(&receiver, from, 6, "one prefix changed").await;
    assert_eq!(routes_received(&mut receiver), (1, 0));

    // A prefix taken out: one withdrawal.
    second.pop();
    set(&sender, second.clone()).await;
    wait_route(&receiver, "198.51.100.4/32", "withdrawn", |r| r.is_none()).await;
    wait_updates(&receiver, from, 7, "one prefix removed").await;
    assert_eq!(routes_received(&mut receiver), (0, 1));
    assert_eq!(
        sender.summary(receiver.ip()).await.status.sent.updates,
        7,
        "what the sender counted"
    );
    assert_eq!(sender.summary(receiver.ip()).await.status.prefixes_sent, 3);
    assert_session_intact(&sender, &receiver).await;

    // A peer that comes up later gets the set as it is: two attribute sets, two End-of-RIBs.
    let mut late = Ours::start(THEIR_AS + 1).await;
    connect(&mut sender, &mut late, |_| {}).await;
    for (p, c) in [
        ("198.51.100.1/32", 1),
        ("198.51.100.2/32", 1),
        ("198.51.100.3/32", 3),
    ] {
        let route = wait_route(&late, p, "sent at session start", |r| r.is_some()).await;
        assert_eq!(communities(route.as_ref()), vec![c], "{p}");
    }
    wait_updates(&late, from, 4, "the session start with the set").await;
    assert_eq!(
        late.speaker
            .route(net("198.51.100.4/32"))
            .await
            .unwrap()
            .map(|r| r.prefix),
        None
    );

    // Something more for the late peer alone: it hears of it, the first receiver does not
    // (its own route for the prefix is unchanged), as the next change for it shows.
    let mut third = second;
    third.push(ad("198.51.100.1/32", &[late.ip()], &[5], None));
    set(&sender, third.clone()).await;
    wait_route(&late, "198.51.100.1/32", "its own communities", |r| {
        communities(r) == [1, 5]
    })
    .await;
    wait_updates(&late, from, 5, "a change for the late peer").await;
    third.remove(1);
    set(&sender, third).await;
    wait_route(&receiver, "198.51.100.2/32", "withdrawn", |r| r.is_none()).await;
    wait_updates(
        &receiver,
        from,
        8,
        "a change for the late peer, then one for both",
    )
    .await;
    assert_eq!(routes_received(&mut receiver), (0, 1));
    assert_eq!(
        communities(
            receiver
                .speaker
                .route(net("198.51.100.1/32"))
                .await
                .unwrap()
                .as_ref()
        ),
        vec![1]
    );
    assert_session_intact(&sender, &receiver).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_prefix_stays_announced_while_one_of_its_advertisements_remains() {
    let (sender, mut receiver) = sender_and_receiver().await;
    let from = sender.ip();
    // Two Services share 198.51.100.20, each with its advertisement.
    let service_a = ad("198.51.100.20/32", &[], &[10], None);
    let service_b = ad("198.51.100.20/32", &[], &[20], None);
    set(&sender, vec![service_a, service_b.clone()]).await;
    wait_route(
        &receiver,
        "198.51.100.20/32",
        "both advertisements merged",
        |r| communities(r) == [10, 20],
    )
    .await;
    wait_updates(&receiver, from, 3, "the shared prefix").await;

    // Service A goes: the prefix stays, with B's communities, and is never withdrawn.
    set(&sender, vec![service_b]).await;
    wait_route(
        &receiver,
        "198.51.100.20/32",
        "B's advertisement alone",
        |r| communities(r) == [20],
    )
    .await;
    wait_updates(&receiver, from, 4, "one sharer gone").await;
    assert_eq!(routes_received(&mut receiver), (2, 0));

    // Service B goes too: withdrawn.
    set(&sender, Vec::new()).await;
    wait_route(&receiver, "198.51.100.20/32", "withdrawn", |r| r.is_none()).await;
    wait_updates(&receiver, from, 5, "both sharers gone").await;
    assert_eq!(routes_received(&mut receiver), (0, 1));
    assert_session_intact(&sender, &receiver).await;
}

/// Routes the sender has for the announce-only receiver.
const TABLE: u32 = 100_000;

fn table_prefix(i: u32) -> String {
    Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + (i << 8)), 24)
        .unwrap()
        .to_string()
}

/// Waits until the receiver's counters for `from` show `prefixes` and every UPDATE the
/// sender counted; returns the UPDATE count.
async fn wait_counted(receiver: &Ours, sender: &Ours, prefixes: usize) -> u64 {
    let deadline = Instant::now() + WAIT;
    loop {
        let theirs = receiver.summary(sender.ip()).await;
        let sent = sender.summary(receiver.ip()).await.status.sent.updates;
        let counted: usize = theirs.received.iter().map(|(_, n)| n).sum();
        if counted == prefixes && theirs.status.received.updates == sent {
            assert_eq!(
                theirs.status.prefixes_received, prefixes as u64,
                "{theirs:?}"
            );
            assert!(
                theirs.received.contains(&(Family::Ipv4Unicast, prefixes)),
                "{:?}",
                theirs.received
            );
            return sent;
        }
        assert!(
            Instant::now() < deadline,
            "{counted} prefixes and {} of {sent} UPDATEs counted",
            theirs.status.received.updates
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_announce_only_peer_counts_100k_routes_and_keeps_none() {
    let mut sender = Ours::start(THEIR_AS).await;
    let mut receiver = Ours::start(OUR_AS).await;
    // The receiver dials and is announce-only towards the sender (a speaker towards its ToR).
    connect(&mut receiver, &mut sender, |config| config.import = false).await;
    let before = receiver.speaker.instance().await.unwrap().rib;

    let table: Vec<Advertisement> = (0..TABLE)
        .map(|i| ad(&table_prefix(i), &[], &[(i % 7) as u16], None))
        .collect();
    set(&sender, table.clone()).await;
    let updates = wait_counted(&receiver, &sender, TABLE as usize).await;
    assert!(updates > 7, "{updates} UPDATEs for {TABLE} prefixes");

    // Part of the table withdrawn: counted down.
    set(&sender, table[..60_000].to_vec()).await;
    let more = wait_counted(&receiver, &sender, 60_000).await;
    assert!(more > updates, "the withdrawals were counted as UPDATEs");

    for family in Family::ALL {
        let routes = receiver.speaker.routes(family).await.unwrap();
        assert!(routes.is_empty(), "{} routes kept", routes.len());
    }
    let after = receiver.speaker.instance().await.unwrap().rib;
    assert_eq!((after.prefixes, after.paths), (0, 0), "{after:?}");
    assert_eq!(after.attribute_sets, before.attribute_sets, "{after:?}");
    while let Ok(event) = receiver.events.try_recv() {
        assert!(
            !matches!(
                event,
                Event::RoutesReceived { .. } | Event::BestPathChanged(_) | Event::Lagged(_)
            ),
            "an announce-only peer's routes in the events: {event:?}"
        );
    }
    assert_session_intact(&sender, &receiver).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_session_opens_with_its_own_router_id() {
    let mut speaker = Ours::start(OUR_AS).await;
    let mut plain = Ours::start(THEIR_AS).await;
    let mut own_id = Ours::start(THEIR_AS + 1).await;
    let id = Ipv4Addr::new(10, 255, 0, 7);
    connect(&mut speaker, &mut plain, |_| {}).await;
    connect(&mut speaker, &mut own_id, |config| {
        config.router_id = Some(id)
    })
    .await;
    let speakers_id = speaker.speaker.instance().await.unwrap().router_id;
    assert_ne!(speakers_id, id);
    let negotiated = |s: bgp::PeerSummary| s.status.negotiated.map(|n| n.peer_id);
    assert_eq!(
        negotiated(plain.summary(speaker.ip()).await),
        Some(speakers_id)
    );
    assert_eq!(negotiated(own_id.summary(speaker.ip()).await), Some(id));
}
