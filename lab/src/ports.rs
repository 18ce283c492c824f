//! Free TCP ports for a cluster's components, so that clusters run side by side.
//!
//! A port is found by binding port 0 on the cluster's address; ports handed out by this
//! process are remembered so two clusters of one test binary never get the same one.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::{Mutex, PoisonError};

static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// No free port could be found.
#[derive(Debug, thiserror::Error)]
#[error("cannot find a free TCP port on {addr} for {component}: {source}")]
pub struct NoFreePort {
    /// The address.
    pub addr: IpAddr,
    /// The component the port was for.
    pub component: String,
    /// The bind error.
    pub source: std::io::Error,
}

/// A free port on `addr` for `component`, never one this process handed out before.
pub fn free_port(addr: IpAddr, component: &str) -> Result<u16, NoFreePort> {
    let mut handed = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    let handed = handed.get_or_insert_with(HashSet::new);
    loop {
        let listener =
            TcpListener::bind(SocketAddr::new(addr, 0)).map_err(|source| NoFreePort {
                addr,
                component: component.to_owned(),
                source,
            })?;
        let port = listener
            .local_addr()
            .map_err(|source| NoFreePort {
                addr,
                component: component.to_owned(),
                source,
            })?
            .port();
        if handed.insert(port) {
            return Ok(port);
        }
    }
}

/// Whether `addr:port` can be bound right now.
pub fn is_free(addr: IpAddr, port: u16) -> bool {
    TcpListener::bind(SocketAddr::new(addr, port)).is_ok()
}
