//! GoBGP 3.10: `gobgpd` with a TOML configuration on its own loopback address, its gRPC API on
//! a second port of the same address, driven with the `gobgp` CLI (`global rib add/del`,
//! `neighbor … -j`, `neighbor … adj-in -j`).
//!
//! GoBGP treats an IPv4 NEXT_HOP in 127/8 as withdraw ("invalid nexthop address"), so routes
//! sent to it must carry a non-loopback next hop; IPv6 next hops are not checked that way.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::time::Duration;

use ipnet::IpNet;
use serde_json::Value;

use super::{
    Afi, Daemon, DaemonProcess, Endpoint, Loopback, PeerSpec, Result, Route, SeenRoute, daemon_dir,
    json_u32, parse_err, parse_ip, parse_prefix, run_stdout, tail, wait_for, write_file,
};

/// Entries at the end of a dump for `gobgp mrt inject` that may be lost (see
/// [`GoBgp::inject_ipv4_table`]).
const INJECT_PADDING: usize = 5000;

/// GoBGP's number for the Established session state in its JSON.
const SESSION_ESTABLISHED: u64 = 6;

/// A running gobgpd with one neighbor.
pub struct GoBgp {
    process: DaemonProcess,
    spec: PeerSpec,
    port: u16,
    transport: IpAddr,
    api_port: u16,
    dir: tempfile::TempDir,
    address: Loopback,
}

impl GoBgp {
    /// Starts gobgpd on a fresh loopback address, adds `spec.routes` through the API.
    pub fn start(spec: PeerSpec) -> Result<GoBgp> {
        GoBgp::start_at(Endpoint::allocate()?, spec)
    }

    /// Starts on an endpoint allocated beforehand (so a peer daemon can be told about it).
    pub fn start_at(endpoint: Endpoint, spec: PeerSpec) -> Result<GoBgp> {
        let Endpoint {
            address,
            port,
            transport,
        } = endpoint;
        let mut api_port = address.free_port()?;
        while api_port == port {
            api_port = address.free_port()?;
        }
        let dir = daemon_dir("gobgp")?;
        let config = dir.path().join("gobgpd.toml");
        write_file(
            &config,
            &render_config(&spec, address.addr(), transport, port),
        )?;
        let mut command = Command::new("gobgpd");
        command
            .arg("-f")
            .arg(&config)
            .arg("--api-hosts")
            .arg(format!("{}:{api_port}", address.addr()))
            .args(["--pprof-disable", "-p", "-l", "debug"]);
        let process = DaemonProcess::spawn("gobgp", command, &dir.path().join("gobgpd.log"))?;
        let mut gobgp = GoBgp {
            process,
            spec,
            port,
            transport,
            api_port,
            dir,
            address,
        };
        wait_for(&mut gobgp, Duration::from_secs(10), "gRPC API", |g| {
            g.process.check_running()?;
            Ok(g.cli(&["global"]).ok().map(|_| ()))
        });
        for route in gobgp.spec.routes.clone() {
            gobgp.announce(&route)?;
        }
        Ok(gobgp)
    }

    /// Runs the gobgp CLI against this instance.
    pub fn cli(&self, args: &[&str]) -> Result<String> {
        let mut command = Command::new("gobgp");
        command
            .arg("-u")
            .arg(self.address.addr().to_string())
            .arg("-p")
            .arg(self.api_port.to_string())
            .args(args);
        run_stdout(&mut command)
    }

