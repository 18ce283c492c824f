//! Network interfaces and their addresses, read from the kernel over netlink, for
//! `show interface` and for picking a default router ID as FRR does (the highest IPv4
//! address that is not on a loopback).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use futures::TryStreamExt;
use ipnet::IpNet;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkLayerType};

use crate::view::InterfaceView;

/// Why interfaces could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LinksError {
    /// The netlink socket could not be opened.
    #[error("cannot open a netlink socket: {0}")]
    Socket(std::io::Error),
    /// The kernel's answer could not be read.
    #[error("reading interfaces over netlink: {0}")]
    Netlink(String),
}

/// Every interface of this network namespace with its addresses.
pub async fn interfaces() -> Result<Vec<InterfaceView>, LinksError> {
    let (connection, handle, _) = rtnetlink::new_connection().map_err(LinksError::Socket)?;
    let task = tokio::spawn(connection);
    let result = read(&handle).await;
    task.abort();
    result
}

async fn read(handle: &rtnetlink::Handle) -> Result<Vec<InterfaceView>, LinksError> {
    let netlink = |e: rtnetlink::Error| LinksError::Netlink(e.to_string());
    let links: Vec<_> = handle
        .link()
        .get()
        .execute()
        .try_collect()
        .await
        .map_err(netlink)?;
    let addresses: Vec<_> = handle
        .address()
        .get()
        .execute()
        .try_collect()
        .await
        .map_err(netlink)?;
    let mut by_index: BTreeMap<u32, Vec<IpNet>> = BTreeMap::new();
    for message in &addresses {
        let address = message.attributes.iter().find_map(|a| match a {
            AddressAttribute::Local(ip) => Some(*ip),
            _ => None,
        });
        let address = address.or_else(|| {
            message.attributes.iter().find_map(|a| match a {
                AddressAttribute::Address(ip) => Some(*ip),
                _ => None,
            })
        });
        if let Some(net) = address.and_then(|ip| IpNet::new(ip, message.header.prefix_len).ok()) {
            by_index.entry(message.header.index).or_default().push(net);
        }
    }
    Ok(links
        .iter()
        .map(|link| {
            let flags = link.header.flags;
            let name = link.attributes.iter().find_map(|a| match a {
                LinkAttribute::IfName(n) => Some(n.clone()),
                _ => None,
            });
            let mtu = link.attributes.iter().find_map(|a| match a {
                LinkAttribute::Mtu(m) => Some(*m),
                _ => None,
            });
            let hwaddr = link.attributes.iter().find_map(|a| match a {
                LinkAttribute::Address(bytes) if bytes.len() == 6 => Some(
                    bytes
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<Vec<_>>()
                        .join(":"),
                ),
                _ => None,
            });
            let kind = link.attributes.iter().find_map(|a| match a {
                LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
                    LinkInfo::Kind(kind) => Some(kind_name(kind)),
                    _ => None,
                }),
                _ => None,
            });
            let parent = link.attributes.iter().find_map(|a| match a {
                LinkAttribute::Link(index) => Some(*index),
                _ => None,
            });
            let loopback = link.header.link_layer_type == LinkLayerType::Loopback;
            InterfaceView {
                name: name.unwrap_or_else(|| format!("if{}", link.header.index)),
                index: link.header.index,
                up: flags.contains(LinkFlags::Up),
                running: flags.contains(LinkFlags::Running) || flags.contains(LinkFlags::LowerUp),
                flags: flag_names(flags),
                mtu: mtu.unwrap_or(0),
                speed: 0,
                link_type: if loopback { "Loopback" } else { "Ethernet" }.to_owned(),
                hwaddr: hwaddr.filter(|_| !loopback),
                addresses: by_index
                    .get(&link.header.index)
                    .cloned()
                    .unwrap_or_default(),
                kind: kind.unwrap_or_else(|| "Unknown".to_owned()),
                parent_ifindex: parent,
            }
        })
        .collect())
}

