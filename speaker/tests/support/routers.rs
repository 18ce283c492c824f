//! The external router of the tests, in the `router` namespace: FRR 8.4's bgpd (from its
//! Debian package, without zebra) or ferrolb's mini-router, both read through their
//! FRR-shaped JSON (`show … json`).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use lab::process::Process;
use serde_json::Value;

use super::net::Netns;

const BGPD: &str = "/usr/lib/frr/bgpd";

/// One path of a prefix as the router holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenPath {
    /// The peer it came from.
    pub from: String,
    /// Its next hop.
    pub next_hop: String,
    /// LOCAL_PREF.
    pub local_pref: Option<u64>,
    /// Standard communities as FRR prints them (`64512:100`, `no-advertise`…).
    pub communities: Vec<String>,
    /// Large communities (`64512:1:2`).
    pub large_communities: Vec<String>,
    /// ORIGIN (`incomplete`, `IGP`…).
    pub origin: String,
}

/// What the tests ask of a router.
pub trait Router {
    /// Runs a `show` command that prints JSON.
    fn show_json(&self, command: &str) -> Result<Value, String>;

    /// The router's log so far (for failure messages).
    fn log(&self) -> String;

    /// Neighbor address → FRR's state name, of one family's summary.
    fn neighbors(&self, ipv6: bool) -> Result<Vec<(String, String)>, String> {
        let command = if ipv6 {
            "show bgp ipv6 unicast summary json"
        } else {
            "show ip bgp summary json"
        };
        let v = self.show_json(command)?;
        let peers = find_key(&v, "peers").ok_or_else(|| format!("no peers in {v}"))?;
        let map = peers
            .as_object()
            .ok_or_else(|| format!("peers not an object: {v}"))?;
        Ok(map
            .iter()
            .map(|(addr, p)| {
                let state = p["state"].as_str().unwrap_or_default().to_owned();
                (addr.clone(), state)
            })
            .collect())
    }

    /// The paths of one prefix (empty when the router has none).
    fn paths(&self, prefix: &str) -> Result<Vec<SeenPath>, String> {
        let command = if prefix.contains(':') {
            format!("show bgp ipv6 unicast {prefix} json")
        } else {
            format!("show ip bgp {prefix} json")
        };
        let v = self.show_json(&command)?;
        let Some(paths) = v["paths"].as_array() else {
            return Ok(Vec::new());
        };
        Ok(paths.iter().map(seen_path).collect())
    }
}

fn find_key<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    if let Some(found) = v.get(key) {
        return Some(found);
    }
    v.as_object()?
        .values()
        .find_map(|child| find_key(child, key))
}

fn words(v: &Value) -> Vec<String> {
    let mut w: Vec<String> = v["string"]
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    w.sort();
    w
}

fn seen_path(p: &Value) -> SeenPath {
    let next_hop = p["nexthops"]
        .as_array()
        .and_then(|hops| {
            hops.iter()
                .find(|h| h["scope"].as_str() != Some("link-local"))
                .or_else(|| hops.first())
        })
        .and_then(|h| h["ip"].as_str())
        .unwrap_or_default()
        .to_owned();
    SeenPath {
        from: p["peer"]["peerId"].as_str().unwrap_or_default().to_owned(),
        next_hop,
        local_pref: p["locPrf"].as_u64(),
        communities: words(&p["community"]),
        large_communities: words(&p["largeCommunity"]),
        origin: p["origin"].as_str().unwrap_or_default().to_owned(),
    }
}

/// FRR's bgpd in a namespace, with its vty socket in a directory of its own.
pub struct Frr {
    process: Process,
    dir: tempfile::TempDir,
}

