//! Unit tests of the RIB: one table row per decision step, multipath grouping, change
//! emission, withdrawals, interning and loop detection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::table::Entry;
use super::*;
use crate::packet::{AsPath, AsSegment, Community, Origin, PathAttributes, SegmentType};

const LOCAL_AS: u32 = 64512;

fn config() -> DecisionConfig {
    DecisionConfig::new(Ipv4Addr::new(10, 192, 0, 7), LOCAL_AS)
}

fn v4(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn peer(address: &str, remote_as: u32) -> PeerInfo {
    let router_id = match ip(address) {
        IpAddr::V4(a) => a,
        IpAddr::V6(_) => Ipv4Addr::new(192, 0, 2, 99),
    };
    PeerInfo {
        address: ip(address),
        router_id,
        remote_as,
        local_as: LOCAL_AS,
        weight: 0,
    }
}

/// MetalLB-like attributes: ORIGIN incomplete, empty AS_PATH.
fn base() -> PathAttributes {
    PathAttributes {
        origin: Origin::Incomplete,
        ..PathAttributes::default()
    }
}

fn with(f: impl FnOnce(&mut PathAttributes)) -> PathAttributes {
    let mut a = base();
    f(&mut a);
    a
}

fn seq(asns: &[u32]) -> AsPath {
    AsPath::from_sequence(asns.iter().copied())
}

fn attrs(rib: &mut Rib, next_hop: &str, a: PathAttributes) -> Arc<SharedAttributes> {
    rib.intern(RouteAttributes::new(a, ip(next_hop)))
}

/// How one side of a decision-table row is set up.
struct Side {
    peer: PeerInfo,
    attrs: PathAttributes,
    local: bool,
}

fn side(peer_info: PeerInfo, attrs: PathAttributes) -> Side {
    Side {
        peer: peer_info,
        attrs,
        local: false,
    }
}

/// Announces `a` then `b` for one prefix and returns (best is a?, reason).
fn decide(cfg: DecisionConfig, a: Side, b: Side) -> (bool, Reason) {
    let mut rib = Rib::new(cfg);
    let mut changes = Vec::new();
    let prefix = v4("203.0.113.0/24");
    let mut ids = Vec::new();
    for s in [&a, &b] {
        let id = if s.local {
            PeerId::LOCAL
        } else {
            rib.add_peer(s.peer.clone()).unwrap()
        };
        let nh = match s.peer.address {
            IpAddr::V4(x) if !x.is_unspecified() => s.peer.address,
            _ => ip("0.0.0.0"),
        };
        let shared = rib.intern(RouteAttributes::new(s.attrs.clone(), nh));
        rib.announce(id, &[prefix], &shared, &mut changes).unwrap();
        ids.push(id);
    }
    let best = rib.best(prefix.into()).unwrap();
    let reason = rib.paths(prefix.into())[0].reason.unwrap();
    (best.peer == ids[0], reason)
}

#[test]
fn each_decision_step_picks_the_expected_winner_and_reason() {
    let ib = |a: &str| peer(a, LOCAL_AS);
    let eb = |a: &str, asn: u32| peer(a, asn);
    let heavy = PeerInfo {
        weight: 100,
        ..ib("10.0.0.9")
    };
    let local_weight = PeerInfo {
        weight: LOCAL_WEIGHT,
        ..ib("10.0.0.1")
    };
    let cfg = config;
    let always_med = DecisionConfig {
        always_compare_med: true,
        ..config()
    };
    let compare_rid = DecisionConfig {
        compare_router_id: true,
        ..config()
    };
    // (name, config, first announced, second announced, first wins?, reason)
    let rows: Vec<(&str, DecisionConfig, Side, Side, bool, Reason)> = vec![
        (
            "higher weight wins even announced first",
            cfg(),
            side(heavy.clone(), base()),
            side(ib("10.0.0.1"), base()),
            true,
            Reason::Weight,
        ),
        (
            "higher local-pref wins",
            cfg(),
            side(ib("10.0.0.9"), with(|a| a.local_pref = Some(200))),
            side(ib("10.0.0.1"), with(|a| a.local_pref = Some(100))),
            true,
            Reason::LocalPref,
        ),
        (
            "missing local-pref counts as 100, beating 99",
            cfg(),
            side(ib("10.0.0.9"), base()),
            side(ib("10.0.0.1"), with(|a| a.local_pref = Some(99))),
            true,
            Reason::LocalPref,
        ),
        (
            "locally originated beats learned at equal weight",
            cfg(),
            side(local_weight.clone(), base()),
            Side {
                peer: Shared::local_info(&config()),
                attrs: base(),
                local: true,
            },
            false,
            Reason::LocalRoute,
        ),
        (
            "shorter AS_PATH wins",
            cfg(),
            side(eb("10.0.0.9", 65001), with(|a| a.as_path = seq(&[65001]))),
            side(
                eb("10.0.0.1", 65001),
                with(|a| a.as_path = seq(&[65001, 65002])),
            ),
            true,
            Reason::AsPath,
        ),
        (
            "an AS_SET counts as one AS",
            cfg(),
            side(
                ib("10.0.0.9"),
                with(|a| {
                    a.as_path = AsPath {
                        segments: vec![
                            AsSegment {
                                kind: SegmentType::Sequence,
                                asns: vec![65001],
                            },
                            AsSegment {
                                kind: SegmentType::Set,
                                asns: vec![1, 2, 3],
                            },
                        ],
                    }
                }),
            ),
            side(
                ib("10.0.0.1"),
                with(|a| a.as_path = seq(&[65001, 65002, 65003])),
            ),
            true,
            Reason::AsPath,
        ),
        (
            "lower ORIGIN wins",
            cfg(),
            side(ib("10.0.0.9"), with(|a| a.origin = Origin::Igp)),
            side(ib("10.0.0.1"), with(|a| a.origin = Origin::Incomplete)),
            true,
            Reason::Origin,
        ),
        (
            "lower MED wins between paths from the same neighbour AS",
            cfg(),
            side(
                eb("10.0.0.9", 65001),
                with(|a| {
                    a.as_path = seq(&[65001]);
                    a.med = Some(10)
                }),
            ),
            side(
                eb("10.0.0.1", 65001),
                with(|a| {
                    a.as_path = seq(&[65001]);
                    a.med = Some(20)
                }),
            ),
            true,
            Reason::Med,
        ),
        (
            "a missing MED counts as 0",
            cfg(),
            side(eb("10.0.0.9", 65001), with(|a| a.as_path = seq(&[65001]))),
            side(
                eb("10.0.0.1", 65001),
                with(|a| {
                    a.as_path = seq(&[65001]);
                    a.med = Some(5)
                }),
            ),
            true,
            Reason::Med,
        ),
        (
            "MED is ignored between different neighbour ASes (router ID decides)",
            compare_rid.clone(),
            side(
                eb("10.0.0.9", 65001),
                with(|a| {
                    a.as_path = seq(&[65001]);
                    a.med = Some(10)
                }),
            ),
            side(
                eb("10.0.0.1", 65002),
                with(|a| {
                    a.as_path = seq(&[65002]);
                    a.med = Some(20)
                }),
            ),
            false,
            Reason::RouterId,
        ),
        (
            "always-compare-med compares MED across neighbour ASes",
            always_med,
            side(
                eb("10.0.0.9", 65001),
                with(|a| {
                    a.as_path = seq(&[65001]);
                    a.med = Some(10)
                }),
            ),
            side(
                eb("10.0.0.1", 65002),
                with(|a| {
                    a.as_path = seq(&[65002]);
                    a.med = Some(20)
                }),
            ),
            true,
            Reason::Med,
        ),
        (
            "eBGP beats iBGP",
            cfg(),
            side(eb("10.0.0.9", 65001), with(|a| a.as_path = seq(&[65001]))),
            side(ib("10.0.0.1"), with(|a| a.as_path = seq(&[65001]))),
            true,
            Reason::PeerType,
        ),
        (
            "between eBGP paths the one already selected stays (older path)",
            cfg(),
            side(eb("10.0.0.9", 65001), with(|a| a.as_path = seq(&[65001]))),
            side(eb("10.0.0.1", 65001), with(|a| a.as_path = seq(&[65001]))),
            true,
            Reason::OlderPath,
        ),
        (
            "compare-routerid skips the older-path step",
            compare_rid,
            side(eb("10.0.0.9", 65001), with(|a| a.as_path = seq(&[65001]))),
            side(eb("10.0.0.1", 65001), with(|a| a.as_path = seq(&[65001]))),
            false,
            Reason::RouterId,
        ),
        (
            "lower router ID wins between iBGP paths",
            cfg(),
            side(ib("10.0.0.9"), base()),
            side(ib("10.0.0.1"), base()),
            false,
            Reason::RouterId,
        ),
        (
            "ORIGINATOR_ID stands in for the router ID",
            cfg(),
            side(
                ib("10.0.0.9"),
                with(|a| a.originator_id = Some(Ipv4Addr::new(1, 1, 1, 1))),
            ),
            side(ib("10.0.0.1"), base()),
            true,
            Reason::RouterId,
        ),
        (
            "shorter CLUSTER_LIST wins",
            cfg(),
            side(
                ib("10.0.0.9"),
                with(|a| {
                    a.originator_id = Some(Ipv4Addr::new(1, 1, 1, 1));
                    a.cluster_list = vec![Ipv4Addr::new(2, 2, 2, 2)];
                }),
            ),
            side(
                ib("10.0.0.1"),
                with(|a| {
                    a.originator_id = Some(Ipv4Addr::new(1, 1, 1, 1));
                    a.cluster_list = vec![Ipv4Addr::new(2, 2, 2, 2), Ipv4Addr::new(3, 3, 3, 3)];
                }),
            ),
            true,
            Reason::ClusterLength,
        ),
        (
            "lower peer address breaks the last tie",
            cfg(),
            side(
                PeerInfo {
                    router_id: Ipv4Addr::new(5, 5, 5, 5),
                    ..ib("10.0.0.9")
                },
                base(),
            ),
            side(
                PeerInfo {
                    router_id: Ipv4Addr::new(5, 5, 5, 5),
                    ..ib("10.0.0.1")
                },
                base(),
            ),
            false,
            Reason::NeighborIp,
        ),
    ];
    for (name, cfg, a, b, first_wins, reason) in rows {
        assert_eq!(decide(cfg, a, b), (first_wins, reason), "{name}");
    }
}

#[test]
fn llgr_stale_paths_lose_to_any_other() {
    let mut rib = Rib::new(config());
    let mut ch = Vec::new();
    let p1 = rib.add_peer(peer("10.0.0.1", LOCAL_AS)).unwrap();
    let p2 = rib.add_peer(peer("10.0.0.2", LOCAL_AS)).unwrap();
    let stale = attrs(
        &mut rib,
        "10.0.0.1",
        with(|a| a.communities = vec![LLGR_STALE]),
    );
    let worse = attrs(&mut rib, "10.0.0.2", with(|a| a.local_pref = Some(1)));
    let prefix = v4("203.0.113.0/24");
    rib.announce(p1, &[prefix], &stale, &mut ch).unwrap();
    rib.announce(p2, &[prefix], &worse, &mut ch).unwrap();
    assert_eq!(rib.best(prefix.into()).unwrap().peer, p2);
}

/// The tutorial: two MetalLB speakers (iBGP) announce 198.51.100.0/32, node1 first.
fn tutorial(
    max_paths_ibgp: u16,
    local_pref: Option<u32>,
) -> (Rib, PeerId, PeerId, Vec<BestChange>) {
    let mut rib = Rib::new(DecisionConfig {
        max_paths_ibgp,
        ..config()
    });
    let mut ch = Vec::new();
    let n1 = rib.add_peer(peer("10.192.0.3", LOCAL_AS)).unwrap();
    let n2 = rib.add_peer(peer("10.192.0.4", LOCAL_AS)).unwrap();
    let prefix = v4("198.51.100.0/32");
    for (id, nh) in [(n1, "10.192.0.3"), (n2, "10.192.0.4")] {
        let a = attrs(&mut rib, nh, with(|a| a.local_pref = local_pref));
        rib.announce(id, &[prefix], &a, &mut ch).unwrap();
    }
    (rib, n1, n2, ch)
}

#[test]
fn tutorial_with_maximum_paths_ibgp_1_has_one_best_and_one_plain_valid_path() {
    for lp in [Some(100), Some(0)] {
        let (rib, n1, n2, _) = tutorial(1, lp);
        let paths = rib.paths_newest_first(net("198.51.100.0/32"));
        assert_eq!(paths.len(), 2);
        // FRR order: the newer path (node2) first.
        assert_eq!(
            (paths[0].peer, paths[0].best, paths[0].multipath),
            (n2, false, false)
        );
        assert_eq!(
            (paths[1].peer, paths[1].best, paths[1].multipath),
            (n1, true, false)
        );
        assert_eq!(paths[1].reason, Some(Reason::RouterId));
        assert_eq!(paths[1].reason.unwrap().to_string(), "Router ID");
        let best = rib.best(net("198.51.100.0/32")).unwrap();
        assert_eq!(best.next_hops.as_slice(), &[ip("10.192.0.3")]);
    }
}

#[test]
fn tutorial_with_maximum_paths_ibgp_2_and_the_default_puts_both_in_the_multipath_group() {
    assert_eq!(config().max_paths_ibgp, DEFAULT_MAX_PATHS);
    for max in [2, DEFAULT_MAX_PATHS] {
        let (rib, n1, n2, changes) = tutorial(max, Some(0));
        let paths = rib.paths(net("198.51.100.0/32"));
        assert_eq!(
            (paths[0].peer, paths[0].best, paths[0].multipath),
            (n1, true, true)
        );
        assert_eq!(
            (paths[1].peer, paths[1].best, paths[1].multipath),
            (n2, false, true)
        );
        assert_eq!(paths[0].reason, Some(Reason::RouterId));
        let best = rib.best(net("198.51.100.0/32")).unwrap();
        assert_eq!(
            best.next_hops.as_slice(),
            &[ip("10.192.0.3"), ip("10.192.0.4")]
        );
        // First path, then the grown multipath set.
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[1].best.as_ref().unwrap().next_hops.len(), 2);
    }
}

