//! Driving a cluster through its API the way ferrolb's end-to-end tests and the lab's steps
//! need: install the CRDs and wait until they are served, create namespaces and Services,
//! apply MetalLB's configuration (the legacy ConfigMap or `metallb.io` objects written as
//! JSON), read Events. One place for what the controller's and the speaker's tests both do.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::{Value, json};

use crate::wait::eventually;

/// Why an object could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The apiserver refused or could not be reached.
    #[error(transparent)]
    Api(#[from] kube::Error),
    /// The JSON is not an object of the expected kind.
    #[error("not a valid {kind}: {source}")]
    Json {
        /// The kind expected.
        kind: &'static str,
        /// What serde said.
        source: serde_json::Error,
    },
    /// The JSON lacks `apiVersion`, `kind` or `metadata.name`.
    #[error("a metallb.io object needs apiVersion, kind and metadata.name: {0}")]
    Incomplete(String),
}

fn from_json<T: serde::de::DeserializeOwned>(
    kind: &'static str,
    v: Value,
) -> Result<T, ObjectError> {
    serde_json::from_value(v).map_err(|source| ObjectError::Json { kind, source })
}

/// Applies `crds` (server-side, so applying again is harmless) and waits (up to 30 s each,
/// panicking as [`eventually`] does) until the apiserver serves them.
pub async fn install_crds(
    client: &Client,
    crds: Vec<CustomResourceDefinition>,
) -> Result<(), ObjectError> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in &crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        api.patch(
            &name,
            &PatchParams::apply("ferrolb-test").force(),
            &Patch::Apply(crd),
        )
        .await?;
    }
    for crd in crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        eventually(
            &format!("CRD {name} established"),
            Duration::from_secs(30),
            || {
                let api = api.clone();
                let name = name.clone();
                async move {
                    let crd = api.get(&name).await.ok()?;
                    let established = crd
                        .status?
                        .conditions?
                        .iter()
                        .any(|c| c.type_ == "Established" && c.status == "True");
                    established.then_some(())
                }
            },
        )
        .await;
    }
    Ok(())
}

/// Creates a namespace with these labels.
pub async fn create_namespace(
    client: &Client,
    name: &str,
    labels: &[(&str, &str)],
) -> Result<(), ObjectError> {
    let labels: BTreeMap<_, _> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let ns: Namespace = from_json(
        "Namespace",
        json!({"metadata": {"name": name, "labels": labels}}),
    )?;
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await?;
    Ok(())
}

/// Creates or replaces MetalLB's legacy ConfigMap `config` in `namespace` with this text.
pub async fn apply_legacy_config(
    client: &Client,
    namespace: &str,
    config: &str,
) -> Result<(), ObjectError> {
    let cm: ConfigMap = from_json(
        "ConfigMap",
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "config", "namespace": namespace},
            "data": {"config": config},
        }),
    )?;
    Api::<ConfigMap>::namespaced(client.clone(), namespace)
        .patch(
            "config",
            &PatchParams::apply("test").force(),
            &Patch::Apply(&cm),
        )
        .await?;
    Ok(())
}

fn metallb_api(client: &Client, namespace: &str, version: &str, kind: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("metallb.io", version, kind);
    Api::namespaced_with(client.clone(), namespace, &ApiResource::from_gvk(&gvk))
}

/// Server-side applies a `metallb.io` object (JSON with apiVersion, kind, metadata.name) in
/// `namespace`.
pub async fn apply_cr(client: &Client, namespace: &str, object: Value) -> Result<(), ObjectError> {
    let field = |v: Option<&str>| v.map(str::to_owned);
    let (Some(api_version), Some(kind), Some(name)) = (
        field(object["apiVersion"].as_str()),
        field(object["kind"].as_str()),
        field(object["metadata"]["name"].as_str()),
    ) else {
        return Err(ObjectError::Incomplete(object.to_string()));
    };
    let version = api_version.rsplit('/').next().unwrap_or_default();
    let api = metallb_api(client, namespace, version, &kind);
    let obj: DynamicObject = from_json("metallb.io object", object)?;
    api.patch(
        &name,
        &PatchParams::apply("test").force(),
        &Patch::Apply(&obj),
    )
    .await?;
    Ok(())
}

/// Deletes a `metallb.io` object.
pub async fn delete_cr(
    client: &Client,
    namespace: &str,
    version: &str,
    kind: &str,
    name: &str,
) -> Result<(), ObjectError> {
    metallb_api(client, namespace, version, kind)
        .delete(name, &DeleteParams::default())
        .await?;
    Ok(())
}

