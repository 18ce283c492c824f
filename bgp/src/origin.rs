//! Locally originated routes: what an originator may set ([`OriginAttributes`]), which peers
//! a route goes to ([`Advertisement`]), and the normalised form the engine keeps per prefix
//! ([`Originated`]). Pure data and merging rules, no I/O.
//!
//! The same prefix may go to peer A with one set of attributes and to peer B with another
//! (two MetalLB `BGPAdvertisement`s for one pool). Several advertisements of one prefix that
//! reach the same peer merge into one route for that peer, as MetalLB's session does:
//! communities are united, and the most preferred value of each other attribute wins, so the
//! result does not depend on the order of the advertisements.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;

use crate::packet::{Community, LargeCommunity, Origin, PathAttributes};

/// The attributes an originator may set: no AS_PATH (the session adds ours on eBGP), no
/// ORIGINATOR_ID/CLUSTER_LIST, no next hop (next hop "self" on each session).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct OriginAttributes {
    /// ORIGIN (MetalLB sends INCOMPLETE; FRR's `network` IGP).
    pub origin: Origin,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF, sent on iBGP sessions only (without it they carry the default, 100).
    pub local_pref: Option<u32>,
    /// RFC 1997 communities, `ASN << 16 | VALUE`.
    pub communities: BTreeSet<u32>,
    /// RFC 8092 large communities, `(global, local1, local2)`.
    pub large_communities: BTreeSet<(u32, u32, u32)>,
}

impl OriginAttributes {
    /// Merges another advertisement of the same prefix to the same peer into this one:
    /// communities and large communities united, the highest LOCAL_PREF, the lowest MED and
    /// the lowest (most preferred) ORIGIN. A value set on one side only is kept.
    pub fn merge(&mut self, other: &OriginAttributes) {
        self.origin = self.origin.min(other.origin);
        self.med = min_some(self.med, other.med);
        self.local_pref = self.local_pref.max(other.local_pref);
        self.communities.extend(other.communities.iter().copied());
        self.large_communities
            .extend(other.large_communities.iter().copied());
    }

    /// The path attributes of a route with these values (AS_PATH empty, no next hop).
    pub fn path_attributes(&self) -> PathAttributes {
        PathAttributes {
            origin: self.origin,
            med: self.med,
            local_pref: self.local_pref,
            communities: self.communities.iter().map(|c| Community(*c)).collect(),
            large_communities: self
                .large_communities
                .iter()
                .map(|&(global, local1, local2)| LargeCommunity {
                    global,
                    local1,
                    local2,
                })
                .collect(),
            ..PathAttributes::default()
        }
    }
}

fn min_some(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// One originated route and the peers it goes to (one MetalLB `BGPAdvertisement` applied to
/// one service IP on one node).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Advertisement {
    /// The prefix (the service IP as /32 or /128, or its aggregate). Host bits are cleared.
    pub prefix: IpNet,
    /// The peers (by address) it goes to; empty = every peer, including peers added later.
    pub peers: Vec<IpAddr>,
    /// What an originator sets.
    pub attributes: OriginAttributes,
}

/// Everything originated for one prefix, merged per peer: what goes to every peer, and what
/// goes to single peers on top of that.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Originated {
    /// Next hop to advertise; `None` = our address on each session ("self").
    pub next_hop: Option<IpAddr>,
    /// Merged attributes of the advertisements for every peer.
    to_all: Option<OriginAttributes>,
    /// Merged attributes of the advertisements that name a peer, by peer address.
    to_peers: BTreeMap<IpAddr, OriginAttributes>,
}

impl Originated {
    /// A route for the given peers (`None` = all) with a next hop (`None` = self).
    pub fn new(
        attributes: &OriginAttributes,
        peers: Option<&[IpAddr]>,
        next_hop: Option<IpAddr>,
    ) -> Self {
        let mut originated = Originated {
            next_hop,
            ..Originated::default()
        };
        originated.add(attributes, peers.unwrap_or(&[]));
        originated
    }

    /// Adds one advertisement (`peers` empty = every peer).
    fn add(&mut self, attributes: &OriginAttributes, peers: &[IpAddr]) {
        if peers.is_empty() {
            merge_into(&mut self.to_all, attributes);
            return;
        }
        for peer in peers {
            match self.to_peers.get_mut(&canonical(*peer)) {
                Some(existing) => existing.merge(attributes),
                None => {
                    self.to_peers.insert(canonical(*peer), attributes.clone());
                }
            }
        }
    }

    /// What goes to `peer` (its canonical address), if anything.
    pub fn for_peer(&self, peer: IpAddr) -> Option<OriginAttributes> {
        let mut out = self.to_all.clone();
        if let Some(own) = self.to_peers.get(&peer) {
            merge_into(&mut out, own);
        }
        out
    }

    /// The route as the Loc-RIB shows it (`show ip bgp`, the event stream): every
    /// advertisement of the prefix merged.
    pub fn merged(&self) -> OriginAttributes {
        let mut out = self.to_all.clone();
        for own in self.to_peers.values() {
            merge_into(&mut out, own);
        }
        out.unwrap_or_default()
    }
}

fn merge_into(slot: &mut Option<OriginAttributes>, attributes: &OriginAttributes) {
    match slot {
        Some(existing) => existing.merge(attributes),
        None => *slot = Some(attributes.clone()),
    }
}

