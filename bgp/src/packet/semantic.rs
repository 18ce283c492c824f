//! Semantic checks of received routes (RFC 4271 §6.3, RFC 7606 §7.3): what is well formed but
//! must not be used. A route failing one is ignored — not installed, not used in the decision
//! process — and logged; no NOTIFICATION is sent and the session goes on. Pure functions, so
//! the RIB's import and the engine apply exactly these rules.
//!
//! Left out on purpose: 127.0.0.0/8 as an IPv4 next hop (FRR's "martian" list has it, but
//! every loopback lab and test peers over it; FRR itself needs `bgp allow-martian-nexthop`
//! there), and the eBGP "shares a common subnet" rule of RFC 4271 §6.3 b, which needs the
//! connected subnets and FRR applies through next-hop tracking rather than at import.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::error::SemanticError;

/// What kind of address an IPv4 next hop is, if not a unicast host address.
fn ipv4_not_unicast(address: Ipv4Addr) -> Option<&'static str> {
    let [first, ..] = address.octets();
    if first == 0 {
        Some("this network, 0.0.0.0/8")
    } else if address.is_multicast() {
        Some("multicast")
    } else if address.is_broadcast() {
        Some("limited broadcast")
    } else if first >= 240 {
        Some("reserved class E")
    } else {
        None
    }
}

/// What kind of address an IPv6 next hop is, if not a unicast host address.
fn ipv6_not_unicast(address: Ipv6Addr) -> Option<&'static str> {
    if address.is_unspecified() {
        Some("unspecified")
    } else if address.is_multicast() {
        Some("multicast")
    } else {
        None
    }
}

/// Checks a next hop (NEXT_HOP, or the first MP_REACH_NLRI next hop): it must be a unicast
/// host address and not one of ours (`is_own`). An IPv4-mapped IPv6 next hop is checked as the
/// IPv4 address it carries.
pub fn check_next_hop(
    next_hop: IpAddr,
    is_own: impl Fn(IpAddr) -> bool,
) -> Result<(), SemanticError> {
    let address = match next_hop {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(next_hop, IpAddr::V4),
        v4 => v4,
    };
    let class = match address {
        IpAddr::V4(v4) => ipv4_not_unicast(v4),
        IpAddr::V6(v6) => ipv6_not_unicast(v6),
    };
    if let Some(class) = class {
        return Err(SemanticError::NextHopNotUnicast {
            address: next_hop,
            class,
        });
    }
    if is_own(address) {
        return Err(SemanticError::NextHopIsOurs { address: next_hop });
    }
    Ok(())
}

/// Checks a unicast NLRI: an IPv4 multicast prefix, or an IPv6 multicast or link-local one,
/// is no destination to route to (RFC 4271 §6.3; the IPv6 cases as FRR).
pub fn check_prefix(prefix: IpNet) -> Result<(), SemanticError> {
    let class = match prefix {
        IpNet::V4(p) if p.network().is_multicast() => Some("multicast"),
        IpNet::V6(p) if p.network().is_multicast() => Some("multicast"),
        IpNet::V6(p) if p.network().is_unicast_link_local() => Some("link-local"),
        _ => None,
    };
    match class {
        Some(class) => Err(SemanticError::PrefixNotUnicast { prefix, class }),
        None => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const OURS: [&str; 3] = ["192.0.2.7", "2001:db8::7", "127.0.0.1"];

    fn is_own(address: IpAddr) -> bool {
        OURS.iter().any(|o| o.parse::<IpAddr>().unwrap() == address)
    }

    #[test]
    fn next_hops_that_are_no_unicast_host_or_are_ours_are_refused() {
        let table: [(&str, Option<&str>); 16] = [
            ("192.0.2.1", None),
            ("10.0.0.1", None),
            ("127.0.0.2", None),
            ("239.255.255.255", Some("multicast")),
            ("0.0.0.0", Some("this network, 0.0.0.0/8")),
            ("0.1.2.3", Some("this network, 0.0.0.0/8")),
            ("224.0.0.5", Some("multicast")),
            ("240.0.0.1", Some("reserved class E")),
            ("255.255.255.255", Some("limited broadcast")),
            ("192.0.2.7", Some("ours")),
            ("127.0.0.1", Some("ours")),
            ("2001:db8::1", None),
            ("fe80::1", None),
            ("::", Some("unspecified")),
            ("ff02::1", Some("multicast")),
            ("2001:db8::7", Some("ours")),
        ];
        for (address, expected) in table {
            let nh: IpAddr = address.parse().unwrap();
            let got = match check_next_hop(nh, is_own) {
                Ok(()) => None,
                Err(SemanticError::NextHopIsOurs { address }) => {
                    assert_eq!(address, nh);
                    Some("ours")
                }
                Err(SemanticError::NextHopNotUnicast { address, class }) => {
                    assert_eq!(address, nh);
                    Some(class)
                }
                Err(other) => panic!("{address}: {other}"),
            };
            assert_eq!(got, expected, "{address}");
        }
    }

    #[test]
    fn ipv4_mapped_next_hops_are_checked_as_ipv4() {
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert!(matches!(
            check_next_hop(mapped, is_own),
            Err(SemanticError::NextHopIsOurs { address }) if address == mapped
        ));
        let multicast: IpAddr = "::ffff:224.0.0.1".parse().unwrap();
        assert!(check_next_hop(multicast, is_own).is_err());
        let fine: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(check_next_hop(fine, is_own), Ok(()));
    }

    #[test]
    fn multicast_and_link_local_prefixes_are_no_unicast_destinations() {
        let table: [(&str, Option<&str>); 9] = [
            ("10.0.0.0/8", None),
            ("0.0.0.0/0", None),
            ("240.0.0.0/4", None),
            ("224.0.0.0/4", Some("multicast")),
            ("232.1.2.0/24", Some("multicast")),
            ("2001:db8::/32", None),
            ("::/0", None),
            ("ff00::/8", Some("multicast")),
            ("fe80::/64", Some("link-local")),
        ];
        for (prefix, expected) in table {
            let net: IpNet = prefix.parse().unwrap();
            let got = match check_prefix(net) {
                Ok(()) => None,
                Err(SemanticError::PrefixNotUnicast { prefix, class }) => {
                    assert_eq!(prefix, net);
                    Some(class)
                }
                Err(other) => panic!("{prefix}: {other}"),
            };
            assert_eq!(got, expected, "{prefix}");
        }
    }
}
