//! ExaBGP 4.2 with one neighbor, listening and connecting on its own loopback address
//! (per-neighbor `listen`/`connect` ports). Its API process is a shell that appends every JSON
//! event ExaBGP emits (`receive { parsed; update; }`, `neighbor-changes`) to `events.jsonl` and
//! passes commands written to the FIFO `commands` back to ExaBGP; the harness replays the
//! event file to know the session state and the routes received.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ipnet::IpNet;
use serde_json::Value;

use super::{
    Afi, Daemon, DaemonProcess, Endpoint, Loopback, PeerSpec, Result, Route, SeenRoute, daemon_dir,
    io_err, json_u32, parse_ip, parse_prefix, run, tail, wait_for, write_file,
};

/// A running ExaBGP with one neighbor.
pub struct ExaBgp {
    process: DaemonProcess,
    spec: PeerSpec,
    port: u16,
    transport: IpAddr,
    dir: tempfile::TempDir,
    address: Loopback,
}

/// What replaying the event file tells.
#[derive(Debug, Default)]
pub struct Replay {
    /// The last neighbor state ExaBGP reported (`up`, `down`, `connected`).
    pub state: Option<String>,
    /// Received routes by prefix.
    pub routes: Vec<SeenRoute>,
}

impl ExaBgp {
    /// Starts ExaBGP on a fresh loopback address and port.
    pub fn start(spec: PeerSpec) -> Result<ExaBgp> {
        ExaBgp::start_at(Endpoint::allocate()?, spec)
    }

    /// Starts on an endpoint allocated beforehand (so a peer daemon can be told about it).
    pub fn start_at(endpoint: Endpoint, spec: PeerSpec) -> Result<ExaBgp> {
        let Endpoint {
            address,
            port,
            transport,
        } = endpoint;
        let dir = daemon_dir("exabgp")?;
        let fifo = dir.path().join("commands");
        run(Command::new("mkfifo").arg(&fifo))?;
        write_file(&dir.path().join("events.jsonl"), "")?;
        let config = dir.path().join("exabgp.conf");
        write_file(
            &config,
            &render_config(&spec, address.addr(), transport, port, dir.path()),
        )?;
        let mut command = Command::new("exabgp");
        command
            .arg(&config)
            .env("exabgp_daemon_user", "root")
            .env("exabgp_daemon_drop", "false")
            .env("exabgp_daemon_daemonize", "false")
            .env("exabgp_api_cli", "false")
            .env("exabgp_api_ack", "false")
            .env("exabgp_api_respawn", "false")
            .env("exabgp_log_destination", dir.path().join("exabgp.log"))
            .env("exabgp_log_level", "INFO");
        let process = DaemonProcess::spawn("exabgp", command, &dir.path().join("exabgp.out"))?;
        let mut exabgp = ExaBgp {
            process,
            spec,
            port,
            transport,
            dir,
            address,
        };
        // Ready once the API process holds the command FIFO open.
        wait_for(&mut exabgp, Duration::from_secs(15), "API process", |e| {
            e.process.check_running()?;
            Ok(open_fifo(&e.fifo()).ok().map(|_| ()))
        });
        Ok(exabgp)
    }

    fn fifo(&self) -> PathBuf {
        self.dir.path().join("commands")
    }

    /// Sends one API command line to ExaBGP.
    pub fn command(&self, line: &str) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut file = loop {
            match open_fifo(&self.fifo()) {
                Ok(f) => break f,
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        file.write_all(format!("{line}\n").as_bytes())
            .map_err(io_err(format!("write `{line}` to the ExaBGP API")))
    }

    /// Replays the event file.
    pub fn replay(&self) -> Result<Replay> {
        let path = self.dir.path().join("events.jsonl");
        let text = fs::read_to_string(&path).map_err(io_err(format!("read {}", path.display())))?;
        let mut replay = Replay::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            // The last line may still be being written.
            let Ok(event) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            match event.get("type").and_then(Value::as_str) {
                Some("state") => {
                    let state = event
                        .pointer("/neighbor/state")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    if state != "up" {
                        replay.routes.clear();
                    }
                    replay.state = Some(state);
                }
                Some("update") => {
                    if let Some(update) = event.pointer("/neighbor/message/update") {
                        apply_update(&mut replay.routes, update)?;
                    }
                }
                _ => {}
            }
        }
        Ok(replay)
    }

