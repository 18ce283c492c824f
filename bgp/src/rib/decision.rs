//! The BGP decision process, step for step as FRR 8.4 runs it (`bgp_path_info_cmp` in
//! `bgpd/bgp_route.c`), for the subset of features this implementation has: no
//! confederations, no EVPN, no labels, no AIGP, no graceful-restart stale paths, no IGP metric
//! (next hops are assumed reachable at equal cost, so FRR's steps 8 and 9 never decide).
//!
//! One comparison answers three questions at once, as FRR's does: does the new path beat the
//! existing one, which step decided (the [`Reason`] that `show ip bgp PREFIX` prints), and are
//! the two equal up to the multipath point (ECMP candidates).

use std::cmp::Ordering;
use std::fmt;

use crate::packet::Community;

use super::{DecisionConfig, PeerInfo, SharedAttributes};

/// The LLGR_STALE well-known community (RFC 9494): FRR ranks such paths below every other.
pub const LLGR_STALE: Community = Community::LLGR_STALE;

/// Why the best path of a prefix won: the step of the decision process that decided the last
/// comparison, with FRR's wording (`show ip bgp PREFIX` prints `best (Router ID)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Reason {
    /// Only one path was compared ("First path received").
    First,
    /// Higher weight.
    Weight,
    /// Higher LOCAL_PREF (absent counts as the default, 100).
    LocalPref,
    /// Locally originated (`network` command, service IPs) beats learned.
    LocalRoute,
    /// Shorter AS_PATH.
    AsPath,
    /// Lower ORIGIN (IGP < EGP < incomplete).
    Origin,
    /// Lower MED (only between paths from the same neighbouring AS by default).
    Med,
    /// eBGP beats iBGP.
    PeerType,
    /// Both eBGP: the currently selected (older) path is kept.
    OlderPath,
    /// Lower router ID (ORIGINATOR_ID when present, else the peer's BGP identifier).
    RouterId,
    /// Shorter CLUSTER_LIST.
    ClusterLength,
    /// A locally configured route without a peer address lost the address comparison.
    LocallyConfigured,
    /// Lower peer address.
    NeighborIp,
    /// Nothing distinguished the paths; the new one was taken.
    NothingLeft,
}

impl Reason {
    /// FRR's text for this reason (`bgp_path_selection_reason2str`).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::First => "First path received",
            Reason::Weight => "Weight",
            Reason::LocalPref => "Local Pref",
            Reason::LocalRoute => "Local Route",
            Reason::AsPath => "AS Path",
            Reason::Origin => "Origin",
            Reason::Med => "MED",
            Reason::PeerType => "Peer Type",
            Reason::OlderPath => "Older Path",
            Reason::RouterId => "Router ID",
            Reason::ClusterLength => "Cluster length",
            Reason::LocallyConfigured => "Locally configured route",
            Reason::NeighborIp => "Neighbor IP",
            Reason::NothingLeft => "Nothing left to compare",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One path as the decision process sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Contender<'a> {
    /// The path's attributes.
    pub attrs: &'a SharedAttributes,
    /// The peer it came from.
    pub peer: &'a PeerInfo,
    /// Locally originated (FRR: sub-type static, peer_self).
    pub local: bool,
    /// Currently flagged as the selected (best) path of its prefix.
    pub selected: bool,
}

/// The result of comparing a new path with an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// The new path is preferred.
    pub new_wins: bool,
    /// The step that decided; `None` where FRR leaves the recorded reason untouched
    /// (the LLGR_STALE depreference).
    pub reason: Option<Reason>,
    /// Equal up to the multipath point and eligible to share ECMP with the other.
    pub multipath_equal: bool,
}

fn verdict(new_wins: bool, reason: Reason, multipath_equal: bool) -> Verdict {
    Verdict {
        new_wins,
        reason: Some(reason),
        multipath_equal,
    }
}

fn has_llgr_stale(attrs: &SharedAttributes) -> bool {
    attrs.llgr_stale()
}

/// FRR `aspath_cmp_left`: both paths empty, or the first AS_SEQUENCE after any confederation
/// segments starts with the same AS in both.
fn same_neighbour_as(a: &SharedAttributes, b: &SharedAttributes) -> bool {
    if a.as_path_is_empty() && b.as_path_is_empty() {
        return true;
    }
    matches!((a.neighbour_as(), b.neighbour_as()), (Some(x), Some(y)) if x == y)
}

/// FRR `aspath_cmp_left_confed`: both start with an AS_CONFED_SEQUENCE with the same first AS.
fn same_neighbour_confed(a: &SharedAttributes, b: &SharedAttributes) -> bool {
    matches!(
        (a.neighbour_confed_as(), b.neighbour_confed_as()),
        (Some(x), Some(y)) if x == y
    )
}

