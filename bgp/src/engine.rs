//! The engine: the task that is the single owner of the RIB, the peer table and the locally
//! originated routes. Session tasks, listeners and [`crate::Speaker`] handles talk to it through channels,
//! so no lock guards any routing state.
//!
//! For every UPDATE it applies the routes to the RIB, and for every Loc-RIB change it
//! computes what each Established peer must hear ([`crate::export`]) and sends it encoded.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ipnet::{IpNet, Ipv4Net};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::config::{ListenRange, PeerConfig, SpeakerConfig};
use crate::event_queue::{EventQueue, EventStats, QueueLimits};
use crate::export::{self, Source, Target};
use crate::fsm::{FsmConfig, Negotiated, SessionState};
use crate::md5::set_md5_key;
use crate::packet::notification::cease;
use crate::packet::semantic::check_prefix;
use crate::packet::{
    EncodeOptions, Family, encode_announce_ipv4, encode_announce_mp, encode_withdraw,
};
use crate::rib::{
    BestChange, DecisionConfig, PathView, PeerId, PeerInfo, Rib, RibError, RouteAttributes,
};
use crate::session::peer::{FromPeer, PeerHandle, ToPeer, spawn_peer};
use crate::speaker::{Event, LocalRoute, PeerSummary, Request, SpeakerError};

/// A prefix with all its paths in FRR's display order (most recently received first), as
/// queries return it.
#[derive(Debug, Clone)]
pub struct RouteView {
    /// The prefix.
    pub prefix: IpNet,
    /// Its paths, newest first; [`PathView::best`] marks the selected one.
    pub paths: Vec<RoutePath>,
}

/// The speaker as a whole, for the headers of `show ip bgp` and `summary`.
#[derive(Debug, Clone)]
pub struct InstanceView {
    /// Our AS.
    pub local_as: u32,
    /// Our BGP identifier.
    pub router_id: std::net::Ipv4Addr,
    /// Loc-RIB changes so far (FRR's table version).
    pub table_version: u64,
    /// Sizes of the RIB.
    pub rib: crate::rib::RibStats,
    /// Peers configured or dynamic.
    pub peers: usize,
    /// What the event stream holds for its consumer and what it dropped.
    pub events: EventStats,
}

/// One path of a [`RouteView`] with the peer it came from.
#[derive(Debug, Clone)]
pub struct RoutePath {
    /// The path as the RIB holds it.
    pub path: PathView,
    /// The peer that sent it; `None` for locally originated routes.
    pub from: Option<PeerInfo>,
}

impl std::ops::Deref for RoutePath {
    type Target = PathView;

    fn deref(&self) -> &PathView {
        &self.path
    }
}

/// Prefixes that share one attribute set in the Loc-RIB, with what that set becomes on the
/// way to one peer (`None`: it must not be sent there).
type ExportGroup = (Option<(crate::packet::PathAttributes, IpAddr)>, Vec<IpNet>);

/// A configured (or dynamic) peer and its current session.
struct PeerEntry {
    config: PeerConfig,
    handle: PeerHandle,
    dynamic: bool,
    session: Option<Session>,
    /// Connections from the peer handed to its task.
    inbound_handed: u64,
}

impl PeerEntry {
    /// Whether the task has no connection and none is on its way to it: only then may a
    /// dynamic peer whose session ended be forgotten without dropping the peer's reconnection.
    fn without_connection(&self) -> bool {
        self.handle.status.lock().is_ok_and(|s| {
            s.inbound_handled == self.inbound_handed
                && matches!(
                    s.state,
                    SessionState::Idle | SessionState::Connect | SessionState::Active
                )
        })
    }
}

/// An Established session, as the core sees it.
struct Session {
    generation: u64,
    rib_id: PeerId,
    negotiated: Negotiated,
    target: Target,
    /// The Adj-RIB-Out, reduced to what it must answer: which prefixes the peer has from
    /// us, so a withdrawal is only sent for what was announced.
    advertised: hashbrown::HashSet<IpNet>,
}

struct Core {
    config: SpeakerConfig,
    rib: Rib,
    peers: HashMap<IpAddr, PeerEntry>,
    ranges: Vec<ListenRange>,
    local_routes: HashMap<IpNet, LocalRoute>,
    listeners: Vec<Arc<TcpListener>>,
    /// The accept loops; ended at shutdown so the listening sockets close with the speaker.
    accepting: Vec<JoinHandle<()>>,
    /// The event stream; never waits for its consumer.
    events: EventQueue,
    from_peers: mpsc::Sender<FromPeer>,
    changes: Vec<BestChange>,
    /// Bumped for every Loc-RIB change (FRR's "BGP table version").
    table_version: u64,
    /// RIB sizes as last measured (a walk of the whole table), reused for a second so a
    /// polled `show ip bgp summary` does not walk a full table between UPDATEs.
    stats: Option<(Instant, crate::rib::RibStats)>,
}

