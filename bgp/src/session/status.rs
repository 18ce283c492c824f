//! What an operator sees of a session (`show ip bgp neighbors`, `summary`, metrics): state,
//! times, counters and the last error. Written by the session task, read by queries.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use crate::fsm::{DownReason, Negotiated, SessionState};

/// Messages counted per type, as FRR's "Message statistics" table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageCounters {
    /// OPEN messages.
    pub opens: u64,
    /// NOTIFICATION messages.
    pub notifications: u64,
    /// UPDATE messages.
    pub updates: u64,
    /// KEEPALIVE messages.
    pub keepalives: u64,
    /// ROUTE-REFRESH messages.
    pub route_refreshes: u64,
}

impl MessageCounters {
    /// All messages.
    pub fn total(&self) -> u64 {
        self.opens + self.notifications + self.updates + self.keepalives + self.route_refreshes
    }
}

/// A snapshot of one peer's session.
#[derive(Debug, Clone)]
pub struct PeerStatus {
    /// Current state.
    pub state: SessionState,
    /// When the state last changed to or from Established (FRR's Up/Down column).
    pub state_since: Instant,
    /// Wall-clock time of the same moment (for JSON output).
    pub state_since_wall: SystemTime,
    /// Parameters of the current session (None unless OpenConfirm or Established).
    pub negotiated: Option<Negotiated>,
    /// Our end and the peer's end of the current connection.
    pub local: Option<SocketAddr>,
    /// The peer's end of the current connection.
    pub remote: Option<SocketAddr>,
    /// Messages received.
    pub received: MessageCounters,
    /// Messages sent.
    pub sent: MessageCounters,
    /// Times the session reached Established.
    pub established_count: u32,
    /// Times an Established session dropped.
    pub dropped_count: u32,
    /// Why the last session ended, and when.
    pub last_reset: Option<(DownReason, Instant)>,
    /// Prefixes accepted from the peer (all families).
    pub prefixes_received: u64,
    /// Prefixes advertised to the peer (all families).
    pub prefixes_sent: u64,
    /// When the session starts again by itself after going down (FRR's "Next start timer").
    pub next_start: Option<Instant>,
    /// When the next connection attempt is due (FRR's "Next connect timer").
    pub next_connect: Option<Instant>,
    /// Connections from the peer the task has dealt with (taken or refused), so that the
    /// engine can tell whether one it handed over is still on its way.
    pub inbound_handled: u64,
}

impl PeerStatus {
    /// A fresh status in Idle.
    pub fn new() -> Self {
        PeerStatus {
            state: SessionState::Idle,
            state_since: Instant::now(),
            state_since_wall: SystemTime::now(),
            negotiated: None,
            local: None,
            remote: None,
            received: MessageCounters::default(),
            sent: MessageCounters::default(),
            established_count: 0,
            dropped_count: 0,
            last_reset: None,
            prefixes_received: 0,
            prefixes_sent: 0,
            next_start: None,
            next_connect: None,
            inbound_handled: 0,
        }
    }

    /// Time in the current Established state, or since the last change otherwise.
    pub fn up_down(&self) -> Duration {
        self.state_since.elapsed()
    }
}

impl Default for PeerStatus {
    fn default() -> Self {
        Self::new()
    }
}
