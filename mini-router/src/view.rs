//! The view model: plain data describing what the show commands display, filled from the
//! BGP speaker (session status, Loc-RIB), the kernel (routes, interfaces) and the build.
//! Renderers are pure functions of these structs, so every FRR layout is testable without a
//! running router, and wiring to `bgp::Speaker` is a matter of filling these fields.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use ipnet::IpNet;

pub use bgp::packet::{Community, ExtCommunity, LargeCommunity};

/// The BGP instance as `show ip bgp` headers show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BgpInstanceView {
    /// Our router ID.
    pub router_id: Ipv4Addr,
    /// Our AS.
    pub local_as: u32,
    /// The table version (bumped at every best-path change).
    pub table_version: u64,
    /// LOCAL_PREF assumed when absent (100).
    pub default_local_pref: u32,
    /// Bytes used by the RIB (shown as "RIB entries N, using M of memory").
    pub rib_memory: u64,
    /// Bytes used by the peers (shown as "Peers N, using M of memory").
    pub peer_memory: u64,
}

/// ORIGIN of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `i`, "IGP".
    Igp,
    /// `e`, "EGP".
    Egp,
    /// `?`, "incomplete".
    Incomplete,
}

impl Origin {
    /// The one-character code of the table view.
    pub fn code(&self) -> &'static str {
        match self {
            Origin::Igp => "i",
            Origin::Egp => "e",
            Origin::Incomplete => "?",
        }
    }

    /// The word of the detailed and JSON views.
    pub fn word(&self) -> &'static str {
        match self {
            Origin::Igp => "IGP",
            Origin::Egp => "EGP",
            Origin::Incomplete => "incomplete",
        }
    }
}

/// One AS_PATH segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AsPathSegment {
    /// AS_SEQUENCE.
    Sequence(Vec<u32>),
    /// AS_SET, printed `{1,2}`.
    Set(Vec<u32>),
}

/// Where a path came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathSource {
    /// An iBGP peer.
    Internal,
    /// An eBGP peer.
    External,
    /// Originated here (`network`).
    Local,
}

/// One path to a prefix, as the Loc-RIB holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathView {
    /// The peer it was learned from (None: originated here).
    pub peer: Option<IpAddr>,
    /// That peer's router ID (ours for local paths).
    pub peer_router_id: Ipv4Addr,
    /// NEXT_HOP (or MP_REACH next hop); 0.0.0.0 / :: for local paths.
    pub next_hop: IpAddr,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// Local weight (32768 for local paths).
    pub weight: u32,
    /// AS_PATH.
    pub as_path: Vec<AsPathSegment>,
    /// ORIGIN.
    pub origin: Origin,
    /// Usable (next hop reachable, no loop).
    pub valid: bool,
    /// The best path.
    pub best: bool,
    /// Part of the multipath (ECMP) set but not the best.
    pub multipath: bool,
    /// Where it came from.
    pub source: PathSource,
    /// Why it won, for the best path ("Router ID", "First path received", …).
    pub best_reason: Option<String>,
    /// When it was last updated, seconds since the epoch.
    pub last_update: u64,
    /// COMMUNITIES, as received.
    pub communities: Vec<Community>,
    /// EXTENDED COMMUNITIES, as received.
    pub ext_communities: Vec<ExtCommunity>,
    /// LARGE_COMMUNITY, as received.
    pub large_communities: Vec<LargeCommunity>,
    /// Kept from a restarting peer and not sent again yet (FRR's `S`).
    pub stale: bool,
    /// Seconds until the restarting peer's restart timer deletes this stale path.
    pub stale_deleted_in: Option<u64>,
}

impl PathView {
    /// The AS_PATH as FRR prints it (`65001 65002 {7,8}`); empty for an empty path.
    pub fn as_path_string(&self) -> String {
        let parts: Vec<String> = self
            .as_path
            .iter()
            .map(|seg| match seg {
                AsPathSegment::Sequence(v) => {
                    v.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")
                }
                AsPathSegment::Set(v) => {
                    format!(
                        "{{{}}}",
                        v.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
                    )
                }
            })
            .filter(|s| !s.is_empty())
            .collect();
        parts.join(" ")
    }

