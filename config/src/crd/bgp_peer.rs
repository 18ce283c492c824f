//! `BGPPeer`: a BGP router to peer with. `metallb.io/v1beta2` is the stored version and the
//! one ferrolb reads; `v1beta1` (MetalLB's first CRD version, deprecated) is still served.
//!
//! MetalLB converts between the two with a conversion webhook. ferrolb has no webhook, so the
//! CRD uses conversion `None`: the apiserver only rewrites `apiVersion`. That is lossless
//! because every v1beta1 field has the same name, JSON type and meaning in v1beta2 (the
//! `nodeSelectors` of v1beta1 have the shape of a label selector), and what v1beta2 adds is
//! optional; reading a v1beta2 object as v1beta1 drops the v1beta2-only fields, as MetalLB's
//! webhook does. See `docs/decisions/0006-no-admission-webhook.md`.

pub mod v1beta1;

use k8s_openapi::api::core::v1::SecretReference;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceConversion, CustomResourceDefinition,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube_core::CustomResourceExt;
use kube_derive::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::cel::{self, rule, rule_at};
use super::omit::{is_false, is_zero};

/// The CRD with both versions, v1beta2 stored, and conversion `None`.
pub fn definition() -> CustomResourceDefinition {
    // Both derives describe the same group, kind and scope, which is all merging checks.
    let mut crd = match kube_core::crd::merge_crds(
        vec![v1beta1::BGPPeer::crd(), BGPPeer::crd()],
        "v1beta2",
    ) {
        Ok(crd) => crd,
        Err(e) => unreachable!("the two BGPPeer versions share group, kind and scope: {e}"),
    };
    crd.spec.versions.sort_by(|a, b| a.name.cmp(&b.name));
    crd.spec.conversion = Some(CustomResourceConversion {
        strategy: "None".into(),
        webhook: None,
    });
    crd
}

/// The peer AS expected from the remote end, when not given as a number.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DynamicASNMode {
    /// The neighbor's AS must be our own (iBGP).
    Internal,
    /// The neighbor's AS must differ from ours (eBGP).
    External,
}

/// A BGP router to peer with.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "metallb.io",
    version = "v1beta2",
    kind = "BGPPeer",
    namespaced,
    status = "BGPPeerStatus",
    derive = "PartialEq",
    derive = "Default",
    crates(kube_core = "::kube_core"),
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
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = spec_rules()))]
pub struct BGPPeerSpec {
    /// AS number to use for the local end of the session.
    #[serde(rename = "myASN")]
    #[schemars(extend("format" = "int64", "maximum" = 4294967295u32, "x-kubernetes-validations" = [my_asn_rule()]))]
    pub my_asn: u32,
    /// AS number to expect from the remote end of the session. ASN and DynamicASN are
    /// mutually exclusive and one of them must be specified.
    #[serde(rename = "peerASN", default, skip_serializing_if = "is_zero")]
    #[schemars(extend("format" = "int64", "maximum" = 4294967295u32))]
    pub peer_asn: u32,
    /// Advertises a different AS number to the peer (BGP local-as). Not supported in native
    /// BGP mode, nor by ferrolb.
    #[serde(rename = "localASN", default, skip_serializing_if = "is_zero")]
    #[schemars(extend("format" = "int64", "minimum" = 1, "maximum" = 4294967295u32))]
    pub local_asn: u32,
    /// Detects the AS number to use for the remote end of the session without explicitly
    /// setting it via the ASN field: internal (the neighbor's ASN must be MyASN) or external
    /// (it must not be).
    #[serde(
        rename = "dynamicASN",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub dynamic_asn: Option<DynamicASNMode>,
    /// Address to dial when establishing the session.
    #[serde(
        rename = "peerAddress",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    #[schemars(extend("x-kubernetes-validations" = [ip_rule("peerAddress")]))]
    pub peer_address: String,
    /// The node interface over which the unnumbered BGP peering will be established.
    /// Address and Interface are mutually exclusive. Not supported by ferrolb.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub interface: String,
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
    #[schemars(range(min = 1, max = 16384), extend("default" = 179))]
    pub peer_port: u16,
    /// Requested BGP hold time, per RFC4271.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = cel::MAX_DURATION_LENGTH), extend("x-kubernetes-validations" = hold_time_rules()))]
    pub hold_time: Option<String>,
    /// Requested BGP keepalive time, per RFC4271.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = cel::MAX_DURATION_LENGTH), extend("x-kubernetes-validations" = cel::duration_rules("keepaliveTime", None)))]
    pub keepalive_time: Option<String>,
    /// Requested BGP connect time, controls how long BGP waits between connection attempts
    /// to a neighbor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = cel::MAX_DURATION_LENGTH), extend("x-kubernetes-validations" = connect_time_rules()))]
    pub connect_time: Option<String>,
    /// BGP router ID to advertise to the peer.
    #[serde(rename = "routerID", default, skip_serializing_if = "String::is_empty")]
    #[schemars(extend("x-kubernetes-validations" = [router_id_rule()]))]
    pub router_id: String,
    /// Only connect to this peer on nodes that match one of these selectors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_selectors: Vec<LabelSelector>,
    /// Authentication password for routers enforcing TCP MD5 authenticated sessions.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// The authentication secret for the peer: of type `kubernetes.io/basic-auth`, in
    /// MetalLB's namespace, the password under the key `password`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret: Option<SecretReference>,
    /// The name of the BFD Profile to be used for the BFD session associated to the BGP
    /// session. If not set, the BFD session won't be set up.
    #[serde(
        rename = "bfdProfile",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub bfd_profile: String,
    /// Lets the peer keep forwarding along known routes while the session restarts (BGP
    /// graceful restart). Immutable, because changing it requires restarting the session.
    #[serde(default, skip_serializing_if = "is_false")]
    #[schemars(extend("x-kubernetes-validations" = [rule("self == oldSelf", "EnableGracefulRestart cannot be changed after creation")]))]
    pub enable_graceful_restart: bool,
    /// The peer is multiple hops away.
    #[serde(rename = "ebgpMultiHop", default, skip_serializing_if = "is_false")]
    pub ebgp_multi_hop: bool,
    /// The host VRF to peer from.
    #[serde(rename = "vrf", default, skip_serializing_if = "String::is_empty")]
    pub vrf: String,
    /// Separate IPv4 and IPv6 route exchanges into distinct BGP sessions. Deprecated in
    /// favor of dualStackAddressFamily.
    #[serde(rename = "disableMP", default, skip_serializing_if = "is_false")]
    #[schemars(extend("default" = false))]
    pub disable_mp: bool,
    /// Enable the neighbor not only for the IP family of its session but also the other one.
    #[serde(default, skip_serializing_if = "is_false")]
    #[schemars(extend("default" = false))]
    pub dual_stack_address_family: bool,
}

