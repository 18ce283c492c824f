//! `show ip bgp …` / `show bgp ipv4|ipv6 unicast …` in FRR 8.4's layout: the table with its
//! legends and fixed columns, one prefix in detail, the summary, the neighbor details, and
//! their JSON forms with FRR's key names.

use std::fmt::Write as _;
use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::{Map, Value, json};

use super::time::{ctime, uptime};
use super::{community, graceful_restart, json};
use crate::cli::command::Afi;
use crate::view::{
    AsPathSegment, BgpInstanceView, CapStatus, NeighborView, PathSource, PathView, RouteView,
    SessionState,
};

const LEGEND: &str = "\
Status codes:  s suppressed, d damped, h history, * valid, > best, = multipath,
               i internal, r RIB-failure, S Stale, R Removed
Nexthop codes: @NNN nexthop's vrf id, < announce-nh-self
Origin codes:  i - IGP, e - EGP, ? - incomplete
RPKI validation codes: V valid, I invalid, N Not found

   Network          Next Hop            Metric LocPrf Weight Path
";

/// How the table ends: the Loc-RIB counts routes and paths, a neighbor's Adj-RIB counts
/// prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFooter {
    /// `Displayed  N routes and M total paths` (`show ip bgp`).
    Displayed,
    /// `Total number of prefixes N` (`… advertised-routes` / `received-routes`).
    TotalPrefixes,
}

/// `show ip bgp`: the header, one line per path, and the totals.
pub fn table(bgp: &BgpInstanceView, routes: &[RouteView], footer: TableFooter) -> String {
    let paths: usize = routes.iter().map(|r| r.paths.len()).sum();
    if routes.is_empty() || paths == 0 {
        return match footer {
            TableFooter::Displayed => "No BGP prefixes displayed, 0 exist\n".to_string(),
            TableFooter::TotalPrefixes => String::new(),
        };
    }
    let mut out = format!(
        "BGP table version is {}, local router ID is {}, vrf id 0\nDefault local pref {}, local AS {}\n{LEGEND}",
        bgp.table_version, bgp.router_id, bgp.default_local_pref, bgp.local_as
    );
    let mut shown = 0;
    for r in routes.iter().filter(|r| !r.paths.is_empty()) {
        shown += 1;
        for (i, p) in r.paths.iter().enumerate() {
            table_line(&mut out, (i == 0).then_some(&r.prefix), p);
        }
    }
    match footer {
        TableFooter::Displayed => {
            let _ = write!(out, "\nDisplayed  {shown} routes and {paths} total paths\n");
        }
        TableFooter::TotalPrefixes => {
            let _ = write!(out, "\nTotal number of prefixes {shown}\n");
        }
    }
    out
}

fn status(p: &PathView) -> String {
    // FRR shows a stale path's `S` where the valid `*` would be.
    let valid = if p.stale {
        'S'
    } else if p.valid {
        '*'
    } else {
        ' '
    };
    let best = if p.best {
        '>'
    } else if p.multipath {
        '='
    } else {
        ' '
    };
    let internal = if p.source == PathSource::Internal {
        'i'
    } else {
        ' '
    };
    format!("{valid}{best}{internal}")
}

/// One table line, FRR's `route_vty_out`: prefix in 17 columns (on its own line when
/// longer), next hop in 16, then MED (10), LOCAL_PREF (7), weight (7), path and origin.
fn table_line(out: &mut String, prefix: Option<&IpNet>, p: &PathView) {
    out.push_str(&status(p));
    match prefix {
        Some(pfx) => {
            let s = pfx.to_string();
            out.push_str(&s);
            if s.len() >= 17 {
                let _ = write!(out, "\n{:20}", "");
            } else {
                let _ = write!(out, "{:w$}", "", w = 17 - s.len());
            }
        }
        None => {
            let _ = write!(out, "{:17}", "");
        }
    }
    let nh = p.next_hop.to_string();
    out.push_str(&nh);
    if nh.len() >= 16 {
        let _ = write!(out, "\n{:36}", "");
    } else {
        let _ = write!(out, "{:w$}", "", w = 16 - nh.len());
    }
    match p.med {
        Some(m) => {
            let _ = write!(out, "{m:10}");
        }
        None => out.push_str(&" ".repeat(10)),
    }
    match p.local_pref {
        Some(l) => {
            let _ = write!(out, "{l:7}");
        }
        None => out.push_str(&" ".repeat(7)),
    }
    let _ = write!(out, "{:7} ", p.weight);
    let path = p.as_path_string();
    if !path.is_empty() {
        let _ = write!(out, "{path} ");
    }
    out.push_str(p.origin.code());
    out.push('\n');
}

