//! The BFD task against itself over loopback: two tasks on their own ports bring a session
//! Up, a removed session tells its peer AdminDown, a frozen peer (no more packets) is
//! detected Down with diagnostic 1, and packets below the required TTL are discarded
//! (GTSM for single hop, the minimum TTL for multihop).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::Duration;

use bgp::bfd::{
    Bfd, BfdEvent, ControlPacket, Diagnostic, Profile, ServiceConfig, SessionKey, SessionSpec,
    State, Timers,
};
use tokio::sync::mpsc::UnboundedReceiver;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A UDP port free on loopback right now.
fn free_port() -> u16 {
    UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap()
}

fn service() -> (Bfd, UnboundedReceiver<BfdEvent>, u16, u16) {
    let single = free_port();
    let multi = free_port();
    let (bfd, events) = Bfd::start(ServiceConfig {
        single_hop_port: single,
        multihop_port: multi,
        ..ServiceConfig::default()
    });
    (bfd, events, single, multi)
}

fn fast() -> Profile {
    Profile {
        name: Some("fast".into()),
        timers: Timers {
            desired_min_tx: Duration::from_millis(50),
            required_min_rx: Duration::from_millis(50),
            detect_mult: 3,
        },
        ..Profile::default()
    }
}

fn spec(multihop: bool, remote_port: u16, profile: Profile) -> SessionSpec {
    SessionSpec {
        remote_port,
        ..SessionSpec::new(
            SessionKey {
                peer: LOOPBACK,
                multihop,
            },
            Some(LOOPBACK),
            profile,
        )
    }
}

/// Waits for the next transition into `to`; panics after 10 s.
async fn wait_state(events: &mut UnboundedReceiver<BfdEvent>, to: State) -> BfdEvent {
    let wait = async {
        loop {
            match events.recv().await {
                Some(event @ BfdEvent::StateChanged { transition, .. }) if transition.to == to => {
                    return event;
                }
                Some(_) => {}
                None => panic!("event stream ended"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap_or_else(|_| panic!("no transition to {to} within 10 s"))
}

#[tokio::test]
async fn two_tasks_come_up_and_a_removed_session_says_admin_down() {
    for multihop in [false, true] {
        let (a, mut a_events, a_single, a_multi) = service();
        let (b, mut b_events, b_single, b_multi) = service();
        let (a_port, b_port) = if multihop {
            (a_multi, b_multi)
        } else {
            (a_single, b_single)
        };
        a.add(spec(multihop, b_port, fast())).await.unwrap();
        b.add(spec(multihop, a_port, Profile::default()))
            .await
            .unwrap();
        wait_state(&mut a_events, State::Up).await;
        wait_state(&mut b_events, State::Up).await;
        let views = a.sessions().await.unwrap();
        assert_eq!(views.len(), 1);
        let view = &views[0];
        assert_eq!(view.state, State::Up);
        assert_eq!(view.spec.profile.name.as_deref(), Some("fast"));
        assert!(view.counters.control_in > 0 && view.counters.control_out > 0);
        assert_eq!(view.counters.up_events, 1);
        let source = view.local_socket.map(|s| s.port()).unwrap_or_default();
        assert!((49152..=65535).contains(&source), "source port {source}");

        a.remove(view.spec.key).await.unwrap();
        match wait_state(&mut b_events, State::Down).await {
            BfdEvent::StateChanged { transition, .. } => {
                assert_eq!(
                    transition.local_diagnostic,
                    Diagnostic::NeighborSignaledDown
                );
                assert_eq!(
                    transition.remote_diagnostic,
                    Diagnostic::AdministrativelyDown
                );
            }
        }
    }
}

#[tokio::test]
async fn a_silent_peer_is_detected_down_with_diagnostic_1() {
    let (a, mut a_events, a_single, _) = service();
    let (b, mut b_events, b_single, _) = service();
    a.add(spec(false, b_single, fast())).await.unwrap();
    b.add(spec(false, a_single, fast())).await.unwrap();
    wait_state(&mut a_events, State::Up).await;
    wait_state(&mut b_events, State::Up).await;
    // b goes silent towards a without telling it: its packets now go to a port nobody
    // reads, as if the path between them had broken.
    let mut muted = spec(false, free_port(), fast());
    muted.profile.name = Some("muted".into());
    b.update(muted).await.unwrap();
    match wait_state(&mut a_events, State::Down).await {
        BfdEvent::StateChanged { transition, .. } => {
            assert_eq!(
                transition.local_diagnostic,
                Diagnostic::ControlDetectionTimeExpired
            );
        }
    }
}

/// A Down packet from the peer's side, as the first packet of a session.
fn hello(my_discriminator: u32) -> [u8; 24] {
    ControlPacket {
        diagnostic: Diagnostic::None,
        state: State::Down,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_mult: 3,
        my_discriminator,
        your_discriminator: 0,
        desired_min_tx: 1_000_000,
        required_min_rx: 1_000_000,
        required_min_echo_rx: 0,
    }
    .encode()
}

#[tokio::test]
async fn packets_below_the_required_ttl_are_discarded() {
    // (multihop, TTL sent, minimum TTL, taken)
    let table = [
        (false, 254u32, 254u8, false),
        (false, 255, 254, true),
        (true, 253, 254, false),
        (true, 254, 254, true),
        (true, 200, 200, true),
    ];
    for (multihop, ttl, minimum_ttl, taken) in table {
        let (a, mut a_events, a_single, a_multi) = service();
        let profile = Profile {
            minimum_ttl,
            passive: true,
            ..Profile::default()
        };
        a.add(spec(multihop, free_port(), profile)).await.unwrap();
        let raw = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        raw.set_ttl(ttl).unwrap();
        let port = if multihop { a_multi } else { a_single };
        raw.send_to(&hello(77), (Ipv4Addr::LOCALHOST, port))
            .unwrap();
        let init = tokio::time::timeout(Duration::from_millis(500), a_events.recv()).await;
        let views = a.sessions().await.unwrap();
        let view = &views[0];
        if taken {
            assert!(
                init.is_ok(),
                "TTL {ttl} (min {minimum_ttl}, multihop {multihop}) taken"
            );
            assert_eq!(view.state, State::Init);
            assert_eq!(view.remote.discriminator, 77);
            assert_eq!(view.counters.control_in, 1);
        } else {
            assert!(
                init.is_err(),
                "TTL {ttl} (min {minimum_ttl}, multihop {multihop}) discarded"
            );
            assert_eq!(view.state, State::Down);
            assert_eq!(view.counters.control_in, 0);
        }
    }
}