/// zebra's names of the interface flags it prints, in its order.
fn flag_names(flags: LinkFlags) -> Vec<String> {
    [
        (LinkFlags::Up, "UP"),
        (LinkFlags::Broadcast, "BROADCAST"),
        (LinkFlags::Loopback, "LOOPBACK"),
        (LinkFlags::Pointopoint, "POINTOPOINT"),
        (LinkFlags::Running, "RUNNING"),
        (LinkFlags::Multicast, "MULTICAST"),
    ]
    .into_iter()
    .filter(|(flag, _)| flags.contains(*flag))
    .map(|(_, name)| name.to_owned())
    .collect()
}

fn kind_name(kind: &InfoKind) -> String {
    match kind {
        InfoKind::Veth => "VETH".to_owned(),
        InfoKind::Bridge => "BRIDGE".to_owned(),
        InfoKind::Vlan => "VLAN".to_owned(),
        InfoKind::Dummy => "DUMMY".to_owned(),
        other => format!("{other:?}").to_uppercase(),
    }
}

/// The router ID FRR would pick: the highest IPv4 address not in 127.0.0.0/8, else
/// the highest loopback one, else 0.0.0.0.
pub fn router_id_from(interfaces: &[InterfaceView]) -> Ipv4Addr {
    let v4: Vec<Ipv4Addr> = interfaces
        .iter()
        .flat_map(|i| i.addresses.iter())
        .filter_map(|a| match a.addr() {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        })
        .collect();
    v4.iter()
        .copied()
        .filter(|a| !a.is_loopback())
        .max()
        .or_else(|| v4.iter().copied().max())
        .unwrap_or(Ipv4Addr::UNSPECIFIED)
}

/// Every address of every interface: the addresses a received next hop must not be (FRR's
/// "nexthop self" check, RFC 4271 §6.3).
pub fn own_addresses(interfaces: &[InterfaceView]) -> Vec<IpAddr> {
    interfaces
        .iter()
        .flat_map(|i| i.addresses.iter().map(IpNet::addr))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn own_addresses_are_every_interface_address_without_its_length() {
        let interfaces = [
            iface("lo", &["127.0.0.1/8", "::1/128"]),
            iface("eth0", &["10.192.0.7/24", "fe80::1/64"]),
        ];
        let own: Vec<String> = own_addresses(&interfaces)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(own, ["127.0.0.1", "::1", "10.192.0.7", "fe80::1"]);
    }

    fn iface(name: &str, addrs: &[&str]) -> InterfaceView {
        InterfaceView {
            name: name.into(),
            index: 1,
            up: true,
            running: true,
            flags: vec![],
            mtu: 1500,
            speed: 0,
            link_type: "Ethernet".into(),
            hwaddr: None,
            addresses: addrs.iter().map(|a| a.parse().unwrap()).collect(),
            kind: "VETH".into(),
            parent_ifindex: None,
        }
    }

    #[test]
    fn router_id_is_the_highest_non_loopback_ipv4_address() {
        let list = [
            iface("lo", &["127.0.0.1/8"]),
            iface("eth0", &["10.192.0.7/24", "2001:db8::7/64"]),
            iface("eth1", &["10.1.0.1/24"]),
        ];
        assert_eq!(router_id_from(&list), Ipv4Addr::new(10, 192, 0, 7));
        assert_eq!(router_id_from(&list[..1]), Ipv4Addr::new(127, 0, 0, 1));
        assert_eq!(router_id_from(&[]), Ipv4Addr::UNSPECIFIED);
    }

    #[tokio::test]
    async fn the_loopback_interface_is_read_from_the_kernel() {
        let list = interfaces().await.unwrap();
        let lo = list.iter().find(|i| i.name == "lo").unwrap();
        assert_eq!(lo.link_type, "Loopback");
        assert!(
            lo.addresses
                .iter()
                .any(|a| a.addr() == IpAddr::V4(Ipv4Addr::LOCALHOST))
        );
    }
}
