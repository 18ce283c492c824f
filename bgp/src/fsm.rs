//! The BGP finite state machine of RFC 4271 §8, sans I/O.
//!
//! The machine owns no socket and no timer: the session task feeds it [`Input`]s (with the
//! current time) and carries out the [`Action`]s it returns — connect, send, close, report.
//! Timers are deadlines the machine keeps; the task sleeps until [`Fsm::next_deadline`] and
//! then calls [`Fsm::poll_timers`]. Every transition is therefore a plain unit test.
//!
//! A session that goes down restarts by itself (RFC 4271 AutomaticStart) once its
//! IdleHoldTime has passed, growing while the peer keeps failing ([`crate::damping`]).

use std::fmt;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::damping::Damping;
pub use crate::damping::IdleHold;
use crate::graceful_restart::{self, GracefulRestartConfig, GracefulRestartSession};
use crate::packet::message::AS_TRANS;
use crate::packet::notification::{self, cease, open};
use crate::packet::{
    AfiSafi, Capability, Family, Message, Notification, Open, RefreshSubtype, Update,
};

/// The six session states of RFC 4271 §8.2.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SessionState {
    /// Refusing connections; nothing happens until started.
    Idle,
    /// Waiting for an outgoing TCP connection to complete.
    Connect,
    /// Waiting for the peer to connect (or for ConnectRetry to try again).
    Active,
    /// OPEN sent, waiting for the peer's OPEN.
    OpenSent,
    /// OPENs exchanged, waiting for the peer's KEEPALIVE.
    OpenConfirm,
    /// Routes are exchanged.
    Established,
}

impl SessionState {
    /// The state's name as RFC 4271 and FRR write it.
    pub fn name(&self) -> &'static str {
        match self {
            SessionState::Idle => "Idle",
            SessionState::Connect => "Connect",
            SessionState::Active => "Active",
            SessionState::OpenSent => "OpenSent",
            SessionState::OpenConfirm => "OpenConfirm",
            SessionState::Established => "Established",
        }
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which AS a peer must announce in its OPEN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RemoteAs {
    /// Exactly this AS.
    Asn(u32),
    /// Our own AS (iBGP), as FRR's `remote-as internal`.
    Internal,
    /// Any AS but ours (eBGP), as FRR's `remote-as external`.
    External,
}

impl RemoteAs {
    /// Whether `asn` is acceptable for this setting, given our `local_as`.
    pub fn accepts(self, asn: u32, local_as: u32) -> bool {
        match self {
            RemoteAs::Asn(expected) => asn == expected,
            RemoteAs::Internal => asn == local_as,
            RemoteAs::External => asn != local_as,
        }
    }
}

impl fmt::Display for RemoteAs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemoteAs::Asn(asn) => write!(f, "{asn}"),
            RemoteAs::Internal => f.write_str("internal"),
            RemoteAs::External => f.write_str("external"),
        }
    }
}

/// What the machine needs to know about the session it runs.
#[derive(Debug, Clone)]
pub struct FsmConfig {
    /// Our AS.
    pub local_as: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// The AS the peer must have.
    pub remote_as: RemoteAs,
    /// Hold time we propose (0 = no keepalives, else at least 3).
    pub hold_time: u16,
    /// Keepalive interval; `None` = a third of the negotiated hold time.
    pub keepalive: Option<u16>,
    /// Time between connection attempts.
    pub connect_retry: Duration,
    /// How long to stay in Idle after the session went down (DampPeerOscillations).
    pub idle_hold: IdleHold,
    /// Never connect; only accept.
    pub passive: bool,
    /// Families we offer.
    pub families: Vec<Family>,
    /// Graceful restart (RFC 4724); `None`: the capability is not advertised.
    pub graceful_restart: Option<GracefulRestartConfig>,
    /// Until when our OPENs set the Restart State bit: the restart time after the speaker
    /// started (as FRR does), since a speaker cannot tell a restart from a first start.
    pub restart_state_until: Option<Instant>,
}

/// Timers of RFC 4271 §10 that the machine keeps as deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// ConnectRetryTimer.
    ConnectRetry,
    /// HoldTimer.
    Hold,
    /// KeepaliveTimer.
    Keepalive,
    /// IdleHoldTimer: the automatic restart after the session went down (FRR's start timer).
    IdleHold,
}

/// An event fed to the machine.
// Messages are moved once per input; boxing them would cost an allocation per UPDATE.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Start the session (ManualStart, or ManualStart_with_PassiveTcpEstablishment).
    Start,
    /// Stop the session, telling the peer why with a Cease subcode (ManualStop).
    Stop {
        /// Cease subcode sent to the peer if a connection is open.
        subcode: u8,
    },
    /// A TCP connection to or from the peer is ready for the BGP handshake.
    Connected,
    /// The connection attempt failed or the connection was closed.
    ConnectionLost,
    /// A decoded message arrived.
    Message(Message),
    /// The bytes from the peer could not be decoded: send this NOTIFICATION and close.
    DecodeError(Notification),
    /// Close the connection without a NOTIFICATION and stay down until Start: a restarting
    /// speaker leaves this way so that its peers keep its routes (RFC 4724).
    Abandon,
    /// The BFD session bound to this one went down: send Cease/10 (RFC 9384) if a connection
    /// is open and stay in Idle, without automatic restart, until the next [`Input::Start`].
    BfdDown,
}

/// Something the session task must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open an outgoing TCP connection.
    Connect,
    /// Send a message on the connection.
    Send(Message),
    /// Close the TCP connection (after sending anything queued before).
    Close,
    /// The state changed.
    StateChange {
        /// Previous state.
        from: SessionState,
        /// New state.
        to: SessionState,
    },
    /// The session reached Established with these negotiated parameters.
    Up(Negotiated),
    /// An Established session ended, or an attempt failed after the OPEN exchange began.
    Down(DownReason),
    /// Routes to apply to the Adj-RIB-In.
    Update(Update),
    /// The peer asked for our routes again.
    RouteRefresh(AfiSafi),
}

