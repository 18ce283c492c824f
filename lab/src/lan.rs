//! A private copy of the seed's LAN for one test or benchmark process: a hub namespace with a
//! bridge for 10.192.0.0/24 and fd00:192::/64 holding 10.192.0.1 (where an apiserver
//! listens), and one namespace per machine (nodes, router) joined to the bridge by a veth pair.
//!
//! Unlike [`crate::network`] (the lab's one fixed network, named as in the tutorial), any
//! number of these can exist at once: names carry a caller's prefix, the process id and a
//! counter, and namespaces a killed process left behind are swept the first time one is
//! created. Dropping a [`Lan`] kills whatever still runs in its namespaces and deletes them.
//!
//! A caller that wants its own sockets and child processes on the LAN moves a thread into the
//! hub ([`Lan::enter_hub`]); threads that thread creates afterwards (a tokio runtime's
//! workers) are there too. Machines' programs run through `ip netns exec`.

use std::fs::File;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use nix::sched::{CloneFlags, setns};

use crate::network::{IpError, ip, ip_in, kill_and_remove, sweep_stale};

/// The hub's IPv4 address: the machines' gateway, where an apiserver listens.
pub const HUB_V4: Ipv4Addr = Ipv4Addr::new(10, 192, 0, 1);
/// The hub's IPv6 address.
pub const HUB_V6: &str = "fd00:192::1";

/// Why a thread could not enter a namespace.
#[derive(Debug, thiserror::Error)]
#[error("cannot enter network namespace {namespace}: {reason}")]
pub struct EnterError {
    /// The namespace.
    pub namespace: String,
    /// What failed.
    pub reason: String,
}

/// A network namespace this process created, deleted (after killing what still runs in it)
/// when dropped.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates `<prefix><tag>-<pid>-<n>` with its loopback up, after sweeping namespaces of
    /// `prefix` whose process is gone (the first time this process uses `prefix`).
    pub fn create(prefix: &str, tag: &str) -> Result<Netns, IpError> {
        static SWEPT: Mutex<Vec<String>> = Mutex::new(Vec::new());
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        {
            let mut swept = SWEPT.lock().unwrap_or_else(PoisonError::into_inner);
            if !swept.iter().any(|p| p == prefix) {
                sweep_stale(prefix);
                swept.push(prefix.to_owned());
            }
        }
        let name = format!(
            "{prefix}{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        ip(&["netns", "add", &name])?;
        let ns = Netns { name };
        ip_in(&ns.name, &["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace's name, for `ip -n` and `ip netns exec`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Moves the calling thread into this namespace (see [`enter`]).
    pub fn enter(&self) -> Result<(), EnterError> {
        enter(&self.name)
    }
}

/// Moves the calling thread into the named network namespace (`ip netns` names): its new
/// sockets, the processes it starts and the threads it creates are inside from now on.
pub fn enter(name: &str) -> Result<(), EnterError> {
    let path = format!("/run/netns/{name}");
    let err = |reason: String| EnterError {
        namespace: name.to_owned(),
        reason,
    };
    let file = File::open(&path).map_err(|e| err(format!("open {path}: {e}")))?;
    setns(&file, CloneFlags::CLONE_NEWNET).map_err(|e| err(format!("setns: {e}")))
}

impl Drop for Netns {
    fn drop(&mut self) {
        kill_and_remove(&self.name);
    }
}

/// One machine on the LAN.
#[derive(Debug)]
struct Machine {
    role: String,
    netns: Netns,
    v4: Ipv4Addr,
}

/// The hub and its machines.
#[derive(Debug)]
pub struct Lan {
    // Machines first: dropped before the hub, whose bridge their veth ports are on.
    machines: Vec<Machine>,
    hub: Netns,
}

impl Lan {
    /// Creates the hub and the machines as `(role, last byte of the address)`: role
    /// `kube-node-1` with 3 gets 10.192.0.3/24 and fd00:192::3/64 on its `eth0`. Namespace
    /// names start with `prefix`. What was created is removed again if a step fails.
    pub fn create(prefix: &str, machines: &[(&str, u8)]) -> Result<Lan, IpError> {
        let hub = Netns::create(prefix, "hub")?;
        let h = hub.name().to_owned();
        ip_in(&h, &["link", "add", "br0", "type", "bridge"])?;
        ip_in(&h, &["addr", "add", &format!("{HUB_V4}/24"), "dev", "br0"])?;
        ip_in(
            &h,
            &[
                "addr",
                "add",
                &format!("{HUB_V6}/64"),
                "dev",
                "br0",
                "nodad",
            ],
        )?;
        ip_in(&h, &["link", "set", "br0", "up"])?;
        let mut lan = Lan {
            machines: Vec::new(),
            hub,
        };
        for (index, (role, byte)) in machines.iter().enumerate() {
            let netns = Netns::create(prefix, &role.replace("kube-", ""))?;
            let ns = netns.name().to_owned();
            let v4 = Ipv4Addr::new(10, 192, 0, *byte);
            lan.machines.push(Machine {
                role: (*role).to_owned(),
                netns,
                v4,
            });
            let port = format!("p{index}");
            ip_in(
                &h,
                &[
                    "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &ns,
                ],
            )?;
            ip_in(&h, &["link", "set", &port, "master", "br0", "up"])?;
            ip_in(&ns, &["addr", "add", &format!("{v4}/24"), "dev", "eth0"])?;
            ip_in(
                &ns,
                &[
                    "addr",
                    "add",
                    &format!("fd00:192::{byte}/64"),
                    "dev",
                    "eth0",
                    "nodad",
                ],
            )?;
            ip_in(&ns, &["link", "set", "eth0", "up"])?;
        }
        Ok(lan)
    }

    /// Moves the calling thread into the hub (see [`Netns::enter`]).
    pub fn enter_hub(&self) -> Result<(), EnterError> {
        self.hub.enter()
    }

    /// The hub's namespace.
    pub fn hub(&self) -> &Netns {
        &self.hub
    }

    /// The namespace of machine `role`.
    pub fn host(&self, role: &str) -> Option<&Netns> {
        self.machine(role).map(|m| &m.netns)
    }

    /// The IPv4 address of machine `role`.
    pub fn address(&self, role: &str) -> Option<Ipv4Addr> {
        self.machine(role).map(|m| m.v4)
    }

    fn machine(&self, role: &str) -> Option<&Machine> {
        self.machines.iter().find(|m| m.role == role)
    }
}