    /// Adds `prefixes` to the global RIB (ORIGIN IGP, AS_PATH `[origin_as]`, `next_hop`)
    /// from an MRT table dump (`gobgp mrt inject global`): fast enough for 100,000 routes,
    /// where a CLI call per route is not. gobgp 3.10 drops the last few hundred entries of
    /// a dump (the last batch of its stream), so the dump ends with the first
    /// [`INJECT_PADDING`] prefixes again (the same paths); the RIB is counted afterwards.
    pub fn inject_ipv4_table(
        &self,
        origin_as: u32,
        next_hop: Ipv4Addr,
        prefixes: &[ipnet::Ipv4Net],
    ) -> Result<()> {
        let padding = &prefixes[..prefixes.len().min(INJECT_PADDING)];
        let dump = super::mrt::ipv4_table(
            self.address.addr(),
            origin_as,
            next_hop,
            prefixes.iter().chain(padding).copied(),
        );
        let path = self.dir.path().join("table.mrt");
        std::fs::write(&path, dump).map_err(super::io_err(format!("write {}", path.display())))?;
        let path = path.to_string_lossy().into_owned();
        self.cli(&["mrt", "inject", "global", &path])?;
        let summary = self.cli(&["global", "rib", "summary", "-a", "ipv4"])?;
        let loaded = summary
            .split("Destination: ")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.trim().parse::<usize>().ok())
            .ok_or_else(|| parse_err("global RIB summary", &summary))?;
        if loaded < prefixes.len() {
            return Err(parse_err(
                format!("{} routes injected from the dump", prefixes.len()),
                &summary,
            ));
        }
        Ok(())
    }

    fn neighbor_json(&self) -> Result<Value> {
        let out = self.cli(&["neighbor", &self.spec.neighbor.to_string(), "-j"])?;
        serde_json::from_str(&out).map_err(|_| parse_err("neighbor JSON", &out))
    }

    fn family_arg(afi: Afi) -> &'static str {
        match afi {
            Afi::Ipv4 => "ipv4",
            Afi::Ipv6 => "ipv6",
        }
    }

    fn route_args(&self, route: &Route) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "global".into(),
            "rib".into(),
            "add".into(),
            "-a".into(),
            GoBgp::family_arg(Afi::of(&route.prefix)).into(),
            route.prefix.to_string(),
        ];
        if let Some(nh) = self.spec.explicit_next_hop(route) {
            args.extend(["nexthop".into(), nh.to_string()]);
        }
        if let Some(med) = route.med {
            args.extend(["med".into(), med.to_string()]);
        }
        if let Some(pref) = route.local_pref {
            args.extend(["local-pref".into(), pref.to_string()]);
        }
        if !route.communities.is_empty() {
            let list = route.community_words();
            args.extend(["community".into(), list.join(",")]);
        }
        if !route.large_communities.is_empty() {
            let list = route.large_community_words();
            args.extend(["large-community".into(), list.join(",")]);
        }
        if !route.as_path_prepend.is_empty() {
            // GoBGP puts its own AS in front on eBGP; the given path follows it.
            let list: Vec<String> = route.as_path_prepend.iter().map(u32::to_string).collect();
            args.extend(["aspath".into(), list.join(",")]);
        }
        // What remains of the arguments are extended communities.
        for c in &route.ext_communities {
            args.extend(gobgp_ext_community(*c));
        }
        args
    }
}

/// The `gobgp global rib add` words for one extended community: its CLI has route targets
/// (`rt A:N`, with a 2-octet AS, an IPv4 address or a 4-octet AS), origin validation states
/// and encapsulations; anything else cannot be sent from it.
fn gobgp_ext_community(c: [u8; 8]) -> Vec<String> {
    let [kind, sub, a, b, c2, d, e, f] = c;
    let words: Vec<String> = match (kind, sub) {
        (0x00, 0x02) => vec![
            "rt".into(),
            format!(
                "{}:{}",
                u16::from_be_bytes([a, b]),
                u32::from_be_bytes([c2, d, e, f])
            ),
        ],
        (0x01, 0x02) => vec![
            "rt".into(),
            format!(
                "{}:{}",
                Ipv4Addr::new(a, b, c2, d),
                u16::from_be_bytes([e, f])
            ),
        ],
        // A 4-octet AS only in asdot notation: GoBGP reads `4200000000:5` as a 2-octet AS.
        (0x02, 0x02) => vec![
            "rt".into(),
            format!(
                "{}.{}:{}",
                u16::from_be_bytes([a, b]),
                u16::from_be_bytes([c2, d]),
                u16::from_be_bytes([e, f])
            ),
        ],
        (0x43, 0x00) => match f {
            0 => vec!["valid".into()],
            1 => vec!["not-found".into()],
            _ => vec!["invalid".into()],
        },
        (0x03, 0x0c) if u16::from_be_bytes([e, f]) == 8 => vec!["encap".into(), "vxlan".into()],
        _ => panic!("GoBGP's CLI cannot send extended community {c:02x?}"),
    };
    words
}

/// Parses one path of GoBGP's JSON (`attrs` is a list of typed attribute objects).
fn path_from_json(prefix: IpNet, path: &Value) -> SeenRoute {
    let mut seen = SeenRoute::empty(prefix);
    let attrs = path
        .get("attrs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for attr in &attrs {
        match attr.get("type").and_then(Value::as_u64) {
            Some(2) => {
                for segment in attr
                    .get("as_paths")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(asns) = segment.get("asns").and_then(Value::as_array) {
                        seen.as_path.extend(asns.iter().filter_map(json_u32));
                    }
                }
            }
            Some(3) | Some(14) => {
                let nh = attr
                    .get("nexthop")
                    .and_then(Value::as_str)
                    .and_then(|t| parse_ip(t).ok());
                if nh.is_some() {
                    seen.next_hop = nh;
                }
            }
            Some(4) => seen.med = attr.get("metric").and_then(json_u32),
            Some(5) => seen.local_pref = attr.get("value").and_then(json_u32),
            Some(8) => {
                for c in attr
                    .get("communities")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(json_u32)
                {
                    seen.communities
                        .push(((c >> 16) as u16, (c & 0xffff) as u16));
                }
            }
            Some(32) => {
                for c in attr
                    .get("value")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let (Some(g), Some(a), Some(b)) = (
                        c.get("ASN").and_then(json_u32),
                        c.get("LocalData1").and_then(json_u32),
                        c.get("LocalData2").and_then(json_u32),
                    ) {
                        seen.large_communities.push((g, a, b));
                    }
                }
            }
            _ => {}
        }
    }
    seen.normalize()
}