/// Why a session went down, for logs, events and `show ip bgp neighbors` ("Last reset").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownReason {
    /// The peer sent a NOTIFICATION.
    NotificationReceived(Notification),
    /// We sent a NOTIFICATION (decode error, bad OPEN, max-prefix, ...).
    NotificationSent(Notification),
    /// No message from the peer within the hold time.
    HoldTimerExpired,
    /// The TCP connection closed or failed.
    ConnectionClosed,
    /// Stopped by configuration or command.
    AdminStop,
    /// The bound BFD session went down (we sent Cease/10 if a connection was open).
    BfdDown,
}

impl fmt::Display for DownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DownReason::NotificationReceived(n) => write!(f, "NOTIFICATION received: {n}"),
            DownReason::NotificationSent(n) => write!(f, "NOTIFICATION sent: {n}"),
            DownReason::HoldTimerExpired => f.write_str("Hold Timer Expired"),
            DownReason::ConnectionClosed => f.write_str("Connection closed"),
            DownReason::AdminStop => f.write_str("Administratively stopped"),
            DownReason::BfdDown => f.write_str("BFD down received"),
        }
    }
}

/// What both sides agreed on in the OPEN exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The peer's AS.
    pub peer_as: u32,
    /// The peer's BGP identifier.
    pub peer_id: Ipv4Addr,
    /// Hold time in effect (0 = none).
    pub hold_time: u16,
    /// Keepalive interval in effect (0 = none).
    pub keepalive: u16,
    /// Both sides support 4-octet AS numbers.
    pub four_octet_as: bool,
    /// Families both sides offered.
    pub families: Vec<Family>,
    /// The peer supports ROUTE-REFRESH.
    pub route_refresh: bool,
    /// The peer's OPEN, as received (for `show ip bgp neighbors`).
    pub peer_open: Open,
    /// Graceful restart, when both sides advertised it.
    pub graceful_restart: Option<GracefulRestartSession>,
}

/// Hold time used while waiting for the peer's OPEN (RFC 4271 §8.2.2: "a large value").
const OPEN_HOLD_TIME: Duration = Duration::from_secs(240);

/// The session state machine of one peer.
#[derive(Debug, Clone)]
pub struct Fsm {
    config: FsmConfig,
    state: SessionState,
    connect_retry_at: Option<Instant>,
    hold_at: Option<Instant>,
    keepalive_at: Option<Instant>,
    /// When the session starts again by itself (Idle after a failure only).
    idle_hold_at: Option<Instant>,
    damping: Damping,
    negotiated: Option<Negotiated>,
    /// Hold time while OpenConfirm/Established (None until negotiated).
    hold: Option<Duration>,
    keepalive: Option<Duration>,
    /// Our OPEN on the current connection (what the peer knows of us).
    sent_open: Option<Open>,
}

