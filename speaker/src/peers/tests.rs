//! Table tests: the sessions a node gets from a configuration, and what a change resets.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::testing::{TUTORIAL, config, cr, node, secret};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn peer(name: &str, spec: Value) -> Value {
    cr("BGPPeer", name, spec)
}

fn of(objects: &[Value], node_: &NodeState, secrets: &[Secret]) -> Sessions {
    let secrets = secrets
        .iter()
        .map(|s| (s.metadata.name.clone().unwrap(), s.clone()))
        .collect();
    sessions(&config(objects, None), node_, "metallb-system", &secrets)
}

fn node1() -> NodeState {
    node("kube-node-1", &[("zone", "a")], &["10.192.0.3"])
}

#[test]
fn the_tutorials_peer_is_one_ibgp_session_with_metallbs_defaults() {
    let s = sessions(
        &config(&[], Some(TUTORIAL)),
        &node1(),
        "metallb-system",
        &BTreeMap::new(),
    );
    assert!(s.problems.is_empty(), "{:?}", s.problems);
    let session = &s.sessions[&ip("10.192.0.7")];
    assert_eq!(session.name, "peer1");
    let c = &session.config;
    assert_eq!(c.remote_as, RemoteAs::Asn(64512));
    assert_eq!(c.local_as, Some(64512));
    assert_eq!(c.port, 179);
    assert_eq!(c.hold_time, 90);
    assert_eq!(
        c.keepalive,
        Some(30),
        "derived from the hold time, as MetalLB"
    );
    assert_eq!(c.connect_retry, DEFAULT_CONNECT_TIME);
    assert_eq!(c.families, vec![Family::Ipv4Unicast]);
    assert_eq!(c.router_id, Some(Ipv4Addr::new(10, 192, 0, 3)));
    assert_eq!(c.ebgp_multihop, None);
    assert_eq!(c.password, None);
    assert!(!c.import, "a speaker keeps nothing routers send");
    assert!(!c.passive, "a speaker dials out, as MetalLB's");
}

#[test]
fn every_bgppeer_field_reaches_the_session() {
    let s = of(
        &[
            peer(
                "full",
                json!({"myASN": 64512, "peerASN": 64601, "peerAddress": "10.192.0.7", "peerPort": 1179,
                       "sourceAddress": "10.192.0.3", "holdTime": "30s", "keepaliveTime": "10s",
                       "connectTime": "7s", "routerID": "1.2.3.4", "password": "sesame",
                       "ebgpMultiHop": true, "dualStackAddressFamily": true}),
            ),
            peer(
                "internal",
                json!({"myASN": 64512, "dynamicASN": "internal", "peerAddress": "fd00::7"}),
            ),
            peer(
                "external",
                json!({"myASN": 64512, "dynamicASN": "external", "peerAddress": "10.192.0.8"}),
            ),
        ],
        &node1(),
        &[],
    );
    assert!(s.problems.is_empty(), "{:?}", s.problems);
    let full = &s.sessions[&ip("10.192.0.7")].config;
    assert_eq!(
        (full.remote_as, full.local_as, full.port),
        (RemoteAs::Asn(64601), Some(64512), 1179)
    );
    assert_eq!(full.local_address, Some(ip("10.192.0.3")));
    assert_eq!((full.hold_time, full.keepalive), (30, Some(10)));
    assert_eq!(full.connect_retry, Duration::from_secs(7));
    assert_eq!(full.router_id, Some(Ipv4Addr::new(1, 2, 3, 4)));
    assert_eq!(full.password.as_deref(), Some("sesame"));
    assert_eq!(full.ebgp_multihop, Some(255));
    assert_eq!(
        full.families,
        vec![Family::Ipv4Unicast, Family::Ipv6Unicast]
    );

    let internal = &s.sessions[&ip("fd00::7")].config;
    assert_eq!(internal.remote_as, RemoteAs::Internal);
    assert_eq!(internal.families, vec![Family::Ipv6Unicast]);
    assert_eq!(internal.hold_time, 90);
    let external = &s.sessions[&ip("10.192.0.8")].config;
    assert_eq!(external.remote_as, RemoteAs::External);
}

