//! The test's private network: [`lab::lan::Lan`] (a hub namespace with the bridge for
//! 10.192.0.0/24 and fd00:192::/64 holding 10.192.0.1, where the apiserver listens, and one
//! namespace per machine), with the test's own thread moved into the hub.
//!
//! Everything the test starts directly — etcd, the apiserver, the controller — and every
//! socket it opens lives there, and other tests (and the host) never see this network.
//! Speakers and routers run in their machines' namespaces through `ip netns exec`. The test
//! must run on a current-thread runtime (`#[tokio::test]`'s default) so no runtime thread
//! stays outside. Dropping the universe kills whatever still runs in its namespaces and
//! deletes them.

use std::process::{Command, Stdio};

use lab::lan::Lan;
pub use lab::lan::Netns;

/// Prefix of every namespace these tests create.
const PREFIX: &str = "spk-";

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

/// The hub and its machines.
pub struct Universe {
    lan: Lan,
    addresses: Vec<(String, String)>,
}

impl Universe {
    /// Creates the hub, moves the calling thread into it, and creates the machines as
    /// `(role, last byte of the address)`: role `kube-node-1` with 3 gets 10.192.0.3/24 and
    /// fd00:192::3/64 on its `eth0`.
    pub fn create(hosts: &[(&str, u8)]) -> Universe {
        let lan = Lan::create(PREFIX, hosts).unwrap_or_else(|e| panic!("creating the LAN: {e}"));
        lan.enter_hub()
            .unwrap_or_else(|e| panic!("entering the hub: {e}"));
        let addresses = hosts
            .iter()
            .map(|(role, _)| {
                let v4 = lan
                    .address(role)
                    .unwrap_or_else(|| panic!("no machine {role}"));
                ((*role).to_owned(), v4.to_string())
            })
            .collect();
        Universe { lan, addresses }
    }

    /// The namespace of machine `role`.
    pub fn host(&self, role: &str) -> &Netns {
        self.lan
            .host(role)
            .unwrap_or_else(|| panic!("no machine {role}"))
    }

    /// The IPv4 address of machine `role`.
    pub fn address(&self, role: &str) -> &str {
        self.addresses
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, a)| a.as_str())
            .unwrap_or_else(|| panic!("no machine {role}"))
    }
}
