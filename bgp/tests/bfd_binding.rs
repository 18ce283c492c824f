//! A BGP session bound to BFD, on loopback: speaker A has BFD towards B; B runs BGP only, and
//! B's BFD end is a separate BFD task sending from B's address (so it can go silent while B's
//! BGP runs on). A's session is held until BFD is Up, goes down with Cease/10 when BFD goes
//! down, is refused while BFD stays down, and comes back when BFD is Up again.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod interop;

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Duration;

use bgp::bfd::{Bfd, Profile, ServiceConfig, SessionKey, SessionSpec, State, Timers};
use bgp::packet::notification::{CEASE, cease};
use bgp::{
    DownReason, Event, IdleHold, PeerConfig, RemoteAs, SessionState, Speaker, SpeakerConfig,
};
use interop::Endpoint;
use interop::ours::next_event;

const WAIT: Duration = Duration::from_secs(20);

fn free_udp_port(ip: IpAddr) -> u16 {
    UdpSocket::bind((ip, 0))
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap()
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

async fn speaker(
    endpoint: &Endpoint,
    asn: u32,
    bfd: ServiceConfig,
) -> (Speaker, tokio::sync::mpsc::Receiver<Event>) {
    Speaker::start(SpeakerConfig {
        local_as: asn,
        router_id: endpoint.address.addr(),
        listen: vec![SocketAddr::new(endpoint.ip(), endpoint.port)],
        bfd,
        ..SpeakerConfig::default()
    })
    .await
    .unwrap()
}

fn peer(from: &Endpoint, to: &Endpoint, asn: u32) -> PeerConfig {
    let mut config = PeerConfig::new(to.ip(), RemoteAs::Asn(asn));
    config.port = to.port;
    config.local_address = Some(from.ip());
    config.hold_time = 30;
    config.connect_retry = Duration::from_millis(300);
    config
}

async fn state_of(speaker: &Speaker, peer: IpAddr) -> SessionState {
    let peers = speaker.peers().await.unwrap();
    peers
        .iter()
        .find(|p| p.config.address == peer)
        .map(|p| p.status.state)
        .unwrap()
}

#[tokio::test]
async fn bgp_follows_its_bfd_session_down_with_cease_10_and_back_up() {
    let a_at = Endpoint::allocate().unwrap();
    let b_at = Endpoint::allocate().unwrap();
    let (a_bfd_port, b_bfd_port) = (free_udp_port(a_at.ip()), free_udp_port(b_at.ip()));
    let a_service = ServiceConfig {
        single_hop_port: a_bfd_port,
        peer_single_hop_port: b_bfd_port,
        multihop_port: free_udp_port(a_at.ip()),
        ..ServiceConfig::default()
    };
    let (a, mut a_events) = speaker(&a_at, 65001, a_service).await;
    let (b, mut b_events) = speaker(&b_at, 65002, ServiceConfig::default()).await;
    let mut a_to_b = peer(&a_at, &b_at, 65002);
    a_to_b.bfd = Some(fast());
    a.add_peer(a_to_b).await.unwrap();
    // B retries every 300 ms without damping, so A's refusals do not push it back for long.
    let mut b_to_a = peer(&b_at, &a_at, 65001);
    b_to_a.idle_hold = IdleHold::fixed(Duration::from_millis(300));
    b.add_peer(b_to_a).await.unwrap();

    // No BFD yet: A holds the session (B's connections are refused).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(state_of(&a, b_at.ip()).await, SessionState::Idle);
    let summary = a.peers().await.unwrap();
    let bfd = summary[0].bfd.as_ref().unwrap();
    assert_eq!((bfd.multihop, bfd.state), (false, None));

    // B's BFD end comes up; A's BGP starts.
    let (b_bfd, _b_bfd_events) = Bfd::start(ServiceConfig {
        single_hop_port: b_bfd_port,
        multihop_port: free_udp_port(b_at.ip()),
        ..ServiceConfig::default()
    });
    let key = SessionKey {
        peer: a_at.ip(),
        multihop: false,
    };
    let mut b_spec = SessionSpec {
        remote_port: a_bfd_port,
        ..SessionSpec::new(key, Some(b_at.ip()), fast())
    };
    b_bfd.add(b_spec.clone()).await.unwrap();
    next_event(&mut a_events, WAIT, "BFD Up", |e| {
        matches!(e, Event::BfdStateChanged { to: State::Up, .. })
    })
    .await;
    next_event(&mut a_events, WAIT, "Established after BFD Up", |e| {
        matches!(e, Event::PeerUp { .. })
    })
    .await;
    let summary = a.peers().await.unwrap();
    assert_eq!(summary[0].bfd.as_ref().unwrap().state, Some(State::Up));

    // B's BFD goes silent: A's BFD goes down, A closes BGP with Cease/10.
    let real_port = b_spec.remote_port;
    b_spec.remote_port = free_udp_port(b_at.ip());
    b_bfd.update(b_spec.clone()).await.unwrap();
    next_event(&mut a_events, WAIT, "BFD Down", |e| {
        matches!(
            e,
            Event::BfdStateChanged {
                to: State::Down,
                ..
            }
        )
    })
    .await;
    next_event(&mut a_events, WAIT, "BGP down for BFD", |e| {
        matches!(
            e,
            Event::PeerDown {
                reason: DownReason::BfdDown,
                ..
            }
        )
    })
    .await;
    // (B saw Cease/5 refusals while A was held; the one that counts is Cease/10.)
    next_event(&mut b_events, WAIT, "Cease/10 at B", |e| {
        matches!(e, Event::PeerDown { reason: DownReason::NotificationReceived(n), .. }
            if (n.code, n.subcode) == (CEASE, cease::BFD_DOWN))
    })
    .await;
    let status = a.peers().await.unwrap()[0].status.clone();
    assert!(matches!(status.last_reset, Some((DownReason::BfdDown, _))));

    // While BFD is down, B keeps trying (1 s idle hold) and A keeps refusing.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(state_of(&a, b_at.ip()).await, SessionState::Idle);

    // BFD back: BGP back.
    b_spec.remote_port = real_port;
    b_bfd.update(b_spec).await.unwrap();
    next_event(&mut a_events, WAIT, "Established after BFD is back", |e| {
        matches!(e, Event::PeerUp { .. })
    })
    .await;
    let views = a.bfd_sessions().await.unwrap();
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].state, State::Up);
    assert_eq!(views[0].counters.up_events, 2);
    assert_eq!(views[0].counters.down_events, 1);
}
