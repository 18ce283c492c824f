//! Builders for the table tests of the pure modules: configurations from `metallb.io` objects
//! written as JSON (parsed and validated by `lb_config`, as in a cluster), Nodes, Services,
//! EndpointSlices and Secrets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use k8s_openapi::api::core::v1::{Node, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub use lab::objects::merge;
/// The tutorial's legacy ConfigMap text.
pub use lab::seed::TUTORIAL_CONFIG as TUTORIAL;

use crate::node::NodeState;

fn from<T: DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("test object")
}

/// A validated configuration from custom resources (`kind` and `spec` each; the name is
/// `metadata.name`) and an optional legacy ConfigMap text.
pub fn config(objects: &[Value], legacy: Option<&str>) -> lb_config::Config {
    let mut r = lb_config::Resources {
        legacy_config: legacy.map(str::to_owned),
        ..Default::default()
    };
    for o in objects {
        let mut o = o.clone();
        o["metadata"]["namespace"] = json!("metallb-system");
        match o["kind"].as_str() {
            Some("IPAddressPool") => r.pools.push(from(o)),
            Some("BGPPeer") => r.peers.push(from(o)),
            Some("BGPAdvertisement") => r.bgp_advertisements.push(from(o)),
            Some("Community") => r.communities.push(from(o)),
            Some("BFDProfile") => r.bfd_profiles.push(from(o)),
            other => panic!("test object of kind {other:?}"),
        }
    }
    match lb_config::parse(&r) {
        Ok(p) => p.config,
        Err(e) => panic!("test configuration does not validate:\n{e}"),
    }
}

/// A `metallb.io` object of `kind` named `name` with `spec`.
pub fn cr(kind: &str, name: &str, spec: Value) -> Value {
    let version = if kind == "BGPPeer" {
        "v1beta2"
    } else {
        "v1beta1"
    };
    json!({"apiVersion": format!("metallb.io/{version}"), "kind": kind, "metadata": {"name": name}, "spec": spec})
}

/// A node named `name` with these labels and an InternalIP per address.
pub fn node(name: &str, labels: &[(&str, &str)], addresses: &[&str]) -> NodeState {
    let labels: serde_json::Map<String, Value> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    let addresses: Vec<Value> = addresses
        .iter()
        .map(|a| json!({"type": "InternalIP", "address": a}))
        .collect();
    NodeState::from_node(&from::<Node>(json!({
        "metadata": {"name": name, "labels": labels},
        "status": {"addresses": addresses},
    })))
}

/// A Secret of `type_` in `metallb-system` with these data keys (values in clear).
pub fn secret(name: &str, type_: &str, data: &[(&str, &[u8])]) -> Secret {
    let mut s: Secret =
        from(json!({"metadata": {"name": name, "namespace": "metallb-system"}, "type": type_}));
    s.data = Some(
        data.iter()
            .map(|(k, v)| ((*k).to_owned(), k8s_openapi::ByteString(v.to_vec())))
            .collect(),
    );
    s
}

/// A LoadBalancer Service `default/name` holding `ips`, with `extra` merged into the object.
pub fn service(name: &str, ips: &[&str], extra: Value) -> Service {
    let ingress: Vec<Value> = ips.iter().map(|ip| json!({"ip": ip})).collect();
    let mut svc = json!({
        "metadata": {"namespace": "default", "name": name},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
        "status": {"loadBalancer": {"ingress": ingress}},
    });
    merge(&mut svc, extra);
    from(svc)
}

/// An endpoint as `(node, ready, serving, addresses)`; `None` leaves a field out.
pub type TestEndpoint<'a> = (Option<&'a str>, Option<bool>, Option<bool>, &'a [&'a str]);

/// An EndpointSlice of `default/service` with these endpoints.
pub fn slice(service: &str, name: &str, endpoints: &[TestEndpoint<'_>]) -> EndpointSlice {
    let endpoints: Vec<Value> = endpoints
        .iter()
        .map(|(node, ready, serving, addresses)| {
            let mut conditions = json!({});
            if let Some(r) = ready {
                conditions["ready"] = json!(r);
            }
            if let Some(s) = serving {
                conditions["serving"] = json!(s);
            }
            let mut e = json!({"addresses": addresses, "conditions": conditions});
            if let Some(n) = node {
                e["nodeName"] = json!(n);
            }
            e
        })
        .collect();
    from(json!({
        "metadata": {"namespace": "default", "name": name, "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "endpoints": endpoints,
    }))
}