impl Fsm {
    /// A machine in Idle.
    pub fn new(config: FsmConfig) -> Self {
        Fsm {
            config,
            state: SessionState::Idle,
            connect_retry_at: None,
            hold_at: None,
            keepalive_at: None,
            idle_hold_at: None,
            damping: Damping::default(),
            negotiated: None,
            hold: None,
            keepalive: None,
            sent_open: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// The parameters negotiated with the peer, once the OPENs were exchanged.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// The configuration in force.
    pub fn config(&self) -> &FsmConfig {
        &self.config
    }

    /// The earliest pending timer deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.connect_retry_at,
            self.hold_at,
            self.keepalive_at,
            self.idle_hold_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// When `timer` fires, if it runs.
    pub fn deadline(&self, timer: Timer) -> Option<Instant> {
        match timer {
            Timer::ConnectRetry => self.connect_retry_at,
            Timer::Hold => self.hold_at,
            Timer::Keepalive => self.keepalive_at,
            Timer::IdleHold => self.idle_hold_at,
        }
    }

    /// Failures in the peer's current series (DampPeerOscillations; 0 when none).
    pub fn failures(&self) -> u32 {
        self.damping.failures()
    }

    /// Whether a connection from the peer is taken now. In Connect and Active, and in Idle
    /// while the automatic restart after a first failure is pending: a peer that restarts is
    /// taken back at once, as FRR does (AutomaticStart_with_PassiveTcpEstablishment). A peer
    /// held back for failing again and again is refused until its IdleHoldTime has passed.
    pub fn accepts_connection(&self) -> bool {
        match self.state {
            SessionState::Connect | SessionState::Active => true,
            SessionState::Idle => self.idle_hold_at.is_some() && !self.damping.holding_back(),
            _ => false,
        }
    }

    /// Fires every timer whose deadline is at or before `now`.
    pub fn poll_timers(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.hold_at.is_some_and(|t| t <= now) {
            self.hold_at = None;
            self.hold_timer_expired(now, &mut actions);
        }
        if self.keepalive_at.is_some_and(|t| t <= now) {
            self.keepalive_at = self.keepalive.map(|k| now + k);
            if matches!(
                self.state,
                SessionState::OpenConfirm | SessionState::Established
            ) {
                actions.push(Action::Send(Message::Keepalive));
            }
        }
        if self.connect_retry_at.is_some_and(|t| t <= now) {
            self.connect_retry_at = None;
            self.connect_retry_expired(now, &mut actions);
        }
        if self.idle_hold_at.is_some_and(|t| t <= now) {
            self.idle_hold_at = None;
            // AutomaticStart.
            self.start(now, &mut actions);
        }
        actions
    }

    /// Handles one input at time `now`.
    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        match input {
            Input::Start => {
                // An operator's start is not a restart after failures.
                self.damping.reset();
                self.start(now, &mut actions);
            }
            Input::Stop { subcode } => {
                if self.has_connection() {
                    let n = Notification::new(notification::CEASE, subcode);
                    actions.push(Action::Send(Message::Notification(n)));
                }
                self.go_idle(DownReason::AdminStop, &mut actions);
                self.connect_retry_at = None;
                self.idle_hold_at = None;
                self.damping.reset();
            }
            Input::Abandon => {
                self.go_idle(DownReason::AdminStop, &mut actions);
                self.connect_retry_at = None;
                self.idle_hold_at = None;
                self.damping.reset();
            }
            Input::Connected => self.connected(now, &mut actions),
            Input::ConnectionLost => self.connection_lost(now, &mut actions),
            Input::Message(message) => self.message(message, now, &mut actions),
            Input::DecodeError(n) => self.fail_with(n, now, &mut actions),
            Input::BfdDown => {
                if self.has_connection() {
                    let n = Notification::new(notification::CEASE, cease::BFD_DOWN);
                    actions.push(Action::Send(Message::Notification(n)));
                }
                self.go_idle(DownReason::BfdDown, &mut actions);
                self.connect_retry_at = None;
                self.idle_hold_at = None;
            }
        }
        actions
    }

    /// Whether a TCP connection exists in the current state.
    fn has_connection(&self) -> bool {
        matches!(
            self.state,
            SessionState::OpenSent | SessionState::OpenConfirm | SessionState::Established
        )
    }

    fn set_state(&mut self, to: SessionState, actions: &mut Vec<Action>) {
        if self.state != to {
            actions.push(Action::StateChange {
                from: self.state,
                to,
            });
            self.state = to;
        }
    }

    fn start(&mut self, now: Instant, actions: &mut Vec<Action>) {
        if self.state != SessionState::Idle {
            return;
        }
        self.idle_hold_at = None;
        if self.config.passive {
            self.set_state(SessionState::Active, actions);
        } else {
            self.set_state(SessionState::Connect, actions);
            actions.push(Action::Connect);
        }
        self.arm_connect_retry(now);
    }

    /// Starts ConnectRetryTimer; a passive peer never connects, so it has none (as FRR).
    fn arm_connect_retry(&mut self, now: Instant) {
        self.connect_retry_at = (!self.config.passive).then(|| now + self.config.connect_retry);
    }

    fn connect_retry_expired(&mut self, now: Instant, actions: &mut Vec<Action>) {
        if matches!(self.state, SessionState::Connect | SessionState::Active)
            && !self.config.passive
        {
            self.arm_connect_retry(now);
            actions.push(Action::Close);
            self.set_state(SessionState::Connect, actions);
            actions.push(Action::Connect);
        }
    }

    fn hold_timer_expired(&mut self, now: Instant, actions: &mut Vec<Action>) {
        if self.has_connection() {
            let n = Notification::new(notification::HOLD_TIMER_EXPIRED, 0);
            actions.push(Action::Send(Message::Notification(n)));
            self.go_idle(DownReason::HoldTimerExpired, actions);
            self.schedule_restart(now);
        }
    }

    fn connected(&mut self, now: Instant, actions: &mut Vec<Action>) {
        if self.state == SessionState::Idle && self.accepts_connection() {
            // The peer came back before our automatic restart: start passively on its
            // connection.
            self.idle_hold_at = None;
            self.set_state(SessionState::Active, actions);
        }
        match self.state {
            SessionState::Connect | SessionState::Active => {
                self.connect_retry_at = None;
                let open = self.our_open(now);
                self.sent_open = Some(open.clone());
                actions.push(Action::Send(Message::Open(open)));
                self.hold_at = Some(now + OPEN_HOLD_TIME);
                self.set_state(SessionState::OpenSent, actions);
            }
            // A connection arriving in any other state is the session task's business
            // (collision detection); the machine itself ignores it.
            _ => {}
        }
    }

    fn connection_lost(&mut self, now: Instant, actions: &mut Vec<Action>) {
        match self.state {
            SessionState::Idle => {}
            SessionState::Connect => {
                // Stay in Connect; ConnectRetry expiry tries again. Passive peers wait in Active.
                actions.push(Action::Close);
                self.set_state(SessionState::Active, actions);
                if self.connect_retry_at.is_none() {
                    self.arm_connect_retry(now);
                }
            }
            SessionState::Active => {}
            SessionState::OpenSent => {
                // RFC 4271: TcpConnectionFails in OpenSent -> Active, restart ConnectRetry.
                actions.push(Action::Close);
                self.clear_session_timers();
                self.negotiated = None;
                self.set_state(SessionState::Active, actions);
                self.arm_connect_retry(now);
            }
            SessionState::OpenConfirm | SessionState::Established => {
                self.go_idle(DownReason::ConnectionClosed, actions);
                self.schedule_restart(now);
            }
        }
    }

    /// Sends `n`, closes and goes to Idle; the session restarts after its IdleHoldTime.
    fn fail_with(&mut self, n: Notification, now: Instant, actions: &mut Vec<Action>) {
        if self.state == SessionState::Idle {
            return;
        }
        actions.push(Action::Send(Message::Notification(n.clone())));
        self.go_idle(DownReason::NotificationSent(n), actions);
        self.schedule_restart(now);
    }

    /// The session failed and is in Idle: it starts again by itself after the IdleHoldTime
    /// of this failure (RFC 4271 AutomaticStart with DampPeerOscillations).
    fn schedule_restart(&mut self, now: Instant) {
        let hold = self.damping.failure(&self.config.idle_hold, now);
        self.connect_retry_at = None;
        self.idle_hold_at = Some(now + hold);
    }

    fn clear_session_timers(&mut self) {
        self.hold_at = None;
        self.keepalive_at = None;
        self.hold = None;
        self.keepalive = None;
    }

    /// Closes any connection and goes to Idle, reporting `reason` when a session (or the OPEN
    /// exchange) was under way.
    fn go_idle(&mut self, reason: DownReason, actions: &mut Vec<Action>) {
        let had_session = self.has_connection();
        if self.state != SessionState::Idle {
            actions.push(Action::Close);
        }
        self.clear_session_timers();
        self.negotiated = None;
        self.set_state(SessionState::Idle, actions);
        if had_session {
            actions.push(Action::Down(reason));
        }
    }

    fn message(&mut self, message: Message, now: Instant, actions: &mut Vec<Action>) {
        if let Message::Notification(n) = message {
            if self.state != SessionState::Idle {
                let had_session = self.has_connection();
                self.go_idle(DownReason::NotificationReceived(n.clone()), actions);
                if !had_session {
                    actions.push(Action::Down(DownReason::NotificationReceived(n)));
                }
                self.schedule_restart(now);
            }
            return;
        }
        match (self.state, message) {
            (SessionState::OpenSent, Message::Open(open)) => match self.check_open(&open) {
                Ok(negotiated) => {
                    let hold = Duration::from_secs(u64::from(negotiated.hold_time));
                    let keepalive = Duration::from_secs(u64::from(negotiated.keepalive));
                    self.hold = (negotiated.hold_time > 0).then_some(hold);
                    self.keepalive = (negotiated.keepalive > 0).then_some(keepalive);
                    self.hold_at = self.hold.map(|h| now + h);
                    self.keepalive_at = self.keepalive.map(|k| now + k);
                    self.negotiated = Some(negotiated);
                    actions.push(Action::Send(Message::Keepalive));
                    self.set_state(SessionState::OpenConfirm, actions);
                }
                Err(n) => self.fail_with(n, now, actions),
            },
            (SessionState::OpenConfirm, Message::Keepalive) => {
                self.restart_hold(now);
                self.set_state(SessionState::Established, actions);
                if let Some(negotiated) = self.negotiated.clone() {
                    actions.push(Action::Up(negotiated));
                }
            }
            (SessionState::Established, Message::Keepalive) => self.restart_hold(now),
            (SessionState::Established, Message::Update(update)) => {
                self.restart_hold(now);
                actions.push(Action::Update(update));
            }
            (SessionState::Established, Message::RouteRefresh(rr)) => {
                self.restart_hold(now);
                // BoRR/EoRR only matter to a speaker that announced Enhanced Route Refresh,
                // which we do not; unknown subtypes are ignored (RFC 7313 §5). The session
                // task logs both.
                if rr.subtype == RefreshSubtype::Request {
                    actions.push(Action::RouteRefresh(rr.afi_safi));
                }
            }
            (SessionState::Idle | SessionState::Connect | SessionState::Active, _) => {
                // No connection in these states: a stray message is dropped.
            }
            (state, _) => {
                // Any other message in OpenSent/OpenConfirm/Established is an FSM error
                // (RFC 4271 §6.6), with the RFC 6608 subcode of the state.
                let subcode = match state {
                    SessionState::OpenSent => 1,
                    SessionState::OpenConfirm => 2,
                    _ => 3,
                };
                let n = Notification::new(notification::FSM_ERROR, subcode);
                self.fail_with(n, now, actions);
            }
        }
    }

    fn restart_hold(&mut self, now: Instant) {
        self.hold_at = self.hold.map(|h| now + h);
    }

    /// Our OPEN message at `now` (the Restart State bit depends on the time).
    pub fn our_open(&self, now: Instant) -> Open {
        let my_as = u16::try_from(self.config.local_as).unwrap_or(AS_TRANS);
        let mut capabilities: Vec<Capability> = self
            .config
            .families
            .iter()
            .map(|f| Capability::Multiprotocol(f.afi_safi()))
            .collect();
        capabilities.push(Capability::RouteRefresh);
        capabilities.push(Capability::FourOctetAs(self.config.local_as));
        if let Some(gr) = &self.config.graceful_restart {
            let restarted = self.config.restart_state_until.is_some_and(|t| now < t);
            capabilities.push(gr.capability(&self.config.families, restarted));
        }
        Open {
            version: 4,
            my_as,
            hold_time: self.config.hold_time,
            bgp_id: self.config.router_id,
            capabilities,
        }
    }

    /// Validates the peer's OPEN (RFC 4271 §6.2) and negotiates the session parameters.
    fn check_open(&self, open: &Open) -> Result<Negotiated, Notification> {
        let peer_as = open.asn();
        if !self.config.remote_as.accepts(peer_as, self.config.local_as) {
            let data = open.my_as.to_be_bytes();
            return Err(Notification::with_data(
                notification::OPEN_MESSAGE_ERROR,
                open::BAD_PEER_AS,
                data,
            ));
        }
        let ibgp = peer_as == self.config.local_as;
        if open.bgp_id.is_unspecified() || (ibgp && open.bgp_id == self.config.router_id) {
            return Err(Notification::with_data(
                notification::OPEN_MESSAGE_ERROR,
                open::BAD_BGP_IDENTIFIER,
                open.bgp_id.octets(),
            ));
        }
        if open.hold_time == 1 || open.hold_time == 2 {
            return Err(Notification::new(
                notification::OPEN_MESSAGE_ERROR,
                open::UNACCEPTABLE_HOLD_TIME,
            ));
        }
        let hold_time = self.config.hold_time.min(open.hold_time);
        let keepalive = match self.config.keepalive {
            _ if hold_time == 0 => 0,
            Some(k) => k.min(hold_time / 3).max(1),
            None => hold_time / 3,
        };
        let offered: Vec<AfiSafi> = open
            .capabilities
            .iter()
            .filter_map(|c| match c {
                Capability::Multiprotocol(pair) => Some(*pair),
                _ => None,
            })
            .collect();
        // A peer without any Multiprotocol capability speaks IPv4 unicast only (RFC 4760 §8).
        let families: Vec<Family> = self
            .config
            .families
            .iter()
            .copied()
            .filter(|f| {
                if offered.is_empty() {
                    *f == Family::Ipv4Unicast
                } else {
                    offered.contains(&f.afi_safi())
                }
            })
            .collect();
        let four_octet_as = open
            .capabilities
            .iter()
            .any(|c| matches!(c, Capability::FourOctetAs(_)));
        let route_refresh = open
            .capabilities
            .iter()
            .any(|c| matches!(c, Capability::RouteRefresh));
        let graceful_restart = GracefulRestartSession::negotiate(
            self.sent_open
                .as_ref()
                .and_then(|o| graceful_restart::last_capability(&o.capabilities)),
            graceful_restart::last_capability(&open.capabilities),
            &families,
        );
        Ok(Negotiated {
            peer_as,
            peer_id: open.bgp_id,
            hold_time,
            keepalive,
            four_octet_as,
            families,
            route_refresh,
            peer_open: open.clone(),
            graceful_restart,
        })
    }

    /// Collision detection (RFC 4271 §6.8): given the peer's BGP identifier (from the OPEN
    /// on the second connection), whether the connection the peer initiated should survive.
    pub fn peer_initiated_wins(&self, peer_id: Ipv4Addr) -> bool {
        u32::from(self.config.router_id) < u32::from(peer_id)
    }

    /// Adopts a replacement connection on which our OPEN was already sent and the peer's OPEN
    /// already received (the winner of a collision): the machine continues as if the
    /// handshake had happened on it.
    pub fn adopt_connection(&mut self, peer_open: Open, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        self.sent_open = Some(self.our_open(now));
        self.clear_session_timers();
        self.negotiated = None;
        self.connect_retry_at = None;
        self.state = SessionState::OpenSent;
        self.hold_at = Some(now + OPEN_HOLD_TIME);
        self.message(Message::Open(peer_open), now, &mut actions);
        actions
    }
}

/// Cease subcode sent when one of two colliding connections is closed.
pub const COLLISION_SUBCODE: u8 = cease::CONNECTION_COLLISION;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::packet::notification::{FSM_ERROR, HOLD_TIMER_EXPIRED, OPEN_MESSAGE_ERROR};

