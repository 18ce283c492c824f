//! The kernel FIB against a real kernel: each test creates its own network namespace (with
//! a veth pair for on-link gateways), runs its body as a child process inside it
//! (`ip netns exec NS <this test binary> --exact BODY --ignored`), reads the kernel table
//! with `ip -j route show proto bgp`, and removes the namespace even when the body fails.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::IpAddr;
use std::process::Command;

use ipnet::IpNet;
use mini_router::fib::{BGP_METRIC, Fib, FibChange, FibError, FibRoute, RTPROT_BGP};
use serde_json::Value;

const NS_ENV: &str = "MINI_ROUTER_FIB_NETNS";

/// A network namespace that is deleted when dropped.
struct Netns(String);

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Netns {
    fn create(tag: &str) -> Netns {
        let name = format!("mrfib-{tag}-{}", std::process::id());
        ip(&["netns", "add", &name]);
        let ns = Netns(name);
        let n = ns.0.as_str();
        ip(&["-n", n, "link", "set", "lo", "up"]);
        ip(&[
            "-n", n, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
        ]);
        ip(&["-n", n, "link", "set", "veth1", "up"]);
        ip(&["-n", n, "addr", "add", "10.77.0.1/24", "dev", "veth0"]);
        ip(&[
            "-n",
            n,
            "addr",
            "add",
            "2001:db8:77::1/64",
            "dev",
            "veth0",
            "nodad",
        ]);
        ip(&["-n", n, "link", "set", "veth0", "up"]);
        ns
    }

    /// Runs the ignored test `body` of this binary inside the namespace, `wrapper` first
    /// (e.g. setpriv to drop a capability).
    fn run_body(&self, body: &str, wrapper: &[&str]) {
        let exe = std::env::current_exe().unwrap();
        let status = Command::new("ip")
            .args(["netns", "exec", &self.0])
            .args(wrapper)
            .arg(exe)
            .args([
                "--exact",
                body,
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(NS_ENV, &self.0)
            .status()
            .expect("run the test body");
        assert!(status.success(), "{body} failed inside {}", self.0);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Refuses to run a body anywhere but in the namespace its parent test created, so a stray
/// `--ignored` run never touches the host's routes.
fn enter_body() -> String {
    let ns = std::env::var(NS_ENV).expect("this body runs only inside its parent test's namespace");
    let ours = std::fs::metadata("/proc/self/ns/net").unwrap();
    let theirs = std::fs::metadata(format!("/run/netns/{ns}")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        (ours.dev(), ours.ino()),
        (theirs.dev(), theirs.ino()),
        "not inside {ns}"
    );
    ns
}

/// `ip -j [-6] route show proto bgp`, as (dst, gateways, metric).
fn kernel_bgp_routes(v6: bool) -> Vec<(String, Vec<String>, u64)> {
    let mut cmd = Command::new("ip");
    if v6 {
        cmd.arg("-6");
    }
    let out = cmd
        .args(["-j", "route", "show", "proto", "bgp"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let routes: Vec<Value> = if text.trim().is_empty() {
        vec![]
    } else {
        serde_json::from_str(&text).unwrap()
    };
    routes
        .iter()
        .map(|r| {
            let dst = r["dst"].as_str().unwrap().to_string();
            let mut gws: Vec<String> = match r["nexthops"].as_array() {
                Some(hops) => hops
                    .iter()
                    .map(|h| h["gateway"].as_str().unwrap().to_string())
                    .collect(),
                None => vec![r["gateway"].as_str().unwrap().to_string()],
            };
            gws.sort();
            (dst, gws, r["metric"].as_u64().unwrap_or(0))
        })
        .collect()
}

fn route(prefix: &str, nexthops: &[&str]) -> FibRoute {
    FibRoute {
        prefix: prefix.parse().unwrap(),
        nexthops: nexthops
            .iter()
            .map(|n| n.parse::<IpAddr>().unwrap())
            .collect(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn fib_installs_replaces_and_removes_routes_in_a_namespace() {
    let ns = Netns::create("ops");
    ns.run_body("fib_ops_body", &[]);
}

#[test]
#[ignore = "runs inside the namespace of fib_installs_replaces_and_removes_routes_in_a_namespace"]
fn fib_ops_body() {
    enter_body();
    runtime().block_on(async {
        let fib = Fib::connect().unwrap();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let metric = u64::from(BGP_METRIC);

        fib.install(&route("198.51.100.0/32", &["10.77.0.3"]))
            .await
            .unwrap();
        assert_eq!(
            kernel_bgp_routes(false),
            vec![("198.51.100.0".into(), s(&["10.77.0.3"]), metric)]
        );

        // A second best path (multipath) replaces the route with two ECMP next hops.
        fib.install(&route("198.51.100.0/32", &["10.77.0.3", "10.77.0.4"]))
            .await
            .unwrap();
        assert_eq!(
            kernel_bgp_routes(false),
            vec![(
                "198.51.100.0".into(),
                s(&["10.77.0.3", "10.77.0.4"]),
                metric
            )]
        );

        fib.install(&route("2001:db8:100::/48", &["2001:db8:77::3"]))
            .await
            .unwrap();
        assert_eq!(
            kernel_bgp_routes(true),
            vec![("2001:db8:100::/48".into(), s(&["2001:db8:77::3"]), metric)]
        );

        // read_routes sees our route and the connected subnet, with interface names.
        let names = fib.interface_names().await.unwrap();
        let routes = fib.read_routes().await.unwrap();
        let ours = routes
            .iter()
            .find(|r| r.protocol == RTPROT_BGP && r.prefix.to_string() == "198.51.100.0/32")
            .unwrap();
        let view = ours.to_view(&names, 200);
        let gws: Vec<String> = view
            .nexthops
            .iter()
            .map(|n| n.gateway.unwrap().to_string())
            .collect();
        assert_eq!(gws, s(&["10.77.0.3", "10.77.0.4"]));
        assert!(
            view.nexthops
                .iter()
                .all(|n| n.interface == "veth0" && n.weight == Some(1))
        );
        let connected = routes
            .iter()
            .find(|r| r.prefix.to_string() == "10.77.0.0/24")
            .unwrap();
        assert_eq!(
            connected.to_view(&names, 0).protocol,
            mini_router::view::RouteProtocol::Connected
        );

        // Withdraw removes it; removing a route that is gone is not an error.
        fib.remove("198.51.100.0/32".parse().unwrap())
            .await
            .unwrap();
        assert!(kernel_bgp_routes(false).is_empty());
        fib.remove("198.51.100.0/32".parse().unwrap())
            .await
            .unwrap();

        // A refused route is reported with its prefix, and the rest of the batch applies.
        let mut changes: Vec<FibChange> = (0..5000u32)
            .map(|i| {
                let prefix = IpNet::new(
                    IpAddr::from([10, 100 + (i / 256) as u8, (i % 256) as u8, 0]),
                    24,
                )
                .unwrap();
                FibChange::Install(FibRoute {
                    prefix,
                    nexthops: vec!["10.77.0.3".parse().unwrap()],
                })
            })
            .collect();
        changes.push(FibChange::Install(route("192.0.2.0/24", &["10.99.0.1"])));
        let report = fib.apply(changes).await.unwrap();
        assert_eq!(report.installed, 5000);
        assert_eq!(report.errors.len(), 1);
        assert!(
            report.errors[0]
                .to_string()
                .starts_with("kernel refused install 192.0.2.0/24"),
            "{}",
            report.errors[0]
        );
        assert_eq!(kernel_bgp_routes(false).len(), 5000);

        // On exit every route of ours goes, and nothing else.
        assert_eq!(fib.remove_all().await.unwrap(), 5001);
        assert!(kernel_bgp_routes(false).is_empty());
        assert!(kernel_bgp_routes(true).is_empty());
        let after = fib.read_routes().await.unwrap();
        assert!(after.iter().any(|r| r.prefix.to_string() == "10.77.0.0/24"));
    });
}

#[test]
fn without_net_admin_the_fib_reports_permission_denied() {
    let ns = Netns::create("eperm");
    ns.run_body(
        "fib_eperm_body",
        &[
            "setpriv",
            "--bounding-set=-net_admin",
            "--inh-caps=-net_admin",
        ],
    );
    // Nothing was installed.
    let out = Command::new("ip")
        .args(["-n", &ns.0, "-j", "route", "show", "proto", "bgp"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.trim().is_empty() || text.trim() == "[]", "{text}");
}

#[test]
#[ignore = "runs inside the namespace of without_net_admin_the_fib_reports_permission_denied"]
fn fib_eperm_body() {
    enter_body();
    runtime().block_on(async {
        let fib = Fib::connect().unwrap();
        let err = fib
            .install(&route("198.51.100.0/32", &["10.77.0.3"]))
            .await
            .unwrap_err();
        assert!(matches!(err, FibError::PermissionDenied), "{err}");
        let batch = vec![FibChange::Install(route("198.51.100.0/32", &["10.77.0.3"]))];
        assert!(matches!(
            fib.apply(batch).await,
            Err(FibError::PermissionDenied)
        ));
        // Reading the table needs no privilege: show ip route still works RIB-only.
        assert!(
            fib.read_routes()
                .await
                .unwrap()
                .iter()
                .any(|r| r.prefix.to_string() == "10.77.0.0/24")
        );
    });
}

#[test]
fn after_a_lag_the_kernel_is_brought_back_to_the_rib_and_follows_it_again() {
    let ns = Netns::create("lag");
    ns.run_body("fib_lag_body", &[]);
}

/// Routes the BGP peer sends in the lag test.
const LAG_ROUTES: u32 = 5000;

fn lag_prefix(i: u32) -> IpNet {
    IpNet::new(
        IpAddr::from([10, 100 + (i / 256) as u8, (i % 256) as u8, 0]),
        24,
    )
    .unwrap()
}

#[test]
#[ignore = "runs inside the namespace of after_a_lag_the_kernel_is_brought_back_to_the_rib_and_follows_it_again"]
fn fib_lag_body() {
    use bgp::{Event, LocalRoute, PeerConfig, RemoteAs, Speaker, SpeakerConfig};
    use mini_router::fib_feed;
    use std::net::SocketAddr;
    use std::time::Duration;
    use tokio::time::{Instant, timeout};

    enter_body();
    runtime().block_on(async {
        let wait = Duration::from_secs(60);
        let fib = Fib::connect().unwrap();
        // What lost changes leave behind: a route the RIB does not have, one with a next hop
        // the RIB does not have.
        fib.install(&route("203.0.113.0/24", &["10.77.0.3"]))
            .await
            .unwrap();
        fib.install(&route(&lag_prefix(0).to_string(), &["10.77.0.9"]))
            .await
            .unwrap();

        // Our end (as mini-router runs it, re-advertising) keeps little for a consumer.
        let ours: IpAddr = "127.0.0.1".parse().unwrap();
        let theirs: IpAddr = "127.0.0.2".parse().unwrap();
        let (speaker, mut events) = Speaker::start(SpeakerConfig {
            local_as: 64512,
            router_id: "10.77.0.1".parse().unwrap(),
            listen: vec![SocketAddr::new(ours, 10179)],
            readvertise: true,
            event_capacity: 4,
            max_pending_changes: 500,
            ..SpeakerConfig::default()
        })
        .await
        .unwrap();
        let mut peer = PeerConfig::new(theirs, RemoteAs::Asn(64513));
        peer.passive = true;
        speaker.add_peer(peer).await.unwrap();

        // The peer, with its table in place before the session comes up.
        let (sender, _sender_events) = Speaker::start(SpeakerConfig {
            local_as: 64513,
            router_id: "10.77.0.2".parse().unwrap(),
            ..SpeakerConfig::default()
        })
        .await
        .unwrap();
        for i in 0..LAG_ROUTES {
            let mut route = LocalRoute::new(lag_prefix(i));
            route.next_hop = Some("10.77.0.2".parse().unwrap());
            sender.announce(route).await.unwrap();
        }
        let mut to_us = PeerConfig::new(ours, RemoteAs::Asn(64512));
        to_us.port = 10179;
        to_us.local_address = Some(theirs);
        to_us.connect_retry = Duration::from_millis(300);
        sender.add_peer(to_us).await.unwrap();

        // Nothing reads the events until the whole table is in the RIB.
        let deadline = Instant::now() + wait;
        loop {
            let peers = speaker.peers().await.unwrap();
            let received: usize = peers[0].received.iter().map(|(_, n)| n).sum();
            if received == LAG_ROUTES as usize {
                break;
            }
            assert!(Instant::now() < deadline, "{received} routes received");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let stats = speaker.instance().await.unwrap().events;
        assert!(stats.missed > 0, "{stats:?}");

        // Reading resumes: what was in the channel, the lag, then nothing more.
        let mut lagged = false;
        while !lagged {
            let event = timeout(wait, events.recv()).await.unwrap().unwrap();
            lagged |= matches!(event, Event::Lagged(_));
            let report = fib_feed::follow(&fib, &event, Some(&speaker))
                .await
                .unwrap();
            assert!(report.is_none_or(|r| r.errors.is_empty()));
        }
        while let Ok(event) = events.try_recv() {
            fib_feed::follow(&fib, &event, Some(&speaker))
                .await
                .unwrap();
        }
        let kernel = kernel_bgp_routes(false);
        assert_eq!(
            kernel.len(),
            LAG_ROUTES as usize,
            "{:?}",
            kernel.iter().take(3).collect::<Vec<_>>()
        );
        assert!(
            kernel
                .iter()
                .all(|(_, gws, _)| gws == &["10.77.0.2".to_owned()]),
            "{kernel:?}"
        );
        assert!(!kernel.iter().any(|(dst, _, _)| dst == "203.0.113.0/24"));

        // After the lag the events are complete again: a withdrawal reaches the kernel.
        let gone = lag_prefix(LAG_ROUTES - 1);
        sender.withdraw(gone).await.unwrap();
        loop {
            let event = timeout(wait, events.recv()).await.unwrap().unwrap();
            fib_feed::follow(&fib, &event, Some(&speaker))
                .await
                .unwrap();
            if matches!(&event, Event::BestPathChanged(c) if c.iter().any(|c| c.prefix == gone)) {
                break;
            }
        }
        let kernel = kernel_bgp_routes(false);
        assert_eq!(kernel.len(), LAG_ROUTES as usize - 1);
        assert!(!kernel.iter().any(|(dst, _, _)| *dst == gone.to_string()));
        speaker.shutdown().await.unwrap();
        sender.shutdown().await.unwrap();
    });
}
