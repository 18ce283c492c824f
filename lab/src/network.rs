//! The seed's network, built with iproute2: a bridge for 10.192.0.0/24 in this namespace
//! (holding 10.192.0.1, the gateway, so the host reaches the apiserver) and one network
//! namespace per machine of the tutorial, each joined to the bridge by a veth pair.
//!
//! Each Kubernetes node also gets a pod network, as a host-gw CNI would make it: a `cni0`
//! bridge holding the first address of the node's pod CIDR (the gateway of the pods the
//! lab's kubelet gives a namespace of their own), forwarding on, and a route to every other
//! node's pod CIDR via that node's address.

use std::net::Ipv4Addr;
use std::process::Command;

/// The bridge's name.
pub const BRIDGE: &str = "lab-br0";

/// The gateway address on the bridge, and the prefix length of the lab's subnet.
pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 192, 0, 1);

/// The subnet's prefix length.
pub const PREFIX_LEN: u8 = 24;

/// One machine of the seed: a network namespace with an address on the bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Host {
    /// The namespace's name, which is also the machine's name, e.g. `kube-node-1`.
    pub netns: &'static str,
    /// Its address on 10.192.0.0/24.
    pub address: Ipv4Addr,
    /// The host-side veth name (at most 15 bytes).
    pub veth: &'static str,
    /// The pod CIDR of a Kubernetes node, `None` for the router.
    pub pod_cidr: Option<&'static str>,
}

/// The seed's machines: the control-plane node, two workers and the external router.
pub const HOSTS: [Host; 4] = [
    Host {
        netns: "kube-master",
        address: Ipv4Addr::new(10, 192, 0, 2),
        veth: "lab-kmaster",
        pod_cidr: Some("10.244.0.0/24"),
    },
    Host {
        netns: "kube-node-1",
        address: Ipv4Addr::new(10, 192, 0, 3),
        veth: "lab-knode1",
        pod_cidr: Some("10.244.1.0/24"),
    },
    Host {
        netns: "kube-node-2",
        address: Ipv4Addr::new(10, 192, 0, 4),
        veth: "lab-knode2",
        pod_cidr: Some("10.244.2.0/24"),
    },
    Host {
        netns: "router",
        address: Ipv4Addr::new(10, 192, 0, 7),
        veth: "lab-router",
        pod_cidr: None,
    },
];

/// An `ip` command failed.
#[derive(Debug, thiserror::Error)]
#[error("`ip {args}` failed: {reason}")]
pub struct IpError {
    /// The arguments.
    pub args: String,
    /// The exit status and stderr, or why it could not run.
    pub reason: String,
}

