//! BGP peers, checked as MetalLB's `peerFromCR` checks them (AS numbers, addresses, timers,
//! node selectors, password, BFD profile), every problem reported.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use super::checked;
use crate::crd::bgp_peer::{BGPPeer, BGPPeerSpec, DynamicASNMode};
use crate::duration::{self, GoDuration};
use crate::error::{ConfigError, Problem};
use crate::inputs::Sourced;
use crate::label_selector;
use crate::model::{Peer, PeerAsn, SecretRef};
use crate::source::{FieldPath, Report};

/// The BGP port, used when `peerPort` is not set.
const BGP_PORT: u16 = 179;

/// The usable peers by name; problems go to `errors`. `bfd_profiles` names every profile
/// defined, usable or not (a broken one has its own errors; "does not exist" would mislead).
pub(super) fn peers(
    list: &[Sourced<BGPPeer>],
    bfd_profiles: &BTreeSet<&str>,
    errors: &mut Vec<ConfigError>,
) -> BTreeMap<String, Peer> {
    checked(list, errors, |name, p, report| {
        peer(name, &p.object.spec, bfd_profiles, report)
    })
    .into_iter()
    .map(|p| (p.name.clone(), p))
    .collect()
}

fn peer(
    name: &str,
    spec: &BGPPeerSpec,
    bfd_profiles: &BTreeSet<&str>,
    report: &mut Report<'_>,
) -> Option<Peer> {
    let path = FieldPath::spec();
    if spec.my_asn == 0 {
        report.error(&path.field("myASN"), Problem::ZeroAsn);
    }
    let peer_asn = match (spec.peer_asn, spec.dynamic_asn) {
        (0, None) => {
            report.error(&path.field("peerASN"), Problem::NoPeerAsn);
            None
        }
        (0, Some(DynamicASNMode::Internal)) => Some(PeerAsn::Internal),
        (0, Some(DynamicASNMode::External)) => Some(PeerAsn::External),
        (asn, None) => Some(PeerAsn::Asn(asn)),
        (_, Some(_)) => {
            report.error(&path.field("peerASN"), Problem::PeerAsnAndDynamicAsn);
            None
        }
    };
    if spec.ebgp_multi_hop && spec.peer_asn != 0 && spec.peer_asn == spec.my_asn {
        report.error(&path.field("ebgpMultiHop"), Problem::MultihopForIbgp);
    }
    if spec.local_asn != 0 {
        report.error(
            &path.field("localASN"),
            Problem::Unsupported("localASN (BGP local-as)"),
        );
    }
    let address = address(spec, report);
    let source_address = optional::<IpAddr>(
        &spec.source_address,
        &path.field("sourceAddress"),
        report,
        Problem::InvalidIp,
    );
    let router_id = optional::<Ipv4Addr>(
        &spec.router_id,
        &path.field("routerID"),
        report,
        Problem::InvalidRouterId,
    );
    let (hold_time, keepalive_time) = timers(spec, report);
    let connect_time = connect_time(spec.connect_time.as_deref(), report);
    let node_selectors =
        label_selector::convert_list(&spec.node_selectors, &path.field("nodeSelectors"), report);
    let secret = spec
        .password_secret
        .as_ref()
        .and_then(|s| s.name.as_ref().filter(|n| !n.is_empty()).map(|n| (n, s)));
    if !spec.password.is_empty() && secret.is_some() {
        report.error(&path.field("passwordSecret"), Problem::PasswordAndSecret);
    }
    if !spec.bfd_profile.is_empty() && !bfd_profiles.contains(spec.bfd_profile.as_str()) {
        report.error(
            &path.field("bfdProfile"),
            Problem::MissingBfdProfile(spec.bfd_profile.clone()),
        );
    }
    Some(Peer {
        name: name.to_string(),
        my_asn: spec.my_asn,
        peer_asn: peer_asn?,
        address: address?,
        port: if spec.peer_port == 0 {
            BGP_PORT
        } else {
            spec.peer_port
        },
        source_address: source_address.ok()?,
        hold_time,
        keepalive_time,
        connect_time,
        router_id: router_id.ok()?,
        node_selectors,
        password: Some(spec.password.clone()).filter(|p| !p.is_empty()),
        password_secret: secret.map(|(name, s)| SecretRef {
            name: name.clone(),
            namespace: s.namespace.clone().filter(|n| !n.is_empty()),
        }),
        bfd_profile: Some(spec.bfd_profile.clone()).filter(|p| !p.is_empty()),
        enable_graceful_restart: spec.enable_graceful_restart,
        ebgp_multihop: spec.ebgp_multi_hop,
        vrf: Some(spec.vrf.clone()).filter(|v| !v.is_empty()),
        dual_stack_address_family: spec.dual_stack_address_family,
    })
}