#[test]
fn ebgp_multipath_needs_the_same_neighbour_as_and_respects_maximum_paths() {
    for (max, expected) in [(1u16, 1usize), (2, 2), (3, 3)] {
        let mut rib = Rib::new(DecisionConfig {
            max_paths_ebgp: max,
            ..config()
        });
        let mut ch = Vec::new();
        let prefix = v4("203.0.113.0/24");
        for last in 1..=3u8 {
            let addr = format!("10.0.0.{last}");
            let id = rib.add_peer(peer(&addr, 65001)).unwrap();
            let a = attrs(
                &mut rib,
                &addr,
                with(|a| a.as_path = seq(&[65001, 65100 + u32::from(last)])),
            );
            rib.announce(id, &[prefix], &a, &mut ch).unwrap();
        }
        // A fourth eBGP peer from another AS with an equally long path is not a member.
        let other = rib.add_peer(peer("10.0.0.4", 65002)).unwrap();
        let a = attrs(
            &mut rib,
            "10.0.0.4",
            with(|a| a.as_path = seq(&[65002, 65100])),
        );
        rib.announce(other, &[prefix], &a, &mut ch).unwrap();
        let best = rib.best(prefix.into()).unwrap();
        assert_eq!(best.next_hops.len(), expected, "maximum-paths {max}");
        assert!(!best.next_hops.contains(&ip("10.0.0.4")));
    }
}

