//! A private network per test, like the seed's: a hub namespace with a bridge for
//! 10.192.0.0/24 and fd00:192::/64 holding 10.192.0.1 (where the apiserver listens), and one
//! namespace per machine (nodes, router) joined to the bridge by a veth pair.
//!
//! The test's own thread enters the hub namespace ([`Universe::create`]), so everything it
//! starts directly — etcd, the apiserver, the controller — and every socket it opens lives
//! there, and other tests (and the host) never see this network. Speakers and routers run in
//! their machines' namespaces through `ip netns exec`. The test must run on a current-thread
//! runtime (`#[tokio::test]`'s default) so no runtime thread stays outside.
//!
//! Names carry the test process id and a counter; namespaces a killed run left behind are
//! swept the first time one is created. Dropping the universe kills whatever still runs in
//! its namespaces and deletes them.

use std::fs::File;
use std::process::{Command, Stdio};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

use nix::sched::{CloneFlags, setns};

/// Prefix of every namespace these tests create.
const PREFIX: &str = "spk-";
/// The hub's addresses: the gateway of the machines' LAN.
pub const HUB_V4: &str = "10.192.0.1";

/// `ip ARGS`, which must succeed.
pub fn ip(args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run ip: {e}"));
    assert!(
        out.status.success(),
        "ip {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A network namespace, deleted (after killing what still runs in it) when dropped.
pub struct Netns {
    name: String,
}

impl Netns {
    fn create(tag: &str) -> Netns {
        static SWEEP: Once = Once::new();
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        SWEEP.call_once(|| lab::network::sweep_stale(PREFIX));
        let name = format!(
            "{PREFIX}{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        ip(&["netns", "add", &name]);
        let ns = Netns { name };
        ip(&["-n", &ns.name, "link", "set", "lo", "up"]);
        ns
    }

    /// The namespace's name, for `ip -n` and `ip netns exec`.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        lab::network::kill_and_remove(&self.name);
    }
}

/// The hub and its machines.
pub struct Universe {
    hosts: Vec<(String, Netns, String)>,
    hub: Netns,
}

impl Universe {
    /// Creates the hub, moves the calling thread into it, and creates the machines as
    /// `(role, last byte of the address)`: role `kube-node-1` with 3 gets 10.192.0.3/24 and
    /// fd00:192::3/64 on its `eth0`.
    pub fn create(hosts: &[(&str, u8)]) -> Universe {
        let hub = Netns::create("hub");
        let h = hub.name().to_owned();
        ip(&["-n", &h, "link", "add", "br0", "type", "bridge"]);
        ip(&[
            "-n",
            &h,
            "addr",
            "add",
            &format!("{HUB_V4}/24"),
            "dev",
            "br0",
        ]);
        ip(&[
            "-n",
            &h,
            "addr",
            "add",
            "fd00:192::1/64",
            "dev",
            "br0",
            "nodad",
        ]);
        ip(&["-n", &h, "link", "set", "br0", "up"]);
        let mut universe = Universe {
            hosts: Vec::new(),
            hub,
        };
        for (index, (role, byte)) in hosts.iter().enumerate() {
            let ns = Netns::create(&role.replace("kube-", ""));
            let port = format!("p{index}");
            ip(&[
                "-n",
                &h,
                "link",
                "add",
                &port,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                ns.name(),
            ]);
            ip(&["-n", &h, "link", "set", &port, "master", "br0", "up"]);
            let v4 = format!("10.192.0.{byte}");
            ip(&[
                "-n",
                ns.name(),
                "addr",
                "add",
                &format!("{v4}/24"),
                "dev",
                "eth0",
            ]);
            ip(&[
                "-n",
                ns.name(),
                "addr",
                "add",
                &format!("fd00:192::{byte}/64"),
                "dev",
                "eth0",
                "nodad",
            ]);
            ip(&["-n", ns.name(), "link", "set", "eth0", "up"]);
            universe.hosts.push(((*role).to_owned(), ns, v4));
        }
        universe.enter();
        universe
    }

    /// Moves the calling thread into the hub.
    fn enter(&self) {
        let path = format!("/run/netns/{}", self.hub.name());
        let file = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| panic!("setns {path}: {e}"));
    }

    /// The namespace of machine `role`.
    pub fn host(&self, role: &str) -> &Netns {
        self.hosts
            .iter()
            .find(|(r, _, _)| r == role)
            .map(|(_, ns, _)| ns)
            .unwrap_or_else(|| panic!("no machine {role}"))
    }

    /// The IPv4 address of machine `role`.
    pub fn address(&self, role: &str) -> &str {
        self.hosts
            .iter()
            .find(|(r, _, _)| r == role)
            .map(|(_, _, a)| a.as_str())
            .unwrap_or_else(|| panic!("no machine {role}"))
    }
}
