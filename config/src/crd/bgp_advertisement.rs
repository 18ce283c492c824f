//! `BGPAdvertisement` (`metallb.io/v1beta1`): how the addresses of the selected pools are
//! announced over BGP (aggregation, LOCAL_PREF, communities, to which peers, from which
//! nodes).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube_derive::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::omit::is_zero;

/// MetalLB's own rule: service selectors only with the default aggregation lengths.
const SELECTORS_NEED_HOST_ROUTES: &str = "!has(self.serviceSelectors) || \
    self.serviceSelectors.size() == 0 || ((!has(self.aggregationLength) || \
    self.aggregationLength == 32) && (!has(self.aggregationLengthV6) || \
    self.aggregationLengthV6 == 128))";

/// Advertises the IPs of the selected pools via BGP, with the given BGP attributes.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "metallb.io",
    version = "v1beta1",
    kind = "BGPAdvertisement",
    namespaced,
    status = "BGPAdvertisementStatus",
    derive = "PartialEq",
    derive = "Default",
    crates(kube_core = "::kube_core"),
    doc = "BGPAdvertisement allows to advertise the IPs coming from the selected IPAddressPools via BGP, setting the parameters of the BGP Advertisement.",
    printcolumn(
        name = "IPAddressPools",
        type_ = "string",
        json_path = ".spec.ipAddressPools"
    ),
    printcolumn(
        name = "IPAddressPool Selectors",
        type_ = "string",
        json_path = ".spec.ipAddressPoolSelectors"
    ),
    printcolumn(name = "Peers", type_ = "string", json_path = ".spec.peers"),
    printcolumn(
        name = "Node Selectors",
        type_ = "string",
        json_path = ".spec.nodeSelectors",
        priority = 10
    )
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": SELECTORS_NEED_HOST_ROUTES,
    "message": "serviceSelectors and aggregationLength are mutually exclusive, can only be used together with default aggregationLength (32) and aggregationLengthV6 (128)",
}]))]
pub struct BGPAdvertisementSpec {
    /// The aggregation-length advertisement option lets you "roll up" the /32s into a larger
    /// prefix. Defaults to 32. Works for IPv4 addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 32), extend("default" = 32))]
    pub aggregation_length: Option<i32>,
    /// The aggregation-length advertisement option lets you "roll up" the /128s into a larger
    /// prefix. Defaults to 128. Works for IPv6 addresses.
    #[serde(
        rename = "aggregationLengthV6",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 0, max = 128), extend("default" = 128))]
    pub aggregation_length_v6: Option<i32>,
    /// The BGP LOCAL_PREF attribute which is used by BGP best path algorithm, Path with higher
    /// localpref is preferred over one with lower localpref.
    #[serde(default, skip_serializing_if = "is_zero")]
    #[schemars(extend("format" = "int64", "maximum" = 4294967295u32))]
    pub local_pref: u32,
    /// The number of times to prepend the ASN to the AS-path on outgoing BGP updates.
    /// Supported only in frr-k8s mode (not by ferrolb).
    #[serde(default, skip_serializing_if = "is_zero")]
    #[schemars(range(min = 1, max = 10))]
    pub as_path_prepend: u8,
    /// The BGP communities to be associated with the announcement. Each item can be a
    /// standard community of the form 1234:1234, a large community of the form
    /// large:1234:1234:1234 or the name of an alias defined in the Community CRD.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<String>,
    /// The list of IPAddressPools to advertise via this advertisement, selected by name.
    #[serde(
        rename = "ipAddressPools",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ip_address_pools: Vec<String>,
    /// A selector for the IPAddressPools which would get advertised via this advertisement.
    /// If no IPAddressPool is selected by this or by the list, the advertisement is applied to
    /// all the IPAddressPools.
    #[serde(
        rename = "ipAddressPoolSelectors",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ip_address_pool_selectors: Vec<LabelSelector>,
    /// Limits the nodes to announce as next hops for the LoadBalancer IP. When empty, all the
    /// nodes are announced as next hops.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_selectors: Vec<LabelSelector>,
    /// Limits the BGPPeers to advertise the IPs of the selected pools to. When empty, the
    /// LoadBalancer IP is announced to all the BGPPeers configured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<String>,
    /// Limits the set of services that will be advertised via this advertisement. If empty,
    /// all services from the selected pools are advertised. Mutually exclusive with
    /// aggregationLength and aggregationLengthV6.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_selectors: Vec<LabelSelector>,
}

/// Empty, as MetalLB's.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct BGPAdvertisementStatus {}