    /// The AS_PATH length used by the decision process (a set counts one).
    pub fn as_path_len(&self) -> usize {
        self.as_path
            .iter()
            .map(|s| match s {
                AsPathSegment::Sequence(v) => v.len(),
                AsPathSegment::Set(v) => usize::from(!v.is_empty()),
            })
            .sum()
    }
}

/// One prefix of the Loc-RIB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteView {
    /// The prefix.
    pub prefix: IpNet,
    /// The table version at its last change.
    pub version: u64,
    /// Its paths, in the order FRR lists them (most recently received first).
    pub paths: Vec<PathView>,
    /// Peers the best path was advertised to.
    pub advertised_to: Vec<IpAddr>,
}

/// BGP FSM states (RFC 4271 §8), as the engine reports them.
pub use bgp::SessionState;

/// Counters of one message direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageCounts {
    /// OPEN messages.
    pub opens: u64,
    /// NOTIFICATION messages.
    pub notifications: u64,
    /// UPDATE messages.
    pub updates: u64,
    /// KEEPALIVE messages.
    pub keepalives: u64,
    /// ROUTE-REFRESH messages.
    pub route_refresh: u64,
    /// CAPABILITY messages.
    pub capability: u64,
}

impl MessageCounts {
    /// All messages.
    pub fn total(&self) -> u64 {
        self.opens
            + self.notifications
            + self.updates
            + self.keepalives
            + self.route_refresh
            + self.capability
    }
}

/// Whether a capability was advertised and/or received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CapStatus {
    /// Neither (not printed).
    #[default]
    No,
    /// We advertised it.
    Advertised,
    /// The peer advertised it.
    Received,
    /// Both.
    Both,
}

impl CapStatus {
    /// From the two flags.
    pub fn from_flags(advertised: bool, received: bool) -> CapStatus {
        match (advertised, received) {
            (true, true) => CapStatus::Both,
            (true, false) => CapStatus::Advertised,
            (false, true) => CapStatus::Received,
            (false, false) => CapStatus::No,
        }
    }

    /// FRR's words: "advertised and received", "advertised", "received".
    pub fn words(&self) -> &'static str {
        match self {
            CapStatus::No => "",
            CapStatus::Advertised => "advertised",
            CapStatus::Received => "received",
            CapStatus::Both => "advertised and received",
        }
    }
}

/// The capabilities of an established session, in FRR's order of display.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapabilitiesView {
    /// 4-octet AS (RFC 6793).
    pub four_octet_as: CapStatus,
    /// Extended message (RFC 8654).
    pub extended_message: CapStatus,
    /// ADD-PATH per family: ("IPv4 Unicast", "RX advertised").
    pub add_path: Vec<(String, String)>,
    /// Long-lived graceful restart.
    pub long_lived_gr: CapStatus,
    /// Route refresh (RFC 2918).
    pub route_refresh: CapStatus,
    /// Enhanced route refresh (RFC 7313).
    pub enhanced_route_refresh: CapStatus,
    /// Multiprotocol families: ("IPv4 Unicast", status).
    pub families: Vec<(String, CapStatus)>,
    /// FQDN capability: (our advertised hostname, the peer's if received).
    pub hostname: Option<(Option<String>, Option<String>)>,
    /// Graceful restart (RFC 4724).
    pub graceful_restart: CapStatus,
    /// The peer's Graceful Restart capability, when received.
    pub peer_graceful_restart: Option<PeerGracefulRestart>,
}

/// What the peer's Graceful Restart capability says ("Remote Restart timer", "Address
/// families by peer").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerGracefulRestart {
    /// Its restart time, seconds.
    pub restart_time: u16,
    /// The families it lists ("IPv4 Unicast") and whether it kept their forwarding state.
    pub families: Vec<(String, bool)>,
}

