//! The running configuration as FRR 8 writes it: `show running-config` (with vtysh's
//! "Building configuration..." header) and the file `write` saves, in the same order and
//! indentation as bgpd's config writer, so FRR users read it as they know it and the file
//! loads back to the same configuration.

use std::fmt::Write as _;

use super::{
    BfdConfig, BgpConfig, GracefulRestartConfig, GracefulRestartMode, NeighborAfConfig,
    NeighborConfig, RunningConfig,
};
use crate::cli::command::Afi;

/// Facts from outside the configuration that the header shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// Shown as `frr version …` (the line FRR tools expect at the top of a config).
    pub version: String,
    /// IPv4 forwarding is on in the kernel (else `no ip forwarding` is written).
    pub ip_forwarding: bool,
    /// IPv6 forwarding is on in the kernel (else `no ipv6 forwarding` is written).
    pub ipv6_forwarding: bool,
}

impl Default for Environment {
    fn default() -> Self {
        Environment {
            version: format!("mini-router-{}", env!("CARGO_PKG_VERSION")),
            ip_forwarding: true,
            ipv6_forwarding: false,
        }
    }
}

/// `show running-config`.
pub fn running_config(cfg: &RunningConfig, env: &Environment) -> String {
    format!(
        "Building configuration...\n\nCurrent configuration:\n!\n{}",
        config_file(cfg, env)
    )
}

/// The configuration file `write` saves: `show running-config` without vtysh's header.
pub fn config_file(cfg: &RunningConfig, env: &Environment) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "frr version {}", env.version);
    out.push_str("frr defaults traditional\n");
    let _ = writeln!(out, "hostname {}", cfg.hostname);
    if !env.ip_forwarding {
        out.push_str("no ip forwarding\n");
    }
    if !env.ipv6_forwarding {
        out.push_str("no ipv6 forwarding\n");
    }
    out.push_str("service integrated-vtysh-config\n!\n");
    if let Some(bgp) = &cfg.bgp {
        write_bgp(&mut out, bgp);
        out.push_str("!\n");
    }
    if let Some(bfd) = &cfg.bfd {
        write_bfd(&mut out, bfd);
        out.push_str("!\n");
    }
    out.push_str("end\n");
    out
}

fn write_bgp(out: &mut String, bgp: &BgpConfig) {
    let _ = writeln!(out, "router bgp {}", bgp.asn);
    if let Some(id) = bgp.router_id {
        let _ = writeln!(out, " bgp router-id {id}");
    }
    write_graceful_restart(out, &bgp.graceful_restart);
    for (name, group) in &bgp.peer_groups {
        let _ = writeln!(out, " neighbor {name} peer-group");
        if let Some(r) = group.conf.remote_as {
            let _ = writeln!(out, " neighbor {name} remote-as {r}");
        }
        write_options(out, name, &group.conf);
    }
    for (addr, n) in &bgp.neighbors {
        let name = addr.to_string();
        match &n.peer_group {
            Some(g) => {
                let _ = writeln!(out, " neighbor {name} peer-group {g}");
                let group_has_as = bgp
                    .peer_groups
                    .get(g)
                    .is_some_and(|g| g.conf.remote_as.is_some());
                if let (Some(r), false) = (n.remote_as, group_has_as) {
                    let _ = writeln!(out, " neighbor {name} remote-as {r}");
                }
            }
            None => {
                if let Some(r) = n.remote_as {
                    let _ = writeln!(out, " neighbor {name} remote-as {r}");
                }
            }
        }
        write_options(out, &name, n);
    }
    for (name, group) in &bgp.peer_groups {
        for range in &group.listen_ranges {
            let _ = writeln!(out, " bgp listen range {range} peer-group {name}");
        }
    }
    for afi in [Afi::Ipv4, Afi::Ipv6] {
        write_family(out, bgp, afi);
    }
    out.push_str("exit\n");
}

