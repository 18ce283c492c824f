//! The task that runs one peer's session: it owns the peer's TCP connection(s) and its
//! [`Fsm`], turns socket bytes and timer deadlines into FSM inputs, carries out the FSM's
//! actions, and talks to the core task (which owns the RIB) through channels.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, timeout};
use tracing::{debug, info, warn};

use super::connection::{Connection, Direction, Received};
use super::status::{MessageCounters, PeerStatus};
use crate::config::PeerConfig;
use crate::fsm::{Action, DownReason, Fsm, FsmConfig, Input, Negotiated, SessionState, Timer};
use crate::md5::set_md5_key;
use crate::packet::notification::cease;
use crate::packet::{
    AfiSafi, DecodeOptions, EncodeOptions, Message, Notification, Open, RefreshSubtype, Update,
};

/// How long a NOTIFICATION gets to leave before the socket is closed.
const CLOSE_FLUSH: Duration = Duration::from_secs(2);
/// How long the second connection of a collision may take to send its OPEN.
const COLLISION_OPEN_WAIT: Duration = Duration::from_secs(30);
/// Messages for the core that may wait in a session while the core's channel is full;
/// at this many the session stops reading from the peer (TCP pushes back on it) but keeps
/// its timers and keeps writing.
const OUTBOX_LIMIT: usize = 64;

/// What a session task reports to the core task.
// UPDATEs dominate this channel; boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum FromPeer {
    /// The session changed state.
    State {
        /// The peer.
        peer: IpAddr,
        /// Previous state.
        from: SessionState,
        /// New state.
        to: SessionState,
    },
    /// The session reached Established.
    Up {
        /// The peer.
        peer: IpAddr,
        /// Increases with every session; tags the messages of this one.
        generation: u64,
        /// What was negotiated.
        negotiated: Negotiated,
        /// Our end of the connection (the next hop we advertise).
        local: SocketAddr,
    },
    /// The session ended.
    Down {
        /// The peer.
        peer: IpAddr,
        /// Generation of the session that ended.
        generation: u64,
        /// Why.
        reason: DownReason,
    },
    /// An UPDATE from the peer.
    Update {
        /// The peer.
        peer: IpAddr,
        /// Generation of the session it came on.
        generation: u64,
        /// The update, after RFC 7606 handling.
        update: Update,
    },
    /// The peer asked for our routes again.
    RouteRefresh {
        /// The peer.
        peer: IpAddr,
        /// Generation of the session it came on.
        generation: u64,
        /// The family asked for.
        afi_safi: AfiSafi,
    },
}

/// What the core task asks of a session task.
#[derive(Debug)]
pub enum ToPeer {
    /// A connection from the peer was accepted.
    Inbound(TcpStream),
    /// Start (or restart) the session.
    Start,
    /// Stop the session, sending Cease with this subcode, and stay down until Start.
    Stop {
        /// Cease subcode.
        subcode: u8,
    },
    /// Stop the session (Cease with this subcode) until the next Reset or Start, without
    /// marking it administratively down (maximum-prefix exceeded).
    Halt {
        /// Cease subcode.
        subcode: u8,
    },
    /// Close the connection without a NOTIFICATION and stay down: the speaker restarts
    /// and the peer is to keep its routes meanwhile (graceful restart).
    Abandon,
    /// Drop the session (Cease with this subcode) and start again (`clear ip bgp`).
    Reset {
        /// Cease subcode.
        subcode: u8,
    },
    /// The bound BFD session changed: Down closes the session with Cease/10 and holds it in
    /// Idle (no start, no connection taken) until Up.
    Bfd {
        /// Whether BFD is Up.
        up: bool,
    },
    /// Encoded UPDATE messages for the session of this generation.
    Send {
        /// Session generation these were encoded for.
        generation: u64,
        /// The encoded messages.
        bytes: Bytes,
        /// How many messages `bytes` holds.
        messages: u64,
        /// How many prefixes they announce or withdraw (net change of prefixes sent).
        prefixes_delta: i64,
    },
}