/// Compares `new` with `exist` exactly in FRR 8.4's order. Steps FRR has and we cannot reach
/// (EVPN, AIGP, IGP metric, confederation peers, stale paths) are left out.
pub(crate) fn compare(cfg: &DecisionConfig, new: &Contender<'_>, exist: &Contender<'_>) -> Verdict {
    let (na, ea) = (new.attrs, exist.attrs);

    // 0. LLGR_STALE paths are least preferred (FRR records no reason for this).
    if has_llgr_stale(new.attrs) {
        return Verdict {
            new_wins: false,
            reason: None,
            multipath_equal: false,
        };
    }
    if has_llgr_stale(exist.attrs) {
        return Verdict {
            new_wins: true,
            reason: None,
            multipath_equal: false,
        };
    }

    // 1. Weight (from the peer's configuration; 32768 for local routes).
    match new.peer.weight.cmp(&exist.peer.weight) {
        Ordering::Greater => return verdict(true, Reason::Weight, false),
        Ordering::Less => return verdict(false, Reason::Weight, false),
        Ordering::Equal => {}
    }

    // 2. LOCAL_PREF, absent = the configured default (100).
    let new_pref = na.local_pref().unwrap_or(cfg.default_local_pref);
    let exist_pref = ea.local_pref().unwrap_or(cfg.default_local_pref);
    match new_pref.cmp(&exist_pref) {
        Ordering::Greater => return verdict(true, Reason::LocalPref, false),
        Ordering::Less => return verdict(false, Reason::LocalPref, false),
        Ordering::Equal => {}
    }

    // 3. Locally originated.
    if new.local && !exist.local {
        return verdict(true, Reason::LocalRoute, false);
    }
    if !new.local && exist.local {
        return verdict(false, Reason::LocalRoute, false);
    }

    // 4. AS_PATH length (AS_SET counts 1, confederation segments 0).
    let new_hops = na.as_path_len();
    let exist_hops = ea.as_path_len();
    if !cfg.as_path_ignore {
        match new_hops.cmp(&exist_hops) {
            Ordering::Less => return verdict(true, Reason::AsPath, false),
            Ordering::Greater => return verdict(false, Reason::AsPath, false),
            Ordering::Equal => {}
        }
    }

    // 5. ORIGIN.
    match na.origin().cmp(&ea.origin()) {
        Ordering::Less => return verdict(true, Reason::Origin, false),
        Ordering::Greater => return verdict(false, Reason::Origin, false),
        Ordering::Equal => {}
    }

    // 6. MED, only between paths from the same neighbouring AS (or both internal) unless
    //    always-compare-med. A missing MED is 0 (or the worst with med-missing-as-worst).
    let internal = new_hops == 0 && exist_hops == 0;
    let confed_internal = internal && na.confed_len() > 0 && ea.confed_len() > 0;
    if cfg.always_compare_med
        || (cfg.med_confed && confed_internal)
        || same_neighbour_as(na, ea)
        || same_neighbour_confed(na, ea)
        || internal
    {
        let missing = if cfg.med_missing_as_worst {
            u32::MAX
        } else {
            0
        };
        let new_med = na.med().unwrap_or(missing);
        let exist_med = ea.med().unwrap_or(missing);
        match new_med.cmp(&exist_med) {
            Ordering::Less => return verdict(true, Reason::Med, false),
            Ordering::Greater => return verdict(false, Reason::Med, false),
            Ordering::Equal => {}
        }
    }

    // 7. eBGP over iBGP. Locally originated routes never get here against a learned one.
    let new_ebgp = !new.local && !new.peer.is_ibgp();
    let exist_ebgp = !exist.local && !exist.peer.is_ibgp();
    let new_ibgp = !new.local && new.peer.is_ibgp();
    let exist_ibgp = !exist.local && exist.peer.is_ibgp();
    if new_ebgp && exist_ibgp {
        return verdict(true, Reason::PeerType, false);
    }
    if exist_ebgp && new_ibgp {
        return verdict(false, Reason::PeerType, false);
    }

    // 8./9. IGP metric to the next hop: equal here (no next-hop tracking), and FRR compares
    //    cluster-list lengths at this point only with `maximum-paths ibgp N equal-cluster-length`.

    // 11. The multipath point: iBGP paths need identical AS_PATHs, eBGP paths the same
    //     neighbour AS, unless `bgp bestpath as-path multipath-relax`.
    let multipath_equal = if cfg.as_path_multipath_relax {
        true
    } else if new_ibgp {
        na.same_as_path(ea)
    } else {
        new.peer.remote_as == exist.peer.remote_as
    };

    // 12. Both eBGP: keep the path already selected (route flap damping of sorts), unless
    //     `bgp bestpath compare-routerid`.
    if !cfg.compare_router_id && new_ebgp && exist_ebgp {
        if new.selected {
            return verdict(true, Reason::OlderPath, multipath_equal);
        }
        if exist.selected {
            return verdict(false, Reason::OlderPath, multipath_equal);
        }
    }

    // 13. Router ID: ORIGINATOR_ID when present, else the peer's BGP identifier.
    let new_id = na.originator_id().unwrap_or(new.peer.router_id);
    let exist_id = ea.originator_id().unwrap_or(exist.peer.router_id);
    match new_id.cmp(&exist_id) {
        Ordering::Less => return verdict(true, Reason::RouterId, multipath_equal),
        Ordering::Greater => return verdict(false, Reason::RouterId, multipath_equal),
        Ordering::Equal => {}
    }

    // 14. CLUSTER_LIST length.
    match na.cluster_list_len().cmp(&ea.cluster_list_len()) {
        Ordering::Less => return verdict(true, Reason::ClusterLength, multipath_equal),
        Ordering::Greater => return verdict(false, Reason::ClusterLength, multipath_equal),
        Ordering::Equal => {}
    }

    // 15. Peer address; locally configured routes have none and lose here.
    if new.local {
        return verdict(false, Reason::LocallyConfigured, multipath_equal);
    }
    if exist.local {
        return verdict(true, Reason::LocallyConfigured, multipath_equal);
    }
    match new.peer.address.cmp(&exist.peer.address) {
        Ordering::Less => verdict(true, Reason::NeighborIp, multipath_equal),
        Ordering::Greater => verdict(false, Reason::NeighborIp, multipath_equal),
        Ordering::Equal => verdict(true, Reason::NothingLeft, multipath_equal),
    }
}
