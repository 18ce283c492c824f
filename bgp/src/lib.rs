//! BGP-4 for ferrolb: the wire codec, the session state machine, sessions on tokio and the
//! routing information bases (Adj-RIB-In, Loc-RIB with best path and multipath).
//!
//! No Kubernetes and no CLI live here: the `speaker` and `mini-router` binaries build on
//! this crate's public API.

pub mod bfd;
pub mod config;
pub mod damping;
mod engine;
mod event_queue;
pub mod export;
pub mod fsm;
pub mod graceful_restart;
pub mod md5;
pub mod origin;
pub mod packet;
pub mod rib;
pub mod session;
pub mod speaker;

pub use config::{
    BGP_PORT, GracefulRestartConfig, GracefulRestartMode, IdleHold, ListenRange, PeerConfig,
    RemoteAs, SpeakerConfig,
};
pub use event_queue::EventStats;
pub use fsm::{DownReason, Negotiated, SessionState};
pub use graceful_restart::GracefulRestartSession;
pub use origin::{Advertisement, OriginAttributes};
pub use packet::{Family, Origin};
pub use rib::{BestChange, PathView, PeerId, PeerInfo, RouteAttributes, Selected};
pub use session::PeerStatus;
pub use speaker::{
    BfdPeerStatus, Event, GracefulRestartStatus, InstanceView, LocalRoute, PeerSummary, RoutePath,
    RouteView, Speaker, SpeakerError,
};
