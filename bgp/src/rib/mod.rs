//! The routing information bases: the Adj-RIB-In of every peer and the Loc-RIB with FRR's
//! decision process and multipath (ECMP) groups, for IPv4 and IPv6 unicast.
//!
//! Layout (see `docs/decisions/0001-rib-layout.md`): one table per family maps each prefix to
//! the list of paths received for it, one per peer. That list *is* the Adj-RIB-In of every
//! peer (as in FRR); per-peer views ([`Rib::adj_rib_in`], [`Rib::received_count`]) are derived
//! from it. Attribute sets are interned ([`Rib::intern`], once per UPDATE) and shared by
//! `Arc`; a set is forgotten when no path uses it any more.
//!
//! Every change of a prefix's best path or of its multipath next-hop set is reported as a
//! [`BestChange`], for the kernel FIB and for advertising to peers; nothing else is.
//! The RIB does no I/O: the session code feeds it, one owner, no locks.

mod attributes;
mod decision;
mod intern;
mod table;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use smallvec::SmallVec;

use crate::packet::semantic::check_next_hop;
use crate::packet::{AsPath, Family, PathAttributes, SemanticError};

pub use attributes::SharedAttributes;
pub use decision::{LLGR_STALE, Reason};

use decision::{Contender, compare};
use intern::Interner;
use table::{Entry, FLAG_BEST, FLAG_MULTIPATH, FLAG_STALE, Path, Paths, Table};

/// FRR's default for `maximum-paths` and `maximum-paths ibgp`: the build's `MULTIPATH_NUM`,
/// which is 256 in Debian 12's FRR 8.4 (the reference captures show iBGP ECMP on by default).
pub const DEFAULT_MAX_PATHS: u16 = 256;
/// LOCAL_PREF assumed when a path has none (FRR `bgp default local-preference`).
pub const DEFAULT_LOCAL_PREF: u32 = 100;
/// The weight FRR gives locally originated routes (`BGP_ATTR_DEFAULT_WEIGHT`).
pub const LOCAL_WEIGHT: u32 = 32768;

/// The attributes of a path as handed to [`Rib::intern`]: the path attributes and the next
/// hop (the NEXT_HOP attribute for IPv4, the MP_REACH_NLRI next hop for IPv6). The RIB keeps
/// them packed as [`SharedAttributes`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteAttributes {
    /// Path attributes as received (after import policy).
    pub attrs: PathAttributes,
    /// Next hop to forward to.
    pub next_hop: IpAddr,
}

impl RouteAttributes {
    /// Bundles attributes and next hop.
    pub fn new(attrs: PathAttributes, next_hop: IpAddr) -> Self {
        RouteAttributes { attrs, next_hop }
    }
}

/// A peer, as a small index into the RIB's peer table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub u16);

impl PeerId {
    /// The speaker itself: locally originated routes (`network`, service IPs).
    pub const LOCAL: PeerId = PeerId(0);
}

/// What the decision process needs to know about a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's address (the last tie-breaker).
    pub address: IpAddr,
    /// The peer's BGP identifier from its OPEN.
    pub router_id: Ipv4Addr,
    /// The peer's AS.
    pub remote_as: u32,
    /// Our AS on this session (differs from the global AS with `local-as`).
    pub local_as: u32,
    /// `neighbor X weight N` (0 by default).
    pub weight: u32,
}

impl PeerInfo {
    /// An internal (iBGP) session: same AS on both ends.
    pub fn is_ibgp(&self) -> bool {
        self.remote_as == self.local_as
    }
}

/// Settings of the decision process, with FRR's defaults from [`DecisionConfig::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionConfig {
    /// Our BGP identifier (loop detection on ORIGINATOR_ID and CLUSTER_LIST).
    pub router_id: Ipv4Addr,
    /// Our AS (loop detection on AS_PATH).
    pub local_as: u32,
    /// `maximum-paths N`: size of an eBGP multipath group, best path included.
    pub max_paths_ebgp: u16,
    /// `maximum-paths ibgp N`: size of an iBGP multipath group, best path included.
    pub max_paths_ibgp: u16,
    /// `bgp always-compare-med`.
    pub always_compare_med: bool,
    /// `bgp bestpath med missing-as-worst`.
    pub med_missing_as_worst: bool,
    /// `bgp bestpath med confed`.
    pub med_confed: bool,
    /// `bgp bestpath compare-routerid`: skip the "prefer the older eBGP path" step.
    pub compare_router_id: bool,
    /// `bgp bestpath as-path ignore`.
    pub as_path_ignore: bool,
    /// `bgp bestpath as-path multipath-relax`.
    pub as_path_multipath_relax: bool,
    /// `bgp default local-preference`.
    pub default_local_pref: u32,
}

impl DecisionConfig {
    /// FRR's defaults ("frr defaults traditional") for a speaker with this identity.
    pub fn new(router_id: Ipv4Addr, local_as: u32) -> Self {
        DecisionConfig {
            router_id,
            local_as,
            max_paths_ebgp: DEFAULT_MAX_PATHS,
            max_paths_ibgp: DEFAULT_MAX_PATHS,
            always_compare_med: false,
            med_missing_as_worst: false,
            med_confed: false,
            compare_router_id: false,
            as_path_ignore: false,
            as_path_multipath_relax: false,
            default_local_pref: DEFAULT_LOCAL_PREF,
        }
    }
}

