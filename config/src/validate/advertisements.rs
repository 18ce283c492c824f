//! BGP and L2 advertisements: checked, and attached to the pools they select (by name, by
//! pool label, or all pools when they name none), as MetalLB's
//! `setBGPAdvertisementsToPools` / `setL2AdvertisementsToPools` attach them.
//!
//! A name in `ipAddressPools` or `peers` that matches nothing is a warning, not an error:
//! MetalLB ignores it, and refusing it would keep a deleted pool in force as long as an
//! advertisement still lists it.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::checked;
use super::communities::{self, Alias};
use super::pools::Checked;
use crate::crd::bgp_advertisement::{BGPAdvertisement, BGPAdvertisementSpec};
use crate::crd::l2_advertisement::L2Advertisement as L2AdvertisementResource;
use crate::error::{ConfigError, Problem};
use crate::inputs::Sourced;
use crate::label_selector;
use crate::model::{BfdProfile, BgpAdvertisement, L2Advertisement, Peer};
use crate::source::{FieldPath, Report};

/// What BGP advertisements are checked against.
pub(super) struct Context<'c, 'a> {
    /// Community aliases by name.
    pub(super) aliases: &'c BTreeMap<String, Alias<'a>>,
    /// The usable peers.
    pub(super) peers: &'c BTreeMap<String, Peer>,
    /// The usable BFD profiles.
    pub(super) bfd_profiles: &'c BTreeMap<String, BfdProfile>,
}

/// Default IPv4 aggregation: each address on its own.
const HOST_V4: i32 = 32;
/// Default IPv6 aggregation.
const HOST_V6: i32 = 128;