/// IPv4 peers reached over IPv6 appear as v4-mapped addresses; they are the same peer.
pub(crate) fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// The declarative set of advertisements, normalised per prefix (host bits cleared). Routes
/// set this way always use next hop self.
pub(crate) fn from_advertisements(ads: &[Advertisement]) -> BTreeMap<IpNet, Originated> {
    let mut routes: BTreeMap<IpNet, Originated> = BTreeMap::new();
    for ad in ads {
        routes
            .entry(ad.prefix.trunc())
            .or_default()
            .add(&ad.attributes, &ad.peers);
    }
    routes
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn attrs(communities: &[u32], local_pref: Option<u32>) -> OriginAttributes {
        OriginAttributes {
            communities: communities.iter().copied().collect(),
            local_pref,
            ..OriginAttributes::default()
        }
    }

    fn ad(prefix: &str, peers: &[&str], attributes: OriginAttributes) -> Advertisement {
        Advertisement {
            prefix: prefix.parse().unwrap(),
            peers: peers.iter().map(|p| ip(p)).collect(),
            attributes,
        }
    }

    #[test]
    fn merging_unites_communities_and_keeps_the_most_preferred_values() {
        // (left, right, merged), checked in both orders.
        let cases = [
            (
                attrs(&[1, 2], Some(100)),
                attrs(&[2, 3], Some(200)),
                attrs(&[1, 2, 3], Some(200)),
            ),
            (
                attrs(&[], None),
                attrs(&[7], Some(50)),
                attrs(&[7], Some(50)),
            ),
            (
                OriginAttributes {
                    med: Some(10),
                    origin: Origin::Incomplete,
                    large_communities: [(1, 2, 3)].into(),
                    ..OriginAttributes::default()
                },
                OriginAttributes {
                    med: Some(5),
                    origin: Origin::Egp,
                    large_communities: [(4, 5, 6)].into(),
                    ..OriginAttributes::default()
                },
                OriginAttributes {
                    med: Some(5),
                    origin: Origin::Egp,
                    large_communities: [(1, 2, 3), (4, 5, 6)].into(),
                    ..OriginAttributes::default()
                },
            ),
            (
                OriginAttributes {
                    med: None,
                    ..OriginAttributes::default()
                },
                OriginAttributes {
                    med: Some(9),
                    ..OriginAttributes::default()
                },
                OriginAttributes {
                    med: Some(9),
                    origin: Origin::Igp,
                    ..OriginAttributes::default()
                },
            ),
        ];
        for (left, right, merged) in cases {
            let mut a = left.clone();
            a.merge(&right);
            assert_eq!(a, merged, "{left:?} + {right:?}");
            let mut b = right.clone();
            b.merge(&left);
            assert_eq!(b, merged, "{right:?} + {left:?}");
        }
    }

    #[test]
    fn one_prefix_goes_to_each_peer_with_its_own_attributes() {
        let routes = from_advertisements(&[
            ad("198.51.100.7/32", &["10.0.0.1"], attrs(&[1], None)),
            ad("198.51.100.7/32", &["10.0.0.2"], attrs(&[2], Some(300))),
        ]);
        let route = &routes[&"198.51.100.7/32".parse().unwrap()];
        assert_eq!(route.for_peer(ip("10.0.0.1")), Some(attrs(&[1], None)));
        assert_eq!(route.for_peer(ip("10.0.0.2")), Some(attrs(&[2], Some(300))));
        assert_eq!(route.for_peer(ip("10.0.0.3")), None);
        assert_eq!(route.merged(), attrs(&[1, 2], Some(300)));
    }

    #[test]
    fn advertisements_to_every_peer_merge_with_those_to_one_peer() {
        let routes = from_advertisements(&[
            ad("198.51.100.7/32", &[], attrs(&[1], Some(100))),
            ad(
                "198.51.100.7/32",
                &["10.0.0.2", "::ffff:10.0.0.3"],
                attrs(&[2], None),
            ),
            ad("198.51.100.7/32", &["10.0.0.2"], attrs(&[3], Some(150))),
        ]);
        let route = &routes[&"198.51.100.7/32".parse().unwrap()];
        assert_eq!(route.for_peer(ip("10.0.0.1")), Some(attrs(&[1], Some(100))));
        assert_eq!(
            route.for_peer(ip("10.0.0.2")),
            Some(attrs(&[1, 2, 3], Some(150)))
        );
        // Peer lists name peers by address in either notation.
        assert_eq!(
            route.for_peer(ip("10.0.0.3")),
            Some(attrs(&[1, 2], Some(100)))
        );
    }

    #[test]
    fn duplicates_and_order_do_not_change_the_set() {
        let a = ad("198.51.100.7/32", &[], attrs(&[1], None));
        let b = ad("198.51.100.9/31", &["10.0.0.2"], attrs(&[2], None));
        let once = from_advertisements(&[a.clone(), b.clone()]);
        let twice = from_advertisements(&[b.clone(), a.clone(), a, b]);
        assert_eq!(once, twice);
        // Host bits are cleared: the /31 is 198.51.100.8/31.
        assert!(once.contains_key(&"198.51.100.8/31".parse().unwrap()));
    }

    #[test]
    fn path_attributes_carry_only_what_an_originator_sets() {
        let attributes = OriginAttributes {
            origin: Origin::Incomplete,
            med: Some(4),
            local_pref: Some(120),
            communities: [(64512 << 16) | 7].into(),
            large_communities: [(4_200_000_000, 1, 2)].into(),
        };
        let path = attributes.path_attributes();
        assert_eq!(path.origin, Origin::Incomplete);
        assert_eq!((path.med, path.local_pref), (Some(4), Some(120)));
        assert_eq!(path.communities, vec![Community::new(64512, 7)]);
        assert_eq!(path.large_communities.len(), 1);
        assert!(path.as_path.segments.is_empty());
        assert_eq!(path.next_hop, None);
        assert_eq!(path.originator_id, None);
        assert!(path.cluster_list.is_empty());
    }
}
