//! The speaker under test (`bgp::Speaker`) on a loopback endpoint of its own, with helpers to
//! wait for its events and its Loc-RIB and to show its routes in the daemons' terms
//! ([`SeenRoute`]) so both sides are compared the same way.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bgp::packet::Community;
use bgp::{
    DownReason, Event, Family, LocalRoute, OriginAttributes, PeerConfig, RemoteAs, SessionState,
    Speaker, SpeakerConfig,
};
use ipnet::IpNet;
use tokio::sync::mpsc::Receiver;

use super::{Daemon, Endpoint, Route, SeenRoute};

/// Our speaker with its event stream.
pub struct Ours {
    /// The handle.
    pub speaker: Speaker,
    /// Its events (drained by the waits below).
    pub events: Receiver<Event>,
    /// Where it listens.
    pub endpoint: Endpoint,
    /// Its AS.
    pub asn: u32,
}

impl Ours {
    /// Starts a speaker listening on a fresh endpoint. The port is probed before the speaker
    /// binds it, so another process can take it in between: then a new endpoint is tried.
    pub async fn start(asn: u32) -> Ours {
        Ours::start_with(asn, Endpoint::allocate, |_| {}).await
    }

    /// Like [`Ours::start`] but listening on `[::1]`, for sessions over IPv6.
    pub async fn start_ipv6(asn: u32) -> Ours {
        Ours::start_with(asn, Endpoint::allocate_ipv6, |_| {}).await
    }

    /// Like [`Ours::start`] with the speaker's settings changed by `tune` first.
    pub async fn start_tuned(asn: u32, tune: fn(&mut SpeakerConfig)) -> Ours {
        Ours::start_with(asn, Endpoint::allocate, tune).await
    }

