//! `show ip route [bgp] [json]` and `show ipv6 route …` in zebra's layout, from the kernel
//! table.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::json;
use super::time::uptime;
use crate::cli::command::Afi;
use crate::view::{KernelRouteView, RouteProtocol};

/// The legend above IPv4 routes.
const CODES: &str = "\
Codes: K - kernel route, C - connected, S - static, R - RIP,
       O - OSPF, I - IS-IS, B - BGP, E - EIGRP, N - NHRP,
       T - Table, v - VNC, V - VNC-Direct, A - Babel, F - PBR,
       f - OpenFabric,
       > - selected route, * - FIB route, q - queued, r - rejected, b - backup
       t - trapped, o - offload failure

";

/// The legend above IPv6 routes (zebra names the IPv6 protocols).
const CODES_V6: &str = "\
Codes: K - kernel route, C - connected, S - static, R - RIPng,
       O - OSPFv3, I - IS-IS, B - BGP, N - NHRP, T - Table,
       v - VNC, V - VNC-Direct, A - Babel, F - PBR,
       f - OpenFabric,
       > - selected route, * - FIB route, q - queued, r - rejected, b - backup
       t - trapped, o - offload failure

";

/// The text table of one family's routes; nothing at all when there is no route (as zebra
/// prints it).
pub fn table(routes: &[KernelRouteView], afi: Afi) -> String {
    if routes.is_empty() {
        return String::new();
    }
    let mut out = match afi {
        Afi::Ipv4 => CODES,
        Afi::Ipv6 => CODES_V6,
    }
    .to_string();
    for r in routes {
        let head = format!("{}>* {}", r.protocol.code(), r.prefix);
        let up = uptime(r.uptime);
        let direct = r.protocol == RouteProtocol::Connected
            || r.nexthops.iter().all(|n| n.gateway.is_none());
        if direct {
            let ifname = r
                .nexthops
                .first()
                .map(|n| n.interface.as_str())
                .unwrap_or("");
            let _ = writeln!(out, "{head} is directly connected, {ifname}, {up}");
            continue;
        }
        let lead = format!("{head} [{}/{}] ", r.distance, r.metric);
        for (i, nh) in r.nexthops.iter().enumerate() {
            if i == 0 {
                out.push_str(&lead);
            } else {
                let _ = write!(out, "  *{:w$}", "", w = lead.len().saturating_sub(3));
            }
            match nh.gateway {
                Some(gw) => {
                    let _ = write!(out, "via {gw}, {}", nh.interface);
                }
                None => {
                    let _ = write!(out, "is directly connected, {}", nh.interface);
                }
            }
            if let Some(w) = nh.weight {
                let _ = write!(out, ", weight {w}");
            }
            let _ = writeln!(out, ", {up}");
        }
    }
    out
}

/// The JSON form, keyed by prefix, with zebra's key names.
pub fn table_json(routes: &[KernelRouteView]) -> String {
    let mut top = Map::new();
    for r in routes {
        let connected = r.protocol == RouteProtocol::Connected;
        let nexthops: Vec<Value> = r
            .nexthops
            .iter()
            .map(|nh| {
                let mut m = Map::new();
                m.insert("flags".into(), json!(3));
                m.insert("fib".into(), json!(true));
                match nh.gateway {
                    Some(gw) => {
                        m.insert("ip".into(), json!(gw.to_string()));
                        m.insert(
                            "afi".into(),
                            json!(if gw.is_ipv4() { "ipv4" } else { "ipv6" }),
                        );
                    }
                    None => {
                        m.insert("directlyConnected".into(), json!(true));
                    }
                }
                m.insert("interfaceIndex".into(), json!(nh.ifindex));
                m.insert("interfaceName".into(), json!(nh.interface));
                m.insert("active".into(), json!(true));
                if let Some(w) = nh.weight {
                    m.insert("weight".into(), json!(w));
                }
                Value::Object(m)
            })
            .collect();
        let mut m = Map::new();
        m.insert("prefix".into(), json!(r.prefix.to_string()));
        m.insert("prefixLen".into(), json!(r.prefix.prefix_len()));
        m.insert("protocol".into(), json!(r.protocol.name()));
        m.insert("vrfId".into(), json!(0));
        m.insert("vrfName".into(), json!("default"));
        m.insert("selected".into(), json!(true));
        m.insert("destSelected".into(), json!(true));
        m.insert("distance".into(), json!(r.distance));
        m.insert("metric".into(), json!(r.metric));
        m.insert("installed".into(), json!(true));
        m.insert("table".into(), json!(r.table));
        // zebra's status and flag bits for a selected, installed route.
        m.insert("internalStatus".into(), json!(16));
        m.insert(
            "internalFlags".into(),
            json!(if connected { 8 } else { 13 }),
        );
        m.insert("internalNextHopNum".into(), json!(r.nexthops.len()));
        m.insert("internalNextHopActiveNum".into(), json!(r.nexthops.len()));
        if let Some(id) = r.nexthop_group {
            m.insert("nexthopGroupId".into(), json!(id));
            m.insert("installedNexthopGroupId".into(), json!(id));
        }
        m.insert("uptime".into(), json!(uptime(r.uptime)));
        m.insert("nexthops".into(), Value::Array(nexthops));
        top.insert(r.prefix.to_string(), json!([Value::Object(m)]));
    }
    format!("{}\n", json::pretty(&Value::Object(top)))
}