#[test]
fn ibgp_multipath_needs_identical_as_paths() {
    let mut rib = Rib::new(config());
    let mut ch = Vec::new();
    let prefix = v4("203.0.113.0/24");
    let p1 = rib.add_peer(peer("10.0.0.1", LOCAL_AS)).unwrap();
    let p2 = rib.add_peer(peer("10.0.0.2", LOCAL_AS)).unwrap();
    let a1 = attrs(
        &mut rib,
        "10.0.0.1",
        with(|a| a.as_path = seq(&[65001, 65010])),
    );
    let a2 = attrs(
        &mut rib,
        "10.0.0.2",
        with(|a| a.as_path = seq(&[65001, 65020])),
    );
    rib.announce(p1, &[prefix], &a1, &mut ch).unwrap();
    rib.announce(p2, &[prefix], &a2, &mut ch).unwrap();
    assert_eq!(rib.best(prefix.into()).unwrap().next_hops.len(), 1);
    rib.set_config(
        DecisionConfig {
            as_path_multipath_relax: true,
            ..config()
        },
        &mut ch,
    );
    assert_eq!(rib.best(prefix.into()).unwrap().next_hops.len(), 2);
}

#[test]
fn paths_with_the_best_paths_next_hop_do_not_join_the_group() {
    let mut rib = Rib::new(config());
    let mut ch = Vec::new();
    let prefix = v4("203.0.113.0/24");
    let p1 = rib.add_peer(peer("10.0.0.1", LOCAL_AS)).unwrap();
    let p2 = rib.add_peer(peer("10.0.0.2", LOCAL_AS)).unwrap();
    let same = attrs(&mut rib, "10.9.9.9", base());
    rib.announce(p1, &[prefix], &same, &mut ch).unwrap();
    rib.announce(p2, &[prefix], &same, &mut ch).unwrap();
    let best = rib.best(prefix.into()).unwrap();
    assert_eq!(best.next_hops.as_slice(), &[ip("10.9.9.9")]);
    assert!(rib.paths(prefix.into()).iter().all(|p| !p.multipath));
}

