//! The BFD task: the single owner of every session's state machine, its sending socket and
//! its counters. Receiving sockets on the well-known ports (bound when the first session of
//! their kind is added) feed it datagrams; it checks GTSM (RFC 5881 §5) or the minimum TTL
//! (multihop), demultiplexes by discriminator or by source address (RFC 5880 §6.8.6), runs
//! the machines' timers and reports state changes as [`BfdEvent`]s. It never waits for the
//! consumer of those events: the channel is unbounded, and only state changes go into it.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::packet::{ControlPacket, Diagnostic, PacketError, State};
use super::session::{Action, Remote, Session, SessionConfig, Timers, Transition};
use super::socket::{self, Datagram, MULTIHOP_PORT, SINGLE_HOP_PORT};

/// Datagrams decoded and waiting for the task; beyond this the receivers wait and the
/// sockets' buffers hold the rest.
const INBOUND_CAPACITY: usize = 4096;

/// The minimum TTL of multihop packets unless configured (FRR's `minimum-ttl` default).
pub const DEFAULT_MINIMUM_TTL: u8 = 254;

/// Settings of the BFD task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceConfig {
    /// Port single-hop packets are received on (RFC 5881: 3784).
    pub single_hop_port: u16,
    /// Port multihop packets are received on (RFC 5883: 4784).
    pub multihop_port: u16,
    /// Port single-hop packets are sent to, for sessions [`crate::Speaker`] creates (3784;
    /// another only where a test runs both ends on one host).
    pub peer_single_hop_port: u16,
    /// Port multihop packets are sent to, likewise (4784).
    pub peer_multihop_port: u16,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            single_hop_port: SINGLE_HOP_PORT,
            multihop_port: MULTIHOP_PORT,
            peer_single_hop_port: SINGLE_HOP_PORT,
            peer_multihop_port: MULTIHOP_PORT,
        }
    }
}

/// What tells sessions apart: one per peer address and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey {
    /// The peer's address.
    pub peer: IpAddr,
    /// RFC 5883 multihop (port 4784, minimum TTL) rather than RFC 5881 single hop.
    pub multihop: bool,
}

/// The operator's settings of a session (FRR `bfd` → `profile NAME`, MetalLB `BFDProfile`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Profile {
    /// The profile's name, shown by `show bfd peers`; `None` for the defaults.
    pub name: Option<String>,
    /// Intervals and multiplier.
    pub timers: Timers,
    /// Passive role: wait for the peer to speak first.
    pub passive: bool,
    /// Lowest TTL accepted on multihop sessions (single hop always requires 255).
    pub minimum_ttl: u8,
    /// Held in AdminDown.
    pub shutdown: bool,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            name: None,
            timers: Timers::DEFAULT,
            passive: false,
            minimum_ttl: DEFAULT_MINIMUM_TTL,
            shutdown: false,
        }
    }
}

impl Profile {
    fn session_config(&self) -> SessionConfig {
        SessionConfig {
            timers: self.timers,
            passive: self.passive,
            admin_down: self.shutdown,
        }
    }
}

/// A session to create or change.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionSpec {
    /// Peer and kind.
    pub key: SessionKey,
    /// Our source address; `None` lets the kernel choose.
    pub local: Option<IpAddr>,
    /// The settings.
    pub profile: Profile,
    /// The peer's port (3784 or 4784 unless a test runs both ends on one host).
    pub remote_port: u16,
}

impl SessionSpec {
    /// A session with `profile` to the standard port of its kind.
    pub fn new(key: SessionKey, local: Option<IpAddr>, profile: Profile) -> Self {
        SessionSpec {
            key,
            local,
            profile,
            remote_port: if key.multihop {
                MULTIHOP_PORT
            } else {
                SINGLE_HOP_PORT
            },
        }
    }
}

/// What the task reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BfdEvent {
    /// A session changed state.
    StateChanged {
        /// The session.
        key: SessionKey,
        /// From what, to what, and why.
        transition: Transition,
    },
}

/// Per-session counters (FRR `show bfd peers counters`, MetalLB's `metallb_bfd_*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Control packets taken by the session.
    pub control_in: u64,
    /// Control packets sent.
    pub control_out: u64,
    /// Times the session came Up.
    pub up_events: u64,
    /// Times it went down from Up.
    pub down_events: u64,
}