/// A handle the core keeps for each peer.
#[derive(Debug)]
pub struct PeerHandle {
    /// Commands to the session task.
    pub tx: mpsc::UnboundedSender<ToPeer>,
    /// The session's status, as last written by the task.
    pub status: Arc<Mutex<PeerStatus>>,
    /// The task, aborted when the peer is removed.
    pub task: JoinHandle<()>,
}

/// Spawns the session task of a peer; `bfd_held` keeps it in Idle until [`ToPeer::Bfd`]
/// says BFD is Up.
pub fn spawn_peer(
    config: PeerConfig,
    fsm: FsmConfig,
    core: mpsc::Sender<FromPeer>,
    bfd_held: bool,
) -> PeerHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    let status = Arc::new(Mutex::new(PeerStatus::new()));
    let session = PeerSession {
        fsm: Fsm::new(fsm),
        config,
        rx,
        core,
        status: Arc::clone(&status),
        conn: None,
        connecting: None,
        candidate: None,
        generation: 0,
        outbox: VecDeque::new(),
        bfd_held,
    };
    let task = tokio::spawn(session.run());
    PeerHandle { tx, status, task }
}

/// A second connection in a collision, going through its OPEN exchange in its own task.
type Candidate = oneshot::Receiver<Option<(Connection, Open)>>;

struct PeerSession {
    fsm: Fsm,
    config: PeerConfig,
    rx: mpsc::UnboundedReceiver<ToPeer>,
    core: mpsc::Sender<FromPeer>,
    status: Arc<Mutex<PeerStatus>>,
    conn: Option<Connection>,
    connecting: Option<JoinHandle<io::Result<TcpStream>>>,
    candidate: Option<Candidate>,
    generation: u64,
    /// Messages for the core that its channel could not take yet, oldest first: the task
    /// never waits for the core outside its `select!`, so a busy core cannot stop the
    /// timers.
    outbox: VecDeque<FromPeer>,
    /// Held in Idle while the bound BFD session is not Up.
    bfd_held: bool,
}

/// One thing that happened, taken out of the `select!` so the borrows of its futures end.
enum Event {
    Command(Option<ToPeer>),
    Connected(io::Result<TcpStream>),
    Readable(bool),
    Written(io::Result<()>),
    Timer,
    CandidateReady(Option<(Connection, Open)>),
    CoreReady(Option<mpsc::OwnedPermit<FromPeer>>),
}

