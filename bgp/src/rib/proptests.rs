//! Property tests of the RIB: random announce/withdraw sequences over a few peers and
//! prefixes, checked against a naive reference that ranks all paths of a prefix with a sort
//! key (the decision process written as one lexicographic key, not as pairwise comparisons),
//! and against the replay of the emitted changes.
//!
//! Generated AS paths all start with the same neighbouring AS (or are empty), so MED is always
//! comparable and the decision process is a total order a sort can express.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cmp::Reverse;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};
use proptest::prelude::*;

use super::*;
use crate::packet::{AsPath, Origin, PathAttributes};

const LOCAL_AS: u32 = 64512;
const PEERS: usize = 5; // LOCAL, two iBGP, two eBGP

fn peer_infos() -> Vec<PeerInfo> {
    let mk = |last: u8, remote_as: u32, rid: u8| PeerInfo {
        address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)),
        router_id: Ipv4Addr::new(192, 0, 2, rid),
        remote_as,
        local_as: LOCAL_AS,
        weight: 0,
    };
    vec![
        mk(11, LOCAL_AS, 4),
        mk(12, LOCAL_AS, 3),
        mk(13, 65001, 2),
        mk(14, 65001, 1),
    ]
}

fn prefixes() -> Vec<Ipv4Net> {
    (0..4u8)
        .map(|i| Ipv4Net::new(Ipv4Addr::new(203, 0, 113, i * 16), 28).unwrap())
        .collect()
}

#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // test input, size irrelevant
enum Op {
    Announce {
        peer: usize,
        prefixes: Vec<usize>,
        attrs: RouteAttributes,
    },
    Withdraw {
        peer: usize,
        prefix: usize,
    },
    WithdrawAll {
        peer: usize,
    },
}

fn attrs_for(peer: usize) -> impl Strategy<Value = RouteAttributes> {
    let paths: Vec<Vec<u32>> = match peer {
        0 => vec![vec![]],
        1 | 2 => vec![vec![], vec![65001], vec![65001, 65003]],
        _ => vec![vec![65001], vec![65001, 65002]],
    };
    (
        prop::sample::select(paths),
        prop::sample::select(vec![None, Some(100u32), Some(200)]),
        prop::sample::select(vec![None, Some(0u32), Some(5)]),
        prop::bool::ANY,
        prop::sample::select(vec![None, Some(Ipv4Addr::new(1, 1, 1, 1))]),
        0usize..2,
        1u8..4,
    )
        .prop_map(|(path, lp, med, igp, originator, clusters, nh)| {
            RouteAttributes::new(
                PathAttributes {
                    origin: if igp { Origin::Igp } else { Origin::Incomplete },
                    as_path: AsPath::from_sequence(path),
                    local_pref: lp,
                    med,
                    originator_id: originator,
                    cluster_list: vec![Ipv4Addr::new(9, 9, 9, 9); clusters],
                    ..PathAttributes::default()
                },
                IpAddr::V4(Ipv4Addr::new(10, 9, 0, nh)),
            )
        })
}

fn op() -> impl Strategy<Value = Op> {
    let announce = (0..PEERS).prop_flat_map(|peer| {
        (prop::collection::vec(0usize..4, 1..3), attrs_for(peer)).prop_map(
            move |(prefixes, attrs)| Op::Announce {
                peer,
                prefixes,
                attrs,
            },
        )
    });
    prop_oneof![
        6 => announce,
        3 => (0..PEERS, 0usize..4).prop_map(|(peer, prefix)| Op::Withdraw { peer, prefix }),
        1 => (1..PEERS).prop_map(|peer| Op::WithdrawAll { peer }),
    ]
}

/// The naive model: per prefix, (peer, attributes) in arrival order and the selected peer.
#[derive(Default)]
struct Model {
    paths: HashMap<usize, Vec<(usize, RouteAttributes)>>,
    selected: HashMap<usize, usize>,
}

type Key = (
    Reverse<u32>,
    Reverse<u32>,
    bool,
    usize,
    Origin,
    u32,
    bool,
    bool,
    Ipv4Addr,
    usize,
    IpAddr,
);

fn info(peers: &[PeerInfo], cfg: &DecisionConfig, peer: usize) -> PeerInfo {
    if peer == 0 {
        Shared::local_info(cfg)
    } else {
        peers[peer - 1].clone()
    }
}

fn key(
    peers: &[PeerInfo],
    cfg: &DecisionConfig,
    peer: usize,
    a: &RouteAttributes,
    selected: bool,
) -> Key {
    let p = info(peers, cfg, peer);
    let local = peer == 0;
    let ebgp = !local && !p.is_ibgp();
    (
        Reverse(p.weight),
        Reverse(a.attrs.local_pref.unwrap_or(100)),
        !local,
        a.attrs.as_path.path_len(),
        a.attrs.origin,
        a.attrs.med.unwrap_or(0),
        !ebgp,
        !(ebgp && selected),
        a.attrs.originator_id.unwrap_or(p.router_id),
        a.attrs.cluster_list.len(),
        p.address,
    )
}

