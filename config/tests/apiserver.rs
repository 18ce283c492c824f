//! The generated CRDs against a real kube-apiserver (`lab::Cluster`): they install, valid
//! objects of every kind are stored and read back into the expected `Config`, and broken
//! objects are refused at apply time with the message of their CEL rule, no webhook involved.
//!
//! Needs the control-plane binaries built by `lab/scripts/build-control-plane.sh`; without
//! them the tests fail with a message saying so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, Resource};
use lab::{Cluster, ClusterConfig};
use lb_config::crd::bfd_profile::BFDProfile;
use lb_config::crd::bgp_advertisement::BGPAdvertisement;
use lb_config::crd::bgp_peer::BGPPeer;
use lb_config::crd::community::Community;
use lb_config::crd::configuration_state::{ConfigurationResult, ConfigurationState};
use lb_config::crd::ip_address_pool::IPAddressPool;
use lb_config::crd::l2_advertisement::L2Advertisement;
use lb_config::crd::service_bgp_status::ServiceBGPStatus;
use lb_config::{Community as Value, Config, PeerAsn, Requirement, Resources, Selector};
use serde::de::DeserializeOwned;
use serde_json::json;

const NS: &str = "metallb-system";
const MANAGER: &str = "lb-config-test";

/// An apiserver with ferrolb's CRDs installed and established, and the `metallb-system`
/// namespace.
async fn cluster_with_crds() -> (Cluster, Client) {
    let cluster = match Cluster::start(ClusterConfig::apiserver_only()).await {
        Ok(c) => c,
        Err(e) => panic!("the cluster did not start: {e}"),
    };
    let client = cluster.client();
    if let Err(e) = lab::objects::install_crds(&client, lb_config::crd::definitions()).await {
        panic!("the apiserver refused a CRD: {e}");
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}})).unwrap();
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    (cluster, client)
}

/// The API of kind `K` in version `version`, for untyped objects.
fn dynamic<K: Resource<DynamicType = ()>>(client: &Client, version: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk(&K::group(&()), version, &K::kind(&()));
    let resource = ApiResource::from_gvk_with_plural(&gvk, &K::plural(&()));
    Api::namespaced_with(client.clone(), NS, &resource)
}

/// Applies `object` (JSON with apiVersion, kind and metadata.name) server-side.
async fn apply(api: &Api<DynamicObject>, object: serde_json::Value) -> Result<(), kube::Error> {
    let name = object["metadata"]["name"].as_str().unwrap().to_string();
    let object: DynamicObject = serde_json::from_value(object).unwrap();
    api.patch(
        &name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&object),
    )
    .await
    .map(|_| ())
}

/// Every object of kind `K` in the namespace, typed.
async fn list<K>(client: &Client) -> Vec<K>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    Api::<K>::namespaced(client.clone(), NS)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
}

fn object(api_version: &str, kind: &str, name: &str, spec: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, "spec": spec})
}

