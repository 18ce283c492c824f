//! Graceful restart (RFC 4724) between a real [`bgp::Speaker`] and a scripted raw peer over
//! loopback, both roles: as helper the speaker keeps a restarting peer's routes, marked
//! stale, replaces them as the peer sends them again and drops the rest at its End-of-RIB,
//! at the restart timer, or at once when the new session does not carry the family; as
//! restarting speaker it advertises its families and leaves without a NOTIFICATION.
//!
//! The rules themselves are unit tables in `bgp::graceful_restart`; these check that the
//! engine carries them out on a live session. Waits are bounded; restart times are a second
//! or two so a timer is seen to run out.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod interop;
mod raw;

use std::net::Ipv4Addr;
use std::time::Duration;

use bgp::packet::{
    Capability, GracefulRestart, GracefulRestartFamily, Message, MpUnreach, Notification, Open,
    Update,
};
use bgp::{DownReason, Event, Family, GracefulRestartConfig, PeerConfig};
use ipnet::IpNet;
use raw::*;

/// The raw peer's Graceful Restart capability: `families` with their F bit.
fn capability(restart_time: u16, families: &[(Family, bool)]) -> Capability {
    Capability::GracefulRestart(GracefulRestart {
        restart_state: false,
        notification: false,
        restart_time,
        families: families
            .iter()
            .map(|(f, preserved)| GracefulRestartFamily {
                afi_safi: f.afi_safi(),
                forwarding_preserved: *preserved,
            })
            .collect(),
    })
}

/// The raw peer's OPEN with a Graceful Restart capability (or none).
fn open_with(target: &Target, gr: Option<Capability>) -> Open {
    let mut open = raw_open(target, 90, Ipv4Addr::new(192, 0, 2, 99));
    open.capabilities.extend(gr);
    open
}

fn graceful(peer: &mut PeerConfig) {
    peer.graceful_restart = Some(GracefulRestartConfig::HELPER);
}

/// The End-of-RIB marker of `family`.
fn end_of_rib(family: Family) -> Message {
    Message::Update(match family {
        Family::Ipv4Unicast => Update::default(),
        Family::Ipv6Unicast => Update {
            mp_unreach: Some(MpUnreach {
                afi_safi: family.afi_safi(),
                withdrawn: vec![],
            }),
            ..Update::default()
        },
    })
}

const P1: &str = "203.0.113.1/32";
const P2: &str = "203.0.113.2/32";
const P6: &str = "2001:db8:1::/48";

/// Whether each prefix is in the RIB and stale (None: absent).
async fn staleness(target: &Target, prefixes: &[&str]) -> Vec<Option<bool>> {
    let mut out = Vec::new();
    for p in prefixes {
        let prefix: IpNet = p.parse().unwrap();
        let view = target.speaker.route(prefix).await.unwrap();
        out.push(view.and_then(|v| v.paths.first().map(|path| path.stale)));
    }
    out
}