#[test]
fn node_selectors_pick_the_nodes_that_peer() {
    let objects = [
        peer(
            "zone-a",
            json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.192.0.7",
                   "nodeSelectors": [{"matchLabels": {"zone": "a"}}]}),
        ),
        peer(
            "zone-b",
            json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.192.0.8",
                   "nodeSelectors": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]}]}),
        ),
        peer(
            "everywhere",
            json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.192.0.9"}),
        ),
    ];
    let cases = [
        ("a", vec!["everywhere", "zone-a"], vec!["zone-b"]),
        ("b", vec!["everywhere", "zone-b"], vec!["zone-a"]),
        ("c", vec!["everywhere"], vec!["zone-a", "zone-b"]),
    ];
    for (zone, want, not_selected) in cases {
        let n = node("n", &[("zone", zone)], &["10.192.0.3"]);
        let s = of(&objects, &n, &[]);
        assert_eq!(
            s.names().into_iter().collect::<Vec<_>>(),
            want,
            "zone {zone}"
        );
        assert_eq!(
            s.not_selected.into_iter().collect::<Vec<_>>(),
            not_selected,
            "zone {zone}"
        );
    }
}

#[test]
fn password_secrets_are_read_as_metallb_reads_them_and_a_bad_one_skips_only_its_peer() {
    let with_secret = |name: &str, address: &str, secret: Value| {
        peer(
            name,
            json!({"myASN": 64512, "peerASN": 64512, "peerAddress": address, "passwordSecret": secret}),
        )
    };
    let objects = [
        with_secret("good", "10.0.0.1", json!({"name": "good"})),
        with_secret("missing", "10.0.0.2", json!({"name": "nope"})),
        with_secret("opaque", "10.0.0.3", json!({"name": "opaque"})),
        with_secret("nokey", "10.0.0.4", json!({"name": "nokey"})),
        with_secret(
            "elsewhere",
            "10.0.0.5",
            json!({"name": "good", "namespace": "other"}),
        ),
        with_secret("binary", "10.0.0.6", json!({"name": "binary"})),
        peer(
            "clear",
            json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.7"}),
        ),
    ];
    let secrets = [
        secret(
            "good",
            BASIC_AUTH,
            &[("password", b"s3cret"), ("username", b"x")],
        ),
        secret("opaque", "Opaque", &[("password", b"s3cret")]),
        secret("nokey", BASIC_AUTH, &[("username", b"x")]),
        secret("binary", BASIC_AUTH, &[("password", &[0xff, 0xfe])]),
    ];
    let s = of(&objects, &node1(), &secrets);
    assert_eq!(s.names().into_iter().collect::<Vec<_>>(), ["clear", "good"]);
    assert_eq!(
        s.sessions[&ip("10.0.0.1")].config.password.as_deref(),
        Some("s3cret")
    );
    let problems: Vec<(String, String)> = s
        .problems
        .iter()
        .map(|p| (p.peer.clone(), p.problem.to_string()))
        .collect();
    let want = [
        (
            "binary",
            "the password in the secret metallb-system/binary is not UTF-8 text",
        ),
        (
            "elsewhere",
            "Secret other/good is not in the speaker's namespace \"metallb-system\", whose Secrets are the only ones it reads",
        ),
        (
            "missing",
            "secret ref not found: Secret metallb-system/nope does not exist",
        ),
        (
            "nokey",
            "password not specified in the secret metallb-system/nokey",
        ),
        (
            "opaque",
            "secret type mismatch on metallb-system/opaque: type \"kubernetes.io/basic-auth\" is expected, found \"Opaque\"",
        ),
    ]
    .map(|(a, b)| (a.to_owned(), b.to_owned()));
    assert_eq!(problems, want);
    assert!(s.problems.iter().all(|p| p.problem.skips_peer()));
}

