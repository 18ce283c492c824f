//! The MetalLB configuration as both daemons read it: the legacy ConfigMap `config` and the
//! `metallb.io` custom resources of MetalLB's namespace, each kind in a [`Cache`], parsed
//! together into one validated [`lb_config::Config`].

use k8s_openapi::api::core::v1::ConfigMap;
use kube::runtime::reflector::store::Writer;
use kube::runtime::watcher;
use kube::{Api, Client};
use tokio::sync::mpsc;

use lb_config::crd::bfd_profile::BFDProfile;
use lb_config::crd::bgp_advertisement::BGPAdvertisement;
use lb_config::crd::bgp_peer::BGPPeer;
use lb_config::crd::community::Community;
use lb_config::crd::ip_address_pool::IPAddressPool;
use lb_config::crd::l2_advertisement::L2Advertisement;

use super::{Cache, Watched, spawn};

/// The name of the legacy ConfigMap (in MetalLB's namespace), as in MetalLB's first releases.
pub const LEGACY_CONFIGMAP: &str = "config";

/// The caches of every configuration kind.
pub struct ConfigCaches {
    /// ConfigMaps of MetalLB's namespace (only `config` is read).
    pub config_maps: Cache<ConfigMap>,
    /// IPAddressPools.
    pub pools: Cache<IPAddressPool>,
    /// BGPPeers.
    pub peers: Cache<BGPPeer>,
    /// BGPAdvertisements.
    pub bgp_advertisements: Cache<BGPAdvertisement>,
    /// L2Advertisements.
    pub l2_advertisements: Cache<L2Advertisement>,
    /// Communities.
    pub communities: Cache<Community>,
    /// BFDProfiles.
    pub bfd_profiles: Cache<BFDProfile>,
}

/// The writers of hand-filled [`ConfigCaches`] (tests).
pub struct ConfigWriters {
    /// ConfigMaps.
    pub config_maps: Writer<ConfigMap>,
    /// IPAddressPools.
    pub pools: Writer<IPAddressPool>,
    /// BGPPeers.
    pub peers: Writer<BGPPeer>,
    /// BGPAdvertisements.
    pub bgp_advertisements: Writer<BGPAdvertisement>,
    /// L2Advertisements.
    pub l2_advertisements: Writer<L2Advertisement>,
    /// Communities.
    pub communities: Writer<Community>,
    /// BFDProfiles.
    pub bfd_profiles: Writer<BFDProfile>,
}

impl ConfigCaches {
    /// Starts a watcher per configuration kind in `namespace`; any change becomes `changed` on
    /// `tx`, a completed list `synced`.
    pub fn start<I>(
        client: &Client,
        namespace: &str,
        tx: &mpsc::Sender<I>,
        changed: I,
        synced: I,
    ) -> Self
    where
        I: Clone + Send + Sync + 'static,
    {
        fn kind<K, I>(
            client: &Client,
            namespace: &str,
            tx: &mpsc::Sender<I>,
            changed: &I,
            synced: &I,
        ) -> Cache<K>
        where
            K: Watched + kube::Resource<Scope = kube::core::NamespaceResourceScope>,
            I: Clone + Send + Sync + 'static,
        {
            let changed = changed.clone();
            spawn(
                Api::<K>::namespaced(client.clone(), namespace),
                watcher::Config::default(),
                tx.clone(),
                move |_| changed.clone(),
                synced.clone(),
            )
        }
        ConfigCaches {
            config_maps: kind(client, namespace, tx, &changed, &synced),
            pools: kind(client, namespace, tx, &changed, &synced),
            peers: kind(client, namespace, tx, &changed, &synced),
            bgp_advertisements: kind(client, namespace, tx, &changed, &synced),
            l2_advertisements: kind(client, namespace, tx, &changed, &synced),
            communities: kind(client, namespace, tx, &changed, &synced),
            bfd_profiles: kind(client, namespace, tx, &changed, &synced),
        }
    }

    /// Synced caches with their writers, for tests (see [`Cache::filled_by_hand`]).
    pub fn filled_by_hand() -> (Self, ConfigWriters) {
        let (config_maps, config_maps_w) = Cache::filled_by_hand();
        let (pools, pools_w) = Cache::filled_by_hand();
        let (peers, peers_w) = Cache::filled_by_hand();
        let (bgp_advertisements, bgp_advertisements_w) = Cache::filled_by_hand();
        let (l2_advertisements, l2_advertisements_w) = Cache::filled_by_hand();
        let (communities, communities_w) = Cache::filled_by_hand();
        let (bfd_profiles, bfd_profiles_w) = Cache::filled_by_hand();
        (
            ConfigCaches {
                config_maps,
                pools,
                peers,
                bgp_advertisements,
                l2_advertisements,
                communities,
                bfd_profiles,
            },
            ConfigWriters {
                config_maps: config_maps_w,
                pools: pools_w,
                peers: peers_w,
                bgp_advertisements: bgp_advertisements_w,
                l2_advertisements: l2_advertisements_w,
                communities: communities_w,
                bfd_profiles: bfd_profiles_w,
            },
        )
    }

    /// Whether every kind has had its first complete list.
    pub fn all_synced(&self) -> bool {
        self.config_maps.is_synced()
            && self.pools.is_synced()
            && self.peers.is_synced()
            && self.bgp_advertisements.is_synced()
            && self.l2_advertisements.is_synced()
            && self.communities.is_synced()
            && self.bfd_profiles.is_synced()
    }

    /// Everything the configuration is read from, as it is now.
    pub fn resources(&self) -> lb_config::Resources {
        let legacy = self
            .config_maps
            .state()
            .into_iter()
            .find(|cm| cm.metadata.name.as_deref() == Some(LEGACY_CONFIGMAP))
            .map(|cm| {
                cm.data
                    .as_ref()
                    .and_then(|d| d.get("config").cloned())
                    .unwrap_or_default()
            });
        lb_config::Resources {
            pools: self.pools.all(),
            peers: self.peers.all(),
            bgp_advertisements: self.bgp_advertisements.all(),
            l2_advertisements: self.l2_advertisements.all(),
            communities: self.communities.all(),
            bfd_profiles: self.bfd_profiles.all(),
            legacy_config: legacy,
        }
    }

    /// The configuration from the legacy ConfigMap and the custom resources (none at all is
    /// a valid configuration without pools, as for MetalLB), warnings logged. `Err` holds
    /// every validation error, one per line.
    pub fn parse(&self) -> Result<lb_config::Config, String> {
        let parsed = lb_config::parse(&self.resources()).map_err(|errors| errors.to_string())?;
        for warning in &parsed.warnings {
            tracing::warn!(controller = "ConfigReconciler", warning = %warning, "configuration accepted with a warning");
        }
        Ok(parsed.config)
    }
}