#[tokio::test]
async fn broken_objects_are_refused_at_apply_time_with_the_rule_message() {
    let (_cluster, client) = cluster_with_crds().await;
    let pools = dynamic::<IPAddressPool>(&client, "v1beta1");
    let peers = dynamic::<BGPPeer>(&client, "v1beta2");
    let old_peers = dynamic::<BGPPeer>(&client, "v1beta1");
    let ads = dynamic::<BGPAdvertisement>(&client, "v1beta1");
    let pool = |addresses: serde_json::Value| {
        object(
            "metallb.io/v1beta1",
            "IPAddressPool",
            "broken",
            json!({"addresses": addresses}),
        )
    };
    let peer = |spec: serde_json::Value| object("metallb.io/v1beta2", "BGPPeer", "broken", spec);
    let cases: Vec<(&Api<DynamicObject>, serde_json::Value, &str)> = vec![
        (
            &pools,
            pool(json!(["10.0.0.9-10.0.0.1"])),
            "the start of a range must not be after its end",
        ),
        (
            &pools,
            pool(json!(["2001:db8::9-2001:db8::1"])),
            "the start of a range must not be after its end",
        ),
        (
            &pools,
            pool(json!(["10.0.0.1-2001:db8::1"])),
            "both ends of a range must be of the same IP family",
        ),
        (
            &pools,
            pool(json!(["banana"])),
            "must be a CIDR such as 192.168.10.0/24",
        ),
        (
            &pools,
            pool(json!(["10.0.0.0/33"])),
            "must be a CIDR such as 192.168.10.0/24",
        ),
        (
            &pools,
            pool(json!(["10.0.0.1-foo"])),
            "a range must be two IP addresses joined by '-'",
        ),
        (
            &pools,
            pool(json!(["10.0.0.0/24", "10.0.1.5-10.0.1.4"])),
            "spec.addresses[1]",
        ),
        (
            &peers,
            peer(json!({"myASN": 0, "peerASN": 64512, "peerAddress": "10.0.0.1"})),
            "myASN must be an AS number between 1 and 4294967295",
        ),
        (
            &peers,
            peer(
                json!({"myASN": 64512, "peerASN": 64512, "dynamicASN": "internal", "peerAddress": "10.0.0.1"}),
            ),
            "exactly one of peerASN and dynamicASN must be set",
        ),
        (
            &peers,
            peer(json!({"myASN": 64512, "peerAddress": "10.0.0.1"})),
            "exactly one of peerASN and dynamicASN must be set",
        ),
        (
            &peers,
            peer(json!({"myASN": 64512, "peerASN": 64512})),
            "exactly one of peerAddress and interface must be set",
        ),
        (
            &peers,
            peer(
                json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.1", "holdTime": "1s"}),
            ),
            "holdTime must be 0 or at least 3s",
        ),
        (
            &peers,
            peer(
                json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.1", "holdTime": "ten"}),
            ),
            "holdTime must be a duration such as 90s or 1m30s",
        ),
        (
            &peers,
            peer(
                json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.1", "holdTime": "30s", "keepaliveTime": "60s"}),
            ),
            "keepaliveTime must not be longer than holdTime",
        ),
        (
            &peers,
            peer(
                json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.1", "password": "x", "passwordSecret": {"name": "s"}}),
            ),
            "password and passwordSecret are mutually exclusive",
        ),
        (
            &peers,
            peer(json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.300"})),
            "peerAddress must be an IPv4 or IPv6 address",
        ),
        (
            &peers,
            peer(
                json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.1", "routerID": "2001:db8::1"}),
            ),
            "routerID must be an IPv4 address",
        ),
        (
            &peers,
            peer(
                json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.1", "ebgpMultiHop": true}),
            ),
            "ebgpMultiHop cannot be set for an iBGP peer",
        ),
        (
            &peers,
            peer(
                json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.1", "connectTime": "0.5s"}),
            ),
            "connect time should be between 1 seconds to 65535",
        ),
        (
            &peers,
            peer(json!({"myASN": 64512, "peerASN": 4294967296u64, "peerAddress": "10.0.0.1"})),
            "should be less than or equal to 4294967295",
        ),
        (
            &old_peers,
            object(
                "metallb.io/v1beta1",
                "BGPPeer",
                "broken",
                json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.1", "holdTime": "2s"}),
            ),
            "holdTime must be 0 or at least 3s",
        ),
        (
            &old_peers,
            object(
                "metallb.io/v1beta1",
                "BGPPeer",
                "broken",
                json!({"myASN": 64512, "peerASN": 0, "peerAddress": "10.0.0.1"}),
            ),
            "peerASN must be an AS number between 1 and 4294967295",
        ),
        (
            &ads,
            object(
                "metallb.io/v1beta1",
                "BGPAdvertisement",
                "broken",
                json!({"aggregationLength": 33}),
            ),
            "should be less than or equal to 32",
        ),
        (
            &ads,
            object(
                "metallb.io/v1beta1",
                "BGPAdvertisement",
                "broken",
                json!({"aggregationLengthV6": 129}),
            ),
            "should be less than or equal to 128",
        ),
        (
            &ads,
            object(
                "metallb.io/v1beta1",
                "BGPAdvertisement",
                "broken",
                json!({"aggregationLength": 24, "serviceSelectors": [{"matchLabels": {"a": "b"}}]}),
            ),
            "serviceSelectors and aggregationLength are mutually exclusive",
        ),
    ];
    // The whole message, as `kubectl apply` prints it.
    match apply(&pools, pool(json!(["10.0.0.0/24", "10.0.1.5-10.0.1.4"]))).await {
        Err(kube::Error::Api(status)) => assert_eq!(
            status.message,
            "IPAddressPool.metallb.io \"broken\" is invalid: spec.addresses[1]: Invalid value: \
             \"10.0.1.5-10.0.1.4\": the start of a range must not be after its end"
        ),
        other => panic!("a reversed range was not refused: {other:?}"),
    }
    let mut failures = Vec::new();
    for (api, obj, want) in cases {
        match apply(api, obj.clone()).await {
            Err(kube::Error::Api(status))
                if status.code == 422 && status.message.contains(want) => {}
            other => failures.push(format!(
                "{obj}\n  wanted a 422 containing {want:?}, got {other:?}"
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // What MetalLB accepts stays accepted: spaces around a range, a single-address range,
    // host bits in a CIDR, an IPv6 range, a hold time of 0 or one that rounds down to 0.
    let fine: Vec<(&Api<DynamicObject>, serde_json::Value)> = vec![
        (
            &pools,
            pool(json!([
                "10.1.0.1 - 10.1.0.1",
                "10.1.1.5/24",
                "2001:db8::1-2001:db8::ff",
                "2001:db8:1::/64",
                "10.1.2.9-10.1.2.10"
            ])),
        ),
        (
            &peers,
            peer(
                json!({"myASN": 64512, "peerASN": 64513, "peerAddress": "10.0.0.1", "holdTime": "0s"}),
            ),
        ),
        (
            &peers,
            peer(
                json!({"myASN": 64512, "peerASN": 64513, "peerAddress": "10.0.0.1", "holdTime": "0.5s", "keepaliveTime": "100ms"}),
            ),
        ),
        (
            &peers,
            peer(
                json!({"myASN": 64512, "dynamicASN": "external", "peerAddress": "2001:db8::1", "holdTime": "1m30s", "connectTime": "10s"}),
            ),
        ),
    ];
    for (api, obj) in fine {
        if let Err(e) = apply(api, obj.clone()).await {
            panic!("{obj} was refused: {e}");
        }
    }
}

/// Reads every kind back, typed, as the controller will.
async fn resources(client: &Client) -> Resources {
    Resources {
        pools: list::<IPAddressPool>(client).await,
        peers: list::<BGPPeer>(client).await,
        bgp_advertisements: list::<BGPAdvertisement>(client).await,
        l2_advertisements: list::<L2Advertisement>(client).await,
        communities: list::<Community>(client).await,
        bfd_profiles: list::<BFDProfile>(client).await,
        legacy_config: None,
    }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn stored_objects_of_every_kind_read_back_into_the_expected_config() {
    let (_cluster, client) = cluster_with_crds().await;
    let v1beta1 = "metallb.io/v1beta1";
    let mut front = object(
        v1beta1,
        "IPAddressPool",
        "front",
        json!({
            "addresses": ["10.10.0.0/24", "10.10.1.10-10.10.1.20", "2001:db8:1::/64"],
            "serviceAllocation": {
                "priority": 10,
                "namespaces": ["prod"],
                "serviceSelectors": [{"matchLabels": {"app": "web"}}],
            },
        }),
    );
    front["metadata"]["labels"] = json!({"tier": "front"});
    let applies: Vec<(Api<DynamicObject>, serde_json::Value)> = vec![
        (dynamic::<IPAddressPool>(&client, "v1beta1"), front),
        (
            dynamic::<IPAddressPool>(&client, "v1beta1"),
            object(
                v1beta1,
                "IPAddressPool",
                "back",
                json!({
                    "addresses": ["10.20.0.0/24"], "autoAssign": false, "avoidBuggyIPs": true,
                }),
            ),
        ),
        (
            dynamic::<BFDProfile>(&client, "v1beta1"),
            object(
                v1beta1,
                "BFDProfile",
                "fast",
                json!({
                    "receiveInterval": 100, "transmitInterval": 100, "detectMultiplier": 3,
                }),
            ),
        ),
        (
            dynamic::<BGPPeer>(&client, "v1beta2"),
            object(
                "metallb.io/v1beta2",
                "BGPPeer",
                "router",
                json!({
                    "myASN": 64512, "peerASN": 64513, "peerAddress": "10.0.0.1",
                    "holdTime": "90s", "keepaliveTime": "30s", "bfdProfile": "fast",
                    "nodeSelectors": [{"matchLabels": {"rack": "r1"}}],
                    "passwordSecret": {"name": "bgp-password"},
                }),
            ),
        ),
        (
            dynamic::<BGPPeer>(&client, "v1beta2"),
            object(
                "metallb.io/v1beta2",
                "BGPPeer",
                "dynamic",
                json!({
                    "myASN": 64512, "dynamicASN": "internal", "peerAddress": "10.0.0.2",
                }),
            ),
        ),
        (
            dynamic::<Community>(&client, "v1beta1"),
            object(
                v1beta1,
                "Community",
                "aliases",
                json!({
                    "communities": [{"name": "no-export", "value": "65535:65281"}],
                }),
            ),
        ),
        (
            dynamic::<BGPAdvertisement>(&client, "v1beta1"),
            object(
                v1beta1,
                "BGPAdvertisement",
                "front",
                json!({
                    "localPref": 100,
                    "communities": ["no-export", "64512:7", "large:64512:1:2"],
                    "ipAddressPoolSelectors": [{"matchLabels": {"tier": "front"}}],
                    "peers": ["router"],
                }),
            ),
        ),
        (
            dynamic::<BGPAdvertisement>(&client, "v1beta1"),
            object(
                v1beta1,
                "BGPAdvertisement",
                "everywhere",
                json!({"peers": ["dynamic"]}),
            ),
        ),
        (
            dynamic::<L2Advertisement>(&client, "v1beta1"),
            object(
                v1beta1,
                "L2Advertisement",
                "l2",
                json!({
                    "ipAddressPools": ["back"], "interfaces": ["eth0"],
                }),
            ),
        ),
    ];
    for (api, obj) in applies {
        if let Err(e) = apply(&api, obj.clone()).await {
            panic!("{obj} was refused: {e}");
        }
    }

    let parsed = match lb_config::parse(&resources(&client).await) {
        Ok(p) => p,
        Err(errors) => panic!("the stored objects do not parse:\n{errors}"),
    };
    assert_eq!(parsed.warnings, vec![]);
    let config = parsed.config;

    // Defaults come from the CRDs' schemas, applied by the apiserver.
    let everywhere = lb_config::BgpAdvertisement {
        name: "everywhere".into(),
        aggregation_length: 32,
        aggregation_length_v6: 128,
        local_pref: None,
        communities: BTreeSet::new(),
        node_selectors: vec![],
        peers: vec!["dynamic".into()],
        service_selectors: vec![],
    };
    let front_ad = lb_config::BgpAdvertisement {
        name: "front".into(),
        local_pref: Some(100),
        communities: [
            Value::Standard(0xffff_ff01),
            Value::Standard(64512 << 16 | 7),
            Value::Large(64512, 1, 2),
        ]
        .into(),
        peers: vec!["router".into()],
        ..everywhere.clone()
    };
    let want = Config {
        pools: [
            (
                "back".to_string(),
                lb_config::Pool {
                    name: "back".into(),
                    cidrs: vec!["10.20.0.0/24".parse().unwrap()],
                    avoid_buggy_ips: true,
                    auto_assign: false,
                    service_allocation: None,
                    bgp_advertisements: vec![everywhere.clone()],
                    l2_advertisements: vec![lb_config::L2Advertisement {
                        name: "l2".into(),
                        node_selectors: vec![],
                        interfaces: vec!["eth0".into()],
                        service_selectors: vec![],
                    }],
                },
            ),
            (
                "front".to_string(),
                lb_config::Pool {
                    name: "front".into(),
                    cidrs: [
                        "10.10.0.0/24",
                        "10.10.1.10/31",
                        "10.10.1.12/30",
                        "10.10.1.16/30",
                        "10.10.1.20/32",
                        "2001:db8:1::/64",
                    ]
                    .iter()
                    .map(|c| c.parse().unwrap())
                    .collect(),
                    avoid_buggy_ips: false,
                    auto_assign: true,
                    service_allocation: Some(lb_config::ServiceAllocation {
                        priority: 10,
                        namespaces: ["prod".to_string()].into(),
                        namespace_selectors: vec![],
                        service_selectors: vec![Selector {
                            match_labels: labels(&[("app", "web")]),
                            match_expressions: vec![],
                        }],
                    }),
                    bgp_advertisements: vec![everywhere, front_ad],
                    l2_advertisements: vec![],
                },
            ),
        ]
        .into(),
        peers: [
            (
                "dynamic".to_string(),
                lb_config::Peer {
                    name: "dynamic".into(),
                    my_asn: 64512,
                    peer_asn: PeerAsn::Internal,
                    address: "10.0.0.2".parse().unwrap(),
                    port: 179,
                    source_address: None,
                    hold_time: None,
                    keepalive_time: None,
                    connect_time: None,
                    router_id: None,
                    node_selectors: vec![],
                    password: None,
                    password_secret: None,
                    bfd_profile: None,
                    enable_graceful_restart: false,
                    ebgp_multihop: false,
                    vrf: None,
                    dual_stack_address_family: false,
                },
            ),
            (
                "router".to_string(),
                lb_config::Peer {
                    name: "router".into(),
                    my_asn: 64512,
                    peer_asn: PeerAsn::Asn(64513),
                    address: "10.0.0.1".parse().unwrap(),
                    port: 179,
                    source_address: None,
                    hold_time: Some(Duration::from_secs(90)),
                    keepalive_time: Some(Duration::from_secs(30)),
                    connect_time: None,
                    router_id: None,
                    node_selectors: vec![Selector {
                        match_labels: labels(&[("rack", "r1")]),
                        match_expressions: vec![],
                    }],
                    password: None,
                    password_secret: Some(lb_config::SecretRef {
                        name: "bgp-password".into(),
                        namespace: None,
                    }),
                    bfd_profile: Some("fast".into()),
                    enable_graceful_restart: false,
                    ebgp_multihop: false,
                    vrf: None,
                    dual_stack_address_family: false,
                },
            ),
        ]
        .into(),
        bfd_profiles: [(
            "fast".to_string(),
            lb_config::BfdProfile {
                name: "fast".into(),
                receive_interval: Some(100),
                transmit_interval: Some(100),
                detect_multiplier: Some(3),
                ..Default::default()
            },
        )]
        .into(),
    };
    assert_eq!(config, want);
}

#[tokio::test]
async fn status_only_kinds_and_pool_counters_are_written_through_the_status_subresource() {
    let (_cluster, client) = cluster_with_crds().await;
    let pools = dynamic::<IPAddressPool>(&client, "v1beta1");
    apply(
        &pools,
        object(
            "metallb.io/v1beta1",
            "IPAddressPool",
            "p",
            json!({"addresses": ["10.0.0.0/30"]}),
        ),
    )
    .await
    .unwrap();
    let status = json!({
        "apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "p"},
        "status": {"assignedIPv4": 1, "assignedIPv6": 0, "availableIPv4": 3, "availableIPv6": 0},
    });
    Api::<IPAddressPool>::namespaced(client.clone(), NS)
        .patch_status(
            "p",
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&status),
        )
        .await
        .unwrap();
    let pool = Api::<IPAddressPool>::namespaced(client.clone(), NS)
        .get("p")
        .await
        .unwrap();
    let counters = pool.status.unwrap();
    assert_eq!((counters.assigned_ipv4, counters.available_ipv4), (1, 3));
    assert_eq!(pool.spec.auto_assign, Some(true), "the schema's default");

    let states = Api::<ConfigurationState>::namespaced(client.clone(), NS);
    let state = json!({
        "apiVersion": "metallb.io/v1beta1", "kind": "ConfigurationState",
        "metadata": {"name": "controller", "labels": {"metallb.io/component-type": "controller"}},
    });
    states
        .patch(
            "controller",
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&state),
        )
        .await
        .unwrap();
    let status = json!({
        "apiVersion": "metallb.io/v1beta1", "kind": "ConfigurationState", "metadata": {"name": "controller"},
        "status": {"result": "Invalid", "errorSummary": "IPAddressPool \"b\": spec.addresses[0]: overlap"},
    });
    states
        .patch_status(
            "controller",
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&status),
        )
        .await
        .unwrap();
    let state = states.get("controller").await.unwrap();
    let status = state.status.unwrap();
    assert_eq!(status.result, Some(ConfigurationResult::Invalid));
    assert!(status.error_summary.contains("overlap"));

    let statuses = Api::<ServiceBGPStatus>::namespaced(client.clone(), NS);
    let obj = json!({
        "apiVersion": "metallb.io/v1beta1", "kind": "ServiceBGPStatus", "metadata": {"name": "web-node1"},
        "spec": {},
    });
    statuses
        .patch(
            "web-node1",
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&obj),
        )
        .await
        .unwrap();
    let status = |node: &str| {
        json!({
            "apiVersion": "metallb.io/v1beta1", "kind": "ServiceBGPStatus", "metadata": {"name": "web-node1"},
            "status": {"node": node, "serviceName": "web", "serviceNamespace": "default", "peers": ["router"]},
        })
    };
    statuses
        .patch_status(
            "web-node1",
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&status("node1")),
        )
        .await
        .unwrap();
    let stored = statuses.get("web-node1").await.unwrap().status.unwrap();
    assert_eq!(
        (stored.node.as_str(), stored.peers.clone()),
        ("node1", vec!["router".to_string()])
    );
    match statuses
        .patch_status(
            "web-node1",
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&status("node2")),
        )
        .await
    {
        Err(kube::Error::Api(s)) => {
            assert!(s.message.contains("Value is immutable"), "{}", s.message)
        }
        other => panic!("the node of a ServiceBGPStatus changed: {other:?}"),
    }
}

