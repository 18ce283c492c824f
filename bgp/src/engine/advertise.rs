//! The outbound side of the engine: from Loc-RIB selections (and, for locally originated
//! prefixes, what each peer is to get) to the UPDATEs one peer must hear.
//!
//! Each Established session keeps an Adj-RIB-Out reduced to what decisions need: for every
//! prefix the peer has from us, the attribute set it was built from and where that came
//! from. A prefix is sent again only when that changes, so a caller may hand over more
//! prefixes than changed (a whole declarative set, a peer list change) and the peer still
//! hears only the differences; withdrawals go only where announcements went.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use bytes::BytesMut;
use ipnet::{IpNet, Ipv4Net};
use tracing::warn;

use super::Core;
use crate::export::{self, Source};
use crate::packet::{
    EncodeOptions, Family, encode_announce_ipv4, encode_announce_mp, encode_withdraw,
};
use crate::rib::{BestChange, PeerId, RouteAttributes, SharedAttributes};
use crate::session::peer::ToPeer;

/// What a peer has from us for one prefix: the attribute set the announcement was built
/// from (the best path's, or for a local route the set resolved for this peer) and the
/// source of that path. The export policy is a pure function of these and the session, so
/// the same pair means the same announcement.
#[derive(Debug, Clone)]
pub(super) struct Sent {
    attrs: Arc<SharedAttributes>,
    from: PeerId,
}

impl Sent {
    fn same_as(&self, other: &Sent) -> bool {
        self.from == other.from && Arc::ptr_eq(&self.attrs, &other.attrs)
    }
}

/// Whether an unchanged announcement is sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resend {
    /// Only what differs from the Adj-RIB-Out (every change of the RIB or the set).
    Changes,
    /// Everything (ROUTE-REFRESH, session start).
    All,
}

/// Prefixes that share one attribute set in the Loc-RIB, with what that set becomes on the
/// way to one peer (`None`: it must not be sent there).
type ExportGroup = (Option<(crate::packet::PathAttributes, IpAddr)>, Vec<IpNet>);

/// The UPDATEs for one peer, before encoding.
#[derive(Default)]
struct Plan {
    /// Prefixes per exported attribute set, by (attribute set, source peer).
    groups: HashMap<(*const SharedAttributes, PeerId), ExportGroup>,
    withdrawals: Vec<IpNet>,
    /// Change of the number of prefixes the peer has from us.
    delta: i64,
}

fn family_of(prefix: &IpNet) -> Family {
    match prefix {
        IpNet::V4(_) => Family::Ipv4Unicast,
        IpNet::V6(_) => Family::Ipv6Unicast,
    }
}

impl Core {
    /// Advertises the current best path (or a withdrawal) of each prefix to every
    /// Established peer.
    pub(super) fn advertise(&mut self, changes: &[BestChange]) {
        if self.peers.values().all(|p| p.session.is_none()) {
            return;
        }
        let changes = super::latest_per_prefix(changes);
        let peers: Vec<IpAddr> = self.peers.keys().copied().collect();
        for address in peers {
            self.advertise_to(address, &changes, None, Resend::Changes);
        }
    }

    /// Sends a peer everything it should have (session start, ROUTE-REFRESH), each family
    /// followed by its End-of-RIB.
    pub(super) fn send_full_table(&mut self, peer: IpAddr, family: Option<Family>) {
        let families: Vec<Family> = match family {
            Some(f) => vec![f],
            None => Family::ALL.to_vec(),
        };
        for f in families {
            let table: Vec<BestChange> = self.rib.selected(f).collect();
            self.advertise_to(peer, &table, Some(f), Resend::All);
            if let Some(session) = self.peers.get_mut(&peer).and_then(|e| e.session.as_mut()) {
                if session.negotiated.families.contains(&f) {
                    if !session.end_of_rib_sent.contains(&f) {
                        session.end_of_rib_sent.push(f);
                    }
                    let mut out = BytesMut::new();
                    crate::packet::encode_end_of_rib(f, &mut out);
                    self.send(peer, out, 1, 0);
                }
            }
        }
    }

    /// Encodes and sends what `peer` must hear about the selections in `changes`: an
    /// announcement of each exportable best path that differs from what it has, grouped by
    /// attributes, and a withdrawal of what it had from us and must no longer have.
    pub(super) fn advertise_to(
        &mut self,
        peer: IpAddr,
        changes: &[BestChange],
        only: Option<Family>,
        resend: Resend,
    ) {
        let Some(session) = self.peers.get(&peer).and_then(|e| e.session.as_ref()) else {
            return;
        };
        // A speaker that originates nothing and re-advertises nothing has nothing to say.
        if !self.config.readvertise && self.originated.is_empty() && session.advertised.is_empty() {
            return;
        }
        let plan = self.plan(peer, changes, only, resend);
        let Some(entry) = self.peers.get(&peer) else {
            return;
        };
        let Some(session) = entry.session.as_ref() else {
            return;
        };
        let options = EncodeOptions {
            four_octet_as: session.negotiated.four_octet_as,
        };
        let ipv6_next_hop = entry.config.ipv6_next_hop;
        let local_address = session.target.local_address;
        let mut out = BytesMut::new();
        let mut messages = 0usize;
        for (exported, prefixes) in plan.groups.into_values() {
            let Some((attrs, next_hop)) = exported else {
                continue;
            };
            let next_hop_v6 = match (next_hop, ipv6_next_hop) {
                (IpAddr::V4(_), Some(global)) if next_hop == local_address => IpAddr::V6(global),
                _ => export::next_hop_for_family(next_hop, true),
            };
            messages += encode_group(
                peer,
                attrs,
                next_hop,
                next_hop_v6,
                &prefixes,
                &options,
                &mut out,
            );
        }
        if !plan.withdrawals.is_empty() {
            match encode_withdraw(&plan.withdrawals, &options, &mut out) {
                Ok(n) => messages += n,
                Err(err) => warn!(%peer, %err, "cannot encode withdrawal"),
            }
        }
        if messages > 0 {
            let _ = entry.handle.tx.send(ToPeer::Send {
                generation: session.generation,
                bytes: out.freeze(),
                messages: messages as u64,
                prefixes_delta: plan.delta,
            });
        }
    }

