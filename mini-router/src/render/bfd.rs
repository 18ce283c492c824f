//! `show bfd peers [brief|counters] [json]` in FRR 8.4 bfdd's layout (tab-indented blocks,
//! the brief table's 10/40/40/15 columns, json-c arrays), and the BFD lines of
//! `show ip bgp neighbors`.

use std::fmt::{self, Write};

use serde_json::{Map, Value, json};

use super::json::pretty;
use crate::view::{BfdPeerView, BfdTimersView, NeighborBfdView};

/// `show bfd peers`.
pub fn peers(list: &[BfdPeerView]) -> String {
    let mut out = String::from("BFD Peers:\n");
    for p in list {
        let _ = peer(&mut out, p);
    }
    out
}

fn header(out: &mut impl Write, p: &BfdPeerView) -> fmt::Result {
    write!(out, "\tpeer {}", p.peer)?;
    if p.multihop {
        out.write_str(" multihop")?;
    }
    if let Some(local) = p.local {
        write!(out, " local-address {local}")?;
    }
    out.write_str(" vrf default")?;
    if let Some(ifname) = &p.interface {
        write!(out, " interface {ifname}")?;
    }
    out.write_str("\n")
}

fn peer(out: &mut impl Write, p: &BfdPeerView) -> fmt::Result {
    header(out, p)?;
    writeln!(out, "\t\tID: {}", p.id)?;
    writeln!(out, "\t\tRemote ID: {}", p.remote_id)?;
    out.write_str(if p.passive {
        "\t\tPassive mode\n"
    } else {
        "\t\tActive mode\n"
    })?;
    if p.multihop {
        writeln!(out, "\t\tMinimum TTL: {}", p.minimum_ttl)?;
    }
    writeln!(out, "\t\tStatus: {}", p.status)?;
    match p.status {
        "up" => writeln!(out, "\t\tUptime: {}", duration_words(p.since_secs))?,
        "down" => writeln!(out, "\t\tDowntime: {}", duration_words(p.since_secs))?,
        _ => {}
    }
    writeln!(out, "\t\tDiagnostics: {}", p.diagnostic)?;
    writeln!(out, "\t\tRemote diagnostics: {}", p.remote_diagnostic)?;
    // Every session is created by BGP, as bgpd's are in bfdd ("dynamic").
    out.write_str("\t\tPeer Type: dynamic\n")?;
    out.write_str("\t\tRTT min/avg/max: 0/0/0 usec\n")?;
    out.write_str("\t\tLocal timers:\n")?;
    timers(out, &p.local_timers)?;
    out.write_str("\t\t\tEcho transmission interval: disabled\n")?;
    out.write_str("\t\tRemote timers:\n")?;
    timers(out, &p.remote_timers)?;
    out.write_str("\n")
}

fn timers(out: &mut impl Write, t: &BfdTimersView) -> fmt::Result {
    writeln!(out, "\t\t\tDetect-multiplier: {}", t.detect_multiplier)?;
    writeln!(out, "\t\t\tReceive interval: {}ms", t.receive_ms)?;
    writeln!(out, "\t\t\tTransmission interval: {}ms", t.transmit_ms)?;
    if t.echo_receive_ms == 0 {
        out.write_str("\t\t\tEcho receive interval: disabled\n")
    } else {
        writeln!(out, "\t\t\tEcho receive interval: {}ms", t.echo_receive_ms)
    }
}

/// bfdd's `integer2timestr`: `1 hour(s), 2 minute(s), 3 second(s)` (months of 30 days).
pub fn duration_words(mut secs: u64) -> String {
    const MINUTE: u64 = 60;
    const HOUR: u64 = 60 * MINUTE;
    const DAY: u64 = 24 * HOUR;
    const MONTH: u64 = 30 * DAY;
    const YEAR: u64 = 12 * MONTH;
    let mut out = String::new();
    for (unit, name) in [
        (YEAR, "year"),
        (MONTH, "month"),
        (DAY, "day"),
        (HOUR, "hour"),
        (MINUTE, "minute"),
    ] {
        if secs >= unit {
            let _ = write!(out, "{} {name}(s), ", secs / unit);
            secs %= unit;
        }
    }
    let _ = write!(out, "{secs} second(s)");
    out
}

/// `show bfd peers brief`.
pub fn peers_brief(list: &[BfdPeerView]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Session count: {}", list.len());
    let _ = writeln!(
        out,
        "{:<10} {:<40} {:<40}{:<15}",
        "SessionId", "LocalAddress", "PeerAddress", "Status"
    );
    let _ = writeln!(
        out,
        "{:<10} {:<40} {:<40}{:<15}",
        "=========", "============", "===========", "======"
    );
    for p in list {
        let local = p.local.map_or_else(
            || if p.peer.is_ipv4() { "0.0.0.0" } else { "::" }.to_string(),
            |l| l.to_string(),
        );
        let _ = writeln!(
            out,
            "{:<10} {:<40} {:<40}{:<15}",
            p.id,
            local,
            p.peer.to_string(),
            p.status
        );
    }
    out
}

/// `show bfd peers counters`.
pub fn peers_counters(list: &[BfdPeerView]) -> String {
    let mut out = String::from("BFD Peers:\n");
    for p in list {
        let _ = counters(&mut out, p);
    }
    out
}