#[tokio::test]
async fn a_v1beta1_peer_is_served_and_read_as_v1beta2() {
    let (_cluster, client) = cluster_with_crds().await;
    let old = dynamic::<BGPPeer>(&client, "v1beta1");
    apply(
        &old,
        object("metallb.io/v1beta1", "BGPPeer", "old", json!({
            "myASN": 64512, "peerASN": 64513, "peerAddress": "10.0.0.9", "holdTime": "1m",
            "nodeSelectors": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}],
        })),
    )
    .await
    .unwrap();
    let peers = list::<BGPPeer>(&client).await;
    assert_eq!(peers.len(), 1);
    let parsed = lb_config::parse(&Resources {
        peers,
        ..Resources::default()
    })
    .unwrap();
    let peer = &parsed.config.peers["old"];
    assert_eq!((peer.peer_asn, peer.port), (PeerAsn::Asn(64513), 179));
    assert_eq!(peer.hold_time, Some(Duration::from_secs(60)));
    assert_eq!(peer.keepalive_time, Some(Duration::from_secs(20)));
    assert_eq!(
        peer.node_selectors,
        vec![Selector {
            match_labels: BTreeMap::new(),
            match_expressions: vec![Requirement::In("zone".into(), vec!["a".into()])],
        }]
    );
    // And back: a v1beta2 object reads as v1beta1 without its v1beta2-only fields.
    let v2 = dynamic::<BGPPeer>(&client, "v1beta2");
    apply(
        &v2,
        object(
            "metallb.io/v1beta2",
            "BGPPeer",
            "new",
            json!({
                "myASN": 64512, "peerASN": 64513, "peerAddress": "10.0.0.8", "vrf": "red",
            }),
        ),
    )
    .await
    .unwrap();
    let read: lb_config::crd::bgp_peer::v1beta1::BGPPeer = Api::namespaced(client.clone(), NS)
        .get("new")
        .await
        .unwrap();
    assert_eq!(read.spec.peer_address, "10.0.0.8");
}