impl PeerSession {
    async fn run(mut self) {
        if self.may_start() {
            self.input(Input::Start).await;
        }
        loop {
            let deadline = self.fsm.next_deadline();
            let event = {
                let has_output = self.conn.as_ref().is_some_and(Connection::has_output);
                let has_conn = self.conn.is_some();
                let can_read = self.outbox.len() < OUTBOX_LIMIT;
                let has_outbox = !self.outbox.is_empty();
                tokio::select! {
                    cmd = self.rx.recv() => Event::Command(cmd),
                    res = join_connect(&mut self.connecting), if self.connecting.is_some() => Event::Connected(res),
                    ready = candidate_ready(&mut self.candidate), if self.candidate.is_some() => Event::CandidateReady(ready),
                    ev = read_or_write(self.conn.as_mut(), has_output, can_read), if has_conn => ev,
                    _ = sleep_until_opt(deadline), if deadline.is_some() => Event::Timer,
                    permit = self.core.clone().reserve_owned(), if has_outbox => Event::CoreReady(permit.ok()),
                }
            };
            match event {
                Event::Command(None) => {
                    self.input(Input::Stop {
                        subcode: cease::PEER_DECONFIGURED,
                    })
                    .await;
                    if let Some(attempt) = self.connecting.take() {
                        attempt.abort();
                    }
                    if let Some(conn) = self.conn.take() {
                        conn.close(CLOSE_FLUSH).await;
                    }
                    return;
                }
                Event::Command(Some(cmd)) => self.command(cmd).await,
                Event::Connected(Ok(stream)) => {
                    self.connecting = None;
                    match Connection::new(stream, Direction::Outbound) {
                        Ok(conn) => {
                            debug!(peer = %self.config.address, "connected");
                            self.conn = Some(conn);
                            self.input(Input::Connected).await;
                        }
                        Err(err) => {
                            debug!(peer = %self.config.address, %err, "connection unusable");
                            self.input(Input::ConnectionLost).await;
                        }
                    }
                }
                Event::Connected(Err(err)) => {
                    self.connecting = None;
                    debug!(peer = %self.config.address, %err, "connect failed");
                    self.input(Input::ConnectionLost).await;
                }
                Event::Readable(true) => self.drain_input().await,
                Event::Readable(false) | Event::Written(Err(_)) => {
                    self.input(Input::ConnectionLost).await;
                }
                Event::Written(Ok(())) => {}
                Event::Timer => {
                    let actions = self.fsm.poll_timers(Instant::now());
                    self.apply(actions).await;
                }
                Event::CandidateReady(ready) => {
                    self.candidate = None;
                    if let Some((conn, open)) = ready {
                        self.resolve_collision(conn, open).await;
                    }
                }
                Event::CoreReady(permit) => {
                    self.flush_outbox(permit);
                    // Messages left in the input buffer while the outbox was full.
                    self.drain_input().await;
                }
            }
        }
    }

    async fn command(&mut self, cmd: ToPeer) {
        match cmd {
            ToPeer::Inbound(stream) => {
                self.inbound(stream).await;
                self.with_status(|s| s.inbound_handled += 1);
            }
            ToPeer::Start => {
                self.config.shutdown = false;
                if self.may_start() {
                    self.input(Input::Start).await;
                }
            }
            ToPeer::Stop { subcode } => {
                self.config.shutdown = true;
                self.input(Input::Stop { subcode }).await;
                self.close_connection();
            }
            ToPeer::Abandon => {
                self.config.shutdown = true;
                self.input(Input::Abandon).await;
                self.close_connection();
            }
            ToPeer::Halt { subcode } => {
                self.input(Input::Stop { subcode }).await;
                self.close_connection();
            }
            ToPeer::Reset { subcode } => {
                self.input(Input::Stop { subcode }).await;
                self.close_connection();
                if self.may_start() {
                    self.input(Input::Start).await;
                }
            }
            ToPeer::Bfd { up: false } => {
                self.bfd_held = true;
                if self.fsm.state() != SessionState::Idle {
                    info!(peer = %self.config.address, "BFD down: closing the session (Cease/10) until BFD is up again");
                }
                self.input(Input::BfdDown).await;
                self.close_connection();
            }
            ToPeer::Bfd { up: true } => {
                let was_held = self.bfd_held;
                self.bfd_held = false;
                if was_held && self.may_start() {
                    info!(peer = %self.config.address, "BFD up: starting the session");
                    self.input(Input::Start).await;
                }
            }
            ToPeer::Send {
                generation,
                bytes,
                messages,
                prefixes_delta,
            } => {
                if generation != self.generation || self.fsm.state() != SessionState::Established {
                    return;
                }
                if let Some(conn) = self.conn.as_mut() {
                    conn.queue_encoded(&bytes);
                    self.with_status(|s| {
                        s.sent.updates += messages;
                        s.prefixes_sent = s.prefixes_sent.saturating_add_signed(prefixes_delta);
                    });
                }
            }
        }
    }

