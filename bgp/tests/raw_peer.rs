//! A scripted peer that speaks raw bytes to a real [`Speaker`] over loopback: for what a
//! well-behaved daemon never does — going silent, sending garbage — and for checking the
//! exact NOTIFICATION the speaker answers with.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, dead_code)]

mod interop;
mod malformed_cases;
mod raw;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Mutex, Once};
use std::time::Duration;

use bgp::packet::{
    AsPath, EncodeOptions, Message, Notification, RefreshSubtype, RouteRefresh, Update,
};
use bgp::{DownReason, Event, Family, IdleHold, ListenRange};
use bytes::BytesMut;
use ipnet::IpNet;
use raw::*;
use tokio::time::timeout;

#[tokio::test]
async fn hold_timer_expiry_sends_notification_4_0_when_the_peer_goes_silent() {
    let mut target = Target::start().await;
    let mut raw = Raw::establish(&target, 3).await;
    // Say nothing more: within 3 s the speaker must give up with Hold Timer Expired.
    let n = raw
        .notification()
        .await
        .expect("a NOTIFICATION before close");
    assert_eq!((n.code, n.subcode), (4, 0));
    let client = target.client.ip();
    target
        .wait_for("PeerDown HoldTimerExpired", |e| {
            matches!(e, Event::PeerDown { peer, reason: DownReason::HoldTimerExpired } if *peer == client)
        })
        .await;
}

#[tokio::test]
async fn routes_from_a_raw_peer_are_learned_and_withdrawn() {
    let target = Target::start().await;
    let mut raw = Raw::establish(&target, 90).await;
    raw.send(&announce("203.0.113.0/24", false)).await;
    target.wait_route("203.0.113.0/24", true).await;
    raw.send(&Message::Update(Update {
        withdrawn: vec!["203.0.113.0/24".parse().unwrap()],
        ..Update::default()
    }))
    .await;
    target.wait_route("203.0.113.0/24", false).await;
}

/// The route an UPDATE of the malformed-case table carries: 10.1.1.0/24 in the NLRI field,
/// or 2001:db8::/32 in MP_REACH_NLRI for the cases that name no IPv4 route.
fn case_route(expected: &malformed_cases::Expected) -> &'static str {
    match expected {
        malformed_cases::Expected::TreatAsWithdraw { withdrawn, .. } if withdrawn.is_empty() => {
            "2001:db8::/32"
        }
        _ => "10.1.1.0/24",
    }
}