impl Model {
    /// Reference best peer and next hops of a prefix.
    fn reference(
        &self,
        peers: &[PeerInfo],
        cfg: &DecisionConfig,
        prefix: usize,
    ) -> Option<(usize, Vec<IpAddr>)> {
        let paths = self.paths.get(&prefix)?;
        let selected = self.selected.get(&prefix).copied();
        let keyed: Vec<(Key, usize, &RouteAttributes)> = paths
            .iter()
            .map(|(peer, a)| (key(peers, cfg, *peer, a, selected == Some(*peer)), *peer, a))
            .collect();
        let (best_key, best_peer, best_attrs) = keyed.iter().min_by_key(|(k, _, _)| *k)?;
        let best_info = info(peers, cfg, *best_peer);
        let mut candidates: Vec<(IpAddr, IpAddr)> = keyed
            .iter()
            .filter(|(k, peer, a)| {
                let p = info(peers, cfg, *peer);
                peer != best_peer
                    && a.next_hop != best_attrs.next_hop
                    && (k.0, k.1, k.2, k.3, k.4, k.5, k.6)
                        == (
                            best_key.0, best_key.1, best_key.2, best_key.3, best_key.4, best_key.5,
                            best_key.6,
                        )
                    && if p.is_ibgp() {
                        a.attrs.as_path == best_attrs.attrs.as_path
                    } else {
                        p.remote_as == best_info.remote_as
                    }
            })
            .map(|(_, peer, a)| (a.next_hop, info(peers, cfg, *peer).address))
            .collect();
        candidates.sort();
        let max = if *best_peer != 0 && best_info.is_ibgp() {
            cfg.max_paths_ibgp
        } else {
            cfg.max_paths_ebgp
        };
        let mut next_hops = vec![best_attrs.next_hop];
        for (nh, _) in candidates {
            if next_hops.len() >= usize::from(max) {
                break;
            }
            if !next_hops.contains(&nh) {
                next_hops.push(nh);
            }
        }
        next_hops[1..].sort();
        Some((*best_peer, next_hops))
    }