#[test]
fn withdrawing_the_best_path_promotes_the_next_one() {
    let (mut rib, n1, n2, _) = tutorial(1, Some(100));
    let mut ch = Vec::new();
    rib.withdraw(n1, &[v4("198.51.100.0/32")], &mut ch).unwrap();
    assert_eq!(ch.len(), 1);
    let best = ch[0].best.as_ref().unwrap();
    assert_eq!(
        (best.peer, best.next_hops.as_slice()),
        (n2, &[ip("10.192.0.4")][..])
    );
    let paths = rib.paths(net("198.51.100.0/32"));
    assert_eq!(paths.len(), 1);
    assert_eq!(paths[0].reason, Some(Reason::First));
    assert_eq!(rib.received_count(n1, Family::Ipv4Unicast), 0);
    assert_eq!(rib.received_count(n2, Family::Ipv4Unicast), 1);
    ch.clear();
    rib.withdraw(n2, &[v4("198.51.100.0/32")], &mut ch).unwrap();
    assert_eq!(
        ch,
        vec![BestChange {
            prefix: net("198.51.100.0/32"),
            best: None
        }]
    );
    assert_eq!(rib.stats().prefixes, 0);
}

#[test]
fn withdraw_all_removes_every_path_of_the_peer_and_reports_each_prefix() {
    let mut rib = Rib::new(config());
    let mut ch = Vec::new();
    let p1 = rib.add_peer(peer("10.0.0.1", LOCAL_AS)).unwrap();
    let p2 = rib.add_peer(peer("10.0.0.2", LOCAL_AS)).unwrap();
    let a1 = attrs(&mut rib, "10.0.0.1", base());
    let a2 = attrs(&mut rib, "10.0.0.2", base());
    let only_p1: Vec<Ipv4Net> = (0..50u32)
        .map(|i| Ipv4Net::new(Ipv4Addr::from(0x0a01_0000 + (i << 8)), 24).unwrap())
        .collect();
    let both: Vec<Ipv4Net> = (0..50u32)
        .map(|i| Ipv4Net::new(Ipv4Addr::from(0x0a02_0000 + (i << 8)), 24).unwrap())
        .collect();
    let v6: Vec<Ipv6Net> = vec!["2001:db8::/48".parse().unwrap()];
    let a1v6 = attrs(&mut rib, "2001:db8::1", base());
    rib.announce(p1, &only_p1, &a1, &mut ch).unwrap();
    rib.announce(p1, &both, &a1, &mut ch).unwrap();
    rib.announce(p1, &v6, &a1v6, &mut ch).unwrap();
    rib.announce(p2, &both, &a2, &mut ch).unwrap();
    assert_eq!(rib.received_count(p1, Family::Ipv4Unicast), 100);
    assert_eq!(rib.received_count(p1, Family::Ipv6Unicast), 1);
    assert_eq!(rib.adj_rib_in(p1).count(), 101);
    ch.clear();
    rib.withdraw_all(p1, &mut ch);
    assert_eq!(rib.received_count(p1, Family::Ipv4Unicast), 0);
    assert_eq!(rib.adj_rib_in(p1).count(), 0);
    assert_eq!(rib.prefix_count(Family::Ipv4Unicast), 50);
    assert_eq!(rib.prefix_count(Family::Ipv6Unicast), 0);
    // 50 removals + 1 IPv6 removal + 50 multipath groups shrinking to p2 alone.
    assert_eq!(ch.iter().filter(|c| c.best.is_none()).count(), 51);
    assert_eq!(ch.len(), 101);
    for p in &both {
        assert_eq!(rib.best((*p).into()).unwrap().peer, p2);
    }
    for p in &only_p1 {
        assert!(rib.best((*p).into()).is_none());
    }
}

