//! `metallb.io/v1beta1` `BGPPeer`: MetalLB's first peer version, deprecated, still served.
//! Its objects are stored as v1beta2 unchanged (conversion `None`, see the parent module).

use std::collections::BTreeMap;

use kube_derive::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    BGPPeerStatus, hold_time_rules, ip_rule, keepalive_rule, multihop_rule, my_asn_rule,
    router_id_rule,
};
use crate::crd::cel::{self, rule};
use crate::crd::omit::{is_false, is_zero};

/// A BGP router to peer with (the deprecated first version).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "metallb.io",
    version = "v1beta1",
    kind = "BGPPeer",
    namespaced,
    status = "BGPPeerStatus",
    derive = "PartialEq",
    derive = "Default",
    crates(kube_core = "::kube_core"),
    deprecated = "v1beta1 is deprecated, please use v1beta2",
    doc = "BGPPeer is the Schema for the peers API.",
    printcolumn(name = "Address", type_ = "string", json_path = ".spec.peerAddress"),
    printcolumn(name = "ASN", type_ = "string", json_path = ".spec.peerASN"),
    printcolumn(name = "BFD Profile", type_ = "string", json_path = ".spec.bfdProfile"),
    printcolumn(
        name = "Multi Hops",
        type_ = "string",
        json_path = ".spec.ebgpMultiHop"
    )
)]
#[schemars(extend("x-kubernetes-validations" = [keepalive_rule(), multihop_rule()]))]
pub struct BGPPeerSpec {
    /// AS number to use for the local end of the session.
    #[serde(rename = "myASN")]
    #[schemars(extend("format" = "int64", "maximum" = 4294967295u32, "x-kubernetes-validations" = [my_asn_rule()]))]
    pub my_asn: u32,
    /// AS number to expect from the remote end of the session.
    #[serde(rename = "peerASN")]
    #[schemars(extend("format" = "int64", "maximum" = 4294967295u32, "x-kubernetes-validations" = [peer_asn_rule()]))]
    pub peer_asn: u32,
    /// Address to dial when establishing the session.
    #[serde(rename = "peerAddress")]
    #[schemars(extend("x-kubernetes-validations" = [ip_rule("peerAddress")]))]
    pub peer_address: String,
    /// Source address to use when establishing the session.
    #[serde(
        rename = "sourceAddress",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    #[schemars(extend("x-kubernetes-validations" = [ip_rule("sourceAddress")]))]
    pub source_address: String,
    /// Port to dial when establishing the session.
    #[serde(rename = "peerPort", default, skip_serializing_if = "is_zero")]
    #[schemars(range(max = 16384))]
    pub peer_port: u16,
    /// Requested BGP hold time, per RFC4271.
    #[serde(rename = "holdTime", default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = cel::MAX_DURATION_LENGTH), extend("x-kubernetes-validations" = hold_time_rules()))]
    pub hold_time: Option<String>,
    /// Requested BGP keepalive time, per RFC4271.
    #[serde(
        rename = "keepaliveTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(length(max = cel::MAX_DURATION_LENGTH), extend("x-kubernetes-validations" = cel::duration_rules("keepaliveTime", None)))]
    pub keepalive_time: Option<String>,
    /// BGP router ID to advertise to the peer.
    #[serde(rename = "routerID", default, skip_serializing_if = "String::is_empty")]
    #[schemars(extend("x-kubernetes-validations" = [router_id_rule()]))]
    pub router_id: String,
    /// Only connect to this peer on nodes that match one of these selectors.
    #[serde(
        rename = "nodeSelectors",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub node_selectors: Vec<NodeSelector>,
    /// Authentication password for routers enforcing TCP MD5 authenticated sessions.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// The name of the BFD Profile to be used for the BFD session associated to the BGP
    /// session.
    #[serde(
        rename = "bfdProfile",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub bfd_profile: String,
    /// EBGP peer is multi-hops away.
    #[serde(rename = "ebgpMultiHop", default, skip_serializing_if = "is_false")]
    pub ebgp_multi_hop: bool,
}

/// v1beta1's own label selector type; the same JSON as a Kubernetes `LabelSelector`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeSelector {
    /// Labels the node must have, with these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    /// Requirements the node's labels must meet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<MatchExpression>,
}

/// One requirement of a v1beta1 node selector.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct MatchExpression {
    /// The label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    /// The values (at least one, as MetalLB's v1beta1 schema requires).
    #[schemars(length(min = 1))]
    pub values: Vec<String>,
}

/// In v1beta1 `peerASN` is required, so 0 cannot mean "dynamic".
fn peer_asn_rule() -> Value {
    rule(
        "self != 0",
        "peerASN must be an AS number between 1 and 4294967295",
    )
}