/// The selected route of a prefix: its best path and the next hops of its multipath group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// Peer of the best path.
    pub peer: PeerId,
    /// Attributes of the best path (what is advertised).
    pub attrs: Arc<SharedAttributes>,
    /// Next hops to install: the best path's first, then the other multipath members'
    /// in ascending order, without duplicates.
    pub next_hops: SmallVec<[IpAddr; 1]>,
}

impl Selected {
    fn same_as(&self, other: &Selected) -> bool {
        self.peer == other.peer
            && Arc::ptr_eq(&self.attrs, &other.attrs)
            && self.next_hops == other.next_hops
    }
}

/// One Loc-RIB change, for the kernel FIB and for advertising to peers: the new best path and
/// multipath set (next hops) of a prefix, or its removal (`best: None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BestChange {
    /// The prefix.
    pub prefix: IpNet,
    /// The new selection, `None` when the prefix is gone.
    pub best: Option<Selected>,
}

/// One path of a prefix as shown to operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathView {
    /// Who sent it.
    pub peer: PeerId,
    /// Its attributes and next hop.
    pub attrs: Arc<SharedAttributes>,
    /// When it was received or last changed (to the second).
    pub received: SystemTime,
    /// Usable (always true: next hops are not tracked; invalid routes are never stored).
    pub valid: bool,
    /// The best path.
    pub best: bool,
    /// In the multipath group: a non-best member, or the best path of a group of two or more
    /// (FRR prints `multipath` for both and `*=` for the former).
    pub multipath: bool,
    /// For the best path: why it won (`best (Router ID)`).
    pub reason: Option<Reason>,
    /// Kept from a restarting peer and not sent again yet (RFC 4724; FRR's `S`).
    pub stale: bool,
}

/// Sizes of the RIB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RibStats {
    /// Prefixes in the Loc-RIB, both families.
    pub prefixes: usize,
    /// Paths, all peers and families.
    pub paths: usize,
    /// Interned attribute sets.
    pub attribute_sets: usize,
    /// Approximate bytes used by tables, path lists and attribute sets.
    pub approximate_bytes: usize,
}

/// Why an UPDATE's routes were refused at import.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// AS_PATH loop (RFC 4271 §9.1.2).
    #[error("AS_PATH [{path}] contains our AS {asn}")]
    AsPathLoop {
        /// Our AS that was found.
        asn: u32,
        /// The offending path.
        path: AsPath,
    },
    /// We are the originator (RFC 4456 §8).
    #[error("ORIGINATOR_ID {0} is our router ID")]
    OriginatorIsUs(Ipv4Addr),
    /// Reflected from our own cluster (RFC 4456 §8; cluster ID = router ID).
    #[error("CLUSTER_LIST contains our cluster ID {0}")]
    ClusterLoop(Ipv4Addr),
    /// The next hop is not usable (RFC 4271 §6.3, RFC 7606 §7.3): the route is ignored.
    #[error(transparent)]
    NextHop(SemanticError),
}

/// Errors of RIB operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RibError {
    /// The peer id is not (or no longer) in the peer table.
    #[error("unknown peer id {0:?}")]
    UnknownPeer(PeerId),
    /// All 65535 peer ids are in use.
    #[error("peer table full ({0} peers)")]
    TooManyPeers(usize),
    /// The local pseudo-peer cannot be removed or redefined.
    #[error("the local peer cannot be removed")]
    LocalPeer,
    /// The routes were refused at import; any earlier routes from that peer for these
    /// prefixes were withdrawn.
    #[error("routes from peer {peer:?} refused ({prefixes} prefixes): {reason}")]
    Rejected {
        /// The sending peer.
        peer: PeerId,
        /// How many prefixes the UPDATE carried.
        prefixes: usize,
        /// Why.
        reason: ImportError,
    },
}

#[derive(Debug, Clone)]
struct PeerSlot {
    info: PeerInfo,
    /// Paths per family (PfxRcd).
    received: [usize; 2],
}

/// Everything but the tables, so a table can be borrowed mutably beside it.
#[derive(Debug, Clone)]
struct Shared {
    config: DecisionConfig,
    peers: Vec<Option<PeerSlot>>,
    interner: Interner,
    epoch: Instant,
    epoch_wall: SystemTime,
    /// This router's own addresses: a received next hop must not be one of them.
    own_addresses: hashbrown::HashSet<IpAddr>,
}

impl Shared {
    fn now(&self) -> u32 {
        u32::try_from(self.epoch.elapsed().as_secs()).unwrap_or(u32::MAX)
    }

    fn peer(&self, id: PeerId) -> Option<&PeerSlot> {
        self.peers.get(usize::from(id.0)).and_then(Option::as_ref)
    }

    fn count(&mut self, id: PeerId, family: usize, added: bool) {
        if let Some(Some(slot)) = self.peers.get_mut(usize::from(id.0)) {
            if let Some(c) = slot.received.get_mut(family) {
                if added {
                    *c += 1;
                } else {
                    *c = c.saturating_sub(1);
                }
            }
        }
    }

    fn local_info(config: &DecisionConfig) -> PeerInfo {
        PeerInfo {
            address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            router_id: config.router_id,
            remote_as: config.local_as,
            local_as: config.local_as,
            weight: LOCAL_WEIGHT,
        }
    }
}

