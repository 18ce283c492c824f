//! The engine: the task that is the single owner of the RIB, the peer table and the locally
//! originated routes. Session tasks, listeners and [`crate::Speaker`] handles talk to it through channels,
//! so no lock guards any routing state.
//!
//! For every UPDATE it applies the routes to the RIB, and for every Loc-RIB change it
//! computes what each Established peer must hear ([`crate::export`]) and sends it encoded.

mod advertise;
mod bfd;
mod graceful;
mod originate;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ipnet::IpNet;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::config::{ListenRange, PeerConfig, SpeakerConfig};
use crate::event_queue::{EventQueue, EventStats, QueueLimits};
use crate::export::Target;
use crate::fsm::{FsmConfig, Negotiated, SessionState};
use crate::graceful_restart::Helper;
use crate::md5::set_md5_key;
use crate::origin::{Originated, canonical};
use crate::packet::Family;
use crate::packet::notification::cease;
use crate::packet::semantic::check_prefix;
use crate::rib::{
    BestChange, DecisionConfig, PathView, PeerId, PeerInfo, Rib, RibError, RouteAttributes,
};
use crate::session::peer::{FromPeer, PeerHandle, ToPeer, spawn_peer};
use crate::speaker::{Event, PeerSummary, Request, SpeakerError};

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

/// A configured (or dynamic) peer and its current session.
struct PeerEntry {
    config: PeerConfig,
    handle: PeerHandle,
    dynamic: bool,
    session: Option<Session>,
    /// Connections from the peer handed to its task.
    inbound_handed: u64,
    /// Graceful restart, helper side: what is kept of the peer while it restarts.
    helper: Helper,
    /// The RIB id of the routes kept from the peer's last session while it restarts; its
    /// next session takes it over.
    retained: Option<PeerId>,
    /// The restart time of the peer's last Graceful Restart capability.
    peer_restart_time: Option<u16>,
    /// The last session ended as a graceful restart.
    restarted: bool,
    /// Its BFD session, when configured with BFD.
    bfd: Option<bfd::BfdLink>,
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
    /// The Adj-RIB-Out, reduced to what decisions need (see [`advertise`]).
    advertised: hashbrown::HashMap<IpNet, advertise::Sent>,
    /// For an announce-only peer (`PeerConfig::import` false): prefixes announced minus
    /// prefixes withdrawn, per family, counted instead of stored.
    not_imported: Vec<(Family, usize)>,
    /// Families whose End-of-RIB marker was sent on this session.
    end_of_rib_sent: Vec<Family>,
    /// Families whose End-of-RIB marker the peer sent on this session.
    end_of_rib_received: Vec<Family>,
}

