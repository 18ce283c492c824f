//! BIRD 2.0 on its own loopback address: one `bgp` protocol named `peer` bound strictly to
//! that address (`strict bind`), originated routes as `static` blackhole routes whose BGP
//! attributes are set in the route's filter block, changes applied with `birdc configure`, and
//! state read from `birdc show protocols all` / `show route all` text.
//!
//! Sessions are `multihop`: BIRD refuses a direct neighbor whose address is local, and every
//! 127/8 address is. Routes learned over such a session resolve their next hop recursively;
//! with no IGP table entry they show as `unreachable` but keep every attribute, which is what
//! the tests read.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use ipnet::IpNet;

use super::{
    Afi, Daemon, DaemonProcess, Endpoint, Loopback, PeerSpec, Result, Route, SeenRoute, daemon_dir,
    parse_err, parse_ip, parse_prefix, run_stdout, tail, wait_for, write_file,
};

/// A running BIRD with one BGP neighbor.
pub struct Bird {
    process: DaemonProcess,
    spec: PeerSpec,
    port: u16,
    transport: IpAddr,
    dir: tempfile::TempDir,
    address: Loopback,
}

impl Bird {
    /// Starts BIRD in the foreground on a fresh loopback address and port.
    pub fn start(spec: PeerSpec) -> Result<Bird> {
        Bird::start_at(Endpoint::allocate()?, spec)
    }

    /// Starts on an endpoint allocated beforehand (so a peer daemon can be told about it).
    pub fn start_at(endpoint: Endpoint, spec: PeerSpec) -> Result<Bird> {
        let Endpoint {
            address,
            port,
            transport,
        } = endpoint;
        let dir = daemon_dir("bird")?;
        let bird_config = dir.path().join("bird.conf");
        write_file(
            &bird_config,
            &render_config(
                &spec,
                address.addr(),
                transport,
                port,
                &dir.path().join("bird.log"),
            ),
        )?;
        let mut command = Command::new("bird");
        command
            .arg("-f")
            .arg("-c")
            .arg(&bird_config)
            .arg("-s")
            .arg(dir.path().join("bird.ctl"))
            .arg("-P")
            .arg(dir.path().join("bird.pid"));
        let process = DaemonProcess::spawn("bird", command, &dir.path().join("bird.out"))?;
        let mut bird = Bird {
            process,
            spec,
            port,
            transport,
            dir,
            address,
        };
        wait_for(&mut bird, Duration::from_secs(10), "control socket", |b| {
            b.process.check_running()?;
            Ok(b.birdc(&["show", "status"]).ok().map(|_| ()))
        });
        Ok(bird)
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("bird.conf")
    }

    /// Runs one birdc command against this instance.
    pub fn birdc(&self, args: &[&str]) -> Result<String> {
        let mut command = Command::new("birdc");
        command
            .arg("-s")
            .arg(self.dir.path().join("bird.ctl"))
            .args(args);
        run_stdout(&mut command)
    }

    /// BIRD's `BGP state:` of the peer (`Established`, `Active`, `Connect`, `Idle`…).
    pub fn state(&self) -> Result<String> {
        let out = self.birdc(&["show", "protocols", "all", "peer"])?;
        out.lines()
            .find_map(|l| l.trim().strip_prefix("BGP state:"))
            .map(|s| s.trim().to_string())
            .ok_or_else(|| parse_err("BGP state", &out))
    }

    fn reconfigure(&mut self) -> Result<()> {
        let log = self.dir.path().join("bird.log");
        write_file(
            &self.config_path(),
            &render_config(
                &self.spec,
                self.address.addr(),
                self.transport,
                self.port,
                &log,
            ),
        )?;
        let out = self.birdc(&["configure"])?;
        if out.contains("Reconfigured") || out.contains("Reconfiguration in progress") {
            Ok(())
        } else {
            Err(parse_err("birdc configure result", &out))
        }
    }
}

impl Daemon for Bird {
    fn name(&self) -> &'static str {
        "bird"
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
        let table = match afi {
            Afi::Ipv4 => "master4",
            Afi::Ipv6 => "master6",
        };
        let out = self.birdc(&["show", "route", "all", "table", table, "protocol", "peer"])?;
        parse_routes(&out)
    }

    fn announce(&mut self, route: &Route) -> Result<()> {
        self.spec.routes.retain(|r| r.prefix != route.prefix);
        self.spec.routes.push(route.clone());
        self.reconfigure()
    }

    fn withdraw(&mut self, prefix: IpNet) -> Result<()> {
        self.spec.routes.retain(|r| r.prefix != prefix);
        self.reconfigure()
    }

    fn reset_session(&mut self) -> Result<()> {
        let out = self.birdc(&["restart", "peer"])?;
        if out.contains("restarted") {
            Ok(())
        } else {
            Err(parse_err("birdc restart result", &out))
        }
    }

    fn process(&self) -> &DaemonProcess {
        &self.process
    }

    fn log_tail(&self) -> String {
        let mut out = tail(&self.dir.path().join("bird.log"), 30);
        out.push_str(&tail(&self.dir.path().join("bird.out"), 10));
        out
    }
}