#[test]
fn changes_are_emitted_only_when_the_selection_changes() {
    let mut rib = Rib::new(DecisionConfig {
        max_paths_ibgp: 1,
        ..config()
    });
    let mut ch = Vec::new();
    let prefix = v4("203.0.113.0/24");
    let p1 = rib.add_peer(peer("10.0.0.1", LOCAL_AS)).unwrap();
    let p2 = rib.add_peer(peer("10.0.0.2", LOCAL_AS)).unwrap();
    let a1 = attrs(&mut rib, "10.0.0.1", base());
    rib.announce(p1, &[prefix], &a1, &mut ch).unwrap();
    assert_eq!(ch.len(), 1, "a new prefix is a change");
    ch.clear();

    let again = attrs(&mut rib, "10.0.0.1", base());
    rib.announce(p1, &[prefix], &again, &mut ch).unwrap();
    assert!(ch.is_empty(), "identical re-announcement");

    let a2 = attrs(&mut rib, "10.0.0.2", base());
    rib.announce(p2, &[prefix], &a2, &mut ch).unwrap();
    assert!(
        ch.is_empty(),
        "a losing path without multipath changes nothing"
    );

    let a2b = attrs(&mut rib, "10.0.0.2", with(|a| a.med = Some(7)));
    rib.announce(p2, &[prefix], &a2b, &mut ch).unwrap();
    assert!(
        ch.is_empty(),
        "new attributes on a losing path change nothing"
    );

    let a1b = attrs(
        &mut rib,
        "10.0.0.1",
        with(|a| a.communities = vec![Community::new(1, 2)]),
    );
    rib.announce(p1, &[prefix], &a1b, &mut ch).unwrap();
    assert_eq!(ch.len(), 1, "new attributes on the best path are a change");
    assert!(Arc::ptr_eq(&ch[0].best.as_ref().unwrap().attrs, &a1b));
    ch.clear();

    rib.withdraw(p2, &[prefix], &mut ch).unwrap();
    assert!(ch.is_empty(), "withdrawing a losing path changes nothing");
    rib.withdraw(p2, &[prefix], &mut ch).unwrap();
    rib.withdraw(p1, &[v4("192.0.2.0/24")], &mut ch).unwrap();
    assert!(
        ch.is_empty(),
        "withdrawing what is not there changes nothing"
    );

    // With multipath, a member leaving shrinks the next-hop set: a change.
    rib.set_config(config(), &mut ch);
    rib.announce(p2, &[prefix], &a2, &mut ch).unwrap();
    assert_eq!(rib.best(prefix.into()).unwrap().next_hops.len(), 2);
    ch.clear();
    rib.withdraw(p2, &[prefix], &mut ch).unwrap();
    assert_eq!(ch.len(), 1);
    assert_eq!(
        ch[0].best.as_ref().unwrap().next_hops.as_slice(),
        &[ip("10.0.0.1")]
    );
}

#[test]
fn set_config_reports_groups_that_grow_or_shrink() {
    let (mut rib, _, _, _) = tutorial(1, Some(0));
    let mut ch = Vec::new();
    rib.set_config(
        DecisionConfig {
            max_paths_ibgp: 2,
            ..config()
        },
        &mut ch,
    );
    assert_eq!(ch.len(), 1);
    assert_eq!(ch[0].best.as_ref().unwrap().next_hops.len(), 2);
    ch.clear();
    rib.set_config(
        DecisionConfig {
            max_paths_ibgp: 2,
            ..config()
        },
        &mut ch,
    );
    assert!(ch.is_empty());
}

#[test]
fn a_weight_change_reruns_the_selection() {
    let (mut rib, n1, n2, _) = tutorial(1, Some(0));
    let mut ch = Vec::new();
    let info = PeerInfo {
        weight: 10,
        ..rib.peer_info(n2).unwrap().clone()
    };
    rib.update_peer_info(n2, info, &mut ch).unwrap();
    assert_eq!(ch.len(), 1);
    assert_eq!(rib.best(net("198.51.100.0/32")).unwrap().peer, n2);
    assert_ne!(n1, n2);
    assert_eq!(
        rib.update_peer_info(PeerId::LOCAL, peer("10.0.0.1", 1), &mut ch),
        Err(RibError::LocalPeer)
    );
}