    fn touch(&mut self, peers: &[PeerInfo], cfg: &DecisionConfig, prefix: usize) {
        match self.reference(peers, cfg, prefix) {
            Some((best, _)) => {
                self.selected.insert(prefix, best);
            }
            None => {
                self.selected.remove(&prefix);
                self.paths.remove(&prefix);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn best_paths_match_the_reference_and_changes_replay_to_the_final_state(
        ops in prop::collection::vec(op(), 1..40),
        max_ebgp in 1u16..4,
        max_ibgp in 1u16..4,
    ) {
        let cfg = DecisionConfig {
            max_paths_ebgp: max_ebgp,
            max_paths_ibgp: max_ibgp,
            ..DecisionConfig::new(Ipv4Addr::new(10, 0, 0, 1), LOCAL_AS)
        };
        let infos = peer_infos();
        let mut rib = Rib::new(cfg.clone());
        let mut ids = vec![PeerId::LOCAL];
        for i in &infos {
            ids.push(rib.add_peer(i.clone()).unwrap());
        }
        let nets = prefixes();
        let mut model = Model::default();
        let mut changes = Vec::new();
        for op in &ops {
            match op {
                Op::Announce { peer, prefixes, attrs } => {
                    let shared = rib.intern(attrs.clone());
                    let ps: Vec<Ipv4Net> = prefixes.iter().map(|&i| nets[i]).collect();
                    rib.announce(ids[*peer], &ps, &shared, &mut changes).unwrap();
                    for &i in prefixes {
                        let list = model.paths.entry(i).or_default();
                        match list.iter_mut().find(|(p, _)| p == peer) {
                            Some(slot) => slot.1 = attrs.clone(),
                            None => list.push((*peer, attrs.clone())),
                        }
                        model.touch(&infos, &cfg, i);
                    }
                }
                Op::Withdraw { peer, prefix } => {
                    rib.withdraw(ids[*peer], &[nets[*prefix]], &mut changes).unwrap();
                    if let Some(list) = model.paths.get_mut(prefix) {
                        let before = list.len();
                        list.retain(|(p, _)| p != peer);
                        if list.len() != before {
                            model.touch(&infos, &cfg, *prefix);
                        }
                    }
                }
                Op::WithdrawAll { peer } => {
                    rib.withdraw_all(ids[*peer], &mut changes);
                    for i in 0..nets.len() {
                        if let Some(list) = model.paths.get_mut(&i) {
                            let before = list.len();
                            list.retain(|(p, _)| p != peer);
                            if list.len() != before {
                                model.touch(&infos, &cfg, i);
                            }
                        }
                    }
                }
            }
            for (i, net) in nets.iter().enumerate() {
                let got = rib.best((*net).into()).map(|s| {
                    let peer = ids.iter().position(|id| *id == s.peer).unwrap();
                    (peer, s.next_hops.to_vec())
                });
                prop_assert_eq!(got, model.reference(&infos, &cfg, i), "prefix {} after {:?}", net, op);
            }
        }
        // Replaying the changes on an empty map gives the final Loc-RIB.
        let mut replay: HashMap<IpNet, Selected> = HashMap::new();
        for c in &changes {
            match &c.best {
                Some(s) => { replay.insert(c.prefix, s.clone()); }
                None => { replay.remove(&c.prefix); }
            }
        }
        for net in &nets {
            let best = rib.best((*net).into());
            prop_assert_eq!(replay.get(&IpNet::from(*net)), best.as_ref());
        }
        // Consecutive changes of a prefix always differ (nothing is reported twice).
        let mut last: HashMap<IpNet, Option<Selected>> = HashMap::new();
        for c in &changes {
            if let Some(prev) = last.insert(c.prefix, c.best.clone()) {
                prop_assert_ne!(prev, c.best.clone());
            }
        }
        // PfxRcd agrees with the model.
        for (peer, id) in ids.iter().enumerate() {
            let expected = model.paths.values().filter(|l| l.iter().any(|(p, _)| *p == peer)).count();
            prop_assert_eq!(rib.received_count(*id, Family::Ipv4Unicast), expected);
        }
    }
}

fn arb_attrs() -> impl Strategy<Value = PathAttributes> {
    use crate::packet::{
        Aggregator, AsSegment, Community, ExtCommunity, LargeCommunity, RawAttribute, SegmentType,
    };
    let segment = (
        prop::sample::select(vec![
            SegmentType::Sequence,
            SegmentType::Set,
            SegmentType::ConfedSequence,
            SegmentType::ConfedSet,
        ]),
        prop::collection::vec(any::<u32>(), 1..6),
    )
        .prop_map(|(kind, asns)| AsSegment { kind, asns });
    (
        (
            prop::collection::vec(segment, 0..4),
            prop::option::of(any::<u32>()),
            prop::option::of(any::<u32>()),
            prop::option::of(any::<u32>()),
            any::<bool>(),
            prop::option::of((any::<u32>(), any::<u32>())),
        ),
        (
            prop::collection::vec(any::<u32>(), 0..4),
            prop::collection::vec(any::<[u8; 8]>(), 0..3),
            prop::collection::vec((any::<u32>(), any::<u32>(), any::<u32>()), 0..3),
            prop::option::of(any::<u32>()),
            prop::collection::vec(any::<u32>(), 0..3),
            prop::collection::vec(
                (
                    any::<u8>(),
                    any::<u8>(),
                    prop::collection::vec(any::<u8>(), 0..9),
                ),
                0..3,
            ),
            prop::sample::select(vec![Origin::Igp, Origin::Egp, Origin::Incomplete]),
        ),
    )
        .prop_map(
            |(
                (segments, nh, med, lp, atomic, aggr),
                (comms, ext, large, orig, clusters, unknown, origin),
            )| {
                PathAttributes {
                    origin,
                    as_path: AsPath { segments },
                    next_hop: nh.map(Ipv4Addr::from),
                    med,
                    local_pref: lp,
                    atomic_aggregate: atomic,
                    aggregator: aggr.map(|(asn, a)| Aggregator {
                        asn,
                        address: Ipv4Addr::from(a),
                    }),
                    communities: comms.into_iter().map(Community).collect(),
                    ext_communities: ext.into_iter().map(ExtCommunity).collect(),
                    large_communities: large
                        .into_iter()
                        .map(|(global, local1, local2)| LargeCommunity {
                            global,
                            local1,
                            local2,
                        })
                        .collect(),
                    originator_id: orig.map(Ipv4Addr::from),
                    cluster_list: clusters.into_iter().map(Ipv4Addr::from).collect(),
                    unknown: unknown
                        .into_iter()
                        .map(|(flags, type_code, value)| RawAttribute {
                            flags,
                            type_code,
                            value,
                        })
                        .collect(),
                }
            },
        )
}

proptest! {
    #[test]
    fn packed_attributes_decode_to_what_was_packed(a in arb_attrs(), b in arb_attrs()) {
        let nh = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let (pa, pb) = (SharedAttributes::new(&a, nh), SharedAttributes::new(&b, nh));
        prop_assert_eq!(&pa.attrs(), &a);
        prop_assert_eq!(pa.as_path(), a.as_path.clone());
        prop_assert_eq!(pa.as_path_len(), a.as_path.path_len());
        prop_assert_eq!(pa.as_path_len_uncached(), a.as_path.path_len());
        prop_assert_eq!(pa.llgr_stale(), a.communities.contains(&LLGR_STALE));
        prop_assert_eq!(pa.cluster_list_len(), a.cluster_list.len());
        prop_assert_eq!(pa.cluster_list(), a.cluster_list.clone());
        prop_assert_eq!(pa.local_pref(), a.local_pref);
        prop_assert_eq!(pa.med(), a.med);
        prop_assert_eq!(pa.originator_id(), a.originator_id);
        prop_assert_eq!(pa.next_hop(), nh);
        for c in &a.communities {
            prop_assert!(pa.has_community(*c));
        }
        // Canonical: equal stored forms exactly when the attributes are equal.
        prop_assert_eq!(pa == pb, a == b);
        prop_assert_eq!(pa.same_as_path(&pb), a.as_path == b.as_path);
    }
}