/// A session as `show bfd peers` sees it.
#[derive(Debug, Clone)]
pub struct SessionView {
    /// Its configuration.
    pub spec: SessionSpec,
    /// Our discriminator.
    pub local_discriminator: u32,
    /// `bfd.SessionState`.
    pub state: State,
    /// `bfd.LocalDiag`.
    pub local_diagnostic: Diagnostic,
    /// The peer as last heard.
    pub remote: Remote,
    /// The interval of our periodic packets now, before jitter.
    pub tx_interval: Duration,
    /// The detection time now.
    pub detection_time: Duration,
    /// Desired Min TX we advertise.
    pub advertised_tx: Duration,
    /// Required Min RX we advertise.
    pub advertised_rx: Duration,
    /// A Poll Sequence is under way.
    pub polling: bool,
    /// When the state last changed (or the session was created).
    pub since: Instant,
    /// The same moment on the wall clock.
    pub since_wall: SystemTime,
    /// Its counters.
    pub counters: Counters,
    /// Where our packets leave from.
    pub local_socket: Option<SocketAddr>,
}

/// Errors of the BFD API.
#[derive(Debug, thiserror::Error)]
pub enum BfdError {
    /// A receiving or sending socket could not be opened.
    #[error("cannot open the BFD socket on {address}: {source}")]
    Socket {
        /// The address.
        address: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// A session with this key exists already.
    #[error("a BFD session with {} ({}) exists already", .0.peer, kind(.0.multihop))]
    Exists(SessionKey),
    /// No session with this key.
    #[error("no BFD session with {} ({})", .0.peer, kind(.0.multihop))]
    NoSuchSession(SessionKey),
    /// The task has stopped.
    #[error("the BFD task has stopped")]
    Stopped,
}

fn kind(multihop: bool) -> &'static str {
    if multihop { "multihop" } else { "single hop" }
}

#[derive(Debug)]
enum Request {
    Add(SessionSpec, oneshot::Sender<Result<(), BfdError>>),
    Update(SessionSpec, oneshot::Sender<Result<(), BfdError>>),
    Remove(SessionKey, oneshot::Sender<Result<(), BfdError>>),
    Sessions(oneshot::Sender<Vec<SessionView>>),
}

/// A handle to the BFD task; clones share it. The task ends (sending AdminDown on every
/// session) when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct Bfd {
    // Unbounded: requests come from the BGP core alone, a few per configuration change, and
    // [`Bfd::forget`] must queue behind earlier requests without waiting.
    tx: mpsc::UnboundedSender<Request>,
}

impl Bfd {
    /// Spawns the task (on the current tokio runtime) and returns its handle and events.
    /// No socket is opened before the first session.
    pub fn start(config: ServiceConfig) -> (Bfd, mpsc::UnboundedReceiver<BfdEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (inbound_tx, inbound_rx) = mpsc::channel(INBOUND_CAPACITY);
        let task = Task {
            config,
            sessions: HashMap::new(),
            by_key: HashMap::new(),
            receivers: HashMap::new(),
            inbound: inbound_tx,
            timers: BinaryHeap::new(),
            events: events_tx,
            next_discriminator: random_u64() as u32,
        };
        tokio::spawn(task.run(rx, inbound_rx));
        (Bfd { tx }, events_rx)
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Request,
    ) -> Result<T, BfdError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(make(reply)).map_err(|_| BfdError::Stopped)?;
        answer.await.map_err(|_| BfdError::Stopped)
    }

    /// Removes a session without waiting for the task (as [`Bfd::remove`], after every
    /// request made before); for callers that cannot wait.
    pub fn forget(&self, key: SessionKey) {
        let (reply, _) = oneshot::channel();
        let _ = self.tx.send(Request::Remove(key, reply));
    }

    /// Creates a session; its first packet goes at once (unless passive).
    pub async fn add(&self, spec: SessionSpec) -> Result<(), BfdError> {
        self.call(|r| Request::Add(spec, r)).await?
    }

    /// Changes a session's settings (a Poll Sequence when its timers change while Up).
    pub async fn update(&self, spec: SessionSpec) -> Result<(), BfdError> {
        self.call(|r| Request::Update(spec, r)).await?
    }

    /// Removes a session, telling the peer AdminDown first so that it does not see a failure.
    pub async fn remove(&self, key: SessionKey) -> Result<(), BfdError> {
        self.call(|r| Request::Remove(key, r)).await?
    }

    /// Every session, sorted by key.
    pub async fn sessions(&self) -> Result<Vec<SessionView>, BfdError> {
        self.call(Request::Sessions).await
    }
}

