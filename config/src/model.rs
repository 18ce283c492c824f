//! The validated, normalized configuration: what the controller and the speaker act on.
//!
//! Both sources of MetalLB configuration — the legacy `config` ConfigMap of the tutorial and
//! the `metallb.io` custom resources — are parsed and validated into this one [`Config`], the
//! way MetalLB's `configmaptocrs` and `internal/config.For` do. Everything here has already
//! been checked: addresses parse, pools do not overlap, advertisements reference existing
//! pools and peers, communities are resolved from their aliases. Selectors are kept as
//! [`Selector`]s rather than resolved against the cluster's objects, so a label change on a
//! Namespace or Node does not need a new `Config`: the consumer evaluates them against the
//! labels it watches.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use ipnet::IpNet;

use crate::selector::Selector;

/// MetalLB's configuration after parsing and validation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// Address pools by name.
    pub pools: BTreeMap<String, Pool>,
    /// BGP peers by name (legacy ConfigMap peers are named `peer1`, `peer2`, … in order).
    pub peers: BTreeMap<String, Peer>,
    /// BFD profiles by name.
    pub bfd_profiles: BTreeMap<String, BfdProfile>,
}

/// An address pool (`IPAddressPool`, or an `address-pools` entry of the legacy ConfigMap).
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    /// The pool's name (legacy pool names are kept as they are).
    pub name: String,
    /// The pool's addresses as CIDRs, in the order the user listed them; an `A-B` range is
    /// split into the smallest set of CIDRs that covers exactly `A..=B`, as MetalLB does.
    /// Guaranteed not to overlap each other nor any other pool's.
    pub cidrs: Vec<IpNet>,
    /// Skip addresses ending in `.0` and `.255` (IPv4 only).
    pub avoid_buggy_ips: bool,
    /// Whether the pool may be used for Services that did not ask for it by name or address.
    pub auto_assign: bool,
    /// Which Services may take addresses from this pool (`serviceAllocation`).
    pub service_allocation: Option<ServiceAllocation>,
    /// The BGP advertisements that apply to this pool's addresses.
    pub bgp_advertisements: Vec<BgpAdvertisement>,
    /// The L2 advertisements that apply to this pool's addresses (parsed for later use).
    pub l2_advertisements: Vec<L2Advertisement>,
}

impl Pool {
    /// Whether `ip` is one of this pool's addresses.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.cidrs.iter().any(|c| c.contains(&ip))
    }

    /// Whether the pool has any IPv4 addresses.
    pub fn has_ipv4(&self) -> bool {
        self.cidrs.iter().any(|c| matches!(c, IpNet::V4(_)))
    }

    /// Whether the pool has any IPv6 addresses.
    pub fn has_ipv6(&self) -> bool {
        self.cidrs.iter().any(|c| matches!(c, IpNet::V6(_)))
    }
}

/// A pool's `serviceAllocation`: which Services may use it, and how it ranks against others.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceAllocation {
    /// Lower is preferred; `0` (unset) ranks after every pool with a priority, as MetalLB.
    pub priority: i32,
    /// Namespaces listed by name.
    pub namespaces: BTreeSet<String>,
    /// Namespaces selected by labels (a Service's namespace qualifies if it is listed by name
    /// or matches any of these).
    pub namespace_selectors: Vec<Selector>,
    /// Services selected by labels; empty means any Service (of a qualifying namespace).
    pub service_selectors: Vec<Selector>,
}

/// A BGP community attached to announcements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Community {
    /// An RFC 1997 community, `AS:VALUE` (each 16 bits), held as its 32-bit value.
    Standard(u32),
    /// An RFC 8092 large community, `large:GLOBAL:LOCAL1:LOCAL2`.
    Large(u32, u32, u32),
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Community::Standard(v) => write!(f, "{}:{}", v >> 16, v & 0xffff),
            Community::Large(g, a, b) => write!(f, "large:{g}:{a}:{b}"),
        }
    }
}

