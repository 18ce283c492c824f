//! Which routes this node announces for a Service, and to which peers: a pure function of the
//! configuration, the Service, its EndpointSlices and the node, as MetalLB's speaker decides
//! (`controller.SetBalancer`, `bgpController.ShouldAnnounce` and `SetBalancer`).
//!
//! A LoadBalancer Service with addresses in `status.loadBalancer.ingress` is announced from
//! this node when its pool has a `BGPAdvertisement` selecting the node and the Service, the
//! node's network is available and it is not excluded from load balancers, and the Service
//! has a ready or serving endpoint — anywhere for `externalTrafficPolicy: Cluster`, on this
//! node for `Local`. Each address becomes one route per advertisement: the address as /32 or
//! /128, or its aggregate (`aggregationLength`, `aggregationLengthV6`), with the
//! advertisement's LOCAL_PREF and communities, to the advertisement's peers (all of them when
//! it names none). Otherwise the decision is a withdrawal with MetalLB's reason.
//!
//! [`peer_routes`] then puts every announced Service together into the set of routes the
//! `bgp` core originates, with the peers resolved to the sessions this node has.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use lb_config::service::{allocated_from_pool, filtered_by_class};
use lb_config::{BgpAdvertisement, Community, Config, Pool, any_matches};

use crate::node::NodeState;

/// The label that ties an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// Flags that change the decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// `--ignore-exclude-lb`: announce from nodes labelled
    /// `node.kubernetes.io/exclude-from-external-load-balancers` too.
    pub ignore_exclude_lb: bool,
    /// `--lb-class`: only Services of this class (none: only Services without a class).
    pub lb_class: Option<String>,
}

/// One route of a Service: a prefix, its attributes and where it goes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    /// The address as /32 or /128, or its aggregate.
    pub prefix: IpNet,
    /// The BGPPeers it goes to, by name; empty: every peer.
    pub peers: Vec<String>,
    /// LOCAL_PREF (sent on iBGP sessions only).
    pub local_pref: Option<u32>,
    /// Communities, standard and large.
    pub communities: BTreeSet<Community>,
}

/// A Service this node announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// Its addresses, in the order of its status.
    pub ips: Vec<IpAddr>,
    /// The pool they are from.
    pub pool: String,
    /// Its routes: one per address and matching advertisement.
    pub routes: Vec<Route>,
}

/// Why a Service is not announced from this node (MetalLB's reasons).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Not of type LoadBalancer.
    NotLoadBalancer,
    /// Of another load balancer class than this speaker's.
    FilteredByClass,
    /// No address in its status yet.
    NoIpAllocated,
    /// An address in its status does not parse.
    InvalidIp(String),
    /// Its addresses are in no pool (of one pool) of the configuration.
    IpNotAllowed,
    /// No BGP advertisement of its pool selects this node.
    NotOwner,
    /// No BGP advertisement of its pool selects this node and this Service.
    NoMatchingAdvertisement,
    /// Two advertisements for it would send one route with different LOCAL_PREFs.
    ConflictingAdvertisements(String),
    /// The node's `NetworkUnavailable` condition is True.
    NodeNetworkUnavailable,
    /// The node is labelled `node.kubernetes.io/exclude-from-external-load-balancers`.
    NodeLabeledExcludeBalancers,
    /// `externalTrafficPolicy: Local` and no ready endpoint on this node.
    NoLocalEndpoints,
    /// No ready endpoint at all.
    NoEndpoints,
}

impl Reason {
    /// MetalLB's `reason` text, as logged with `serviceWithdrawn`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Reason::NotLoadBalancer => "notLoadBalancer",
            Reason::FilteredByClass => "filteredByLoadBalancerClass",
            Reason::NoIpAllocated => "noIPAllocated",
            Reason::InvalidIp(_) => "invalidIP",
            Reason::IpNotAllowed => "ipNotAllowed",
            Reason::NotOwner => "notOwner",
            Reason::NoMatchingAdvertisement => "noMatchingAdvertisement",
            Reason::ConflictingAdvertisements(_) => "conflictingAdvertisements",
            Reason::NodeNetworkUnavailable => "nodeNetworkUnavailable",
            Reason::NodeLabeledExcludeBalancers => "nodeLabeledExcludeBalancers",
            Reason::NoLocalEndpoints => "noLocalEndpoints",
            Reason::NoEndpoints => "noEndpoints",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::InvalidIp(ip) => write!(f, "invalid LoadBalancer IP {ip:?}"),
            Reason::ConflictingAdvertisements(why) => f.write_str(why),
            other => f.write_str(other.as_str()),
        }
    }
}

/// What this node does about one Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Announce these routes.
    Announce(Announcement),
    /// Announce nothing, for this reason.
    Withdraw(Reason),
}