/// Runs `ip ARGS`, failing with its stderr.
pub fn ip(args: &[&str]) -> Result<(), IpError> {
    let err = |reason: String| IpError {
        args: args.join(" "),
        reason,
    };
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| err(format!("cannot run ip: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(err(format!(
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Runs `ip ARGS` inside namespace `ns`.
pub fn ip_in(ns: &str, args: &[&str]) -> Result<(), IpError> {
    let mut all = vec!["-n", ns];
    all.extend_from_slice(args);
    ip(&all)
}

/// The network namespaces that exist.
pub fn namespaces() -> Vec<String> {
    Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether link `name` exists in this namespace.
pub fn link_exists(name: &str) -> bool {
    Command::new("ip")
        .args(["link", "show", "dev", name])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The namespaces of pods the lab's kubelet made (see [`crate::kubelet::podnet`]).
fn pod_namespaces(present: &[String]) -> Vec<String> {
    present
        .iter()
        .filter(|n| n.starts_with(crate::kubelet::podnet::NETNS_PREFIX))
        .cloned()
        .collect()
}

/// Which of the lab's namespaces and links exist now.
pub fn leftovers() -> Vec<String> {
    let present = namespaces();
    let mut found: Vec<String> = HOSTS
        .iter()
        .filter(|h| present.iter().any(|p| p == h.netns))
        .map(|h| format!("network namespace {}", h.netns))
        .collect();
    found.extend(
        pod_namespaces(&present)
            .into_iter()
            .map(|n| format!("network namespace {n}")),
    );
    for link in std::iter::once(BRIDGE).chain(HOSTS.iter().map(|h| h.veth)) {
        if link_exists(link) {
            found.push(format!("link {link}"));
        }
    }
    found
}

/// Creates the bridge, the namespaces and their veth pairs.
pub fn create() -> Result<(), IpError> {
    let gw = format!("{GATEWAY}/{PREFIX_LEN}");
    ip(&["link", "add", BRIDGE, "type", "bridge"])?;
    ip(&["addr", "add", &gw, "dev", BRIDGE])?;
    ip(&["link", "set", BRIDGE, "up"])?;
    for host in HOSTS {
        let addr = format!("{}/{PREFIX_LEN}", host.address);
        let gateway = GATEWAY.to_string();
        ip(&["netns", "add", host.netns])?;
        ip(&[
            "link", "add", host.veth, "type", "veth", "peer", "name", "eth0", "netns", host.netns,
        ])?;
        ip(&["link", "set", host.veth, "master", BRIDGE, "up"])?;
        ip_in(host.netns, &["link", "set", "lo", "up"])?;
        ip_in(host.netns, &["addr", "add", &addr, "dev", "eth0"])?;
        ip_in(host.netns, &["link", "set", "eth0", "up"])?;
        ip_in(host.netns, &["route", "add", "default", "via", &gateway])?;
    }
    for host in HOSTS {
        if let Some(cidr) = host.pod_cidr {
            pod_network(host, cidr)?;
        }
    }
    Ok(())
}

/// The pod network of node `host`: `cni0` with the gateway of `cidr`, forwarding, and routes
/// to the other nodes' pod CIDRs.
fn pod_network(host: Host, cidr: &str) -> Result<(), IpError> {
    let parsed = crate::kubelet::podnet::PodCidr::parse(cidr).map_err(|reason| IpError {
        args: format!("pod CIDR of {}", host.netns),
        reason,
    })?;
    let bridge = crate::kubelet::podnet::BRIDGE;
    let gateway = format!("{}/{}", parsed.gateway(), parsed.prefix);
    ip_in(host.netns, &["link", "add", bridge, "type", "bridge"])?;
    ip_in(host.netns, &["addr", "add", &gateway, "dev", bridge])?;
    ip_in(host.netns, &["link", "set", bridge, "up"])?;
    sysctl_in(host.netns, "net.ipv4.ip_forward", "1")?;
    for other in HOSTS {
        if let Some(theirs) = other.pod_cidr
            && other.netns != host.netns
        {
            let via = other.address.to_string();
            ip_in(host.netns, &["route", "add", theirs, "via", &via])?;
        }
    }
    Ok(())
}

/// Sets a sysctl of namespace `ns` (`ip netns exec NS sysctl -w KEY=VALUE`).
fn sysctl_in(ns: &str, key: &str, value: &str) -> Result<(), IpError> {
    let setting = format!("{key}={value}");
    ip(&["netns", "exec", ns, "sysctl", "-qw", &setting])
}

/// Removes everything [`create`] makes that still exists; returns what it removed and the
/// errors of what it could not.
pub fn remove() -> (Vec<String>, Vec<IpError>) {
    let mut removed = Vec::new();
    let mut errors = Vec::new();
    let present = namespaces();
    for pod in pod_namespaces(&present) {
        match ip(&["netns", "del", &pod]) {
            Ok(()) => removed.push(format!("network namespace {pod}")),
            Err(e) => errors.push(e),
        }
    }
    for host in HOSTS {
        if present.iter().any(|p| p == host.netns) {
            // Deleting the namespace deletes eth0 in it and so its veth peer here.
            match ip(&["netns", "del", host.netns]) {
                Ok(()) => removed.push(format!("network namespace {}", host.netns)),
                Err(e) => errors.push(e),
            }
        }
    }
    for link in HOSTS.iter().map(|h| h.veth).chain(std::iter::once(BRIDGE)) {
        if link_exists(link) {
            match ip(&["link", "del", link]) {
                Ok(()) => removed.push(format!("link {link}")),
                // A veth goes away by itself shortly after its peer's namespace.
                Err(e) if e.reason.contains("Cannot find device") => {}
                Err(e) => errors.push(e),
            }
        }
    }
    (removed, errors)
}

/// Kills (SIGKILL) every process still inside namespace `name` — never this one, whose main
/// thread may have entered it — then deletes the namespace: for the namespaces tests create,
/// which must go even when a test panicked.
pub fn kill_and_remove(name: &str) {
    let me = i32::try_from(std::process::id()).unwrap_or(-1);
    for _ in 0..20 {
        let out = Command::new("ip")
            .args(["netns", "pids", name])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let pids: Vec<i32> = out
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .filter(|&p| p != me)
            .collect();
        if pids.is_empty() {
            break;
        }
        for pid in pids {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = ip(&["netns", "del", name]);
}

/// Removes the namespaces named `<prefix><tag>-<pid>-<n>` whose creating process `pid` is
/// gone: what test runs that were killed left behind.
pub fn sweep_stale(prefix: &str) {
    for name in namespaces() {
        let Some(rest) = name.strip_prefix(prefix) else {
            continue;
        };
        // The pid is the second field from the end.
        let pid = rest.rsplit('-').nth(1).and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        {
            kill_and_remove(&name);
        }
    }
}