    fn config(passive: bool) -> FsmConfig {
        FsmConfig {
            local_as: 64512,
            router_id: Ipv4Addr::new(10, 0, 0, 1),
            remote_as: RemoteAs::Asn(64512),
            hold_time: 90,
            keepalive: None,
            connect_retry: Duration::from_secs(5),
            idle_hold: IdleHold::DEFAULT,
            passive,
            families: vec![Family::Ipv4Unicast],
            graceful_restart: None,
            restart_state_until: None,
        }
    }

    fn peer_open(asn: u16, id: [u8; 4], hold: u16) -> Open {
        Open {
            version: 4,
            my_as: asn,
            hold_time: hold,
            bgp_id: Ipv4Addr::from(id),
            capabilities: vec![Capability::Multiprotocol(Family::Ipv4Unicast.afi_safi())],
        }
    }

    fn sent_notification(actions: &[Action]) -> Option<&Notification> {
        actions.iter().find_map(|a| match a {
            Action::Send(Message::Notification(n)) => Some(n),
            _ => None,
        })
    }

    /// Drives a machine to Established and returns it with the time used.
    fn established() -> (Fsm, Instant) {
        let now = Instant::now();
        let mut fsm = Fsm::new(config(false));
        fsm.handle(Input::Start, now);
        reestablish(&mut fsm, now);
        (fsm, now)
    }