#[test]
fn a_second_peer_on_the_same_address_is_skipped_and_settings_not_implemented_are_reported() {
    let s = of(
        &[
            peer(
                "a",
                json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.1", "vrf": "red"}),
            ),
            peer(
                "b",
                json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.1", "peerPort": 1179}),
            ),
        ],
        &node1(),
        &[],
    );
    assert_eq!(s.names().into_iter().collect::<Vec<_>>(), ["a"]);
    assert_eq!(
        s.problems,
        [
            PeerProblem {
                peer: "a".into(),
                problem: Problem::Ignored("vrf")
            },
            PeerProblem {
                peer: "b".into(),
                problem: Problem::AddressInUse {
                    address: ip("10.0.0.1"),
                    other: "a".into()
                }
            },
        ]
    );
    assert!(!s.problems[0].problem.skips_peer());
}

#[test]
fn router_id_is_the_nodes_ipv4_address_or_metallbs_hash_of_its_name() {
    assert_eq!(router_id(&node1()), Ipv4Addr::new(10, 192, 0, 3));
    let dual = node("n", &[], &["fd00::3", "10.192.0.3"]);
    assert_eq!(router_id(&dual), Ipv4Addr::new(10, 192, 0, 3));
    // Go: crc32.ChecksumIEEE("v6-only-node") written little-endian, as MetalLB's hashRouterID.
    let v6 = node("v6-only-node", &[], &["fd00::3"]);
    assert_eq!(router_id(&v6), Ipv4Addr::new(204, 177, 52, 113));
    assert_eq!(
        crc32_ieee(b"123456789"),
        0xCBF4_3926,
        "the CRC-32 check value"
    );
}

fn two_peers(hold_b: &str, pool: &str) -> Vec<Value> {
    vec![
        peer(
            "a",
            json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.1"}),
        ),
        peer(
            "b",
            json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.2", "holdTime": hold_b}),
        ),
        cr("IPAddressPool", "p", json!({"addresses": [pool]})),
    ]
}

#[test]
fn an_unrelated_edit_changes_no_session_and_a_timer_change_resets_only_its_peer() {
    let n = node1();
    let before = of(&two_peers("90s", "198.51.100.0/24"), &n, &[]);
    let current = before.sessions.clone();
    let from_scratch = changes(&BTreeMap::new(), &before);
    assert_eq!(from_scratch.add.len(), 2);
    assert!(from_scratch.remove.is_empty());

    let unrelated = of(&two_peers("90s", "203.0.113.0/24"), &n, &[]);
    assert!(changes(&current, &unrelated).is_empty());

    let timer = of(&two_peers("30s", "198.51.100.0/24"), &n, &[]);
    let c = changes(&current, &timer);
    assert_eq!(
        c.remove,
        [(
            ip("10.0.0.2"),
            "b".to_owned(),
            RemovalReason::ParametersChanged
        )]
    );
    assert_eq!(c.add.len(), 1);
    assert_eq!(c.add[0].name, "b");
    assert_eq!(c.add[0].config.hold_time, 30);
}

#[test]
fn a_renamed_peer_keeps_its_session_and_removals_say_why() {
    let n = node("n", &[("zone", "a")], &["10.192.0.3"]);
    let current = of(&two_peers("90s", "198.51.100.0/24"), &n, &[]).sessions;
    let renamed = of(
        &[
            peer(
                "a-renamed",
                json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.1"}),
            ),
            peer(
                "b",
                json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.2", "holdTime": "90s",
                       "nodeSelectors": [{"matchLabels": {"zone": "b"}}]}),
            ),
        ],
        &n,
        &[],
    );
    let c = changes(&current, &renamed);
    assert!(c.add.is_empty(), "{:?}", c.add);
    assert_eq!(
        c.remove,
        [(
            ip("10.0.0.2"),
            "b".to_owned(),
            RemovalReason::FilteredByNodeSelector
        )]
    );
    let gone = changes(&current, &Sessions::default());
    assert!(
        gone.remove
            .iter()
            .all(|(_, _, r)| *r == RemovalReason::RemovedFromConfig)
    );
    assert_eq!(
        RemovalReason::FilteredByNodeSelector.as_str(),
        "filteredByNodeSelector"
    );
}

