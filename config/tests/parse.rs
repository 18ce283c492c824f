//! `lb_config::parse` over plain objects: every error message, each with its object and field,
//! all errors of a configuration at once, warnings for what MetalLB ignores, and the legacy
//! ConfigMap's errors at their YAML paths.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use lb_config::crd::bfd_profile::BFDProfile;
use lb_config::crd::bgp_advertisement::BGPAdvertisement;
use lb_config::crd::bgp_peer::BGPPeer;
use lb_config::crd::community::Community;
use lb_config::crd::ip_address_pool::IPAddressPool;
use lb_config::crd::l2_advertisement::L2Advertisement;
use lb_config::{Community as Value, PeerAsn, Resources};
use serde::de::DeserializeOwned;
use serde_json::json;

fn cr<T: DeserializeOwned>(
    api_version: &str,
    kind: &str,
    name: &str,
    spec: serde_json::Value,
) -> T {
    let object =
        json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, "spec": spec});
    serde_json::from_value(object).unwrap_or_else(|e| panic!("{kind} {name}: {e}"))
}

fn pool(name: &str, spec: serde_json::Value) -> IPAddressPool {
    cr("metallb.io/v1beta1", "IPAddressPool", name, spec)
}

fn peer(name: &str, spec: serde_json::Value) -> BGPPeer {
    cr("metallb.io/v1beta2", "BGPPeer", name, spec)
}

/// A valid peer's spec with `extra` merged in.
fn peer_with(extra: serde_json::Value) -> serde_json::Value {
    let mut spec = json!({"myASN": 64512, "peerASN": 64513, "peerAddress": "10.0.0.1"});
    for (k, v) in extra.as_object().unwrap() {
        spec[k] = v.clone();
    }
    spec
}

fn ad(name: &str, spec: serde_json::Value) -> BGPAdvertisement {
    cr("metallb.io/v1beta1", "BGPAdvertisement", name, spec)
}

fn community(name: &str, aliases: serde_json::Value) -> Community {
    cr(
        "metallb.io/v1beta1",
        "Community",
        name,
        json!({"communities": aliases}),
    )
}

fn bfd(name: &str, spec: serde_json::Value) -> BFDProfile {
    cr("metallb.io/v1beta1", "BFDProfile", name, spec)
}