    async fn start_with(
        asn: u32,
        allocate: fn() -> super::Result<Endpoint>,
        tune: fn(&mut SpeakerConfig),
    ) -> Ours {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let endpoint = allocate().unwrap_or_else(|e| panic!("allocate an endpoint: {e}"));
            let mut config = SpeakerConfig {
                local_as: asn,
                router_id: endpoint.address.addr(),
                listen: vec![SocketAddr::new(endpoint.ip(), endpoint.port)],
                ..SpeakerConfig::default()
            };
            tune(&mut config);
            match Speaker::start(config).await {
                Ok((speaker, events)) => {
                    return Ours {
                        speaker,
                        events,
                        endpoint,
                        asn,
                    };
                }
                Err(bgp::SpeakerError::Listen { address, source })
                    if attempts < 3 && source.kind() == std::io::ErrorKind::AddrInUse =>
                {
                    eprintln!("cannot listen on {address} ({source}); trying another endpoint");
                }
                Err(e) => panic!("start the speaker: {e}"),
            }
        }
    }

    /// Our address.
    pub fn ip(&self) -> IpAddr {
        self.endpoint.ip()
    }

    /// A peer configuration for `daemon`: its address and port, our address as source,
    /// hold time 3 s, connection retries every 300 ms.
    pub fn peer_config(&self, daemon: &dyn Daemon, remote_as: u32) -> PeerConfig {
        let mut config = PeerConfig::new(daemon.peer_ip(), RemoteAs::Asn(remote_as));
        config.port = daemon.port();
        config.local_address = Some(self.ip());
        config.hold_time = 3;
        config.connect_retry = Duration::from_millis(300);
        config.families = vec![Family::Ipv4Unicast, Family::Ipv6Unicast];
        config
    }

    /// A peer configuration for another of our speakers: its address and port, our address
    /// as source, hold time 6 s, connection retries every 300 ms, both families.
    pub fn peer_for(&self, other: &Ours) -> PeerConfig {
        let mut config = PeerConfig::new(other.ip(), RemoteAs::Asn(other.asn));
        config.port = other.endpoint.port;
        config.local_address = Some(self.ip());
        config.hold_time = 6;
        config.connect_retry = Duration::from_millis(300);
        config
    }

    /// The speaker's view of one peer, if it has that peer.
    pub async fn find_peer(&self, peer: IpAddr) -> Option<bgp::PeerSummary> {
        let peers = self
            .speaker
            .peers()
            .await
            .unwrap_or_else(|e| panic!("query peers: {e}"));
        peers.into_iter().find(|p| p.config.address == peer)
    }

    /// The speaker's view of one peer; panics when it has no such peer.
    pub async fn summary(&self, peer: IpAddr) -> bgp::PeerSummary {
        self.find_peer(peer)
            .await
            .unwrap_or_else(|| panic!("no peer {peer}"))
    }

    /// Adds the peer.
    pub async fn add_peer(&self, config: PeerConfig) {
        let address = config.address;
        self.speaker
            .add_peer(config)
            .await
            .unwrap_or_else(|e| panic!("add peer {address}: {e}"));
    }

    /// Waits up to `timeout` for an event matching `pred` and returns it.
    pub async fn wait_event(
        &mut self,
        timeout: Duration,
        what: &str,
        pred: impl FnMut(&Event) -> bool,
    ) -> Event {
        next_event(&mut self.events, timeout, what, pred).await
    }

    /// Waits for the session with `peer` to come up.
    pub async fn wait_up(&mut self, peer: IpAddr, timeout: Duration) {
        self.wait_event(
            timeout,
            &format!("PeerUp from {peer}"),
            |e| matches!(e, Event::PeerUp { peer: p, .. } if *p == peer),
        )
        .await;
    }

    /// Waits for the session with `peer` to go down and returns why.
    pub async fn wait_down(&mut self, peer: IpAddr, timeout: Duration) -> DownReason {
        match self
            .wait_event(
                timeout,
                &format!("PeerDown from {peer}"),
                |e| matches!(e, Event::PeerDown { peer: p, .. } if *p == peer),
            )
            .await
        {
            Event::PeerDown { reason, .. } => reason,
            other => panic!("expected PeerDown, got {other:?}"),
        }
    }

    /// The session state of `peer` as our speaker reports it.
    pub async fn state(&self, peer: IpAddr) -> Option<SessionState> {
        self.find_peer(peer).await.map(|p| p.status.state)
    }

    /// Our view of the route for `prefix` learned from a peer (not our own), if any.
    pub async fn learned(&self, prefix: IpNet) -> Option<SeenRoute> {
        let view = self
            .speaker
            .route(prefix)
            .await
            .unwrap_or_else(|e| panic!("query route {prefix}: {e}"))?;
        let path = view.paths.iter().find(|p| p.peer != bgp::PeerId::LOCAL)?;
        let attrs = &path.attrs.attrs();
        let mut seen = SeenRoute::empty(prefix);
        seen.as_path = attrs
            .as_path
            .segments
            .iter()
            .flat_map(|s| s.asns.iter().copied())
            .collect();
        seen.next_hop = Some(path.attrs.next_hop);
        seen.med = attrs.med;
        seen.local_pref = attrs.local_pref;
        seen.communities = attrs
            .communities
            .iter()
            .map(|c| ((c.0 >> 16) as u16, (c.0 & 0xffff) as u16))
            .collect();
        seen.large_communities = attrs
            .large_communities
            .iter()
            .map(|c| (c.global, c.local1, c.local2))
            .collect();
        Some(seen.normalize())
    }

    /// Polls our Loc-RIB until a learned route for `prefix` is there.
    pub async fn wait_learned(&self, prefix: IpNet, timeout: Duration) -> SeenRoute {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(route) = self.learned(prefix).await {
                return route;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!("timed out after {timeout:?} waiting to learn {prefix}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls our Loc-RIB until no learned route for `prefix` is left.
    pub async fn wait_unlearned(&self, prefix: IpNet, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let Some(route) = self.learned(prefix).await else {
                return;
            };
            if tokio::time::Instant::now() >= deadline {
                panic!("timed out after {timeout:?} waiting for the withdrawal of {route:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Originates `route` (built with the harness's [`Route`] so tests describe both sides
    /// alike). It must not prepend (the sessions add our AS on eBGP) nor carry extended
    /// communities, which [`OriginAttributes`] does not have.
    pub async fn announce(&self, route: &Route) {
        assert!(
            route.as_path_prepend.is_empty() && route.ext_communities.is_empty(),
            "an originator sets no AS_PATH and (for now) no extended community: {route:?}"
        );
        let mut local = LocalRoute::new(route.prefix);
        local.attributes = OriginAttributes {
            med: route.med,
            local_pref: route.local_pref,
            communities: route
                .communities
                .iter()
                .map(|(a, v)| Community::new(*a, *v).0)
                .collect(),
            large_communities: route.large_communities.iter().copied().collect(),
            ..OriginAttributes::default()
        };
        local.next_hop = route.next_hop;
        self.speaker
            .announce(local)
            .await
            .unwrap_or_else(|e| panic!("announce {}: {e}", route.prefix));
    }

    /// Stops originating `prefix`.
    pub async fn withdraw(&self, prefix: IpNet) {
        self.speaker
            .withdraw(prefix)
            .await
            .unwrap_or_else(|e| panic!("withdraw {prefix}: {e}"));
    }
}

/// Asserts that a session is Established, is the peer's first, and that no NOTIFICATION
/// went either way on it: nothing a test did reset it.
pub fn assert_first_session(status: &bgp::PeerStatus) {
    assert_eq!(status.state, SessionState::Established, "{status:?}");
    assert_eq!(
        (status.established_count, status.dropped_count),
        (1, 0),
        "{status:?}"
    );
    assert_eq!(
        (status.sent.notifications, status.received.notifications),
        (0, 0),
        "{status:?}"
    );
}

/// Waits up to `timeout` for an event of a speaker's stream matching `pred` and returns it;
/// panics with the events seen meanwhile when none comes.
pub async fn next_event(
    events: &mut tokio::sync::mpsc::Receiver<Event>,
    timeout: Duration,
    what: &str,
    mut pred: impl FnMut(&Event) -> bool,
) -> Event {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(event)) if pred(&event) => return event,
            Ok(Some(event)) => seen.push(format!("{event:?}")),
            Ok(None) => panic!("the event stream ended while waiting for {what}"),
            Err(_) => panic!(
                "timed out after {timeout:?} waiting for {what}; events seen:\n  {}",
                seen.join("\n  ")
            ),
        }
    }
}
