//! Fills the view model ([`crate::view`]) from the running BGP engine: session status from
//! [`bgp::PeerSummary`], the Loc-RIB from [`bgp::RouteView`]. Pure mapping, no I/O: the
//! caller queries the speaker and hands the answers in.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Instant, UNIX_EPOCH};

use bgp::packet::{Capability, SegmentType};
use bgp::{DownReason, Family, InstanceView, PeerSummary, RoutePath};

use crate::view::{
    AsPathSegment, BgpInstanceView, CapStatus, CapabilitiesView, MessageCounts, NeighborView,
    Origin, PathSource, PathView, RouteView, SessionState,
};

/// The LOCAL_PREF FRR assumes when a path has none.
const DEFAULT_LOCAL_PREF: u32 = 100;
/// The weight of locally originated paths.
const LOCAL_WEIGHT: u32 = 32768;

/// The instance header of the BGP views.
pub fn instance(instance: &InstanceView) -> BgpInstanceView {
    BgpInstanceView {
        router_id: instance.router_id,
        local_as: instance.local_as,
        table_version: instance.table_version,
        default_local_pref: DEFAULT_LOCAL_PREF,
        rib_memory: instance.rib.approximate_bytes as u64,
        peer_memory: (instance.peers * std::mem::size_of::<PeerSummary>()) as u64,
    }
}

/// One Loc-RIB entry.
pub fn route(
    route: &bgp::RouteView,
    router_id: Ipv4Addr,
    version: u64,
    advertised_to: Vec<IpAddr>,
) -> RouteView {
    RouteView {
        prefix: route.prefix,
        version,
        paths: route.paths.iter().map(|p| path(p, router_id)).collect(),
        advertised_to,
    }
}

fn path(p: &RoutePath, router_id: Ipv4Addr) -> PathView {
    let attrs = &p.attrs.attrs();
    let source = match &p.from {
        None => PathSource::Local,
        Some(info) if info.is_ibgp() => PathSource::Internal,
        Some(_) => PathSource::External,
    };
    PathView {
        peer: p.from.as_ref().map(|f| f.address),
        peer_router_id: p.from.as_ref().map_or(router_id, |f| f.router_id),
        next_hop: p.attrs.next_hop,
        med: attrs.med,
        local_pref: attrs.local_pref,
        weight: p.from.as_ref().map_or(LOCAL_WEIGHT, |f| f.weight),
        as_path: attrs
            .as_path
            .segments
            .iter()
            .map(|s| match s.kind {
                SegmentType::Set | SegmentType::ConfedSet => AsPathSegment::Set(s.asns.clone()),
                SegmentType::Sequence | SegmentType::ConfedSequence => {
                    AsPathSegment::Sequence(s.asns.clone())
                }
            })
            .collect(),
        origin: match attrs.origin {
            bgp::packet::Origin::Igp => Origin::Igp,
            bgp::packet::Origin::Egp => Origin::Egp,
            bgp::packet::Origin::Incomplete => Origin::Incomplete,
        },
        valid: p.valid,
        best: p.best,
        // The view marks only the non-best members (`*=`); the RIB marks the whole group.
        multipath: p.multipath && !p.best,
        source,
        best_reason: p.reason.filter(|_| p.best).map(|r| r.as_str().to_owned()),
        last_update: p
            .received
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        communities: attrs.communities.clone(),
        ext_communities: attrs.ext_communities.clone(),
        large_communities: attrs.large_communities.clone(),
    }
}

