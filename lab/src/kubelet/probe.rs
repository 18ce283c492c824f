//! Liveness and readiness probes as the kubelet runs them: `httpGet` (a status from 200 to
//! 399 is a success) and `tcpSocket` (a connection is), every `periodSeconds` after
//! `initialDelaySeconds`, each given `timeoutSeconds`; a result flips only after
//! `successThreshold` or `failureThreshold` results in a row. [`Probe::from_spec`] and
//! [`Tracker`] are pure; [`check`] does one probe from the kubelet's network namespace.

use std::net::IpAddr;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Probe as ProbeSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What a probe does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `GET path` on `host:port`.
    Http {
        /// The address; `None`: the pod's IP.
        host: Option<String>,
        /// The port.
        port: u16,
        /// The path.
        path: String,
    },
    /// A TCP connection to `host:port`.
    Tcp {
        /// The address; `None`: the pod's IP.
        host: Option<String>,
        /// The port.
        port: u16,
    },
}

/// One probe of one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// What it does.
    pub action: Action,
    /// Wait before the first probe.
    pub initial_delay: Duration,
    /// Between probes.
    pub period: Duration,
    /// For one probe.
    pub timeout: Duration,
    /// Successes in a row that make it pass.
    pub success_threshold: u32,
    /// Failures in a row that make it fail.
    pub failure_threshold: u32,
}

fn seconds(value: Option<i32>, default: u64) -> Duration {
    Duration::from_secs(value.and_then(|v| u64::try_from(v).ok()).unwrap_or(default))
}

fn count(value: Option<i32>, default: u32) -> u32 {
    value
        .and_then(|v| u32::try_from(v).ok())
        .filter(|v| *v > 0)
        .unwrap_or(default)
}

impl Probe {
    /// The probe `spec` of `container`, or why the lab cannot run it (an `exec` or `grpc`
    /// probe, an unknown named port, an HTTPS probe).
    pub fn from_spec(spec: &ProbeSpec, container: &Container) -> Result<Probe, String> {
        let port = |p: &IntOrString| -> Result<u16, String> {
            match p {
                IntOrString::Int(n) => {
                    u16::try_from(*n).map_err(|_| format!("port {n} is out of range"))
                }
                IntOrString::String(name) => container
                    .ports
                    .iter()
                    .flatten()
                    .find(|cp| cp.name.as_deref() == Some(name.as_str()))
                    .and_then(|cp| u16::try_from(cp.container_port).ok())
                    .ok_or_else(|| format!("the container has no port named {name:?}")),
            }
        };
        let action = if let Some(http) = &spec.http_get {
            if http
                .scheme
                .as_deref()
                .is_some_and(|s| !s.eq_ignore_ascii_case("http"))
            {
                return Err("the lab runs only plain-HTTP probes".to_owned());
            }
            Action::Http {
                host: http.host.clone().filter(|h| !h.is_empty()),
                port: port(&http.port)?,
                path: http.path.clone().unwrap_or_else(|| "/".to_owned()),
            }
        } else if let Some(tcp) = &spec.tcp_socket {
            Action::Tcp {
                host: tcp.host.clone().filter(|h| !h.is_empty()),
                port: port(&tcp.port)?,
            }
        } else {
            return Err("the lab runs only httpGet and tcpSocket probes".to_owned());
        };
        Ok(Probe {
            action,
            initial_delay: seconds(spec.initial_delay_seconds, 0),
            period: seconds(spec.period_seconds, 10),
            timeout: seconds(spec.timeout_seconds, 1),
            success_threshold: count(spec.success_threshold, 1),
            failure_threshold: count(spec.failure_threshold, 3),
        })
    }
}

/// The result of a probe over time.
#[derive(Debug, Clone)]
pub struct Tracker {
    passing: Option<bool>,
    streak: u32,
    last: Option<bool>,
}

impl Tracker {
    /// A tracker whose result is `initial` until enough results say otherwise (readiness
    /// starts failed, liveness passed, as the kubelet starts them).
    pub fn new(initial: bool) -> Tracker {
        Tracker {
            passing: Some(initial),
            streak: 0,
            last: None,
        }
    }

    /// Records one probe result; returns the overall result when it changes.
    pub fn record(&mut self, ok: bool, probe: &Probe) -> Option<bool> {
        self.streak = if self.last == Some(ok) {
            self.streak + 1
        } else {
            1
        };
        self.last = Some(ok);
        let threshold = if ok {
            probe.success_threshold
        } else {
            probe.failure_threshold
        };
        if self.streak >= threshold && self.passing != Some(ok) {
            self.passing = Some(ok);
            return Some(ok);
        }
        None
    }