/// The decision for `svc` (with `slices`, its EndpointSlices) on `node` under `config`.
pub fn decide(
    config: &Config,
    node: &NodeState,
    svc: &Service,
    slices: &[&EndpointSlice],
    options: &Options,
) -> Decision {
    match announcement(config, node, svc, slices, options) {
        Ok(a) => Decision::Announce(a),
        Err(reason) => Decision::Withdraw(reason),
    }
}

fn announcement(
    config: &Config,
    node: &NodeState,
    svc: &Service,
    slices: &[&EndpointSlice],
    options: &Options,
) -> Result<Announcement, Reason> {
    if filtered_by_class(svc, options.lb_class.as_deref()) {
        return Err(Reason::FilteredByClass);
    }
    let spec = svc.spec.as_ref();
    if spec.and_then(|s| s.type_.as_deref()) != Some("LoadBalancer") {
        return Err(Reason::NotLoadBalancer);
    }
    let ips = ingress_ips(svc)?;
    let pool = pool_for(config, svc, &ips).ok_or(Reason::IpNotAllowed)?;
    if !pool
        .bgp_advertisements
        .iter()
        .any(|ad| any_matches(&ad.node_selectors, &node.labels))
    {
        return Err(Reason::NotOwner);
    }
    let service_labels = svc.metadata.labels.clone().unwrap_or_default();
    let ads: Vec<&BgpAdvertisement> = pool
        .bgp_advertisements
        .iter()
        .filter(|ad| any_matches(&ad.node_selectors, &node.labels))
        .filter(|ad| any_matches(&ad.service_selectors, &service_labels))
        .collect();
    if ads.is_empty() {
        return Err(Reason::NoMatchingAdvertisement);
    }
    conflicts(&ads, &ips)?;
    if node.network_unavailable {
        return Err(Reason::NodeNetworkUnavailable);
    }
    if !options.ignore_exclude_lb && node.excluded_from_load_balancers() {
        return Err(Reason::NodeLabeledExcludeBalancers);
    }
    let local = spec.and_then(|s| s.external_traffic_policy.as_deref()) == Some("Local");
    if local && !has_serving_endpoint(slices, Some(&node.name)) {
        return Err(Reason::NoLocalEndpoints);
    }
    if !has_serving_endpoint(slices, None) {
        return Err(Reason::NoEndpoints);
    }
    let routes = ips
        .iter()
        .flat_map(|ip| ads.iter().map(move |ad| route(*ip, ad)))
        .collect();
    Ok(Announcement {
        ips,
        pool: pool.name.clone(),
        routes,
    })
}

/// The Service's addresses; none is [`Reason::NoIpAllocated`], one that does not parse
/// [`Reason::InvalidIp`] (an entry with only a hostname counts as one, as in MetalLB).
fn ingress_ips(svc: &Service) -> Result<Vec<IpAddr>, Reason> {
    let ingress = svc
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .filter(|i| !i.is_empty())
        .ok_or(Reason::NoIpAllocated)?;
    ingress
        .iter()
        .map(|i| {
            let text = i.ip.as_deref().unwrap_or_default();
            text.parse().map_err(|_| Reason::InvalidIp(text.to_owned()))
        })
        .collect()
}

/// The pool holding every one of `ips`: the one the controller recorded in the Service's
/// annotation when it does, else the first (by name) that does, as MetalLB's `poolFor`.
fn pool_for<'c>(config: &'c Config, svc: &Service, ips: &[IpAddr]) -> Option<&'c Pool> {
    let holds_all = |p: &&Pool| ips.iter().all(|ip| p.contains(*ip));
    allocated_from_pool(svc)
        .and_then(|name| config.pools.get(name))
        .filter(holds_all)
        .or_else(|| config.pools.values().find(holds_all))
}

/// MetalLB's `checkBGPAdvConflicts`: two advertisements that would send the same route to a
/// common peer must agree on LOCAL_PREF (both apply to this node, so they share a node).
fn conflicts(ads: &[&BgpAdvertisement], ips: &[IpAddr]) -> Result<(), Reason> {
    for (i, a) in ads.iter().enumerate() {
        for b in &ads[i + 1..] {
            let same_length = ips
                .iter()
                .any(|ip| aggregation_length(a, *ip) == aggregation_length(b, *ip));
            let shared_peer = a.peers.is_empty()
                || b.peers.is_empty()
                || a.peers.iter().any(|p| b.peers.contains(p));
            if a.local_pref != b.local_pref && same_length && shared_peer {
                return Err(Reason::ConflictingAdvertisements(format!(
                    "advertisements '{}' and '{}' have conflicting LOCAL_PREF ({} vs {})",
                    a.name,
                    b.name,
                    a.local_pref.unwrap_or(0),
                    b.local_pref.unwrap_or(0)
                )));
            }
        }
    }
    Ok(())
}

