//! A scripted BGP peer that speaks raw bytes to a real [`Speaker`] over loopback, shared by
//! the tests that need to control exactly what the peer sends and when it goes away.

// Each test binary uses only part of this module.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bgp::packet::{
    AsPath, Capability, DecodeOptions, EncodeOptions, Message, MpReach, Notification, Open, Origin,
    PathAttributes, Update, decode_message, encode_message, frame_length,
};
use bgp::{Event, Family, IdleHold, PeerConfig, RemoteAs, Speaker, SpeakerConfig};
use bytes::BytesMut;
use ipnet::IpNet;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc::Receiver;
use tokio::time::timeout;

use crate::interop;
use crate::interop::Endpoint;

/// How long any single wait of these tests may take.
pub const WAIT: Duration = Duration::from_secs(15);
/// The raw peer's AS on eBGP sessions: the first AS of the AS_PATHs in the malformed-case
/// table.
pub const PEER_AS: u32 = 65001;
/// Our AS on eBGP sessions.
pub const OUR_AS: u32 = 65000;
/// The AS of both sides on iBGP sessions (not in the table's AS_PATHs, which would be a loop).
pub const IBGP_AS: u32 = 65002;

/// The speaker under test, configured with one passive peer: the raw client's address.
pub struct Target {
    /// The AS the raw peer must announce.
    pub peer_as: u32,
    pub speaker: Speaker,
    pub events: Receiver<Event>,
    pub endpoint: Endpoint,
    pub client: Endpoint,
}

impl Target {
    pub async fn start() -> Target {
        Target::start_with(OUR_AS, PEER_AS).await
    }

    /// A speaker in `local_as` expecting the raw peer in `peer_as`.
    pub async fn start_with(local_as: u32, peer_as: u32) -> Target {
        Target::start_configured(local_as, peer_as, |_| {}).await
    }

    /// As [`Target::start_with`], with the peer's configuration changed by `configure`.
    pub async fn start_configured(
        local_as: u32,
        peer_as: u32,
        configure: impl FnOnce(&mut PeerConfig),
    ) -> Target {
        let target = Target::bare(local_as, peer_as).await;
        let mut peer = target.peer_config();
        peer.passive = true;
        // Come back quickly after each reset: the malformed-input sweep resets the session
        // dozens of times in a row, which damping would hold back for up to a minute.
        peer.connect_retry = Duration::from_millis(100);
        peer.idle_hold = IdleHold::fixed(Duration::from_millis(100));
        configure(&mut peer);
        target.speaker.add_peer(peer).await.unwrap();
        target
    }

    /// A speaker in `local_as` that knows nothing of the raw peer yet.
    pub async fn bare(local_as: u32, peer_as: u32) -> Target {
        Target::bare_with(local_as, peer_as, Vec::new()).await
    }

    /// As [`Target::bare`], with interface addresses of its own (`local_addresses`).
    pub async fn bare_with(local_as: u32, peer_as: u32, local_addresses: Vec<IpAddr>) -> Target {
        let endpoint = Endpoint::allocate().unwrap();
        let client = Endpoint::allocate().unwrap();
        let config = SpeakerConfig {
            local_as,
            router_id: endpoint.address.addr(),
            listen: vec![SocketAddr::new(endpoint.ip(), endpoint.port)],
            local_addresses,
            ..SpeakerConfig::default()
        };
        let (speaker, events) = Speaker::start(config).await.unwrap();
        Target {
            peer_as,
            speaker,
            events,
            endpoint,
            client,
        }
    }

    /// The raw peer with FRR's defaults (ConnectRetry 120 s, idle hold from 1 s), hold
    /// time 90 s.
    pub fn peer_config(&self) -> PeerConfig {
        let mut peer = PeerConfig::new(self.client.ip(), RemoteAs::Asn(self.peer_as));
        peer.hold_time = 90;
        peer
    }

    /// A speaker whose peer (the raw side) is active: it connects to the listener returned,
    /// bound on the client address before the speaker starts.
    pub async fn start_active() -> (Target, tokio::net::TcpListener) {
        let endpoint = Endpoint::allocate().unwrap();
        let client = Endpoint::allocate().unwrap();
        let listener = tokio::net::TcpListener::bind((client.ip(), client.port))
            .await
            .unwrap();
        let config = SpeakerConfig {
            local_as: OUR_AS,
            router_id: endpoint.address.addr(),
            listen: vec![SocketAddr::new(endpoint.ip(), endpoint.port)],
            ..SpeakerConfig::default()
        };
        let (speaker, events) = Speaker::start(config).await.unwrap();
        let mut peer = PeerConfig::new(client.ip(), RemoteAs::Asn(PEER_AS));
        peer.port = client.port;
        peer.hold_time = 90;
        speaker.add_peer(peer).await.unwrap();
        let target = Target {
            peer_as: PEER_AS,
            speaker,
            events,
            endpoint,
            client,
        };
        (target, listener)
    }

    pub async fn wait_for(&mut self, what: &str, pred: impl FnMut(&Event) -> bool) -> Event {
        interop::ours::next_event(&mut self.events, WAIT, what, pred).await
    }