/// The ConfigMap of the tutorial (seed/000), exactly: manifests/example-config.yaml.
const TUTORIAL_CONFIGMAP: &str = include_str!("../../manifests/example-config.yaml");

#[tokio::test]
async fn the_tutorials_configmap_read_from_the_apiserver_parses_to_its_pool_and_peer() {
    let (_cluster, client) = cluster_with_crds().await;
    let cm: ConfigMap = serde_saphyr::from_str(TUTORIAL_CONFIGMAP).unwrap();
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), NS);
    maps.create(&PostParams::default(), &cm).await.unwrap();
    let stored = maps.get("config").await.unwrap();
    let text = stored.data.unwrap().remove("config");
    let parsed = lb_config::parse(&Resources {
        legacy_config: text,
        ..resources(&client).await
    })
    .unwrap();
    assert_eq!(parsed.warnings, vec![]);
    let config = parsed.config;
    assert_eq!(config.pools.keys().collect::<Vec<_>>(), ["my-ip-space"]);
    let pool = &config.pools["my-ip-space"];
    assert_eq!(
        pool.cidrs,
        vec!["198.51.100.0/24".parse::<ipnet::IpNet>().unwrap()]
    );
    assert!(pool.auto_assign && !pool.avoid_buggy_ips);
    assert_eq!(pool.bgp_advertisements.len(), 1);
    assert_eq!(pool.bgp_advertisements[0].aggregation_length, 32);
    assert_eq!(config.peers.keys().collect::<Vec<_>>(), ["peer1"]);
    let peer = &config.peers["peer1"];
    assert_eq!(
        peer.address,
        "10.192.0.7".parse::<std::net::IpAddr>().unwrap()
    );
    assert_eq!((peer.my_asn, peer.peer_asn), (64512, PeerAsn::Asn(64512)));
    assert_eq!(
        (peer.port, peer.hold_time),
        (179, Some(Duration::from_secs(90)))
    );
}