/// Binds the listeners and spawns the core task; returns the event stream.
pub(crate) async fn spawn(
    config: SpeakerConfig,
    requests: mpsc::Receiver<Request>,
) -> Result<mpsc::Receiver<Event>, SpeakerError> {
    let (events_tx, events_rx) = mpsc::channel(config.event_capacity.max(1));
    let events = EventQueue::new(
        events_tx,
        QueueLimits {
            max_queued: config.event_capacity,
            max_held_changes: config.max_pending_changes,
        },
    );
    let (from_peers_tx, from_peers_rx) = mpsc::channel(1024);
    let (inbound_tx, inbound_rx) = mpsc::channel(64);
    let mut listeners = Vec::new();
    let mut accepting = Vec::new();
    for address in &config.listen {
        let listener = match bind(*address) {
            Ok(listener) => Arc::new(listener),
            Err(source) => {
                accepting.iter().for_each(JoinHandle::abort);
                return Err(SpeakerError::Listen {
                    address: *address,
                    source,
                });
            }
        };
        accepting.push(tokio::spawn(accept_loop(
            Arc::clone(&listener),
            inbound_tx.clone(),
        )));
        listeners.push(listener);
    }
    let rib = Rib::new(decision_config(&config));
    let mut core = Core {
        rib,
        peers: HashMap::new(),
        ranges: Vec::new(),
        local_routes: HashMap::new(),
        listeners,
        accepting,
        events,
        from_peers: from_peers_tx,
        changes: Vec::new(),
        table_version: 0,
        stats: None,
        config,
    };
    core.refresh_own_addresses();
    tokio::spawn(core.run(requests, from_peers_rx, inbound_rx));
    Ok(events_rx)
}

/// The decision settings of the RIB for a speaker configuration.
fn decision_config(config: &SpeakerConfig) -> DecisionConfig {
    DecisionConfig {
        max_paths_ebgp: config.max_paths_ebgp,
        max_paths_ibgp: config.max_paths_ibgp,
        ..DecisionConfig::new(config.router_id, config.local_as)
    }
}

/// The last change of each prefix, in order: a batch may change a prefix twice (withdrawn
/// and announced in one UPDATE), and only its final selection may be advertised.
fn latest_per_prefix(changes: &[BestChange]) -> std::borrow::Cow<'_, [BestChange]> {
    let mut seen = hashbrown::HashSet::with_capacity(changes.len());
    let mut duplicated = false;
    for change in changes.iter().rev() {
        duplicated |= !seen.insert(change.prefix);
    }
    if !duplicated {
        return std::borrow::Cow::Borrowed(changes);
    }
    seen.clear();
    let mut latest: Vec<BestChange> = changes
        .iter()
        .rev()
        .filter(|c| seen.insert(c.prefix))
        .cloned()
        .collect();
    latest.reverse();
    std::borrow::Cow::Owned(latest)
}

/// Logs what the RIB refused (loops, unusable next hops) or could not do; the session goes
/// on.
fn log_rib_error(peer: IpAddr, result: Result<(), RibError>) {
    if let Err(err) = result {
        warn!(%peer, %err, "routes not accepted");
    }
}

/// Whether an announced prefix is a unicast destination; the others are ignored and logged
/// (RFC 4271 §6.3), the rest of the UPDATE stands.
fn unicast_destination(peer: IpAddr, prefix: IpNet) -> bool {
    match check_prefix(prefix) {
        Ok(()) => true,
        Err(err) => {
            warn!(%peer, %err, "prefix ignored (RFC 4271 §6.3)");
            false
        }
    }
}

fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match address {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(128)
}