    /// A connection from the peer: use it, or run collision detection (RFC 4271 §6.8).
    async fn inbound(&mut self, stream: TcpStream) {
        let conn = match Connection::new(stream, Direction::Inbound) {
            Ok(conn) => conn,
            Err(err) => {
                debug!(peer = %self.config.address, %err, "inbound connection unusable");
                return;
            }
        };
        if self.fsm.accepts_connection() {
            if let Some(attempt) = self.connecting.take() {
                attempt.abort();
            }
            self.conn = Some(conn);
            self.input(Input::Connected).await;
            return;
        }
        match self.fsm.state() {
            SessionState::Idle | SessionState::Connect | SessionState::Active => {
                // Administratively down, or held back after failing again and again.
                refuse(conn, cease::CONNECTION_REJECTED, &self.fsm);
            }
            SessionState::OpenSent | SessionState::OpenConfirm => {
                if self.candidate.is_some() {
                    refuse(conn, cease::CONNECTION_COLLISION, &self.fsm);
                    return;
                }
                let (tx, rx) = oneshot::channel();
                let our_open = self.fsm.our_open(Instant::now());
                tokio::spawn(async move {
                    let _ = tx.send(open_exchange(conn, our_open).await);
                });
                self.candidate = Some(rx);
            }
            SessionState::Established if self.restarting_peer() => {
                // RFC 4724 §4.2: a peer that keeps its forwarding state across a restart may
                // connect again before we noticed its old connection go; that one ended.
                info!(peer = %self.config.address, "new connection from a graceful-restart peer: its old session ended");
                self.input(Input::ConnectionLost).await;
                if self.fsm.accepts_connection() {
                    self.conn = Some(conn);
                    self.input(Input::Connected).await;
                } else {
                    refuse(conn, cease::CONNECTION_REJECTED, &self.fsm);
                }
            }
            SessionState::Established => {
                refuse(conn, cease::CONNECTION_COLLISION, &self.fsm);
            }
        }
    }

    /// Whether the peer of the current session restarts gracefully (it listed families in
    /// its Graceful Restart capability and we advertised ours).
    fn restarting_peer(&self) -> bool {
        self.fsm
            .negotiated()
            .and_then(|n| n.graceful_restart.as_ref())
            .is_some_and(|g| !g.peer_families.is_empty())
    }

    /// The second connection sent its OPEN: keep the connection opened by the speaker with
    /// the higher BGP identifier and close the other with Cease/7.
    async fn resolve_collision(&mut self, candidate: Connection, open: Open) {
        let existing_outbound = self
            .conn
            .as_ref()
            .is_some_and(|c| c.direction == Direction::Outbound);
        let keep_candidate = match self.fsm.state() {
            SessionState::OpenSent | SessionState::OpenConfirm => {
                !existing_outbound || self.fsm.peer_initiated_wins(open.bgp_id)
            }
            SessionState::Established => false,
            SessionState::Idle => false,
            SessionState::Connect | SessionState::Active => true,
        };
        if !keep_candidate {
            info!(peer = %self.config.address, "connection collision: keeping the existing connection");
            refuse(candidate, cease::CONNECTION_COLLISION, &self.fsm);
            return;
        }
        info!(peer = %self.config.address, "connection collision: keeping the peer's connection");
        if let Some(mut old) = self.conn.take() {
            let n = Notification::new(
                crate::packet::notification::CEASE,
                cease::CONNECTION_COLLISION,
            );
            let _ = old.queue(&Message::Notification(n));
            tokio::spawn(old.close(CLOSE_FLUSH));
        }
        if let Some(attempt) = self.connecting.take() {
            attempt.abort();
        }
        self.conn = Some(candidate);
        self.count_received(&Message::Open(open.clone()));
        let actions = self.fsm.adopt_connection(open, Instant::now());
        self.apply(actions).await;
    }