    /// Takes a machine in Connect, Active (or Idle taking a connection) to Established at `now`.
    fn reestablish(fsm: &mut Fsm, now: Instant) {
        fsm.handle(Input::Connected, now);
        fsm.handle(
            Input::Message(Message::Open(peer_open(64512, [10, 0, 0, 2], 9))),
            now,
        );
        let actions = fsm.handle(Input::Message(Message::Keepalive), now);
        assert!(actions.iter().any(|a| matches!(a, Action::Up(_))));
    }

    /// Drops an Established session `n` times in a row from `now`, each time coming back as
    /// soon as the restart is due; returns the idle hold of each drop.
    fn flap(fsm: &mut Fsm, mut now: Instant, n: usize) -> Vec<Duration> {
        let mut holds = Vec::new();
        for _ in 0..n {
            fsm.handle(Input::ConnectionLost, now);
            let hold = restart_in(fsm, now);
            holds.push(hold);
            now += hold;
            fsm.poll_timers(now);
            reestablish(fsm, now);
        }
        holds
    }

    /// How long after `now` the automatic restart is due.
    fn restart_in(fsm: &Fsm, now: Instant) -> Duration {
        fsm.deadline(Timer::IdleHold)
            .expect("an automatic restart is scheduled")
            .duration_since(now)
    }

    fn open_sent(fsm: &Fsm) -> Open {
        fsm.sent_open.clone().expect("an OPEN was sent")
    }

    fn graceful(mode_restart: bool) -> FsmConfig {
        let mut cfg = config(false);
        cfg.graceful_restart = Some(if mode_restart {
            GracefulRestartConfig::RESTART
        } else {
            GracefulRestartConfig::HELPER
        });
        cfg
    }

    #[test]
    fn graceful_restart_is_advertised_only_when_configured() {
        let now = Instant::now();
        let mut plain = Fsm::new(config(false));
        plain.handle(Input::Start, now);
        plain.handle(Input::Connected, now);
        assert_eq!(
            graceful_restart::last_capability(&open_sent(&plain).capabilities),
            None
        );
        let mut helper = Fsm::new(graceful(false));
        helper.handle(Input::Start, now);
        helper.handle(Input::Connected, now);
        let gr = open_sent(&helper);
        let gr = graceful_restart::last_capability(&gr.capabilities).unwrap();
        assert_eq!((gr.restart_time, gr.families.len()), (120, 0));
    }

    #[test]
    fn the_restart_state_bit_is_set_for_the_restart_time_after_the_start() {
        let now = Instant::now();
        let mut cfg = graceful(true);
        cfg.restart_state_until = Some(now + Duration::from_secs(120));
        let fsm = Fsm::new(cfg);
        let r_bit = |at: Instant| {
            let open = fsm.our_open(at);
            graceful_restart::last_capability(&open.capabilities)
                .unwrap()
                .restart_state
        };
        assert!(r_bit(now));
        assert!(r_bit(now + Duration::from_secs(119)));
        assert!(!r_bit(now + Duration::from_secs(120)));
    }

