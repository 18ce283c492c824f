//! The endpoint over loopback, asked with raw HTTP/1.1 requests on a TCP socket.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::k8s_metrics::K8sClientMetrics;

/// Upper bound for anything a test waits for; only a hang guard, never a measured time.
const GUARD: Duration = Duration::from_secs(20);

struct Reply {
    status: u16,
    head: String,
    body: String,
}

async fn request(addr: SocketAddr, method: &str, path: &str) -> Reply {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        let req = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        stream.write_all(req.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&raw).into_owned())
    };
    let raw = match tokio::time::timeout(GUARD, exchange).await {
        Ok(Ok(raw)) => raw,
        Ok(Err(e)) => panic!("{method} {path} on {addr}: {e}"),
        Err(_) => panic!("{method} {path} on {addr}: no answer"),
    };
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {raw:?}"));
    Reply {
        status,
        head: head.to_ascii_lowercase(),
        body: body.to_owned(),
    }
}

struct Running {
    addrs: Vec<SocketAddr>,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), HttpError>>,
}

impl Running {
    async fn stop(self) {
        self.shutdown.cancel();
        match tokio::time::timeout(GUARD, self.task).await {
            Ok(Ok(Ok(()))) => {}
            other => panic!("the server did not stop cleanly: {other:?}"),
        }
    }
}

async fn start(server: Server, endpoints: Endpoints) -> Running {
    let addrs = server.local_addrs();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(server.serve(endpoints, shutdown.clone()));
    Running {
        addrs,
        shutdown,
        task,
    }
}

async fn loopback_listener() -> TcpListener {
    match TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await {
        Ok(l) => l,
        Err(e) => panic!("binding 127.0.0.1:0: {e}"),
    }
}

fn endpoints_with_k8s_metrics() -> (Endpoints, K8sClientMetrics) {
    let mut registry = Registry::default();
    let metrics = K8sClientMetrics::register(&mut registry);
    let endpoints = Endpoints {
        registry: Arc::new(registry),
        readiness: Readiness::new(),
    };
    (endpoints, metrics)
}

async fn start_on_loopback(endpoints: Endpoints) -> Running {
    let server =
        Server::from_listeners(vec![loopback_listener().await]).unwrap_or_else(|e| panic!("{e}"));
    start(server, endpoints).await
}

#[tokio::test]
async fn metrics_serves_the_registry_as_openmetrics_text() {
    let (endpoints, metrics) = endpoints_with_k8s_metrics();
    metrics.updates.inc_by(3);
    metrics.config_applied();
    let server = start_on_loopback(endpoints).await;
    let reply = request(server.addrs[0], "GET", "/metrics").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply
            .head
            .contains("content-type: application/openmetrics-text; version=1.0.0; charset=utf-8"),
        "{}",
        reply.head
    );
    assert!(
        reply
            .body
            .contains("\nmetallb_k8s_client_updates_total 3\n"),
        "{}",
        reply.body
    );
    assert!(
        reply
            .body
            .contains("\nmetallb_k8s_client_config_loaded_bool 1\n"),
        "{}",
        reply.body
    );
    assert!(reply.body.ends_with("# EOF\n"), "{}", reply.body);
    server.stop().await;
}

#[tokio::test]
async fn healthz_answers_and_unknown_paths_are_404() {
    let (endpoints, _) = endpoints_with_k8s_metrics();
    endpoints.readiness.condition("never met");
    let server = start_on_loopback(endpoints).await;
    let addr = server.addrs[0];

    let health = request(addr, "GET", "/healthz").await;
    assert_eq!(
        (health.status, health.body.as_str()),
        (200, "ok\n"),
        "liveness does not wait for readiness"
    );
    let missing = request(addr, "GET", "/metricsx").await;
    assert_eq!(
        (missing.status, missing.body.as_str()),
        (404, "404 page not found\n")
    );
    let root = request(addr, "GET", "/").await;
    assert_eq!(root.status, 404);
    let post = request(addr, "POST", "/metrics").await;
    assert_eq!(post.status, 405, "only GET (and HEAD) are answered");
    server.stop().await;
}