    /// Hands the core what waits for it, as far as its channel takes it; the core is gone
    /// when `permit` is `None` (then nothing will take the messages).
    fn flush_outbox(&mut self, permit: Option<mpsc::OwnedPermit<FromPeer>>) {
        let Some(permit) = permit else {
            self.outbox.clear();
            return;
        };
        if let Some(message) = self.outbox.pop_front() {
            permit.send(message);
        }
        while let Some(message) = self.outbox.pop_front() {
            if let Err(err) = self.core.try_send(message) {
                match err {
                    mpsc::error::TrySendError::Full(message) => self.outbox.push_front(message),
                    mpsc::error::TrySendError::Closed(_) => self.outbox.clear(),
                }
                return;
            }
        }
    }

    /// Sends a message to the core without waiting: it waits in the outbox, in order, when
    /// the core's channel is full.
    fn send_to_core(&mut self, message: FromPeer) {
        if !self.outbox.is_empty() {
            self.outbox.push_back(message);
            return;
        }
        if let Err(mpsc::error::TrySendError::Full(message)) = self.core.try_send(message) {
            self.outbox.push_back(message);
        }
    }

    /// Decodes and handles every whole message buffered, until the outbox is full (the
    /// rest stays buffered until the core takes what waits).
    async fn drain_input(&mut self) {
        loop {
            if self.outbox.len() >= OUTBOX_LIMIT {
                return;
            }
            let Some(conn) = self.conn.as_mut() else {
                return;
            };
            let Some(received) = conn.next_buffered() else {
                return;
            };
            match received {
                Received::Message(decoded) => {
                    let decoded = *decoded;
                    for issue in &decoded.issues {
                        warn!(peer = %self.config.address, action = ?issue.action, attribute = issue.type_code, reason = %issue.reason, "malformed attribute in UPDATE (RFC 7606)");
                    }
                    if let Message::RouteRefresh(rr) = &decoded.message {
                        if rr.subtype != RefreshSubtype::Request {
                            warn!(peer = %self.config.address, subtype = rr.subtype.octet(), afi_safi = %rr.afi_safi, "ROUTE-REFRESH that is no request ignored (RFC 7313)");
                        }
                    }
                    self.count_received(&decoded.message);
                    self.input(Input::Message(decoded.message)).await;
                }
                Received::Malformed(err) => {
                    let notification = err.notification();
                    warn!(peer = %self.config.address, error = %err, notification = %notification, "malformed message; resetting the session");
                    self.input(Input::DecodeError(notification)).await;
                }
            }
        }
    }

    /// Whether the session may start: not administratively down, not held by BFD.
    fn may_start(&self) -> bool {
        !self.config.shutdown && !self.bfd_held
    }

    async fn input(&mut self, input: Input) {
        let actions = self.fsm.handle(input, Instant::now());
        self.apply(actions).await;
    }