    #[test]
    fn graceful_restart_is_negotiated_when_both_advertise_it() {
        let now = Instant::now();
        let peer_gr = Capability::GracefulRestart(crate::packet::GracefulRestart {
            restart_state: true,
            notification: true,
            restart_time: 90,
            families: vec![crate::packet::GracefulRestartFamily {
                afi_safi: Family::Ipv4Unicast.afi_safi(),
                forwarding_preserved: true,
            }],
        });
        let mut open = peer_open(64512, [10, 0, 0, 2], 90);
        open.capabilities.push(peer_gr);
        for (ours, want) in [
            (config(false), None),
            (
                graceful(true),
                Some((vec![(Family::Ipv4Unicast, true)], vec![Family::Ipv4Unicast])),
            ),
            (
                graceful(false),
                Some((vec![(Family::Ipv4Unicast, true)], vec![])),
            ),
        ] {
            let mut fsm = Fsm::new(ours);
            fsm.handle(Input::Start, now);
            fsm.handle(Input::Connected, now);
            fsm.handle(Input::Message(Message::Open(open.clone())), now);
            let got = fsm
                .negotiated()
                .unwrap()
                .graceful_restart
                .as_ref()
                .map(|g| (g.peer_families.clone(), g.local_families.clone()));
            assert_eq!(got, want);
        }
        // A peer without the capability: nothing negotiated, whatever we sent.
        let mut fsm = Fsm::new(graceful(true));
        fsm.handle(Input::Start, now);
        fsm.handle(Input::Connected, now);
        fsm.handle(
            Input::Message(Message::Open(peer_open(64512, [10, 0, 0, 2], 90))),
            now,
        );
        assert_eq!(fsm.negotiated().unwrap().graceful_restart, None);
    }

    #[test]
    fn abandon_closes_without_notification_and_stays_down() {
        let (mut fsm, now) = established();
        let actions = fsm.handle(Input::Abandon, now);
        assert!(sent_notification(&actions).is_none());
        assert!(actions.contains(&Action::Close));
        assert!(actions.contains(&Action::Down(DownReason::AdminStop)));
        assert_eq!(fsm.state(), SessionState::Idle);
        assert_eq!(fsm.next_deadline(), None);
    }

    #[test]
    fn start_connects_actively_and_waits_passively() {
        let now = Instant::now();
        let mut active = Fsm::new(config(false));
        let actions = active.handle(Input::Start, now);
        assert_eq!(active.state(), SessionState::Connect);
        assert!(actions.contains(&Action::Connect));

        let mut passive = Fsm::new(config(true));
        let actions = passive.handle(Input::Start, now);
        assert_eq!(passive.state(), SessionState::Active);
        assert!(!actions.contains(&Action::Connect));
    }

    #[test]
    fn handshake_reaches_established_with_negotiated_hold_time() {
        let (fsm, _) = established();
        assert_eq!(fsm.state(), SessionState::Established);
        let n = fsm.negotiated().unwrap();
        assert_eq!((n.hold_time, n.keepalive), (9, 3));
        assert_eq!(n.families, vec![Family::Ipv4Unicast]);
    }