#[test]
fn interned_sets_are_shared_and_collected_when_unused() {
    let mut rib = Rib::new(config());
    let mut ch = Vec::new();
    let p1 = rib.add_peer(peer("10.0.0.1", LOCAL_AS)).unwrap();
    let a = attrs(&mut rib, "10.0.0.1", base());
    let b = attrs(&mut rib, "10.0.0.1", base());
    assert!(Arc::ptr_eq(&a, &b), "equal sets share one allocation");
    drop(b);
    let prefixes = [v4("203.0.113.0/24"), v4("198.51.100.0/24")];
    rib.announce(p1, &prefixes, &a, &mut ch).unwrap();
    assert_eq!(rib.stats().attribute_sets, 1);
    drop(a);
    ch.clear();
    // Replacing the set on both prefixes frees it as soon as its last path goes.
    let c = attrs(&mut rib, "10.0.0.1", with(|a| a.med = Some(1)));
    rib.announce(p1, &prefixes, &c, &mut ch).unwrap();
    assert_eq!(rib.stats().attribute_sets, 1);
    // A set interned but never used, and one whose caller kept a clone, go at the next sweep.
    let unused = attrs(&mut rib, "10.0.0.1", with(|a| a.med = Some(2)));
    drop(unused);
    rib.withdraw(p1, &prefixes, &mut ch).unwrap();
    assert_eq!(rib.stats().attribute_sets, 2, "c is still held by the test");
    drop(c);
    rib.collect_garbage();
    assert_eq!(
        rib.stats().attribute_sets,
        1,
        "the reported changes still hold c"
    );
    ch.clear();
    rib.collect_garbage();
    assert_eq!(rib.stats().attribute_sets, 0);
}

#[test]
fn routes_with_our_as_originator_or_cluster_id_are_refused_and_withdraw_the_old_route() {
    let mut rib = Rib::new(config());
    let mut ch = Vec::new();
    let p1 = rib.add_peer(peer("10.0.0.1", 65001)).unwrap();
    let prefix = v4("203.0.113.0/24");
    let good = attrs(&mut rib, "10.0.0.1", with(|a| a.as_path = seq(&[65001])));
    rib.announce(p1, &[prefix], &good, &mut ch).unwrap();
    let our_id = config().router_id;
    let cases = [
        (
            with(|a| a.as_path = seq(&[65001, LOCAL_AS, 65003])),
            ImportError::AsPathLoop {
                asn: LOCAL_AS,
                path: seq(&[65001, LOCAL_AS, 65003]),
            },
        ),
        (
            with(|a| {
                a.as_path = seq(&[65001]);
                a.originator_id = Some(our_id)
            }),
            ImportError::OriginatorIsUs(our_id),
        ),
        (
            with(|a| {
                a.as_path = seq(&[65001]);
                a.cluster_list = vec![Ipv4Addr::new(1, 1, 1, 1), our_id]
            }),
            ImportError::ClusterLoop(our_id),
        ),
    ];
    for (a, expected) in cases {
        let shared = rib.intern(RouteAttributes::new(a, ip("10.0.0.1")));
        assert_eq!(rib.import_check(p1, &shared), Err(expected.clone()));
        assert_eq!(
            rib.import_check(PeerId::LOCAL, &shared),
            Ok(()),
            "local routes are not checked"
        );
        rib.announce(p1, &[prefix], &good, &mut ch).unwrap();
        ch.clear();
        let err = rib.announce(p1, &[prefix], &shared, &mut ch);
        assert_eq!(
            err,
            Err(RibError::Rejected {
                peer: p1,
                prefixes: 1,
                reason: expected
            })
        );
        assert!(
            rib.best(prefix.into()).is_none(),
            "the earlier route is withdrawn"
        );
        assert_eq!(ch.len(), 1);
    }
    // The session's local-as counts as ours too.
    let p2 = rib
        .add_peer(PeerInfo {
            local_as: 65500,
            ..peer("10.0.0.2", 65002)
        })
        .unwrap();
    let ra = rib.intern(RouteAttributes::new(
        with(|a| a.as_path = seq(&[65002, 65500])),
        ip("10.0.0.2"),
    ));
    assert!(matches!(
        rib.import_check(p2, &ra),
        Err(ImportError::AsPathLoop { asn: 65500, .. })
    ));
}

