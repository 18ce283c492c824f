//! The objects validation works on: custom resources, each with the [`Source`] its errors
//! are reported against. The legacy ConfigMap's entries become such objects too.

use crate::Resources;
use crate::crd::bfd_profile::BFDProfile;
use crate::crd::bgp_advertisement::BGPAdvertisement;
use crate::crd::bgp_peer::BGPPeer;
use crate::crd::community::Community;
use crate::crd::ip_address_pool::IPAddressPool;
use crate::crd::l2_advertisement::L2Advertisement;
use crate::source::Source;

/// An object and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Sourced<T> {
    /// Where its errors are reported.
    pub(crate) source: Source,
    /// The object.
    pub(crate) object: T,
}

/// Every object of a configuration: the legacy ConfigMap's first (in the order written), then
/// the custom resources by name, so results and messages do not depend on the order a watch
/// delivered them in.
#[derive(Debug, Default)]
pub(crate) struct Inputs {
    pub(crate) pools: Vec<Sourced<IPAddressPool>>,
    pub(crate) peers: Vec<Sourced<BGPPeer>>,
    pub(crate) bgp_advertisements: Vec<Sourced<BGPAdvertisement>>,
    pub(crate) l2_advertisements: Vec<Sourced<L2Advertisement>>,
    pub(crate) communities: Vec<Sourced<Community>>,
    pub(crate) bfd_profiles: Vec<Sourced<BFDProfile>>,
}

impl Inputs {
    /// Adds the custom resources of `r`, each kind sorted by name.
    pub(crate) fn add_resources(&mut self, r: &Resources) {
        add(&mut self.pools, &r.pools, "IPAddressPool");
        add(&mut self.peers, &r.peers, "BGPPeer");
        add(
            &mut self.bgp_advertisements,
            &r.bgp_advertisements,
            "BGPAdvertisement",
        );
        add(
            &mut self.l2_advertisements,
            &r.l2_advertisements,
            "L2Advertisement",
        );
        add(&mut self.communities, &r.communities, "Community");
        add(&mut self.bfd_profiles, &r.bfd_profiles, "BFDProfile");
    }
}

/// The name of a custom resource ("" if it has none, which the apiserver never allows).
pub(crate) fn name_of(meta: &kube_core::ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or("")
}

fn add<T>(to: &mut Vec<Sourced<T>>, objects: &[T], kind: &'static str)
where
    T: kube_core::Resource + Clone,
{
    let mut sorted: Vec<&T> = objects.iter().collect();
    sorted.sort_by(|a, b| name_of(a.meta()).cmp(name_of(b.meta())));
    to.extend(sorted.into_iter().map(|o| Sourced {
        source: Source::resource(kind, name_of(o.meta())),
        object: o.clone(),
    }));
}