async fn accept_loop(listener: Arc<TcpListener>, inbound: mpsc::Sender<(TcpStream, SocketAddr)>) {
    loop {
        match listener.accept().await {
            Ok((stream, remote)) => {
                if inbound.send((stream, remote)).await.is_err() {
                    return;
                }
            }
            Err(err) => {
                warn!(%err, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// IPv4 peers reach IPv6 listeners as v4-mapped addresses; they are the same peer.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

impl Core {
    async fn run(
        mut self,
        mut requests: mpsc::Receiver<Request>,
        mut from_peers: mpsc::Receiver<FromPeer>,
        mut inbound: mpsc::Receiver<(TcpStream, SocketAddr)>,
    ) {
        loop {
            tokio::select! {
                request = requests.recv() => match request {
                    Some(Request::Shutdown(reply)) => {
                        self.shutdown().await;
                        let _ = reply.send(());
                        return;
                    }
                    Some(request) => self.request(request).await,
                    None => {
                        self.shutdown().await;
                        return;
                    }
                },
                Some(message) = from_peers.recv() => self.on_peer_message(message).await,
                Some((stream, remote)) = inbound.recv() => self.inbound(stream, remote),
                () = self.events.writable(), if self.events.has_backlog() => {
                    self.events.flush(|prefix| self.rib.best(prefix));
                }
            }
        }
    }

    async fn request(&mut self, request: Request) {
        match request {
            Request::AddPeer(config, reply) => {
                let _ = reply.send(self.add_peer(config, false));
            }
            Request::RemovePeer(address, reply) => {
                let _ = reply.send(self.remove_peer(address).await);
            }
            Request::SetShutdown(address, shutdown, reply) => {
                let result = match self.peers.get_mut(&address) {
                    Some(entry) => {
                        entry.config.shutdown = shutdown;
                        let command = if shutdown {
                            ToPeer::Stop {
                                subcode: cease::ADMIN_SHUTDOWN,
                            }
                        } else {
                            ToPeer::Start
                        };
                        let _ = entry.handle.tx.send(command);
                        Ok(())
                    }
                    None => Err(SpeakerError::NoSuchPeer(address)),
                };
                let _ = reply.send(result);
            }
            Request::Reset(address, reply) => {
                let result = match address {
                    Some(address) => match self.peers.get(&address) {
                        Some(entry) => {
                            let _ = entry.handle.tx.send(ToPeer::Reset {
                                subcode: cease::ADMIN_RESET,
                            });
                            Ok(())
                        }
                        None => Err(SpeakerError::NoSuchPeer(address)),
                    },
                    None => {
                        for entry in self.peers.values() {
                            let _ = entry.handle.tx.send(ToPeer::Reset {
                                subcode: cease::ADMIN_RESET,
                            });
                        }
                        Ok(())
                    }
                };
                let _ = reply.send(result);
            }
            Request::AddListenRange(range, reply) => {
                self.ranges.retain(|r| r.range != range.range);
                self.ranges.push(range);
                let _ = reply.send(Ok(()));
            }
            Request::RemoveListenRange(range, reply) => {
                self.ranges.retain(|r| r.range != range);
                let _ = reply.send(Ok(()));
            }
            Request::Announce(route, reply) => {
                let _ = reply.send(self.announce_local(route).await);
            }
            Request::Withdraw(prefix, reply) => {
                self.withdraw_local(prefix).await;
                let _ = reply.send(Ok(()));
            }
            Request::SetMaxPaths { ebgp, ibgp } => {
                self.config.max_paths_ebgp = ebgp;
                self.config.max_paths_ibgp = ibgp;
                self.rib
                    .set_config(decision_config(&self.config), &mut self.changes);
                self.publish_changes();
            }
            Request::Peers(reply) => {
                let _ = reply.send(self.peer_summaries());
            }
            Request::Routes(family, reply) => {
                let _ = reply.send(self.route_views(family));
            }
            Request::Instance(reply) => {
                let _ = reply.send(InstanceView {
                    local_as: self.config.local_as,
                    router_id: self.config.router_id,
                    table_version: self.table_version,
                    rib: self.rib_stats(),
                    peers: self.peers.len(),
                    events: self.events.stats(),
                });
            }
            Request::Route(prefix, reply) => {
                let _ = reply.send(self.route_view(prefix));
            }
            Request::Selected(family, reply) => {
                let _ = reply.send(self.rib.selected(family).collect());
            }
            Request::Shutdown(_) => {}
        }
    }

    fn fsm_config(&self, config: &PeerConfig) -> FsmConfig {
        FsmConfig {
            local_as: config.local_as.unwrap_or(self.config.local_as),
            router_id: self.config.router_id,
            remote_as: config.remote_as,
            hold_time: config.hold_time,
            keepalive: config.keepalive,
            connect_retry: config.connect_retry,
            idle_hold: config.idle_hold,
            passive: config.passive,
            families: config.families.clone(),
        }
    }

    fn add_peer(&mut self, config: PeerConfig, dynamic: bool) -> Result<(), SpeakerError> {
        let address = canonical(config.address);
        if self.peers.contains_key(&address) {
            return Err(SpeakerError::PeerExists(address));
        }
        if let Some(password) = &config.password {
            for listener in &self.listeners {
                set_md5_key(listener.as_ref(), address, password.as_bytes())?;
            }
        }
        let handle = spawn_peer(
            config.clone(),
            self.fsm_config(&config),
            self.from_peers.clone(),
        );
        info!(peer = %address, remote_as = %config.remote_as, dynamic, "peer added");
        self.peers.insert(
            address,
            PeerEntry {
                config,
                handle,
                dynamic,
                session: None,
                inbound_handed: 0,
            },
        );
        Ok(())
    }

    async fn remove_peer(&mut self, address: IpAddr) -> Result<(), SpeakerError> {
        let Some(mut entry) = self.peers.remove(&address) else {
            return Err(SpeakerError::NoSuchPeer(address));
        };
        // Dropping the command channel makes the task send Cease/3 and stop.
        let PeerEntry {
            handle,
            config,
            session,
            ..
        } = &mut entry;
        let _ = handle.tx.send(ToPeer::Stop {
            subcode: cease::PEER_DECONFIGURED,
        });
        if let Some(session) = session.take() {
            self.session_ended(session).await;
        }
        if config.password.is_some() {
            for listener in &self.listeners {
                let _ = set_md5_key(listener.as_ref(), address, b"");
            }
        }
        info!(peer = %address, "peer removed");
        Ok(())
    }

    /// A connection arrived on a listener: hand it to its peer, create a dynamic peer for a
    /// listen range, or drop it.
    fn inbound(&mut self, stream: TcpStream, remote: SocketAddr) {
        let address = canonical(remote.ip());
        if !self.peers.contains_key(&address) {
            let Some(range) = self.ranges.iter().find(|r| r.range.contains(&address)) else {
                debug!(%remote, "connection from an address that is not a peer; closed");
                return;
            };
            let mut config = range.template.clone();
            config.address = address;
            config.passive = true;
            if let Err(err) = self.add_peer(config, true) {
                warn!(%remote, %err, "cannot create dynamic peer");
                return;
            }
        }
        if let Some(entry) = self.peers.get_mut(&address) {
            entry.inbound_handed += 1;
            let _ = entry.handle.tx.send(ToPeer::Inbound(stream));
        }
    }

    async fn on_peer_message(&mut self, message: FromPeer) {
        match message {
            FromPeer::State { peer, from, to } => {
                self.emit(Event::StateChanged { peer, from, to });
            }
            FromPeer::Up {
                peer,
                generation,
                negotiated,
                local,
            } => {
                self.session_up(peer, generation, negotiated, local).await;
            }
            FromPeer::Down {
                peer,
                generation,
                reason,
            } => {
                let Some(entry) = self.peers.get_mut(&peer) else {
                    return;
                };
                if entry
                    .session
                    .as_ref()
                    .is_some_and(|s| s.generation == generation)
                {
                    if let Some(session) = entry.session.take() {
                        self.session_ended(session).await;
                    }
                }
                self.emit(Event::PeerDown { peer, reason });
                let dynamic = self
                    .peers
                    .get(&peer)
                    .is_some_and(|e| e.dynamic && e.without_connection());
                if dynamic {
                    // FRR forgets dynamic neighbors when their session ends; a reconnection
                    // already handed to the task keeps it (it goes on as the same peer).
                    if let Some(entry) = self.peers.remove(&peer) {
                        entry.handle.task.abort();
                    }
                }
            }
            FromPeer::Update {
                peer,
                generation,
                update,
            } => {
                self.update_from(peer, generation, update).await;
            }
            FromPeer::RouteRefresh {
                peer,
                generation,
                afi_safi,
            } => {
                let current = self
                    .peers
                    .get(&peer)
                    .and_then(|e| e.session.as_ref())
                    .is_some_and(|s| s.generation == generation);
                if current {
                    if let Some(family) = afi_safi.family() {
                        self.send_full_table(peer, Some(family));
                    }
                }
            }
        }
    }

    async fn session_up(
        &mut self,
        peer: IpAddr,
        generation: u64,
        negotiated: Negotiated,
        local: SocketAddr,
    ) {
        let local_as = self
            .peers
            .get(&peer)
            .and_then(|e| e.config.local_as)
            .unwrap_or(self.config.local_as);
        let weight = self.peers.get(&peer).map_or(0, |e| e.config.weight);
        let Some(entry) = self.peers.get_mut(&peer) else {
            return;
        };
        let ibgp = negotiated.peer_as == local_as;
        let rib_id = match self.rib.add_peer(PeerInfo {
            address: peer,
            router_id: negotiated.peer_id,
            remote_as: negotiated.peer_as,
            local_as,
            weight: u32::from(weight),
        }) {
            Ok(id) => id,
            Err(err) => {
                warn!(%peer, %err, "cannot add the peer to the RIB; resetting the session");
                let _ = entry.handle.tx.send(ToPeer::Reset {
                    subcode: cease::OUT_OF_RESOURCES,
                });
                return;
            }
        };
        let peer_as = negotiated.peer_as;
        entry.session = Some(Session {
            generation,
            rib_id,
            negotiated,
            target: Target {
                address: peer,
                ibgp,
                local_as,
                local_address: canonical(local.ip()),
            },
            advertised: hashbrown::HashSet::new(),
        });
        self.refresh_own_addresses();
        self.emit(Event::PeerUp { peer, peer_as });
        self.send_full_table(peer, None);
    }

    /// Forgets what a session brought: its routes leave the RIB, and the changes propagate.
    async fn session_ended(&mut self, session: Session) {
        if let Err(err) = self.rib.remove_peer(session.rib_id, &mut self.changes) {
            warn!(%err, "removing a peer from the RIB");
        }
        self.refresh_own_addresses();
        self.publish_changes();
    }

    /// Tells the RIB which addresses are ours, so that no route is taken whose next hop is
    /// one of them (RFC 4271 §6.3 a): the configured ones, the listeners', and our end of
    /// every Established session.
    fn refresh_own_addresses(&mut self) {
        let listening = self.config.listen.iter().map(|a| canonical(a.ip()));
        let sessions = self
            .peers
            .values()
            .filter_map(|e| e.session.as_ref())
            .map(|s| s.target.local_address);
        let own = self
            .config
            .local_addresses
            .iter()
            .map(|a| canonical(*a))
            .chain(listening)
            .chain(sessions)
            .filter(|a| !a.is_unspecified());
        self.rib.set_own_addresses(own);
    }

    async fn update_from(
        &mut self,
        peer: IpAddr,
        generation: u64,
        mut update: crate::packet::Update,
    ) {
        let Some(entry) = self.peers.get(&peer) else {
            return;
        };
        let Some(session) = entry
            .session
            .as_ref()
            .filter(|s| s.generation == generation)
        else {
            return;
        };
        let rib_id = session.rib_id;
        let families = session.negotiated.families.clone();
        let max_prefix = entry.config.max_prefix;
        update
            .nlri
            .retain(|p| unicast_destination(peer, IpNet::V4(*p)));
        if let Some(reach) = &mut update.mp_reach {
            reach.nlri.retain(|p| unicast_destination(peer, *p));
        }
        let mut withdrawn = update.withdrawn.len();
        let mut announced = 0;
        if !update.withdrawn.is_empty() {
            log_rib_error(
                peer,
                self.rib
                    .withdraw(rib_id, &update.withdrawn, &mut self.changes),
            );
        }
        if let Some(unreach) = &update.mp_unreach {
            if unreach
                .afi_safi
                .family()
                .is_some_and(|f| families.contains(&f))
            {
                withdrawn += unreach.withdrawn.len();
                log_rib_error(
                    peer,
                    self.rib
                        .withdraw(rib_id, &unreach.withdrawn, &mut self.changes),
                );
            }
        }
        if let Some(attrs) = &update.attributes {
            if !update.nlri.is_empty() && families.contains(&Family::Ipv4Unicast) {
                if let Some(next_hop) = attrs.next_hop {
                    let shared = self.rib.intern(RouteAttributes {
                        attrs: attrs.clone(),
                        next_hop: IpAddr::V4(next_hop),
                    });
                    announced += update.nlri.len();
                    log_rib_error(
                        peer,
                        self.rib
                            .announce(rib_id, &update.nlri, &shared, &mut self.changes),
                    );
                }
            }
            if let Some(reach) = &update.mp_reach {
                let family_ok = reach
                    .afi_safi
                    .family()
                    .is_some_and(|f| families.contains(&f));
                if let (true, Some(next_hop)) = (family_ok, reach.next_hops.first()) {
                    let mut route_attrs = attrs.clone();
                    route_attrs.next_hop = None;
                    let shared = self.rib.intern(RouteAttributes {
                        attrs: route_attrs,
                        next_hop: *next_hop,
                    });
                    announced += reach.nlri.len();
                    log_rib_error(
                        peer,
                        self.rib
                            .announce(rib_id, &reach.nlri, &shared, &mut self.changes),
                    );
                }
            }
        }
        let received: usize = Family::ALL
            .iter()
            .map(|f| self.rib.received_count(rib_id, *f))
            .sum();
        if let Some(entry) = self.peers.get(&peer) {
            if let Ok(mut status) = entry.handle.status.lock() {
                status.prefixes_received = received as u64;
            }
            if let Some(limit) = max_prefix {
                if received > limit as usize {
                    warn!(%peer, received, limit, "maximum-prefix exceeded; closing the session (Cease/1)");
                    let _ = entry.handle.tx.send(ToPeer::Halt {
                        subcode: cease::MAX_PREFIXES,
                    });
                }
            }
        }
        if announced + withdrawn > 0 {
            self.emit(Event::RoutesReceived {
                peer,
                announced,
                withdrawn,
            });
        }
        self.publish_changes();
    }

    async fn announce_local(&mut self, route: LocalRoute) -> Result<(), SpeakerError> {
        let ipv6 = matches!(route.prefix, IpNet::V6(_));
        if let Some(nh) = route.next_hop {
            if nh.is_ipv6() != ipv6 {
                return Err(SpeakerError::InvalidRoute {
                    prefix: route.prefix,
                    reason: "next hop and prefix are of different address families",
                });
            }
        }
        let prefix = route.prefix.trunc();
        let mut attrs = route.attrs.clone();
        attrs.next_hop = None;
        let next_hop = route.next_hop.unwrap_or_else(|| export::unspecified(ipv6));
        let shared = self.rib.intern(RouteAttributes { attrs, next_hop });
        let result = self
            .rib
            .announce(PeerId::LOCAL, &[prefix], &shared, &mut self.changes);
        if let Err(err) = result {
            warn!(%prefix, %err, "cannot originate route");
            return Ok(());
        }
        let replaced = self
            .local_routes
            .insert(prefix, LocalRoute { prefix, ..route });
        // A change of only the peer list does not change the Loc-RIB: re-advertise anyway.
        if replaced.is_some() && self.changes.is_empty() {
            let current = BestChange {
                prefix,
                best: self.rib.best(prefix),
            };
            self.advertise(&[current]);
        }
        self.publish_changes();
        Ok(())
    }

    async fn withdraw_local(&mut self, prefix: IpNet) {
        let prefix = prefix.trunc();
        if self.local_routes.remove(&prefix).is_none() {
            return;
        }
        if let Err(err) = self
            .rib
            .withdraw(PeerId::LOCAL, &[prefix], &mut self.changes)
        {
            warn!(%prefix, %err, "cannot withdraw local route");
        }
        self.publish_changes();
    }

    /// Sends the pending Loc-RIB changes to the peers and to the event stream.
    fn publish_changes(&mut self) {
        if self.changes.is_empty() {
            return;
        }
        let changes = std::mem::take(&mut self.changes);
        self.table_version += changes.len() as u64;
        self.advertise(&changes);
        self.events.changes(changes);
    }

    /// Advertises the current best path (or a withdrawal) of each prefix to every
    /// Established peer.
    fn advertise(&mut self, changes: &[BestChange]) {
        if self.peers.values().all(|p| p.session.is_none()) {
            return;
        }
        let changes = latest_per_prefix(changes);
        let peers: Vec<IpAddr> = self.peers.keys().copied().collect();
        for address in peers {
            self.advertise_to(address, &changes, None);
        }
    }

    /// Sends a peer everything it should have (session start, ROUTE-REFRESH).
    fn send_full_table(&mut self, peer: IpAddr, family: Option<Family>) {
        let families: Vec<Family> = match family {
            Some(f) => vec![f],
            None => Family::ALL.to_vec(),
        };
        for f in families {
            let table: Vec<BestChange> = self.rib.selected(f).collect();
            self.advertise_to(peer, &table, Some(f));
            if let Some(session) = self.peers.get(&peer).and_then(|e| e.session.as_ref()) {
                if session.negotiated.families.contains(&f) {
                    let mut out = BytesMut::new();
                    crate::packet::encode_end_of_rib(f, &mut out);
                    self.send(peer, out, 1, 0);
                }
            }
        }
    }

    /// Encodes and sends what `peer` must hear about the new selections in `changes`: an
    /// announcement of each exportable best path, grouped by attributes, and a withdrawal of
    /// what it had from us and must no longer have.
    fn advertise_to(&mut self, peer: IpAddr, changes: &[BestChange], only: Option<Family>) {
        let Some(entry) = self.peers.get_mut(&peer) else {
            return;
        };
        let Some(session) = entry.session.as_mut() else {
            return;
        };
        // A speaker that originates nothing and re-advertises nothing has nothing to say.
        if !self.config.readvertise && self.local_routes.is_empty() && session.advertised.is_empty()
        {
            return;
        }
        let mut delta: i64 = 0;
        let families = &session.negotiated.families;
        let mut groups: HashMap<*const crate::rib::SharedAttributes, ExportGroup> = HashMap::new();
        let mut withdrawals: Vec<IpNet> = Vec::new();
        for change in changes {
            let prefix = change.prefix;
            let family = match prefix {
                IpNet::V4(_) => Family::Ipv4Unicast,
                IpNet::V6(_) => Family::Ipv6Unicast,
            };
            if !families.contains(&family) || only.is_some_and(|f| f != family) {
                continue;
            }
            let exported = change.best.as_ref().and_then(|best| {
                let source = if best.peer == PeerId::LOCAL {
                    let local = self.local_routes.get(&prefix);
                    if local.is_some_and(|l| l.peers.as_ref().is_some_and(|p| !p.contains(&peer))) {
                        return None;
                    }
                    Source::Local
                } else {
                    if !self.config.readvertise {
                        return None;
                    }
                    let info = self.rib.peer_info(best.peer)?;
                    Source::Peer {
                        address: info.address,
                        ibgp: info.is_ibgp(),
                    }
                };
                Some((Arc::as_ptr(&best.attrs), source, Arc::clone(&best.attrs)))
            });
            match exported {
                Some((key, source, attrs)) => {
                    let group = groups.entry(key).or_insert_with(|| {
                        let next_hop = (!attrs.next_hop.is_unspecified()).then_some(attrs.next_hop);
                        (
                            export::export(&attrs.attrs(), next_hop, source, &session.target),
                            Vec::new(),
                        )
                    });
                    if group.0.is_some() {
                        group.1.push(prefix);
                        if session.advertised.insert(prefix) {
                            delta += 1;
                        }
                    } else if session.advertised.remove(&prefix) {
                        withdrawals.push(prefix);
                        delta -= 1;
                    }
                }
                None => {
                    if session.advertised.remove(&prefix) {
                        withdrawals.push(prefix);
                        delta -= 1;
                    }
                }
            }
        }
        let options = EncodeOptions {
            four_octet_as: session.negotiated.four_octet_as,
        };
        let mut out = BytesMut::new();
        let mut messages = 0usize;
        for (exported, prefixes) in groups.into_values() {
            let Some((mut attrs, next_hop)) = exported else {
                continue;
            };
            let (v4, v6): (Vec<IpNet>, Vec<IpNet>) = prefixes
                .into_iter()
                .partition(|p| matches!(p, IpNet::V4(_)));
            if !v4.is_empty() {
                let v4: Vec<Ipv4Net> = v4
                    .iter()
                    .filter_map(|p| match p {
                        IpNet::V4(n) => Some(*n),
                        IpNet::V6(_) => None,
                    })
                    .collect();
                attrs.next_hop = match export::next_hop_for_family(next_hop, false) {
                    IpAddr::V4(nh) => Some(nh),
                    IpAddr::V6(_) => None,
                };
                match encode_announce_ipv4(&attrs, &v4, &options, &mut out) {
                    Ok(n) => messages += n,
                    Err(err) => warn!(%peer, %err, "cannot encode UPDATE"),
                }
            }
            if !v6.is_empty() {
                attrs.next_hop = None;
                let nh = match (next_hop, entry.config.ipv6_next_hop) {
                    (IpAddr::V4(_), Some(global)) if next_hop == session.target.local_address => {
                        IpAddr::V6(global)
                    }
                    _ => export::next_hop_for_family(next_hop, true),
                };
                match encode_announce_mp(
                    &attrs,
                    Family::Ipv6Unicast.afi_safi(),
                    &[nh],
                    &v6,
                    &options,
                    &mut out,
                ) {
                    Ok(n) => messages += n,
                    Err(err) => warn!(%peer, %err, "cannot encode UPDATE"),
                }
            }
        }
        if !withdrawals.is_empty() {
            match encode_withdraw(&withdrawals, &options, &mut out) {
                Ok(n) => messages += n,
                Err(err) => warn!(%peer, %err, "cannot encode withdrawal"),
            }
        }
        if messages > 0 {
            let _ = entry.handle.tx.send(ToPeer::Send {
                generation: session.generation,
                bytes: out.freeze(),
                messages: messages as u64,
                prefixes_delta: delta,
            });
        }
    }

    fn send(&self, peer: IpAddr, bytes: BytesMut, messages: u64, prefixes_delta: i64) {
        let Some(entry) = self.peers.get(&peer) else {
            return;
        };
        let Some(session) = entry.session.as_ref() else {
            return;
        };
        let _ = entry.handle.tx.send(ToPeer::Send {
            generation: session.generation,
            bytes: bytes.freeze(),
            messages,
            prefixes_delta,
        });
    }

    /// Reports an event; never waits for the consumer (see [`EventQueue`]).
    fn emit(&mut self, event: Event) {
        self.events.notice(event);
    }

    fn rib_stats(&mut self) -> crate::rib::RibStats {
        match self.stats {
            Some((at, stats)) if at.elapsed() < Duration::from_secs(1) => stats,
            _ => {
                let stats = self.rib.stats();
                self.stats = Some((Instant::now(), stats));
                stats
            }
        }
    }

    fn peer_summaries(&self) -> Vec<PeerSummary> {
        let now = Instant::now();
        let mut peers: Vec<PeerSummary> = self
            .peers
            .values()
            .map(|entry| {
                let status = entry
                    .handle
                    .status
                    .lock()
                    .map(|s| s.clone())
                    .unwrap_or_default();
                let received = Family::ALL
                    .iter()
                    .map(|f| {
                        let count = entry
                            .session
                            .as_ref()
                            .map_or(0, |s| self.rib.received_count(s.rib_id, *f));
                        (*f, count)
                    })
                    .collect();
                PeerSummary {
                    config: entry.config.clone(),
                    dynamic: entry.dynamic,
                    status,
                    received,
                    at: now,
                }
            })
            .collect();
        peers.sort_by_key(|p| p.config.address);
        peers
    }

    fn route_views(&self, family: Family) -> Vec<RouteView> {
        self.rib
            .iter_sorted(family)
            .map(|(prefix, paths)| self.route_view_of(prefix, paths))
            .collect()
    }

    fn route_view(&self, prefix: IpNet) -> Option<RouteView> {
        let paths = self.rib.paths_newest_first(prefix.trunc());
        (!paths.is_empty()).then(|| self.route_view_of(prefix.trunc(), paths))
    }

    fn route_view_of(&self, prefix: IpNet, paths: Vec<PathView>) -> RouteView {
        let paths = paths
            .into_iter()
            .map(|path| {
                let from = (path.peer != PeerId::LOCAL)
                    .then(|| self.rib.peer_info(path.peer).cloned())
                    .flatten();
                RoutePath { path, from }
            })
            .collect();
        RouteView { prefix, paths }
    }

    async fn shutdown(&mut self) {
        for task in self.accepting.drain(..) {
            task.abort();
            let _ = task.await;
        }
        self.listeners.clear();
        let addresses: Vec<IpAddr> = self.peers.keys().copied().collect();
        let mut tasks = Vec::new();
        for address in addresses {
            if let Some(mut entry) = self.peers.remove(&address) {
                let _ = entry.handle.tx.send(ToPeer::Stop {
                    subcode: cease::ADMIN_SHUTDOWN,
                });
                if let Some(session) = entry.session.take() {
                    self.session_ended(session).await;
                }
                tasks.push(entry.handle);
            }
        }
        for handle in tasks {
            drop(handle.tx);
            let _ = tokio::time::timeout(Duration::from_secs(3), handle.task).await;
        }
        // The withdrawals go to a consumer that still reads, as far as the channel takes them.
        self.events.flush(|prefix| self.rib.best(prefix));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rib::Selected;

    fn change(prefix: &str, best: Option<Selected>) -> BestChange {
        BestChange {
            prefix: prefix.parse().unwrap_or_else(|_| IpNet::default()),
            best,
        }
    }

    #[test]
    fn only_the_last_change_of_a_prefix_is_advertised() {
        let unique = [change("10.0.0.0/24", None), change("10.0.1.0/24", None)];
        assert!(matches!(
            latest_per_prefix(&unique),
            std::borrow::Cow::Borrowed(_)
        ));
        let twice = [
            change("10.0.0.0/24", None),
            change("10.0.1.0/24", None),
            change("10.0.0.0/24", None),
        ];
        let latest = latest_per_prefix(&twice);
        let prefixes: Vec<String> = latest.iter().map(|c| c.prefix.to_string()).collect();
        assert_eq!(prefixes, ["10.0.1.0/24", "10.0.0.0/24"]);
    }
}