/// Address entries: the apiserver's CEL rules and `lb_config::parse` accept exactly the same.
#[tokio::test]
async fn the_apiserver_and_parse_agree_on_every_address_entry() {
    let (_cluster, client) = cluster_with_crds().await;
    let pools = dynamic::<IPAddressPool>(&client, "v1beta1");
    let entries = [
        "10.0.0.0/8",
        "10.0.0.5/24",
        "0.0.0.0/0",
        "::/0",
        "2001:db8::/32",
        "10.0.0.1/32",
        "10.0.0.0-10.0.0.0",
        "10.0.0.255-10.0.1.0",
        "10.0.1.0-10.0.0.255",
        "10.0.0.10-10.0.0.9",
        "9.255.255.255-10.0.0.0",
        "0.0.0.0-255.255.255.255",
        "255.255.255.255-0.0.0.0",
        " 10.0.0.1 - 10.0.0.2 ",
        "::-::1",
        "::1-::",
        "2001:db8::ff-2001:db8::1:0",
        "2001:db8::1:0-2001:db8::ff",
        "2001:db8:0:0:1::-2001:db8::ffff",
        "2001:DB8::1-2001:db8::2",
        "fe80::1-fe80::1",
        "2001:db8::7-2001:db8::7",
        "255.255.255.255-255.255.255.255",
        "ffff::-ffff::fffe",
        "8000::-7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "10.0.0.1-::1",
        "10.0.0.1",
        "10.0.0.1-",
        "-10.0.0.1",
        "a-b",
        "10.0.0.0/24 ",
        "10.0.0.1-10.0.0.2-10.0.0.3",
        "",
    ];
    let mut disagreements = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let name = format!("entry-{i}");
        let obj = object(
            "metallb.io/v1beta1",
            "IPAddressPool",
            &name,
            json!({"addresses": [entry]}),
        );
        let by_apiserver = match apply(&pools, obj).await {
            Ok(()) => true,
            Err(kube::Error::Api(s)) if s.code == 422 => false,
            Err(e) => panic!("{entry:?}: {e}"),
        };
        let pool: IPAddressPool = serde_json::from_value(object(
            "metallb.io/v1beta1",
            "IPAddressPool",
            &name,
            json!({"addresses": [entry]}),
        ))
        .unwrap();
        let by_parse = lb_config::parse(&Resources {
            pools: vec![pool],
            ..Resources::default()
        })
        .is_ok();
        if by_apiserver != by_parse {
            disagreements.push(format!(
                "{entry:?}: apiserver {by_apiserver}, parse {by_parse}"
            ));
        }
        if by_apiserver {
            Api::<IPAddressPool>::namespaced(client.clone(), NS)
                .delete(&name, &Default::default())
                .await
                .unwrap();
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[tokio::test]
async fn advertisements_without_a_spec_as_in_metallbs_examples_get_an_empty_one() {
    let (_cluster, client) = cluster_with_crds().await;
    let bare = |kind: &str, name: &str| json!({"apiVersion": "metallb.io/v1beta1", "kind": kind, "metadata": {"name": name}});
    apply(
        &dynamic::<IPAddressPool>(&client, "v1beta1"),
        object(
            "metallb.io/v1beta1",
            "IPAddressPool",
            "p",
            json!({"addresses": ["10.0.0.0/24"]}),
        ),
    )
    .await
    .unwrap();
    apply(
        &dynamic::<BGPAdvertisement>(&client, "v1beta1"),
        bare("BGPAdvertisement", "example"),
    )
    .await
    .unwrap();
    apply(
        &dynamic::<L2Advertisement>(&client, "v1beta1"),
        bare("L2Advertisement", "example"),
    )
    .await
    .unwrap();
    apply(
        &dynamic::<Community>(&client, "v1beta1"),
        bare("Community", "none"),
    )
    .await
    .unwrap();
    let ads = list::<BGPAdvertisement>(&client).await;
    assert_eq!(
        ads[0].spec.aggregation_length,
        Some(32),
        "the schema's default, in the stored empty spec"
    );
    let config = lb_config::parse(&resources(&client).await).unwrap().config;
    let pool = &config.pools["p"];
    assert_eq!(pool.bgp_advertisements.len(), 1);
    assert_eq!(pool.l2_advertisements.len(), 1);
    // A pool without a spec stays refused, as in MetalLB.
    match apply(
        &dynamic::<IPAddressPool>(&client, "v1beta1"),
        bare("IPAddressPool", "bare"),
    )
    .await
    {
        Err(kube::Error::Api(s)) => {
            assert!(s.message.contains("spec: Required value"), "{}", s.message)
        }
        other => panic!("a pool without spec was stored: {other:?}"),
    }
}