/// Checks each BGP advertisement and attaches it to the pools it selects.
pub(super) fn attach_bgp(
    list: &[Sourced<BGPAdvertisement>],
    pools: &mut [Checked<'_>],
    ctx: &Context<'_, '_>,
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<ConfigError>,
) {
    // Which advertisement each pool's attached advertisements came from, for messages.
    let mut attached_from: Vec<Vec<String>> = vec![Vec::new(); pools.len()];
    checked(list, errors, |name, ad, report| {
        let mut warn = Report::new(&ad.source, warnings);
        let spec = &ad.object.spec;
        let model = bgp_advertisement(name, spec, ctx, report, &mut warn)?;
        let selected = select_pools(
            &spec.ip_address_pools,
            &spec.ip_address_pool_selectors,
            pools,
            report,
            &mut warn,
        );
        if !report.clean() {
            return None;
        }
        for &i in &selected {
            let pool = &pools[i];
            check_aggregation(&model, pool, report);
            check_local_pref(&model, pool, &attached_from[i], report);
            check_bfd_echo(&model, pool, ctx, report);
        }
        if !report.clean() {
            return None;
        }
        for i in selected {
            pools[i].pool.bgp_advertisements.push(model.clone());
            attached_from[i].push(ad.source.describe_object());
        }
        Some(())
    });
}

/// The advertisement's own fields; `None` if one is wrong (reported).
fn bgp_advertisement(
    name: &str,
    spec: &BGPAdvertisementSpec,
    ctx: &Context<'_, '_>,
    report: &mut Report<'_>,
    warn: &mut Report<'_>,
) -> Option<BgpAdvertisement> {
    let path = FieldPath::spec();
    report.no_repeats(&spec.ip_address_pools, &path.field("ipAddressPools"));
    report.no_repeats(&spec.communities, &path.field("communities"));
    report.no_repeats(&spec.peers, &path.field("peers"));
    let length =
        |value: Option<i32>, default: i32, field: &'static str, report: &mut Report<'_>| {
            let v = value.unwrap_or(default);
            match u8::try_from(v) {
                Ok(l) if v <= default => Some(l),
                _ => {
                    report.error(
                        &path.field(field),
                        Problem::OutOfRange {
                            value: v.into(),
                            min: 0,
                            max: default.into(),
                        },
                    );
                    None
                }
            }
        };
    let v4 = length(
        spec.aggregation_length,
        HOST_V4,
        "aggregationLength",
        report,
    );
    let v6 = length(
        spec.aggregation_length_v6,
        HOST_V6,
        "aggregationLengthV6",
        report,
    );
    if !spec.service_selectors.is_empty() {
        for (value, host, field) in [
            (spec.aggregation_length, HOST_V4, "aggregationLength"),
            (spec.aggregation_length_v6, HOST_V6, "aggregationLengthV6"),
        ] {
            if value.is_some_and(|v| v != host) {
                report.error(&path.field(field), Problem::ServiceSelectorsWithAggregation);
            }
        }
    }
    if spec.as_path_prepend != 0 {
        report.error(
            &path.field("asPathPrepend"),
            Problem::Unsupported("asPathPrepend (MetalLB supports it in frr-k8s mode only)"),
        );
    }
    let mut communities = BTreeSet::new();
    for (i, text) in spec.communities.iter().enumerate() {
        match communities::resolve(text, ctx.aliases) {
            Ok(c) => {
                communities.insert(c);
            }
            Err(problem) => report.error(&path.field("communities").index(i), problem),
        }
    }
    for (i, peer) in spec.peers.iter().enumerate() {
        if !ctx.peers.contains_key(peer) {
            warn.error(
                &path.field("peers").index(i),
                Problem::MissingPeer(peer.clone()),
            );
        }
    }
    let node_selectors =
        label_selector::convert_list(&spec.node_selectors, &path.field("nodeSelectors"), report);
    let service_selectors = label_selector::convert_list(
        &spec.service_selectors,
        &path.field("serviceSelectors"),
        report,
    );
    if !report.clean() {
        return None;
    }
    Some(BgpAdvertisement {
        name: name.to_string(),
        aggregation_length: v4?,
        aggregation_length_v6: v6?,
        local_pref: Some(spec.local_pref).filter(|&l| l != 0),
        communities,
        node_selectors,
        peers: spec.peers.clone(),
        service_selectors,
    })
}

/// The indices of the pools an advertisement applies to: those it names and those its pool
/// selectors match, or every pool when it has neither. Names matching no pool are warnings.
fn select_pools(
    names: &[String],
    selectors: &[LabelSelector],
    pools: &[Checked<'_>],
    report: &mut Report<'_>,
    warn: &mut Report<'_>,
) -> BTreeSet<usize> {
    let path = FieldPath::spec();
    for (i, name) in names.iter().enumerate() {
        if !pools.iter().any(|p| p.pool.name == *name) {
            warn.error(
                &path.field("ipAddressPools").index(i),
                Problem::MissingPool(name.clone()),
            );
        }
    }
    let selectors =
        label_selector::convert_list(selectors, &path.field("ipAddressPoolSelectors"), report);
    let everything = names.is_empty() && selectors.is_empty();
    pools
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            everything
                || names.contains(&p.pool.name)
                || selectors.iter().any(|s| s.matches(&p.labels))
        })
        .map(|(i, _)| i)
        .collect()
}

/// MetalLB's `validateBGPAdvPerPool`: the aggregation length of a family may not be shorter
/// than the shortest prefix of an entry of that family (a /24 pool cannot be announced as
/// /16: the aggregate would cover addresses the pool does not have).
fn check_aggregation(ad: &BgpAdvertisement, pool: &Checked<'_>, report: &mut Report<'_>) {
    for entry in &pool.entries {
        let Some(shortest) = entry.cidrs.iter().map(IpNet::prefix_len).min() else {
            continue;
        };
        let (length, field) = match entry.cidrs.first() {
            Some(IpNet::V4(_)) => (ad.aggregation_length, "aggregationLength"),
            _ => (ad.aggregation_length_v6, "aggregationLengthV6"),
        };
        if length < shortest {
            report.error(
                &FieldPath::spec().field(field),
                Problem::AggregationTooShort {
                    length: length.into(),
                    prefix: shortest,
                    entry: entry.text.clone(),
                    pool: pool.source.describe_object(),
                },
            );
        }
    }
}