/// The address to dial; ferrolb has no unnumbered (interface) peering.
fn address(spec: &BGPPeerSpec, report: &mut Report<'_>) -> Option<IpAddr> {
    let path = FieldPath::spec();
    match (spec.peer_address.is_empty(), spec.interface.is_empty()) {
        (false, false) => {
            report.error(&path.field("interface"), Problem::AddressAndInterface);
            None
        }
        (true, false) => {
            report.error(
                &path.field("interface"),
                Problem::Unsupported("unnumbered BGP peering (interface)"),
            );
            None
        }
        (true, true) => {
            report.error(&path.field("peerAddress"), Problem::Missing);
            None
        }
        (false, true) => optional(
            &spec.peer_address,
            &path.field("peerAddress"),
            report,
            Problem::InvalidIp,
        )
        .ok()
        .flatten(),
    }
}

/// A field that may be empty, parsed as `T`; `Err` (reported as `problem`) when set but not
/// a `T`.
fn optional<T: std::str::FromStr>(
    text: &str,
    path: &FieldPath,
    report: &mut Report<'_>,
    problem: fn(String) -> Problem,
) -> Result<Option<T>, ()> {
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        report.error(path, problem(text.to_string()));
    })
}

/// A duration field; `Err` (reported) when set but not a Go duration.
fn parse_duration(
    text: Option<&str>,
    path: &FieldPath,
    report: &mut Report<'_>,
) -> Result<Option<GoDuration>, ()> {
    let Some(text) = text else {
        return Ok(None);
    };
    match duration::parse(text) {
        Some(d) => Ok(Some(d)),
        None => {
            report.error(path, Problem::InvalidDuration(text.to_string()));
            Err(())
        }
    }
}

/// Hold and keepalive times as MetalLB's `parseTimers` derives them: each from the other
/// when only one is set (hold = 3 × keepalive), hold 0 or at least 3 s in whole seconds,
/// keepalive no longer than hold.
fn timers(
    spec: &BGPPeerSpec,
    report: &mut Report<'_>,
) -> (Option<std::time::Duration>, Option<std::time::Duration>) {
    let hold_path = FieldPath::spec().field("holdTime");
    let keepalive_path = FieldPath::spec().field("keepaliveTime");
    let hold_text = spec.hold_time.as_deref();
    let keepalive_text = spec.keepalive_time.as_deref();
    let (Ok(hold), Ok(keepalive)) = (
        parse_duration(hold_text, &hold_path, report),
        parse_duration(keepalive_text, &keepalive_path, report),
    ) else {
        return (None, None);
    };
    let (hold, keepalive, hold_shown, blame) = match (hold, keepalive) {
        (None, None) => return (None, None),
        (Some(h), Some(k)) => (h, k, hold_text.unwrap_or_default().to_string(), &hold_path),
        (Some(h), None) => (
            h,
            h.third(),
            hold_text.unwrap_or_default().to_string(),
            &hold_path,
        ),
        (None, Some(k)) => (
            k.times_three(),
            k,
            format!("3 × {}", keepalive_text.unwrap_or_default()),
            &keepalive_path,
        ),
    };
    let seconds = hold.whole_seconds();
    if seconds != 0 && seconds < 3 {
        report.error(blame, Problem::HoldTimeTooShort(hold_shown.clone()));
        return (None, None);
    }
    if keepalive > hold {
        report.error(
            &keepalive_path,
            Problem::KeepaliveLongerThanHold {
                keepalive: keepalive_text.map_or_else(|| format!("{hold_shown} / 3"), String::from),
                hold: hold_shown,
            },
        );
        return (None, None);
    }
    if keepalive.to_std().is_none() {
        report.error(
            &keepalive_path,
            Problem::NegativeDuration(keepalive_text.unwrap_or_default().to_string()),
        );
        return (None, None);
    }
    (hold.to_std(), keepalive.to_std())
}

/// `connectTime`, within the bounds MetalLB's CRD sets: whole seconds, 1 s to 65535 s.
fn connect_time(text: Option<&str>, report: &mut Report<'_>) -> Option<std::time::Duration> {
    let path = FieldPath::spec().field("connectTime");
    let d = parse_duration(text, &path, report).ok()??;
    let whole = d.0 % 1_000_000_000 == 0;
    if !whole || !(1..=65535).contains(&d.whole_seconds()) {
        report.error(
            &path,
            Problem::InvalidConnectTime(text.unwrap_or_default().to_string()),
        );
        return None;
    }
    d.to_std()
}