    fn route_command(&self, route: &Route) -> String {
        let mut s = format!("announce route {}", route.prefix);
        let next_hop = self
            .spec
            .explicit_next_hop(route)
            .unwrap_or(IpAddr::V4(self.address.addr()));
        let _ = write!(s, " next-hop {next_hop}");
        s.push_str(&attributes(&self.spec, route));
        s
    }
}

impl Drop for ExaBgp {
    /// ExaBGP starts its API process in a process group of its own, so killing ExaBGP's group
    /// leaves the FIFO reader behind: once ExaBGP is dead, find every process whose standard input is our FIFO
    /// (the pid file alone missed some) and kill it by pid.
    fn drop(&mut self) {
        // ExaBGP first: it would respawn its API process.
        self.process.kill();
        let fifo = self.fifo();
        let Ok(entries) = fs::read_dir("/proc") else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            let stdin = fs::read_link(entry.path().join("fd/0")).unwrap_or_default();
            if stdin == fifo {
                let _ = Command::new("kill").args(["-KILL", pid]).status();
            }
        }
    }
}

/// Opens the command FIFO for writing without blocking (fails while no reader holds it).
fn open_fifo(path: &Path) -> Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(io_err(format!("open {}", path.display())))
}

/// Applies one parsed UPDATE event to the route list.
fn apply_update(routes: &mut Vec<SeenRoute>, update: &Value) -> Result<()> {
    if let Some(withdraw) = update.get("withdraw").and_then(Value::as_object) {
        for nlris in withdraw.values() {
            for nlri in nlris.as_array().into_iter().flatten() {
                if let Some(p) = nlri.get("nlri").and_then(Value::as_str) {
                    let prefix = parse_prefix(p)?;
                    routes.retain(|r| r.prefix != prefix);
                }
            }
        }
    }
    let Some(announce) = update.get("announce").and_then(Value::as_object) else {
        return Ok(());
    };
    let attrs = update.get("attribute").cloned().unwrap_or(Value::Null);
    for by_next_hop in announce.values() {
        for (next_hop, nlris) in by_next_hop.as_object().into_iter().flatten() {
            for nlri in nlris.as_array().into_iter().flatten() {
                let Some(p) = nlri.get("nlri").and_then(Value::as_str) else {
                    continue;
                };
                let prefix = parse_prefix(p)?;
                let mut seen = SeenRoute::empty(prefix);
                seen.next_hop = Some(parse_ip(next_hop)?);
                fill_attributes(&mut seen, &attrs);
                routes.retain(|r| r.prefix != prefix);
                routes.push(seen.normalize());
            }
        }
    }
    Ok(())
}

/// Flattens ExaBGP's `as-path` (numbers, or lists of numbers for sets).
fn flatten_asns(value: &Value, out: &mut Vec<u32>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| flatten_asns(v, out)),
        Value::Object(map) => map.values().for_each(|v| flatten_asns(v, out)),
        other => out.extend(json_u32(other)),
    }
}

fn fill_attributes(seen: &mut SeenRoute, attrs: &Value) {
    if let Some(path) = attrs.get("as-path") {
        flatten_asns(path, &mut seen.as_path);
    }
    seen.med = attrs.get("med").and_then(json_u32);
    seen.local_pref = attrs.get("local-preference").and_then(json_u32);
    for c in attrs
        .get("community")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some([a, v]) = c.as_array().map(Vec::as_slice)
            && let (Some(a), Some(v)) = (json_u32(a), json_u32(v))
            && let (Ok(a), Ok(v)) = (u16::try_from(a), u16::try_from(v))
        {
            seen.communities.push((a, v));
        }
    }
    for c in attrs
        .get("large-community")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some([g, a, b]) = c.as_array().map(Vec::as_slice)
            && let (Some(g), Some(a), Some(b)) = (json_u32(g), json_u32(a), json_u32(b))
        {
            seen.large_communities.push((g, a, b));
        }
    }
}

/// The attribute part of a route line, shared by the static configuration and the API.
fn attributes(spec: &PeerSpec, route: &Route) -> String {
    let mut s = String::new();
    if let Some(med) = route.med {
        let _ = write!(s, " med {med}");
    }
    if let Some(pref) = route.local_pref {
        let _ = write!(s, " local-preference {pref}");
    }
    if !route.communities.is_empty() {
        let list = route.community_words();
        let _ = write!(s, " community [{}]", list.join(" "));
    }
    if !route.large_communities.is_empty() {
        let list = route.large_community_words();
        let _ = write!(s, " large-community [{}]", list.join(" "));
    }
    if !route.ext_communities.is_empty() {
        let list: Vec<String> = route
            .ext_community_hex()
            .iter()
            .map(|h| format!("0x{h}"))
            .collect();
        let _ = write!(s, " extended-community [{}]", list.join(" "));
    }
    if !route.as_path_prepend.is_empty() {
        // ExaBGP sends a configured AS_PATH as given: put its own AS first on eBGP.
        let mut path = Vec::new();
        if !spec.is_ibgp() {
            path.push(spec.local_as);
        }
        path.extend_from_slice(&route.as_path_prepend);
        let list: Vec<String> = path.iter().map(u32::to_string).collect();
        let _ = write!(s, " as-path [{}]", list.join(" "));
    }
    s
}