/// FRR's graceful restart modes, as `show ip bgp neighbors` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GracefulRestartModeView {
    /// Helps restarting peers.
    Helper,
    /// Restarts gracefully and helps.
    Restart,
    /// No graceful restart.
    Disable,
}

impl GracefulRestartModeView {
    /// FRR's word for it.
    pub fn word(self) -> &'static str {
        match self {
            GracefulRestartModeView::Helper => "Helper",
            GracefulRestartModeView::Restart => "Restart",
            GracefulRestartModeView::Disable => "Disable",
        }
    }
}

/// The per-family part of "Graceful restart information", shown when both sides advertised
/// graceful restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GracefulRestartFamilyView {
    /// "IPv4 Unicast".
    pub name: String,
    /// Its JSON key ("ipv4Unicast").
    pub key: String,
    /// The Forwarding State bit the peer sent for it.
    pub f_bit: bool,
    /// We sent its End-of-RIB.
    pub end_of_rib_sent: bool,
    /// The peer sent its End-of-RIB.
    pub end_of_rib_received: bool,
    /// Our stale-path time, seconds.
    pub stale_path_time: u16,
    /// Seconds left of the stale-path timer, while it runs.
    pub stale_path_remaining: Option<u64>,
    /// Our selection deferral time when we restart gracefully (Restart mode).
    pub selection_deferral_time: Option<u16>,
}

/// "Graceful restart information" of one neighbor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GracefulRestartView {
    /// Our mode (FRR's "Local GR Mode", inherited from the global setting: `*`).
    pub local_mode: GracefulRestartModeView,
    /// The peer's mode, from its capability; `None`: "NotApplicable".
    pub remote_mode: Option<GracefulRestartModeView>,
    /// The Restart State bit the peer sent.
    pub r_bit: bool,
    /// The Graceful Notification bit the peer sent.
    pub n_bit: bool,
    /// Our restart time, seconds.
    pub configured_restart_time: u16,
    /// The peer's last restart time, seconds (0: never received).
    pub received_restart_time: u16,
    /// Seconds left of the restart timer, while the peer is down and its routes are kept.
    pub restart_remaining: Option<u64>,
    /// Seconds left of the stale-path timer, while it runs.
    pub stale_path_remaining: Option<u64>,
    /// Families whose End-of-RIB we sent and received, when the session is up and the peer
    /// sent the capability.
    pub end_of_rib: Option<(Vec<String>, Vec<String>)>,
    /// Per family details.
    pub families: Vec<GracefulRestartFamilyView>,
}

impl Default for GracefulRestartView {
    /// FRR's defaults for a neighbor that is not up: Helper, nothing received.
    fn default() -> Self {
        GracefulRestartView {
            local_mode: GracefulRestartModeView::Helper,
            remote_mode: None,
            r_bit: false,
            n_bit: false,
            configured_restart_time: 120,
            received_restart_time: 0,
            restart_remaining: None,
            stale_path_remaining: None,
            end_of_rib: None,
            families: Vec::new(),
        }
    }
}