    /// Whether the probe passes now.
    pub fn passing(&self) -> bool {
        self.passing == Some(true)
    }
}

/// Runs `probe` once against a container whose pod has address `pod_ip`.
pub async fn check(probe: &Probe, pod_ip: IpAddr) -> bool {
    let target = |host: &Option<String>, port: u16| match host {
        Some(h) => format!("{h}:{port}"),
        None => std::net::SocketAddr::new(pod_ip, port).to_string(),
    };
    let attempt = async {
        match &probe.action {
            Action::Tcp { host, port } => TcpStream::connect(target(host, *port)).await.is_ok(),
            Action::Http { host, port, path } => {
                let addr = target(host, *port);
                http_status(&addr, path)
                    .await
                    .is_some_and(|s| (200..400).contains(&s))
            }
        }
    };
    tokio::time::timeout(probe.timeout, attempt)
        .await
        .unwrap_or(false)
}

/// The status code of `GET path` on `addr`, as the kubelet's prober asks it.
async fn http_status(addr: &str, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: kube-probe/1.36\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut head = [0u8; 64];
    let mut got = 0;
    while got < 12 {
        let n = stream.read(head.get_mut(got..)?).await.ok()?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let line = std::str::from_utf8(head.get(..got)?).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container() -> Container {
        serde_json::from_value(serde_json::json!({
            "name": "controller", "ports": [{"name": "health", "containerPort": 17472}]
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn spec(v: serde_json::Value) -> ProbeSpec {
        serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_manifests_probes_with_named_ports_and_defaults() {
        let p = Probe::from_spec(
            &spec(serde_json::json!({"httpGet": {"path": "/readyz", "port": "health"}, "periodSeconds": 5})),
            &container(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            p,
            Probe {
                action: Action::Http {
                    host: None,
                    port: 17472,
                    path: "/readyz".into()
                },
                initial_delay: Duration::ZERO,
                period: Duration::from_secs(5),
                timeout: Duration::from_secs(1),
                success_threshold: 1,
                failure_threshold: 3,
            }
        );
        let p = Probe::from_spec(
            &spec(serde_json::json!({"tcpSocket": {"port": 7472, "host": "127.0.0.1"}})),
            &container(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            p.action,
            Action::Tcp {
                host: Some("127.0.0.1".into()),
                port: 7472
            }
        );
    }

    #[test]
    fn probes_the_lab_cannot_run_say_why() {
        for (v, want) in [
            (
                serde_json::json!({"exec": {"command": ["true"]}}),
                "only httpGet and tcpSocket",
            ),
            (
                serde_json::json!({"httpGet": {"port": "nope"}}),
                "no port named \"nope\"",
            ),
            (
                serde_json::json!({"httpGet": {"port": 1, "scheme": "HTTPS"}}),
                "plain-HTTP",
            ),
        ] {
            let err = Probe::from_spec(&spec(v), &container())
                .err()
                .unwrap_or_default();
            assert!(err.contains(want), "{err}");
        }
    }

    #[test]
    fn results_flip_after_their_thresholds() {
        let p = Probe::from_spec(
            &spec(serde_json::json!({"tcpSocket": {"port": 1}, "successThreshold": 2, "failureThreshold": 3})),
            &container(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut t = Tracker::new(false);
        assert_eq!(t.record(true, &p), None);
        assert_eq!(t.record(true, &p), Some(true));
        assert!(t.passing());
        assert_eq!(t.record(false, &p), None);
        assert_eq!(
            t.record(true, &p),
            None,
            "a success breaks the failure streak"
        );
        assert_eq!(t.record(false, &p), None);
        assert_eq!(t.record(false, &p), None);
        assert_eq!(t.record(false, &p), Some(false));
        assert!(!t.passing());
    }

    #[tokio::test]
    async fn http_and_tcp_checks_against_a_real_listener() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let server = tokio::spawn(async move {
            for status in ["200 OK", "503 Service Unavailable"] {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes())
                    .await;
            }
        });
        let lo: IpAddr = "127.0.0.1".parse().unwrap_or_else(|e| panic!("{e}"));
        let http = Probe {
            action: Action::Http {
                host: None,
                port,
                path: "/readyz".into(),
            },
            initial_delay: Duration::ZERO,
            period: Duration::from_secs(1),
            timeout: Duration::from_secs(5),
            success_threshold: 1,
            failure_threshold: 1,
        };
        assert!(check(&http, lo).await, "200 passes");
        assert!(!check(&http, lo).await, "503 fails");
        let _ = server.await;
        let tcp = Probe {
            action: Action::Tcp {
                host: Some("127.0.0.1".into()),
                port,
            },
            ..http
        };
        assert!(!check(&tcp, lo).await, "nothing listens any more");
    }
}
