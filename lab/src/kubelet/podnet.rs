//! The network of pods that do not use the node's: each gets a network namespace of its
//! own (`lab-pod-UID`), joined by a veth pair to the node's `cni0` bridge, which is the pod's
//! default gateway, as with the bridge CNI plugin. kwok hands out addresses to the pods it
//! plays from the bottom of the node's pod CIDR up, so the bridge takes the last address and
//! the lab's pods the ones below it, from the top down, and the two never meet in practice. The nodes route each other's pod CIDRs (host-gw style, set up by
//! [`crate::network`]), so a pod on kube-node-1 reaches the apiserver on kube-master and the
//! answer comes back. The kubelet runs in the node's namespace, so the `ip` commands here
//! act there.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use crate::network::{IpError, ip};

/// The bridge in each node's namespace.
pub const BRIDGE: &str = "cni0";

/// The prefix of the pod namespaces' names.
pub const NETNS_PREFIX: &str = "lab-pod-";

/// A node's pod CIDR, as the lab uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodCidr {
    /// The network address.
    pub network: Ipv4Addr,
    /// The prefix length (at most 30).
    pub prefix: u8,
}

impl PodCidr {
    /// Parses `10.244.1.0/24`.
    pub fn parse(text: &str) -> Result<PodCidr, String> {
        let (addr, len) = text
            .split_once('/')
            .ok_or_else(|| format!("pod CIDR {text:?} has no prefix length"))?;
        let network: Ipv4Addr = addr
            .parse()
            .map_err(|e| format!("pod CIDR {text:?}: {e}"))?;
        let prefix: u8 =
            len.parse().ok().filter(|p| *p <= 30).ok_or_else(|| {
                format!("pod CIDR {text:?}: the lab needs a prefix of at most /30")
            })?;
        Ok(PodCidr { network, prefix })
    }

    fn size(self) -> u32 {
        1u32 << (32 - u32::from(self.prefix))
    }

    /// The bridge's address, the pods' gateway: the last host address.
    pub fn gateway(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) + self.size() - 2)
    }

    /// A free pod address below the gateway, from the top down; `None` when every address
    /// is in `used`.
    pub fn free_address(self, used: &BTreeSet<IpAddr>) -> Option<Ipv4Addr> {
        let base = u32::from(self.network);
        // Below the gateway and above the network address.
        (1..self.size() - 2)
            .rev()
            .map(|offset| Ipv4Addr::from(base + offset))
            .find(|a| !used.contains(&IpAddr::V4(*a)))
    }
}

/// The namespace and host-side veth of the pod with `uid`.
pub fn names(uid: &str) -> (String, String) {
    let short: String = uid
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect();
    (format!("{NETNS_PREFIX}{short}"), format!("veth{short}"))
}

/// A pod's network namespace, removed again by [`remove`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodNetwork {
    /// The namespace's name.
    pub netns: String,
    /// The pod's address.
    pub address: Ipv4Addr,
}

/// Creates the namespace of pod `uid` with `address` out of `cidr`.
pub fn create(uid: &str, cidr: PodCidr, address: Ipv4Addr) -> Result<PodNetwork, IpError> {
    let (netns, veth) = names(uid);
    // A namespace left by a kubelet that died goes first.
    let _ = ip(&["netns", "del", &netns]);
    let addr = format!("{address}/{}", cidr.prefix);
    let gateway = cidr.gateway().to_string();
    let steps: [&[&str]; 7] = [
        &["netns", "add", &netns],
        &[
            "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &netns,
        ],
        &["link", "set", &veth, "master", BRIDGE, "up"],
        &["-n", &netns, "link", "set", "lo", "up"],
        &["-n", &netns, "addr", "add", &addr, "dev", "eth0"],
        &["-n", &netns, "link", "set", "eth0", "up"],
        &["-n", &netns, "route", "add", "default", "via", &gateway],
    ];
    for step in steps {
        if let Err(e) = ip(step) {
            let _ = ip(&["netns", "del", &netns]);
            return Err(e);
        }
    }
    Ok(PodNetwork { netns, address })
}

/// Removes a pod's namespace (its veth pair goes with it).
pub fn remove(network: &PodNetwork) -> Result<(), IpError> {
    ip(&["netns", "del", &network.netns])
}

/// The path of a namespace, for entering it.
pub fn netns_path(netns: &str) -> String {
    format!("/run/netns/{netns}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_come_from_the_top_of_the_pod_cidr() {
        let cidr = PodCidr::parse("10.244.1.0/24").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cidr.gateway(), Ipv4Addr::new(10, 244, 1, 254));
        let mut used = BTreeSet::new();
        let first = cidr.free_address(&used);
        assert_eq!(first, Some(Ipv4Addr::new(10, 244, 1, 253)));
        used.insert(IpAddr::V4(Ipv4Addr::new(10, 244, 1, 253)));
        assert_eq!(
            cidr.free_address(&used),
            Some(Ipv4Addr::new(10, 244, 1, 252))
        );
        let tiny = PodCidr::parse("10.0.0.0/30").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tiny.gateway(), Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(
            tiny.free_address(&BTreeSet::new()),
            Some(Ipv4Addr::new(10, 0, 0, 1))
        );
        let full: BTreeSet<IpAddr> = [IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))].into();
        assert_eq!(tiny.free_address(&full), None);
    }

    #[test]
    fn bad_cidrs_and_names() {
        assert!(PodCidr::parse("10.244.1.0").is_err());
        assert!(PodCidr::parse("10.244.1.0/31").is_err());
        assert!(PodCidr::parse("fd00::/64").is_err());
        assert_eq!(
            names("1a2b3c4d-5e6f-7a8b"),
            ("lab-pod-1a2b3c4d".to_owned(), "veth1a2b3c4d".to_owned())
        );
        assert!(
            names("1a2b3c4d-5e6f").1.len() <= 15,
            "interface names are short"
        );
    }
}