    #[test]
    fn connected_sends_open_with_four_octet_as_and_as_trans() {
        let now = Instant::now();
        let mut cfg = config(false);
        cfg.local_as = 4_200_000_000;
        cfg.remote_as = RemoteAs::External;
        let mut fsm = Fsm::new(cfg);
        fsm.handle(Input::Start, now);
        let actions = fsm.handle(Input::Connected, now);
        let open = actions
            .iter()
            .find_map(|a| match a {
                Action::Send(Message::Open(o)) => Some(o.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(open.my_as, AS_TRANS);
        assert!(
            open.capabilities
                .contains(&Capability::FourOctetAs(4_200_000_000))
        );
        assert_eq!(fsm.state(), SessionState::OpenSent);
    }

    #[test]
    fn wrong_peer_as_is_refused_with_2_2() {
        let now = Instant::now();
        let mut fsm = Fsm::new(config(false));
        fsm.handle(Input::Start, now);
        fsm.handle(Input::Connected, now);
        let actions = fsm.handle(
            Input::Message(Message::Open(peer_open(64999, [10, 0, 0, 2], 90))),
            now,
        );
        let n = sent_notification(&actions).unwrap();
        assert_eq!((n.code, n.subcode), (OPEN_MESSAGE_ERROR, open::BAD_PEER_AS));
        assert_eq!(fsm.state(), SessionState::Idle);
        assert!(actions.contains(&Action::Close));
    }

    #[test]
    fn ibgp_peer_with_our_router_id_is_refused_with_2_3() {
        let now = Instant::now();
        let mut fsm = Fsm::new(config(false));
        fsm.handle(Input::Start, now);
        fsm.handle(Input::Connected, now);
        let actions = fsm.handle(
            Input::Message(Message::Open(peer_open(64512, [10, 0, 0, 1], 90))),
            now,
        );
        let n = sent_notification(&actions).unwrap();
        assert_eq!(
            (n.code, n.subcode),
            (OPEN_MESSAGE_ERROR, open::BAD_BGP_IDENTIFIER)
        );
    }

    #[test]
    fn hold_time_of_two_is_refused_with_2_6() {
        let now = Instant::now();
        let mut fsm = Fsm::new(config(false));
        fsm.handle(Input::Start, now);
        fsm.handle(Input::Connected, now);
        let actions = fsm.handle(
            Input::Message(Message::Open(peer_open(64512, [10, 0, 0, 2], 2))),
            now,
        );
        let n = sent_notification(&actions).unwrap();
        assert_eq!(
            (n.code, n.subcode),
            (OPEN_MESSAGE_ERROR, open::UNACCEPTABLE_HOLD_TIME)
        );
    }

    #[test]
    fn remote_as_internal_and_external_accept_the_right_peers() {
        assert!(RemoteAs::Internal.accepts(64512, 64512));
        assert!(!RemoteAs::Internal.accepts(64513, 64512));
        assert!(RemoteAs::External.accepts(64513, 64512));
        assert!(!RemoteAs::External.accepts(64512, 64512));
    }

    #[test]
    fn hold_timer_expiry_sends_notification_4_0_and_goes_idle() {
        let (mut fsm, now) = established();
        assert!(
            fsm.poll_timers(now + Duration::from_secs(8))
                .iter()
                .all(|a| !matches!(a, Action::Down(_)))
        );
        let actions = fsm.poll_timers(now + Duration::from_secs(10));
        let n = sent_notification(&actions).unwrap();
        assert_eq!((n.code, n.subcode), (HOLD_TIMER_EXPIRED, 0));
        assert!(actions.contains(&Action::Down(DownReason::HoldTimerExpired)));
        assert_eq!(fsm.state(), SessionState::Idle);
    }

    #[test]
    fn keepalive_from_peer_restarts_the_hold_timer() {
        let (mut fsm, now) = established();
        fsm.handle(
            Input::Message(Message::Keepalive),
            now + Duration::from_secs(8),
        );
        let actions = fsm.poll_timers(now + Duration::from_secs(10));
        assert!(sent_notification(&actions).is_none());
        assert_eq!(fsm.state(), SessionState::Established);
    }

    #[test]
    fn keepalives_are_sent_every_third_of_the_hold_time() {
        let (mut fsm, now) = established();
        let actions = fsm.poll_timers(now + Duration::from_secs(3));
        assert!(actions.contains(&Action::Send(Message::Keepalive)));
        assert_eq!(fsm.next_deadline(), Some(now + Duration::from_secs(6)));
    }

    #[test]
    fn session_down_restarts_within_a_second_not_after_connect_retry() {
        for down in [
            Input::ConnectionLost,
            Input::Message(Message::Notification(Notification::new(6, 2))),
            Input::DecodeError(Notification::new(1, 2)),
        ] {
            let (mut fsm, now) = established();
            fsm.handle(down.clone(), now);
            assert_eq!(fsm.state(), SessionState::Idle, "{down:?}");
            assert!(restart_in(&fsm, now) <= Duration::from_secs(1), "{down:?}");
            assert_eq!(fsm.next_deadline(), fsm.deadline(Timer::IdleHold));
            assert_eq!(fsm.deadline(Timer::ConnectRetry), None);
            let at = fsm.deadline(Timer::IdleHold).unwrap();
            assert!(fsm.poll_timers(at - Duration::from_millis(1)).is_empty());
            let actions = fsm.poll_timers(at);
            assert!(actions.contains(&Action::Connect), "{down:?}");
            assert_eq!(fsm.state(), SessionState::Connect);
            assert_eq!(fsm.deadline(Timer::IdleHold), None);
        }
    }

    #[test]
    fn hold_timer_expiry_restarts_within_a_second() {
        let (mut fsm, now) = established();
        let expired = now + Duration::from_secs(9);
        fsm.poll_timers(expired);
        assert_eq!(fsm.state(), SessionState::Idle);
        assert!(restart_in(&fsm, expired) <= Duration::from_secs(1));
    }

    #[test]
    fn passive_peer_restarts_into_active_without_a_connect_timer() {
        let now = Instant::now();
        let mut fsm = Fsm::new(config(true));
        fsm.handle(Input::Start, now);
        assert_eq!(fsm.deadline(Timer::ConnectRetry), None);
        reestablish(&mut fsm, now);
        fsm.handle(Input::ConnectionLost, now);
        let at = fsm.deadline(Timer::IdleHold).unwrap();
        let actions = fsm.poll_timers(at);
        assert!(!actions.contains(&Action::Connect));
        assert_eq!(fsm.state(), SessionState::Active);
        assert_eq!(fsm.next_deadline(), None);
    }

    #[test]
    fn a_restarting_peer_is_taken_back_before_our_own_restart() {
        let (mut fsm, now) = established();
        fsm.handle(Input::ConnectionLost, now);
        assert!(fsm.accepts_connection());
        let actions = fsm.handle(Input::Connected, now + Duration::from_millis(10));
        assert!(
            actions
                .iter()
                .any(|a| matches!(a, Action::Send(Message::Open(_))))
        );
        assert_eq!(fsm.state(), SessionState::OpenSent);
        assert_eq!(fsm.deadline(Timer::IdleHold), None);
        assert!(actions.contains(&Action::StateChange {
            from: SessionState::Idle,
            to: SessionState::Active
        }));
    }

    #[test]
    fn repeated_flaps_grow_the_idle_hold_up_to_a_minute() {
        let (mut fsm, now) = established();
        let holds: Vec<u64> = flap(&mut fsm, now, 9)
            .iter()
            .map(Duration::as_secs)
            .collect();
        assert_eq!(holds, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(fsm.failures(), 9);
    }

    #[test]
    fn a_peer_held_back_is_refused_until_its_idle_hold_passed() {
        let (mut fsm, now) = established();
        fsm.handle(Input::ConnectionLost, now);
        reestablish(&mut fsm, now);
        fsm.handle(Input::ConnectionLost, now);
        assert_eq!(restart_in(&fsm, now), Duration::from_secs(2));
        assert!(!fsm.accepts_connection());
        let actions = fsm.handle(Input::Connected, now);
        assert!(actions.is_empty());
        assert_eq!(fsm.state(), SessionState::Idle);
        fsm.poll_timers(now + Duration::from_secs(2));
        assert!(fsm.accepts_connection());
    }

    #[test]
    fn a_session_stable_for_five_minutes_restarts_within_a_second_again() {
        let (mut fsm, now) = established();
        let up_since = now + flap(&mut fsm, now, 5).iter().sum::<Duration>();
        // Up for four minutes, then down: still the same series.
        let mut unstable = fsm.clone();
        let t = up_since + Duration::from_secs(240);
        unstable.handle(Input::ConnectionLost, t);
        assert_eq!(restart_in(&unstable, t), Duration::from_secs(32));
        // Up for five minutes: the peer is stable again.
        let t = up_since + IdleHold::DEFAULT.stable;
        fsm.handle(Input::ConnectionLost, t);
        assert_eq!(restart_in(&fsm, t), Duration::from_secs(1));
        assert_eq!(fsm.failures(), 1);
    }

    #[test]
    fn an_operator_clear_forgets_the_flaps() {
        let (mut fsm, now) = established();
        fsm.handle(Input::ConnectionLost, now);
        reestablish(&mut fsm, now);
        fsm.handle(Input::ConnectionLost, now);
        assert_eq!(fsm.failures(), 2);
        fsm.handle(Input::Stop { subcode: 4 }, now);
        assert_eq!(fsm.next_deadline(), None);
        fsm.handle(Input::Start, now);
        reestablish(&mut fsm, now);
        fsm.handle(Input::ConnectionLost, now);
        assert_eq!(restart_in(&fsm, now), Duration::from_secs(1));
    }

    #[test]
    fn a_failed_open_exchange_counts_as_a_failure() {
        let now = Instant::now();
        let mut fsm = Fsm::new(config(false));
        fsm.handle(Input::Start, now);
        let mut holds = Vec::new();
        let mut t = now;
        for _ in 0..3 {
            fsm.handle(Input::Connected, t);
            fsm.handle(
                Input::Message(Message::Open(peer_open(64999, [10, 0, 0, 2], 90))),
                t,
            );
            let hold = restart_in(&fsm, t);
            holds.push(hold.as_secs());
            t += hold;
            fsm.poll_timers(t);
        }
        assert_eq!(holds, [1, 2, 4]);
    }

    #[test]
    fn notification_from_peer_is_reported_as_received() {
        let (mut fsm, now) = established();
        let n = Notification::new(6, 2);
        let actions = fsm.handle(Input::Message(Message::Notification(n.clone())), now);
        assert!(actions.contains(&Action::Down(DownReason::NotificationReceived(n))));
        assert!(sent_notification(&actions).is_none());
    }

    #[test]
    fn notification_during_open_exchange_is_reported_too() {
        let now = Instant::now();
        let mut fsm = Fsm::new(config(false));
        fsm.handle(Input::Start, now);
        fsm.handle(Input::Connected, now);
        let n = Notification::new(2, 2);
        let actions = fsm.handle(Input::Message(Message::Notification(n.clone())), now);
        assert!(actions.contains(&Action::Down(DownReason::NotificationReceived(n))));
    }

    #[test]
    fn update_before_established_is_an_fsm_error_5_2() {
        let now = Instant::now();
        let mut fsm = Fsm::new(config(false));
        fsm.handle(Input::Start, now);
        fsm.handle(Input::Connected, now);
        fsm.handle(
            Input::Message(Message::Open(peer_open(64512, [10, 0, 0, 2], 90))),
            now,
        );
        let actions = fsm.handle(Input::Message(Message::Update(Update::default())), now);
        let n = sent_notification(&actions).unwrap();
        assert_eq!((n.code, n.subcode), (FSM_ERROR, 2));
    }

    #[test]
    fn updates_in_established_are_passed_on() {
        let (mut fsm, now) = established();
        let actions = fsm.handle(Input::Message(Message::Update(Update::default())), now);
        assert_eq!(actions, vec![Action::Update(Update::default())]);
    }

    #[test]
    fn stop_sends_cease_and_does_not_restart() {
        let (mut fsm, now) = established();
        let actions = fsm.handle(
            Input::Stop {
                subcode: cease::ADMIN_SHUTDOWN,
            },
            now,
        );
        let n = sent_notification(&actions).unwrap();
        assert_eq!(
            (n.code, n.subcode),
            (notification::CEASE, cease::ADMIN_SHUTDOWN)
        );
        assert_eq!(fsm.next_deadline(), None);
    }

    #[test]
    fn bfd_down_sends_cease_10_and_stays_idle_until_started() {
        let (mut fsm, now) = established();
        let actions = fsm.handle(Input::BfdDown, now);
        let n = sent_notification(&actions).unwrap();
        assert_eq!((n.code, n.subcode), (notification::CEASE, cease::BFD_DOWN));
        assert!(actions.contains(&Action::Down(DownReason::BfdDown)));
        assert_eq!(fsm.state(), SessionState::Idle);
        assert_eq!(fsm.next_deadline(), None, "no automatic restart");
        assert!(
            !fsm.accepts_connection(),
            "the peer's connections are refused"
        );
        fsm.handle(Input::Start, now + Duration::from_secs(1));
        assert_eq!(fsm.state(), SessionState::Connect);
    }

    #[test]
    fn bfd_down_cancels_a_pending_restart_without_sending_anything() {
        let (mut fsm, now) = established();
        fsm.handle(Input::ConnectionLost, now);
        assert!(fsm.deadline(Timer::IdleHold).is_some());
        let actions = fsm.handle(Input::BfdDown, now);
        assert_eq!(sent_notification(&actions), None);
        assert_eq!(fsm.next_deadline(), None);
        assert!(!fsm.accepts_connection());
        assert!(fsm.poll_timers(now + Duration::from_secs(600)).is_empty());
    }

    #[test]
    fn decode_error_sends_the_given_notification() {
        let (mut fsm, now) = established();
        let n = Notification::new(3, 10);
        let actions = fsm.handle(Input::DecodeError(n.clone()), now);
        assert_eq!(sent_notification(&actions), Some(&n));
        assert!(actions.contains(&Action::Down(DownReason::NotificationSent(n))));
    }

    #[test]
    fn failed_connect_falls_back_to_active_and_retries() {
        let now = Instant::now();
        let mut fsm = Fsm::new(config(false));
        fsm.handle(Input::Start, now);
        fsm.handle(Input::ConnectionLost, now);
        assert_eq!(fsm.state(), SessionState::Active);
        let actions = fsm.poll_timers(now + Duration::from_secs(5));
        assert!(actions.contains(&Action::Connect));
    }

    #[test]
    fn collision_keeps_the_connection_of_the_higher_identifier() {
        let fsm = Fsm::new(config(false));
        assert!(fsm.peer_initiated_wins(Ipv4Addr::new(10, 0, 0, 2)));
        assert!(!fsm.peer_initiated_wins(Ipv4Addr::new(9, 0, 0, 1)));
    }

    #[test]
    fn adopted_connection_continues_to_open_confirm() {
        let now = Instant::now();
        let mut fsm = Fsm::new(config(false));
        fsm.handle(Input::Start, now);
        fsm.handle(Input::Connected, now);
        let actions = fsm.adopt_connection(peer_open(64512, [10, 0, 0, 2], 90), now);
        assert!(actions.contains(&Action::Send(Message::Keepalive)));
        assert_eq!(fsm.state(), SessionState::OpenConfirm);
    }
}
