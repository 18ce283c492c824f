//! How a speaker and its peers are configured: the values an operator (FRR-style CLI,
//! MetalLB `BGPPeer`) sets, with FRR's defaults.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use ipnet::IpNet;

pub use crate::damping::IdleHold;
pub use crate::fsm::RemoteAs;
pub use crate::graceful_restart::{GracefulRestartConfig, GracefulRestartMode};
use crate::packet::Family;

/// The BGP port (RFC 4271).
pub const BGP_PORT: u16 = 179;

/// Default of [`SpeakerConfig::max_pending_changes`]: a full Internet table can change at
/// once (a peer with all of it going down) without the consumer having to re-read the RIB.
pub const DEFAULT_MAX_PENDING_CHANGES: usize = 1 << 20;

/// Settings of the whole speaker.
#[derive(Debug, Clone)]
pub struct SpeakerConfig {
    /// Our AS.
    pub local_as: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// Addresses to accept connections on; empty = never accept.
    pub listen: Vec<SocketAddr>,
    /// Re-advertise routes learned from peers (a router does; a MetalLB speaker does not).
    pub readvertise: bool,
    /// `maximum-paths` for eBGP paths (ECMP group size; FRR's default in Debian's build is 256).
    pub max_paths_ebgp: u16,
    /// `maximum-paths ibgp` for iBGP paths.
    pub max_paths_ibgp: u16,
    /// Capacity of the event channel, and how many other events may wait behind it. The
    /// speaker never waits for the consumer: beyond this it sends [`crate::Event::Lagged`].
    pub event_capacity: usize,
    /// How many best-path changes the speaker holds for a consumer that does not keep up,
    /// in the channel plus coalesced behind it (one per prefix, about 70 bytes each);
    /// beyond this it drops them and sends [`crate::Event::Lagged`].
    pub max_pending_changes: usize,
    /// This host's addresses (its interfaces'): routes whose next hop is one of them are
    /// ignored (RFC 4271 §6.3). The listen addresses and our end of each session count as
    /// ours without being listed.
    pub local_addresses: Vec<IpAddr>,
    /// Ports of the BFD task, started with the first peer that has BFD.
    pub bfd: crate::bfd::ServiceConfig,
}

impl Default for SpeakerConfig {
    fn default() -> Self {
        SpeakerConfig {
            local_as: 64512,
            router_id: Ipv4Addr::UNSPECIFIED,
            listen: Vec::new(),
            readvertise: false,
            max_paths_ebgp: crate::rib::DEFAULT_MAX_PATHS,
            max_paths_ibgp: crate::rib::DEFAULT_MAX_PATHS,
            event_capacity: 1024,
            max_pending_changes: DEFAULT_MAX_PENDING_CHANGES,
            local_addresses: Vec::new(),
            bfd: crate::bfd::ServiceConfig::default(),
        }
    }
}

/// Settings of one peer (FRR `neighbor …` commands; MetalLB `BGPPeer`).
#[derive(Debug, Clone, PartialEq)]
pub struct PeerConfig {
    /// The peer's address.
    pub address: IpAddr,
    /// TCP port to connect to.
    pub port: u16,
    /// The AS the peer must have.
    pub remote_as: RemoteAs,
    /// Our AS towards this peer, when not the speaker's (MetalLB `myASN` per peer).
    pub local_as: Option<u32>,
    /// Source address of outgoing connections (`update-source`).
    pub local_address: Option<IpAddr>,
    /// Hold time we propose, in seconds (FRR default 180).
    pub hold_time: u16,
    /// Keepalive interval in seconds; `None` = a third of the hold time.
    pub keepalive: Option<u16>,
    /// Time between connection attempts (FRR default 120 s).
    pub connect_retry: Duration,
    /// How long the session waits in Idle before it starts again by itself after going
    /// down: 1 s, growing for a peer that keeps failing (RFC 4271 DampPeerOscillations).
    pub idle_hold: IdleHold,
    /// Never connect; wait for the peer.
    pub passive: bool,
    /// TCP MD5 password (RFC 2385).
    pub password: Option<String>,
    /// Families to negotiate.
    pub families: Vec<Family>,
    /// TTL for eBGP sessions that are not directly connected (`ebgp-multihop`).
    pub ebgp_multihop: Option<u8>,
    /// Close the session (Cease/1) when the peer sends more prefixes than this.
    pub max_prefix: Option<u32>,
    /// Free text (`description`).
    pub description: Option<String>,
    /// Administratively down (`shutdown`).
    pub shutdown: bool,
    /// Weight given to routes from this peer in the decision process.
    pub weight: u16,
    /// Global IPv6 next hop for IPv6 routes sent with next hop self over an IPv4 session
    /// (FRR `set ipv6 next-hop global`); without it such routes carry our IPv4 address
    /// mapped into IPv6, which FRR and GoBGP accept and BIRD refuses.
    pub ipv6_next_hop: Option<std::net::Ipv6Addr>,
    /// Keep what this peer sends (default true). `false` = announce-only (a MetalLB speaker
    /// towards its routers): UPDATEs are counted (UPDATE counters, and PfxRcd as prefixes
    /// announced minus prefixes withdrawn, since without the routes a re-announcement cannot
    /// be told from a new prefix) and logged at debug level, never stored in the RIB and
    /// never reported as events, so a full table costs no memory.
    pub import: bool,
    /// BGP identifier for this session's OPEN (MetalLB `BGPPeer` `routerID`); `None` = the
    /// speaker's.
    pub router_id: Option<Ipv4Addr>,
    /// Graceful restart (RFC 4724): helper only, or restarting speaker too; `None` (the
    /// default) advertises no Graceful Restart capability.
    pub graceful_restart: Option<GracefulRestartConfig>,
    /// BFD for this peer (FRR `neighbor X bfd [profile NAME]`, MetalLB `bfdProfile`): the
    /// session is held down while its BFD session is not Up and closed with Cease/10 when
    /// BFD goes down. Multihop when `ebgp_multihop` is set, single hop otherwise.
    pub bfd: Option<crate::bfd::Profile>,
}

impl PeerConfig {
    /// A peer with FRR's defaults.
    pub fn new(address: IpAddr, remote_as: RemoteAs) -> Self {
        PeerConfig {
            address,
            port: BGP_PORT,
            remote_as,
            local_as: None,
            local_address: None,
            hold_time: 180,
            keepalive: None,
            connect_retry: Duration::from_secs(120),
            idle_hold: IdleHold::DEFAULT,
            passive: false,
            password: None,
            families: vec![Family::Ipv4Unicast, Family::Ipv6Unicast],
            ebgp_multihop: None,
            max_prefix: None,
            description: None,
            shutdown: false,
            weight: 0,
            ipv6_next_hop: None,
            import: true,
            router_id: None,
            graceful_restart: None,
            bfd: None,
        }
    }

    /// The address and port to connect to.
    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.port)
    }

    /// Whether `other` differs from this configuration in its BFD settings and nothing else:
    /// such a change goes to a running peer with [`crate::Speaker::set_bfd`], without a reset.
    pub fn only_bfd_differs(&self, other: &PeerConfig) -> bool {
        self.bfd != other.bfd
            && PeerConfig {
                bfd: other.bfd.clone(),
                ..self.clone()
            } == *other
    }
}

/// Dynamic neighbors (FRR `bgp listen range PREFIX peer-group NAME`): any connection from an
/// address inside `range` becomes a peer configured like `template`.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenRange {
    /// Accepted source addresses.
    pub range: IpNet,
    /// Settings of the peers created; `address` is replaced with the connecting one.
    pub template: PeerConfig,
}