    async fn apply(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Connect => self.start_connect(),
                Action::Send(message) => {
                    if let Some(conn) = self.conn.as_mut() {
                        match conn.queue(&message) {
                            Ok(()) => count(&mut self.status, &message, false),
                            Err(err) => {
                                warn!(peer = %self.config.address, %err, "cannot encode message")
                            }
                        }
                    }
                }
                Action::Close => self.close_connection(),
                Action::StateChange { from, to } => self.state_change(from, to).await,
                Action::Up(negotiated) => {
                    self.generation += 1;
                    let local = self.conn.as_ref().map(|c| c.local);
                    let Some(local) = local else { continue };
                    info!(peer = %self.config.address, peer_as = negotiated.peer_as, "BGP session established");
                    self.with_status(|s| {
                        s.established_count += 1;
                        s.prefixes_sent = 0;
                        s.prefixes_received = 0;
                    });
                    let msg = FromPeer::Up {
                        peer: self.config.address,
                        generation: self.generation,
                        negotiated,
                        local,
                    };
                    self.send_to_core(msg);
                }
                Action::Down(reason) => {
                    info!(peer = %self.config.address, %reason, "BGP session down");
                    let was_established = self.status.lock().is_ok_and(|s| s.negotiated.is_some());
                    self.with_status(|s| {
                        if was_established {
                            s.dropped_count += 1;
                        }
                        s.last_reset = Some((reason.clone(), Instant::now()));
                        s.negotiated = None;
                    });
                    let msg = FromPeer::Down {
                        peer: self.config.address,
                        generation: self.generation,
                        reason,
                    };
                    self.send_to_core(msg);
                }
                Action::Update(update) => {
                    let msg = FromPeer::Update {
                        peer: self.config.address,
                        generation: self.generation,
                        update,
                    };
                    self.send_to_core(msg);
                }
                Action::RouteRefresh(afi_safi) => {
                    let msg = FromPeer::RouteRefresh {
                        peer: self.config.address,
                        generation: self.generation,
                        afi_safi,
                    };
                    self.send_to_core(msg);
                }
            }
        }
        let next_start = self.fsm.deadline(Timer::IdleHold);
        let next_connect = self.fsm.deadline(Timer::ConnectRetry);
        self.with_status(|s| {
            s.next_start = next_start;
            s.next_connect = next_connect;
        });
        // Once the OPENs are exchanged, decode and encode with the negotiated options.
        if let (Some(negotiated), Some(conn)) = (self.fsm.negotiated(), self.conn.as_mut()) {
            conn.set_options(
                DecodeOptions {
                    four_octet_as: negotiated.four_octet_as,
                    external: negotiated.peer_as != self.fsm.config().local_as,
                },
                EncodeOptions {
                    four_octet_as: negotiated.four_octet_as,
                },
            );
            let negotiated = negotiated.clone();
            self.with_status(|s| s.negotiated = Some(negotiated));
        }
    }

    async fn state_change(&mut self, from: SessionState, to: SessionState) {
        debug!(peer = %self.config.address, %from, %to, "state change");
        let (local, remote) = match self.conn.as_ref() {
            Some(c) => (Some(c.local), Some(c.remote)),
            None => (None, None),
        };
        self.with_status(|s| {
            s.state = to;
            if from == SessionState::Established || to == SessionState::Established {
                s.state_since = Instant::now();
                s.state_since_wall = SystemTime::now();
            }
            s.local = local;
            s.remote = remote;
        });
        let msg = FromPeer::State {
            peer: self.config.address,
            from,
            to,
        };
        self.send_to_core(msg);
    }

    fn start_connect(&mut self) {
        if let Some(old) = self.connecting.take() {
            old.abort();
        }
        if self.config.passive {
            return;
        }
        let config = self.config.clone();
        let ttl = self.outgoing_ttl();
        self.connecting = Some(tokio::spawn(async move {
            let limit = config.connect_retry.max(Duration::from_secs(1));
            match timeout(limit, connect(&config, ttl)).await {
                Ok(result) => result,
                Err(_) => Err(io::ErrorKind::TimedOut.into()),
            }
        }));
    }

    /// TTL of our packets: 1 for directly connected eBGP peers (as FRR), the multihop value
    /// when set, the system default for iBGP.
    fn outgoing_ttl(&self) -> Option<u32> {
        let config = self.fsm.config();
        let ebgp = match config.remote_as {
            crate::fsm::RemoteAs::Asn(asn) => asn != config.local_as,
            crate::fsm::RemoteAs::External => true,
            crate::fsm::RemoteAs::Internal => false,
        };
        match (ebgp, self.config.ebgp_multihop) {
            (true, Some(hops)) => Some(u32::from(hops)),
            (true, None) if !self.config.address.is_loopback() => Some(1),
            _ => None,
        }
    }

    fn close_connection(&mut self) {
        if let Some(attempt) = self.connecting.take() {
            attempt.abort();
        }
        if let Some(conn) = self.conn.take() {
            tokio::spawn(conn.close(CLOSE_FLUSH));
        }
    }

    fn count_received(&mut self, message: &Message) {
        count(&mut self.status, message, true);
    }

    fn with_status(&self, f: impl FnOnce(&mut PeerStatus)) {
        if let Ok(mut status) = self.status.lock() {
            f(&mut status);
        }
    }
}

