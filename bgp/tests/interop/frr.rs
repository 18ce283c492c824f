//! FRR 8.4 `bgpd` without zebra (`-Z`), listening on its own loopback address (`-l`, `-p`),
//! with its vty socket in the test's temporary directory so `vtysh --vty_socket` reaches this
//! instance only. Routes are originated with `network` statements and a route-map per prefix
//! that sets the attributes; state is read with `show bgp … json`.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;

use ipnet::IpNet;
use serde_json::Value;

use super::{
    Afi, Daemon, DaemonProcess, Endpoint, Loopback, PeerSpec, Result, Route, SeenRoute, daemon_dir,
    json_u32, parse_err, parse_ip, parse_prefix, run_stdout, tail, write_file,
};

const BGPD: &str = "/usr/lib/frr/bgpd";

/// A running FRR bgpd with one neighbor.
pub struct Frr {
    process: DaemonProcess,
    spec: PeerSpec,
    port: u16,
    transport: IpAddr,
    next_seq: u32,
    dir: tempfile::TempDir,
    address: Loopback,
}

impl Frr {
    /// Starts bgpd on a fresh loopback address and port, configured from `spec`.
    pub fn start(spec: PeerSpec) -> Result<Frr> {
        Frr::start_at(Endpoint::allocate()?, spec)
    }

    /// Starts on an endpoint allocated beforehand (so a peer daemon can be told about it).
    pub fn start_at(endpoint: Endpoint, spec: PeerSpec) -> Result<Frr> {
        let Endpoint {
            address,
            port,
            transport,
        } = endpoint;
        let dir = daemon_dir("frr")?;
        let config = dir.path().join("bgpd.conf");
        write_file(&config, &render_config(&spec, address.addr(), transport))?;
        let mut command = Command::new(BGPD);
        command
            .arg("-f")
            .arg(&config)
            .arg("-i")
            .arg(dir.path().join("bgpd.pid"))
            .arg("--vty_socket")
            .arg(dir.path())
            .args(["-Z", "-S", "-P", "0", "-l"])
            .arg(transport.to_string())
            .arg("-p")
            .arg(port.to_string())
            .arg("--log")
            .arg(format!("file:{}", dir.path().join("bgpd.log").display()));
        let process = DaemonProcess::spawn("frr", command, &dir.path().join("bgpd.out"))?;
        let mut frr = Frr {
            process,
            next_seq: 10 + spec.routes.len() as u32,
            spec,
            port,
            transport,
            dir,
            address,
        };
        // Ready once the vty answers.
        super::wait_for(
            &mut frr,
            std::time::Duration::from_secs(10),
            "vty socket",
            |f| {
                f.process.check_running()?;
                Ok(f.vtysh(&["show version"]).ok().map(|_| ()))
            },
        );
        Ok(frr)
    }

    /// The spec the daemon was started with.
    pub fn spec(&self) -> &PeerSpec {
        &self.spec
    }

    /// Runs vtysh commands against this instance (`-c` each) and returns the output.
    pub fn vtysh(&self, commands: &[&str]) -> Result<String> {
        let mut command = Command::new("vtysh");
        command.arg("--vty_socket").arg(self.dir.path());
        for c in commands {
            command.arg("-c").arg(c);
        }
        let out = run_stdout(&mut command)?;
        if out.contains("% Unknown command") || out.contains("% Invalid") {
            return Err(parse_err(format!("vtysh {commands:?}"), &out));
        }
        Ok(out)
    }

    fn vtysh_json(&self, command: &str) -> Result<Value> {
        let out = self.vtysh(&[command])?;
        serde_json::from_str(&out).map_err(|_| parse_err(format!("JSON of `{command}`"), &out))
    }

    /// The neighbor's entry of `show bgp neighbors ADDR json`.
    pub fn neighbor_json(&self) -> Result<Value> {
        let neighbor = self.spec.neighbor.to_string();
        let value = self.vtysh_json(&format!("show bgp neighbors {neighbor} json"))?;
        value
            .get(&neighbor)
            .cloned()
            .ok_or_else(|| parse_err("neighbor entry", &value.to_string()))
    }