/// Polls until the prefixes show `want`.
async fn wait_staleness(target: &Target, prefixes: &[&str], want: &[Option<bool>]) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = staleness(target, prefixes).await;
        if got == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{prefixes:?}: wanted {want:?}, have {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Establishes, announces P1, P2 and P6 with their End-of-RIBs, then closes the TCP
/// connection without a NOTIFICATION, as a restarting daemon's kernel does.
async fn learn_then_vanish(target: &mut Target, gr: Capability) {
    let (mut raw, _) = Raw::establish_open(target, open_with(target, Some(gr))).await;
    for p in [P1, P2, P6] {
        raw.send(&announce(p, false)).await;
    }
    raw.send(&end_of_rib(Family::Ipv4Unicast)).await;
    raw.send(&end_of_rib(Family::Ipv6Unicast)).await;
    wait_staleness(target, &[P1, P2, P6], &[Some(false); 3]).await;
    drop(raw);
    let client = target.client.ip();
    target
        .wait_for("PeerDown ConnectionClosed", |e| {
            matches!(e, Event::PeerDown { peer, reason: DownReason::ConnectionClosed } if *peer == client)
        })
        .await;
    target.wait_ready().await;
}

#[tokio::test]
async fn a_restarting_peer_keeps_its_routes_stale_until_its_end_of_rib() {
    let mut target = Target::start_configured(OUR_AS, PEER_AS, graceful).await;
    let both = [(Family::Ipv4Unicast, true), (Family::Ipv6Unicast, true)];
    learn_then_vanish(&mut target, capability(120, &both)).await;
    assert_eq!(
        staleness(&target, &[P1, P2, P6]).await,
        [Some(true); 3],
        "kept and stale while the peer is away"
    );
    let peer = target.speaker.peers().await.unwrap().remove(0);
    assert_eq!(
        peer.graceful_restart.stale_families,
        [Family::Ipv4Unicast, Family::Ipv6Unicast]
    );
    assert!(peer.graceful_restart.restart_deadline.is_some());

    // Back, with the forwarding state kept: P1 again, then the IPv4 End-of-RIB.
    let (mut raw, _) =
        Raw::establish_open(&target, open_with(&target, Some(capability(120, &both)))).await;
    raw.send(&announce(P1, false)).await;
    wait_staleness(
        &target,
        &[P1, P2, P6],
        &[Some(false), Some(true), Some(true)],
    )
    .await;
    raw.send(&end_of_rib(Family::Ipv4Unicast)).await;
    wait_staleness(&target, &[P1, P2, P6], &[Some(false), None, Some(true)]).await;
    raw.send(&end_of_rib(Family::Ipv6Unicast)).await;
    wait_staleness(&target, &[P1, P2, P6], &[Some(false), None, None]).await;
    let peer = target.speaker.peers().await.unwrap().remove(0);
    assert_eq!(peer.graceful_restart.stale_families, []);
    assert_eq!(peer.graceful_restart.stale_deadline, None);
    assert_eq!(
        peer.graceful_restart.end_of_rib_received,
        [Family::Ipv4Unicast, Family::Ipv6Unicast]
    );
}

#[tokio::test]
async fn stale_routes_go_when_the_restart_time_runs_out() {
    let mut target = Target::start_configured(OUR_AS, PEER_AS, graceful).await;
    learn_then_vanish(&mut target, capability(1, &[(Family::Ipv4Unicast, true)])).await;
    // Only the family the peer listed was kept.
    assert_eq!(
        staleness(&target, &[P1, P2, P6]).await,
        [Some(true), Some(true), None]
    );
    wait_staleness(&target, &[P1, P2, P6], &[None, None, None]).await;
    let peer = target.speaker.peers().await.unwrap().remove(0);
    assert_eq!(peer.graceful_restart.stale_families, []);
    assert_eq!(peer.graceful_restart.restart_deadline, None);
}

#[tokio::test]
async fn a_family_the_new_session_does_not_preserve_loses_its_stale_routes_at_once() {
    let mut target = Target::start_configured(OUR_AS, PEER_AS, graceful).await;
    let both = [(Family::Ipv4Unicast, true), (Family::Ipv6Unicast, true)];
    learn_then_vanish(&mut target, capability(120, &both)).await;
    // Back with IPv6 not preserved (F bit clear) and without IPv6 unicast at all.
    let gr = capability(
        120,
        &[(Family::Ipv4Unicast, true), (Family::Ipv6Unicast, false)],
    );
    let (_raw, _) = Raw::establish_open(&target, open_with(&target, Some(gr))).await;
    wait_staleness(&target, &[P1, P2, P6], &[Some(true), Some(true), None]).await;
}

#[tokio::test]
async fn a_new_session_without_graceful_restart_drops_every_stale_route() {
    let mut target = Target::start_configured(OUR_AS, PEER_AS, graceful).await;
    let both = [(Family::Ipv4Unicast, true), (Family::Ipv6Unicast, true)];
    learn_then_vanish(&mut target, capability(120, &both)).await;
    let (_raw, _) = Raw::establish_open(&target, open_with(&target, None)).await;
    wait_staleness(&target, &[P1, P2, P6], &[None, None, None]).await;
}

#[tokio::test]
async fn a_notification_ends_the_session_for_good() {
    let mut target = Target::start_configured(OUR_AS, PEER_AS, graceful).await;
    let both = [(Family::Ipv4Unicast, true), (Family::Ipv6Unicast, true)];
    let (mut raw, _) =
        Raw::establish_open(&target, open_with(&target, Some(capability(120, &both)))).await;
    raw.send(&announce(P1, false)).await;
    wait_staleness(&target, &[P1], &[Some(false)]).await;
    raw.send(&Message::Notification(Notification::new(6, 4)))
        .await;
    let client = target.client.ip();
    target
        .wait_for("PeerDown NotificationReceived", |e| {
            matches!(e, Event::PeerDown { peer, reason: DownReason::NotificationReceived(_) } if *peer == client)
        })
        .await;
    wait_staleness(&target, &[P1], &[None]).await;
}

#[tokio::test]
async fn without_configuration_no_capability_is_sent_and_nothing_is_kept() {
    let mut target = Target::start().await;
    let both = [(Family::Ipv4Unicast, true), (Family::Ipv6Unicast, true)];
    let (raw, theirs) =
        Raw::establish_open(&target, open_with(&target, Some(capability(120, &both)))).await;
    assert!(
        !theirs
            .capabilities
            .iter()
            .any(|c| matches!(c, Capability::GracefulRestart(_))),
        "{theirs:?}"
    );
    drop(raw);
    let client = target.client.ip();
    target
        .wait_for(
            "PeerDown",
            |e| matches!(e, Event::PeerDown { peer, .. } if *peer == client),
        )
        .await;
    wait_staleness(&target, &[P1], &[None]).await;
}

#[tokio::test]
async fn a_helper_advertises_no_family_and_a_restarting_speaker_all_of_its_own() {
    let target = Target::start_configured(OUR_AS, PEER_AS, graceful).await;
    let (_raw, theirs) = Raw::establish_open(&target, open_with(&target, None)).await;
    let gr = bgp::graceful_restart::last_capability(&theirs.capabilities).unwrap();
    assert_eq!((gr.restart_time, gr.families.len()), (120, 0));
    // Just started: the Restart State bit is set (FRR does the same).
    assert!(gr.restart_state);

    let target = Target::start_configured(OUR_AS, PEER_AS, |p| {
        p.graceful_restart = Some(GracefulRestartConfig {
            restart_time: 90,
            preserve_forwarding: true,
            ..GracefulRestartConfig::RESTART
        });
    })
    .await;
    let (_raw, theirs) = Raw::establish_open(&target, open_with(&target, None)).await;
    let gr = bgp::graceful_restart::last_capability(&theirs.capabilities).unwrap();
    assert_eq!(gr.restart_time, 90);
    assert_eq!(
        gr.families,
        [Family::Ipv4Unicast, Family::Ipv6Unicast].map(|f| GracefulRestartFamily {
            afi_safi: f.afi_safi(),
            forwarding_preserved: true,
        })
    );
}

/// The restarting speaker's side: it sends every negotiated family's End-of-RIB after its
/// table, and when it stops it closes the connection without a NOTIFICATION (the peer is to
/// keep its routes); towards a peer without graceful restart it still says Cease/2.
#[tokio::test]
async fn a_restarting_speaker_sends_end_of_rib_and_leaves_without_notification() {
    for (peer_gr, notification) in [(Some(capability(120, &[])), None), (None, Some((6, 2)))] {
        let target = Target::start_configured(OUR_AS, PEER_AS, |p| {
            p.graceful_restart = Some(GracefulRestartConfig::RESTART);
        })
        .await;
        let prefix: IpNet = "198.51.100.0/32".parse().unwrap();
        target
            .speaker
            .announce(bgp::LocalRoute::new(prefix))
            .await
            .unwrap();
        let (mut raw, _) = Raw::establish_open(&target, open_with(&target, peer_gr)).await;
        let mut seen = Vec::new();
        while seen.len() < 3 {
            match raw.recv().await {
                Some(Message::Update(u)) => seen.push(u),
                Some(_) => {}
                None => panic!("closed early"),
            }
        }
        assert_eq!(seen[0].nlri, vec!["198.51.100.0/32".parse().unwrap()]);
        assert_eq!(seen[1].end_of_rib(), Some(Family::Ipv4Unicast.afi_safi()));
        assert_eq!(seen[2].end_of_rib(), Some(Family::Ipv6Unicast.afi_safi()));
        target.speaker.shutdown().await.unwrap();
        let got = raw.notification().await.map(|n| (n.code, n.subcode));
        assert_eq!(got, notification);
    }
}

/// A restarting peer may connect again before its old connection is seen to close (RFC 4724
/// §4.2): the new connection ends the old session as a restart.
#[tokio::test]
async fn a_new_connection_from_a_restarting_peer_ends_its_old_session() {
    let target = Target::start_configured(OUR_AS, PEER_AS, graceful).await;
    let both = [(Family::Ipv4Unicast, true), (Family::Ipv6Unicast, true)];
    let (mut old, _) =
        Raw::establish_open(&target, open_with(&target, Some(capability(120, &both)))).await;
    old.send(&announce(P1, false)).await;
    wait_staleness(&target, &[P1], &[Some(false)]).await;
    let (_new, _) =
        Raw::establish_open(&target, open_with(&target, Some(capability(120, &both)))).await;
    wait_staleness(&target, &[P1], &[Some(true)]).await;
    assert_eq!(
        old.notification().await,
        None,
        "the old connection is closed, without a NOTIFICATION"
    );
}
