//! `show interface [brief]` and `show version` in FRR's layout.

use std::fmt::Write as _;

use crate::view::{InterfaceView, VersionView};

/// `show interface`: interfaces sorted by name, zebra's block for each.
pub fn interfaces(list: &[InterfaceView]) -> String {
    let mut sorted: Vec<&InterfaceView> = list.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = String::new();
    for i in sorted {
        let _ = writeln!(
            out,
            "Interface {} is {}, line protocol is {}",
            i.name,
            if i.up { "up" } else { "down" },
            if i.running { "up" } else { "down" }
        );
        out.push_str("  Link ups:       0    last: (never)\n  Link downs:     0    last: (never)\n  vrf: default\n");
        let _ = writeln!(
            out,
            "  index {} metric 0 mtu {} speed {} ",
            i.index, i.mtu, i.speed
        );
        let _ = writeln!(out, "  flags: <{}>", i.flags.join(","));
        let _ = writeln!(out, "  Type: {}", i.link_type);
        if let Some(hw) = &i.hwaddr {
            let _ = writeln!(out, "  HWaddr: {hw}");
        }
        for a in &i.addresses {
            let family = if a.addr().is_ipv4() { "inet" } else { "inet6" };
            let _ = writeln!(out, "  {family} {a}");
        }
        let _ = writeln!(out, "  Interface Type {}", i.kind);
        out.push_str("  Interface Slave Type None\n  protodown: off \n");
        if let Some(p) = i.parent_ifindex {
            let _ = writeln!(out, "  Parent ifindex: {p}");
        }
    }
    out
}

/// `show interface brief`: one line per interface, further addresses on `+` lines;
/// IPv6 link-local addresses are left out, as zebra does.
pub fn interfaces_brief(list: &[InterfaceView]) -> String {
    let mut sorted: Vec<&InterfaceView> = list.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = String::from(
        "Interface       Status  VRF             Addresses\n---------       ------  ---             ---------\n",
    );
    for i in sorted {
        let status = if i.up { "up" } else { "down" };
        let mut line = format!("{:<16}{:<8}{:<16}", i.name, status, "default");
        let addrs: Vec<String> = i
            .addresses
            .iter()
            .filter(|a| match a.addr() {
                std::net::IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
                std::net::IpAddr::V4(_) => true,
            })
            .map(|a| a.to_string())
            .collect();
        for (n, a) in addrs.iter().enumerate() {
            if n == 0 {
                line.push_str(a);
            } else {
                let _ = write!(line, "\n{:40}+ {a}", "");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `show version`.
pub fn version(v: &VersionView) -> String {
    let build: Vec<String> = v.build.iter().map(|b| format!("'{b}'")).collect();
    format!(
        "{} {} ({}) on Linux({}).\n{}\nconfigured with:\n    {}\n",
        v.product,
        v.version,
        v.hostname,
        v.kernel,
        v.copyright,
        build.join(" ")
    )
}