    /// FRR's name of the session state (`Established`, `Active`, `Connect`, `OpenSent`…).
    pub fn state(&self) -> Result<String> {
        let n = self.neighbor_json()?;
        n.get("bgpState")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| parse_err("bgpState", &n.to_string()))
    }

    /// How many sessions with the neighbor have been established so far.
    pub fn connections_established(&self) -> Result<u64> {
        let n = self.neighbor_json()?;
        Ok(n.get("connectionsEstablished")
            .and_then(Value::as_u64)
            .unwrap_or(0))
    }

    fn path_from_json(prefix: IpNet, path: &Value) -> SeenRoute {
        let mut seen = SeenRoute::empty(prefix);
        if let Some(segments) = path.pointer("/aspath/segments").and_then(Value::as_array) {
            for segment in segments {
                if let Some(list) = segment.get("list").and_then(Value::as_array) {
                    seen.as_path.extend(list.iter().filter_map(json_u32));
                }
            }
        }
        seen.med = path.get("metric").and_then(json_u32);
        seen.local_pref = path.get("locPrf").and_then(json_u32);
        if let Some(list) = path.pointer("/community/list").and_then(Value::as_array) {
            for c in list.iter().filter_map(Value::as_str) {
                if let Some((a, v)) = c.split_once(':')
                    && let (Ok(a), Ok(v)) = (a.parse(), v.parse())
                {
                    seen.communities.push((a, v));
                }
            }
        }
        if let Some(list) = path
            .pointer("/largeCommunity/list")
            .and_then(Value::as_array)
        {
            for c in list.iter().filter_map(Value::as_str) {
                let parts: Vec<u32> = c.split(':').filter_map(|p| p.parse().ok()).collect();
                if let [g, d1, d2] = parts[..] {
                    seen.large_communities.push((g, d1, d2));
                }
            }
        }
        seen.next_hop = path
            .get("nexthops")
            .and_then(Value::as_array)
            .and_then(|hops| {
                hops.iter()
                    .find(|h| h.get("scope").and_then(Value::as_str) != Some("link-local"))
            })
            .and_then(|h| h.get("ip"))
            .and_then(Value::as_str)
            .and_then(|ip| parse_ip(ip).ok());
        seen.normalize()
    }

    fn render_route_commands(&mut self, route: &Route) -> Vec<String> {
        let mut lines = Vec::new();
        lines.push("configure terminal".to_string());
        lines.extend(route_map(route).lines().map(str::to_string));
        if let Some(entry) = next_hop_entry(route, self.next_seq) {
            self.next_seq += 1;
            lines.extend(entry.lines().map(str::to_string));
        }
        lines.push(format!("router bgp {}", self.spec.local_as));
        lines.push(format!(
            "address-family {} unicast",
            afi_name(Afi::of(&route.prefix))
        ));
        lines.push(format!(
            "network {} route-map {}",
            route.prefix,
            map_name(&route.prefix)
        ));
        lines.push("end".to_string());
        lines
    }
}

impl Daemon for Frr {
    fn name(&self) -> &'static str {
        "frr"
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
        Ok(self.state()? == "Established")
    }

    fn received(&mut self, afi: Afi) -> Result<Vec<SeenRoute>> {
        let neighbor = self.spec.neighbor.to_string();
        let family = afi_name(afi);
        let table = self.vtysh_json(&format!(
            "show bgp {family} unicast neighbors {neighbor} routes json"
        ))?;
        let mut out = Vec::new();
        let Some(routes) = table.get("routes").and_then(Value::as_object) else {
            return Ok(out);
        };
        for key in routes.keys() {
            let prefix = parse_prefix(key)?;
            // The table view lacks communities: ask for the prefix itself.
            let detail = self.vtysh_json(&format!("show bgp {family} unicast {prefix} json"))?;
            let paths = detail
                .get("paths")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let from_neighbor = paths.iter().find(|p| {
                p.pointer("/peer/peerId").and_then(Value::as_str) == Some(neighbor.as_str())
            });
            if let Some(path) = from_neighbor {
                out.push(Frr::path_from_json(prefix, path));
            }
        }
        Ok(out)
    }

    fn announce(&mut self, route: &Route) -> Result<()> {
        let lines = self.render_route_commands(route);
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        self.vtysh(&refs).map(|_| ())
    }

    fn withdraw(&mut self, prefix: IpNet) -> Result<()> {
        let router = format!("router bgp {}", self.spec.local_as);
        let family = format!("address-family {} unicast", afi_name(Afi::of(&prefix)));
        let line = format!("no network {prefix}");
        self.vtysh(&["configure terminal", &router, &family, &line, "end"])
            .map(|_| ())
    }

    fn reset_session(&mut self) -> Result<()> {
        self.vtysh(&["clear bgp *"]).map(drop)
    }

    fn process(&self) -> &DaemonProcess {
        &self.process
    }

    fn log_tail(&self) -> String {
        let mut out = tail(&self.dir.path().join("bgpd.log"), 30);
        out.push_str(&tail(&self.dir.path().join("bgpd.out"), 10));
        out
    }
}