impl Daemon for GoBgp {
    fn name(&self) -> &'static str {
        "gobgp"
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
        let n = self.neighbor_json()?;
        Ok(n.pointer("/state/session_state").and_then(Value::as_u64) == Some(SESSION_ESTABLISHED))
    }

    fn received(&mut self, afi: Afi) -> Result<Vec<SeenRoute>> {
        let neighbor = self.spec.neighbor.to_string();
        let out = self.cli(&[
            "neighbor",
            &neighbor,
            "adj-in",
            "-a",
            GoBgp::family_arg(afi),
            "-j",
        ])?;
        if out.trim().is_empty() || out.contains("Network not in table") {
            return Ok(Vec::new());
        }
        let table: Value =
            serde_json::from_str(&out).map_err(|_| parse_err("adj-in JSON", &out))?;
        let mut routes = Vec::new();
        for (key, paths) in table.as_object().into_iter().flatten() {
            let prefix = parse_prefix(key)?;
            // Paths GoBGP treated as withdraw (for example a loopback next hop) are listed
            // with no paths; they are not received routes.
            if let Some(path) = paths.as_array().and_then(|p| p.first()) {
                routes.push(path_from_json(prefix, path));
            }
        }
        Ok(routes)
    }

    fn announce(&mut self, route: &Route) -> Result<()> {
        let args = self.route_args(route);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.cli(&refs).map(|_| ())
    }

    fn withdraw(&mut self, prefix: IpNet) -> Result<()> {
        let family = GoBgp::family_arg(Afi::of(&prefix));
        self.cli(&["global", "rib", "del", "-a", family, &prefix.to_string()])
            .map(|_| ())
    }

    fn reset_session(&mut self) -> Result<()> {
        let neighbor = self.spec.neighbor.to_string();
        self.cli(&["neighbor", &neighbor, "reset"]).map(drop)
    }

    fn process(&self) -> &DaemonProcess {
        &self.process
    }

    fn log_tail(&self) -> String {
        tail(&self.dir.path().join("gobgpd.log"), 30)
    }
}

fn render_config(spec: &PeerSpec, addr: Ipv4Addr, transport: IpAddr, port: u16) -> String {
    let router_id = spec.router_id.unwrap_or(addr);
    let mut s = String::new();
    s.push_str("[global.config]\n");
    let _ = writeln!(s, "  as = {}", spec.local_as);
    let _ = writeln!(s, "  router-id = \"{router_id}\"");
    let _ = writeln!(s, "  port = {port}");
    let _ = writeln!(s, "  local-address-list = [\"{transport}\"]");
    s.push_str("[global.apply-policy.config]\n");
    s.push_str("  default-import-policy = \"accept-route\"\n");
    s.push_str("  default-export-policy = \"accept-route\"\n");
    s.push_str("[[neighbors]]\n  [neighbors.config]\n");
    let _ = writeln!(s, "    neighbor-address = \"{}\"", spec.neighbor);
    let _ = writeln!(s, "    peer-as = {}", spec.neighbor_as);
    if let Some(password) = &spec.password {
        let _ = writeln!(s, "    auth-password = \"{password}\"");
    }
    s.push_str("  [neighbors.transport.config]\n");
    let _ = writeln!(s, "    remote-port = {}", spec.neighbor_port);
    let _ = writeln!(s, "    local-address = \"{transport}\"");
    let _ = writeln!(s, "    passive-mode = {}", spec.passive);
    s.push_str("  [neighbors.timers.config]\n");
    let _ = writeln!(s, "    hold-time = {}", spec.hold_time);
    let _ = writeln!(s, "    keepalive-interval = {}", spec.keepalive());
    s.push_str("    connect-retry = 1\n");
    s.push_str("  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n");
    s.push_str("      afi-safi-name = \"ipv4-unicast\"\n");
    if spec.ipv6 {
        s.push_str("  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n");
        s.push_str("      afi-safi-name = \"ipv6-unicast\"\n");
    }
    s
}
