//! Table tests: what a node announces for a Service, and how every announced Service becomes
//! the routes the `bgp` core originates.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use super::*;
use crate::node::EXCLUDE_FROM_LB_LABEL;
use crate::testing::{TUTORIAL, config, cr, node, service, slice};

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn node1() -> NodeState {
    node("kube-node-1", &[("zone", "a")], &["10.192.0.3"])
}

fn node2() -> NodeState {
    node("kube-node-2", &[("zone", "b")], &["10.192.0.4"])
}

/// An endpoint on `node`, ready.
fn ready_on(name: &str, node: &str) -> EndpointSlice {
    slice(
        name,
        &format!("{name}-1"),
        &[(Some(node), Some(true), Some(true), &["10.244.1.5"])],
    )
}

fn decide_with(
    config: &Config,
    n: &NodeState,
    svc: &Service,
    slices: &[EndpointSlice],
) -> Decision {
    let refs: Vec<&EndpointSlice> = slices.iter().collect();
    decide(config, n, svc, &refs, &Options::default())
}

/// A route as (prefix, peer names, LOCAL_PREF, communities).
type Seen = (String, Vec<String>, Option<u32>, Vec<String>);

fn announced(d: &Decision) -> Vec<Seen> {
    match d {
        Decision::Announce(a) => a
            .routes
            .iter()
            .map(|r| {
                (
                    r.prefix.to_string(),
                    r.peers.clone(),
                    r.local_pref,
                    r.communities.iter().map(|c| c.to_string()).collect(),
                )
            })
            .collect(),
        Decision::Withdraw(r) => panic!("withdrawn: {r}"),
    }
}

fn withdrawn(d: &Decision) -> &'static str {
    match d {
        Decision::Withdraw(r) => r.as_str(),
        Decision::Announce(a) => panic!("announced: {a:?}"),
    }
}

#[test]
fn the_tutorials_service_is_announced_as_a_host_route_to_every_peer_from_every_node() {
    let c = config(&[], Some(TUTORIAL));
    let svc = service("nginx", &["198.51.100.0"], json!({}));
    let slices = [ready_on("nginx", "kube-node-2")];
    for n in [node1(), node2()] {
        let d = decide_with(&c, &n, &svc, &slices);
        assert_eq!(
            announced(&d),
            [("198.51.100.0/32".to_owned(), vec![], None, vec![])],
            "{}",
            n.name
        );
        let Decision::Announce(a) = d else {
            unreachable!()
        };
        assert_eq!(a.pool, "my-ip-space");
        assert_eq!(a.ips, ["198.51.100.0".parse::<IpAddr>().unwrap()]);
    }
}

#[test]
fn local_traffic_policy_announces_only_from_nodes_with_a_serving_endpoint() {
    let c = config(&[], Some(TUTORIAL));
    let svc = service(
        "nginx",
        &["198.51.100.0"],
        json!({"spec": {"externalTrafficPolicy": "Local"}}),
    );
    let on_2 = [ready_on("nginx", "kube-node-2")];
    assert_eq!(
        withdrawn(&decide_with(&c, &node1(), &svc, &on_2)),
        "noLocalEndpoints"
    );
    assert_eq!(announced(&decide_with(&c, &node2(), &svc, &on_2)).len(), 1);
    let on_1 = [ready_on("nginx", "kube-node-1")];
    assert_eq!(announced(&decide_with(&c, &node1(), &svc, &on_1)).len(), 1);
    assert_eq!(
        withdrawn(&decide_with(&c, &node2(), &svc, &on_1)),
        "noLocalEndpoints"
    );
    assert_eq!(
        withdrawn(&decide_with(&c, &node1(), &svc, &[])),
        "noLocalEndpoints"
    );
}

