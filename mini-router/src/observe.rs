//! Fills the view model ([`crate::view`]) from the running BGP engine: session status from
//! [`bgp::PeerSummary`], the Loc-RIB from [`bgp::RouteView`]. Pure mapping, no I/O: the
//! caller queries the speaker and hands the answers in.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Instant, UNIX_EPOCH};

use bgp::packet::{Capability, SegmentType};
use bgp::{DownReason, Family, InstanceView, PeerSummary, RoutePath};

use crate::view::{
    AsPathSegment, BgpInstanceView, CapStatus, CapabilitiesView, GracefulRestartFamilyView,
    GracefulRestartModeView, GracefulRestartView, MessageCounts, NeighborView, Origin, PathSource,
    PathView, PeerGracefulRestart, RouteView, SessionState,
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
        stale: p.stale,
        stale_deleted_in: None,
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
        capabilities: negotiated.map(|n| capabilities(n, config)),
        sent: counts(&status.sent),
        received: counts(&status.received),
        prefixes_received,
        prefixes_sent: status.prefixes_sent,
        connections_established: u64::from(status.established_count),
        connections_dropped: u64::from(status.dropped_count),
        last_reset: status.last_reset.as_ref().map(|(reason, at)| {
            let reason = match reason {
                DownReason::ConnectionClosed if peer.graceful_restart.restarted => {
                    "NSF peer closed the session".to_owned()
                }
                other => reset_reason(other),
            };
            (peer.at.saturating_duration_since(*at), reason)
        }),
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
        graceful_restart: graceful_restart(peer),
        nsf_wait: state != SessionState::Established
            && peer.graceful_restart.restart_deadline.is_some(),
        bfd: peer.bfd.as_ref().map(|b| neighbor_bfd(b, peer.at)),
    }
}

/// FRR's JSON key of a family ("ipv4Unicast").
fn family_key(family: Family) -> &'static str {
    match family {
        Family::Ipv4Unicast => "ipv4Unicast",
        Family::Ipv6Unicast => "ipv6Unicast",
    }
}

/// "Graceful restart information": our mode and times from the configuration, the peer's
/// from its capability on the session, the timers from the engine.
fn graceful_restart(peer: &PeerSummary) -> GracefulRestartView {
    let ours = peer.config.graceful_restart;
    let gr = &peer.graceful_restart;
    let local_mode = match ours.map(|c| c.mode) {
        None => GracefulRestartModeView::Disable,
        Some(bgp::GracefulRestartMode::Helper) => GracefulRestartModeView::Helper,
        Some(bgp::GracefulRestartMode::Restart) => GracefulRestartModeView::Restart,
    };
    let defaults = bgp::GracefulRestartConfig::HELPER;
    let config = ours.unwrap_or(defaults);
    let negotiated = peer.status.negotiated.as_ref();
    let established = peer.status.state == SessionState::Established;
    let theirs = negotiated
        .filter(|_| established)
        .and_then(|n| bgp::graceful_restart::last_capability(&n.peer_open.capabilities));
    let session = negotiated.and_then(|n| n.graceful_restart.as_ref());
    let remaining = |at: Option<Instant>| at.map(|t| seconds_until(peer.at, t));
    let stale_path_remaining = remaining(gr.stale_deadline);
    let remote_mode = match (local_mode, theirs) {
        (GracefulRestartModeView::Disable, _) => None,
        _ if !established => None,
        (_, None) => Some(GracefulRestartModeView::Disable),
        (_, Some(t)) if t.families.is_empty() => Some(GracefulRestartModeView::Helper),
        (_, Some(_)) => Some(GracefulRestartModeView::Restart),
    };
    let names = |families: &[Family]| families.iter().map(|f| f.to_string()).collect();
    let received = if session.is_some() {
        names(&gr.end_of_rib_received)
    } else {
        Vec::new()
    };
    let families = match (session, negotiated) {
        (Some(s), Some(n)) if established => n
            .families
            .iter()
            .map(|f| GracefulRestartFamilyView {
                name: f.to_string(),
                key: family_key(*f).to_owned(),
                f_bit: s.peer_preserved(*f),
                end_of_rib_sent: gr.end_of_rib_sent.contains(f),
                end_of_rib_received: gr.end_of_rib_received.contains(f),
                stale_path_time: config.stale_path_time,
                stale_path_remaining,
                selection_deferral_time: (local_mode == GracefulRestartModeView::Restart)
                    .then_some(bgp::graceful_restart::DEFAULT_STALE_PATH_TIME),
            })
            .collect(),
        _ => Vec::new(),
    };
    GracefulRestartView {
        local_mode,
        remote_mode,
        r_bit: session.is_some_and(|s| s.peer.restart_state) && established,
        n_bit: session.is_some_and(|s| s.peer.notification) && established,
        configured_restart_time: config.restart_time,
        received_restart_time: gr.peer_restart_time.unwrap_or(0),
        restart_remaining: remaining(gr.restart_deadline),
        stale_path_remaining,
        end_of_rib: theirs.map(|_| (names(&gr.end_of_rib_sent), received)),
        families,
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
fn capabilities(n: &bgp::Negotiated, config: &bgp::PeerConfig) -> CapabilitiesView {
    let ours = &config.families[..];
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
            config.graceful_restart.is_some(),
            received(&|c| matches!(c, Capability::GracefulRestart(_))),
        ),
        peer_graceful_restart: bgp::graceful_restart::last_capability(&n.peer_open.capabilities)
            .map(|gr| PeerGracefulRestart {
                restart_time: gr.restart_time,
                families: gr
                    .families
                    .iter()
                    .map(|f| (f.afi_safi.to_string(), f.forwarding_preserved))
                    .collect(),
            }),
        families,
        ..CapabilitiesView::default()
    }
}