/// The RIB: Adj-RIB-In of every peer and Loc-RIB, IPv4 and IPv6 unicast.
#[derive(Debug, Clone)]
pub struct Rib {
    v4: Table<Ipv4Net>,
    v6: Table<Ipv6Net>,
    shared: Shared,
}

/// A prefix type the RIB stores: [`Ipv4Net`], [`Ipv6Net`], or [`IpNet`] (dispatched per prefix).
pub trait RibPrefix: Copy + sealed::Sealed {}

impl RibPrefix for Ipv4Net {}
impl RibPrefix for Ipv6Net {}
impl RibPrefix for IpNet {}

mod sealed {
    use super::*;

    /// Routes a prefix to its family's table.
    pub trait Sealed {
        /// Adds or replaces the path of `peer`.
        fn announce_into(
            self,
            rib: &mut Rib,
            peer: PeerId,
            attrs: &Arc<SharedAttributes>,
            now: u32,
            changes: &mut Vec<BestChange>,
        );
        /// Removes the path of `peer`.
        fn withdraw_from(self, rib: &mut Rib, peer: PeerId, changes: &mut Vec<BestChange>);
    }

    impl Sealed for Ipv4Net {
        fn announce_into(
            self,
            rib: &mut Rib,
            peer: PeerId,
            attrs: &Arc<SharedAttributes>,
            now: u32,
            changes: &mut Vec<BestChange>,
        ) {
            announce_one(
                &mut rib.v4,
                &mut rib.shared,
                self.trunc(),
                peer,
                attrs,
                now,
                changes,
            )
        }
        fn withdraw_from(self, rib: &mut Rib, peer: PeerId, changes: &mut Vec<BestChange>) {
            withdraw_one(&mut rib.v4, &mut rib.shared, self.trunc(), peer, changes)
        }
    }

    impl Sealed for Ipv6Net {
        fn announce_into(
            self,
            rib: &mut Rib,
            peer: PeerId,
            attrs: &Arc<SharedAttributes>,
            now: u32,
            changes: &mut Vec<BestChange>,
        ) {
            announce_one(
                &mut rib.v6,
                &mut rib.shared,
                self.trunc(),
                peer,
                attrs,
                now,
                changes,
            )
        }
        fn withdraw_from(self, rib: &mut Rib, peer: PeerId, changes: &mut Vec<BestChange>) {
            withdraw_one(&mut rib.v6, &mut rib.shared, self.trunc(), peer, changes)
        }
    }

    impl Sealed for IpNet {
        fn announce_into(
            self,
            rib: &mut Rib,
            peer: PeerId,
            attrs: &Arc<SharedAttributes>,
            now: u32,
            changes: &mut Vec<BestChange>,
        ) {
            match self {
                IpNet::V4(p) => p.announce_into(rib, peer, attrs, now, changes),
                IpNet::V6(p) => p.announce_into(rib, peer, attrs, now, changes),
            }
        }
        fn withdraw_from(self, rib: &mut Rib, peer: PeerId, changes: &mut Vec<BestChange>) {
            match self {
                IpNet::V4(p) => p.withdraw_from(rib, peer, changes),
                IpNet::V6(p) => p.withdraw_from(rib, peer, changes),
            }
        }
    }
}

/// A table key: a prefix of one family.
trait Key: table::TableKey + Hash + Ord + Into<IpNet> {
    /// Index of the family in per-peer counters.
    const FAMILY: usize;
}

impl Key for Ipv4Net {
    const FAMILY: usize = 0;
}

impl Key for Ipv6Net {
    const FAMILY: usize = 1;
}

fn family_index(family: Family) -> usize {
    match family {
        Family::Ipv4Unicast => 0,
        Family::Ipv6Unicast => 1,
    }
}

/// The current selection of an entry, read from its flags.
fn current<K>(entry: &Entry<K>) -> Option<Selected> {
    let paths = entry.paths.as_slice();
    let best = paths.iter().find(|p| p.flags & FLAG_BEST != 0)?;
    let mut next_hops: SmallVec<[IpAddr; 1]> = SmallVec::new();
    next_hops.push(best.attrs.next_hop());
    if paths.len() > 1 {
        let mut others: SmallVec<[IpAddr; 8]> = paths
            .iter()
            .filter(|p| p.flags & FLAG_MULTIPATH != 0)
            .map(|p| p.attrs.next_hop())
            .collect();
        others.sort_unstable();
        next_hops.extend(others);
    }
    Some(Selected {
        peer: best.peer,
        attrs: Arc::clone(&best.attrs),
        next_hops,
    })
}

/// Runs the decision process over the paths of one entry (FRR `bgp_best_selection`), sets the
/// best and multipath flags and the reason, and returns the new selection.
fn reselect<K>(entry: &mut Entry<K>, shared: &Shared) -> Option<Selected> {
    if let Paths::One(path) = &mut entry.paths {
        path.flags = FLAG_BEST | (path.flags & FLAG_STALE);
        entry.reason = Reason::First;
        let mut next_hops = SmallVec::new();
        next_hops.push(path.attrs.next_hop());
        return Some(Selected {
            peer: path.peer,
            attrs: Arc::clone(&path.attrs),
            next_hops,
        });
    }

    let (best_path, chosen_paths, selected, reason) = decide(entry.paths.as_slice(), shared)?;
    entry.reason = reason;
    for (i, path) in entry.paths.as_mut_slice().iter_mut().enumerate() {
        let selection = if i == best_path {
            FLAG_BEST
        } else if chosen_paths.contains(&i) {
            FLAG_MULTIPATH
        } else {
            0
        };
        path.flags = selection | (path.flags & FLAG_STALE);
    }
    Some(selected)
}

