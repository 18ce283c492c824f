//! The MetalLB configuration API: the `metallb.io` custom resources, the legacy `config`
//! ConfigMap of MetalLB's first releases, and their normalization into one validated
//! [`Config`] that the controller and the speaker act on.
//!
//! Pure: no Kubernetes client here. The binaries read the objects and hand them in.

pub mod model;
pub mod selector;

pub use model::{
    BfdProfile, BgpAdvertisement, Community, Config, L2Advertisement, Peer, PeerAsn, Pool,
    SecretRef, ServiceAllocation,
};
pub use selector::{Requirement, Selector, any_matches};
pub mod crd;