/// Two advertisements of one pool without service selectors may not set different
/// LOCAL_PREFs for the same BGP update: same prefix length, a peer in common, a node in
/// common (MetalLB's `BGPAdvertisementsHaveCompatibleLocalPref`).
fn check_local_pref(
    ad: &BgpAdvertisement,
    pool: &Checked<'_>,
    from: &[String],
    report: &mut Report<'_>,
) {
    if !ad.service_selectors.is_empty() {
        return;
    }
    let (v4, v6) = (pool.pool.has_ipv4(), pool.pool.has_ipv6());
    for (other, other_source) in pool.pool.bgp_advertisements.iter().zip(from) {
        if !other.service_selectors.is_empty() || other.local_pref == ad.local_pref {
            continue;
        }
        let same_v4 = other.aggregation_length == ad.aggregation_length;
        let same_v6 = other.aggregation_length_v6 == ad.aggregation_length_v6;
        let same_length = (v4 && same_v4) || (v6 && same_v6);
        let shared_peer = ad.peers.is_empty()
            || other.peers.is_empty()
            || ad.peers.iter().any(|p| other.peers.contains(p));
        let shared_node =
            label_selector::lists_may_overlap(&ad.node_selectors, &other.node_selectors);
        if same_length && shared_peer && shared_node {
            report.error(
                &FieldPath::spec().field("localPref"),
                Problem::LocalPrefConflict {
                    local_pref: ad.local_pref.unwrap_or(0),
                    other_local_pref: other.local_pref.unwrap_or(0),
                    other: other_source.clone(),
                    pool: pool.source.describe_object(),
                },
            );
        }
    }
}

/// MetalLB's `validateConfig`: BFD echo mode cannot protect a session that carries a pool's
/// IPv6 addresses.
fn check_bfd_echo(
    ad: &BgpAdvertisement,
    pool: &Checked<'_>,
    ctx: &Context<'_, '_>,
    report: &mut Report<'_>,
) {
    if !pool.pool.has_ipv6() {
        return;
    }
    for peer in ctx.peers.values() {
        if !ad.peers.is_empty() && !ad.peers.contains(&peer.name) {
            continue;
        }
        let Some(profile) = peer.bfd_profile.as_ref() else {
            continue;
        };
        if ctx.bfd_profiles.get(profile).is_some_and(|p| p.echo_mode) {
            report.error(
                &FieldPath::spec().field("peers"),
                Problem::BfdEchoWithIpv6 {
                    peer: peer.name.clone(),
                    profile: profile.clone(),
                    pool: pool.source.describe_object(),
                },
            );
        }
    }
}

/// Checks each L2 advertisement and attaches it to the pools it selects.
pub(super) fn attach_l2(
    list: &[Sourced<L2AdvertisementResource>],
    pools: &mut [Checked<'_>],
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<ConfigError>,
) {
    checked(list, errors, |name, ad, report| {
        let mut warn = Report::new(&ad.source, warnings);
        let spec = &ad.object.spec;
        let path = FieldPath::spec();
        report.no_repeats(&spec.ip_address_pools, &path.field("ipAddressPools"));
        let node_selectors = label_selector::convert_list(
            &spec.node_selectors,
            &path.field("nodeSelectors"),
            report,
        );
        let service_selectors = label_selector::convert_list(
            &spec.service_selectors,
            &path.field("serviceSelectors"),
            report,
        );
        let preferred = path.field("preferredNodeSelectors");
        for (i, p) in spec.preferred_node_selectors.iter().enumerate() {
            if !(1..=100).contains(&p.weight) {
                report.error(
                    &preferred.index(i).field("weight"),
                    Problem::OutOfRange {
                        value: p.weight.into(),
                        min: 1,
                        max: 100,
                    },
                );
            }
            label_selector::convert(
                &p.preference,
                &preferred.index(i).field("preference"),
                report,
            );
        }
        let selected = select_pools(
            &spec.ip_address_pools,
            &spec.ip_address_pool_selectors,
            pools,
            report,
            &mut warn,
        );
        if !report.clean() {
            return None;
        }
        let model = L2Advertisement {
            name: name.to_string(),
            node_selectors,
            interfaces: spec.interfaces.clone(),
            service_selectors,
        };
        for i in selected {
            pools[i].pool.l2_advertisements.push(model.clone());
        }
        Some(())
    });
}