    /// Waits until the passive session accepts connections again (Active).
    pub async fn wait_ready(&self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let peers = self.speaker.peers().await.unwrap();
            if peers
                .iter()
                .all(|p| p.status.state == bgp::SessionState::Active)
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "peer never back in Active: {peers:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn route_present(&self, prefix: &str) -> bool {
        let prefix: IpNet = prefix.parse().unwrap();
        self.speaker.route(prefix).await.unwrap().is_some()
    }

    /// Polls until the prefix is present (or absent).
    pub async fn wait_route(&self, prefix: &str, present: bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.route_present(prefix).await != present {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{prefix} present={present} never happened"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The raw side of a session.
pub struct Raw {
    pub stream: TcpStream,
    pub input: BytesMut,
    pub encode: EncodeOptions,
}

impl Raw {
    /// Connects from the client address and completes the OPEN exchange with `hold_time`.
    pub async fn establish(target: &Target, hold_time: u16) -> Raw {
        Raw::establish_with(target, hold_time, true).await
    }

    /// Connects from the client address, without any BGP message yet.
    pub async fn connect(target: &Target) -> Raw {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(target.client.ip(), 0)).unwrap();
        let stream = socket
            .connect(SocketAddr::new(target.endpoint.ip(), target.endpoint.port))
            .await
            .unwrap();
        Raw {
            stream,
            input: BytesMut::new(),
            encode: EncodeOptions::default(),
        }
    }

    /// Completes the OPEN exchange, offering the 4-octet AS capability or not.
    pub async fn establish_with(target: &Target, hold_time: u16, four_octet_as: bool) -> Raw {
        let mut open = raw_open(target, hold_time, Ipv4Addr::new(192, 0, 2, 99));
        if !four_octet_as {
            open.capabilities
                .retain(|c| !matches!(c, Capability::FourOctetAs(_)));
        }
        Raw::establish_open(target, open).await.0
    }

    /// Connects and completes the OPEN exchange with `open`; returns the speaker's OPEN too.
    pub async fn establish_open(target: &Target, open: Open) -> (Raw, Open) {
        let mut raw = Raw::connect(target).await;
        raw.encode = EncodeOptions {
            four_octet_as: open
                .capabilities
                .iter()
                .any(|c| matches!(c, Capability::FourOctetAs(_))),
        };
        raw.send(&Message::Open(open)).await;
        let Some(Message::Open(theirs)) = raw.recv().await else {
            panic!("no OPEN from the speaker");
        };
        raw.send(&Message::Keepalive).await;
        assert!(matches!(raw.recv().await, Some(Message::Keepalive)));
        (raw, theirs)
    }

    pub async fn send(&mut self, message: &Message) {
        let mut out = BytesMut::new();
        encode_message(message, &self.encode, &mut out).unwrap();
        self.send_bytes(&out).await;
    }

    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// The next message other than KEEPALIVE after the first, or None when the speaker closed.
    pub async fn recv(&mut self) -> Option<Message> {
        loop {
            if let Some(len) = frame_length(&self.input).unwrap() {
                let frame = self.input.split_to(len);
                return Some(
                    decode_message(&frame, &DecodeOptions::default())
                        .unwrap()
                        .message,
                );
            }
            let n = timeout(WAIT, self.stream.read_buf(&mut self.input))
                .await
                .ok()?
                .ok()?;
            if n == 0 {
                return None;
            }
        }
    }

    /// The NOTIFICATION the speaker sends before closing (skipping KEEPALIVEs and UPDATEs).
    pub async fn notification(&mut self) -> Option<Notification> {
        loop {
            match self.recv().await? {
                Message::Notification(n) => return Some(n),
                _ => continue,
            }
        }
    }
}

/// The raw peer's OPEN: IPv4 and IPv6 unicast, 4-octet AS.
pub fn raw_open(target: &Target, hold_time: u16, bgp_id: Ipv4Addr) -> Open {
    Open {
        version: 4,
        my_as: target.peer_as as u16,
        hold_time,
        bgp_id,
        capabilities: vec![
            Capability::Multiprotocol(Family::Ipv4Unicast.afi_safi()),
            Capability::Multiprotocol(Family::Ipv6Unicast.afi_safi()),
            Capability::FourOctetAs(target.peer_as),
        ],
    }
}

/// Attributes of a valid route from the raw peer; iBGP routes have an empty AS_PATH (our
/// own AS in it would be a loop).
pub fn route_attrs(ibgp: bool) -> PathAttributes {
    let as_path = if ibgp {
        AsPath::default()
    } else {
        AsPath::from_sequence([PEER_AS])
    };
    PathAttributes {
        origin: Origin::Igp,
        as_path,
        next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
        ..PathAttributes::default()
    }
}

/// A valid UPDATE announcing `prefix` (IPv4 in the NLRI field, IPv6 in MP_REACH_NLRI).
pub fn announce(prefix: &str, ibgp: bool) -> Message {
    let mut attributes = route_attrs(ibgp);
    match prefix.parse::<IpNet>().unwrap() {
        IpNet::V4(v4) => Message::Update(Update {
            attributes: Some(attributes),
            nlri: vec![v4],
            ..Update::default()
        }),
        v6 => {
            attributes.next_hop = None;
            Message::Update(Update {
                attributes: Some(attributes),
                mp_reach: Some(MpReach {
                    afi_safi: Family::Ipv6Unicast.afi_safi(),
                    next_hops: vec!["2001:db8:ffff::1".parse().unwrap()],
                    nlri: vec![v6],
                }),
                ..Update::default()
            })
        }
    }
}