/// One neighbor's session status, as `show ip bgp summary` / `neighbors` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborView {
    /// Its address.
    pub address: IpAddr,
    /// Its AS.
    pub remote_as: u32,
    /// Our AS towards it.
    pub local_as: u32,
    /// Its BGP identifier (0.0.0.0 before an OPEN).
    pub remote_router_id: Ipv4Addr,
    /// Our BGP identifier.
    pub local_router_id: Ipv4Addr,
    /// FSM state.
    pub state: SessionState,
    /// Administratively shut down.
    pub shutdown: bool,
    /// Accepted from a listen range.
    pub dynamic: bool,
    /// `description`.
    pub description: Option<String>,
    /// Time since the session came up (Established) or went down; None: never up.
    pub up_down: Option<Duration>,
    /// Time since the session was last established (None: never).
    pub established_for: Option<Duration>,
    /// Time since the last message was read.
    pub last_read: Option<Duration>,
    /// Time since the last message was written (None: never).
    pub last_write: Option<Duration>,
    /// Hold time in force (negotiated when established, else configured).
    pub hold_time: u16,
    /// Keepalive interval in force.
    pub keepalive: u16,
    /// Configured hold time.
    pub configured_hold_time: u16,
    /// Configured keepalive interval.
    pub configured_keepalive: u16,
    /// Capabilities, once an OPEN was exchanged.
    pub capabilities: Option<CapabilitiesView>,
    /// Messages sent.
    pub sent: MessageCounts,
    /// Messages received.
    pub received: MessageCounts,
    /// Prefixes accepted from it (IPv4 unicast for the IPv4 views).
    pub prefixes_received: u64,
    /// Prefixes advertised to it.
    pub prefixes_sent: u64,
    /// Times the session reached Established.
    pub connections_established: u64,
    /// Times it dropped from Established.
    pub connections_dropped: u64,
    /// Time since the last reset and its reason ("Peer closed the session").
    pub last_reset: Option<(Duration, String)>,
    /// Local and remote TCP endpoints of the established session.
    pub connection: Option<(SocketAddr, SocketAddr)>,
    /// Next hops we announce: IPv4, IPv6 global, IPv6 link-local.
    pub nexthops: Option<(Ipv4Addr, Option<IpAddr>, Option<IpAddr>)>,
    /// ConnectRetry timer, seconds.
    pub connect_retry: u16,
    /// Seconds until the session starts again by itself after going down (FRR's start
    /// timer), while it waits in Idle.
    pub next_start_in: Option<u64>,
    /// Seconds until the next connection attempt, when one is scheduled.
    pub next_connect_in: Option<u64>,
    /// The socket file descriptor (None: no connection).
    pub fd: Option<i32>,
    /// Member of an update group (established and activated).
    pub in_update_group: bool,
    /// Graceful restart state.
    pub graceful_restart: GracefulRestartView,
    /// Down, with the routes of its last session kept while it restarts (FRR's "NSF
    /// passive").
    pub nsf_wait: bool,
    /// Its BFD session, when configured with BFD.
    pub bfd: Option<NeighborBfdView>,
}

impl NeighborView {
    /// Internal (iBGP) link.
    pub fn internal(&self) -> bool {
        self.remote_as == self.local_as
    }
}

/// Routing protocol of a kernel route, as `show ip route` codes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteProtocol {
    /// `K`: added by hand or another program.
    Kernel,
    /// `C`: the subnet of an interface address.
    Connected,
    /// `S`: static.
    Static,
    /// `B`: BGP (installed by us, protocol 186).
    Bgp,
}

impl RouteProtocol {
    /// The code letter.
    pub fn code(&self) -> char {
        match self {
            RouteProtocol::Kernel => 'K',
            RouteProtocol::Connected => 'C',
            RouteProtocol::Static => 'S',
            RouteProtocol::Bgp => 'B',
        }
    }

    /// The JSON name.
    pub fn name(&self) -> &'static str {
        match self {
            RouteProtocol::Kernel => "kernel",
            RouteProtocol::Connected => "connected",
            RouteProtocol::Static => "static",
            RouteProtocol::Bgp => "bgp",
        }
    }
}

/// One next hop of a kernel route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NexthopView {
    /// The gateway (None: directly connected).
    pub gateway: Option<IpAddr>,
    /// Outgoing interface name.
    pub interface: String,
    /// Its index.
    pub ifindex: u32,
    /// ECMP weight (printed for BGP routes).
    pub weight: Option<u32>,
}

/// One route of the kernel table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelRouteView {
    /// Destination.
    pub prefix: IpNet,
    /// Who installed it.
    pub protocol: RouteProtocol,
    /// Administrative distance (BGP: 20 eBGP, 200 iBGP).
    pub distance: u8,
    /// Metric.
    pub metric: u32,
    /// Next hops.
    pub nexthops: Vec<NexthopView>,
    /// Time since installed.
    pub uptime: Duration,
    /// Kernel table (254 = main).
    pub table: u32,
    /// The kernel nexthop object id, when the route uses one (`nhid`).
    pub nexthop_group: Option<u32>,
}