/// RFC 4271 §6.3: a next hop that is one of our addresses, or no unicast host address at
/// all, makes the route unusable: it is refused at import, the peer's earlier route for the
/// prefix goes, and nothing of it takes part in the decision.
#[test]
fn routes_whose_next_hop_is_ours_or_no_unicast_host_are_refused() {
    let mut rib = Rib::new(config());
    rib.set_own_addresses([ip("192.0.2.7"), ip("2001:db8::7")]);
    let mut ch = Vec::new();
    let p1 = rib.add_peer(peer("10.0.0.1", 65001)).unwrap();
    let p2 = rib.add_peer(peer("10.0.0.2", 65002)).unwrap();
    let v4_prefix = net("203.0.113.0/24");
    let v6_prefix = net("2001:db8:1::/48");
    let path = |asn| with(|a| a.as_path = seq(&[asn]));
    let other = attrs(&mut rib, "10.0.0.2", path(65002));
    rib.announce(p2, &[v4_prefix], &other, &mut ch).unwrap();
    for (prefix, good, bad, expected) in [
        (
            v4_prefix,
            "10.0.0.1",
            "192.0.2.7",
            SemanticError::NextHopIsOurs {
                address: ip("192.0.2.7"),
            },
        ),
        (
            v4_prefix,
            "10.0.0.1",
            "224.0.0.9",
            SemanticError::NextHopNotUnicast {
                address: ip("224.0.0.9"),
                class: "multicast",
            },
        ),
        (
            v6_prefix,
            "2001:db8::1",
            "2001:db8::7",
            SemanticError::NextHopIsOurs {
                address: ip("2001:db8::7"),
            },
        ),
        (
            v6_prefix,
            "2001:db8::1",
            "::",
            SemanticError::NextHopNotUnicast {
                address: ip("::"),
                class: "unspecified",
            },
        ),
    ] {
        let good = attrs(&mut rib, good, path(65001));
        rib.announce(p1, &[prefix], &good, &mut ch).unwrap();
        assert_eq!(
            rib.paths_newest_first(prefix).len(),
            1 + usize::from(prefix.addr().is_ipv4())
        );
        let shared = rib.intern(RouteAttributes::new(path(65001), ip(bad)));
        let reason = ImportError::NextHop(expected);
        assert_eq!(
            rib.announce(p1, &[prefix], &shared, &mut ch),
            Err(RibError::Rejected {
                peer: p1,
                prefixes: 1,
                reason: reason.clone(),
            }),
            "{bad}"
        );
        let paths = rib.paths_newest_first(prefix);
        assert!(
            paths.iter().all(|p| p.peer != p1),
            "{bad}: the earlier route is gone"
        );
        assert!(!reason.to_string().is_empty());
    }
    // The other peer's route for the IPv4 prefix was never touched and is the best one.
    assert_eq!(rib.best(v4_prefix).map(|b| b.peer), Some(p2));
}

#[test]
fn ipv6_routes_live_in_their_own_table() {
    let mut rib = Rib::new(config());
    let mut ch = Vec::new();
    let p = rib
        .add_peer(PeerInfo {
            address: ip("2001:db8::1"),
            ..peer("10.0.0.1", 65001)
        })
        .unwrap();
    let a = rib.intern(RouteAttributes::new(
        with(|a| a.as_path = seq(&[65001])),
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
    ));
    let prefixes: Vec<IpNet> = vec![net("2001:db8:1::/48"), net("2001:db8:2::/48")];
    rib.announce(p, &prefixes, &a, &mut ch).unwrap();
    assert_eq!(ch.len(), 2);
    assert_eq!(rib.received_count(p, Family::Ipv6Unicast), 2);
    assert_eq!(rib.received_count(p, Family::Ipv4Unicast), 0);
    assert_eq!(
        rib.best(net("2001:db8:1::/48")).unwrap().next_hops[0],
        ip("2001:db8::1")
    );
    let sorted: Vec<IpNet> = rib
        .iter_sorted(Family::Ipv6Unicast)
        .map(|(p, _)| p)
        .collect();
    assert_eq!(sorted, prefixes);
    assert_eq!(rib.iter_sorted(Family::Ipv4Unicast).count(), 0);
}

#[test]
fn iter_sorted_lists_prefixes_in_ascending_order() {
    let mut rib = Rib::new(config());
    let mut ch = Vec::new();
    let p = rib.add_peer(peer("10.0.0.1", LOCAL_AS)).unwrap();
    let a = attrs(&mut rib, "10.0.0.1", base());
    let prefixes = [
        v4("10.0.0.0/16"),
        v4("10.0.0.0/8"),
        v4("9.0.0.0/8"),
        v4("192.0.2.0/24"),
    ];
    rib.announce(p, &prefixes, &a, &mut ch).unwrap();
    let sorted: Vec<String> = rib
        .iter_sorted(Family::Ipv4Unicast)
        .map(|(p, _)| p.to_string())
        .collect();
    assert_eq!(
        sorted,
        ["9.0.0.0/8", "10.0.0.0/8", "10.0.0.0/16", "192.0.2.0/24"]
    );
}

#[test]
fn host_bits_are_ignored_and_unknown_peers_refused() {
    let mut rib = Rib::new(config());
    let mut ch = Vec::new();
    let p = rib.add_peer(peer("10.0.0.1", LOCAL_AS)).unwrap();
    let a = attrs(&mut rib, "10.0.0.1", base());
    rib.announce(p, &[v4("10.1.2.3/16")], &a, &mut ch).unwrap();
    assert!(rib.best(net("10.1.0.0/16")).is_some());
    assert_eq!(
        rib.announce(PeerId(77), &[v4("10.1.0.0/16")], &a, &mut ch),
        Err(RibError::UnknownPeer(PeerId(77)))
    );
    rib.remove_peer(p, &mut ch).unwrap();
    assert!(rib.best(net("10.1.0.0/16")).is_none());
    assert_eq!(rib.remove_peer(p, &mut ch), Err(RibError::UnknownPeer(p)));
    assert_eq!(
        rib.remove_peer(PeerId::LOCAL, &mut ch),
        Err(RibError::LocalPeer)
    );
    assert_eq!(
        rib.add_peer(peer("10.0.0.2", LOCAL_AS)),
        Ok(p),
        "ids are reused"
    );
}

