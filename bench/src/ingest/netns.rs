//! The network namespace of the kernel-install variant: `ferrolb-bench-PID` with `lo` up and
//! a veth pair (both ends inside) whose end `ferrolb-v0` holds the receivers' 192.0.2.254/24
//! and `ferrolb-v1` the sender's 192.0.2.253/24, so the workload's next hop 192.0.2.1 is on a
//! connected subnet and routes can be installed. Deleting the namespace
//! (on drop, also after a failure) removes every route installed in it. Namespaces left by
//! a run that was killed are removed by the next run.

use std::process::Command;

use super::{Result, parse_err, run_stdout};

/// Prefix of the namespace names this benchmark creates.
const PREFIX: &str = "ferrolb-bench-";
/// The interface that holds the next hop's subnet.
pub const NEXT_HOP_INTERFACE: &str = "ferrolb-v0";
/// The receivers' address, on that subnet (FRR with zebra wants the session's local
/// address on an interface it knows; 127.0.0.1 on lo is refused with "nexthop_set failed").
const LOCAL_ADDRESS: &str = "192.0.2.254/24";
/// The sender's address, on the other end of the veth pair.
const SENDER_ADDRESS: &str = "192.0.2.253/24";
/// [`LOCAL_ADDRESS`] without its length.
pub const RECEIVER_IP: std::net::Ipv4Addr = std::net::Ipv4Addr::new(192, 0, 2, 254);
/// [`SENDER_ADDRESS`] without its length.
pub const SENDER_IP: std::net::Ipv4Addr = std::net::Ipv4Addr::new(192, 0, 2, 253);

/// A namespace this process created; deleted when dropped.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

fn ip(args: &[&str]) -> Result<String> {
    run_stdout(Command::new("ip").args(args))
}

impl Netns {
    /// Removes namespaces of earlier runs whose process is gone, then creates this run's.
    pub fn create() -> Result<Netns> {
        remove_stale()?;
        let name = format!("{PREFIX}{}", std::process::id());
        ip(&["netns", "add", &name])?;
        let netns = Netns { name };
        let n = netns.name.as_str();
        ip(&["-n", n, "link", "set", "lo", "up"])?;
        ip(&[
            "-n",
            n,
            "link",
            "add",
            NEXT_HOP_INTERFACE,
            "type",
            "veth",
            "peer",
            "name",
            "ferrolb-v1",
        ])?;
        ip(&[
            "-n",
            n,
            "addr",
            "add",
            LOCAL_ADDRESS,
            "dev",
            NEXT_HOP_INTERFACE,
        ])?;
        ip(&["-n", n, "addr", "add", SENDER_ADDRESS, "dev", "ferrolb-v1"])?;
        ip(&["-n", n, "link", "set", NEXT_HOP_INTERFACE, "up"])?;
        ip(&["-n", n, "link", "set", "ferrolb-v1", "up"])?;
        Ok(netns)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// IPv4 prefixes in the namespace's main routing table, read from
    /// `/proc/PID/net/fib_triestat` of a process inside it (cheap even with 1M routes).
    pub fn kernel_prefixes(pid: u32) -> Result<u64> {
        let path = format!("/proc/{pid}/net/fib_triestat");
        let text = std::fs::read_to_string(&path).map_err(super::io_err(format!("read {path}")))?;
        let main = text
            .split("\nMain:")
            .nth(1)
            .ok_or_else(|| parse_err("the Main table in fib_triestat", &text))?;
        main.lines()
            .find_map(|l| l.trim().strip_prefix("Prefixes:"))
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(|| parse_err("Prefixes in fib_triestat", main))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace removes its routes; flushing first only makes that quicker
        // (a flush of a million routes can stop with "Invalid argument": ignored).
        let _ = ip(&["-n", &self.name, "route", "flush", "table", "main"]);
        if let Err(e) = ip(&["netns", "del", &self.name]) {
            eprintln!("ingest: deleting namespace {}: {e}", self.name);
        }
    }
}

/// Deletes `ferrolb-bench-PID` namespaces whose PID no longer runs.
fn remove_stale() -> Result<()> {
    let list = ip(&["netns", "list"])?;
    for line in list.lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(pid) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let alive = pid
            .parse::<u32>()
            .map(|p| std::path::Path::new(&format!("/proc/{p}")).exists())
            .unwrap_or(true);
        if !alive {
            eprintln!("ingest: removing stale namespace {name}");
            let _ = ip(&["netns", "del", name]);
        }
    }
    Ok(())
}