    /// Decides, prefix by prefix, what `peer` must hear, and updates its Adj-RIB-Out.
    fn plan(
        &mut self,
        peer: IpAddr,
        changes: &[BestChange],
        only: Option<Family>,
        resend: Resend,
    ) -> Plan {
        let mut plan = Plan::default();
        let Core {
            peers,
            rib,
            originated,
            config,
            ..
        } = self;
        let Some(session) = peers.get_mut(&peer).and_then(|e| e.session.as_mut()) else {
            return plan;
        };
        for change in changes {
            let prefix = change.prefix;
            let family = family_of(&prefix);
            if !session.negotiated.families.contains(&family) || only.is_some_and(|f| f != family) {
                continue;
            }
            let source = change.best.as_ref().and_then(|best| {
                if best.peer == PeerId::LOCAL {
                    // What this peer is to get of the prefix, as an interned set so that
                    // peers with equal attributes share UPDATEs and comparisons are cheap.
                    let route = originated.get(&prefix)?;
                    let attributes = route.for_peer(peer)?;
                    let next_hop = route
                        .next_hop
                        .unwrap_or_else(|| export::unspecified(family == Family::Ipv6Unicast));
                    let attrs =
                        rib.intern(RouteAttributes::new(attributes.path_attributes(), next_hop));
                    return Some((
                        Sent {
                            attrs,
                            from: best.peer,
                        },
                        Source::Local,
                    ));
                }
                if !config.readvertise {
                    return None;
                }
                let info = rib.peer_info(best.peer)?;
                let source = Source::Peer {
                    address: info.address,
                    ibgp: info.is_ibgp(),
                };
                Some((
                    Sent {
                        attrs: Arc::clone(&best.attrs),
                        from: best.peer,
                    },
                    source,
                ))
            });
            let Some((sent, source)) = source else {
                if session.advertised.remove(&prefix).is_some() {
                    plan.withdrawals.push(prefix);
                    plan.delta -= 1;
                }
                continue;
            };
            let unchanged = session
                .advertised
                .get(&prefix)
                .is_some_and(|had| had.same_as(&sent));
            if unchanged && resend == Resend::Changes {
                continue;
            }
            let target = &session.target;
            let group = plan
                .groups
                .entry((Arc::as_ptr(&sent.attrs), sent.from))
                .or_insert_with(|| {
                    let attrs = &sent.attrs;
                    let next_hop = (!attrs.next_hop.is_unspecified()).then_some(attrs.next_hop);
                    (
                        export::export(&attrs.attrs(), next_hop, source, target),
                        Vec::new(),
                    )
                });
            if group.0.is_some() {
                group.1.push(prefix);
                if session.advertised.insert(prefix, sent).is_none() {
                    plan.delta += 1;
                }
            } else if session.advertised.remove(&prefix).is_some() {
                plan.withdrawals.push(prefix);
                plan.delta -= 1;
            }
        }
        plan
    }
}

/// Encodes the announcements of one attribute set: IPv4 prefixes in the classic fields with
/// NEXT_HOP, IPv6 prefixes in MP_REACH_NLRI. Returns the number of UPDATEs written.
fn encode_group(
    peer: IpAddr,
    mut attrs: crate::packet::PathAttributes,
    next_hop: IpAddr,
    next_hop_v6: IpAddr,
    prefixes: &[IpNet],
    options: &EncodeOptions,
    out: &mut BytesMut,
) -> usize {
    let mut messages = 0;
    let v4: Vec<Ipv4Net> = prefixes
        .iter()
        .filter_map(|p| match p {
            IpNet::V4(n) => Some(*n),
            IpNet::V6(_) => None,
        })
        .collect();
    let v6: Vec<IpNet> = prefixes
        .iter()
        .filter(|p| matches!(p, IpNet::V6(_)))
        .copied()
        .collect();
    if !v4.is_empty() {
        attrs.next_hop = match export::next_hop_for_family(next_hop, false) {
            IpAddr::V4(nh) => Some(nh),
            IpAddr::V6(_) => None,
        };
        match encode_announce_ipv4(&attrs, &v4, options, out) {
            Ok(n) => messages += n,
            Err(err) => warn!(%peer, %err, "cannot encode UPDATE"),
        }
    }
    if !v6.is_empty() {
        attrs.next_hop = None;
        match encode_announce_mp(
            &attrs,
            Family::Ipv6Unicast.afi_safi(),
            &[next_hop_v6],
            &v6,
            options,
            out,
        ) {
            Ok(n) => messages += n,
            Err(err) => warn!(%peer, %err, "cannot encode UPDATE"),
        }
    }
    messages
}