#[test]
fn endpoint_conditions_are_read_as_metallbs_endpoint_can_serve() {
    let c = config(&[], Some(TUTORIAL));
    let svc = service("s", &["198.51.100.1"], json!({}));
    // (ready, serving, addresses, can serve)
    type Case<'a> = (Option<bool>, Option<bool>, &'a [&'a str], bool);
    let cases: [Case<'_>; 7] = [
        (None, None, &["10.244.1.5"], true),
        (Some(true), None, &["10.244.1.5"], true),
        (Some(true), Some(false), &["10.244.1.5"], true),
        (Some(false), Some(true), &["10.244.1.5"], true),
        (Some(false), Some(false), &["10.244.1.5"], false),
        (Some(false), None, &["10.244.1.5"], false),
        (Some(true), Some(true), &[], false),
    ];
    for (ready, serving, addresses, serves) in cases {
        let slices = [slice(
            "s",
            "s-1",
            &[(Some("kube-node-1"), ready, serving, addresses)],
        )];
        let d = decide_with(&c, &node1(), &svc, &slices);
        assert_eq!(
            matches!(d, Decision::Announce(_)),
            serves,
            "ready {ready:?} serving {serving:?} addresses {addresses:?}: {d:?}"
        );
        if !serves {
            assert_eq!(withdrawn(&d), "noEndpoints");
        }
    }
    // An endpoint on no node serves Cluster traffic but never Local traffic.
    let nowhere = [slice(
        "s",
        "s-1",
        &[(None, Some(true), None, &["10.244.1.5"])],
    )];
    assert!(matches!(
        decide_with(&c, &node1(), &svc, &nowhere),
        Decision::Announce(_)
    ));
    let local = service(
        "s",
        &["198.51.100.1"],
        json!({"spec": {"externalTrafficPolicy": "Local"}}),
    );
    assert_eq!(
        withdrawn(&decide_with(&c, &node1(), &local, &nowhere)),
        "noLocalEndpoints"
    );
}

#[test]
fn services_that_cannot_be_announced_say_why_in_metallbs_words() {
    let c = config(&[], Some(TUTORIAL));
    let slices = [ready_on("s", "kube-node-1")];
    let cases: [(Service, &str); 6] = [
        (
            service(
                "s",
                &["198.51.100.1"],
                json!({"spec": {"type": "ClusterIP"}}),
            ),
            "notLoadBalancer",
        ),
        (service("s", &[], json!({})), "noIPAllocated"),
        (service("s", &["198.51.100.256"], json!({})), "invalidIP"),
        (service("s", &["203.0.113.1"], json!({})), "ipNotAllowed"),
        (
            service("s", &["198.51.100.1", "203.0.113.1"], json!({})),
            "ipNotAllowed",
        ),
        (
            service(
                "s",
                &["198.51.100.1"],
                json!({"spec": {"loadBalancerClass": "other"}}),
            ),
            "filteredByLoadBalancerClass",
        ),
    ];
    for (svc, reason) in cases {
        assert_eq!(withdrawn(&decide_with(&c, &node1(), &svc, &slices)), reason);
    }
    let hostname_only = service(
        "s",
        &[],
        json!({"status": {"loadBalancer": {"ingress": [{"hostname": "lb.example"}]}}}),
    );
    assert_eq!(
        decide_with(&c, &node1(), &hostname_only, &slices),
        Decision::Withdraw(Reason::InvalidIp(String::new()))
    );
    let classed = service(
        "s",
        &["198.51.100.1"],
        json!({"spec": {"loadBalancerClass": "ferrolb"}}),
    );
    let options = Options {
        lb_class: Some("ferrolb".into()),
        ..Options::default()
    };
    let refs: Vec<&EndpointSlice> = slices.iter().collect();
    assert!(matches!(
        decide(&c, &node1(), &classed, &refs, &options),
        Decision::Announce(_)
    ));
}

fn pool(name: &str, addresses: &[&str]) -> Value {
    cr("IPAddressPool", name, json!({"addresses": addresses}))
}

fn ad(name: &str, spec: Value) -> Value {
    cr("BGPAdvertisement", name, spec)
}

fn peer(name: &str, address: &str) -> Value {
    cr(
        "BGPPeer",
        name,
        json!({"myASN": 64512, "peerASN": 64512, "peerAddress": address}),
    )
}

#[test]
fn advertisements_select_nodes_and_services_as_metallb() {
    let slices = [ready_on("s", "kube-node-1")];
    let svc = service(
        "s",
        &["198.51.100.1"],
        json!({"metadata": {"labels": {"app": "web"}}}),
    );
    let cases: [(Vec<Value>, &str); 4] = [
        (vec![pool("p", &["198.51.100.0/24"])], "notOwner"),
        (
            vec![
                pool("p", &["198.51.100.0/24"]),
                ad(
                    "zone-b",
                    json!({"nodeSelectors": [{"matchLabels": {"zone": "b"}}]}),
                ),
            ],
            "notOwner",
        ),
        (
            vec![
                pool("p", &["198.51.100.0/24"]),
                ad(
                    "db-only",
                    json!({"serviceSelectors": [{"matchLabels": {"app": "db"}}]}),
                ),
            ],
            "noMatchingAdvertisement",
        ),
        (
            vec![
                pool("p", &["198.51.100.0/24"]),
                ad("other-pool", json!({"ipAddressPools": ["q"]})),
                pool("q", &["203.0.113.0/24"]),
            ],
            "notOwner",
        ),
    ];
    for (objects, reason) in cases {
        let c = config(&objects, None);
        assert_eq!(
            withdrawn(&decide_with(&c, &node1(), &svc, &slices)),
            reason,
            "{objects:?}"
        );
    }
    let selected = config(
        &[
            pool("p", &["198.51.100.0/24"]),
            ad(
                "zone-a-web",
                json!({"nodeSelectors": [{"matchLabels": {"zone": "a"}}],
                                    "serviceSelectors": [{"matchLabels": {"app": "web"}}]}),
            ),
        ],
        None,
    );
    assert_eq!(
        announced(&decide_with(&selected, &node1(), &svc, &slices)).len(),
        1
    );
    assert_eq!(
        withdrawn(&decide_with(&selected, &node2(), &svc, &slices)),
        "notOwner"
    );
}

#[test]
fn excluded_and_network_unavailable_nodes_announce_nothing() {
    let c = config(&[], Some(TUTORIAL));
    let svc = service("s", &["198.51.100.1"], json!({}));
    let slices = [ready_on("s", "kube-node-1")];
    let refs: Vec<&EndpointSlice> = slices.iter().collect();
    let excluded = node(
        "kube-node-1",
        &[(EXCLUDE_FROM_LB_LABEL, "")],
        &["10.192.0.3"],
    );
    assert_eq!(
        withdrawn(&decide(&c, &excluded, &svc, &refs, &Options::default())),
        "nodeLabeledExcludeBalancers"
    );
    let ignoring = Options {
        ignore_exclude_lb: true,
        ..Options::default()
    };
    assert!(matches!(
        decide(&c, &excluded, &svc, &refs, &ignoring),
        Decision::Announce(_)
    ));
    let mut unavailable = node1();
    unavailable.network_unavailable = true;
    assert_eq!(
        withdrawn(&decide(&c, &unavailable, &svc, &refs, &ignoring)),
        "nodeNetworkUnavailable"
    );
}

#[test]
fn aggregation_local_pref_and_communities_with_aliases_and_large_ones() {
    let c = config(
        &[
            pool("p", &["198.51.100.0/24", "fd00:1::/64"]),
            cr(
                "Community",
                "aliases",
                json!({"communities": [{"name": "no-advertise", "value": "65535:65282"}]}),
            ),
            ad(
                "agg",
                json!({"aggregationLength": 24, "aggregationLengthV6": 64, "localPref": 150,
                       "communities": ["no-advertise", "64512:100", "large:64512:1:2"]}),
            ),
        ],
        None,
    );
    let svc = service("s", &["198.51.100.10", "fd00:1::10"], json!({}));
    let d = decide_with(&c, &node1(), &svc, &[ready_on("s", "kube-node-1")]);
    let communities = vec![
        "64512:100".to_owned(),
        "65535:65282".to_owned(),
        "large:64512:1:2".to_owned(),
    ];
    assert_eq!(
        announced(&d),
        [
            (
                "198.51.100.0/24".to_owned(),
                vec![],
                Some(150),
                communities.clone()
            ),
            ("fd00:1::/64".to_owned(), vec![], Some(150), communities),
        ]
    );
}

#[test]
fn two_advertisements_send_one_pool_to_two_peers_with_different_communities() {
    let c = config(
        &[
            peer("r1", "10.192.0.7"),
            peer("r2", "10.192.0.8"),
            pool("p", &["198.51.100.0/24"]),
            ad(
                "to-r1",
                json!({"peers": ["r1"], "communities": ["64512:1"]}),
            ),
            ad(
                "to-r2",
                json!({"peers": ["r2"], "communities": ["64512:2"]}),
            ),
        ],
        None,
    );
    let svc = service("s", &["198.51.100.1"], json!({}));
    let d = decide_with(&c, &node1(), &svc, &[ready_on("s", "kube-node-1")]);
    assert_eq!(
        announced(&d),
        [
            (
                "198.51.100.1/32".to_owned(),
                vec!["r1".to_owned()],
                None,
                vec!["64512:1".to_owned()]
            ),
            (
                "198.51.100.1/32".to_owned(),
                vec!["r2".to_owned()],
                None,
                vec!["64512:2".to_owned()]
            ),
        ]
    );
}

#[test]
fn advertisements_with_different_local_prefs_for_one_service_conflict() {
    let objects = |peers_b: &[&str]| {
        vec![
            peer("r1", "10.192.0.7"),
            peer("r2", "10.192.0.8"),
            pool("p", &["198.51.100.0/24"]),
            ad(
                "a",
                json!({"localPref": 100, "peers": ["r1"],
                           "serviceSelectors": [{"matchLabels": {"app": "web"}}]}),
            ),
            ad(
                "b",
                json!({"localPref": 200, "peers": peers_b,
                           "serviceSelectors": [{"matchExpressions": [{"key": "app", "operator": "Exists"}]}]}),
            ),
        ]
    };
    let svc = service(
        "s",
        &["198.51.100.1"],
        json!({"metadata": {"labels": {"app": "web"}}}),
    );
    let slices = [ready_on("s", "kube-node-1")];
    for peers_b in [&["r1"][..], &[]] {
        let d = decide_with(&config(&objects(peers_b), None), &node1(), &svc, &slices);
        assert_eq!(
            d,
            Decision::Withdraw(Reason::ConflictingAdvertisements(
                "advertisements 'a' and 'b' have conflicting LOCAL_PREF (100 vs 200)".into()
            )),
            "b to {peers_b:?}"
        );
    }
    // Advertisements to disjoint peers do not conflict.
    let d = decide_with(&config(&objects(&["r2"]), None), &node1(), &svc, &slices);
    assert_eq!(announced(&d).len(), 2);
}

#[test]
fn the_pool_annotation_is_used_when_it_holds_the_addresses() {
    let c = config(
        &[
            pool("a", &["198.51.100.0/25"]),
            pool("b", &["198.51.100.128/25"]),
            ad("only-b", json!({"ipAddressPools": ["b"]})),
        ],
        None,
    );
    let slices = [ready_on("s", "kube-node-1")];
    let annotated = |pool: &str, ip: &str| {
        service(
            "s",
            &[ip],
            json!({"metadata": {"annotations": {"metallb.io/ip-allocated-from-pool": pool}}}),
        )
    };
    let d = decide_with(&c, &node1(), &annotated("b", "198.51.100.200"), &slices);
    assert_eq!(announced(&d).len(), 1);
    // A stale annotation is overruled by the address.
    let d = decide_with(&c, &node1(), &annotated("b", "198.51.100.1"), &slices);
    assert_eq!(withdrawn(&d), "notOwner");
    let d = decide_with(&c, &node1(), &annotated("a", "198.51.100.200"), &slices);
    assert_eq!(announced(&d).len(), 1);
}

#[test]
fn ipv6_addresses_are_host_routes_of_128_bits() {
    let c = config(&[pool("v6", &["fd00:1::/120"]), ad("all", json!({}))], None);
    let svc = service("s", &["fd00:1::5"], json!({}));
    let d = decide_with(&c, &node1(), &svc, &[ready_on("s", "kube-node-1")]);
    assert_eq!(
        announced(&d),
        [("fd00:1::5/128".to_owned(), vec![], None, vec![])]
    );
}

fn announcement(routes: Vec<Route>) -> Announcement {
    Announcement {
        ips: Vec::new(),
        pool: "p".into(),
        routes,
    }
}

fn r(prefix: &str, peers: &[&str], communities: &[Community]) -> Route {
    Route {
        prefix: net(prefix),
        peers: peers.iter().map(|p| (*p).to_owned()).collect(),
        local_pref: None,
        communities: communities.iter().copied().collect(),
    }
}

#[test]
fn peer_routes_resolve_names_to_sessions_merge_sharers_and_list_peers_per_service() {
    let sessions: BTreeMap<String, IpAddr> = [("r1", "10.192.0.7"), ("r2", "10.192.0.8")]
        .into_iter()
        .map(|(n, a)| (n.to_owned(), a.parse().unwrap()))
        .collect();
    let announced: BTreeMap<String, Announcement> = [
        (
            "default/a",
            announcement(vec![r("198.51.100.1/32", &[], &[])]),
        ),
        // Shares a's address: one route.
        (
            "default/b",
            announcement(vec![r("198.51.100.1/32", &[], &[])]),
        ),
        (
            "default/c",
            announcement(vec![
                r(
                    "198.51.100.2/32",
                    &["r2", "elsewhere"],
                    &[Community::Standard(1)],
                ),
                r("198.51.100.2/32", &["elsewhere"], &[Community::Standard(2)]),
            ]),
        ),
    ]
    .into_iter()
    .map(|(k, a)| (k.to_owned(), a))
    .collect();
    let (routes, per_service) = peer_routes(&announced, &sessions);
    assert_eq!(
        routes,
        [
            PeerRoute {
                prefix: net("198.51.100.1/32"),
                peers: vec![],
                local_pref: None,
                communities: BTreeSet::new(),
            },
            PeerRoute {
                prefix: net("198.51.100.2/32"),
                peers: vec!["10.192.0.8".parse().unwrap()],
                local_pref: None,
                communities: [Community::Standard(1)].into(),
            },
        ]
    );
    let names = |k: &str| per_service[k].iter().cloned().collect::<Vec<_>>();
    assert_eq!(names("default/a"), ["r1", "r2"]);
    assert_eq!(names("default/b"), ["r1", "r2"]);
    assert_eq!(names("default/c"), ["r2"]);
}

#[test]
fn slices_belong_to_the_service_their_label_names() {
    assert_eq!(
        slice_service_key(&ready_on("nginx", "n")).as_deref(),
        Some("default/nginx")
    );
    let mut unlabelled = ready_on("nginx", "n");
    unlabelled.metadata.labels = None;
    assert_eq!(slice_service_key(&unlabelled), None);
}

/// On shutdown only graceful-restart sessions keep routes: a route for every session goes
/// to each of them, one for named sessions to those of them that restart gracefully.
#[test]
fn only_graceful_restart_sessions_keep_their_routes_through_a_restart() {
    let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
    let route = |prefix: &str, peers: &[&str]| PeerRoute {
        prefix: net(prefix),
        peers: peers.iter().map(|p| ip(p)).collect(),
        local_pref: None,
        communities: BTreeSet::new(),
    };
    let routes = [
        route("198.51.100.0/32", &[]),
        route("198.51.100.1/32", &["10.0.0.1", "10.0.0.2"]),
        route("198.51.100.2/32", &["10.0.0.2"]),
    ];
    let graceful: BTreeSet<IpAddr> = [ip("10.0.0.1"), ip("10.0.0.3")].into();
    assert_eq!(
        kept_through_restart(&routes, &graceful),
        [
            route("198.51.100.0/32", &["10.0.0.1", "10.0.0.3"]),
            route("198.51.100.1/32", &["10.0.0.1"]),
        ]
    );
    assert_eq!(kept_through_restart(&routes, &BTreeSet::new()), []);
}