/// The error messages of a configuration that must not parse.
fn errors(r: &Resources) -> Vec<String> {
    match lb_config::parse(r) {
        Ok(p) => panic!("parsed, but should not have: {:?}", p.config),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

fn legacy(text: &str) -> Resources {
    Resources {
        legacy_config: Some(text.to_string()),
        ..Resources::default()
    }
}

fn pools(list: Vec<IPAddressPool>) -> Resources {
    Resources {
        pools: list,
        ..Resources::default()
    }
}

fn peers(list: Vec<BGPPeer>) -> Resources {
    Resources {
        peers: list,
        ..Resources::default()
    }
}

/// One pool `a` of 10.0.0.0/24 and 2001:db8::/64, and the advertisements.
fn with_ads(list: Vec<BGPAdvertisement>) -> Resources {
    Resources {
        pools: vec![pool(
            "a",
            json!({"addresses": ["10.0.0.0/24", "2001:db8::/64"]}),
        )],
        bgp_advertisements: list,
        ..Resources::default()
    }
}

#[test]
fn pool_errors_name_the_entry() {
    let cases: Vec<(Resources, Vec<&str>)> = vec![
        (
            pools(vec![pool(
                "a",
                json!({"addresses": ["10.0.1.0/24", "10.0.0.9-10.0.0.1"]}),
            )]),
            vec![
                r#"IPAddressPool "a": spec.addresses[1]: "10.0.0.9-10.0.0.1": range start is after its end"#,
            ],
        ),
        (
            pools(vec![pool("a", json!({"addresses": ["10.0.0.0/33"]}))]),
            vec![
                r#"IPAddressPool "a": spec.addresses[0]: "10.0.0.0/33": neither a CIDR (such as 192.168.10.0/24) nor a range (such as 192.168.10.1-192.168.10.9)"#,
            ],
        ),
        (
            pools(vec![pool("a", json!({"addresses": ["10.0.0.1-ten"]}))]),
            vec![
                r#"IPAddressPool "a": spec.addresses[0]: "10.0.0.1-ten": "ten" is not an IP address"#,
            ],
        ),
        (
            pools(vec![pool(
                "a",
                json!({"addresses": ["10.0.0.1-2001:db8::1"]}),
            )]),
            vec![
                r#"IPAddressPool "a": spec.addresses[0]: "10.0.0.1-2001:db8::1": both ends of a range must be of the same IP family"#,
            ],
        ),
        (
            pools(vec![pool("a", json!({"addresses": []}))]),
            vec![r#"IPAddressPool "a": spec.addresses: a pool needs at least one address"#],
        ),
        (
            pools(vec![pool(
                "a",
                json!({"addresses": ["10.0.0.0/24", "10.0.0.128/25"]}),
            )]),
            vec![
                r#"IPAddressPool "a": spec.addresses[1]: "10.0.0.128/25" overlaps "10.0.0.0/24" of IPAddressPool "a" spec.addresses[0]"#,
            ],
        ),
        (
            pools(vec![
                pool("b", json!({"addresses": ["10.0.0.5-10.0.0.6"]})),
                pool("a", json!({"addresses": ["192.168.0.0/16", "10.0.0.0/24"]})),
            ]),
            vec![
                r#"IPAddressPool "b": spec.addresses[0]: "10.0.0.5-10.0.0.6" overlaps "10.0.0.0/24" of IPAddressPool "a" spec.addresses[1]"#,
            ],
        ),
        (
            pools(vec![pool(
                "a",
                json!({"addresses": ["10.0.0.0/24"], "serviceAllocation": {
                    "priority": 3000000000u64,
                    "namespaces": ["x", "x"],
                    "serviceSelectors": [{"matchExpressions": [{"key": "app", "operator": "Is", "values": ["web"]}]}],
                }}),
            )]),
            vec![
                r#"IPAddressPool "a": spec.serviceAllocation.priority: 3000000000 is out of range (-2147483648 to 2147483647)"#,
                r#"IPAddressPool "a": spec.serviceAllocation.namespaces[1]: "x" is already defined at spec.serviceAllocation.namespaces[0]"#,
                r#"IPAddressPool "a": spec.serviceAllocation.serviceSelectors[0].matchExpressions[0].operator: invalid label selector: "Is" is not an operator (In, NotIn, Exists or DoesNotExist)"#,
            ],
        ),
    ];
    for (resources, want) in cases {
        assert_eq!(errors(&resources), want);
    }
}

#[test]
fn peer_errors_name_the_field() {
    let one = |extra: serde_json::Value| peers(vec![peer("p", peer_with(extra))]);
    let cases: Vec<(Resources, Vec<&str>)> = vec![
        (
            one(json!({"myASN": 0})),
            vec![r#"BGPPeer "p": spec.myASN: 0 is not an AS number (1 to 4294967295)"#],
        ),
        (
            one(json!({"peerASN": 0})),
            vec![r#"BGPPeer "p": spec.peerASN: one of peerASN and dynamicASN must be set"#],
        ),
        (
            one(json!({"dynamicASN": "external"})),
            vec![r#"BGPPeer "p": spec.peerASN: peerASN and dynamicASN are mutually exclusive"#],
        ),
        (
            one(json!({"holdTime": "1s"})),
            vec![r#"BGPPeer "p": spec.holdTime: "1s": hold time must be 0 or at least 3s"#],
        ),
        (
            one(json!({"holdTime": "ten"})),
            vec![r#"BGPPeer "p": spec.holdTime: "ten" is not a duration such as 90s or 1m30s"#],
        ),
        (
            one(json!({"holdTime": "30s", "keepaliveTime": "1m"})),
            vec![
                r#"BGPPeer "p": spec.keepaliveTime: keepalive time "1m" is longer than hold time "30s""#,
            ],
        ),
        (
            one(json!({"keepaliveTime": "500ms"})),
            vec![
                r#"BGPPeer "p": spec.keepaliveTime: "3 × 500ms": hold time must be 0 or at least 3s"#,
            ],
        ),
        (
            one(json!({"password": "secret", "passwordSecret": {"name": "bgp"}})),
            vec![
                r#"BGPPeer "p": spec.passwordSecret: password and passwordSecret are mutually exclusive"#,
            ],
        ),
        (
            one(json!({"bfdProfile": "fast"})),
            vec![r#"BGPPeer "p": spec.bfdProfile: BFDProfile "fast" does not exist"#],
        ),
        (
            one(json!({"peerAddress": "10.0.0.300"})),
            vec![r#"BGPPeer "p": spec.peerAddress: "10.0.0.300" is not an IP address"#],
        ),
        (
            one(json!({"peerAddress": ""})),
            vec![r#"BGPPeer "p": spec.peerAddress: required, but not set"#],
        ),
        (
            one(json!({"sourceAddress": "here"})),
            vec![r#"BGPPeer "p": spec.sourceAddress: "here" is not an IP address"#],
        ),
        (
            one(json!({"routerID": "2001:db8::1"})),
            vec![
                r#"BGPPeer "p": spec.routerID: "2001:db8::1" is not an IPv4 address (a BGP router ID is 32 bits)"#,
            ],
        ),
        (
            one(json!({"peerASN": 64512, "ebgpMultiHop": true})),
            vec![
                r#"BGPPeer "p": spec.ebgpMultiHop: ebgpMultiHop cannot be set for an iBGP peer (peerASN equal to myASN)"#,
            ],
        ),
        (
            one(json!({"peerAddress": "", "interface": "eth0"})),
            vec![
                r#"BGPPeer "p": spec.interface: unnumbered BGP peering (interface) is not supported by ferrolb"#,
            ],
        ),
        (
            one(json!({"interface": "eth0"})),
            vec![
                r#"BGPPeer "p": spec.interface: peerAddress and interface are mutually exclusive"#,
            ],
        ),
        (
            one(json!({"localASN": 65000})),
            vec![
                r#"BGPPeer "p": spec.localASN: localASN (BGP local-as) is not supported by ferrolb"#,
            ],
        ),
        (
            one(json!({"connectTime": "1500ms"})),
            vec![
                r#"BGPPeer "p": spec.connectTime: "1500ms": connect time must be a whole number of seconds between 1s and 65535s"#,
            ],
        ),
        (
            one(
                json!({"nodeSelectors": [{"matchExpressions": [{"key": "zone", "operator": "Equals", "values": ["a"]}]}]}),
            ),
            vec![
                r#"BGPPeer "p": spec.nodeSelectors[0].matchExpressions[0].operator: invalid label selector: "Equals" is not an operator (In, NotIn, Exists or DoesNotExist)"#,
            ],
        ),
    ];
    for (resources, want) in cases {
        assert_eq!(errors(&resources), want);
    }
}

#[test]
fn every_error_of_every_object_is_reported_at_once() {
    let resources = Resources {
        pools: vec![
            pool(
                "a",
                json!({"addresses": ["10.0.0.0/24", "banana", "10.0.1.9-10.0.1.1"]}),
            ),
            pool("b", json!({"addresses": ["10.0.0.7/32"]})),
        ],
        peers: vec![peer(
            "p",
            peer_with(json!({"myASN": 0, "holdTime": "2s", "bfdProfile": "none"})),
        )],
        bgp_advertisements: vec![ad(
            "ad",
            json!({"communities": ["no-such-alias"], "aggregationLength": 33}),
        )],
        ..Resources::default()
    };
    assert_eq!(
        errors(&resources),
        [
            r#"BGPPeer "p": spec.myASN: 0 is not an AS number (1 to 4294967295)"#,
            r#"BGPPeer "p": spec.holdTime: "2s": hold time must be 0 or at least 3s"#,
            r#"BGPPeer "p": spec.bfdProfile: BFDProfile "none" does not exist"#,
            r#"IPAddressPool "a": spec.addresses[1]: "banana": neither a CIDR (such as 192.168.10.0/24) nor a range (such as 192.168.10.1-192.168.10.9)"#,
            r#"IPAddressPool "a": spec.addresses[2]: "10.0.1.9-10.0.1.1": range start is after its end"#,
            r#"IPAddressPool "b": spec.addresses[0]: "10.0.0.7/32" overlaps "10.0.0.0/24" of IPAddressPool "a" spec.addresses[0]"#,
            r#"BGPAdvertisement "ad": spec.aggregationLength: 33 is out of range (0 to 32)"#,
            r#"BGPAdvertisement "ad": spec.communities[0]: "no-such-alias": not a community (AS:VALUE or large:GLOBAL:LOCAL1:LOCAL2) nor the name of an alias defined in a Community"#,
        ]
    );
}

#[test]
fn community_and_advertisement_errors_name_the_field() {
    let aliases = |list: serde_json::Value| Resources {
        communities: vec![community("c", list)],
        ..with_ads(vec![])
    };
    let cases: Vec<(Resources, Vec<&str>)> = vec![
        (
            aliases(json!([{"name": "x", "value": "65536:1"}])),
            vec![
                r#"Community "c": spec.communities[0].value: "65536:1": invalid community: "65536" of "65536:1" is not a number between 0 and 65535"#,
            ],
        ),
        (
            aliases(json!([{"name": "x", "value": "no-export"}])),
            vec![
                r#"Community "c": spec.communities[0].value: "no-export": invalid community: expected AS:VALUE or large:GLOBAL:LOCAL1:LOCAL2"#,
            ],
        ),
        (
            Resources {
                communities: vec![
                    community("c", json!([{"name": "x", "value": "1:1"}])),
                    community("d", json!([{"name": "x", "value": "1:2"}])),
                ],
                ..Resources::default()
            },
            vec![
                r#"Community "d": spec.communities[0].name: "x" is already defined at Community "c" spec.communities[0].name"#,
            ],
        ),
        (
            with_ads(vec![ad(
                "ad",
                json!({"communities": ["1:2:3", "1:99999", "large:1:2:x"]}),
            )]),
            vec![
                r#"BGPAdvertisement "ad": spec.communities[0]: "1:2:3": not a community (AS:VALUE or large:GLOBAL:LOCAL1:LOCAL2) nor the name of an alias defined in a Community"#,
                r#"BGPAdvertisement "ad": spec.communities[1]: "1:99999": invalid community: "99999" of "1:99999" is not a number between 0 and 65535"#,
                r#"BGPAdvertisement "ad": spec.communities[2]: "large:1:2:x": invalid community: "x" of "large:1:2:x" is not a number between 0 and 4294967295"#,
            ],
        ),
        (
            with_ads(vec![ad(
                "ad",
                json!({"aggregationLength": 16, "aggregationLengthV6": 48}),
            )]),
            vec![
                r#"BGPAdvertisement "ad": spec.aggregationLength: aggregation length 16 is shorter than the prefix length 24 of "10.0.0.0/24" in IPAddressPool "a""#,
                r#"BGPAdvertisement "ad": spec.aggregationLengthV6: aggregation length 48 is shorter than the prefix length 64 of "2001:db8::/64" in IPAddressPool "a""#,
            ],
        ),
        (
            with_ads(vec![ad(
                "ad",
                json!({"aggregationLength": -1, "aggregationLengthV6": 129}),
            )]),
            vec![
                r#"BGPAdvertisement "ad": spec.aggregationLength: -1 is out of range (0 to 32)"#,
                r#"BGPAdvertisement "ad": spec.aggregationLengthV6: 129 is out of range (0 to 128)"#,
            ],
        ),
        (
            with_ads(vec![ad(
                "ad",
                json!({"ipAddressPools": ["a", "a"], "peers": ["p", "p"]}),
            )]),
            vec![
                r#"BGPAdvertisement "ad": spec.ipAddressPools[1]: "a" is already defined at spec.ipAddressPools[0]"#,
                r#"BGPAdvertisement "ad": spec.peers[1]: "p" is already defined at spec.peers[0]"#,
            ],
        ),
        (
            with_ads(vec![ad(
                "ad",
                json!({"aggregationLength": 24, "serviceSelectors": [{"matchLabels": {"app": "web"}}]}),
            )]),
            vec![
                r#"BGPAdvertisement "ad": spec.aggregationLength: serviceSelectors and aggregationLength are mutually exclusive, can only be used together with default aggregationLength (32) and aggregationLengthV6 (128)"#,
            ],
        ),
        (
            with_ads(vec![ad("ad", json!({"asPathPrepend": 2}))]),
            vec![
                r#"BGPAdvertisement "ad": spec.asPathPrepend: asPathPrepend (MetalLB supports it in frr-k8s mode only) is not supported by ferrolb"#,
            ],
        ),
        (
            with_ads(vec![
                ad("high", json!({"localPref": 200})),
                ad("low", json!({"localPref": 100})),
            ]),
            vec![
                r#"BGPAdvertisement "low": spec.localPref: local preference 100 conflicts with local preference 200 of BGPAdvertisement "high" for the same prefixes of IPAddressPool "a" to the same peers from the same nodes"#,
            ],
        ),
    ];
    for (resources, want) in cases {
        assert_eq!(errors(&resources), want);
    }
}

#[test]
fn different_local_prefs_are_fine_when_the_updates_cannot_meet() {
    let cases = [
        // Different peers.
        json!([{"localPref": 200, "peers": ["p1"]}, {"localPref": 100, "peers": ["p2"]}]),
        // Nodes that cannot be the same.
        json!([
            {"localPref": 200, "nodeSelectors": [{"matchLabels": {"zone": "a"}}]},
            {"localPref": 100, "nodeSelectors": [{"matchLabels": {"zone": "b"}}]},
        ]),
        // Different prefix lengths for both families.
        json!([{"localPref": 200}, {"localPref": 100, "aggregationLength": 24, "aggregationLengthV6": 64}]),
        // Service selectors: the services may differ.
        json!([{"localPref": 200}, {"localPref": 100, "serviceSelectors": [{"matchLabels": {"app": "web"}}]}]),
    ];
    for specs in cases {
        let list = specs
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, s)| ad(&format!("ad{i}"), s.clone()))
            .collect();
        let parsed = lb_config::parse(&with_ads(list)).unwrap_or_else(|e| panic!("{specs}: {e}"));
        assert_eq!(
            parsed.config.pools["a"].bgp_advertisements.len(),
            2,
            "{specs}"
        );
    }
}

#[test]
fn bfd_errors_name_the_field() {
    let resources = Resources {
        bfd_profiles: vec![
            bfd("echo", json!({"echoMode": true})),
            bfd(
                "slow",
                json!({"detectMultiplier": 1, "receiveInterval": 70000}),
            ),
        ],
        peers: vec![
            peer("p", peer_with(json!({"bfdProfile": "echo"}))),
            peer(
                "q",
                peer_with(json!({"peerAddress": "10.0.0.2", "bfdProfile": "slow"})),
            ),
        ],
        ..with_ads(vec![ad("ad", json!({}))])
    };
    // Peer "q" names a profile that exists but is broken: only the profile's errors.
    assert_eq!(
        errors(&resources),
        [
            r#"BFDProfile "slow": spec.receiveInterval: 70000 is out of range (10 to 60000)"#,
            r#"BFDProfile "slow": spec.detectMultiplier: 1 is out of range (2 to 255)"#,
            r#"BGPAdvertisement "ad": spec.peers: peer "p" has BFD echo mode enabled (BFDProfile "echo"), which is not possible for the IPv6 addresses of IPAddressPool "a""#,
        ]
    );
}

#[test]
fn names_of_missing_pools_and_peers_are_warnings_as_metallb_ignores_them() {
    let resources = with_ads(vec![ad(
        "ad",
        json!({"ipAddressPools": ["a", "gone"], "peers": ["nobody"]}),
    )]);
    let parsed = lb_config::parse(&resources).unwrap();
    let warnings: Vec<String> = parsed.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            r#"BGPAdvertisement "ad": spec.peers[0]: BGPPeer "nobody" does not exist, so nothing is advertised to it"#,
            r#"BGPAdvertisement "ad": spec.ipAddressPools[1]: IPAddressPool "gone" does not exist, so nothing is advertised for it"#,
        ]
    );
    assert_eq!(
        parsed.config.pools["a"].bgp_advertisements[0].peers,
        ["nobody"]
    );
}

#[test]
fn advertisements_select_pools_by_name_by_label_or_all() {
    let mut labelled = pool("b", json!({"addresses": ["10.1.0.0/24"]}));
    labelled.metadata.labels = Some([("tier".to_string(), "front".to_string())].into());
    let resources = Resources {
        pools: vec![
            pool("a", json!({"addresses": ["10.0.0.0/24"]})),
            labelled,
            pool("c", json!({"addresses": ["10.2.0.0/24"]})),
        ],
        bgp_advertisements: vec![
            ad("all", json!({})),
            ad(
                "by-label",
                json!({"ipAddressPoolSelectors": [{"matchLabels": {"tier": "front"}}]}),
            ),
            ad("by-name", json!({"ipAddressPools": ["c"]})),
        ],
        l2_advertisements: vec![cr::<L2Advertisement>(
            "metallb.io/v1beta1",
            "L2Advertisement",
            "l2",
            json!({"ipAddressPools": ["a"]}),
        )],
        ..Resources::default()
    };
    let config = lb_config::parse(&resources).unwrap().config;
    let names = |p: &str| -> Vec<String> {
        config.pools[p]
            .bgp_advertisements
            .iter()
            .map(|a| a.name.clone())
            .collect()
    };
    assert_eq!(names("a"), ["all"]);
    assert_eq!(names("b"), ["all", "by-label"]);
    assert_eq!(names("c"), ["all", "by-name"]);
    assert_eq!(config.pools["a"].l2_advertisements.len(), 1);
    assert!(config.pools["b"].l2_advertisements.is_empty());
}

/// The `config` text of the tutorial's ConfigMap (seed/000), exactly.
fn tutorial() -> String {
    let cm: k8s_openapi::api::core::v1::ConfigMap =
        serde_saphyr::from_str(include_str!("../../manifests/example-config.yaml")).unwrap();
    cm.data.unwrap().remove("config").unwrap()
}

#[test]
fn the_tutorials_legacy_config_is_one_pool_and_one_peer() {
    let parsed = lb_config::parse(&legacy(&tutorial())).unwrap();
    assert_eq!(parsed.warnings, vec![]);
    let config = parsed.config;
    let pool = &config.pools["my-ip-space"];
    assert_eq!(pool.cidrs, ["198.51.100.0/24".parse().unwrap()]);
    assert!(pool.auto_assign);
    assert_eq!(pool.bgp_advertisements.len(), 1);
    assert_eq!(pool.bgp_advertisements[0].name, "bgpadvertisement1");
    let peer = &config.peers["peer1"];
    assert_eq!((peer.my_asn, peer.peer_asn), (64512, PeerAsn::Asn(64512)));
    assert_eq!(
        peer.address,
        "10.192.0.7".parse::<std::net::IpAddr>().unwrap()
    );
    assert_eq!(peer.port, 179);
    assert_eq!(
        (peer.hold_time, peer.keepalive_time),
        (Some(Duration::from_secs(90)), Some(Duration::from_secs(30))),
        "configmaptocrs gives legacy peers a 90 s hold time"
    );
    assert_eq!(config.peers.len(), 1);
    assert_eq!(config.pools.len(), 1);
}

/// configmaptocrs' own "full" test input, with the layer2 pool's protocol spelt as MetalLB
/// reads it.
const FULL: &str = r#"peers:
- peer-address: 10.0.0.1
  peer-asn: 64512
  my-asn: 64512
  peer-port: 179
  source-address: 10.0.0.2
  hold-time: 120s
  keepalive-time: 30s
  router-id: 1.2.3.4
  password: "yourPassword"
  bfd-profile: "bfdprofile1"
  ebgp-multihop: false
  node-selectors:
  - match-labels:
      kubernetes.io/hostname: prod-01
    match-expressions:
    - key: kubernetes.io/arch
      operator: In
      values: [amd64, arm]
address-pools:
- name: my-ip-space
  protocol: bgp
  addresses:
  - 192.168.10.0/24
  - 192.168.0.150-192.168.0.200
  avoid-buggy-ips: true
  auto-assign: true
  bgp-advertisements:
  - aggregation-length: 32
    aggregation-length-v6: 64
    localpref: 100
    communities:
    - 64512:1
    - no-export
- name: my-l2-space
  protocol: layer2
  addresses:
  - 192.168.11.0/24
  - 192.168.1.150-192.168.1.200
  avoid-buggy-ips: true
bgp-communities:
  no-export: 65535:65281
bfd-profiles:
- name: bfdprofile1
  receive-interval: 280
  transmit-interval: 270
  echo-interval: 62
  echo-mode: false
  passive-mode: false
  minimum-ttl: 254
  detect-multiplier: 200
"#;

#[test]
fn a_full_legacy_config_converts_as_configmaptocrs_converts_it() {
    let parsed = lb_config::parse(&legacy(FULL)).unwrap();
    assert_eq!(parsed.warnings, vec![]);
    let config = parsed.config;
    let bgp = &config.pools["my-ip-space"];
    assert!(bgp.avoid_buggy_ips && bgp.auto_assign);
    assert_eq!(bgp.cidrs.len(), 6);
    let ad = &bgp.bgp_advertisements[0];
    assert_eq!(
        (
            ad.aggregation_length,
            ad.aggregation_length_v6,
            ad.local_pref
        ),
        (32, 64, Some(100))
    );
    assert_eq!(
        ad.communities,
        [
            Value::Standard(64512 << 16 | 1),
            Value::Standard(0xffff_ff01)
        ]
        .into()
    );
    let l2 = &config.pools["my-l2-space"];
    assert!(l2.bgp_advertisements.is_empty());
    assert_eq!(l2.l2_advertisements[0].name, "l2advertisement1");
    let peer = &config.peers["peer1"];
    assert_eq!(peer.source_address, Some("10.0.0.2".parse().unwrap()));
    assert_eq!(peer.router_id, Some("1.2.3.4".parse().unwrap()));
    assert_eq!(peer.hold_time, Some(Duration::from_secs(120)));
    assert_eq!(peer.keepalive_time, Some(Duration::from_secs(30)));
    assert_eq!(peer.password.as_deref(), Some("yourPassword"));
    assert_eq!(peer.bfd_profile.as_deref(), Some("bfdprofile1"));
    assert_eq!(peer.node_selectors.len(), 1);
    let profile = &config.bfd_profiles["bfdprofile1"];
    assert_eq!(
        (profile.receive_interval, profile.detect_multiplier),
        (Some(280), Some(200))
    );
}

#[test]
fn legacy_errors_name_the_yaml_path() {
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (
            "address-pools:\n- name: a\n  protocol: bgp\n  addresses: [10.0.0.0/24, 10.0.0.9-10.0.0.1]\n",
            vec![
                r#"ConfigMap "config": address-pools[0].addresses[1]: "10.0.0.9-10.0.0.1": range start is after its end"#,
            ],
        ),
        (
            "peers:\n- my-asn: 64512\n  peer-asn: 64512\n  peer-address: 10.0.0.1\n  hold-time: 1s\n",
            vec![
                r#"ConfigMap "config": peers[0].hold-time: "1s": hold time must be 0 or at least 3s"#,
            ],
        ),
        (
            "peers:\n- my-asn: 0\n  peer-asn: 64512\n  peer-address: 10.0.0.1\n  node-selectors:\n  - match-expressions:\n    - key: zone\n      operator: Has\n      values: [a]\n",
            vec![
                r#"ConfigMap "config": peers[0].my-asn: 0 is not an AS number (1 to 4294967295)"#,
                r#"ConfigMap "config": peers[0].node-selectors[0].match-expressions[0].operator: invalid label selector: "Has" is not an operator (In, NotIn, Exists or DoesNotExist)"#,
            ],
        ),
        (
            "address-pools:\n- name: a\n  protocol: l2\n  addresses: [10.0.0.0/24]\n- protocol: bgp\n  addresses: [10.1.0.0/24]\n- name: c\n  addresses: [10.2.0.0/24]\n",
            vec![
                r#"ConfigMap "config": address-pools[0].protocol: unknown protocol "l2" (bgp or layer2)"#,
                r#"ConfigMap "config": address-pools[1].name: required, but not set"#,
                r#"ConfigMap "config": address-pools[2].protocol: required, but not set"#,
            ],
        ),
        (
            "address-pools:\n- name: a\n  protocol: layer2\n  addresses: [10.0.0.0/24]\n  bgp-advertisements:\n  - localpref: 100\n",
            vec![
                r#"ConfigMap "config": address-pools[0].bgp-advertisements: a layer2 pool cannot have bgp-advertisements"#,
            ],
        ),
        (
            "bgp-communities:\n  no-export: 65535:65281\n  bad: 1:x\naddress-pools:\n- name: a\n  protocol: bgp\n  addresses: [10.0.0.0/24]\n  bgp-advertisements:\n  - aggregation-length: 16\n    communities: [no-export, unknown]\n",
            vec![
                r#"ConfigMap "config": bgp-communities.bad: "1:x": invalid community: "x" of "1:x" is not a number between 0 and 65535"#,
                r#"ConfigMap "config": address-pools[0].bgp-advertisements[0].communities[1]: "unknown": not a community (AS:VALUE or large:GLOBAL:LOCAL1:LOCAL2) nor the name of an alias defined in a Community"#,
            ],
        ),
        (
            "address-pools:\n- name: a\n  protocol: bgp\n  addresses: [10.0.0.0/24]\n  bgp-advertisements:\n  - aggregation-length: 16\n",
            vec![
                r#"ConfigMap "config": address-pools[0].bgp-advertisements[0].aggregation-length: aggregation length 16 is shorter than the prefix length 24 of "10.0.0.0/24" in address-pools[0] of ConfigMap "config""#,
            ],
        ),
        (
            "address-pools:\n- name: a\n  protocol: bgp\n  addresses: [10.0.0.0/24]\n- name: a\n  protocol: bgp\n  addresses: [10.1.0.0/24]\n",
            vec![
                r#"ConfigMap "config": address-pools[1].name: "a" is already defined at ConfigMap "config" address-pools[0].name"#,
            ],
        ),
    ];
    for (text, want) in cases {
        assert_eq!(errors(&legacy(text)), want, "{text}");
    }
}

#[test]
fn a_legacy_pool_and_a_resource_of_the_same_name_are_a_duplicate() {
    let resources = Resources {
        pools: vec![pool("my-ip-space", json!({"addresses": ["10.0.0.0/24"]}))],
        ..legacy(&tutorial())
    };
    assert_eq!(
        errors(&resources),
        [
            r#"IPAddressPool "my-ip-space": metadata.name: "my-ip-space" is already defined at ConfigMap "config" address-pools[0].name"#
        ]
    );
}

#[test]
fn yaml_errors_carry_line_and_column() {
    let cases = [
        (
            "peers:\n- my-asn: banana\n",
            2,
            11,
            r#"ConfigMap "config": peers[0].my-asn: line 2, column 11: invalid u32"#,
        ),
        (
            "address-pools:\n- name: a\n  addresses: [10.0.0.0/24\n",
            3,
            14,
            r#"ConfigMap "config": address-pools[0].addresses: line 3, column 14: unclosed bracket '['"#,
        ),
        (
            "peers: 5\n",
            1,
            8,
            r#"ConfigMap "config": peers: line 1, column 8: expected sequence start"#,
        ),
        (
            "peers:\n- my-asn: 64512\n  my-asn: 64513\n",
            3,
            3,
            r#"ConfigMap "config": peers[0]: line 3, column 3: duplicate mapping key: my-asn"#,
        ),
    ];
    for (text, line, column, want) in cases {
        let errors = match lb_config::parse(&legacy(text)) {
            Ok(_) => panic!("{text:?} parsed"),
            Err(e) => e,
        };
        assert_eq!(errors.len(), 1, "{errors}");
        let e = &errors.0[0];
        match &e.problem {
            lb_config::Problem::Yaml {
                line: l, column: c, ..
            } => {
                assert_eq!((*l, *c), (line, column), "{text:?}: {e}");
            }
            other => panic!("{text:?}: not a YAML error: {other:?}"),
        }
        assert_eq!(e.to_string(), want, "{text:?}");
    }
}

#[test]
fn unknown_legacy_keys_are_warnings() {
    let text = "peers:\n- my-asn: 64512\n  peer-asn: 64512\n  peer-address: 10.0.0.1\n  peer-adress: 10.0.0.2\nbgp-peers: []\n";
    let parsed = lb_config::parse(&legacy(text)).unwrap();
    let warnings: Vec<String> = parsed.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            r#"ConfigMap "config": peers[0].peer-adress: unknown field, ignored"#,
            r#"ConfigMap "config": bgp-peers: unknown field, ignored"#,
        ]
    );
}

#[test]
fn an_empty_legacy_config_is_an_empty_config() {
    for text in ["", "\n", "# nothing yet\n"] {
        let parsed = lb_config::parse(&legacy(text)).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(parsed.config, lb_config::Config::default());
    }
}
