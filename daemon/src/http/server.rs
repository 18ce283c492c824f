//! Binding the endpoint's listeners and serving them until shutdown.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use futures::future::try_join_all;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::routes::{Endpoints, router};

/// An address the endpoint listens on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListenAddress {
    /// Every address of the host, IPv6 and IPv4 (Go's `:port`).
    All(u16),
    /// One address.
    At(SocketAddr),
}

impl fmt::Display for ListenAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddress::All(port) => write!(f, "*:{port}"),
            ListenAddress::At(addr) => write!(f, "{addr}"),
        }
    }
}

/// Why the endpoint could not listen or serve.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// A listening socket could not be opened.
    #[error("cannot listen on {address} for metrics and health probes: {source}")]
    Bind {
        /// The address asked for.
        address: ListenAddress,
        /// The socket error.
        #[source]
        source: io::Error,
    },
    /// A listener failed while serving.
    #[error("serving metrics and health probes on {address}: {source}")]
    Serve {
        /// The listener's address.
        address: SocketAddr,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// The listeners of a daemon: metrics on `metrics_port` (on `host` if given, else every
/// address) and health probes on `health_probe_port` (every address, so a probe of
/// `127.0.0.1` reaches it as MetalLB's manifests expect). Port 0 turns a listener off; when
/// both are the same address, one listener serves both. Every listener serves every path.
pub fn listen_addresses(
    metrics_port: u16,
    health_probe_port: u16,
    host: Option<IpAddr>,
) -> Vec<ListenAddress> {
    let metrics = match host {
        Some(ip) => ListenAddress::At(SocketAddr::new(ip, metrics_port)),
        None => ListenAddress::All(metrics_port),
    };
    let mut out = Vec::new();
    if metrics_port != 0 {
        out.push(metrics);
    }
    let health = ListenAddress::All(health_probe_port);
    if health_probe_port != 0 && !out.contains(&health) {
        out.push(health);
    }
    out
}

/// Opens a listening socket on `address`. "All addresses" is the IPv6 wildcard, which on
/// Linux also accepts IPv4; where IPv6 is unavailable it falls back to the IPv4 wildcard.
pub async fn bind(address: ListenAddress) -> Result<TcpListener, HttpError> {
    let err = |source| HttpError::Bind { address, source };
    match address {
        ListenAddress::At(addr) => TcpListener::bind(addr).await.map_err(err),
        ListenAddress::All(port) => {
            match TcpListener::bind((Ipv6Addr::UNSPECIFIED, port)).await {
                Ok(l) => Ok(l),
                // The port is taken: IPv4 would be taken too, and that error is the clear one.
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => Err(err(e)),
                Err(_) => TcpListener::bind((Ipv4Addr::UNSPECIFIED, port))
                    .await
                    .map_err(err),
            }
        }
    }
}

/// The bound listeners of the metrics/health endpoint, not yet serving.
#[derive(Debug)]
pub struct Server {
    listeners: Vec<(TcpListener, SocketAddr)>,
}

impl Server {
    /// Binds every address first, so a taken port fails before anything is served.
    pub async fn bind(addresses: &[ListenAddress]) -> Result<Server, HttpError> {
        let mut listeners = Vec::with_capacity(addresses.len());
        for &address in addresses {
            let listener = bind(address).await?;
            let local = listener
                .local_addr()
                .map_err(|source| HttpError::Bind { address, source })?;
            listeners.push((listener, local));
        }
        Ok(Server { listeners })
    }

    /// Serves already bound listeners (tests bind their own on loopback).
    pub fn from_listeners(listeners: Vec<TcpListener>) -> io::Result<Server> {
        let listeners = listeners
            .into_iter()
            .map(|l| l.local_addr().map(|local| (l, local)))
            .collect::<io::Result<_>>()?;
        Ok(Server { listeners })
    }

    /// The addresses the listeners are bound to (with the real port where 0 was asked).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners.iter().map(|(_, a)| *a).collect()
    }

    /// Answers `/metrics`, `/healthz` and `/readyz` on every listener until `shutdown` is
    /// cancelled, then stops accepting, lets requests in progress finish, and returns.
    pub async fn serve(
        self,
        endpoints: Endpoints,
        shutdown: CancellationToken,
    ) -> Result<(), HttpError> {
        let app = router(endpoints);
        let servers = self.listeners.into_iter().map(|(listener, address)| {
            tracing::info!(
                op = "startup",
                address = %address,
                "serving /metrics, /healthz and /readyz"
            );
            let serve = axum::serve(listener, app.clone())
                .with_graceful_shutdown(shutdown.clone().cancelled_owned());
            async move {
                serve
                    .await
                    .map_err(|source| HttpError::Serve { address, source })
            }
        });
        try_join_all(servers).await.map(|_| ())
    }
}

/// Binds `addresses` and serves `endpoints` on them until `shutdown`: what a daemon's main
/// runs (see [`listen_addresses`] for the addresses from its flags).
pub async fn run(
    addresses: &[ListenAddress],
    endpoints: Endpoints,
    shutdown: CancellationToken,
) -> Result<(), HttpError> {
    Server::bind(addresses)
        .await?
        .serve(endpoints, shutdown)
        .await
}
