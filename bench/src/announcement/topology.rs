//! The benchmark's network and who peers with whom: the seed's LAN ([`lab::lan::Lan`], the
//! apiserver on the hub's 10.192.0.1) with two nodes, `kube-node-1` (10.192.0.3) and
//! `kube-node-2` (10.192.0.4), each running one speaker, and the router (10.192.0.7). The
//! speakers are AS 64513 and peer over eBGP with the router's AS 64512.

use std::net::{IpAddr, Ipv4Addr};

use lab::lan::Lan;

use crate::k8s::Result;

/// Prefix of the benchmark's namespace names (`spkb-hub-PID-N`, …); those a killed run left
/// are removed by the next.
pub const NETNS_PREFIX: &str = "spkb-";
/// The nodes: name and the last byte of the address.
pub const NODES: [(&str, u8); 2] = [("kube-node-1", 3), ("kube-node-2", 4)];
/// The router's machine name.
pub const ROUTER: &str = "router";
/// The last byte of the router's address.
const ROUTER_BYTE: u8 = 7;
/// The router's AS.
pub const ROUTER_ASN: u32 = 64512;
/// The speakers' AS.
pub const SPEAKER_ASN: u32 = 64513;

/// Creates the LAN with the nodes and the router.
pub fn create() -> Result<Lan> {
    let mut machines = NODES.to_vec();
    machines.push((ROUTER, ROUTER_BYTE));
    Ok(Lan::create(NETNS_PREFIX, &machines)?)
}

/// The address of a node or the router (by its last byte).
pub fn address(byte: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 192, 0, byte)
}

/// The router's address.
pub fn router_address() -> Ipv4Addr {
    address(ROUTER_BYTE)
}

/// The nodes' addresses, in [`NODES`] order.
pub fn node_addresses() -> Vec<IpAddr> {
    NODES
        .iter()
        .map(|(_, byte)| IpAddr::V4(address(*byte)))
        .collect()
}