/// A datagram from a receiving socket, decoded.
#[derive(Debug)]
struct Inbound {
    multihop: bool,
    from: SocketAddr,
    ttl: Option<u8>,
    packet: Result<ControlPacket, PacketError>,
}

struct Entry {
    spec: SessionSpec,
    session: Session,
    socket: UdpSocket,
    counters: Counters,
    since: Instant,
    since_wall: SystemTime,
    /// When the last packet the session took arrived.
    last_received: Option<Instant>,
}

struct Task {
    config: ServiceConfig,
    sessions: HashMap<u32, Entry>,
    by_key: HashMap<SessionKey, u32>,
    /// Receiving sockets' tasks by (IPv6, multihop).
    receivers: HashMap<(bool, bool), JoinHandle<()>>,
    inbound: mpsc::Sender<Inbound>,
    /// Session deadlines; an entry whose session has another deadline by now is stale.
    timers: BinaryHeap<Reverse<(Instant, u32)>>,
    events: mpsc::UnboundedSender<BfdEvent>,
    next_discriminator: u32,
}

fn random_u64() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    hasher.finish()
}

/// Addresses as sessions are keyed: IPv4-mapped IPv6 as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl Task {
    async fn run(
        mut self,
        mut requests: mpsc::UnboundedReceiver<Request>,
        mut inbound: mpsc::Receiver<Inbound>,
    ) {
        loop {
            let deadline = self.timers.peek().map(|Reverse((at, _))| *at);
            tokio::select! {
                request = requests.recv() => match request {
                    Some(request) => self.request(request),
                    None => break,
                },
                Some(datagram) = inbound.recv() => self.inbound(datagram),
                () = sleep_until(deadline), if deadline.is_some() => self.fire_timers(),
            }
        }
        self.shutdown();
    }

    fn request(&mut self, request: Request) {
        match request {
            Request::Add(spec, reply) => {
                let _ = reply.send(self.add(spec));
            }
            Request::Update(spec, reply) => {
                let _ = reply.send(self.update(spec));
            }
            Request::Remove(key, reply) => {
                let _ = reply.send(self.remove(key));
            }
            Request::Sessions(reply) => {
                let mut views: Vec<SessionView> = self.sessions.values().map(view).collect();
                views.sort_by_key(|v| v.spec.key);
                let _ = reply.send(views);
            }
        }
    }

    fn add(&mut self, mut spec: SessionSpec) -> Result<(), BfdError> {
        spec.key.peer = canonical(spec.key.peer);
        if self.by_key.contains_key(&spec.key) {
            return Err(BfdError::Exists(spec.key));
        }
        self.ensure_receiver(spec.key)?;
        let socket = self.sender(&spec)?;
        let discriminator = self.allocate_discriminator();
        let now = Instant::now();
        let session = Session::new(
            discriminator,
            spec.profile.session_config(),
            random_u64(),
            now,
        );
        info!(peer = %spec.key.peer, multihop = spec.key.multihop, local_discriminator = discriminator, profile = spec.profile.name.as_deref().unwrap_or(""), "BFD session added");
        self.by_key.insert(spec.key, discriminator);
        self.sessions.insert(
            discriminator,
            Entry {
                spec,
                session,
                socket,
                counters: Counters::default(),
                since: now,
                since_wall: SystemTime::now(),
                last_received: None,
            },
        );
        self.schedule(discriminator, None);
        Ok(())
    }

    fn update(&mut self, mut spec: SessionSpec) -> Result<(), BfdError> {
        spec.key.peer = canonical(spec.key.peer);
        let Some(&discriminator) = self.by_key.get(&spec.key) else {
            return Err(BfdError::NoSuchSession(spec.key));
        };
        let rebind = self
            .sessions
            .get(&discriminator)
            .is_some_and(|e| e.spec.local != spec.local);
        let socket = if rebind {
            Some(self.sender(&spec)?)
        } else {
            None
        };
        let Some(entry) = self.sessions.get_mut(&discriminator) else {
            return Err(BfdError::NoSuchSession(spec.key));
        };
        let before = entry.session.next_deadline();
        if let Some(socket) = socket {
            entry.socket = socket;
        }
        let config = spec.profile.session_config();
        entry.spec = spec;
        let actions = entry.session.set_config(config, Instant::now());
        self.apply(discriminator, actions);
        self.schedule(discriminator, before);
        Ok(())
    }

    fn remove(&mut self, key: SessionKey) -> Result<(), BfdError> {
        let key = SessionKey {
            peer: canonical(key.peer),
            ..key
        };
        let Some(discriminator) = self.by_key.remove(&key) else {
            return Err(BfdError::NoSuchSession(key));
        };
        if let Some(mut entry) = self.sessions.remove(&discriminator) {
            say_admin_down(&mut entry);
            info!(peer = %key.peer, multihop = key.multihop, "BFD session removed");
        }
        Ok(())
    }

    fn shutdown(&mut self) {
        for entry in self.sessions.values_mut() {
            say_admin_down(entry);
        }
        for receiver in self.receivers.values() {
            receiver.abort();
        }
    }

    fn allocate_discriminator(&mut self) -> u32 {
        loop {
            self.next_discriminator = self.next_discriminator.wrapping_add(1);
            let candidate = self.next_discriminator;
            if candidate != 0 && !self.sessions.contains_key(&candidate) {
                return candidate;
            }
        }
    }

    /// Binds the receiving socket for sessions like `key`, once.
    fn ensure_receiver(&mut self, key: SessionKey) -> Result<(), BfdError> {
        let v6 = key.peer.is_ipv6();
        if self
            .receivers
            .get(&(v6, key.multihop))
            .is_some_and(|task| !task.is_finished())
        {
            return Ok(());
        }
        let port = if key.multihop {
            self.config.multihop_port
        } else {
            self.config.single_hop_port
        };
        let ip = if v6 {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        };
        let address = SocketAddr::new(ip, port);
        let socket = socket::bind_receiver(address)
            .map_err(|source| BfdError::Socket { address, source })?;
        info!(%address, multihop = key.multihop, "listening for BFD control packets");
        let task = tokio::spawn(receive_loop(
            Arc::new(socket),
            key.multihop,
            self.inbound.clone(),
        ));
        self.receivers.insert((v6, key.multihop), task);
        Ok(())
    }

    fn sender(&self, spec: &SessionSpec) -> Result<UdpSocket, BfdError> {
        let start = random_u64() as u16;
        socket::bind_sender(spec.key.peer, spec.local, start).map_err(|source| BfdError::Socket {
            address: SocketAddr::new(
                spec.local.unwrap_or(match spec.key.peer {
                    IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                    IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                }),
                0,
            ),
            source,
        })
    }

    /// Checks and demultiplexes a received datagram, then hands it to its session.
    fn inbound(&mut self, inbound: Inbound) {
        let peer = canonical(inbound.from.ip());
        let packet = match inbound.packet {
            Ok(packet) => packet,
            Err(err) => {
                debug!(%peer, %err, "BFD packet discarded");
                return;
            }
        };
        let discriminator = if packet.your_discriminator != 0 {
            packet.your_discriminator
        } else {
            let key = SessionKey {
                peer,
                multihop: inbound.multihop,
            };
            match self.by_key.get(&key) {
                Some(d) => *d,
                None => {
                    debug!(%peer, multihop = inbound.multihop, "BFD packet for no session discarded");
                    return;
                }
            }
        };
        let Some(entry) = self.sessions.get_mut(&discriminator) else {
            debug!(%peer, your_discriminator = discriminator, "BFD packet for an unknown discriminator discarded");
            return;
        };
        if entry.spec.key.peer != peer || entry.spec.key.multihop != inbound.multihop {
            debug!(%peer, your_discriminator = discriminator, "BFD packet from another address than the session's peer discarded");
            return;
        }
        let required = if inbound.multihop {
            entry.spec.profile.minimum_ttl
        } else {
            socket::SEND_TTL
        };
        if inbound.ttl.is_none_or(|ttl| ttl < required) {
            debug!(%peer, ttl = ?inbound.ttl, required, "BFD packet below the required TTL discarded (GTSM)");
            return;
        }
        entry.counters.control_in += 1;
        let now = Instant::now();
        entry.last_received = Some(now);
        let before = entry.session.next_deadline();
        let actions = entry.session.receive(&packet, now);
        self.apply(discriminator, actions);
        self.schedule(discriminator, before);
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(Reverse((at, discriminator))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(entry) = self.sessions.get_mut(&discriminator) else {
                continue;
            };
            if entry.session.next_deadline() != Some(at) {
                continue;
            }
            let actions = entry.session.poll_timers(now);
            self.apply(discriminator, actions);
            self.schedule(discriminator, None);
        }
    }

    /// Queues the session's deadline if it changed from `before`.
    fn schedule(&mut self, discriminator: u32, before: Option<Instant>) {
        let Some(entry) = self.sessions.get(&discriminator) else {
            return;
        };
        let next = entry.session.next_deadline();
        if next != before {
            if let Some(at) = next {
                self.timers.push(Reverse((at, discriminator)));
            }
        }
    }

    fn apply(&mut self, discriminator: u32, actions: Vec<Action>) {
        let Some(entry) = self.sessions.get_mut(&discriminator) else {
            return;
        };
        for action in actions {
            match action {
                Action::Send(packet) => send(entry, &packet),
                Action::StateChange(transition) => {
                    entry.since = Instant::now();
                    entry.since_wall = SystemTime::now();
                    if transition.to == State::Up {
                        entry.counters.up_events += 1;
                    } else if transition.from == State::Up {
                        entry.counters.down_events += 1;
                    }
                    let key = entry.spec.key;
                    // How long the peer had been silent: the detection time actually taken
                    // when the session goes down by timeout.
                    let silent_ms = entry.last_received.map_or(0, |at| {
                        entry.since.saturating_duration_since(at).as_millis() as u64
                    });
                    if transition.to == State::Up || transition.from == State::Up {
                        info!(peer = %key.peer, multihop = key.multihop, from = %transition.from, to = %transition.to, diagnostic = %transition.local_diagnostic, remote_diagnostic = %transition.remote_diagnostic, silent_ms, "BFD session state change");
                    } else {
                        debug!(peer = %key.peer, multihop = key.multihop, from = %transition.from, to = %transition.to, diagnostic = %transition.local_diagnostic, "BFD session state change");
                    }
                    let _ = self.events.send(BfdEvent::StateChanged { key, transition });
                }
            }
        }
    }
}