fn count(status: &mut Arc<Mutex<PeerStatus>>, message: &Message, received: bool) {
    let Ok(mut status) = status.lock() else {
        return;
    };
    let counters: &mut MessageCounters = if received {
        &mut status.received
    } else {
        &mut status.sent
    };
    match message {
        Message::Open(_) => counters.opens += 1,
        Message::Update(_) => counters.updates += 1,
        Message::Notification(_) => counters.notifications += 1,
        Message::Keepalive => counters.keepalives += 1,
        Message::RouteRefresh(_) => counters.route_refreshes += 1,
    }
}

/// Closes a connection we do not want, telling the peer why.
fn refuse(mut conn: Connection, subcode: u8, fsm: &Fsm) {
    debug!(remote = %conn.remote, state = %fsm.state(), subcode, "refusing connection");
    let n = Notification::new(crate::packet::notification::CEASE, subcode);
    let _ = conn.queue(&Message::Notification(n));
    tokio::spawn(conn.close(CLOSE_FLUSH));
}

/// Runs the OPEN exchange on the second connection of a collision: sends our OPEN, waits
/// for the peer's.
async fn open_exchange(mut conn: Connection, our_open: Open) -> Option<(Connection, Open)> {
    conn.queue(&Message::Open(our_open)).ok()?;
    let exchange = async {
        loop {
            if conn.has_output() {
                conn.flush_some().await.ok()?;
                continue;
            }
            match conn.next_buffered() {
                Some(Received::Message(decoded)) => match decoded.message {
                    Message::Open(open) => return Some(open),
                    _ => return None,
                },
                Some(_) => return None,
                None => {
                    if !conn.fill().await {
                        return None;
                    }
                }
            }
        }
    };
    let open = timeout(COLLISION_OPEN_WAIT, exchange).await.ok()??;
    Some((conn, open))
}

/// Opens a TCP connection to the peer: bound to the update-source, with the MD5 key and TTL
/// set before the SYN leaves.
async fn connect(config: &PeerConfig, ttl: Option<u32>) -> io::Result<TcpStream> {
    let remote = config.socket_addr();
    let socket = match remote {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    if let Some(local) = config.local_address {
        socket.bind(SocketAddr::new(local, 0))?;
    }
    if let Some(password) = &config.password {
        set_md5_key(&socket, config.address, password.as_bytes()).map_err(io::Error::other)?;
    }
    let stream = socket.connect(remote).await?;
    if let Some(ttl) = ttl {
        stream.set_ttl(ttl)?;
    }
    Ok(stream)
}

async fn join_connect(
    attempt: &mut Option<JoinHandle<io::Result<TcpStream>>>,
) -> io::Result<TcpStream> {
    match attempt.as_mut() {
        Some(handle) => match handle.await {
            Ok(result) => result,
            Err(err) => Err(io::Error::other(err)),
        },
        None => std::future::pending().await,
    }
}

async fn candidate_ready(candidate: &mut Option<Candidate>) -> Option<(Connection, Open)> {
    match candidate.as_mut() {
        Some(rx) => rx.await.ok().flatten(),
        None => std::future::pending().await,
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(at) => sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Waits until the connection has input (when `can_read`) or (when output is queued) can
/// take some.
async fn read_or_write(conn: Option<&mut Connection>, has_output: bool, can_read: bool) -> Event {
    let Some(conn) = conn else {
        return std::future::pending().await;
    };
    let Connection { reader, writer, .. } = conn;
    tokio::select! {
        ok = reader.fill(), if can_read => Event::Readable(ok),
        res = writer.flush_some(), if has_output => Event::Written(res),
        else => std::future::pending().await,
    }
}
