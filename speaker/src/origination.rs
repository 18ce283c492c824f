//! The routes this speaker originates, replaced as a whole set (MetalLB's `Session.Set`).
//!
//! `SPEAKER_API.md` gives the `bgp` core this call (`Speaker::set_advertisements`, with
//! attributes per peer); until it is on main, this adapter does the same over the core's
//! per-prefix `announce`/`withdraw`: it diffs the new set against the last one and sends only
//! the changes, so no session is reset and a prefix wanted by two Services stays. The types
//! mirror the core's coming ones, so switching is a change of path. One difference remains
//! until then: advertisements of one prefix to different peers are merged into one route
//! (communities united, the highest LOCAL_PREF, peers united) instead of going to each peer
//! with its own attributes.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use bgp::packet::{Community, LargeCommunity, Origin, PathAttributes};
use bgp::{LocalRoute, SpeakerError};
use ipnet::IpNet;

/// The attributes an originator sets (no AS_PATH, no next hop: always "self").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginAttributes {
    /// ORIGIN (MetalLB sends INCOMPLETE).
    pub origin: Origin,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF (sent on iBGP sessions only).
    pub local_pref: Option<u32>,
    /// RFC 1997 communities.
    pub communities: BTreeSet<u32>,
    /// RFC 8092 large communities.
    pub large_communities: BTreeSet<(u32, u32, u32)>,
}

/// One originated route and the peers it goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advertisement {
    /// The prefix.
    pub prefix: IpNet,
    /// The peers (by address) it goes to; empty: every peer.
    pub peers: Vec<IpAddr>,
    /// Its attributes.
    pub attributes: OriginAttributes,
}

/// Remembers what was originated, to send only differences.
#[derive(Debug, Default)]
pub struct Originator {
    originated: BTreeMap<IpNet, LocalRoute>,
}

impl Originator {
    /// Makes `ads` the whole set of originated routes.
    pub async fn set(
        &mut self,
        bgp: &bgp::Speaker,
        ads: Vec<Advertisement>,
    ) -> Result<(), SpeakerError> {
        let wanted = merge(ads);
        let gone: Vec<IpNet> = self
            .originated
            .keys()
            .filter(|p| !wanted.contains_key(*p))
            .copied()
            .collect();
        for prefix in gone {
            bgp.withdraw(prefix).await?;
            self.originated.remove(&prefix);
        }
        for (prefix, route) in wanted {
            if self.originated.get(&prefix) == Some(&route) {
                continue;
            }
            bgp.announce(route.clone()).await?;
            self.originated.insert(prefix, route);
        }
        Ok(())
    }
}

/// One route per prefix: communities united, the highest LOCAL_PREF, peers united (every
/// peer if any advertisement goes to every peer).
fn merge(ads: Vec<Advertisement>) -> BTreeMap<IpNet, LocalRoute> {
    let mut merged: BTreeMap<IpNet, (Option<BTreeSet<IpAddr>>, OriginAttributes)> = BTreeMap::new();
    for ad in ads {
        let entry = merged
            .entry(ad.prefix)
            .or_insert_with(|| (Some(BTreeSet::new()), ad.attributes.clone()));
        match (&mut entry.0, ad.peers.is_empty()) {
            (_, true) => entry.0 = None,
            (Some(peers), false) => peers.extend(ad.peers),
            (None, false) => {}
        }
        let a = &mut entry.1;
        a.communities.extend(ad.attributes.communities);
        a.large_communities.extend(ad.attributes.large_communities);
        a.local_pref = a.local_pref.max(ad.attributes.local_pref);
    }
    merged
        .into_iter()
        .map(|(prefix, (peers, a))| {
            let attrs = PathAttributes {
                origin: a.origin,
                med: a.med,
                local_pref: a.local_pref,
                communities: a.communities.iter().map(|c| Community(*c)).collect(),
                large_communities: a
                    .large_communities
                    .iter()
                    .map(|&(global, local1, local2)| LargeCommunity {
                        global,
                        local1,
                        local2,
                    })
                    .collect(),
                ..PathAttributes::default()
            };
            let route = LocalRoute {
                prefix,
                attrs,
                next_hop: None,
                peers: peers.map(|p| p.into_iter().collect()),
            };
            (prefix, route)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ad(
        prefix: &str,
        peers: &[&str],
        communities: &[u32],
        local_pref: Option<u32>,
    ) -> Advertisement {
        Advertisement {
            prefix: prefix.parse().unwrap_or_else(|e| panic!("{e}")),
            peers: peers
                .iter()
                .map(|p| p.parse().unwrap_or_else(|e| panic!("{e}")))
                .collect(),
            attributes: OriginAttributes {
                origin: Origin::Incomplete,
                local_pref,
                communities: communities.iter().copied().collect(),
                ..OriginAttributes::default()
            },
        }
    }

    #[test]
    fn advertisements_of_one_prefix_merge_as_metallb_merges_them() {
        let merged = merge(vec![
            ad("198.51.100.1/32", &["10.0.0.1"], &[1], Some(100)),
            ad("198.51.100.1/32", &["10.0.0.2"], &[2], Some(200)),
            ad("198.51.100.2/32", &["10.0.0.1"], &[], None),
            ad("198.51.100.2/32", &[], &[], None),
        ]);
        let one = &merged[&"198.51.100.1/32".parse().unwrap_or_else(|e| panic!("{e}"))];
        assert_eq!(one.attrs.communities, [Community(1), Community(2)]);
        assert_eq!(one.attrs.local_pref, Some(200));
        assert_eq!(one.attrs.origin, Origin::Incomplete);
        assert_eq!(
            one.peers.as_ref().map(Vec::len),
            Some(2),
            "both peers: {:?}",
            one.peers
        );
        let two = &merged[&"198.51.100.2/32".parse().unwrap_or_else(|e| panic!("{e}"))];
        assert_eq!(two.peers, None, "one advertisement to every peer wins");
    }
}