#[tokio::test]
async fn readyz_is_503_naming_what_it_waits_for_until_every_condition_holds() {
    let (endpoints, _) = endpoints_with_k8s_metrics();
    let caches = endpoints.readiness.condition("caches synced");
    let config = endpoints.readiness.condition("configuration loaded");
    let server = start_on_loopback(endpoints).await;
    let addr = server.addrs[0];

    let reply = request(addr, "GET", "/readyz").await;
    assert_eq!(reply.status, 503);
    assert_eq!(
        reply.body,
        "not ready: waiting for caches synced, configuration loaded\n"
    );

    caches.met();
    let reply = request(addr, "GET", "/readyz").await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (503, "not ready: waiting for configuration loaded\n")
    );

    config.met();
    let reply = request(addr, "GET", "/readyz").await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "ok\n"));

    caches.unmet();
    let reply = request(addr, "GET", "/readyz").await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (503, "not ready: waiting for caches synced\n")
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_stops_accepting_connections() {
    let (endpoints, _) = endpoints_with_k8s_metrics();
    let server = start_on_loopback(endpoints).await;
    let addr = server.addrs[0];
    assert_eq!(request(addr, "GET", "/healthz").await.status, 200);
    server.stop().await;
    match TcpStream::connect(addr).await {
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}"),
        Ok(_) => panic!("{addr} still accepts connections after shutdown"),
    }
}

#[tokio::test]
async fn all_addresses_listener_answers_on_ipv4_and_ipv6_loopback() {
    let (endpoints, _) = endpoints_with_k8s_metrics();
    let server = Server::bind(&[ListenAddress::All(0)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let server = start(server, endpoints).await;
    let port = server.addrs[0].port();
    for ip in [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ] {
        let reply = request(SocketAddr::new(ip, port), "GET", "/healthz").await;
        assert_eq!(reply.status, 200, "via {ip}");
    }
    server.stop().await;
}

#[tokio::test]
async fn two_listeners_serve_the_same_endpoints() {
    let (endpoints, metrics) = endpoints_with_k8s_metrics();
    metrics.update_errors.inc();
    let server = Server::from_listeners(vec![loopback_listener().await, loopback_listener().await])
        .unwrap_or_else(|e| panic!("{e}"));
    let server = start(server, endpoints).await;
    assert_eq!(server.addrs.len(), 2);
    for &addr in &server.addrs {
        let reply = request(addr, "GET", "/metrics").await;
        assert!(
            reply
                .body
                .contains("\nmetallb_k8s_client_update_errors_total 1\n"),
            "{addr}: {}",
            reply.body
        );
        assert_eq!(request(addr, "GET", "/readyz").await.status, 200, "{addr}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_taken_port_is_an_error_naming_the_address() {
    let taken = loopback_listener().await;
    let addr = taken.local_addr().unwrap_or_else(|e| panic!("{e}"));
    match Server::bind(&[ListenAddress::At(addr)]).await {
        Err(e @ HttpError::Bind { .. }) => {
            let text = e.to_string();
            assert!(
                text.starts_with(&format!("cannot listen on {addr} for metrics")),
                "{text}"
            );
        }
        other => panic!("binding a taken port gave {other:?}"),
    }
}

#[test]
fn listen_addresses_follow_the_flags() {
    let host: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 192, 0, 3));
    let table: &[(u16, u16, Option<IpAddr>, &[ListenAddress])] = &[
        (
            7472,
            17472,
            None,
            &[ListenAddress::All(7472), ListenAddress::All(17472)],
        ),
        (
            7472,
            17472,
            Some(host),
            &[
                ListenAddress::At(SocketAddr::new(host, 7472)),
                ListenAddress::All(17472),
            ],
        ),
        (7472, 7472, None, &[ListenAddress::All(7472)]),
        (0, 17472, None, &[ListenAddress::All(17472)]),
        (
            7472,
            0,
            Some(host),
            &[ListenAddress::At(SocketAddr::new(host, 7472))],
        ),
        (0, 0, None, &[]),
    ];
    for (metrics, health, host, expected) in table {
        assert_eq!(
            listen_addresses(*metrics, *health, *host),
            *expected,
            "--port={metrics} --health-probe-port={health} --host={host:?}"
        );
    }
}

#[tokio::test]
async fn shutdown_is_not_held_up_by_an_idle_keep_alive_connection() {
    let (endpoints, _) = endpoints_with_k8s_metrics();
    let server = start_on_loopback(endpoints).await;
    // A scraper that keeps its connection open between scrapes.
    let mut scraper = TcpStream::connect(server.addrs[0])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let req = "GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n";
    scraper
        .write_all(req.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(GUARD, scraper.read(&mut buf))
        .await
        .unwrap_or_else(|_| panic!("no answer"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&buf[..n])
    );
    server.stop().await;
    let n = tokio::time::timeout(GUARD, scraper.read(&mut buf))
        .await
        .unwrap_or_else(|_| panic!("the idle connection was not closed"))
        .unwrap_or(0);
    assert_eq!(n, 0, "the server closes the idle connection on shutdown");
}