impl Frr {
    /// Starts bgpd in `ns` with this configuration and waits until its vty answers.
    pub fn start(ns: &Netns, config: &str) -> Frr {
        let dir = tempfile::tempdir().expect("tempdir");
        let conf = dir.path().join("bgpd.conf");
        std::fs::write(&conf, config).expect("write bgpd.conf");
        let args: Vec<String> = vec![
            "-f".into(),
            conf.display().to_string(),
            "-i".into(),
            dir.path().join("bgpd.pid").display().to_string(),
            "--vty_socket".into(),
            dir.path().display().to_string(),
            "-Z".into(),
            "-S".into(),
            "-P".into(),
            "0".into(),
            "--log".into(),
            format!("file:{}", dir.path().join("bgpd.log").display()),
        ];
        let process = Process::spawn(
            "bgpd",
            Path::new(BGPD),
            &args,
            Some(ns.name()),
            &dir.path().join("bgpd.out"),
        )
        .expect("starting bgpd");
        let frr = Frr { process, dir };
        for _ in 0..100 {
            if frr.vtysh(&["show version"]).is_ok() {
                return frr;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("bgpd's vty never answered:\n{}", frr.log());
    }

    /// Runs vtysh commands (`-c` each) against this bgpd.
    pub fn vtysh(&self, commands: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new("vtysh");
        cmd.arg("--vty_socket").arg(self.dir.path());
        for c in commands {
            cmd.arg("-c").arg(c);
        }
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("vtysh: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() || text.contains("% Unknown command") {
            return Err(format!(
                "vtysh {commands:?}: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(text)
    }

    /// `show bgp neighbors ADDR json`'s entry for the neighbor.
    pub fn neighbor(&self, address: &str) -> Result<Value, String> {
        let v = self.show_json(&format!("show bgp neighbors {address} json"))?;
        v.get(address)
            .cloned()
            .ok_or_else(|| format!("no neighbor {address} in {v}"))
    }
}

impl Router for Frr {
    fn show_json(&self, command: &str) -> Result<Value, String> {
        let text = self.vtysh(&[command])?;
        serde_json::from_str(&text).map_err(|e| format!("{command}: {e}: {text}"))
    }

    fn log(&self) -> String {
        let mut s = std::fs::read_to_string(self.dir.path().join("bgpd.log")).unwrap_or_default();
        s.push_str(&self.process.log_tail(20));
        s
    }
}

/// An FRR configuration: AS 64512 at 10.192.0.7, these iBGP neighbors (IPv4 and IPv6
/// addresses, each activated in its own family), and `extra` lines inside `router bgp`.
pub fn frr_config(neighbors: &[&str], extra: &str) -> String {
    let mut s = String::from(
        "frr defaults traditional\nhostname router\ndebug bgp neighbor-events\ndebug bgp updates in\n!\nrouter bgp 64512\n bgp router-id 10.192.0.7\n no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n no bgp network import-check\n",
    );
    for n in neighbors {
        s.push_str(&format!(" neighbor {n} remote-as 64512\n"));
        s.push_str(&format!(" neighbor {n} timers connect 1\n"));
    }
    s.push_str(extra);
    for (family, v6) in [("ipv4", false), ("ipv6", true)] {
        s.push_str(&format!(" address-family {family} unicast\n"));
        for n in neighbors.iter().filter(|n| n.contains(':') == v6) {
            s.push_str(&format!("  neighbor {n} activate\n"));
        }
        s.push_str(" exit-address-family\n");
    }
    s.push_str("!\n");
    s
}

/// mini-router in a namespace, headless, driven over its control socket.
pub struct MiniRouter {
    process: Process,
    socket: std::path::PathBuf,
    binary: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl MiniRouter {
    /// Starts `mini-router ARGS` in `ns` (RIB only) and waits until its control socket
    /// answers.
    pub fn start(binary: &Path, ns: &Netns, args: &[&str]) -> MiniRouter {
        MiniRouter::start_with(binary, ns, args, false)
    }

    /// As [`MiniRouter::start`], installing its best paths in the namespace's kernel table.
    pub fn start_with_fib(binary: &Path, ns: &Netns, args: &[&str]) -> MiniRouter {
        MiniRouter::start_with(binary, ns, args, true)
    }

    fn start_with(binary: &Path, ns: &Netns, args: &[&str], fib: bool) -> MiniRouter {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("mini-router.sock");
        let mut all: Vec<String> = vec!["--socket".into(), socket.display().to_string()];
        if !fib {
            all.push("--no-fib".into());
        }
        all.extend(args.iter().map(|a| (*a).to_owned()));
        let process = Process::spawn(
            "mini-router",
            binary,
            &all,
            Some(ns.name()),
            &dir.path().join("mini-router.log"),
        )
        .expect("starting mini-router");
        let router = MiniRouter {
            process,
            socket,
            binary: binary.to_owned(),
            _dir: dir,
        };
        for _ in 0..150 {
            if router.cli(&["show version"]).is_ok() {
                return router;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("mini-router never answered:\n{}", router.log());
    }

    /// Runs command lines over the control socket.
    pub fn cli(&self, commands: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("--socket").arg(&self.socket);
        for c in commands {
            cmd.arg("-c").arg(c);
        }
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("mini-router -c: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mini-router -c {commands:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Router for MiniRouter {
    fn show_json(&self, command: &str) -> Result<Value, String> {
        let text = self.cli(&[command])?;
        serde_json::from_str(&text).map_err(|e| format!("{command}: {e}: {text}"))
    }

    fn log(&self) -> String {
        self.process.log_tail(40)
    }
}

/// Waits until the router has every one of `neighbors` Established.
pub async fn wait_established(router: &dyn Router, neighbors: &[&str], ipv6: bool) {
    super::eventually(
        &format!("{neighbors:?} Established at the router"),
        Duration::from_secs(60),
        || async move {
            let seen = router.neighbors(ipv6).ok()?;
            neighbors
                .iter()
                .all(|n| {
                    seen.iter()
                        .any(|(a, state)| a == n && state == "Established")
                })
                .then_some(())
        },
    )
    .await;
}

/// Waits until the router's paths for `prefix` come from exactly `next_hops`; returns them.
pub async fn wait_next_hops(
    router: &dyn Router,
    prefix: &str,
    next_hops: &[&str],
) -> Vec<SeenPath> {
    let want: BTreeSet<String> = next_hops.iter().map(|s| (*s).to_owned()).collect();
    super::eventually(
        &format!("{prefix} via {next_hops:?} at the router"),
        Duration::from_secs(30),
        || {
            let want = want.clone();
            async move {
                let paths = router.paths(prefix).ok()?;
                let seen: BTreeSet<String> = paths.iter().map(|p| p.next_hop.clone()).collect();
                (seen == want).then_some(paths)
            }
        },
    )
    .await
}