/// `enableGracefulRestart` as MetalLB's FRR mode has it: restarting speaker with FRR's
/// default restart time (120 s) and the Forwarding State bit (`preserve-fw-state`); no
/// capability at all without it.
#[test]
fn enable_graceful_restart_advertises_frrs_restart_time_with_forwarding_preserved() {
    let s = of(
        &[
            peer(
                "gr",
                json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.1", "enableGracefulRestart": true}),
            ),
            peer(
                "plain",
                json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.2"}),
            ),
        ],
        &node1(),
        &[],
    );
    assert!(s.problems.is_empty(), "{:?}", s.problems);
    let gr = s.sessions[&ip("10.0.0.1")].config.graceful_restart.unwrap();
    assert_eq!(gr.mode, bgp::GracefulRestartMode::Restart);
    assert_eq!((gr.restart_time, gr.stale_path_time), (120, 360));
    assert!(gr.preserve_forwarding);
    assert_eq!(s.sessions[&ip("10.0.0.2")].config.graceful_restart, None);
}

fn bfd_objects(transmit: u32) -> Vec<Value> {
    vec![
        cr(
            "BFDProfile",
            "fast",
            json!({"receiveInterval": 100, "transmitInterval": transmit, "detectMultiplier": 5,
                   "passiveMode": true, "minimumTtl": 250, "echoMode": true, "echoInterval": 20}),
        ),
        peer(
            "a",
            json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.1", "bfdProfile": "fast"}),
        ),
        peer(
            "b",
            json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.2"}),
        ),
    ]
}

#[test]
fn a_bfd_profile_gives_the_session_its_timers_and_echo_is_reported_unsupported() {
    let s = of(&bfd_objects(200), &node1(), &[]);
    let bfd = s.sessions[&ip("10.0.0.1")].config.bfd.clone().unwrap();
    assert_eq!(bfd.name.as_deref(), Some("fast"));
    assert_eq!(bfd.timers.required_min_rx, Duration::from_millis(100));
    assert_eq!(bfd.timers.desired_min_tx, Duration::from_millis(200));
    assert_eq!(bfd.timers.detect_mult, 5);
    assert!(bfd.passive);
    assert_eq!(bfd.minimum_ttl, 250);
    assert_eq!(s.sessions[&ip("10.0.0.2")].config.bfd, None);
    let ignored: Vec<String> = s
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.peer, p.problem))
        .collect();
    assert_eq!(
        ignored,
        [
            "a: BFDProfile echoMode (the BFD echo function) is not supported by this speaker and is ignored",
            "a: BFDProfile echoInterval (the BFD echo function) is not supported by this speaker and is ignored",
        ]
    );
    // Without a profile of that name, FRR's defaults.
    let missing = bfd_profile("gone", None);
    assert_eq!(missing.timers, bgp::bfd::Timers::DEFAULT);
    assert_eq!(missing.name.as_deref(), Some("gone"));
}

#[test]
fn a_bfd_profile_edit_changes_the_session_in_place() {
    let n = node1();
    let before = of(&bfd_objects(200), &n, &[]);
    let after = of(&bfd_objects(300), &n, &[]);
    let c = changes(&before.sessions, &after);
    assert!(c.remove.is_empty() && c.add.is_empty(), "{c:?}");
    assert_eq!(c.bfd.len(), 1);
    assert_eq!(c.bfd[0].0, ip("10.0.0.1"));
    let profile = c.bfd[0].1.clone().unwrap();
    assert_eq!(profile.timers.desired_min_tx, Duration::from_millis(300));
}