/// The decision over a list of two or more paths (oldest first): position of the best path,
/// positions of the other multipath members, the selection and the reason.
type Decision = (usize, SmallVec<[usize; 8]>, Selected, Reason);

fn decide(paths: &[Path], shared: &Shared) -> Option<Decision> {
    let cfg = &shared.config;
    let mut contenders: SmallVec<[Contender<'_>; 8]> = SmallVec::with_capacity(paths.len());
    for path in paths {
        // Paths of a removed peer cannot exist (removal withdraws them first); skip defensively.
        let Some(slot) = shared.peer(path.peer) else {
            continue;
        };
        contenders.push(Contender {
            attrs: &path.attrs,
            peer: &slot.info,
            local: path.peer == PeerId::LOCAL,
            selected: path.flags & FLAG_BEST != 0,
        });
    }
    // Positions in `contenders` equal positions in `paths` unless a peer was missing; map back.
    let index_of: SmallVec<[usize; 8]> = paths
        .iter()
        .enumerate()
        .filter(|(_, p)| shared.peer(p.peer).is_some())
        .map(|(i, _)| i)
        .collect();

    // FRR walks its path list newest first.
    let mut best: Option<usize> = None;
    let mut reason = Reason::First;
    for i in (0..contenders.len()).rev() {
        let Some(b) = best else {
            best = Some(i);
            reason = Reason::First;
            continue;
        };
        let (Some(new), Some(exist)) = (contenders.get(i), contenders.get(b)) else {
            continue;
        };
        let v = compare(cfg, new, exist);
        if let Some(r) = v.reason {
            reason = r;
        }
        if v.new_wins {
            best = Some(i);
        }
    }
    let best_c = best?;
    let best_contender = *contenders.get(best_c)?;
    let best_nh = best_contender.attrs.next_hop();

    // Multipath candidates: equal to the best up to the multipath point, other next hop.
    let mut chosen: SmallVec<[usize; 8]> = SmallVec::new();
    if cfg.max_paths_ebgp > 1 || cfg.max_paths_ibgp > 1 {
        let mut candidates: SmallVec<[usize; 8]> = SmallVec::new();
        for i in (0..contenders.len()).rev() {
            let Some(c) = contenders.get(i) else { continue };
            if i == best_c || c.attrs.next_hop() == best_nh {
                continue;
            }
            let v = compare(cfg, c, &best_contender);
            if let Some(r) = v.reason {
                reason = r;
            }
            if v.multipath_equal {
                candidates.push(i);
            }
        }
        // FRR orders the list by next hop, then peer address (local routes last).
        let sort_key = |i: &usize| {
            contenders.get(*i).map(|c| {
                (
                    c.attrs.next_hop(),
                    c.local,
                    if c.local { None } else { Some(c.peer.address) },
                )
            })
        };
        candidates.sort_by_key(sort_key);
        let max = if !best_contender.local && best_contender.peer.is_ibgp() {
            cfg.max_paths_ibgp
        } else {
            cfg.max_paths_ebgp
        };
        let mut count: u16 = 1;
        let mut prev_nh = best_nh;
        for i in candidates {
            if count >= max {
                break;
            }
            let Some(c) = contenders.get(i) else { continue };
            if c.attrs.next_hop() != prev_nh {
                prev_nh = c.attrs.next_hop();
                chosen.push(i);
                count += 1;
            }
        }
    }

    let best_path = *index_of.get(best_c)?;
    let mut next_hops: SmallVec<[IpAddr; 1]> = SmallVec::new();
    next_hops.push(best_nh);
    let chosen_paths: SmallVec<[usize; 8]> = chosen
        .iter()
        .filter_map(|&c| index_of.get(c).copied())
        .collect();
    for &c in &chosen {
        if let Some(x) = contenders.get(c) {
            next_hops.push(x.attrs.next_hop());
        }
    }
    let p = paths.get(best_path)?;
    let selected = Selected {
        peer: p.peer,
        attrs: Arc::clone(&p.attrs),
        next_hops,
    };
    Some((best_path, chosen_paths, selected, reason))
}

/// Reselects and reports a change if the selection differs from `before`.
fn reselect_and_report<K: Key>(
    entry: &mut Entry<K>,
    shared: &Shared,
    before: Option<Selected>,
    changes: &mut Vec<BestChange>,
) {
    let after = reselect(entry, shared);
    let same = match (&before, &after) {
        (Some(a), Some(b)) => a.same_as(b),
        (None, None) => true,
        _ => false,
    };
    if !same {
        changes.push(BestChange {
            prefix: entry.prefix.into(),
            best: after,
        });
    }
}

fn announce_one<K: Key>(
    table: &mut Table<K>,
    shared: &mut Shared,
    prefix: K,
    peer: PeerId,
    attrs: &Arc<SharedAttributes>,
    now: u32,
    changes: &mut Vec<BestChange>,
) {
    let (position, created) = table.find_or_insert(prefix, || Entry {
        prefix,
        reason: Reason::First,
        paths: Paths::One(Path {
            attrs: Arc::clone(attrs),
            received: now,
            peer,
            flags: FLAG_BEST,
        }),
    });
    if created {
        shared.count(peer, K::FAMILY, true);
        let mut next_hops = SmallVec::new();
        next_hops.push(attrs.next_hop());
        changes.push(BestChange {
            prefix: prefix.into(),
            best: Some(Selected {
                peer,
                attrs: Arc::clone(attrs),
                next_hops,
            }),
        });
        return;
    }
    let Some(entry) = table.at_mut(position) else {
        return;
    };
    let existing = entry.paths.as_slice().iter().position(|p| p.peer == peer);
    if let Some(path) = existing.and_then(|i| entry.paths.as_mut_slice().get_mut(i)) {
        if Arc::ptr_eq(&path.attrs, attrs) {
            // An identical re-announcement: only a stale path is refreshed.
            path.flags &= !FLAG_STALE;
            return;
        }
    }
    let before = current(entry);
    let mut released = None;
    match existing.and_then(|i| entry.paths.as_mut_slice().get_mut(i)) {
        Some(path) => {
            released = Some(std::mem::replace(&mut path.attrs, Arc::clone(attrs)));
            path.received = now;
            path.flags &= !FLAG_STALE;
        }
        None => {
            entry.paths.push(Path {
                attrs: Arc::clone(attrs),
                received: now,
                peer,
                flags: 0,
            });
            shared.count(peer, K::FAMILY, true);
        }
    }
    reselect_and_report(entry, shared, before, changes);
    if let Some(old) = released {
        shared.interner.release(old);
    }
}

fn withdraw_one<K: Key>(
    table: &mut Table<K>,
    shared: &mut Shared,
    prefix: K,
    peer: PeerId,
    changes: &mut Vec<BestChange>,
) {
    let Some(position) = table.position(&prefix) else {
        return;
    };
    let Some(entry) = table.at_mut(position) else {
        return;
    };
    let Some(i) = entry.paths.as_slice().iter().position(|p| p.peer == peer) else {
        return;
    };
    shared.count(peer, K::FAMILY, false);
    let released = match entry.paths.remove(i) {
        Some(path) => {
            let before = current(entry);
            // `before` read after removal misses the removed path's own flags; rebuild it.
            let before = before_with(entry, &path, before);
            reselect_and_report(entry, shared, before, changes);
            path.attrs
        }
        None => {
            // The last path: the prefix leaves the Loc-RIB.
            let Some(removed) = table.remove_at(position) else {
                return;
            };
            changes.push(BestChange {
                prefix: prefix.into(),
                best: None,
            });
            match removed.paths {
                Paths::One(path) => path.attrs,
                Paths::Many(mut v) => match v.pop() {
                    Some(path) => path.attrs,
                    None => return,
                },
            }
        }
    };
    shared.interner.release(released);
}

/// The selection as it was before `removed` left `entry`.
fn before_with<K>(
    entry: &Entry<K>,
    removed: &Path,
    after_removal: Option<Selected>,
) -> Option<Selected> {
    if removed.flags & FLAG_BEST != 0 {
        // It was the best: the old selection is that path plus the multipath members.
        let mut next_hops: SmallVec<[IpAddr; 1]> = SmallVec::new();
        next_hops.push(removed.attrs.next_hop());
        let mut others: SmallVec<[IpAddr; 8]> = entry
            .paths
            .as_slice()
            .iter()
            .filter(|p| p.flags & FLAG_MULTIPATH != 0)
            .map(|p| p.attrs.next_hop())
            .collect();
        others.sort_unstable();
        next_hops.extend(others);
        return Some(Selected {
            peer: removed.peer,
            attrs: Arc::clone(&removed.attrs),
            next_hops,
        });
    }
    let mut before = after_removal?;
    if removed.flags & FLAG_MULTIPATH != 0 {
        let nh = removed.attrs.next_hop();
        let rest = before.next_hops.get(1..).unwrap_or(&[]);
        let mut others: SmallVec<[IpAddr; 8]> = rest.iter().copied().collect();
        others.push(nh);
        others.sort_unstable();
        before.next_hops.truncate(1);
        before.next_hops.extend(others);
    }
    Some(before)
}

/// Reselects every entry of a table that `filter` accepts (after a configuration change).
fn reselect_all<K: Key>(
    table: &mut Table<K>,
    shared: &Shared,
    filter: impl Fn(&Entry<K>) -> bool,
    changes: &mut Vec<BestChange>,
) {
    for position in 0..table.len() {
        let Some(entry) = table.at_mut(position) else {
            continue;
        };
        if filter(entry) {
            let before = current(entry);
            reselect_and_report(entry, shared, before, changes);
        }
    }
}

/// Withdraws every path of `peer` that `which` accepts.
fn withdraw_all_from<K: Key>(
    table: &mut Table<K>,
    shared: &mut Shared,
    peer: PeerId,
    which: impl Fn(&Path) -> bool,
    changes: &mut Vec<BestChange>,
) {
    let mut position = 0;
    while position < table.len() {
        let has = table.entries().get(position).is_some_and(|e| {
            e.paths
                .as_slice()
                .iter()
                .any(|p| p.peer == peer && which(p))
        });
        if has {
            let Some(prefix) = table.entries().get(position).map(|e| e.prefix) else {
                break;
            };
            let before_len = table.len();
            withdraw_one(table, shared, prefix, peer, changes);
            if table.len() < before_len {
                // The entry was removed and the last one moved here: look at it next.
                continue;
            }
        }
        position += 1;
    }
}

fn view<K>(entry: &Entry<K>, path: &Path, shared: &Shared) -> PathView {
    let is_best = path.flags & FLAG_BEST != 0;
    let group = entry
        .paths
        .as_slice()
        .iter()
        .any(|p| p.flags & FLAG_MULTIPATH != 0);
    PathView {
        peer: path.peer,
        attrs: Arc::clone(&path.attrs),
        received: shared.epoch_wall + Duration::from_secs(u64::from(path.received)),
        valid: true,
        best: is_best,
        multipath: path.flags & FLAG_MULTIPATH != 0 || (is_best && group),
        reason: is_best.then_some(entry.reason),
        stale: path.flags & FLAG_STALE != 0,
    }
}

fn views_newest_first<K>(entry: &Entry<K>, shared: &Shared) -> Vec<PathView> {
    entry
        .paths
        .as_slice()
        .iter()
        .rev()
        .map(|p| view(entry, p, shared))
        .collect()
}

impl Rib {
    /// An empty RIB; the local pseudo-peer [`PeerId::LOCAL`] exists from the start.
    pub fn new(config: DecisionConfig) -> Self {
        let local = PeerSlot {
            info: Shared::local_info(&config),
            received: [0; 2],
        };
        Rib {
            v4: Table::default(),
            v6: Table::default(),
            shared: Shared {
                config,
                peers: vec![Some(local)],
                interner: Interner::default(),
                epoch: Instant::now(),
                epoch_wall: SystemTime::now(),
                own_addresses: hashbrown::HashSet::new(),
            },
        }
    }

    /// Sets this router's own addresses (interfaces, sessions, listeners): routes received
    /// afterwards whose next hop is one of them are refused at import (RFC 4271 §6.3 a).
    /// Routes already stored are not looked at again.
    pub fn set_own_addresses(&mut self, addresses: impl IntoIterator<Item = IpAddr>) {
        self.shared.own_addresses = addresses.into_iter().collect();
    }

    /// The decision settings in force.
    pub fn config(&self) -> &DecisionConfig {
        &self.shared.config
    }

    /// Changes the decision settings (e.g. `maximum-paths`) and reruns the selection of every
    /// prefix, reporting what changed.
    pub fn set_config(&mut self, config: DecisionConfig, changes: &mut Vec<BestChange>) {
        if let Some(Some(local)) = self.shared.peers.get_mut(0) {
            local.info = Shared::local_info(&config);
        }
        self.shared.config = config;
        reselect_all(&mut self.v4, &self.shared, |_| true, changes);
        reselect_all(&mut self.v6, &self.shared, |_| true, changes);
    }

    /// Registers a peer (when its session reaches Established) and returns its id.
    pub fn add_peer(&mut self, info: PeerInfo) -> Result<PeerId, RibError> {
        let slot = PeerSlot {
            info,
            received: [0; 2],
        };
        if let Some(free) = self.shared.peers.iter().skip(1).position(Option::is_none) {
            let index = free + 1;
            if let Some(place) = self.shared.peers.get_mut(index) {
                *place = Some(slot);
            }
            return u16::try_from(index)
                .map(PeerId)
                .map_err(|_| RibError::TooManyPeers(index));
        }
        let index = self.shared.peers.len();
        let id = u16::try_from(index).map_err(|_| RibError::TooManyPeers(index))?;
        self.shared.peers.push(Some(slot));
        Ok(PeerId(id))
    }

    /// What the RIB knows about a peer.
    pub fn peer_info(&self, peer: PeerId) -> Option<&PeerInfo> {
        self.shared.peer(peer).map(|s| &s.info)
    }

    /// Replaces a peer's information (e.g. its `weight`) and reruns the selection of the
    /// prefixes it sent.
    pub fn update_peer_info(
        &mut self,
        peer: PeerId,
        info: PeerInfo,
        changes: &mut Vec<BestChange>,
    ) -> Result<(), RibError> {
        if peer == PeerId::LOCAL {
            return Err(RibError::LocalPeer);
        }
        match self.shared.peers.get_mut(usize::from(peer.0)) {
            Some(Some(slot)) => slot.info = info,
            _ => return Err(RibError::UnknownPeer(peer)),
        }
        reselect_all(&mut self.v4, &self.shared, |e| e_has(e, peer), changes);
        reselect_all(&mut self.v6, &self.shared, |e| e_has(e, peer), changes);
        Ok(())
    }

    /// Withdraws everything a peer sent and forgets it; its id may be reused.
    pub fn remove_peer(
        &mut self,
        peer: PeerId,
        changes: &mut Vec<BestChange>,
    ) -> Result<(), RibError> {
        if peer == PeerId::LOCAL {
            return Err(RibError::LocalPeer);
        }
        if self.shared.peer(peer).is_none() {
            return Err(RibError::UnknownPeer(peer));
        }
        self.withdraw_all(peer, changes);
        if let Some(place) = self.shared.peers.get_mut(usize::from(peer.0)) {
            *place = None;
        }
        Ok(())
    }

    /// The shared copy of an attribute set; call once per UPDATE and pass the result to
    /// [`Rib::announce`] for all its prefixes.
    pub fn intern(&mut self, attrs: RouteAttributes) -> Arc<SharedAttributes> {
        self.shared.interner.intern(&attrs)
    }

    /// Forgets now every interned set that no path uses (this also happens on its own).
    pub fn collect_garbage(&mut self) {
        self.shared.interner.sweep();
    }

    /// The import checks, all in this one place: AS_PATH loop (our AS, or the session's
    /// `local-as`), ORIGINATOR_ID equal to our router ID, our cluster ID (= router ID) in the
    /// CLUSTER_LIST, and a next hop that is no unicast host address or one of ours
    /// ([`check_next_hop`]). Locally originated routes are not checked.
    pub fn import_check(&self, peer: PeerId, attrs: &SharedAttributes) -> Result<(), ImportError> {
        if peer == PeerId::LOCAL {
            return Ok(());
        }
        let cfg = &self.shared.config;
        let mut ours: SmallVec<[u32; 2]> = SmallVec::new();
        ours.push(cfg.local_as);
        if let Some(slot) = self.shared.peer(peer) {
            if slot.info.local_as != cfg.local_as {
                ours.push(slot.info.local_as);
            }
        }
        if let Some(&asn) = ours.iter().find(|&&asn| attrs.as_path_contains(asn)) {
            return Err(ImportError::AsPathLoop {
                asn,
                path: attrs.as_path(),
            });
        }
        if attrs.originator_id() == Some(cfg.router_id) {
            return Err(ImportError::OriginatorIsUs(cfg.router_id));
        }
        if attrs.cluster_list().contains(&cfg.router_id) {
            return Err(ImportError::ClusterLoop(cfg.router_id));
        }
        let own = &self.shared.own_addresses;
        check_next_hop(attrs.next_hop(), |a| own.contains(&a)).map_err(ImportError::NextHop)
    }

    /// Adds (or replaces) the paths of `peer` for `prefixes`, all with `attrs`, and reports
    /// the Loc-RIB changes. Routes that fail [`Rib::import_check`] are refused; earlier routes
    /// from the peer for the same prefixes are then withdrawn (RFC 4271 §9: an unfeasible
    /// replacement withdraws the old route).
    pub fn announce<P: RibPrefix>(
        &mut self,
        peer: PeerId,
        prefixes: &[P],
        attrs: &Arc<SharedAttributes>,
        changes: &mut Vec<BestChange>,
    ) -> Result<(), RibError> {
        if self.shared.peer(peer).is_none() {
            return Err(RibError::UnknownPeer(peer));
        }
        if let Err(reason) = self.import_check(peer, attrs) {
            self.withdraw(peer, prefixes, changes)?;
            return Err(RibError::Rejected {
                peer,
                prefixes: prefixes.len(),
                reason,
            });
        }
        let now = self.shared.now();
        for &prefix in prefixes {
            prefix.announce_into(self, peer, attrs, now, changes);
        }
        Ok(())
    }

    /// Removes the paths of `peer` for `prefixes` and reports the Loc-RIB changes.
    pub fn withdraw<P: RibPrefix>(
        &mut self,
        peer: PeerId,
        prefixes: &[P],
        changes: &mut Vec<BestChange>,
    ) -> Result<(), RibError> {
        if self.shared.peer(peer).is_none() {
            return Err(RibError::UnknownPeer(peer));
        }
        for &prefix in prefixes {
            prefix.withdraw_from(self, peer, changes);
        }
        Ok(())
    }

    /// Removes every path of `peer` (its session went down) and reports the changes.
    pub fn withdraw_all(&mut self, peer: PeerId, changes: &mut Vec<BestChange>) {
        withdraw_all_from(&mut self.v4, &mut self.shared, peer, |_| true, changes);
        withdraw_all_from(&mut self.v6, &mut self.shared, peer, |_| true, changes);
    }

    /// Removes every path of `peer` in `family` and reports the changes.
    pub fn withdraw_family(&mut self, peer: PeerId, family: Family, changes: &mut Vec<BestChange>) {
        match family {
            Family::Ipv4Unicast => {
                withdraw_all_from(&mut self.v4, &mut self.shared, peer, |_| true, changes)
            }
            Family::Ipv6Unicast => {
                withdraw_all_from(&mut self.v6, &mut self.shared, peer, |_| true, changes)
            }
        }
    }

    /// Marks every path of `peer` in `family` stale (the peer is restarting, RFC 4724): the
    /// paths stay selected and installed as they are, and [`Rib::sweep_stale`] removes the
    /// ones not sent again meanwhile. Returns how many were marked; no selection changes.
    pub fn mark_stale(&mut self, peer: PeerId, family: Family) -> usize {
        let mark = |paths: &mut [Path]| {
            let mut marked = 0;
            for path in paths.iter_mut().filter(|p| p.peer == peer) {
                path.flags |= FLAG_STALE;
                marked += 1;
            }
            marked
        };
        match family {
            Family::Ipv4Unicast => self.v4.for_each_paths(mark),
            Family::Ipv6Unicast => self.v6.for_each_paths(mark),
        }
    }

    /// Removes the paths of `peer` in `family` still marked stale and reports the changes.
    pub fn sweep_stale(&mut self, peer: PeerId, family: Family, changes: &mut Vec<BestChange>) {
        let stale = |p: &Path| p.flags & FLAG_STALE != 0;
        match family {
            Family::Ipv4Unicast => {
                withdraw_all_from(&mut self.v4, &mut self.shared, peer, stale, changes)
            }
            Family::Ipv6Unicast => {
                withdraw_all_from(&mut self.v6, &mut self.shared, peer, stale, changes)
            }
        }
    }

    /// How many paths of `peer` in `family` are stale. Walks the table.
    pub fn stale_count(&self, peer: PeerId, family: Family) -> usize {
        let stale = |paths: &[Path]| {
            paths
                .iter()
                .filter(|p| p.peer == peer && p.flags & FLAG_STALE != 0)
                .count()
        };
        match family {
            Family::Ipv4Unicast => self
                .v4
                .entries()
                .iter()
                .map(|e| stale(e.paths.as_slice()))
                .sum(),
            Family::Ipv6Unicast => self
                .v6
                .entries()
                .iter()
                .map(|e| stale(e.paths.as_slice()))
                .sum(),
        }
    }

    /// The selection of `prefix` (exact match): best path and multipath next hops.
    pub fn best(&self, prefix: IpNet) -> Option<Selected> {
        match prefix.trunc() {
            IpNet::V4(p) => self.v4.get(&p).and_then(current),
            IpNet::V6(p) => self.v6.get(&p).and_then(current),
        }
    }

    /// The current selection of every prefix of a family, in table order (unsorted): what
    /// a peer must be sent when its session starts. O(n), no per-prefix allocation but the
    /// selection itself.
    pub fn selected(&self, family: Family) -> Box<dyn Iterator<Item = BestChange> + '_> {
        match family {
            Family::Ipv4Unicast => Box::new(self.v4.entries().iter().filter_map(|e| {
                current(e).map(|best| BestChange {
                    prefix: e.prefix.into(),
                    best: Some(best),
                })
            })),
            Family::Ipv6Unicast => Box::new(self.v6.entries().iter().filter_map(|e| {
                current(e).map(|best| BestChange {
                    prefix: e.prefix.into(),
                    best: Some(best),
                })
            })),
        }
    }

    /// All paths of `prefix`: the best first, then the other multipath members, then the
    /// rest, each group newest first.
    pub fn paths(&self, prefix: IpNet) -> Vec<PathView> {
        let mut all = self.paths_newest_first(prefix);
        all.sort_by_key(|v| (!v.best, !v.multipath));
        all
    }

    /// All paths of `prefix` in FRR 8.4's display order: most recently added first (FRR
    /// prepends new paths to its list and prints it as is).
    pub fn paths_newest_first(&self, prefix: IpNet) -> Vec<PathView> {
        match prefix.trunc() {
            IpNet::V4(p) => self
                .v4
                .get(&p)
                .map(|e| views_newest_first(e, &self.shared))
                .unwrap_or_default(),
            IpNet::V6(p) => self
                .v6
                .get(&p)
                .map(|e| views_newest_first(e, &self.shared))
                .unwrap_or_default(),
        }
    }

    /// Every prefix of a family in ascending order with its paths in display order (see
    /// [`Rib::paths_newest_first`]), for `show ip bgp`. Sorting costs O(n log n) per call.
    pub fn iter_sorted(&self, family: Family) -> impl Iterator<Item = (IpNet, Vec<PathView>)> + '_ {
        let mut prefixes: Vec<IpNet> = match family {
            Family::Ipv4Unicast => self.v4.entries().iter().map(|e| e.prefix.into()).collect(),
            Family::Ipv6Unicast => self.v6.entries().iter().map(|e| e.prefix.into()).collect(),
        };
        prefixes.sort_unstable();
        prefixes
            .into_iter()
            .map(move |p| (p, self.paths_newest_first(p)))
    }

    /// Number of prefixes a peer sent for a family (FRR's PfxRcd). O(1).
    pub fn received_count(&self, peer: PeerId, family: Family) -> usize {
        self.shared
            .peer(peer)
            .and_then(|s| s.received.get(family_index(family)).copied())
            .unwrap_or(0)
    }

    /// The Adj-RIB-In of a peer: every prefix it sent (both families) with its attributes.
    /// Walks the whole table.
    pub fn adj_rib_in(
        &self,
        peer: PeerId,
    ) -> impl Iterator<Item = (IpNet, &SharedAttributes)> + '_ {
        let v4 = self.v4.entries().iter().filter_map(move |e| {
            e.paths
                .as_slice()
                .iter()
                .find(|p| p.peer == peer)
                .map(|p| (IpNet::from(e.prefix), &*p.attrs))
        });
        let v6 = self.v6.entries().iter().filter_map(move |e| {
            e.paths
                .as_slice()
                .iter()
                .find(|p| p.peer == peer)
                .map(|p| (IpNet::from(e.prefix), &*p.attrs))
        });
        v4.chain(v6)
    }

    /// Number of prefixes of a family in the Loc-RIB.
    pub fn prefix_count(&self, family: Family) -> usize {
        match family {
            Family::Ipv4Unicast => self.v4.len(),
            Family::Ipv6Unicast => self.v6.len(),
        }
    }

    /// Sizes and approximate memory.
    pub fn stats(&self) -> RibStats {
        RibStats {
            prefixes: self.v4.len() + self.v6.len(),
            paths: path_count(self.v4.entries()) + path_count(self.v6.entries()),
            attribute_sets: self.shared.interner.len(),
            approximate_bytes: self.v4.bytes() + self.v6.bytes() + self.shared.interner.bytes(),
        }
    }
}

fn path_count<K>(entries: &[Entry<K>]) -> usize {
    entries.iter().map(|e| e.paths.as_slice().len()).sum()
}

fn e_has<K>(e: &Entry<K>, peer: PeerId) -> bool {
    e.paths.as_slice().iter().any(|p| p.peer == peer)
}