/// One neighbor's session, for the family shown.
pub fn neighbor(
    peer: &PeerSummary,
    local_as: u32,
    router_id: Ipv4Addr,
    family: Family,
) -> NeighborView {
    let status = &peer.status;
    let config = &peer.config;
    let negotiated = status.negotiated.as_ref();
    let state = status.state;
    let local_as = config.local_as.unwrap_or(local_as);
    let remote_as = match (negotiated, config.remote_as) {
        (Some(n), _) => n.peer_as,
        (None, bgp::RemoteAs::Asn(asn)) => asn,
        (None, bgp::RemoteAs::Internal) => local_as,
        (None, bgp::RemoteAs::External) => 0,
    };
    let ever_up = status.established_count > 0;
    let since = peer.at.saturating_duration_since(status.state_since);
    let configured_keepalive = config.keepalive.unwrap_or(config.hold_time / 3);
    let prefixes_received = peer
        .received
        .iter()
        .find(|(f, _)| *f == family)
        .map_or(0, |(_, n)| *n as u64);
    NeighborView {
        address: config.address,
        remote_as,
        local_as,
        remote_router_id: negotiated.map_or(Ipv4Addr::UNSPECIFIED, |n| n.peer_id),
        local_router_id: router_id,
        state,
        shutdown: config.shutdown,
        dynamic: peer.dynamic,
        description: config.description.clone(),
        up_down: ever_up.then_some(since),
        established_for: (state == SessionState::Established).then_some(since),
        last_read: None,
        last_write: None,
        hold_time: negotiated.map_or(config.hold_time, |n| n.hold_time),
        keepalive: negotiated.map_or(configured_keepalive, |n| n.keepalive),
        configured_hold_time: config.hold_time,
        configured_keepalive,
        capabilities: negotiated.map(|n| capabilities(n, &config.families)),
        sent: counts(&status.sent),
        received: counts(&status.received),
        prefixes_received,
        prefixes_sent: status.prefixes_sent,
        connections_established: u64::from(status.established_count),
        connections_dropped: u64::from(status.dropped_count),
        last_reset: status
            .last_reset
            .as_ref()
            .map(|(reason, at)| (peer.at.saturating_duration_since(*at), reset_reason(reason))),
        connection: match (status.local, status.remote) {
            (Some(l), Some(r)) if state == SessionState::Established => Some((l, r)),
            _ => None,
        },
        nexthops: status.local.and_then(|l| match l.ip() {
            IpAddr::V4(v4) => Some((v4, None, None)),
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(|v4| (v4, None, None)),
        }),
        connect_retry: u16::try_from(config.connect_retry.as_secs()).unwrap_or(u16::MAX),
        next_start_in: status.next_start.map(|at| seconds_until(peer.at, at)),
        next_connect_in: status.next_connect.map(|at| seconds_until(peer.at, at)),
        fd: None,
        in_update_group: state == SessionState::Established,
    }
}

/// Whole seconds from `now` until `at`, rounded down as FRR prints its timers.
fn seconds_until(now: Instant, at: Instant) -> u64 {
    at.saturating_duration_since(now).as_secs()
}

fn counts(c: &bgp::session::MessageCounters) -> MessageCounts {
    MessageCounts {
        opens: c.opens,
        notifications: c.notifications,
        updates: c.updates,
        keepalives: c.keepalives,
        route_refresh: c.route_refreshes,
        capability: 0,
    }
}

/// What we advertised (our OPEN is built from the configuration) against what the peer sent.
fn capabilities(n: &bgp::Negotiated, ours: &[Family]) -> CapabilitiesView {
    let received = |pred: &dyn Fn(&Capability) -> bool| n.peer_open.capabilities.iter().any(pred);
    let families = Family::ALL
        .iter()
        .map(|f| {
            let theirs =
                received(&|c| matches!(c, Capability::Multiprotocol(p) if *p == f.afi_safi()));
            (
                f.to_string(),
                CapStatus::from_flags(ours.contains(f), theirs),
            )
        })
        .filter(|(_, s)| *s != CapStatus::No)
        .collect();
    CapabilitiesView {
        four_octet_as: CapStatus::from_flags(
            true,
            received(&|c| matches!(c, Capability::FourOctetAs(_))),
        ),
        route_refresh: CapStatus::from_flags(
            true,
            received(&|c| matches!(c, Capability::RouteRefresh)),
        ),
        graceful_restart: CapStatus::from_flags(
            false,
            received(&|c| matches!(c, Capability::GracefulRestart(_))),
        ),
        families,
        ..CapabilitiesView::default()
    }
}

/// FRR's words for why the last session ended.
fn reset_reason(reason: &DownReason) -> String {
    match reason {
        DownReason::NotificationReceived(n) => format!("Notification received ({n})"),
        DownReason::NotificationSent(n) => format!("Notification sent ({n})"),
        DownReason::HoldTimerExpired => "BGP Notification send (Hold Timer Expired)".to_owned(),
        DownReason::ConnectionClosed => "Peer closed the session".to_owned(),
        DownReason::AdminStop => "Admin. shutdown".to_owned(),
    }
}
