//! `Community` (`metallb.io/v1beta1`): named aliases for BGP community values, usable in a
//! `BGPAdvertisement`'s `communities`.

use kube_derive::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A collection of aliases for communities.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "metallb.io",
    version = "v1beta1",
    kind = "Community",
    plural = "communities",
    namespaced,
    status = "CommunityStatus",
    derive = "PartialEq",
    derive = "Default",
    crates(kube_core = "::kube_core"),
    doc = "Community is a collection of aliases for communities. Users can define named aliases to be used in the BGPPeer CRD."
)]
pub struct CommunitySpec {
    /// The aliases.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<CommunityAlias>,
}

/// One alias: a name standing for a community value.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct CommunityAlias {
    /// The name of the alias for the community.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The BGP community value corresponding to the given name. Can be a standard community
    /// of the form 1234:1234 or a large community of the form large:1234:1234:1234.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
}

/// Empty, as MetalLB's.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct CommunityStatus {}