/// One network interface for `show interface`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceView {
    /// Name.
    pub name: String,
    /// Index.
    pub index: u32,
    /// Administratively up.
    pub up: bool,
    /// Carrier (line protocol) up.
    pub running: bool,
    /// Flag names as FRR prints them (`UP`, `BROADCAST`, `RUNNING`, `MULTICAST`).
    pub flags: Vec<String>,
    /// MTU.
    pub mtu: u32,
    /// Speed in Mb/s (0 unknown).
    pub speed: u32,
    /// "Ethernet", "Loopback".
    pub link_type: String,
    /// MAC address, if any.
    pub hwaddr: Option<String>,
    /// Addresses with prefix length.
    pub addresses: Vec<IpNet>,
    /// The kind of link ("VETH", "Other").
    pub kind: String,
    /// The ifindex of the peer/parent link, if any.
    pub parent_ifindex: Option<u32>,
}

/// What `show version` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionView {
    /// Product name.
    pub product: String,
    /// Its version.
    pub version: String,
    /// Our hostname.
    pub hostname: String,
    /// The copyright line.
    pub copyright: String,
    /// Kernel release (`uname -r`).
    pub kernel: String,
    /// Build facts, one per quoted word of the "configured with" line.
    pub build: Vec<String>,
}

/// One BFD session as `show bfd peers` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BfdPeerView {
    /// The peer's address.
    pub peer: IpAddr,
    /// Our address for the session (FRR's `local-address`), when known.
    pub local: Option<IpAddr>,
    /// Multihop (RFC 5883).
    pub multihop: bool,
    /// The interface towards a single-hop peer, when known.
    pub interface: Option<String>,
    /// Our discriminator (`ID`).
    pub id: u32,
    /// The peer's discriminator (`Remote ID`, 0 while unknown).
    pub remote_id: u32,
    /// Passive role.
    pub passive: bool,
    /// Minimum TTL accepted (multihop only).
    pub minimum_ttl: u8,
    /// `down`, `init`, `up` or `shutdown`.
    pub status: &'static str,
    /// Seconds since the session went up or down.
    pub since_secs: u64,
    /// Our diagnostic in FRR's words.
    pub diagnostic: &'static str,
    /// The peer's diagnostic in FRR's words.
    pub remote_diagnostic: &'static str,
    /// Our timers.
    pub local_timers: BfdTimersView,
    /// The peer's timers as last heard.
    pub remote_timers: BfdTimersView,
    /// Control packets received.
    pub control_in: u64,
    /// Control packets sent.
    pub control_out: u64,
    /// Times the session came up.
    pub up_events: u64,
    /// Times it went down from up.
    pub down_events: u64,
}

/// BFD timers in FRR's units (milliseconds; 0 echo receive = disabled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BfdTimersView {
    /// Detect multiplier.
    pub detect_multiplier: u8,
    /// Required minimum receive interval, ms.
    pub receive_ms: u64,
    /// Desired minimum transmit interval, ms.
    pub transmit_ms: u64,
    /// Required minimum echo receive interval, ms.
    pub echo_receive_ms: u64,
}

/// A neighbor's BFD lines in `show ip bgp neighbors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborBfdView {
    /// Multihop (RFC 5883).
    pub multihop: bool,
    /// Detect multiplier configured.
    pub detect_multiplier: u8,
    /// Receive interval configured, ms.
    pub min_rx_ms: u64,
    /// Transmit interval configured, ms.
    pub min_tx_ms: u64,
    /// `Up`, `Down`, `Admin Down`, or `Unknown` before BFD reported.
    pub status: &'static str,
    /// Time since BFD last reported, `None` for never.
    pub last_update: Option<Duration>,
}