fn counters(out: &mut impl Write, p: &BfdPeerView) -> fmt::Result {
    header(out, p)?;
    writeln!(out, "\t\tControl packet input: {} packets", p.control_in)?;
    writeln!(out, "\t\tControl packet output: {} packets", p.control_out)?;
    out.write_str("\t\tEcho packet input: 0 packets\n")?;
    out.write_str("\t\tEcho packet output: 0 packets\n")?;
    writeln!(out, "\t\tSession up events: {}", p.up_events)?;
    writeln!(out, "\t\tSession down events: {}", p.down_events)?;
    // bfdd tells zebra (and so bgpd) of every state change; ours go to BGP directly.
    writeln!(
        out,
        "\t\tZebra notifications: {}",
        p.up_events + p.down_events
    )?;
    out.write_str("\n")
}

fn json_header(p: &BfdPeerView) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("multihop".into(), json!(p.multihop));
    m.insert("peer".into(), json!(p.peer.to_string()));
    if let Some(local) = p.local {
        m.insert("local".into(), json!(local.to_string()));
    }
    m.insert("vrf".into(), json!("default"));
    if let Some(ifname) = &p.interface {
        m.insert("interface".into(), json!(ifname));
    }
    m
}

/// `show bfd peers [brief] json` (the same array for both, as bfdd prints).
pub fn peers_json(list: &[BfdPeerView]) -> String {
    let array: Vec<Value> = list
        .iter()
        .map(|p| {
            let mut m = json_header(p);
            m.insert("id".into(), json!(p.id));
            m.insert("remote-id".into(), json!(p.remote_id));
            m.insert("passive-mode".into(), json!(p.passive));
            if p.multihop {
                m.insert("minimum-ttl".into(), json!(p.minimum_ttl));
            }
            m.insert("status".into(), json!(p.status));
            match p.status {
                "up" => {
                    m.insert("uptime".into(), json!(p.since_secs));
                }
                "down" => {
                    m.insert("downtime".into(), json!(p.since_secs));
                }
                _ => {}
            }
            m.insert("diagnostic".into(), json!(p.diagnostic));
            m.insert("remote-diagnostic".into(), json!(p.remote_diagnostic));
            let (l, r) = (&p.local_timers, &p.remote_timers);
            m.insert("receive-interval".into(), json!(l.receive_ms));
            m.insert("transmit-interval".into(), json!(l.transmit_ms));
            m.insert("echo-receive-interval".into(), json!(l.echo_receive_ms));
            m.insert("echo-transmit-interval".into(), json!(0));
            m.insert("detect-multiplier".into(), json!(l.detect_multiplier));
            m.insert("remote-receive-interval".into(), json!(r.receive_ms));
            m.insert("remote-transmit-interval".into(), json!(r.transmit_ms));
            m.insert(
                "remote-echo-receive-interval".into(),
                json!(r.echo_receive_ms),
            );
            m.insert(
                "remote-detect-multiplier".into(),
                json!(r.detect_multiplier),
            );
            m.insert("rtt-min".into(), json!(0));
            m.insert("rtt-avg".into(), json!(0));
            m.insert("rtt-max".into(), json!(0));
            Value::Object(m)
        })
        .collect();
    format!("{}\n", pretty(&Value::Array(array)))
}

/// `show bfd peers counters json`.
pub fn peers_counters_json(list: &[BfdPeerView]) -> String {
    let array: Vec<Value> = list
        .iter()
        .map(|p| {
            let mut m = json_header(p);
            m.insert("control-packet-input".into(), json!(p.control_in));
            m.insert("control-packet-output".into(), json!(p.control_out));
            m.insert("echo-packet-input".into(), json!(0));
            m.insert("echo-packet-output".into(), json!(0));
            m.insert("session-up".into(), json!(p.up_events));
            m.insert("session-down".into(), json!(p.down_events));
            m.insert(
                "zebra-notifications".into(),
                json!(p.up_events + p.down_events),
            );
            Value::Object(m)
        })
        .collect();
    format!("{}\n", pretty(&Value::Array(array)))
}

/// The BFD lines of `show ip bgp neighbors ADDR` (lib/bfd.c `bfd_sess_show`), with the
/// blank line that ends them.
pub fn neighbor(out: &mut impl Write, b: &NeighborBfdView) -> fmt::Result {
    let kind = if b.multihop {
        "multi hop"
    } else {
        "single hop"
    };
    writeln!(out, "  BFD: Type: {kind}")?;
    writeln!(
        out,
        "  Detect Multiplier: {}, Min Rx interval: {}, Min Tx interval: {}",
        b.detect_multiplier, b.min_rx_ms, b.min_tx_ms
    )?;
    writeln!(
        out,
        "  Status: {}, Last update: {}",
        b.status,
        last_update(b.last_update)
    )?;
    out.write_str("\n")
}

/// lib/bfd.c's `bfd_last_update`: `never`, or days:hh:mm:ss.
fn last_update(ago: Option<std::time::Duration>) -> String {
    match ago {
        None => "never".to_string(),
        Some(d) => {
            let s = d.as_secs();
            format!(
                "{}:{:02}:{:02}:{:02}",
                s / 86400,
                (s / 3600) % 24,
                (s / 60) % 60,
                s % 60
            )
        }
    }
}

/// The `peerBfdInfo` object of `show ip bgp neighbors json`.
pub fn neighbor_json(b: &NeighborBfdView) -> Value {
    json!({
        "type": if b.multihop { "multi hop" } else { "single hop" },
        "detectMultiplier": b.detect_multiplier,
        "rxMinInterval": b.min_rx_ms,
        "txMinInterval": b.min_tx_ms,
        "status": b.status,
        "lastUpdate": last_update(b.last_update),
    })
}