/// The global graceful restart lines, in bgpd's order; defaults are not written.
fn write_graceful_restart(out: &mut String, gr: &GracefulRestartConfig) {
    let defaults = GracefulRestartConfig::default();
    if gr.stale_path_time != defaults.stale_path_time {
        let _ = writeln!(
            out,
            " bgp graceful-restart stalepath-time {}",
            gr.stale_path_time
        );
    }
    if gr.restart_time != defaults.restart_time {
        let _ = writeln!(
            out,
            " bgp graceful-restart restart-time {}",
            gr.restart_time
        );
    }
    match gr.mode {
        GracefulRestartMode::Restart => out.push_str(" bgp graceful-restart\n"),
        GracefulRestartMode::Disable => out.push_str(" bgp graceful-restart-disable\n"),
        GracefulRestartMode::Helper => {}
    }
    if gr.preserve_fw_state {
        out.push_str(" bgp graceful-restart preserve-fw-state\n");
    }
}

/// bfdd's block: each profile with only what differs from the defaults.
fn write_bfd(out: &mut String, bfd: &BfdConfig) {
    out.push_str("bfd\n");
    for (name, p) in &bfd.profiles {
        let _ = writeln!(out, " profile {name}");
        if let Some(m) = p.detect_multiplier {
            let _ = writeln!(out, "  detect-multiplier {m}");
        }
        if let Some(ms) = p.transmit_interval {
            let _ = writeln!(out, "  transmit-interval {ms}");
        }
        if let Some(ms) = p.receive_interval {
            let _ = writeln!(out, "  receive-interval {ms}");
        }
        if p.shutdown {
            out.push_str("  shutdown\n");
        }
        if p.passive {
            out.push_str("  passive-mode\n");
        }
        if let Some(ttl) = p.minimum_ttl {
            let _ = writeln!(out, "  minimum-ttl {ttl}");
        }
        out.push_str(" exit\n !\n");
    }
    out.push_str("exit\n");
}

fn write_options(out: &mut String, name: &str, n: &NeighborConfig) {
    if let Some(d) = &n.description {
        let _ = writeln!(out, " neighbor {name} description {d}");
    }
    if n.shutdown {
        let _ = writeln!(out, " neighbor {name} shutdown");
    }
    if let Some(profile) = &n.bfd {
        let _ = writeln!(out, " neighbor {name} bfd");
        if let Some(p) = profile {
            let _ = writeln!(out, " neighbor {name} bfd profile {p}");
        }
    }
    if let Some(p) = &n.password {
        let _ = writeln!(out, " neighbor {name} password {p}");
    }
    if n.passive {
        let _ = writeln!(out, " neighbor {name} passive");
    }
    match n.ebgp_multihop {
        Some(Some(ttl)) => {
            let _ = writeln!(out, " neighbor {name} ebgp-multihop {ttl}");
        }
        Some(None) => {
            let _ = writeln!(out, " neighbor {name} ebgp-multihop");
        }
        None => {}
    }
    if let Some(s) = &n.update_source {
        let _ = writeln!(out, " neighbor {name} update-source {s}");
    }
    if let Some((k, h)) = n.timers {
        let _ = writeln!(out, " neighbor {name} timers {k} {h}");
    }
}

fn write_family(out: &mut String, bgp: &BgpConfig, afi: Afi) {
    let f = bgp.family(afi);
    let mut body = String::new();
    for p in &f.networks {
        let _ = writeln!(body, "  network {p}");
    }
    if let Some(n) = f.maximum_paths {
        let _ = writeln!(body, "  maximum-paths {n}");
    }
    if let Some(n) = f.maximum_paths_ibgp {
        let _ = writeln!(body, "  maximum-paths ibgp {n}");
    }
    let groups = bgp
        .peer_groups
        .iter()
        .map(|(name, g)| (name.clone(), &g.conf));
    let neighbors = bgp.neighbors.iter().map(|(a, n)| (a.to_string(), n));
    for (name, n) in groups.chain(neighbors) {
        let af = n.family(afi);
        let default = NeighborAfConfig::default_for(afi);
        if af.active != default.active {
            let no = if af.active { "" } else { "no " };
            let _ = writeln!(body, "  {no}neighbor {name} activate");
        }
        if let Some(m) = af.maximum_prefix {
            let _ = writeln!(body, "  neighbor {name} maximum-prefix {m}");
        }
    }
    if !body.is_empty() {
        let _ = writeln!(out, " !\n address-family {} unicast", afi.keyword());
        out.push_str(&body);
        out.push_str(" exit-address-family\n");
    }
}
