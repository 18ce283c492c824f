//! Pure renderers from the view model to the exact text FRR 8.4 prints for the same state
//! (and its JSON forms). No I/O: the caller collects the view, these functions lay it out.

pub mod bfd;
pub mod bgp;
pub mod community;
pub mod graceful_restart;
pub mod json;
pub mod route;
pub mod system;
pub mod time;