/// `show ip bgp PREFIX`: FRR's detailed view of one entry.
pub fn prefix_detail(route: Option<&RouteView>) -> String {
    let Some(r) = route.filter(|r| !r.paths.is_empty()) else {
        return "% Network not in table\n".to_string();
    };
    let best = r.paths.iter().position(|p| p.best);
    let mut out = format!(
        "BGP routing table entry for {}, version {}\nPaths: ({} available",
        r.prefix,
        r.version,
        r.paths.len(),
    );
    match best {
        Some(i) => {
            let _ = write!(out, ", best #{}, table default", i + 1);
            let note = r
                .paths
                .get(i)
                .and_then(|p| community::paths_note(&p.communities));
            if let Some(note) = note {
                let _ = write!(out, ", {note}");
            }
        }
        None => out.push_str(", no best path"),
    }
    out.push_str(")\n");
    if r.advertised_to.is_empty() {
        out.push_str("  Not advertised to any peer\n");
    } else {
        out.push_str("  Advertised to non peer-group peers:\n ");
        for a in &r.advertised_to {
            let _ = write!(out, " {a}");
        }
        out.push('\n');
    }
    for p in &r.paths {
        let path = p.as_path_string();
        let stale = if p.stale { ", (stale)" } else { "" };
        let _ = writeln!(
            out,
            "  {}{stale}",
            if path.is_empty() { "Local" } else { &path }
        );
        match p.peer {
            Some(peer) => {
                let _ = writeln!(out, "    {} from {peer} ({})", p.next_hop, p.peer_router_id);
            }
            None => {
                let zero = if r.prefix.addr().is_ipv4() {
                    "0.0.0.0"
                } else {
                    "::"
                };
                let _ = writeln!(out, "    {zero} from {zero} ({})", p.peer_router_id);
            }
        }
        let mut attrs = vec![format!("Origin {}", p.origin.word())];
        if let Some(m) = p.med {
            attrs.push(format!("metric {m}"));
        }
        if let Some(l) = p.local_pref {
            attrs.push(format!("localpref {l}"));
        }
        if p.weight != 0 {
            attrs.push(format!("weight {}", p.weight));
        }
        if p.valid {
            attrs.push("valid".to_string());
        }
        attrs.push(
            match p.source {
                PathSource::Internal => "internal",
                PathSource::External => "external",
                PathSource::Local => "sourced, local",
            }
            .to_string(),
        );
        if p.multipath || (p.best && r.paths.iter().any(|o| o.multipath)) {
            attrs.push("multipath".to_string());
        }
        if p.best {
            attrs.push(format!(
                "best ({})",
                p.best_reason.as_deref().unwrap_or("First path received")
            ));
        }
        let _ = writeln!(out, "      {}", attrs.join(", "));
        if !p.communities.is_empty() {
            let (text, _) = community::standard(&p.communities);
            let _ = writeln!(out, "      Community: {text}");
        }
        if !p.ext_communities.is_empty() {
            let text = community::extended(&p.ext_communities);
            let _ = writeln!(out, "      Extended Community: {text}");
        }
        if !p.large_communities.is_empty() {
            let text = community::large(&p.large_communities).join(" ");
            let _ = writeln!(out, "      Large Community: {text}");
        }
        let _ = writeln!(out, "      Last update: {}", ctime(p.last_update));
        if let Some(left) = p.stale_deleted_in {
            let _ = writeln!(
                out,
                "      Time until Graceful Restart stale route deleted: {left}"
            );
        }
    }
    out
}

fn afi_name(prefix: &IpNet) -> &'static str {
    if prefix.addr().is_ipv4() {
        "ipv4"
    } else {
        "ipv6"
    }
}

