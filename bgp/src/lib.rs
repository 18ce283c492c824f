//! BGP-4 for ferrolb: the wire codec, the session state machine, sessions on tokio and the
//! routing information bases (Adj-RIB-In, Loc-RIB with best path and multipath).
//!
//! No Kubernetes and no CLI live here: the `speaker` and `mini-router` binaries build on
//! this crate's public API.

pub mod fsm;
pub mod md5;
pub mod packet;
pub mod rib;
