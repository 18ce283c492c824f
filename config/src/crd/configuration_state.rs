//! `ConfigurationState` (`metallb.io/v1beta1`): a status-only resource in which each MetalLB
//! component reports whether the configuration it read is valid, and if not, why.
//!
//! Labels: `metallb.io/component-type` (`controller` or `speaker`) and, for speakers,
//! `metallb.io/node-name`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube_derive::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The label naming the component that owns a ConfigurationState.
pub const COMPONENT_TYPE_LABEL: &str = "metallb.io/component-type";
/// The label naming a speaker's node on its ConfigurationState.
pub const NODE_NAME_LABEL: &str = "metallb.io/node-name";

/// A ConfigurationState has no spec: only metadata and a status.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "metallb.io",
    version = "v1beta1",
    kind = "ConfigurationState",
    namespaced,
    no_spec,
    status = "ConfigurationStateStatus",
    derive = "PartialEq",
    derive = "Default",
    crates(kube_core = "::kube_core"),
    doc = "ConfigurationState is a status-only CRD that reports configuration validation results from MetalLB components.",
    printcolumn(name = "Result", type_ = "string", json_path = ".status.result"),
    printcolumn(
        name = "ErrorSummary",
        type_ = "string",
        json_path = ".status.errorSummary"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
pub struct ConfigurationStateFields {}

/// The validation result of a component's configuration.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ConfigurationResult {
    /// The configuration was validated successfully.
    Valid,
    /// The configuration has errors.
    Invalid,
    /// The component has not reported yet.
    Unknown,
}

/// What a component found in the configuration.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationStateStatus {
    /// The configuration validation result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ConfigurationResult>,
    /// The aggregated error messages; empty when the result is Valid.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error_summary: String,
    /// The status conditions from the reconcilers running in this component.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}