fn peer_type(p: &PathView) -> &'static str {
    match p.source {
        PathSource::Internal => "internal",
        PathSource::External => "external",
        PathSource::Local => "local",
    }
}

fn in_multipath_set(r: &RouteView, p: &PathView) -> bool {
    p.multipath || (p.best && r.paths.iter().any(|o| o.multipath))
}

/// `show ip bgp PREFIX json`.
pub fn prefix_detail_json(route: Option<&RouteView>) -> String {
    let Some(r) = route.filter(|r| !r.paths.is_empty()) else {
        return "{\n}\n".to_string();
    };
    let mut top = Map::new();
    top.insert("prefix".into(), json!(r.prefix.to_string()));
    top.insert("version".into(), json!(r.version));
    if !r.advertised_to.is_empty() {
        let adv: Map<String, Value> = r
            .advertised_to
            .iter()
            .map(|a| (a.to_string(), json!({})))
            .collect();
        top.insert("advertisedTo".into(), Value::Object(adv));
    }
    let paths: Vec<Value> = r
        .paths
        .iter()
        .map(|p| {
            let mut m = Map::new();
            let path = p.as_path_string();
            let segments: Vec<Value> = p
                .as_path
                .iter()
                .map(|s| match s {
                    AsPathSegment::Sequence(v) => json!({"type": "as-sequence", "list": v}),
                    AsPathSegment::Set(v) => json!({"type": "as-set", "list": v}),
                })
                .collect();
            m.insert(
                "aspath".into(),
                json!({
                    "string": if path.is_empty() { "Local".to_string() } else { path },
                    "segments": segments,
                    "length": p.as_path_len(),
                }),
            );
            if p.stale {
                m.insert("stale".into(), json!(true));
            }
            m.insert("origin".into(), json!(p.origin.word()));
            if let Some(med) = p.med {
                m.insert("metric".into(), json!(med));
            }
            if let Some(l) = p.local_pref {
                m.insert("locPrf".into(), json!(l));
            }
            if p.weight != 0 {
                m.insert("weight".into(), json!(p.weight));
            }
            if p.valid {
                m.insert("valid".into(), json!(true));
            }
            m.insert("version".into(), json!(r.version));
            if in_multipath_set(r, p) {
                m.insert("multipath".into(), json!(true));
            }
            if p.best {
                m.insert(
                    "bestpath".into(),
                    json!({
                        "overall": true,
                        "selectionReason": p.best_reason.as_deref().unwrap_or("First path received"),
                    }),
                );
            }
            if !p.communities.is_empty() {
                let (text, list) = community::standard(&p.communities);
                m.insert("community".into(), json!({"string": text, "list": list}));
            }
            if !p.ext_communities.is_empty() {
                let text = community::extended(&p.ext_communities);
                m.insert("extendedCommunity".into(), json!({"string": text}));
            }
            if !p.large_communities.is_empty() {
                let list = community::large(&p.large_communities);
                m.insert(
                    "largeCommunity".into(),
                    json!({"string": list.join(" "), "list": list}),
                );
            }
            m.insert(
                "lastUpdate".into(),
                json!({"epoch": p.last_update, "string": format!("{}\n", ctime(p.last_update))}),
            );
            if let Some(left) = p.stale_deleted_in {
                m.insert("gracefulRestartSecondsRemaining".into(), json!(left));
            }
            let mut next_hop = Map::new();
            next_hop.insert("ip".into(), json!(p.next_hop.to_string()));
            next_hop.insert("afi".into(), json!(afi_name(&r.prefix)));
            if r.prefix.addr().is_ipv6() {
                next_hop.insert("scope".into(), json!("global"));
            }
            next_hop.insert("metric".into(), json!(0));
            next_hop.insert("accessible".into(), json!(true));
            next_hop.insert("used".into(), json!(true));
            m.insert("nexthops".into(), json!([next_hop]));
            let peer_id = p.peer.map(|a| a.to_string()).unwrap_or_else(|| "0.0.0.0".to_string());
            m.insert(
                "peer".into(),
                json!({
                    "peerId": peer_id,
                    "routerId": p.peer_router_id.to_string(),
                    "type": peer_type(p),
                }),
            );
            Value::Object(m)
        })
        .collect();
    top.insert("paths".into(), Value::Array(paths));
    format!("{}\n", json::pretty(&Value::Object(top)))
}

