//! The MetalLB configuration API: the `metallb.io` custom resources, the legacy `config`
//! ConfigMap of MetalLB's first releases, and their normalization into one validated
//! [`Config`] that the controller and the speaker act on.
//!
//! Pure: no Kubernetes client here. The binaries read the objects and hand them in as
//! [`Resources`]; [`parse`] returns the [`Config`] or every error found, each naming its
//! object and field.

mod address;
mod community_value;
pub mod crd;
mod duration;
pub mod error;
mod inputs;
pub mod install;
mod label_selector;
mod legacy;
pub mod model;
pub mod selector;
pub mod service;
mod source;
mod validate;

pub use error::{ConfigError, ConfigErrors, ObjectRef, Problem};
pub use model::{
    BfdProfile, BgpAdvertisement, Community, Config, L2Advertisement, Peer, PeerAsn, Pool,
    SecretRef, ServiceAllocation,
};
pub use selector::{Requirement, Selector, any_matches};

use crd::bfd_profile::BFDProfile;
use crd::bgp_advertisement::BGPAdvertisement;
use crd::bgp_peer::BGPPeer;
use crd::community::Community as CommunityResource;
use crd::ip_address_pool::IPAddressPool;
use crd::l2_advertisement::L2Advertisement as L2AdvertisementResource;

/// Everything MetalLB reads its configuration from, in its namespace: the custom resources
/// (in any order) and the legacy ConfigMap's text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    /// `IPAddressPool`s.
    pub pools: Vec<IPAddressPool>,
    /// `BGPPeer`s (read as v1beta2, the stored version).
    pub peers: Vec<BGPPeer>,
    /// `BGPAdvertisement`s.
    pub bgp_advertisements: Vec<BGPAdvertisement>,
    /// `L2Advertisement`s.
    pub l2_advertisements: Vec<L2AdvertisementResource>,
    /// `Community` alias sets.
    pub communities: Vec<CommunityResource>,
    /// `BFDProfile`s.
    pub bfd_profiles: Vec<BFDProfile>,
    /// The `config` key of the legacy ConfigMap `config`, if there is one.
    pub legacy_config: Option<String>,
}

/// A configuration that can be used, and what is odd about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The validated configuration.
    pub config: Config,
    /// Things worth telling the user that do not make the configuration unusable, because
    /// MetalLB accepts them too: an advertisement naming a pool or peer that does not exist,
    /// a key of the legacy format that means nothing.
    pub warnings: Vec<ConfigError>,
}

/// Parses and validates a configuration: the legacy ConfigMap's entries and the custom
/// resources together (names are shared, so a legacy pool and an `IPAddressPool` of the same
/// name are a duplicate). Returns every error found, not just the first.
pub fn parse(resources: &Resources) -> Result<Parsed, ConfigErrors> {
    validate::parse(resources)
}