#[test]
fn a_prefix_entry_takes_24_bytes() {
    assert_eq!(std::mem::size_of::<Entry<Ipv4Net>>(), 24);
    assert_eq!(std::mem::size_of::<super::table::Path>(), 16);
}

/// Graceful restart (RFC 4724): a restarting peer's paths are marked stale without any
/// selection change (so neither the kernel nor other peers hear of it), a path sent again
/// is fresh, and a sweep removes only what stayed stale, of one family.
#[test]
fn stale_paths_stay_selected_until_refreshed_or_swept() {
    let mut rib = Rib::new(config());
    let mut changes = Vec::new();
    let a = rib.add_peer(peer("10.192.0.3", LOCAL_AS)).unwrap();
    let b = rib.add_peer(peer("10.192.0.4", LOCAL_AS)).unwrap();
    let from_a = attrs(&mut rib, "10.192.0.3", base());
    let from_b = attrs(&mut rib, "10.192.0.4", base());
    let (p1, p2, p3) = (
        v4("198.51.100.1/32"),
        v4("198.51.100.2/32"),
        v4("198.51.100.3/32"),
    );
    rib.announce(a, &[p1, p2, p3], &from_a, &mut changes)
        .unwrap();
    rib.announce(b, &[p1], &from_b, &mut changes).unwrap();
    let v6 = "2001:db8::/64".parse::<Ipv6Net>().unwrap();
    let from_a6 = attrs(&mut rib, "2001:db8::3", base());
    rib.announce(a, &[v6], &from_a6, &mut changes).unwrap();
    changes.clear();

    assert_eq!(rib.mark_stale(a, Family::Ipv4Unicast), 3);
    assert_eq!(rib.stale_count(a, Family::Ipv4Unicast), 3);
    assert_eq!(rib.stale_count(a, Family::Ipv6Unicast), 0);
    assert_eq!(rib.stale_count(b, Family::Ipv4Unicast), 0);
    assert!(changes.is_empty());
    let stale_of = |rib: &Rib, p: Ipv4Net| -> Vec<(PeerId, bool)> {
        let mut v: Vec<_> = rib
            .paths(p.into())
            .iter()
            .map(|v| (v.peer, v.stale))
            .collect();
        v.sort();
        v
    };
    assert_eq!(stale_of(&rib, p1), vec![(a, true), (b, false)]);
    // The ECMP group of p1 is unchanged: both next hops.
    assert_eq!(rib.best(p1.into()).unwrap().next_hops.len(), 2);

    // Sent again identically, and with new attributes: fresh, and a reselection of p1
    // keeps the stale bit of the others.
    rib.announce(a, &[p2], &from_a, &mut changes).unwrap();
    assert!(changes.is_empty());
    let other = attrs(&mut rib, "10.192.0.3", with(|x| x.med = Some(5)));
    rib.announce(a, &[p3], &other, &mut changes).unwrap();
    let worse_b = attrs(&mut rib, "10.192.0.4", with(|x| x.med = Some(5)));
    rib.announce(b, &[p1], &worse_b, &mut changes).unwrap();
    assert_eq!(rib.stale_count(a, Family::Ipv4Unicast), 1);
    assert_eq!(stale_of(&rib, p1), vec![(a, true), (b, false)]);
    changes.clear();

    rib.sweep_stale(a, Family::Ipv6Unicast, &mut changes);
    assert!(changes.is_empty());
    rib.sweep_stale(a, Family::Ipv4Unicast, &mut changes);
    assert_eq!(rib.stale_count(a, Family::Ipv4Unicast), 0);
    assert_eq!(stale_of(&rib, p1), vec![(b, false)]);
    assert_eq!(rib.received_count(a, Family::Ipv4Unicast), 2);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].prefix, IpNet::V4(p1));
    assert!(rib.best(p2.into()).is_some() && rib.best(p3.into()).is_some());
    assert!(rib.best(v6.into()).is_some());
}

#[test]
fn withdrawing_one_family_leaves_the_other() {
    let mut rib = Rib::new(config());
    let mut changes = Vec::new();
    let a = rib.add_peer(peer("10.192.0.3", LOCAL_AS)).unwrap();
    let from_a = attrs(&mut rib, "10.192.0.3", base());
    let from_a6 = attrs(&mut rib, "2001:db8::3", base());
    rib.announce(a, &[v4("198.51.100.1/32")], &from_a, &mut changes)
        .unwrap();
    let v6 = "2001:db8::/64".parse::<Ipv6Net>().unwrap();
    rib.announce(a, &[v6], &from_a6, &mut changes).unwrap();
    changes.clear();
    rib.withdraw_family(a, Family::Ipv6Unicast, &mut changes);
    assert_eq!(
        changes,
        vec![BestChange {
            prefix: IpNet::V6(v6),
            best: None
        }]
    );
    assert_eq!(rib.received_count(a, Family::Ipv4Unicast), 1);
    assert_eq!(rib.received_count(a, Family::Ipv6Unicast), 0);
}