/// `show ip bgp json`: FRR writes this one by hand, the header pretty and each prefix's
/// paths as one plain line.
pub fn table_json(bgp: &BgpInstanceView, routes: &[RouteView]) -> String {
    let mut out = format!(
        "{{\n \"vrfId\": 0,\n \"vrfName\": \"default\",\n \"tableVersion\": {},\n \"routerId\": \"{}\",\n \"defaultLocPrf\": {},\n \"localAS\": {},\n \"routes\": {{ ",
        bgp.table_version, bgp.router_id, bgp.default_local_pref, bgp.local_as
    );
    let mut first = true;
    for r in routes.iter().filter(|r| !r.paths.is_empty()) {
        if !first {
            out.push(',');
        }
        first = false;
        let paths: Vec<Value> = r.paths.iter().map(|p| table_path_json(r, p)).collect();
        let _ = writeln!(
            out,
            "\"{}\": {}",
            r.prefix,
            json::plain(&Value::Array(paths))
        );
    }
    out.push_str(" }  } \n");
    out
}

fn table_path_json(r: &RouteView, p: &PathView) -> Value {
    let mut m = Map::new();
    if p.stale {
        m.insert("stale".into(), json!(true));
    }
    if p.valid {
        m.insert("valid".into(), json!(true));
    }
    if p.multipath {
        m.insert("multipath".into(), json!(true));
    }
    if p.best {
        m.insert("bestpath".into(), json!(true));
        m.insert(
            "selectionReason".into(),
            json!(p.best_reason.as_deref().unwrap_or("First path received")),
        );
    }
    m.insert(
        "pathFrom".into(),
        json!(if p.source == PathSource::Internal {
            "internal"
        } else {
            "external"
        }),
    );
    m.insert("prefix".into(), json!(r.prefix.addr().to_string()));
    m.insert("prefixLen".into(), json!(r.prefix.prefix_len()));
    m.insert("network".into(), json!(r.prefix.to_string()));
    m.insert("version".into(), json!(r.version));
    if let Some(med) = p.med {
        m.insert("metric".into(), json!(med));
    }
    if let Some(l) = p.local_pref {
        m.insert("locPrf".into(), json!(l));
    }
    m.insert("weight".into(), json!(p.weight));
    let peer_id = p
        .peer
        .map(|a| a.to_string())
        .unwrap_or_else(|| "(unspec)".to_string());
    m.insert("peerId".into(), json!(peer_id));
    m.insert("path".into(), json!(p.as_path_string()));
    m.insert("origin".into(), json!(p.origin.word()));
    m.insert(
        "nexthops".into(),
        json!([{"ip": p.next_hop.to_string(), "afi": afi_name(&r.prefix), "used": true}]),
    );
    Value::Object(m)
}