/// Every malformed input of the codec table, pushed through a live session of the kind the
/// case was decoded for (iBGP or eBGP, 4- or 2-octet AS): the speaker answers exactly as
/// RFC 4271/7606 say — the NOTIFICATION for a session reset; for treat-as-withdraw the
/// earlier route disappears and the session stays up; for attribute-discard the route is
/// installed and the session stays up — and the speaker itself lives on: a new session
/// comes up after each case.
#[tokio::test]
async fn every_malformed_case_gets_its_rfc_outcome_over_a_live_session() {
    use malformed_cases::Expected;
    let mut ibgp = Target::start_with(IBGP_AS, IBGP_AS).await;
    let mut ebgp = Target::start_with(OUR_AS, PEER_AS).await;
    let mut failures = Vec::new();
    let mut exercised = 0;
    for case in malformed_cases::cases() {
        if case.expected == Expected::Incomplete {
            // A frame still waiting for bytes: nothing to answer until the hold timer.
            continue;
        }
        exercised += 1;
        let route = case_route(&case.expected);
        let target = if case.opts.external {
            &mut ebgp
        } else {
            &mut ibgp
        };
        target.wait_ready().await;
        let is_open = case.bytes.get(18) == Some(&1);
        let mut raw = if is_open {
            Raw::connect(target).await
        } else {
            Raw::establish_with(target, 90, case.opts.four_octet_as).await
        };
        if matches!(case.expected, Expected::TreatAsWithdraw { .. }) {
            raw.send(&announce(route, !case.opts.external)).await;
            target.wait_route(route, true).await;
        }
        raw.send_bytes(&case.bytes).await;
        match &case.expected {
            Expected::Reset(expected) => match raw.notification().await {
                Some(n) if (n.code, n.subcode) == (expected.code, expected.subcode) => {}
                other => failures.push(format!(
                    "{}: expected NOTIFICATION {}/{}, got {other:?}",
                    case.name, expected.code, expected.subcode
                )),
            },
            Expected::TreatAsWithdraw { .. } | Expected::AttributeDiscard { .. } => {
                let want = matches!(case.expected, Expected::AttributeDiscard { .. });
                let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
                while target.route_present(route).await != want
                    && tokio::time::Instant::now() < deadline
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                if target.route_present(route).await != want {
                    failures.push(format!(
                        "{}: route present={} expected {want}",
                        case.name, !want
                    ));
                }
                let peers = target.speaker.peers().await.unwrap();
                if !peers
                    .iter()
                    .any(|p| p.status.state == bgp::SessionState::Established)
                {
                    failures.push(format!("{}: session did not survive", case.name));
                }
                raw.send(&Message::Notification(Notification::new(6, 2)))
                    .await;
            }
            Expected::Incomplete => {}
        }
        drop(raw);
        let client = target.client.ip();
        let down = timeout(
            WAIT,
            target.wait_for("session down", |e| {
                matches!(e, Event::StateChanged { peer, to: bgp::SessionState::Idle | bgp::SessionState::Active, .. } if *peer == client)
            }),
        )
        .await;
        if down.is_err() {
            failures.push(format!("{}: the session never went down", case.name));
        }
        target.wait_route(route, false).await;
    }
    assert!(
        exercised >= 40,
        "only {exercised} cases pushed through a session"
    );
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The speaker keeps track of what it announced to each peer: routes learned from a peer
/// (not re-advertised by a MetalLB-style speaker) never cause withdrawals to be sent back.
#[tokio::test]
async fn no_withdrawal_is_sent_for_a_route_never_announced() {
    let target = Target::start().await;
    let mut raw = Raw::establish(&target, 90).await;
    raw.send(&announce("203.0.113.0/24", false)).await;
    target.wait_route("203.0.113.0/24", true).await;
    raw.send(&Message::Update(Update {
        withdrawn: vec!["203.0.113.0/24".parse().unwrap()],
        ..Update::default()
    }))
    .await;
    target.wait_route("203.0.113.0/24", false).await;
    let mut withdrawals = Vec::new();
    let listen = async {
        while let Some(message) = raw.recv().await {
            if let Message::Update(update) = message {
                withdrawals.extend(update.withdrawn.iter().map(|p| IpNet::V4(*p)));
                if let Some(unreach) = update.mp_unreach {
                    withdrawals.extend(unreach.withdrawn);
                }
            }
        }
    };
    let _ = timeout(Duration::from_secs(1), listen).await;
    assert!(
        withdrawals.is_empty(),
        "withdrawals echoed: {withdrawals:?}"
    );
}

/// RFC 4271 §6.8, both ways: while the speaker's own connection waits in OpenSent, the peer
/// connects too; the connection opened by the side with the higher BGP identifier survives
/// and the other is closed with Cease/7 (Connection Collision Resolution).
#[tokio::test]
async fn connection_collision_keeps_the_connection_of_the_higher_bgp_identifier() {
    for (raw_id, peer_connection_wins) in [
        (Ipv4Addr::new(255, 255, 255, 254), true),
        (Ipv4Addr::new(1, 1, 1, 1), false),
    ] {
        let (mut target, listener) = Target::start_active().await;
        let (stream, _) = timeout(WAIT, listener.accept()).await.unwrap().unwrap();
        let mut ours = Raw {
            stream,
            input: BytesMut::new(),
            encode: EncodeOptions::default(),
        };
        assert!(
            matches!(ours.recv().await, Some(Message::Open(_))),
            "speaker in OpenSent"
        );
        let mut theirs = Raw::connect(&target).await;
        theirs
            .send(&Message::Open(raw_open(&target, 90, raw_id)))
            .await;
        assert!(matches!(theirs.recv().await, Some(Message::Open(_))));
        let (survivor, mut loser) = if peer_connection_wins {
            (theirs, ours)
        } else {
            (ours, theirs)
        };
        let n = loser
            .notification()
            .await
            .expect("Cease on the losing connection");
        assert_eq!((n.code, n.subcode), (6, 7), "raw id {raw_id}");
        let mut survivor = survivor;
        if !peer_connection_wins {
            survivor
                .send(&Message::Open(raw_open(&target, 90, raw_id)))
                .await;
        }
        assert!(matches!(survivor.recv().await, Some(Message::Keepalive)));
        survivor.send(&Message::Keepalive).await;
        let client = target.client.ip();
        target
            .wait_for(
                "Established on the surviving connection",
                |e| matches!(e, Event::PeerUp { peer, .. } if *peer == client),
            )
            .await;
    }
}

/// How the speaker knows the raw peer in the restart tests.
#[derive(Debug, Clone, Copy)]
enum Known {
    /// A configured neighbor the speaker also dials (nothing listens there, so its attempts
    /// fail and it waits in Active as FRR does).
    Configured,
    /// A dynamic neighbor of a listen range, forgotten when its session ends.
    Dynamic,
}

/// A speaker that knows the raw peer as `known`, with FRR's timer defaults (ConnectRetry
/// 120 s) and `idle_hold`.
async fn restart_target(known: Known, idle_hold: IdleHold) -> Target {
    let target = Target::bare(OUR_AS, PEER_AS).await;
    let mut peer = target.peer_config();
    peer.idle_hold = idle_hold;
    match known {
        Known::Configured => {
            peer.port = target.client.port;
            target.speaker.add_peer(peer).await.unwrap();
        }
        Known::Dynamic => {
            let range = ListenRange {
                range: IpNet::from(target.client.ip()),
                template: peer,
            };
            target.speaker.add_listen_range(range).await.unwrap();
        }
    }
    target
}

impl Target {
    async fn wait_up(&mut self) {
        let client = self.client.ip();
        self.wait_for(
            "PeerUp",
            |e| matches!(e, Event::PeerUp { peer, .. } if *peer == client),
        )
        .await;
    }

    async fn wait_down(&mut self) {
        let client = self.client.ip();
        self.wait_for(
            "PeerDown",
            |e| matches!(e, Event::PeerDown { peer, .. } if *peer == client),
        )
        .await;
    }
}

impl Raw {
    /// Connects and sends our OPEN; returns what the speaker answers with (its OPEN, or the
    /// NOTIFICATION it refuses the connection with).
    async fn offer(target: &Target) -> (Raw, Option<Message>) {
        let mut raw = Raw::connect(target).await;
        raw.send(&Message::Open(raw_open(
            target,
            90,
            Ipv4Addr::new(192, 0, 2, 99),
        )))
        .await;
        let answer = raw.recv().await;
        (raw, answer)
    }
}

/// A MetalLB speaker pod restarting: the raw peer closes its Established session without a
/// NOTIFICATION and connects again a second later. The speaker takes it back at once
/// (before, it answered Cease/5 for the whole ConnectRetry time of 120 s), for a configured
/// and for a dynamic neighbor alike.
#[tokio::test]
async fn a_peer_that_reconnects_a_second_after_closing_is_established_again() {
    for known in [Known::Configured, Known::Dynamic] {
        let mut target = restart_target(known, IdleHold::DEFAULT).await;
        let raw = Raw::establish(&target, 90).await;
        target.wait_up().await;
        drop(raw);
        target.wait_down().await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (mut raw, answer) = Raw::offer(&target).await;
        assert!(
            matches!(answer, Some(Message::Open(_))),
            "{known:?}: the reconnection got {answer:?}"
        );
        raw.send(&Message::Keepalive).await;
        assert!(matches!(raw.recv().await, Some(Message::Keepalive)));
        target.wait_up().await;
    }
}

/// RFC 4271 DampPeerOscillations over a live session: a first failure is forgiven at once
/// (the peer's immediate reconnection is taken), a second failure soon after holds the peer
/// back — its reconnection is refused with Cease/5 while the doubled idle hold runs.
#[tokio::test]
async fn a_peer_that_fails_again_soon_is_held_back_with_cease_5() {
    // A long first idle hold, so that "soon" cannot be missed on a busy machine.
    let idle_hold = IdleHold {
        initial: Duration::from_secs(30),
        ..IdleHold::DEFAULT
    };
    let mut target = restart_target(Known::Configured, idle_hold).await;
    let raw = Raw::establish(&target, 90).await;
    target.wait_up().await;
    drop(raw);
    target.wait_down().await;
    // First failure: taken back at once although the idle hold (30 s) still runs.
    let (mut raw, answer) = Raw::offer(&target).await;
    assert!(matches!(answer, Some(Message::Open(_))), "got {answer:?}");
    raw.send(&Message::Keepalive).await;
    assert!(matches!(raw.recv().await, Some(Message::Keepalive)));
    target.wait_up().await;
    drop(raw);
    target.wait_down().await;
    // Second failure within minutes: held back for 60 s, connections refused meanwhile.
    let (_raw, answer) = Raw::offer(&target).await;
    match answer {
        Some(Message::Notification(n)) => assert_eq!((n.code, n.subcode), (6, 5), "{n:?}"),
        other => panic!("expected Cease/5 while held back, got {other:?}"),
    }
    let peers = target.speaker.peers().await.unwrap();
    let status = &peers[0].status;
    assert_eq!(status.state, bgp::SessionState::Idle);
    assert!(status.next_start.is_some(), "{status:?}");
}

/// What the speakers of this test binary log, for the tests that check a log line.
static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Sends tracing output to [`LOGS`].
struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut logs) = LOGS.lock() {
            logs.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber once for the whole test binary.
fn capture_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_writer(|| LogWriter)
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .try_init();
    });
}

