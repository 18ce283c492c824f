//! The generated CRDs against a real kube-apiserver (`lab::Cluster`): they install, valid
//! objects of every kind are stored and read back into the expected `Config`, and broken
//! objects are refused at apply time with the message of their CEL rule, no webhook involved.
//!
//! Needs the control-plane binaries built by `lab/scripts/build-control-plane.sh`; without
//! them the tests fail with a message saying so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
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

/// Polls `f` every 100 ms until it yields a value, panicking with `what` after `timeout`.
async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An apiserver with ferrolb's CRDs installed and established, and the `metallb-system`
/// namespace.
async fn cluster_with_crds() -> (Cluster, Client) {
    let cluster = match Cluster::start(ClusterConfig::apiserver_only()).await {
        Ok(c) => c,
        Err(e) => panic!("the cluster did not start: {e}"),
    };
    let client = cluster.client();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in lb_config::crd::definitions() {
        let name = crd.metadata.name.clone().unwrap();
        if let Err(e) = crds
            .patch(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&crd))
            .await
        {
            panic!("the apiserver refused CRD {name}: {e}");
        }
    }
    for crd in lb_config::crd::definitions() {
        let name = crd.metadata.name.clone().unwrap();
        eventually(&format!("CRD {name} to be established"), Duration::from_secs(30), || {
            let crds = crds.clone();
            let name = name.clone();
            async move {
                let crd = crds.get(&name).await.ok()?;
                let established = crd.status?.conditions?.iter().any(|c| {
                    c.type_ == "Established" && c.status == "True"
                });
                established.then_some(())
            }
        })
        .await;
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}})).unwrap();
    namespaces.create(&PostParams::default(), &ns).await.unwrap();
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
    api.patch(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&object))
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
        object("metallb.io/v1beta1", "IPAddressPool", "broken", json!({"addresses": addresses}))
    };
    let peer = |spec: serde_json::Value| object("metallb.io/v1beta2", "BGPPeer", "broken", spec);
    let cases: Vec<(&Api<DynamicObject>, serde_json::Value, &str)> = vec![
        (&pools, pool(json!(["10.0.0.9-10.0.0.1"])), "the start of a range must not be after its end"),
        (&pools, pool(json!(["2001:db8::9-2001:db8::1"])), "the start of a range must not be after its end"),
        (&pools, pool(json!(["10.0.0.1-2001:db8::1"])), "both ends of a range must be of the same IP family"),
        (&pools, pool(json!(["banana"])), "must be a CIDR such as 192.168.10.0/24"),
        (&pools, pool(json!(["10.0.0.0/33"])), "must be a CIDR such as 192.168.10.0/24"),
        (&pools, pool(json!(["10.0.0.1-foo"])), "a range must be two IP addresses joined by '-'"),
        (&pools, pool(json!(["10.0.0.0/24", "10.0.1.5-10.0.1.4"])), "spec.addresses[1]"),
        (&peers, peer(json!({"myASN": 0, "peerASN": 64512, "peerAddress": "10.0.0.1"})), "myASN must be an AS number between 1 and 4294967295"),
        (&peers, peer(json!({"myASN": 64512, "peerASN": 64512, "dynamicASN": "internal", "peerAddress": "10.0.0.1"})), "exactly one of peerASN and dynamicASN must be set"),
        (&peers, peer(json!({"myASN": 64512, "peerAddress": "10.0.0.1"})), "exactly one of peerASN and dynamicASN must be set"),
        (&peers, peer(json!({"myASN": 64512, "peerASN": 64512})), "exactly one of peerAddress and interface must be set"),
        (&peers, peer(json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.1", "holdTime": "1s"})), "holdTime must be 0 or at least 3s"),
        (&peers, peer(json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.1", "holdTime": "ten"})), "holdTime must be a duration such as 90s or 1m30s"),
        (&peers, peer(json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.1", "holdTime": "30s", "keepaliveTime": "60s"})), "keepaliveTime must not be longer than holdTime"),
        (&peers, peer(json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.1", "password": "x", "passwordSecret": {"name": "s"}})), "password and passwordSecret are mutually exclusive"),
        (&peers, peer(json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.300"})), "peerAddress must be an IPv4 or IPv6 address"),
        (&peers, peer(json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.1", "routerID": "2001:db8::1"})), "routerID must be an IPv4 address"),
        (&peers, peer(json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.1", "ebgpMultiHop": true})), "ebgpMultiHop cannot be set for an iBGP peer"),
        (&peers, peer(json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.1", "connectTime": "0.5s"})), "connect time should be between 1 seconds to 65535"),
        (&peers, peer(json!({"myASN": 64512, "peerASN": 4294967296u64, "peerAddress": "10.0.0.1"})), "should be less than or equal to 4294967295"),
        (&old_peers, object("metallb.io/v1beta1", "BGPPeer", "broken", json!({"myASN": 64512, "peerASN": 64512, "peerAddress": "10.0.0.1", "holdTime": "2s"})), "holdTime must be 0 or at least 3s"),
        (&old_peers, object("metallb.io/v1beta1", "BGPPeer", "broken", json!({"myASN": 64512, "peerASN": 0, "peerAddress": "10.0.0.1"})), "peerASN must be an AS number between 1 and 4294967295"),
        (&ads, object("metallb.io/v1beta1", "BGPAdvertisement", "broken", json!({"aggregationLength": 33})), "should be less than or equal to 32"),
        (&ads, object("metallb.io/v1beta1", "BGPAdvertisement", "broken", json!({"aggregationLengthV6": 129})), "should be less than or equal to 128"),
        (&ads, object("metallb.io/v1beta1", "BGPAdvertisement", "broken", json!({"aggregationLength": 24, "serviceSelectors": [{"matchLabels": {"a": "b"}}]})), "serviceSelectors and aggregationLength are mutually exclusive"),
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
            Err(kube::Error::Api(status)) if status.code == 422 && status.message.contains(want) => {}
            other => failures.push(format!("{obj}\n  wanted a 422 containing {want:?}, got {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // What MetalLB accepts stays accepted: spaces around a range, a single-address range,
    // host bits in a CIDR, an IPv6 range, a hold time of 0 or one that rounds down to 0.
    let fine: Vec<(&Api<DynamicObject>, serde_json::Value)> = vec![
        (&pools, pool(json!(["10.1.0.1 - 10.1.0.1", "10.1.1.5/24", "2001:db8::1-2001:db8::ff", "2001:db8:1::/64", "10.1.2.9-10.1.2.10"]))),
        (&peers, peer(json!({"myASN": 64512, "peerASN": 64513, "peerAddress": "10.0.0.1", "holdTime": "0s"}))),
        (&peers, peer(json!({"myASN": 64512, "peerASN": 64513, "peerAddress": "10.0.0.1", "holdTime": "0.5s", "keepaliveTime": "100ms"}))),
        (&peers, peer(json!({"myASN": 64512, "dynamicASN": "external", "peerAddress": "2001:db8::1", "holdTime": "1m30s", "connectTime": "10s"}))),
    ];
    for (api, obj) in fine {
        if let Err(e) = apply(api, obj.clone()).await {
            panic!("{obj} was refused: {e}");
        }
    }
}