impl Daemon for ExaBgp {
    fn name(&self) -> &'static str {
        "exabgp"
    }

    fn addr(&self) -> Ipv4Addr {
        self.address.addr()
    }

    fn peer_ip(&self) -> IpAddr {
        self.transport
    }

    fn port(&self) -> u16 {
        self.port
    }

    fn established(&mut self) -> Result<bool> {
        Ok(self.replay()?.state.as_deref() == Some("up"))
    }

    fn received(&mut self, afi: Afi) -> Result<Vec<SeenRoute>> {
        Ok(self
            .replay()?
            .routes
            .into_iter()
            .filter(|r| Afi::of(&r.prefix) == afi)
            .collect())
    }

    fn announce(&mut self, route: &Route) -> Result<()> {
        let line = self.route_command(route);
        self.command(&line)
    }

    fn reset_session(&mut self) -> Result<()> {
        let line = format!("neighbor {} teardown 4", self.spec.neighbor);
        self.command(&line)
    }

    fn withdraw(&mut self, prefix: IpNet) -> Result<()> {
        let next_hop = match prefix {
            IpNet::V4(_) => IpAddr::V4(self.address.addr()),
            IpNet::V6(_) => IpAddr::V6(self.spec.ipv6_next_hop),
        };
        self.command(&format!("withdraw route {prefix} next-hop {next_hop}"))
    }

    fn process(&self) -> &DaemonProcess {
        &self.process
    }

    fn log_tail(&self) -> String {
        let mut out = tail(&self.dir.path().join("exabgp.log"), 30);
        out.push_str(&tail(&self.dir.path().join("exabgp.out"), 10));
        out
    }
}

fn render_config(
    spec: &PeerSpec,
    addr: Ipv4Addr,
    transport: IpAddr,
    port: u16,
    dir: &Path,
) -> String {
    let router_id = spec.router_id.unwrap_or(addr);
    let events = dir.join("events.jsonl");
    let fifo = dir.join("commands");
    let mut s = String::new();
    // The background cat gets ExaBGP's events through fd 3 (a background job's stdin would be
    // /dev/null); `<>` keeps the FIFO open read-write so it never sees end-of-file.
    let _ = writeln!(
        s,
        "process api {{\n  run /bin/sh -c \"exec 3<&0; cat <&3 >> {} & exec cat <> {}\";\n  encoder json;\n}}",
        events.display(),
        fifo.display()
    );
    let _ = writeln!(s, "neighbor {} {{", spec.neighbor);
    let _ = writeln!(s, "  router-id {router_id};");
    let _ = writeln!(s, "  local-address {transport};");
    let _ = writeln!(s, "  local-as {};", spec.local_as);
    let _ = writeln!(s, "  peer-as {};", spec.neighbor_as);
    let _ = writeln!(s, "  hold-time {};", spec.hold_time);
    let _ = writeln!(s, "  passive {};", spec.passive);
    let _ = writeln!(s, "  listen {port};");
    let _ = writeln!(s, "  connect {};", spec.neighbor_port);
    if let Some(password) = &spec.password {
        let _ = writeln!(s, "  md5-password \"{password}\";");
    }
    s.push_str("  family {\n    ipv4 unicast;\n");
    if spec.ipv6 {
        s.push_str("    ipv6 unicast;\n");
    }
    s.push_str("  }\n");
    if !spec.routes.is_empty() {
        s.push_str("  static {\n");
        for route in &spec.routes {
            let next_hop = spec.explicit_next_hop(route).unwrap_or(IpAddr::V4(addr));
            let _ = writeln!(
                s,
                "    route {} next-hop {next_hop}{};",
                route.prefix,
                attributes(spec, route)
            );
        }
        s.push_str("  }\n");
    }
    s.push_str("  api {\n    processes [ api ];\n    neighbor-changes;\n");
    s.push_str("    receive { parsed; update; }\n  }\n}\n");
    s
}
