//! Locally originated routes in the engine: one declarative set ([`crate::origin`]) that
//! `Speaker::set_advertisements` replaces as a whole and `announce`/`withdraw` change one
//! prefix at a time. Each prefix of the set is one locally originated path in the Loc-RIB
//! (all its advertisements merged, as `show ip bgp` shows it); what each peer gets is
//! resolved per peer when advertising ([`super::advertise`]), and only what differs from
//! what the peer has is sent.

use ipnet::IpNet;
use tracing::warn;

use super::Core;
use crate::export;
use crate::origin::{Advertisement, Originated, from_advertisements};
use crate::rib::{BestChange, PeerId, RouteAttributes};
use crate::speaker::{LocalRoute, SpeakerError};

impl Core {
    /// Replaces the whole set (MetalLB's `Session.Set`).
    pub(super) fn set_advertisements(&mut self, ads: &[Advertisement]) {
        let new = from_advertisements(ads);
        let gone: Vec<IpNet> = self
            .originated
            .keys()
            .filter(|p| !new.contains_key(p))
            .copied()
            .collect();
        let updates = gone
            .into_iter()
            .map(|p| (p, None))
            .chain(new.into_iter().map(|(p, o)| (p, Some(o))));
        self.originate(updates);
    }

    /// Puts one route in the set in place of whatever it held for the prefix.
    pub(super) fn announce_local(&mut self, route: LocalRoute) -> Result<(), SpeakerError> {
        let ipv6 = matches!(route.prefix, IpNet::V6(_));
        if route.next_hop.is_some_and(|nh| nh.is_ipv6() != ipv6) {
            return Err(SpeakerError::InvalidRoute {
                prefix: route.prefix,
                reason: "next hop and prefix are of different address families",
            });
        }
        let originated = Originated::new(&route.attributes, route.peers.as_deref(), route.next_hop);
        self.originate([(route.prefix.trunc(), Some(originated))]);
        Ok(())
    }

    /// Takes a prefix out of the set.
    pub(super) fn withdraw_local(&mut self, prefix: IpNet) {
        self.originate([(prefix.trunc(), None)]);
    }

    /// Applies new contents for some prefixes of the set (`None`: no longer originated):
    /// the Loc-RIB's local paths change, every Established peer hears what differs for it,
    /// and the Loc-RIB changes go to the event stream.
    fn originate(&mut self, updates: impl IntoIterator<Item = (IpNet, Option<Originated>)>) {
        let mut touched = Vec::new();
        for (prefix, new) in updates {
            if self.originated.get(&prefix) == new.as_ref() {
                continue;
            }
            match new {
                Some(route) => {
                    let next_hop = route
                        .next_hop
                        .unwrap_or_else(|| export::unspecified(matches!(prefix, IpNet::V6(_))));
                    let shared = self.rib.intern(RouteAttributes::new(
                        route.merged().path_attributes(),
                        next_hop,
                    ));
                    let result =
                        self.rib
                            .announce(PeerId::LOCAL, &[prefix], &shared, &mut self.changes);
                    if let Err(err) = result {
                        warn!(%prefix, %err, "cannot originate route");
                        continue;
                    }
                    self.originated.insert(prefix, route);
                }
                None => {
                    self.originated.remove(&prefix);
                    if let Err(err) = self
                        .rib
                        .withdraw(PeerId::LOCAL, &[prefix], &mut self.changes)
                    {
                        warn!(%prefix, %err, "cannot withdraw local route");
                    }
                }
            }
            touched.push(prefix);
        }
        // Every touched prefix goes to every peer, changed in the Loc-RIB or not (a change of
        // the peers a route goes to, or of what one peer gets, leaves the merged path alone);
        // the Adj-RIB-Outs keep what is unchanged for a peer from being sent again.
        let current: Vec<BestChange> = touched
            .into_iter()
            .map(|prefix| BestChange {
                prefix,
                best: self.rib.best(prefix),
            })
            .collect();
        self.advertise(&current);
        let changes = std::mem::take(&mut self.changes);
        self.table_version += changes.len() as u64;
        if !changes.is_empty() {
            self.events.changes(changes);
        }
    }
}
