//! BGP sessions on tokio: one task per peer ([`peer`]) owning its TCP connection
//! ([`connection`]) and FSM, and the status it publishes ([`status`]).

pub mod connection;
pub mod peer;
pub mod status;

pub use status::{MessageCounters, PeerStatus};