/// Creates a Service from JSON (`metadata.name`, `spec`; type LoadBalancer, one TCP port 80
/// and selector `app: nginx` unless the JSON says otherwise).
pub async fn create_service(
    client: &Client,
    namespace: &str,
    object: Value,
) -> Result<Service, ObjectError> {
    let mut svc = json!({
        "apiVersion": "v1", "kind": "Service",
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}], "selector": {"app": "nginx"}},
    });
    merge(&mut svc, object);
    let svc: Service = from_json("Service", svc)?;
    Ok(Api::<Service>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &svc)
        .await?)
}

/// Registers Node `name` (label `kubernetes.io/hostname` plus `labels`) and writes its
/// status addresses: each of `internal_ips` as an InternalIP, `name` as its Hostname — what a
/// kubelet reports, and where speakers find their node's address.
pub async fn create_node(
    client: &Client,
    name: &str,
    internal_ips: &[IpAddr],
    labels: &[(&str, &str)],
) -> Result<(), ObjectError> {
    let mut l: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    l.insert("kubernetes.io/hostname".into(), name.into());
    let api: Api<Node> = Api::all(client.clone());
    let node: Node = from_json("Node", json!({"metadata": {"name": name, "labels": l}}))?;
    api.create(&PostParams::default(), &node).await?;
    let mut addresses: Vec<Value> = internal_ips
        .iter()
        .map(|ip| json!({"type": "InternalIP", "address": ip.to_string()}))
        .collect();
    addresses.push(json!({"type": "Hostname", "address": name}));
    let status = json!({"status": {"addresses": addresses}});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await?;
    Ok(())
}

/// The merge patch of a Service's status that sets its `loadBalancer.ingress` to `ips`.
pub fn ingress_patch(ips: &[IpAddr]) -> Value {
    let ingress: Vec<Value> = ips.iter().map(|ip| json!({"ip": ip.to_string()})).collect();
    json!({"status": {"loadBalancer": {"ingress": ingress}}})
}

/// Writes `namespace/name`'s `status.loadBalancer.ingress` (what a controller would).
pub async fn set_ingress(
    client: &Client,
    namespace: &str,
    name: &str,
    ips: &[IpAddr],
) -> Result<(), ObjectError> {
    Api::<Service>::namespaced(client.clone(), namespace)
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(&ingress_patch(ips)),
        )
        .await?;
    Ok(())
}

/// The EndpointSlice `<service>-1` of Service `namespace/service` with one ready, serving IPv4
/// endpoint per `(node, address)` and port 80/TCP: what the endpointslice controller writes
/// for running pods.
pub fn endpoint_slice(
    namespace: &str,
    service: &str,
    endpoints: &[(&str, IpAddr)],
) -> Result<EndpointSlice, ObjectError> {
    let endpoints: Vec<Value> = endpoints
        .iter()
        .map(|(node, address)| {
            json!({"addresses": [address.to_string()], "nodeName": node,
                   "conditions": {"ready": true, "serving": true, "terminating": false}})
        })
        .collect();
    from_json(
        "EndpointSlice",
        json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": format!("{service}-1"), "namespace": namespace,
                         "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4",
            "endpoints": endpoints,
            "ports": [{"port": 80, "protocol": "TCP"}],
        }),
    )
}

/// The ingress IPs of a Service.
pub fn ingress_ips(svc: &Service) -> Vec<String> {
    svc.status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .map(|i| i.iter().filter_map(|i| i.ip.clone()).collect())
        .unwrap_or_default()
}

/// One Event as tests compare it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenEvent {
    /// `Normal` or `Warning`.
    pub type_: String,
    /// The reason.
    pub reason: String,
    /// The note.
    pub note: String,
    /// The reporting controller.
    pub controller: String,
    /// The reporting instance.
    pub instance: String,
}

/// The Events about the object `name` in `namespace`, oldest first.
pub async fn events(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<Vec<SeenEvent>, ObjectError> {
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    let mut list: Vec<Event> = api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .collect();
    list.sort_by(|a, b| {
        a.metadata
            .creation_timestamp
            .cmp(&b.metadata.creation_timestamp)
    });
    Ok(list
        .into_iter()
        .map(|e| SeenEvent {
            type_: e.type_.unwrap_or_default(),
            reason: e.reason.unwrap_or_default(),
            note: e.note.unwrap_or_default(),
            controller: e.reporting_controller.unwrap_or_default(),
            instance: e.reporting_instance.unwrap_or_default(),
        })
        .collect())
}

/// Merges JSON object `b` into `a` (objects recursively, anything else replaced).
pub fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_goes_into_objects_and_replaces_the_rest() {
        let mut a = json!({"spec": {"type": "LoadBalancer", "ports": [1]}, "x": 1});
        merge(
            &mut a,
            json!({"spec": {"ports": [2], "selector": {}}, "x": {"y": 2}}),
        );
        assert_eq!(
            a,
            json!({"spec": {"type": "LoadBalancer", "ports": [2], "selector": {}}, "x": {"y": 2}})
        );
    }
}