fn aggregation_length(ad: &BgpAdvertisement, ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => ad.aggregation_length,
        IpAddr::V6(_) => ad.aggregation_length_v6,
    }
}

fn route(ip: IpAddr, ad: &BgpAdvertisement) -> Route {
    // lb-config bounds the lengths by the family (≤ 32, ≤ 128); the fallback is unreachable.
    let prefix = IpNet::new(ip, aggregation_length(ad, ip))
        .map(|n| n.trunc())
        .unwrap_or_else(|_| IpNet::from(ip));
    Route {
        prefix,
        peers: ad.peers.clone(),
        local_pref: ad.local_pref,
        communities: ad.communities.clone(),
    }
}

/// Whether an endpoint of `slices` has an address and can serve (MetalLB's
/// `EndpointCanServe`: `ready` unset or true, or `serving` true), on `node` when given.
fn has_serving_endpoint(slices: &[&EndpointSlice], node: Option<&str>) -> bool {
    slices
        .iter()
        .flat_map(|s| s.endpoints.iter().flatten())
        .any(|e| {
            let on_node = node.is_none_or(|n| e.node_name.as_deref() == Some(n));
            let conditions = e.conditions.as_ref();
            let ready = conditions.and_then(|c| c.ready);
            let serving = conditions.and_then(|c| c.serving);
            on_node && !e.addresses.is_empty() && (ready != Some(false) || serving == Some(true))
        })
}

/// The key of the Service an EndpointSlice belongs to (`namespace/name`), from its
/// `kubernetes.io/service-name` label.
pub fn slice_service_key(slice: &EndpointSlice) -> Option<String> {
    let name = slice
        .metadata
        .labels
        .as_ref()?
        .get(SERVICE_NAME_LABEL)
        .filter(|n| !n.is_empty())?;
    Some(format!(
        "{}/{name}",
        slice.metadata.namespace.as_deref().unwrap_or_default()
    ))
}

/// One route as the `bgp` core originates it: the prefix with its attributes, to peers by
/// address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PeerRoute {
    /// The prefix.
    pub prefix: IpNet,
    /// The sessions it goes to, by peer address; empty: every session.
    pub peers: Vec<IpAddr>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// Communities.
    pub communities: BTreeSet<Community>,
}

/// What stays announced while the speaker stops: each route only towards the sessions in
/// `graceful` (those with graceful restart, whose routers keep our routes until we are back);
/// a route for every session goes to each of them. Everything else is withdrawn first, as
/// MetalLB's speaker withdraws on shutdown.
pub fn kept_through_restart(routes: &[PeerRoute], graceful: &BTreeSet<IpAddr>) -> Vec<PeerRoute> {
    if graceful.is_empty() {
        return Vec::new();
    }
    routes
        .iter()
        .filter_map(|route| {
            let peers: Vec<IpAddr> = if route.peers.is_empty() {
                graceful.iter().copied().collect()
            } else {
                route
                    .peers
                    .iter()
                    .copied()
                    .filter(|p| graceful.contains(p))
                    .collect()
            };
            (!peers.is_empty()).then(|| PeerRoute {
                peers,
                ..route.clone()
            })
        })
        .collect()
}

/// Every route of every announced Service, with peer names resolved to this node's sessions
/// (`sessions`: name → address), and per Service the names of the peers it goes to (what its
/// ServiceBGPStatus lists). A route for named peers none of which has a session here is
/// dropped; one for every peer is kept even without sessions, for those to come.
pub fn peer_routes(
    announced: &BTreeMap<String, Announcement>,
    sessions: &BTreeMap<String, IpAddr>,
) -> (Vec<PeerRoute>, BTreeMap<String, BTreeSet<String>>) {
    let mut routes = BTreeSet::new();
    let mut per_service = BTreeMap::new();
    for (key, announcement) in announced {
        let mut peers: BTreeSet<String> = BTreeSet::new();
        for route in &announcement.routes {
            let addresses: Vec<IpAddr> = if route.peers.is_empty() {
                peers.extend(sessions.keys().cloned());
                Vec::new()
            } else {
                let named: Vec<IpAddr> = route
                    .peers
                    .iter()
                    .filter_map(|name| {
                        let address = sessions.get(name)?;
                        peers.insert(name.clone());
                        Some(*address)
                    })
                    .collect();
                if named.is_empty() {
                    continue;
                }
                named
            };
            routes.insert(PeerRoute {
                prefix: route.prefix,
                peers: addresses,
                local_pref: route.local_pref,
                communities: route.communities.clone(),
            });
        }
        per_service.insert(key.clone(), peers);
    }
    (routes.into_iter().collect(), per_service)
}

#[cfg(test)]
mod tests;
