//! Bidirectional Forwarding Detection: RFC 5880 asynchronous mode over RFC 5881 single hop
//! (UDP 3784, TTL 255 both ways) and RFC 5883 multihop (UDP 4784), without Echo function,
//! Demand mode or authentication.
//!
//! Split as the BGP side is: [`packet`] is the pure codec of Control packets, [`session`] the
//! sans-I/O state machine of one session (every transition a unit test), [`socket`] the UDP
//! sockets with the TTL checks, and [`service`] the one tokio task that owns every session
//! and reports [`BfdEvent`]s. The BGP engine binds a session to each peer configured with
//! BFD (see `docs/decisions/` on BFD).

pub mod packet;
pub mod service;
pub mod session;
pub mod socket;

pub use packet::{ControlPacket, Diagnostic, PacketError, State};
pub use service::{
    Bfd, BfdError, BfdEvent, Counters, DEFAULT_MINIMUM_TTL, Profile, ServiceConfig, SessionKey,
    SessionSpec, SessionView,
};
pub use session::{Remote, SessionConfig, Timers, Transition};