struct Core {
    config: SpeakerConfig,
    rib: Rib,
    peers: HashMap<IpAddr, PeerEntry>,
    ranges: Vec<ListenRange>,
    /// The declarative set of originated routes, by prefix (see [`originate`]).
    originated: HashMap<IpNet, Originated>,
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
    /// When the speaker started: our OPENs set the Restart State bit for a restart time
    /// after it (graceful restart).
    started: Instant,
    /// The earliest graceful restart deadline of any peer.
    gr_deadline: Option<Instant>,
    /// The BFD task, started with the first peer that has BFD, and its events.
    bfd: Option<crate::bfd::Bfd>,
    bfd_events: Option<mpsc::UnboundedReceiver<crate::bfd::BfdEvent>>,
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
        originated: HashMap::new(),
        listeners,
        accepting,
        events,
        from_peers: from_peers_tx,
        changes: Vec::new(),
        table_version: 0,
        stats: None,
        started: Instant::now(),
        gr_deadline: None,
        bfd: None,
        bfd_events: None,
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

/// Prefixes of `family` an UPDATE announces and withdraws, counted as the RIB would apply
/// them: only negotiated families, announcements only with their attributes.
fn nlri_counts(
    update: &crate::packet::Update,
    family: Family,
    negotiated: &[Family],
) -> (usize, usize) {
    if !negotiated.contains(&family) {
        return (0, 0);
    }
    let mut announced = 0;
    let mut withdrawn = 0;
    if family == Family::Ipv4Unicast {
        withdrawn += update.withdrawn.len();
        if update
            .attributes
            .as_ref()
            .is_some_and(|a| a.next_hop.is_some())
        {
            announced += update.nlri.len();
        }
    }
    if let Some(unreach) = update
        .mp_unreach
        .as_ref()
        .filter(|u| u.afi_safi.family() == Some(family))
    {
        withdrawn += unreach.withdrawn.len();
    }
    if let Some(reach) = update
        .mp_reach
        .as_ref()
        .filter(|r| r.afi_safi.family() == Some(family))
    {
        if update.attributes.is_some() && !reach.next_hops.is_empty() {
            announced += reach.nlri.len();
        }
    }
    (announced, withdrawn)
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

/// Sleeps until `deadline`, or for ever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
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

impl Core {
    async fn run(
        mut self,
        mut requests: mpsc::Receiver<Request>,
        mut from_peers: mpsc::Receiver<FromPeer>,
        mut inbound: mpsc::Receiver<(TcpStream, SocketAddr)>,
    ) {
        loop {
            let gr_deadline = self.gr_deadline;
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
                Some((stream, remote)) = inbound.recv() => self.inbound(stream, remote).await,
                event = bfd::next_event(&mut self.bfd_events) => self.on_bfd_event(event),
                () = self.events.writable(), if self.events.has_backlog() => {
                    self.events.flush(|prefix| self.rib.best(prefix));
                }
                () = sleep_until(gr_deadline), if gr_deadline.is_some() => {
                    self.poll_graceful_restart(Instant::now());
                }
            }
        }
    }

    async fn request(&mut self, request: Request) {
        match request {
            Request::AddPeer(config, reply) => {
                let _ = reply.send(self.add_peer(config, false).await);
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
            Request::SetBfd(address, profile, reply) => {
                let _ = reply.send(self.set_bfd(address, profile).await);
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
                let _ = reply.send(self.announce_local(route));
            }
            Request::Withdraw(prefix, reply) => {
                self.withdraw_local(prefix);
                let _ = reply.send(Ok(()));
            }
            Request::SetAdvertisements(ads, reply) => {
                self.set_advertisements(&ads);
                let _ = reply.send(());
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
            Request::BfdSessions(reply) => {
                let sessions = match &self.bfd {
                    Some(bfd) => bfd.sessions().await.unwrap_or_default(),
                    None => Vec::new(),
                };
                let _ = reply.send(sessions);
            }
            Request::Shutdown(_) => {}
        }
    }

    fn fsm_config(&self, config: &PeerConfig) -> FsmConfig {
        FsmConfig {
            local_as: config.local_as.unwrap_or(self.config.local_as),
            router_id: config.router_id.unwrap_or(self.config.router_id),
            remote_as: config.remote_as,
            hold_time: config.hold_time,
            keepalive: config.keepalive,
            connect_retry: config.connect_retry,
            idle_hold: config.idle_hold,
            passive: config.passive,
            families: config.families.clone(),
            graceful_restart: config.graceful_restart,
            restart_state_until: config
                .graceful_restart
                .map(|gr| self.started + Duration::from_secs(u64::from(gr.restart_time))),
        }
    }

    async fn add_peer(
        &mut self,
        mut config: PeerConfig,
        dynamic: bool,
    ) -> Result<(), SpeakerError> {
        let address = canonical(config.address);
        if self.peers.contains_key(&address) {
            return Err(SpeakerError::PeerExists(address));
        }
        config.address = address;
        let bfd = self.bind_bfd(&config).await?;
        // A configured peer waits for BFD; a dynamic one only exists by its connection.
        let bfd_held = bfd.is_some() && !dynamic;
        if let Some(password) = &config.password {
            for listener in &self.listeners {
                set_md5_key(listener.as_ref(), address, password.as_bytes())?;
            }
        }
        let handle = spawn_peer(
            config.clone(),
            self.fsm_config(&config),
            self.from_peers.clone(),
            bfd_held,
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
                helper: Helper::new(),
                retained: None,
                peer_restart_time: None,
                restarted: false,
                bfd,
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
            session,
            retained,
            ..
        } = &mut entry;
        let _ = handle.tx.send(ToPeer::Stop {
            subcode: cease::PEER_DECONFIGURED,
        });
        if let Some(session) = session.take() {
            self.end_session(address, session, None);
        }
        if let Some(rib_id) = retained.take() {
            self.forget_retained(rib_id);
        }
        let link = entry.bfd.take();
        self.unbind_bfd(link).await;
        if entry.config.password.is_some() {
            for listener in &self.listeners {
                let _ = set_md5_key(listener.as_ref(), address, b"");
            }
        }
        info!(peer = %address, "peer removed");
        Ok(())
    }

    /// A connection arrived on a listener: hand it to its peer, create a dynamic peer for a
    /// listen range, or drop it.
    async fn inbound(&mut self, stream: TcpStream, remote: SocketAddr) {
        let address = canonical(remote.ip());
        if !self.peers.contains_key(&address) {
            let Some(range) = self.ranges.iter().find(|r| r.range.contains(&address)) else {
                debug!(%remote, "connection from an address that is not a peer; closed");
                return;
            };
            let mut config = range.template.clone();
            config.address = address;
            config.passive = true;
            if let Err(err) = self.add_peer(config, true).await {
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
                        self.end_session(peer, session, Some(&reason));
                    }
                }
                self.emit(Event::PeerDown { peer, reason });
                // FRR forgets dynamic neighbors when their session ends; a reconnection
                // already handed to the task keeps it (it goes on as the same peer), and so
                // do routes kept while it restarts.
                self.forget_if_dynamic(peer);
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
        let info = PeerInfo {
            address: peer,
            router_id: negotiated.peer_id,
            remote_as: negotiated.peer_as,
            local_as,
            weight: u32::from(weight),
        };
        // A restarted peer takes over the routes kept from its last session.
        let resumed = match entry.retained.take() {
            Some(id) => self
                .rib
                .update_peer_info(id, info.clone(), &mut self.changes)
                .map(|()| id)
                .ok(),
            None => None,
        };
        let added = match resumed {
            Some(id) => Ok(id),
            None => self.rib.add_peer(info),
        };
        let rib_id = match added {
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
        entry.peer_restart_time =
            crate::graceful_restart::last_capability(&negotiated.peer_open.capabilities)
                .map(|gr| gr.restart_time);
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
            advertised: hashbrown::HashMap::new(),
            not_imported: Family::ALL.iter().map(|f| (*f, 0)).collect(),
            end_of_rib_sent: Vec::new(),
            end_of_rib_received: Vec::new(),
        });
        self.resume_session(peer);
        self.refresh_own_addresses();
        self.publish_changes();
        self.emit(Event::PeerUp { peer, peer_as });
        self.send_full_table(peer, None);
    }

    /// Removes the routes kept for a peer that is gone for good.
    fn forget_retained(&mut self, rib_id: PeerId) {
        if let Err(err) = self.rib.remove_peer(rib_id, &mut self.changes) {
            warn!(%err, "removing a peer from the RIB");
        }
        self.publish_changes();
        self.refresh_gr_deadline();
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
        if !entry.config.import {
            self.count_not_imported(peer, &update);
            return;
        }
        if self.end_of_rib_from(peer, &update) {
            return;
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
        self.note_received(peer, received, max_prefix);
        if announced + withdrawn > 0 {
            self.emit(Event::RoutesReceived {
                peer,
                announced,
                withdrawn,
            });
        }
        self.publish_changes();
    }

    /// An UPDATE from an announce-only peer: counted and logged, never stored, no event.
    fn count_not_imported(&mut self, peer: IpAddr, update: &crate::packet::Update) {
        let Some(entry) = self.peers.get_mut(&peer) else {
            return;
        };
        let Some(session) = entry.session.as_mut() else {
            return;
        };
        let max_prefix = entry.config.max_prefix;
        let mut total = 0;
        for (family, count) in &mut session.not_imported {
            let (announced, withdrawn) = nlri_counts(update, *family, &session.negotiated.families);
            if announced + withdrawn > 0 {
                debug!(%peer, ?family, announced, withdrawn, "UPDATE from an announce-only peer counted, not kept");
            }
            *count = count.saturating_add(announced).saturating_sub(withdrawn);
            total += *count;
        }
        self.note_received(peer, total, max_prefix);
    }

    /// Records how many prefixes a peer has sent us; past its maximum-prefix the session
    /// closes with Cease/1.
    fn note_received(&self, peer: IpAddr, received: usize, max_prefix: Option<u32>) {
        let Some(entry) = self.peers.get(&peer) else {
            return;
        };
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
                let received = match entry.session.as_ref() {
                    Some(session) if !entry.config.import => session.not_imported.clone(),
                    session => Family::ALL
                        .iter()
                        .map(|f| {
                            let count =
                                session.map_or(0, |s| self.rib.received_count(s.rib_id, *f));
                            (*f, count)
                        })
                        .collect(),
                };
                PeerSummary {
                    bfd: entry.bfd.as_ref().and_then(|l| l.status(&entry.config)),
                    config: entry.config.clone(),
                    dynamic: entry.dynamic,
                    status,
                    received,
                    graceful_restart: self.graceful_restart_status(entry.config.address),
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
                // A restarting speaker leaves without a NOTIFICATION where the peer keeps
                // our routes meanwhile (graceful restart, our families listed); elsewhere
                // it says Cease/2.
                let restarting = entry.session.as_ref().is_some_and(|s| {
                    s.negotiated
                        .graceful_restart
                        .as_ref()
                        .is_some_and(|g| !g.local_families.is_empty())
                });
                let command = if restarting {
                    ToPeer::Abandon
                } else {
                    ToPeer::Stop {
                        subcode: cease::ADMIN_SHUTDOWN,
                    }
                };
                let _ = entry.handle.tx.send(command);
                if let Some(session) = entry.session.take() {
                    self.end_session(address, session, None);
                }
                if let Some(rib_id) = entry.retained.take() {
                    self.forget_retained(rib_id);
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