/// Parses `show route all` output: a line starting with a prefix opens a route, indented
/// `BGP.*:` lines carry its attributes.
fn parse_routes(text: &str) -> Result<Vec<SeenRoute>> {
    let mut routes: Vec<SeenRoute> = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with("BIRD ") || line.starts_with("Table ") {
            continue;
        }
        if !line.starts_with(char::is_whitespace) {
            let first = line.split_whitespace().next().unwrap_or_default();
            routes.push(SeenRoute::empty(parse_prefix(first)?));
            continue;
        }
        let Some(route) = routes.last_mut() else {
            continue;
        };
        let Some((key, value)) = line.trim().split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "BGP.as_path" => {
                for asn in value
                    .split(|c: char| !c.is_ascii_digit())
                    .filter(|s| !s.is_empty())
                {
                    route
                        .as_path
                        .push(asn.parse().map_err(|_| parse_err("AS number", value))?);
                }
            }
            "BGP.next_hop" => {
                let first = value.split_whitespace().next().unwrap_or_default();
                route.next_hop = Some(parse_ip(first)?);
            }
            "BGP.med" => route.med = Some(value.parse().map_err(|_| parse_err("MED", value))?),
            "BGP.local_pref" => {
                route.local_pref = Some(value.parse().map_err(|_| parse_err("local pref", value))?);
            }
            "BGP.community" => {
                for tuple in tuples(value)? {
                    if let [a, v] = tuple[..] {
                        let a = u16::try_from(a).map_err(|_| parse_err("community", value))?;
                        let v = u16::try_from(v).map_err(|_| parse_err("community", value))?;
                        route.communities.push((a, v));
                    }
                }
            }
            "BGP.large_community" => {
                for tuple in tuples(value)? {
                    if let [g, a, b] = tuple[..] {
                        route.large_communities.push((g, a, b));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(routes.into_iter().map(SeenRoute::normalize).collect())
}

/// "(1,2) (3, 4, 5)" → [[1,2],[3,4,5]].
fn tuples(text: &str) -> Result<Vec<Vec<u32>>> {
    let mut out = Vec::new();
    for group in text.split('(').skip(1) {
        let inner = group.split(')').next().unwrap_or_default();
        let numbers: std::result::Result<Vec<u32>, _> =
            inner.split(',').map(|n| n.trim().parse::<u32>()).collect();
        out.push(numbers.map_err(|_| parse_err("community tuple", text))?);
    }
    Ok(out)
}

/// The statements of the export filter that give one originated route its BGP attributes.
fn route_block(spec: &PeerSpec, route: &Route, addr: Ipv4Addr) -> String {
    let mut s = String::new();
    if let Some(med) = route.med {
        let _ = write!(s, " bgp_med = {med};");
    }
    if let Some(pref) = route.local_pref {
        let _ = write!(s, " bgp_local_pref = {pref};");
    }
    for (a, v) in &route.communities {
        let _ = write!(s, " bgp_community.add(({a},{v}));");
    }
    for (g, a, b) in &route.large_communities {
        let _ = write!(s, " bgp_large_community.add(({g},{a},{b}));");
    }
    for hex in route.ext_community_hex() {
        // BIRD's generic kind takes the two 32-bit halves as they are.
        let (high, low) = hex.split_at(8);
        let _ = write!(s, " bgp_ext_community.add((generic, 0x{high}, 0x{low}));");
    }
    // prepend() puts each AS in front, so go from the last to the first.
    for asn in route.as_path_prepend.iter().rev() {
        let _ = write!(s, " bgp_path.prepend({asn});");
    }
    // The IPv4 channel keeps the next hop set here (`next hop keep`), the IPv6 one uses its
    // `next hop address`.
    let next_hop = spec.explicit_next_hop(route).unwrap_or(IpAddr::V4(addr));
    let _ = write!(s, " bgp_next_hop = {next_hop};");
    s
}

fn render_config(
    spec: &PeerSpec,
    addr: Ipv4Addr,
    transport: IpAddr,
    port: u16,
    log: &std::path::Path,
) -> String {
    let router_id = spec.router_id.unwrap_or(addr);
    let mut s = String::new();
    let _ = writeln!(s, "log \"{}\" all;", log.display());
    let _ = writeln!(s, "router id {router_id};");
    s.push_str("protocol device {}\n");
    for (name, afi) in [("orig4", Afi::Ipv4), ("orig6", Afi::Ipv6)] {
        let _ = writeln!(s, "protocol static {name} {{");
        let _ = writeln!(s, "  {};", if afi == Afi::Ipv4 { "ipv4" } else { "ipv6" });
        for route in spec.routes.iter().filter(|r| Afi::of(&r.prefix) == afi) {
            let _ = writeln!(s, "  route {} blackhole;", route.prefix);
        }
        s.push_str("}\n");
    }
    // Attributes are set on export: BIRD drops a MED on eBGP unless the export filter set it.
    s.push_str("filter announced {\n  if source != RTS_STATIC then reject;\n");
    for route in &spec.routes {
        let _ = writeln!(
            s,
            "  if net = {} then {{{} }}",
            route.prefix,
            route_block(spec, route, addr)
        );
    }
    s.push_str("  accept;\n}\n");
    s.push_str("protocol bgp peer {\n");
    let _ = writeln!(s, "  local {transport} port {port} as {};", spec.local_as);
    let _ = writeln!(
        s,
        "  neighbor {} port {} as {};",
        spec.neighbor, spec.neighbor_port, spec.neighbor_as
    );
    s.push_str("  multihop;\n  strict bind yes;\n");
    let _ = writeln!(s, "  hold time {};", spec.hold_time);
    let _ = writeln!(s, "  keepalive time {};", spec.keepalive());
    s.push_str("  connect retry time 1;\n  error wait time 1, 2;\n");
    if spec.passive {
        s.push_str("  passive on;\n");
    }
    if let Some(password) = &spec.password {
        let _ = writeln!(s, "  password \"{password}\";");
    }
    s.push_str("  ipv4 { import all; export filter announced; next hop keep; };\n");
    if spec.ipv6 {
        let _ = writeln!(
            s,
            "  ipv6 {{ import all; export filter announced; next hop address {}; }};",
            spec.ipv6_next_hop
        );
    }
    s.push_str("}\n");
    s
}
