//! Which routes go to which peer, and with what attributes (RFC 4271 §9.1.3 and §5.1, and
//! FRR's defaults): the pure policy the core applies when it advertises.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::packet::{Community, PathAttributes};

/// Default LOCAL_PREF put on routes sent to iBGP peers (FRR `bgp default local-preference`).
pub const DEFAULT_LOCAL_PREF: u32 = 100;

/// Where a route in the Loc-RIB came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Originated by this speaker (`network`, service IPs).
    Local,
    /// Learned from a peer.
    Peer {
        /// The peer's address.
        address: IpAddr,
        /// Whether that session is iBGP.
        ibgp: bool,
    },
}

/// The session a route would be advertised on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The peer's address.
    pub address: IpAddr,
    /// Whether the session is iBGP.
    pub ibgp: bool,
    /// Our AS on this session.
    pub local_as: u32,
    /// Our address on this session (the next hop we advertise as "self").
    pub local_address: IpAddr,
}

/// What a route looks like when sent to `target`, or `None` when it must not be sent.
/// `next_hop` is the route's next hop in the Loc-RIB (`None` for locally originated routes
/// without one, which are advertised with next hop self).
pub fn export(
    attrs: &PathAttributes,
    next_hop: Option<IpAddr>,
    source: Source,
    target: &Target,
) -> Option<(PathAttributes, IpAddr)> {
    if attrs.communities.contains(&Community::NO_ADVERTISE) {
        return None;
    }
    // NO_EXPORT_SUBCONFED keeps a route inside the member AS of a confederation; we are in
    // none, so it is NO_EXPORT to us (RFC 1997).
    let inside_only = [Community::NO_EXPORT, Community::NO_EXPORT_SUBCONFED];
    if !target.ibgp && attrs.communities.iter().any(|c| inside_only.contains(c)) {
        return None;
    }
    match source {
        Source::Peer { address, .. } if address == target.address => return None,
        // No route reflection: what one iBGP peer said is not repeated to another.
        Source::Peer { ibgp: true, .. } if target.ibgp => return None,
        _ => {}
    }
    let mut out = attrs.clone();
    out.originator_id = None;
    out.cluster_list.clear();
    let next_hop = if target.ibgp {
        out.local_pref = Some(attrs.local_pref.unwrap_or(DEFAULT_LOCAL_PREF));
        match (source, next_hop) {
            (_, Some(nh)) if !nh.is_unspecified() => nh,
            _ => target.local_address,
        }
    } else {
        out.as_path = attrs.as_path.prepend(target.local_as);
        out.local_pref = None;
        match (source, next_hop) {
            // A locally originated route keeps the next hop it was given (MetalLB's node
            // address, an operator's third-party next hop).
            (Source::Local, Some(nh)) if !nh.is_unspecified() => nh,
            (Source::Local, _) => target.local_address,
            (Source::Peer { .. }, _) => {
                // A MED received from a neighbouring AS is not passed to another
                // (RFC 4271 §5.1.4).
                out.med = None;
                target.local_address
            }
        }
    };
    Some((out, next_hop))
}

/// The next hop to put in an UPDATE for a prefix of the given address family: IPv6 routes
/// advertised over an IPv4 session carry our IPv4 address mapped into IPv6, as FRR and GoBGP do.
pub fn next_hop_for_family(next_hop: IpAddr, ipv6_prefix: bool) -> IpAddr {
    match (next_hop, ipv6_prefix) {
        (IpAddr::V4(v4), true) => IpAddr::V6(v4.to_ipv6_mapped()),
        (IpAddr::V6(v6), false) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        },
        (nh, _) => nh,
    }
}

/// The unspecified address of a family, used as "no next hop" for local routes.
pub fn unspecified(ipv6: bool) -> IpAddr {
    if ipv6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::packet::AsPath;

    fn target(ibgp: bool) -> Target {
        Target {
            address: IpAddr::from([10, 0, 0, 2]),
            ibgp,
            local_as: 64512,
            local_address: IpAddr::from([10, 0, 0, 1]),
        }
    }

    fn attrs() -> PathAttributes {
        PathAttributes {
            as_path: AsPath::from_sequence([65001]),
            med: Some(5),
            local_pref: Some(200),
            ..PathAttributes::default()
        }
    }

    #[test]
    fn ebgp_export_prepends_our_as_sets_next_hop_self_and_drops_local_pref() {
        let peer = Source::Peer {
            address: IpAddr::from([10, 0, 0, 9]),
            ibgp: false,
        };
        let (out, nh) = export(
            &attrs(),
            Some(IpAddr::from([10, 0, 0, 9])),
            peer,
            &target(false),
        )
        .unwrap();
        assert_eq!(out.as_path, AsPath::from_sequence([64512, 65001]));
        assert_eq!(out.local_pref, None);
        assert_eq!(out.med, None);
        assert_eq!(nh, IpAddr::from([10, 0, 0, 1]));
    }

    #[test]
    fn local_routes_keep_an_explicit_next_hop_towards_ebgp() {
        let nh = IpAddr::from([192, 0, 2, 7]);
        let (_, out) = export(&attrs(), Some(nh), Source::Local, &target(false)).unwrap();
        assert_eq!(out, nh);
    }

    #[test]
    fn local_routes_keep_their_med_towards_ebgp() {
        let (out, _) = export(&attrs(), None, Source::Local, &target(false)).unwrap();
        assert_eq!(out.med, Some(5));
    }

    #[test]
    fn ibgp_export_keeps_as_path_and_sets_local_pref() {
        let mut a = attrs();
        a.local_pref = None;
        let (out, nh) = export(&a, None, Source::Local, &target(true)).unwrap();
        assert_eq!(out.as_path, AsPath::from_sequence([65001]));
        assert_eq!(out.local_pref, Some(DEFAULT_LOCAL_PREF));
        assert_eq!(nh, IpAddr::from([10, 0, 0, 1]));
    }

    #[test]
    fn ibgp_routes_are_not_reflected_to_ibgp_peers() {
        let peer = Source::Peer {
            address: IpAddr::from([10, 0, 0, 9]),
            ibgp: true,
        };
        assert!(export(&attrs(), None, peer, &target(true)).is_none());
        assert!(export(&attrs(), None, peer, &target(false)).is_some());
    }

    #[test]
    fn routes_are_not_sent_back_to_their_peer() {
        let peer = Source::Peer {
            address: IpAddr::from([10, 0, 0, 2]),
            ibgp: false,
        };
        assert!(export(&attrs(), None, peer, &target(false)).is_none());
    }

    #[test]
    fn no_export_stays_inside_the_as_and_no_advertise_goes_nowhere() {
        let mut a = attrs();
        a.communities = vec![Community::NO_EXPORT];
        assert!(export(&a, None, Source::Local, &target(false)).is_none());
        assert!(export(&a, None, Source::Local, &target(true)).is_some());
        a.communities = vec![Community::NO_ADVERTISE];
        assert!(export(&a, None, Source::Local, &target(true)).is_none());
        a.communities = vec![Community::new(65001, 7), Community::NO_EXPORT_SUBCONFED];
        assert!(export(&a, None, Source::Local, &target(false)).is_none());
        assert!(export(&a, None, Source::Local, &target(true)).is_some());
    }

    #[test]
    fn ipv6_routes_over_ipv4_sessions_use_a_mapped_next_hop() {
        let nh = next_hop_for_family(IpAddr::from([10, 0, 0, 1]), true);
        assert_eq!(nh, "::ffff:10.0.0.1".parse::<IpAddr>().unwrap());
    }
}