/// How one pool's addresses are announced over BGP (`BGPAdvertisement`, or a
/// `bgp-advertisements` entry of a legacy pool).
#[derive(Debug, Clone, PartialEq)]
pub struct BgpAdvertisement {
    /// The advertisement's name (legacy entries get a generated one).
    pub name: String,
    /// Prefix length for IPv4 addresses (32 = the address itself).
    pub aggregation_length: u8,
    /// Prefix length for IPv6 addresses (128 = the address itself).
    pub aggregation_length_v6: u8,
    /// LOCAL_PREF, sent to iBGP peers only; `None` when not set.
    pub local_pref: Option<u32>,
    /// Communities, resolved from `Community` aliases, sorted and without duplicates.
    pub communities: BTreeSet<Community>,
    /// Only announce from nodes matching one of these (empty: every node).
    pub node_selectors: Vec<Selector>,
    /// Only announce to these peers, by name (empty: every peer).
    pub peers: Vec<String>,
    /// Only for Services matching one of these (empty: every Service).
    pub service_selectors: Vec<Selector>,
}

/// How one pool's addresses are announced over L2 (parsed now, used by a later L2 mode).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct L2Advertisement {
    /// The advertisement's name.
    pub name: String,
    /// Only announce from nodes matching one of these (empty: every node).
    pub node_selectors: Vec<Selector>,
    /// Only on these interfaces (empty: all).
    pub interfaces: Vec<String>,
    /// Only for Services matching one of these (empty: every Service).
    pub service_selectors: Vec<Selector>,
}

/// The remote AS a peer is expected to have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerAsn {
    /// This AS number exactly.
    Asn(u32),
    /// `dynamicASN: internal`: the same AS as ours.
    Internal,
    /// `dynamicASN: external`: any AS other than ours.
    External,
}

/// Where to find a peer's TCP MD5 password (`passwordSecret`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretRef {
    /// The Secret's name.
    pub name: String,
    /// The Secret's namespace (MetalLB's own namespace when not given).
    pub namespace: Option<String>,
}

/// A BGP router to peer with (`BGPPeer`, or a `peers` entry of the legacy ConfigMap).
#[derive(Debug, Clone, PartialEq)]
pub struct Peer {
    /// The peer's name (legacy peers are named `peer1`, `peer2`, …).
    pub name: String,
    /// Our AS on this session.
    pub my_asn: u32,
    /// The AS expected from the peer.
    pub peer_asn: PeerAsn,
    /// The address to dial.
    pub address: IpAddr,
    /// The TCP port to dial (179 unless set).
    pub port: u16,
    /// The local address to dial from.
    pub source_address: Option<IpAddr>,
    /// Requested hold time (`None`: the speaker's default, 90 s).
    pub hold_time: Option<Duration>,
    /// Requested keepalive interval (`None`: a third of the hold time).
    pub keepalive_time: Option<Duration>,
    /// Time between connection attempts (`connectTime`).
    pub connect_time: Option<Duration>,
    /// The BGP identifier to use (`None`: the node's address).
    pub router_id: Option<Ipv4Addr>,
    /// Only peer from nodes matching one of these (empty: every node).
    pub node_selectors: Vec<Selector>,
    /// A clear-text TCP MD5 password.
    pub password: Option<String>,
    /// A Secret of type `kubernetes.io/basic-auth` holding the password.
    pub password_secret: Option<SecretRef>,
    /// The BFD profile to bind to this session.
    pub bfd_profile: Option<String>,
    /// Advertise graceful restart (RFC 4724).
    pub enable_graceful_restart: bool,
    /// The peer is more than one hop away (eBGP multihop).
    pub ebgp_multihop: bool,
    /// The VRF to peer from (FRR mode only in MetalLB).
    pub vrf: Option<String>,
    /// Announce IPv4 and IPv6 over this one session.
    pub dual_stack_address_family: bool,
}

/// A BFD profile (`BFDProfile`); values in milliseconds, `None` when not set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BfdProfile {
    /// The profile's name.
    pub name: String,
    /// Minimum interval between received control packets, ms.
    pub receive_interval: Option<u32>,
    /// Minimum interval between sent control packets, ms.
    pub transmit_interval: Option<u32>,
    /// Packets that may be lost before the session is declared down.
    pub detect_multiplier: Option<u32>,
    /// Echo interval, ms.
    pub echo_interval: Option<u32>,
    /// Echo mode requested.
    pub echo_mode: bool,
    /// Wait for the peer's control packets instead of sending first.
    pub passive_mode: bool,
    /// Minimum incoming TTL (multihop).
    pub minimum_ttl: Option<u32>,
}