/// Sends a packet without waiting: a full socket buffer drops it (the next one follows
/// within an interval, and the detection time allows for losses).
fn send(entry: &mut Entry, packet: &ControlPacket) {
    let to = SocketAddr::new(entry.spec.key.peer, entry.spec.remote_port);
    match entry.socket.try_send_to(&packet.encode(), to) {
        Ok(_) => entry.counters.control_out += 1,
        Err(err) => debug!(%to, %err, "BFD packet not sent"),
    }
}

/// Sends one AdminDown packet for a session that goes away (RFC 5880 §6.8.16).
fn say_admin_down(entry: &mut Entry) {
    let config = SessionConfig {
        admin_down: true,
        ..*entry.session.config()
    };
    let actions = entry.session.set_config(config, Instant::now());
    for action in actions {
        if let Action::Send(packet) = action {
            send(entry, &packet);
        }
    }
}

fn view(entry: &Entry) -> SessionView {
    let s = &entry.session;
    SessionView {
        spec: entry.spec.clone(),
        local_discriminator: s.local_discriminator(),
        state: s.state(),
        local_diagnostic: s.local_diagnostic(),
        remote: *s.remote(),
        tx_interval: s.tx_interval(),
        detection_time: s.detection_time(),
        advertised_tx: s.advertised_tx(),
        advertised_rx: s.advertised_rx(),
        polling: s.polling(),
        since: entry.since,
        since_wall: entry.since_wall,
        counters: entry.counters,
        local_socket: entry.socket.local_addr().ok(),
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Reads a receiving socket and hands every datagram, decoded, to the task.
async fn receive_loop(socket: Arc<UdpSocket>, multihop: bool, inbound: mpsc::Sender<Inbound>) {
    let mut buf = [0u8; 512];
    loop {
        match socket::receive(&socket, &mut buf).await {
            Ok(Datagram { len, from, ttl }) => {
                let packet = ControlPacket::decode(buf.get(..len).unwrap_or_default());
                let message = Inbound {
                    multihop,
                    from,
                    ttl,
                    packet,
                };
                if inbound.send(message).await.is_err() {
                    return;
                }
            }
            Err(err) => {
                warn!(%err, multihop, "receiving BFD packets failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
