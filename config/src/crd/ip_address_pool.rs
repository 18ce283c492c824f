//! `IPAddressPool` (`metallb.io/v1beta1`): addresses MetalLB may hand out, and which Services
//! may have them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube_derive::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::address_rules;
use super::omit::{is_false, is_zero};

/// A pool of IP addresses that can be allocated to LoadBalancer Services.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "metallb.io",
    version = "v1beta1",
    kind = "IPAddressPool",
    namespaced,
    status = "IPAddressPoolStatus",
    derive = "PartialEq",
    derive = "Default",
    crates(kube_core = "::kube_core"),
    doc = "IPAddressPool represents a pool of IP addresses that can be allocated to LoadBalancer services.",
    printcolumn(
        name = "Auto Assign",
        type_ = "boolean",
        json_path = ".spec.autoAssign"
    ),
    printcolumn(
        name = "Avoid Buggy IPs",
        type_ = "boolean",
        json_path = ".spec.avoidBuggyIPs"
    ),
    printcolumn(name = "Addresses", type_ = "string", json_path = ".spec.addresses")
)]
pub struct IPAddressPoolSpec {
    /// A list of IP address ranges over which MetalLB has authority. You can list multiple
    /// ranges in a single pool, they will all share the same settings. Each range can be
    /// either a CIDR prefix, or an explicit start-end range of IPs.
    #[schemars(schema_with = "address_rules::addresses_schema")]
    pub addresses: Vec<String>,
    /// AutoAssign flag used to prevent MetalLB from automatic allocation for a pool.
    #[serde(
        rename = "autoAssign",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(extend("default" = true))]
    pub auto_assign: Option<bool>,
    /// AvoidBuggyIPs prevents addresses ending with .0 and .255 to be used by a pool.
    #[serde(rename = "avoidBuggyIPs", default, skip_serializing_if = "is_false")]
    #[schemars(extend("default" = false))]
    pub avoid_buggy_ips: bool,
    /// AllocateTo makes ip pool allocation to specific namespace and/or service. The
    /// controller will use the pool with lowest value of priority in case of multiple
    /// matches. A pool with no priority set will be used only if the pools with priority
    /// can't be used.
    #[serde(
        rename = "serviceAllocation",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub service_allocation: Option<ServiceAllocation>,
}

/// Which Services may take addresses from a pool, and how the pool ranks among others.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAllocation {
    /// Priority given to the pool when allocating an address to a Service (lower first).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority: i64,
    /// Namespaces whose Services may use the pool.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Label selectors for the namespaces whose Services may use the pool, an alternative to
    /// the list of namespaces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespace_selectors: Vec<LabelSelector>,
    /// Label selectors for the Services that may use the pool.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_selectors: Vec<LabelSelector>,
}

/// The pool's usage, kept current by the controller (MetalLB v0.15+).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct IPAddressPoolStatus {
    /// The number of assigned IPv4 addresses.
    #[serde(rename = "assignedIPv4")]
    pub assigned_ipv4: i64,
    /// The number of assigned IPv6 addresses.
    #[serde(rename = "assignedIPv6")]
    pub assigned_ipv6: i64,
    /// The number of available IPv4 addresses.
    #[serde(rename = "availableIPv4")]
    pub available_ipv4: i64,
    /// The number of available IPv6 addresses.
    #[serde(rename = "availableIPv6")]
    pub available_ipv6: i64,
}
