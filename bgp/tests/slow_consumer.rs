//! A consumer that stops reading a speaker's events never stops BGP. Two of our speakers
//! peer on loopback with a 3 s hold time; the sender has 100,000 routes for the receiver
//! (part sent as a table dump when the session comes up, the rest and a change of part of
//! them announced one UPDATE at a time), while nobody reads either speaker's events for
//! three hold times. The same with gobgpd as the sender, loading 100,000 routes from an MRT
//! dump while the session is up. Both sessions must stay Established without a NOTIFICATION, every
//! `Speaker` request must keep answering, the held events must stay within their bounds,
//! and once reading resumes the receiver's Loc-RIB (and, without a lag, its event stream)
//! must be exact.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod interop;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bgp::{Event, EventStats, Family, LocalRoute, PeerConfig, SpeakerConfig};
use interop::gobgp::GoBgp;
use interop::ours::Ours;
use interop::{Daemon, Endpoint, PeerSpec};
use ipnet::{IpNet, Ipv4Net};
use tokio::time::{Instant, timeout};

/// Hold time of both sessions (keepalives every second).
const HOLD: u16 = 3;
/// Routes the sender has for the receiver.
const ROUTES: u32 = 100_000;
/// Routes in place before the session comes up (sent as a table dump).
const AT_START: u32 = 60_000;
/// Routes sent first and announced again with another MED during the stall.
const CHURN: u32 = 60_000;
/// The MED of the routes announced again.
const CHURN_MED: u32 = 7;
/// The receiver's event channel (and queue behind it).
const EVENT_CAPACITY: usize = 16;
/// Best-path changes one event carries at most when built from one UPDATE or a batch.
const CHANGES_PER_EVENT: usize = 1024;
/// Bound of every wait (a debug build on a busy machine).
const WAIT: Duration = Duration::from_secs(120);
const SENDER_AS: u32 = 65001;
const RECEIVER_AS: u32 = 65002;

fn prefix(i: u32) -> IpNet {
    IpNet::V4(Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + (i << 8)), 24).unwrap())
}

fn route(i: u32, med: Option<u32>) -> LocalRoute {
    let mut route = LocalRoute::new(prefix(i));
    route.attributes.med = med;
    route.next_hop = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
    route
}

/// The MED each prefix has at the receiver once everything is applied.
fn expected_med(i: u32) -> Option<u32> {
    (i < CHURN).then_some(CHURN_MED)
}

/// A session from `from` to `to` with the short hold time.
fn peer_config(from: &Ours, to: &Ours) -> PeerConfig {
    let mut config = from.peer_for(to);
    config.hold_time = HOLD;
    config.families = vec![Family::Ipv4Unicast];
    config
}