fn afi_name(afi: Afi) -> &'static str {
    match afi {
        Afi::Ipv4 => "ipv4",
        Afi::Ipv6 => "ipv6",
    }
}

fn map_name(prefix: &IpNet) -> String {
    let clean: String = prefix
        .to_string()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("ORIG-{clean}")
}

/// The route-map that gives an originated route its attributes (next hop included).
fn route_map(route: &Route) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "route-map {} permit 10", map_name(&route.prefix));
    if let Some(med) = route.med {
        let _ = writeln!(s, " set metric {med}");
    }
    if let Some(pref) = route.local_pref {
        let _ = writeln!(s, " set local-preference {pref}");
    }
    if !route.communities.is_empty() {
        let list = route.community_words();
        let _ = writeln!(s, " set community {}", list.join(" "));
    }
    if !route.large_communities.is_empty() {
        let list = route.large_community_words();
        let _ = writeln!(s, " set large-community {}", list.join(" "));
    }
    let targets: Vec<(u8, String)> = route
        .ext_communities
        .iter()
        .map(|c| (c[1], frr_route_target(*c)))
        .collect();
    for (keyword, subtype) in [("rt", 0x02), ("soo", 0x03)] {
        let list: Vec<&str> = targets
            .iter()
            .filter(|(s, _)| *s == subtype)
            .map(|(_, t)| t.as_str())
            .collect();
        if !list.is_empty() {
            let _ = writeln!(s, " set extcommunity {keyword} {}", list.join(" "));
        }
    }
    if !route.as_path_prepend.is_empty() {
        let list: Vec<String> = route.as_path_prepend.iter().map(u32::to_string).collect();
        let _ = writeln!(s, " set as-path prepend {}", list.join(" "));
    }
    s.push_str("exit\n");
    s
}

/// `ASN:N` or `A.B.C.D:N` of a route target or site of origin; FRR's route-maps set no other
/// kind of extended community.
fn frr_route_target(c: [u8; 8]) -> String {
    match c {
        [0x00, 0x02 | 0x03, a, b, c, d, e, f] => format!(
            "{}:{}",
            u16::from_be_bytes([a, b]),
            u32::from_be_bytes([c, d, e, f])
        ),
        [0x01, 0x02 | 0x03, a, b, c, d, e, f] => {
            format!(
                "{}:{}",
                Ipv4Addr::new(a, b, c, d),
                u16::from_be_bytes([e, f])
            )
        }
        [0x02, 0x02 | 0x03, a, b, c, d, e, f] => format!(
            "{}:{}",
            u32::from_be_bytes([a, b, c, d]),
            u16::from_be_bytes([e, f])
        ),
        other => panic!("FRR's route-maps cannot set extended community {other:02x?}"),
    }
}

/// Sequence number of the catch-all entries of the outbound next-hop route-maps; per-route
/// entries come before it.
const CATCH_ALL_SEQ: u32 = 60000;