/// FRR's `mtype_memstr`: the largest unit of which there are more than ten, truncated.
fn memory(bytes: u64) -> String {
    if bytes >> 30 > 10 {
        format!("{} GiB", bytes >> 30)
    } else if bytes >> 20 > 10 {
        format!("{} MiB", bytes >> 20)
    } else if bytes >> 10 > 10 {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

fn family_title(afi: Afi) -> (&'static str, &'static str) {
    match afi {
        Afi::Ipv4 => ("IPv4 Unicast", "ipv4Unicast"),
        Afi::Ipv6 => ("IPv6 Unicast", "ipv6Unicast"),
    }
}

fn up_down(n: &NeighborView) -> String {
    n.up_down.map(uptime).unwrap_or_else(|| "never".to_string())
}

fn state_or_prefixes(n: &NeighborView) -> String {
    if n.shutdown {
        "Idle (Admin)".to_string()
    } else if n.state == SessionState::Established {
        n.prefixes_received.to_string()
    } else {
        n.state.name().to_string()
    }
}

/// `show ip bgp summary`.
pub fn summary(
    bgp: &BgpInstanceView,
    afi: Afi,
    rib_entries: usize,
    neighbors: &[NeighborView],
) -> String {
    let (title, _) = family_title(afi);
    if neighbors.is_empty() {
        return "% No BGP neighbors found in VRF default\n".to_string();
    }
    let mut out = format!(
        "\n{title} Summary (VRF default):\nBGP router identifier {}, local AS number {} vrf-id 0\nBGP table version {}\nRIB entries {rib_entries}, using {} of memory\nPeers {}, using {} of memory\n\n",
        bgp.router_id,
        bgp.local_as,
        bgp.table_version,
        memory(bgp.rib_memory),
        neighbors.len(),
        memory(bgp.peer_memory),
    );
    out.push_str("Neighbor        V         AS   MsgRcvd   MsgSent   TblVer  InQ OutQ  Up/Down State/PfxRcd   PfxSnt Desc\n");
    for n in neighbors {
        let name = if n.dynamic {
            format!("*{}", n.address)
        } else {
            n.address.to_string()
        };
        out.push_str(&name);
        if name.len() >= 16 {
            let _ = write!(out, "\n{:16}", "");
        } else {
            let _ = write!(out, "{:w$}", "", w = 16 - name.len());
        }
        let desc = n
            .description
            .as_deref()
            .map(|d| d.chars().take(20).collect::<String>())
            .unwrap_or_else(|| "N/A".to_string());
        let _ = writeln!(
            out,
            "4 {:>10} {:>9} {:>9} {:>8} {:>4} {:>4} {:>8} {:>12} {:>8} {desc}",
            n.remote_as,
            n.received.total(),
            n.sent.total(),
            0,
            0,
            0,
            up_down(n),
            state_or_prefixes(n),
            n.prefixes_sent,
        );
    }
    let _ = write!(out, "\nTotal number of neighbors {}\n", neighbors.len());
    out
}

/// `show ip bgp summary json`; `now_epoch` dates `peerUptimeEstablishedEpoch`.
pub fn summary_json(
    bgp: &BgpInstanceView,
    afi: Afi,
    rib_entries: usize,
    neighbors: &[NeighborView],
    now_epoch: u64,
) -> String {
    let (_, key) = family_title(afi);
    let mut peers = Map::new();
    for n in neighbors {
        let mut m = Map::new();
        m.insert("remoteAs".into(), json!(n.remote_as));
        m.insert("localAs".into(), json!(n.local_as));
        m.insert("version".into(), json!(4));
        m.insert("msgRcvd".into(), json!(n.received.total()));
        m.insert("msgSent".into(), json!(n.sent.total()));
        m.insert("tableVersion".into(), json!(0));
        m.insert("outq".into(), json!(0));
        m.insert("inq".into(), json!(0));
        m.insert("peerUptime".into(), json!(up_down(n)));
        m.insert(
            "peerUptimeMsec".into(),
            json!(n.up_down.map(|d| d.as_secs() * 1000).unwrap_or(0)),
        );
        if let Some(d) = n.up_down {
            m.insert(
                "peerUptimeEstablishedEpoch".into(),
                json!(now_epoch.saturating_sub(d.as_secs())),
            );
        }
        m.insert("pfxRcd".into(), json!(n.prefixes_received));
        m.insert("pfxSnt".into(), json!(n.prefixes_sent));
        m.insert(
            "state".into(),
            json!(if n.shutdown { "Idle" } else { n.state.name() }),
        );
        m.insert(
            "peerState".into(),
            json!(if n.shutdown { "Admin" } else { "OK" }),
        );
        m.insert(
            "connectionsEstablished".into(),
            json!(n.connections_established),
        );
        m.insert("connectionsDropped".into(), json!(n.connections_dropped));
        if let Some(d) = &n.description {
            m.insert("desc".into(), json!(d));
        }
        m.insert(
            "idType".into(),
            json!(if n.address.is_ipv4() { "ipv4" } else { "ipv6" }),
        );
        peers.insert(n.address.to_string(), Value::Object(m));
    }
    let failed = neighbors
        .iter()
        .filter(|n| n.state != SessionState::Established)
        .count();
    let dynamic = neighbors.iter().filter(|n| n.dynamic).count();
    let body = json!({
        "routerId": bgp.router_id.to_string(),
        "as": bgp.local_as,
        "vrfId": 0,
        "vrfName": "default",
        "tableVersion": bgp.table_version,
        "ribCount": rib_entries,
        "ribMemory": bgp.rib_memory,
        "peerCount": neighbors.len(),
        "peerMemory": bgp.peer_memory,
        "peers": Value::Object(peers),
        "failedPeers": failed,
        "displayedPeers": neighbors.len(),
        "totalPeers": neighbors.len(),
        "dynamicPeers": dynamic,
        "bestPath": {"multiPathRelax": "false"},
    });
    format!("{{\n\"{key}\":{}\n}}\n", json::pretty(&body))
}

/// `show ip bgp neighbors [ADDR]`: each neighbor's block followed by an empty line, and
/// one more empty line at the end (FRR's layout).
pub fn neighbors(list: &[NeighborView], hostname: &str) -> String {
    let mut out = String::new();
    for n in list {
        neighbor(&mut out, n, hostname);
        out.push('\n');
        if let Some(b) = &n.bfd {
            let _ = super::bfd::neighbor(&mut out, b);
        }
    }
    out.push('\n');
    out
}

fn neighbor(out: &mut String, n: &NeighborView, hostname: &str) {
    let link = if n.internal() {
        "internal link"
    } else {
        "external link"
    };
    let _ = writeln!(
        out,
        "BGP neighbor is {}, remote AS {}, local AS {}, {link}",
        n.address, n.remote_as, n.local_as
    );
    if let Some(d) = &n.description {
        let _ = writeln!(out, " Description: {d}");
    }
    out.push_str("  Local Role: undefined\n  Remote Role: undefined\n");
    let _ = writeln!(
        out,
        "  BGP version 4, remote router ID {}, local router ID {}",
        n.remote_router_id, n.local_router_id
    );
    match (n.state, n.established_for) {
        (SessionState::Established, Some(d)) => {
            let _ = writeln!(out, "  BGP state = Established, up for {}", uptime(d));
        }
        _ if n.shutdown => out.push_str("  BGP state = Idle (Admin)\n"),
        (s, _) if n.nsf_wait => {
            let _ = writeln!(out, "  BGP state = {} (NSF passive)", s.name());
        }
        (s, _) => {
            let _ = writeln!(out, "  BGP state = {}", s.name());
        }
    }
    let _ = writeln!(
        out,
        "  Last read {}, Last write {}",
        n.last_read
            .map(uptime)
            .unwrap_or_else(|| "never".to_string()),
        n.last_write
            .map(uptime)
            .unwrap_or_else(|| "never".to_string())
    );
    let _ = writeln!(
        out,
        "  Hold time is {} seconds, keepalive interval is {} seconds",
        n.hold_time, n.keepalive
    );
    let _ = writeln!(
        out,
        "  Configured hold time is {} seconds, keepalive interval is {} seconds",
        n.configured_hold_time, n.configured_keepalive
    );
    out.push_str("  Configured conditional advertisements interval is 60 seconds\n");
    let established = n.state == SessionState::Established;
    if let (true, Some(c)) = (established, &n.capabilities) {
        out.push_str("  Neighbor capabilities:\n");
        let cap = |out: &mut String, name: &str, s: CapStatus| {
            if s != CapStatus::No {
                let _ = writeln!(out, "    {name}: {}", s.words());
            }
        };
        cap(out, "4 Byte AS", c.four_octet_as);
        cap(out, "Extended Message", c.extended_message);
        if !c.add_path.is_empty() {
            out.push_str("    AddPath:\n");
            for (family, what) in &c.add_path {
                let _ = writeln!(out, "      {family}: {what}");
            }
        }
        cap(out, "Long-lived Graceful Restart", c.long_lived_gr);
        cap(out, "Route refresh", c.route_refresh);
        cap(out, "Enhanced Route Refresh", c.enhanced_route_refresh);
        for (family, s) in &c.families {
            cap(out, &format!("Address Family {family}"), *s);
        }
        if let Some((ours, theirs)) = &c.hostname {
            let ours = ours.as_deref().unwrap_or(hostname);
            let theirs = match theirs {
                Some(t) => format!("received (name: {t},domain name: n/a)"),
                None => "not received".to_string(),
            };
            let _ = writeln!(
                out,
                "    Hostname Capability: advertised (name: {ours},domain name: n/a) {theirs}"
            );
        }
        cap(out, "Graceful Restart Capability", c.graceful_restart);
        if let Some(peer) = &c.peer_graceful_restart {
            let _ = graceful_restart::capability(out, peer);
        }
    }
    let _ = graceful_restart::information(out, &n.graceful_restart);
    out.push_str("  Message statistics:\n    Inq depth is 0\n    Outq depth is 0\n                         Sent       Rcvd\n");
    let (s, r) = (&n.sent, &n.received);
    for (name, a, b) in [
        ("Opens:", s.opens, r.opens),
        ("Notifications:", s.notifications, r.notifications),
        ("Updates:", s.updates, r.updates),
        ("Keepalives:", s.keepalives, r.keepalives),
        ("Route Refresh:", s.route_refresh, r.route_refresh),
        ("Capability:", s.capability, r.capability),
        ("Total:", s.total(), r.total()),
    ] {
        let _ = writeln!(out, "    {name:<15}{a:>10}{b:>11}");
    }
    out.push_str("  Minimum time between advertisement runs is 0 seconds\n\n");
    let family = if n.address.is_ipv4() {
        "IPv4 Unicast"
    } else {
        "IPv6 Unicast"
    };
    let _ = writeln!(out, " For address family: {family}");
    if n.in_update_group {
        out.push_str("  Update group 1, subgroup 1\n  Packet Queue length 0\n");
    } else {
        out.push_str("  Not part of any update group\n");
    }
    out.push_str("  Community attribute sent to this neighbor(all)\n");
    let _ = writeln!(out, "  {} accepted prefixes\n", n.prefixes_received);
    let _ = writeln!(
        out,
        "  Connections established {}; dropped {}",
        n.connections_established, n.connections_dropped
    );
    if let Some((ago, reason)) = &n.last_reset {
        let _ = writeln!(out, "  Last reset {},  {reason}", uptime(*ago));
    }
    let hops = if n.internal() { 255 } else { 1 };
    let kind = if n.internal() { "Internal" } else { "External" };
    let _ = writeln!(out, "  {kind} BGP neighbor may be up to {hops} hops away.");
    if let Some((local, remote)) = n.connection {
        let _ = writeln!(
            out,
            "Local host: {}, Local port: {}",
            local.ip(),
            local.port()
        );
        let _ = writeln!(
            out,
            "Foreign host: {}, Foreign port: {}",
            remote.ip(),
            remote.port()
        );
    }
    if let (true, Some((v4, global, link_local))) = (established, &n.nexthops) {
        let _ = writeln!(out, "Nexthop: {v4}");
        if let Some(g) = global {
            let _ = writeln!(out, "Nexthop global: {g}");
        }
        if let Some(l) = link_local {
            let _ = writeln!(out, "Nexthop local: {l}");
        }
        out.push_str("BGP connection: shared network\n");
    }
    let _ = writeln!(
        out,
        "BGP Connect Retry Timer in Seconds: {}",
        n.connect_retry
    );
    if let Some(due) = n.next_start_in {
        let _ = writeln!(out, "Next start timer due in {due} seconds");
    }
    if let Some(due) = n.next_connect_in {
        let _ = writeln!(out, "Next connect timer due in {due} seconds");
    }
    let on = if n.fd.is_some() { "on" } else { "off" };
    let _ = writeln!(
        out,
        "Read thread: {on}  Write thread: {on}  FD used: {}",
        n.fd.unwrap_or(-1)
    );
}

/// `show ip bgp neighbors [ADDR] json`, with FRR's key names for what mini-router tracks.
pub fn neighbors_json(list: &[NeighborView]) -> String {
    let mut top = Map::new();
    for n in list {
        let mut m = Map::new();
        m.insert("remoteAs".into(), json!(n.remote_as));
        m.insert("localAs".into(), json!(n.local_as));
        m.insert("nbrInternalLink".into(), json!(n.internal()));
        if let Some(d) = &n.description {
            m.insert("nbrDesc".into(), json!(d));
        }
        m.insert("bgpVersion".into(), json!(4));
        m.insert(
            "remoteRouterId".into(),
            json!(n.remote_router_id.to_string()),
        );
        m.insert("localRouterId".into(), json!(n.local_router_id.to_string()));
        m.insert("bgpState".into(), json!(n.state.name()));
        if n.nsf_wait {
            m.insert("bgpStateIs".into(), json!("passiveNSF"));
        }
        if let (SessionState::Established, Some(d)) = (n.state, n.established_for) {
            m.insert("bgpTimerUpMsec".into(), json!(d.as_millis() as u64));
            m.insert("bgpTimerUpString".into(), json!(uptime(d)));
        }
        m.insert(
            "bgpTimerHoldTimeMsecs".into(),
            json!(u64::from(n.hold_time) * 1000),
        );
        m.insert(
            "bgpTimerKeepAliveIntervalMsecs".into(),
            json!(u64::from(n.keepalive) * 1000),
        );
        m.insert(
            "bgpTimerConfiguredHoldTimeMsecs".into(),
            json!(u64::from(n.configured_hold_time) * 1000),
        );
        m.insert(
            "bgpTimerConfiguredKeepAliveIntervalMsecs".into(),
            json!(u64::from(n.configured_keepalive) * 1000),
        );
        m.insert(
            "gracefulRestartInfo".into(),
            graceful_restart::information_json(&n.graceful_restart),
        );
        m.insert(
            "messageStats".into(),
            json!({
                "depthInq": 0, "depthOutq": 0,
                "opensSent": n.sent.opens, "opensRecv": n.received.opens,
                "notificationsSent": n.sent.notifications, "notificationsRecv": n.received.notifications,
                "updatesSent": n.sent.updates, "updatesRecv": n.received.updates,
                "keepalivesSent": n.sent.keepalives, "keepalivesRecv": n.received.keepalives,
                "routeRefreshSent": n.sent.route_refresh, "routeRefreshRecv": n.received.route_refresh,
                "capabilitySent": n.sent.capability, "capabilityRecv": n.received.capability,
                "totalSent": n.sent.total(), "totalRecv": n.received.total(),
            }),
        );
        m.insert("acceptedPrefixCounter".into(), json!(n.prefixes_received));
        m.insert(
            "connectionsEstablished".into(),
            json!(n.connections_established),
        );
        m.insert("connectionsDropped".into(), json!(n.connections_dropped));
        if let Some((ago, reason)) = &n.last_reset {
            m.insert("lastResetTimerMsecs".into(), json!(ago.as_millis() as u64));
            m.insert("lastResetDueTo".into(), json!(reason));
        }
        if let Some((local, remote)) = n.connection {
            m.insert("hostLocal".into(), json!(local.ip().to_string()));
            m.insert("portLocal".into(), json!(local.port()));
            m.insert("hostForeign".into(), json!(remote.ip().to_string()));
            m.insert("portForeign".into(), json!(remote.port()));
        }
        m.insert("connectRetryTimer".into(), json!(n.connect_retry));
        if let Some(due) = n.next_start_in {
            m.insert(
                "nextStartTimerDueInMsecs".into(),
                json!(due.saturating_mul(1000)),
            );
        }
        if let Some(due) = n.next_connect_in {
            m.insert(
                "nextConnectTimerDueInMsecs".into(),
                json!(due.saturating_mul(1000)),
            );
        }
        if let Some(b) = &n.bfd {
            m.insert("peerBfdInfo".into(), super::bfd::neighbor_json(b));
        }
        top.insert(n.address.to_string(), Value::Object(m));
    }
    format!("{}\n", json::pretty(&Value::Object(top)))
}

/// The route `show ip bgp A.B.C.D` shows: the longest prefix containing the address.
pub fn longest_match(routes: &[RouteView], addr: IpAddr) -> Option<&RouteView> {
    routes
        .iter()
        .filter(|r| r.prefix.contains(&addr) && !r.paths.is_empty())
        .max_by_key(|r| r.prefix.prefix_len())
}