/// The answer to a `Speaker` request, which must come while events are not read.
async fn answer<T>(what: &str, request: impl Future<Output = Result<T, bgp::SpeakerError>>) -> T {
    timeout(WAIT, request)
        .await
        .unwrap_or_else(|_| panic!("{what} got no answer in {WAIT:?}"))
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// The one peer of `speaker`.
async fn the_peer(speaker: &Ours) -> bgp::PeerSummary {
    let peers = answer("peers()", speaker.speaker.peers()).await;
    assert_eq!(peers.len(), 1, "{peers:?}");
    peers.into_iter().next().unwrap()
}

/// Each speaker's session is Established, its first, and no NOTIFICATION went either way.
async fn assert_sessions_intact(speakers: &[&Ours]) {
    for speaker in speakers {
        interop::ours::assert_first_session(&the_peer(speaker).await.status);
    }
}

async fn event_stats(speaker: &Ours) -> EventStats {
    answer("instance()", speaker.speaker.instance())
        .await
        .events
}

/// The receiver's bounds hold: `max_held` changes, [`EVENT_CAPACITY`] queued events.
fn assert_bounded(stats: &EventStats, max_held: usize) {
    assert!(stats.peak_held_changes <= max_held, "{stats:?}");
    assert!(stats.held_changes <= max_held, "{stats:?}");
    assert!(stats.peak_queued_events <= EVENT_CAPACITY, "{stats:?}");
}

/// Starts both speakers, peers them, and sends the routes while no events are read for
/// three hold times, checking sessions, answers and bounds all along. Returns
/// (sender, receiver) with every UPDATE sent.
async fn stall_while_routes_arrive(tune: fn(&mut SpeakerConfig), max_held: usize) -> (Ours, Ours) {
    let sender = Ours::start(SENDER_AS).await;
    let receiver = Ours::start_tuned(RECEIVER_AS, tune).await;
    for i in 0..AT_START {
        answer("announce()", sender.speaker.announce(route(i, None))).await;
    }
    sender.add_peer(peer_config(&sender, &receiver)).await;
    // One side connects, so no connection collision (Cease/7) muddles the count of
    // NOTIFICATIONs and sessions.
    let mut passive = peer_config(&receiver, &sender);
    passive.passive = true;
    receiver.add_peer(passive).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let states = [
            the_peer(&sender).await.status.state,
            the_peer(&receiver).await.status.state,
        ];
        if states == [bgp::SessionState::Established; 2] {
            break;
        }
        assert!(Instant::now() < deadline, "no session: {states:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Three hold times from now, with UPDATEs flowing while there are any left to send.
    let stall_until = Instant::now() + Duration::from_secs(3 * u64::from(HOLD));
    let deadline = Instant::now() + WAIT;
    let (mut next, mut churned) = (AT_START, 0);
    loop {
        for _ in 0..2000 {
            if next < ROUTES {
                let route = route(next, expected_med(next));
                answer("announce()", sender.speaker.announce(route)).await;
                next += 1;
            } else if churned < CHURN {
                let med = expected_med(churned);
                answer("announce()", sender.speaker.announce(route(churned, med))).await;
                churned += 1;
            }
        }
        assert_sessions_intact(&[&sender, &receiver]).await;
        assert_bounded(&event_stats(&receiver).await, max_held);
        if Instant::now() >= stall_until && churned == CHURN {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the routes were not sent in {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (sender, receiver)
}

/// Polls the receiver's Loc-RIB until it is the sender's table, then asserts it exactly:
/// every prefix once, one path from `from_as`, with the MED `med` gives it.
async fn assert_table_exact(receiver: &Ours, from_as: u32, med: fn(u32) -> Option<u32>) {
    let deadline = Instant::now() + WAIT;
    let table = loop {
        let table = answer("routes()", receiver.speaker.routes(Family::Ipv4Unicast)).await;
        let done = table.len() == ROUTES as usize
            && table.iter().zip(0..).all(|(r, i)| {
                r.prefix == prefix(i) && r.paths.len() == 1 && r.paths[0].attrs.med() == med(i)
            });
        if done || Instant::now() > deadline {
            break table;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(table.len(), ROUTES as usize);
    for (route, i) in table.iter().zip(0..) {
        assert_eq!(route.prefix, prefix(i));
        assert_eq!(route.paths.len(), 1, "{route:?}");
        let path = &route.paths[0];
        assert!(path.best, "{route:?}");
        assert_eq!(path.attrs.med(), med(i), "{route:?}");
        assert_eq!(path.from.as_ref().map(|f| f.remote_as), Some(from_as));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_stalled_past_the_bounds_gets_lagged_and_rereads_an_exact_rib() {
    const MAX_HELD: usize = 10_000;
    let (sender, mut receiver) = stall_while_routes_arrive(
        |config| {
            config.event_capacity = EVENT_CAPACITY;
            config.max_pending_changes = MAX_HELD;
        },
        MAX_HELD,
    )
    .await;
    let stats = event_stats(&receiver).await;
    assert!(stats.missed > 0, "the bound was never reached: {stats:?}");
    // Reading resumes: what was in the channel, then how much was missed.
    let lagged = receiver
        .wait_event(WAIT, "Lagged", |e| matches!(e, Event::Lagged(_)))
        .await;
    let Event::Lagged(missed) = lagged else {
        unreachable!()
    };
    assert!(missed > 0);
    assert_table_exact(&receiver, SENDER_AS, expected_med).await;
    let selected = answer("selected()", receiver.speaker.selected(Family::Ipv4Unicast)).await;
    assert_eq!(selected.len(), ROUTES as usize);
    // After Lagged the stream is complete again: a withdrawal comes through.
    sender.withdraw(prefix(ROUTES - 1)).await;
    receiver
        .wait_event(WAIT, "the withdrawal", |e| {
            matches!(e, Event::BestPathChanged(changes)
                if changes.iter().any(|c| c.prefix == prefix(ROUTES - 1) && c.best.is_none()))
        })
        .await;
    assert_sessions_intact(&[&sender, &receiver]).await;
    assert_bounded(&event_stats(&receiver).await, MAX_HELD);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_consumer_within_the_bounds_gets_every_prefix_once_coalesced() {
    // Each prefix is held once however often it changed, next to what the channel holds.
    let max_held = ROUTES as usize + EVENT_CAPACITY * CHANGES_PER_EVENT;
    let (sender, mut receiver) =
        stall_while_routes_arrive(|config| config.event_capacity = EVENT_CAPACITY, max_held).await;
    // The stream alone rebuilds the table: the last change of each prefix is its state.
    let mut table: HashMap<IpNet, Option<u32>> = HashMap::new();
    let complete = |table: &HashMap<IpNet, Option<u32>>| {
        table.len() == ROUTES as usize
            && (0..ROUTES).all(|i| table.get(&prefix(i)) == Some(&expected_med(i)))
    };
    let deadline = Instant::now() + WAIT;
    while !complete(&table) {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = timeout(left, receiver.events.recv())
            .await
            .unwrap_or_else(|_| panic!("{} of {ROUTES} prefixes after {WAIT:?}", table.len()))
            .expect("the event stream ended");
        match event {
            Event::Lagged(n) => panic!("lagged by {n} within the bounds"),
            Event::BestPathChanged(changes) => {
                for change in changes {
                    match change.best {
                        Some(best) => table.insert(change.prefix, best.attrs.med()),
                        None => table.remove(&change.prefix),
                    };
                }
            }
            _ => {}
        }
    }
    let stats = event_stats(&receiver).await;
    assert_eq!((stats.missed, stats.lagged), (0, 0), "{stats:?}");
    assert_bounded(&stats, max_held);
    assert_table_exact(&receiver, SENDER_AS, expected_med).await;
    assert_sessions_intact(&[&sender, &receiver]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_consumer_keeps_its_session_with_gobgpd_sending_100k_routes() {
    const MAX_HELD: usize = 10_000;
    const GOBGP_AS: u32 = 65010;
    /// The AS the routes come from behind gobgpd.
    const ORIGIN_AS: u32 = 64999;
    let mut receiver = Ours::start_tuned(RECEIVER_AS, |config| {
        config.event_capacity = EVENT_CAPACITY;
        config.max_pending_changes = MAX_HELD;
    })
    .await;
    let mut spec = PeerSpec::new(GOBGP_AS, receiver.ip(), receiver.endpoint.port, RECEIVER_AS);
    spec.hold_time = HOLD;
    spec.ipv6 = false;
    let mut gobgp = GoBgp::start_at(Endpoint::allocate().unwrap(), spec).unwrap();
    let mut config = receiver.peer_config(&gobgp, GOBGP_AS);
    config.families = vec![Family::Ipv4Unicast];
    config.passive = true;
    receiver.add_peer(config).await;
    let deadline = Instant::now() + WAIT;
    while the_peer(&receiver).await.status.state != bgp::SessionState::Established {
        assert!(Instant::now() < deadline, "no session with gobgpd");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // gobgpd loads the table and sends it while nobody reads the receiver's events, for
    // three hold times at least.
    let stall_until = Instant::now() + Duration::from_secs(3 * u64::from(HOLD));
    let table: Vec<Ipv4Net> = (0..ROUTES)
        .filter_map(|i| match prefix(i) {
            IpNet::V4(v4) => Some(v4),
            IpNet::V6(_) => None,
        })
        .collect();
    gobgp
        .inject_ipv4_table(ORIGIN_AS, Ipv4Addr::new(192, 0, 2, 1), &table)
        .unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        assert_sessions_intact(&[&receiver]).await;
        assert!(gobgp.established().unwrap(), "gobgpd lost the session");
        assert_bounded(&event_stats(&receiver).await, MAX_HELD);
        let received: usize = the_peer(&receiver)
            .await
            .received
            .iter()
            .map(|(_, n)| n)
            .sum();
        if Instant::now() >= stall_until && received == ROUTES as usize {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{received} routes from gobgpd after {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(event_stats(&receiver).await.missed > 0);

    // Reading resumes: the lag is reported and the RIB is exact.
    receiver
        .wait_event(WAIT, "Lagged", |e| matches!(e, Event::Lagged(_)))
        .await;
    assert_table_exact(&receiver, GOBGP_AS, |_| None).await;
    let view = answer("route()", receiver.speaker.route(prefix(0))).await;
    let path = &view.unwrap().paths[0];
    assert_eq!(path.attrs.as_path().segments[0].asns, [GOBGP_AS, ORIGIN_AS]);
    assert_sessions_intact(&[&receiver]).await;
    assert!(gobgp.established().unwrap());
}
