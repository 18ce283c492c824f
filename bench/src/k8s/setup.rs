//! The cluster state every contender of a Kubernetes benchmark gets: ferrolb's CRDs (which
//! MetalLB's daemons read as well: same group, versions and fields), MetalLB's namespace and
//! the workload's, one `IPAddressPool`, and — for MetalLB, which reads its own Pod at start
//! for the owner reference of what it writes — a Pod object per daemon that nothing runs.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, PostParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::json;

use super::daemon::METALLB_VERSION;
use super::{Result, api_err, object, poll_until};

/// MetalLB's namespace, where the configuration lives.
pub const METALLB_NAMESPACE: &str = "metallb-system";
/// The name of the one address pool.
pub const POOL_NAME: &str = "bench";

/// Installs `extra` and ferrolb's CRDs, waits until the apiserver serves them, and creates
/// MetalLB's namespace and `namespaces`: the same cluster state for every contender.
pub async fn prepare_cluster(
    client: &Client,
    namespaces: &[&str],
    extra: Vec<CustomResourceDefinition>,
) -> Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut definitions = lb_config::crd::definitions();
    definitions.extend(extra);
    for crd in &definitions {
        let name = crd.metadata.name.clone().unwrap_or_default();
        crds.create(&PostParams::default(), crd)
            .await
            .map_err(api_err(format!("creating CRD {name}")))?;
    }
    for crd in &definitions {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let what = format!("CRD {name} to be established");
        poll_until(
            &what,
            Duration::from_secs(60),
            Duration::from_millis(100),
            || {
                let crds = crds.clone();
                let name = name.clone();
                async move {
                    let crd = crds
                        .get(&name)
                        .await
                        .map_err(api_err(format!("reading CRD {name}")))?;
                    let established = crd.status.and_then(|s| s.conditions).is_some_and(|cs| {
                        cs.iter()
                            .any(|c| c.type_ == "Established" && c.status == "True")
                    });
                    Ok(established.then_some(()))
                }
            },
        )
        .await?;
    }
    let all = Api::<Namespace>::all(client.clone());
    for name in std::iter::once(METALLB_NAMESPACE).chain(namespaces.iter().copied()) {
        let ns: Namespace = object("a namespace", json!({"metadata": {"name": name}}))?;
        all.create(&PostParams::default(), &ns)
            .await
            .map_err(api_err(format!("creating namespace {name}")))?;
    }
    Ok(())
}

/// Creates the `metallb.io` object `value` (JSON with apiVersion, kind, metadata) in MetalLB's
/// namespace; `what` names it in errors.
pub async fn create_metallb_object(
    client: &Client,
    what: &str,
    value: serde_json::Value,
) -> Result<()> {
    let obj: DynamicObject = object(what, value)?;
    let gvk = obj
        .types
        .as_ref()
        .and_then(|t| GroupVersionKind::try_from(t).ok())
        .ok_or_else(|| {
            super::BenchError::WrongResult(format!("{what} lacks apiVersion or kind"))
        })?;
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        METALLB_NAMESPACE,
        &ApiResource::from_gvk(&gvk),
    );
    api.create(&PostParams::default(), &obj)
        .await
        .map_err(api_err(format!("creating {what}")))?;
    Ok(())
}

/// Creates the `IPAddressPool` [`POOL_NAME`] of `pool`.
pub async fn create_pool(client: &Client, pool: &str) -> Result<()> {
    create_metallb_object(
        client,
        "the IPAddressPool",
        json!({
            "apiVersion": "metallb.io/v1beta1",
            "kind": "IPAddressPool",
            "metadata": {"name": POOL_NAME, "namespace": METALLB_NAMESPACE},
            "spec": {"addresses": [pool]},
        }),
    )
    .await
}

/// Creates the namespace's `default` ServiceAccount, which Pod admission needs: without
/// kube-controller-manager nobody else does.
pub async fn create_default_service_account(client: &Client) -> Result<()> {
    let sa: ServiceAccount = object(
        "the default ServiceAccount",
        json!({"metadata": {"name": "default", "namespace": METALLB_NAMESPACE}}),
    )?;
    Api::<ServiceAccount>::namespaced(client.clone(), METALLB_NAMESPACE)
        .create(&PostParams::default(), &sa)
        .await
        .map_err(api_err("creating the default ServiceAccount"))?;
    Ok(())
}

/// Creates the Pod object `name` a MetalLB daemon of `component` (`controller`, `speaker`)
/// reads as its own (`--pod-name`), bound to `node` when given. Nothing runs it. Needs
/// [`create_default_service_account`] first.
pub async fn create_own_pod(
    client: &Client,
    name: &str,
    component: &str,
    node: Option<&str>,
) -> Result<()> {
    let mut spec = json!({
        "automountServiceAccountToken": false,
        "containers": [{"name": component,
                        "image": format!("quay.io/metallb/{component}:{METALLB_VERSION}")}],
    });
    if let Some(node) = node {
        spec["nodeName"] = json!(node);
    }
    let pod: Pod = object(
        "MetalLB's Pod",
        json!({
            "metadata": {"name": name, "namespace": METALLB_NAMESPACE,
                         "labels": {"app": "metallb", "component": component}},
            "spec": spec,
        }),
    )?;
    Api::<Pod>::namespaced(client.clone(), METALLB_NAMESPACE)
        .create(&PostParams::default(), &pod)
        .await
        .map_err(api_err(format!("creating the Pod object {name}")))?;
    Ok(())
}
