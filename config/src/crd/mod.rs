//! The `metallb.io` custom resources, as Rust types with kube's `CustomResource` derive.
//!
//! Group, versions, kinds, JSON field names, defaults and printer columns are MetalLB
//! v0.16.2's, so objects written for MetalLB apply unchanged and `kubectl get` shows the same
//! columns. Fields mirror MetalLB's Go types: where Go has a plain value with `omitempty`
//! (the zero value meaning "not set"), so do we; where Go has a pointer, we have an `Option`.
//!
//! The generated schemas add CEL rules (`x-kubernetes-validations`) for what one object can
//! get wrong on its own (an address that is neither a CIDR nor a range, both `peerASN` and
//! `dynamicASN`, a hold time of 1 s, …) so the apiserver refuses it at apply time without an
//! admission webhook; see `docs/decisions/0006-no-admission-webhook.md`. Errors that need
//! several objects (overlapping pools, a missing BFD profile) are found by [`crate::parse`].

// kube's `printcolumn(name = …, type_ = …)` repeats keys across columns, which clippy takes
// for duplicated attributes.
#![allow(clippy::duplicated_attributes)]

mod address_rules;
pub mod bfd_profile;
pub mod bgp_advertisement;
pub mod bgp_peer;
mod cel;
pub mod community;
pub mod configuration_state;
mod formats;
pub mod ip_address_pool;
pub mod l2_advertisement;
pub mod manifest;
mod omit;
pub mod service_bgp_status;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSON, JSONSchemaProps,
};
use kube_core::CustomResourceExt;

/// The API group of every MetalLB resource.
pub const GROUP: &str = "metallb.io";

/// Every CustomResourceDefinition ferrolb installs, in MetalLB's order, with the BGPPeer
/// versions merged into one definition.
pub fn definitions() -> Vec<CustomResourceDefinition> {
    let mut crds = vec![
        ip_address_pool::IPAddressPool::crd(),
        bgp_peer::definition(),
        bfd_profile::BFDProfile::crd(),
        bgp_advertisement::BGPAdvertisement::crd(),
        l2_advertisement::L2Advertisement::crd(),
        community::Community::crd(),
        service_bgp_status::ServiceBGPStatus::crd(),
        configuration_state::ConfigurationState::crd(),
    ];
    for crd in &mut crds {
        // The apiserver would default it the same way; MetalLB's files spell it out.
        let list_kind = format!("{}List", crd.spec.names.kind);
        crd.spec.names.list_kind = Some(list_kind);
        let optional_spec = OPTIONAL_SPEC.contains(&crd.spec.names.kind.as_str());
        for root in root_schemas(crd) {
            if optional_spec {
                spec_defaults_to_empty(root);
            }
            formats::normalize(root);
        }
    }
    crds
}

/// The root schema of each of a CRD's versions.
fn root_schemas(crd: &mut CustomResourceDefinition) -> impl Iterator<Item = &mut JSONSchemaProps> {
    crd.spec.versions.iter_mut().filter_map(|v| {
        v.schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
    })
}

/// The kinds MetalLB's CRDs accept without a `spec` (its documentation's BGPAdvertisement and
/// L2Advertisement examples have none). `IPAddressPool` needs one; so does a `BGPPeer`, whose
/// `myASN` is required.
const OPTIONAL_SPEC: &[&str] = &[
    "BFDProfile",
    "BGPAdvertisement",
    "L2Advertisement",
    "Community",
    "ServiceBGPStatus",
];

/// Makes `spec` optional, defaulting to `{}`: the apiserver then stores (and, for objects
/// stored without one, serves) an empty spec with its fields' defaults, so such objects read
/// into types whose `spec` is not optional.
fn spec_defaults_to_empty(root: &mut JSONSchemaProps) {
    if let Some(required) = root.required.as_mut() {
        required.retain(|r| r != "spec");
    }
    if let Some(spec) = root.properties.as_mut().and_then(|p| p.get_mut("spec")) {
        spec.default = Some(JSON(serde_json::json!({})));
    }
}
