//! The graceful restart parts of `show ip bgp neighbors` in FRR 8.4's layout: the lines under
//! "Graceful Restart Capability" and the "Graceful restart information" block, and their
//! JSON (`gracefulRestartInfo`). The captures they follow are in
//! `tests/frr-8.4/graceful-restart/`.

use std::fmt::{self, Write};

use serde_json::{Map, Value, json};

use crate::view::{GracefulRestartView, PeerGracefulRestart};

fn yes_no(b: bool) -> &'static str {
    if b { "Yes" } else { "No" }
}

fn true_false(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// What follows "Graceful Restart Capability: …" when the peer sent one.
pub fn capability(out: &mut impl Write, peer: &PeerGracefulRestart) -> fmt::Result {
    writeln!(
        out,
        "      Remote Restart timer is {} seconds",
        peer.restart_time
    )?;
    out.write_str("      Address families by peer:\n        ")?;
    if peer.families.is_empty() {
        out.write_str("none")?;
    }
    for (i, (name, preserved)) in peer.families.iter().enumerate() {
        let kept = if *preserved {
            "preserved"
        } else {
            "not preserved"
        };
        write!(out, "{}{name}({kept})", if i > 0 { ", " } else { "" })?;
    }
    out.write_char('\n')
}

/// "  Graceful restart information:" and everything under it.
pub fn information(out: &mut impl Write, gr: &GracefulRestartView) -> fmt::Result {
    out.write_str("  Graceful restart information:\n")?;
    if let Some((sent, received)) = &gr.end_of_rib {
        writeln!(out, "    End-of-RIB send: {}", sent.join(", "))?;
        writeln!(out, "    End-of-RIB received: {}", received.join(", "))?;
    }
    if let Some(left) = gr.restart_remaining {
        writeln!(out, "    The remaining time of restart timer is {left}")?;
    }
    if let Some(left) = gr.stale_path_remaining {
        writeln!(out, "    The remaining time of stalepath timer is {left}")?;
    }
    writeln!(out, "    Local GR Mode: {}*", gr.local_mode.word())?;
    writeln!(
        out,
        "    Remote GR Mode: {}",
        gr.remote_mode.map_or("NotApplicable", |m| m.word())
    )?;
    writeln!(out, "    R bit: {}", true_false(gr.r_bit))?;
    writeln!(out, "    N bit: {}", true_false(gr.n_bit))?;
    out.write_str("    Timers:\n")?;
    writeln!(
        out,
        "      Configured Restart Time(sec): {}",
        gr.configured_restart_time
    )?;
    writeln!(
        out,
        "      Received Restart Time(sec): {}",
        gr.received_restart_time
    )?;
    if let Some(left) = gr.restart_remaining {
        // FRR 8.4 prints this line twice.
        for _ in 0..2 {
            writeln!(out, "      Restart Time Remaining(sec): {left}")?;
        }
    }
    for f in &gr.families {
        writeln!(out, "    {}:", f.name)?;
        writeln!(out, "      F bit: {}", true_false(f.f_bit))?;
        writeln!(out, "      End-of-RIB sent: {}", yes_no(f.end_of_rib_sent))?;
        writeln!(
            out,
            "      End-of-RIB sent after update: {}",
            yes_no(f.end_of_rib_sent)
        )?;
        writeln!(
            out,
            "      End-of-RIB received: {}",
            yes_no(f.end_of_rib_received)
        )?;
        out.write_str("      Timers:\n")?;
        writeln!(
            out,
            "        Configured Stale Path Time(sec): {}",
            f.stale_path_time
        )?;
        if let Some(left) = f.stale_path_remaining {
            writeln!(out, "      Stale Path Remaining(sec): {left}")?;
        }
        if let Some(t) = f.selection_deferral_time {
            writeln!(out, "        Configured Selection Deferral Time(sec): {t}")?;
        }
    }
    Ok(())
}

/// `gracefulRestartInfo` of `show ip bgp neighbors json`.
pub fn information_json(gr: &GracefulRestartView) -> Value {
    let flags = |names: &[String], families: &[(String, String)]| -> Value {
        let map: Map<String, Value> = families
            .iter()
            .filter(|(name, _)| names.contains(name))
            .map(|(_, key)| (key.clone(), json!(true)))
            .collect();
        Value::Object(map)
    };
    let keys: Vec<(String, String)> = [
        ("IPv4 Unicast", "ipv4Unicast"),
        ("IPv6 Unicast", "ipv6Unicast"),
    ]
    .iter()
    .map(|(n, k)| ((*n).to_owned(), (*k).to_owned()))
    .collect();
    let (sent, received) = gr.end_of_rib.clone().unwrap_or_default();
    let mut m = Map::new();
    m.insert("endOfRibSend".into(), flags(&sent, &keys));
    m.insert("endOfRibRecv".into(), flags(&received, &keys));
    if let Some(left) = gr.restart_remaining {
        m.insert("gracefulRestartTimerMsecs".into(), json!(left * 1000));
    }
    if let Some(left) = gr.stale_path_remaining {
        m.insert("gracefulStalepathTimerMsecs".into(), json!(left * 1000));
    }
    m.insert(
        "localGrMode".into(),
        json!(format!("{}*", gr.local_mode.word())),
    );
    m.insert(
        "remoteGrMode".into(),
        json!(gr.remote_mode.map_or("NotApplicable", |mode| mode.word())),
    );
    m.insert("rBit".into(), json!(gr.r_bit));
    m.insert("nBit".into(), json!(gr.n_bit));
    let mut timers = Map::new();
    timers.insert(
        "configuredRestartTimer".into(),
        json!(gr.configured_restart_time),
    );
    timers.insert(
        "receivedRestartTimer".into(),
        json!(gr.received_restart_time),
    );
    if let Some(left) = gr.restart_remaining {
        timers.insert("restartTimerRemaining".into(), json!(left));
    }
    m.insert("timers".into(), Value::Object(timers));
    for f in &gr.families {
        let mut t = Map::new();
        t.insert("stalePathTimer".into(), json!(f.stale_path_time));
        if let Some(left) = f.stale_path_remaining {
            t.insert("stalePathTimerRemaining".into(), json!(left));
        }
        if let Some(d) = f.selection_deferral_time {
            t.insert("selectionDeferralTimer".into(), json!(d));
        }
        m.insert(
            f.key.clone(),
            json!({
                "fBit": f.f_bit,
                "endOfRibStatus": {
                    "endOfRibSend": f.end_of_rib_sent,
                    "endOfRibSentAfterUpdate": f.end_of_rib_sent,
                    "endOfRibRecv": f.end_of_rib_received,
                },
                "timers": Value::Object(t),
            }),
        );
    }
    Value::Object(m)
}