/// The BFD lines of a neighbor: the settings it runs with, BFD's last report.
fn neighbor_bfd(b: &bgp::BfdPeerStatus, at: Instant) -> crate::view::NeighborBfdView {
    let timers = &b.profile.timers;
    crate::view::NeighborBfdView {
        multihop: b.multihop,
        detect_multiplier: timers.detect_mult,
        min_rx_ms: timers.required_min_rx.as_millis() as u64,
        min_tx_ms: timers.desired_min_tx.as_millis() as u64,
        status: match b.state {
            None => "Unknown",
            Some(bgp::bfd::State::Up) => "Up",
            Some(bgp::bfd::State::AdminDown) => "Admin Down",
            Some(bgp::bfd::State::Down | bgp::bfd::State::Init) => "Down",
        },
        last_update: b
            .since
            .map(|(since, _)| at.saturating_duration_since(since)),
    }
}

/// One BFD session for `show bfd peers`: `local` is our address for it (configured, or
/// the BGP connection's), `interface` the one towards a single-hop peer.
pub fn bfd_peer(
    s: &bgp::bfd::SessionView,
    local: Option<IpAddr>,
    interface: Option<String>,
    at: Instant,
) -> crate::view::BfdPeerView {
    use bgp::bfd::State;
    let ms = |d: std::time::Duration| d.as_millis() as u64;
    let timers = &s.spec.profile.timers;
    crate::view::BfdPeerView {
        peer: s.spec.key.peer,
        local: s.spec.local.or(local),
        multihop: s.spec.key.multihop,
        interface: if s.spec.key.multihop { None } else { interface },
        id: s.local_discriminator,
        remote_id: s.remote.discriminator,
        passive: s.spec.profile.passive,
        minimum_ttl: s.spec.profile.minimum_ttl,
        status: match s.state {
            State::AdminDown => "shutdown",
            State::Down => "down",
            State::Init => "init",
            State::Up => "up",
        },
        since_secs: at.saturating_duration_since(s.since).as_secs(),
        diagnostic: s.local_diagnostic.frr_name(),
        remote_diagnostic: s.remote.diagnostic.frr_name(),
        local_timers: crate::view::BfdTimersView {
            detect_multiplier: timers.detect_mult,
            receive_ms: ms(timers.required_min_rx),
            transmit_ms: ms(timers.desired_min_tx),
            echo_receive_ms: 0,
        },
        remote_timers: crate::view::BfdTimersView {
            detect_multiplier: s.remote.detect_mult,
            receive_ms: ms(s.remote.required_min_rx),
            transmit_ms: ms(s.remote.desired_min_tx),
            echo_receive_ms: ms(s.remote.required_min_echo_rx),
        },
        control_in: s.counters.control_in,
        control_out: s.counters.control_out,
        up_events: s.counters.up_events,
        down_events: s.counters.down_events,
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
        DownReason::BfdDown => "BFD down received".to_owned(),
    }
}