/// The entries of the outbound route-maps `NH4`/`NH6` that put an explicit next hop on one
/// route: FRR would otherwise send its own address (or an IPv4-mapped IPv6 address for IPv6
/// over an IPv4 session).
fn next_hop_entry(route: &Route, seq: u32) -> Option<String> {
    let name = map_name(&route.prefix);
    let (list, map, matcher, set) = match (route.prefix, route.next_hop?) {
        (IpNet::V4(_), IpAddr::V4(nh)) => ("ip", "NH4", "ip", format!("ip next-hop {nh}")),
        (IpNet::V6(_), IpAddr::V6(nh)) => {
            ("ipv6", "NH6", "ipv6", format!("ipv6 next-hop global {nh}"))
        }
        _ => return None,
    };
    Some(format!(
        "{list} prefix-list {name} seq 5 permit {}\nroute-map {map} permit {seq}\n match {matcher} address prefix-list {name}\n set {set}\nexit\n",
        route.prefix
    ))
}

/// The catch-all entries of the outbound route-maps.
fn next_hop_catch_all(spec: &PeerSpec) -> String {
    format!(
        "route-map NH4 permit {CATCH_ALL_SEQ}\nexit\nroute-map NH6 permit {CATCH_ALL_SEQ}\n set ipv6 next-hop global {}\nexit\n",
        spec.ipv6_next_hop
    )
}

fn render_config(spec: &PeerSpec, addr: Ipv4Addr, transport: IpAddr) -> String {
    let n = spec.neighbor;
    let router_id = spec.router_id.unwrap_or(addr);
    let mut s = String::new();
    s.push_str("frr defaults traditional\nhostname ferrolb-interop-frr\n");
    // Logged so a failing test shows why FRR refused an UPDATE.
    s.push_str("debug bgp updates in\ndebug bgp neighbor-events\n!\n");
    for route in &spec.routes {
        s.push_str(&route_map(route));
    }
    for (i, route) in spec.routes.iter().enumerate() {
        if let Some(entry) = next_hop_entry(route, 10 + i as u32) {
            s.push_str(&entry);
        }
    }
    s.push_str(&next_hop_catch_all(spec));
    let _ = writeln!(s, "router bgp {}", spec.local_as);
    let _ = writeln!(s, " bgp router-id {router_id}");
    s.push_str(" no bgp ebgp-requires-policy\n no bgp network import-check\n");
    s.push_str(" no bgp default ipv4-unicast\n bgp allow-martian-nexthop\n");
    s.push_str(" bgp route-map delay-timer 1\n");
    let _ = writeln!(s, " neighbor {n} remote-as {}", spec.neighbor_as);
    let _ = writeln!(s, " neighbor {n} port {}", spec.neighbor_port);
    let _ = writeln!(s, " neighbor {n} update-source {transport}");
    let _ = writeln!(
        s,
        " neighbor {n} timers {} {}",
        spec.keepalive(),
        spec.hold_time
    );
    let _ = writeln!(s, " neighbor {n} timers connect 1");
    if spec.passive {
        let _ = writeln!(s, " neighbor {n} passive");
    }
    if let Some(password) = &spec.password {
        let _ = writeln!(s, " neighbor {n} password {password}");
    }
    s.push_str(" address-family ipv4 unicast\n");
    let _ = writeln!(s, "  neighbor {n} activate");
    let _ = writeln!(s, "  neighbor {n} route-map NH4 out");
    for route in spec
        .routes
        .iter()
        .filter(|r| Afi::of(&r.prefix) == Afi::Ipv4)
    {
        let _ = writeln!(
            s,
            "  network {} route-map {}",
            route.prefix,
            map_name(&route.prefix)
        );
    }
    s.push_str(" exit-address-family\n");
    if spec.ipv6 {
        s.push_str(" address-family ipv6 unicast\n");
        let _ = writeln!(s, "  neighbor {n} activate");
        let _ = writeln!(s, "  neighbor {n} route-map NH6 out");
        for route in spec
            .routes
            .iter()
            .filter(|r| Afi::of(&r.prefix) == Afi::Ipv6)
        {
            let _ = writeln!(
                s,
                "  network {} route-map {}",
                route.prefix,
                map_name(&route.prefix)
            );
        }
        s.push_str(" exit-address-family\n");
    }
    s.push_str("!\n");
    s
}