/// Waits until one logged line contains every one of `parts`.
async fn wait_log(parts: &[&str]) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let found = LOGS.lock().is_ok_and(|logs| {
            String::from_utf8_lossy(&logs)
                .lines()
                .any(|line| parts.iter().all(|p| line.contains(p)))
        });
        if found {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no log line with {parts:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An UPDATE announcing `prefix` from the raw eBGP peer with `next_hop` (NEXT_HOP for IPv4,
/// the MP_REACH_NLRI next hop for IPv6).
fn announce_via(prefix: &str, next_hop: IpAddr) -> Message {
    let Message::Update(mut update) = announce(prefix, false) else {
        unreachable!("announce builds an UPDATE");
    };
    match (&mut update.mp_reach, next_hop) {
        (Some(reach), nh) => reach.next_hops = vec![nh],
        (None, IpAddr::V4(nh)) => {
            if let Some(a) = update.attributes.as_mut() {
                a.next_hop = Some(nh);
            }
        }
        (None, IpAddr::V6(_)) => panic!("an IPv6 next hop for IPv4 prefix {prefix}"),
    }
    Message::Update(update)
}

impl Target {
    /// The one peer's session has been Established once and still is: nothing reset it.
    async fn assert_session_never_reset(&self) {
        let peers = self.speaker.peers().await.unwrap();
        let status = &peers[0].status;
        assert_eq!(status.state, bgp::SessionState::Established, "{status:?}");
        assert_eq!(status.established_count, 1, "{status:?}");
    }
}

/// RFC 4271 §6.3 (and RFC 7606 §7.3): a route whose next hop is one of the router's own
/// addresses — our end of the session, or a configured interface address — or no unicast
/// host address at all (0.0.0.0, multicast, class E, broadcast; `::`, multicast for IPv6) is
/// ignored: the peer's earlier route for the prefix goes, the new one is not installed, a
/// line is logged, and the session lives on without a NOTIFICATION.
#[tokio::test]
async fn routes_whose_next_hop_is_ours_or_no_unicast_host_are_ignored_and_logged() {
    capture_logs();
    let interface_v4: IpAddr = "192.0.2.77".parse().unwrap();
    let interface_v6: IpAddr = "2001:db8:77::1".parse().unwrap();
    let target = Target::bare_with(OUR_AS, PEER_AS, vec![interface_v4, interface_v6]).await;
    let mut peer = target.peer_config();
    peer.passive = true;
    target.speaker.add_peer(peer).await.unwrap();
    let mut raw = Raw::establish(&target, 90).await;
    let session_address = target.endpoint.ip();
    let client = target.client.ip().to_string();
    let good_v4: IpAddr = "192.0.2.1".parse().unwrap();
    let good_v6: IpAddr = "2001:db8:ffff::1".parse().unwrap();
    let table: [(&str, &str, &str); 9] = [
        ("203.0.113.0/24", "", "is one of our own addresses"),
        (
            "203.0.113.0/24",
            "192.0.2.77",
            "is one of our own addresses",
        ),
        ("203.0.113.0/24", "0.0.0.0", "this network"),
        ("203.0.113.0/24", "224.0.0.5", "multicast"),
        ("203.0.113.0/24", "240.0.0.1", "reserved class E"),
        ("203.0.113.0/24", "255.255.255.255", "limited broadcast"),
        ("2001:db8:1::/48", "::", "unspecified"),
        ("2001:db8:1::/48", "ff02::1", "multicast"),
        (
            "2001:db8:1::/48",
            "2001:db8:77::1",
            "is one of our own addresses",
        ),
    ];
    for (prefix, bad, why) in table {
        let bad: IpAddr = if bad.is_empty() {
            session_address
        } else {
            bad.parse().unwrap()
        };
        let good = if bad.is_ipv4() { good_v4 } else { good_v6 };
        raw.send(&announce_via(prefix, good)).await;
        target.wait_route(prefix, true).await;
        raw.send(&announce_via(prefix, bad)).await;
        target.wait_route(prefix, false).await;
        wait_log(&[
            "routes not accepted",
            &client,
            &format!("NEXT_HOP {bad} "),
            why,
        ])
        .await;
    }
    target.assert_session_never_reset().await;
}

/// Ignoring is per route, not treat-as-withdraw: in one UPDATE, the IPv4 routes whose
/// NEXT_HOP is unusable are ignored while the IPv6 routes of its MP_REACH_NLRI (with a good
/// next hop) are taken; a multicast prefix among good ones is ignored alone (RFC 4271 §6.3).
#[tokio::test]
async fn only_the_routes_that_fail_a_semantic_check_are_ignored() {
    capture_logs();
    let target = Target::start().await;
    let mut raw = Raw::establish(&target, 90).await;
    let Message::Update(v6) = announce("2001:db8:2::/48", false) else {
        unreachable!("announce builds an UPDATE");
    };
    let mut attributes = route_attrs(false);
    attributes.next_hop = Some(Ipv4Addr::UNSPECIFIED);
    raw.send(&Message::Update(Update {
        attributes: Some(attributes),
        nlri: vec!["198.51.100.0/24".parse().unwrap()],
        mp_reach: v6.mp_reach,
        ..Update::default()
    }))
    .await;
    target.wait_route("2001:db8:2::/48", true).await;
    assert!(!target.route_present("198.51.100.0/24").await);
    raw.send(&Message::Update(Update {
        attributes: Some(route_attrs(false)),
        nlri: vec![
            "224.1.0.0/16".parse().unwrap(),
            "10.9.0.0/16".parse().unwrap(),
        ],
        ..Update::default()
    }))
    .await;
    target.wait_route("10.9.0.0/16", true).await;
    assert!(!target.route_present("224.1.0.0/16").await);
    let client = target.client.ip().to_string();
    wait_log(&[
        "prefix ignored",
        &client,
        "224.1.0.0/16 is not a unicast destination",
    ])
    .await;
    target.assert_session_never_reset().await;
}

/// RFC 7607 §2: AS 0 in an AS_PATH makes the UPDATE malformed whoever sends it; its routes
/// are withdrawn (RFC 7606 treat-as-withdraw), the error is logged, the session stays.
#[tokio::test]
async fn as_0_in_the_as_path_withdraws_the_routes_and_is_logged() {
    capture_logs();
    for (target, ibgp) in [
        (Target::start().await, false),
        (Target::start_with(IBGP_AS, IBGP_AS).await, true),
    ] {
        let mut raw = Raw::establish(&target, 90).await;
        raw.send(&announce("203.0.113.0/24", ibgp)).await;
        target.wait_route("203.0.113.0/24", true).await;
        let Message::Update(mut update) = announce("203.0.113.0/24", ibgp) else {
            unreachable!("announce builds an UPDATE");
        };
        if let Some(a) = update.attributes.as_mut() {
            a.as_path = AsPath::from_sequence(if ibgp { vec![0] } else { vec![PEER_AS, 0] });
        }
        raw.send(&Message::Update(update)).await;
        target.wait_route("203.0.113.0/24", false).await;
        let client = target.client.ip().to_string();
        wait_log(&[
            "malformed attribute",
            &client,
            "TreatAsWithdraw",
            "AS number 0",
        ])
        .await;
        target.assert_session_never_reset().await;
    }
}

/// RFC 7313 §5: a ROUTE-REFRESH of unknown subtype is ignored whatever its length, and so are
/// BoRR and EoRR (we never announce Enhanced Route Refresh); only a request makes the speaker
/// send the family again. The ignored ones for IPv4 are followed by a request for IPv6: the
/// IPv6 End-of-RIB must come with no IPv4 re-send before it.
#[tokio::test]
async fn route_refresh_of_other_subtypes_is_ignored_and_a_request_is_answered() {
    capture_logs();
    let target = Target::start().await;
    let mut raw = Raw::establish(&target, 90).await;
    let ipv6_end_of_rib = |u: &Update| {
        u.mp_unreach
            .as_ref()
            .is_some_and(|m| m.afi_safi == Family::Ipv6Unicast.afi_safi() && m.withdrawn.is_empty())
            && u.nlri.is_empty()
            && u.withdrawn.is_empty()
    };
    // The initial table: IPv4 End-of-RIB, then IPv6.
    loop {
        match raw.recv().await {
            Some(Message::Update(u)) if ipv6_end_of_rib(&u) => break,
            Some(_) => continue,
            None => panic!("closed before the initial End-of-RIB"),
        }
    }
    let ipv4 = Family::Ipv4Unicast.afi_safi();
    raw.send_bytes(&malformed_cases::frame(5, &[0, 1, 3, 1, 0, 0, 0]))
        .await;
    for subtype in [RefreshSubtype::Begin, RefreshSubtype::End] {
        raw.send(&Message::RouteRefresh(RouteRefresh {
            afi_safi: ipv4,
            subtype,
        }))
        .await;
    }
    raw.send(&Message::RouteRefresh(RouteRefresh::request(
        Family::Ipv6Unicast.afi_safi(),
    )))
    .await;
    loop {
        match raw.recv().await {
            Some(Message::Update(u)) if ipv6_end_of_rib(&u) => break,
            Some(Message::Update(u)) => panic!("IPv4 sent again for an ignored message: {u:?}"),
            Some(Message::Keepalive) => continue,
            other => panic!("expected the IPv6 End-of-RIB, got {other:?}"),
        }
    }
    let client = target.client.ip().to_string();
    for subtype in ["subtype=3", "subtype=1", "subtype=2"] {
        wait_log(&["ROUTE-REFRESH that is no request ignored", &client, subtype]).await;
    }
    target.assert_session_never_reset().await;
}