/// Empty, as MetalLB's.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct BGPPeerStatus {}

/// `myASN` is an AS number (MetalLB refuses 0 as a "missing local ASN").
fn my_asn_rule() -> Value {
    rule(
        "self != 0",
        "myASN must be an AS number between 1 and 4294967295",
    )
}

/// `field` is an IPv4 or IPv6 address.
fn ip_rule(field: &str) -> Value {
    rule(
        "isIP(self)",
        &format!("{field} must be an IPv4 or IPv6 address"),
    )
}

/// A BGP identifier is 32 bits, written as an IPv4 address.
fn router_id_rule() -> Value {
    rule(
        "isIP(self) && ip(self).family() == 4",
        "routerID must be an IPv4 address",
    )
}

/// A hold time is 0 (no keepalives) or at least 3 s, in whole seconds as MetalLB rounds it.
fn hold_time_rules() -> Value {
    cel::duration_rules(
        "holdTime",
        Some((
            "duration(self).getSeconds() == 0 || duration(self).getSeconds() >= 3",
            "holdTime must be 0 or at least 3s",
        )),
    )
}

/// MetalLB's own rules on `connectTime`, on a value known to be a duration.
fn connect_time_rules() -> Value {
    let mut rules = cel::duration_rules(
        "connectTime",
        Some((
            "duration(self).getSeconds() >= 1 && duration(self).getSeconds() <= 65535",
            "connect time should be between 1 seconds to 65535",
        )),
    );
    if let Value::Array(list) = &mut rules {
        list.push(rule(
            format!(
                "!{} || duration(self).getMilliseconds() % 1000 == 0",
                cel::is_duration("self")
            ),
            "connect time should contain a whole number of seconds",
        ));
    }
    rules
}

/// The keepalive interval may not exceed the hold time.
fn keepalive_rule() -> Value {
    let both = format!(
        "has(self.keepaliveTime) && has(self.holdTime) && {} && {}",
        cel::is_duration("self.keepaliveTime"),
        cel::is_duration("self.holdTime")
    );
    rule_at(
        format!("!({both}) || duration(self.keepaliveTime) <= duration(self.holdTime)"),
        "keepaliveTime must not be longer than holdTime",
        ".keepaliveTime",
    )
}

/// eBGP multihop makes no sense for an iBGP session.
fn multihop_rule() -> Value {
    rule_at(
        "!has(self.ebgpMultiHop) || !self.ebgpMultiHop || !has(self.peerASN) || \
         self.peerASN != self.myASN",
        "ebgpMultiHop cannot be set for an iBGP peer (peerASN equal to myASN)",
        ".ebgpMultiHop",
    )
}

/// The rules between fields of a v1beta2 spec.
fn spec_rules() -> Value {
    Value::Array(vec![
        rule_at(
            "(has(self.peerASN) && self.peerASN != 0) != has(self.dynamicASN)",
            "exactly one of peerASN and dynamicASN must be set",
            ".peerASN",
        ),
        rule_at(
            "(has(self.peerAddress) && self.peerAddress != '') != \
             (has(self.interface) && self.interface != '')",
            "exactly one of peerAddress and interface must be set",
            ".peerAddress",
        ),
        rule_at(
            "!has(self.password) || self.password == '' || !has(self.passwordSecret) || \
             !has(self.passwordSecret.name) || self.passwordSecret.name == ''",
            "password and passwordSecret are mutually exclusive",
            ".passwordSecret",
        ),
        keepalive_rule(),
        multihop_rule(),
    ])
}
