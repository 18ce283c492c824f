//! Which BGP sessions this node keeps, and with which parameters: a pure function of the
//! configuration, the node and the password Secrets, as MetalLB's `bgpController.syncPeers`.
//!
//! One session per `BGPPeer` whose `nodeSelectors` match the node (none: every node). Its
//! parameters come from the peer (`myASN`, `peerASN`/`dynamicASN`, `peerAddress`,
//! `peerPort`, `sourceAddress`, `holdTime`, `keepaliveTime`, `connectTime`, `routerID`,
//! `password`/`passwordSecret`, `ebgpMultiHop`, `dualStackAddressFamily`, `bfdProfile` with
//! its `BFDProfile`) with MetalLB's defaults (hold time 90 s; the node's address as BGP
//! identifier; FRR's BFD timers). A change of the BFD settings alone changes the session in
//! place, as MetalLB's FRR mode does; the BFD echo function is reported as not supported. Sessions are keyed by
//! the peer's address, as the `bgp` core keys them, and [`changes`] compares parameters, so
//! a configuration edit resets only the sessions whose parameters changed.
//!
//! A peer that cannot be used on this node — its Secret is missing or not a basic-auth Secret
//! with a `password`, or another peer has the same address — is reported and skipped, and
//! the others keep working (MetalLB rejects the whole configuration instead).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bgp::{Family, GracefulRestartConfig, PeerConfig, RemoteAs};
use k8s_openapi::api::core::v1::Secret;
use lb_config::{BfdProfile, Config, Peer, PeerAsn, any_matches};

use crate::node::NodeState;

/// MetalLB's native speaker uses a hold time of 90 s when a peer sets none.
pub const DEFAULT_HOLD_TIME: Duration = Duration::from_secs(90);
/// Time between connection attempts when `connectTime` is not set. FRR's 120 s would leave a
/// node dark for two minutes when its router comes up after it; MetalLB's native speaker
/// retries after 1, 2, 4 … s. See docs/decisions/0011-speaker.md.
pub const DEFAULT_CONNECT_TIME: Duration = Duration::from_secs(5);
/// The Secret type a `passwordSecret` must have.
pub const BASIC_AUTH: &str = "kubernetes.io/basic-auth";
/// TTL of eBGP multihop sessions (FRR's `ebgp-multihop` without a number).
const MULTIHOP_TTL: u8 = 255;
/// Graceful restart for a peer with `enableGracefulRestart`, as MetalLB v0.16.2's FRR mode
/// configures it (`neighbor X graceful-restart` with `bgp graceful-restart preserve-fw-state`
/// in its template, and FRR's default times: restart 120 s, stale path 360 s): we restart
/// gracefully, and the Forwarding State bit is set — the node forwards to its Services
/// whether or not the speaker runs.
pub const GRACEFUL_RESTART: GracefulRestartConfig = GracefulRestartConfig {
    preserve_forwarding: true,
    ..GracefulRestartConfig::RESTART
};

/// One session this node should have.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The BGPPeer's name (MetalLB reports peers by name).
    pub name: String,
    /// The session's parameters, as the `bgp` core takes them.
    pub config: PeerConfig,
}

/// Why a peer is not used, or what of it is ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The `passwordSecret` does not exist in the speaker's namespace.
    SecretNotFound {
        /// `namespace/name` of the Secret.
        secret: String,
    },
    /// The Secret is not of type `kubernetes.io/basic-auth`.
    SecretType {
        /// `namespace/name` of the Secret.
        secret: String,
        /// Its type.
        found: String,
    },
    /// The Secret has no `password` key.
    SecretNoPassword {
        /// `namespace/name` of the Secret.
        secret: String,
    },
    /// The Secret's `password` is not UTF-8 text.
    SecretPasswordNotText {
        /// `namespace/name` of the Secret.
        secret: String,
    },
    /// The Secret is in another namespace than the speaker's, whose Secrets it cannot read.
    SecretOtherNamespace {
        /// `namespace/name` of the Secret.
        secret: String,
        /// The speaker's namespace.
        own: String,
    },
    /// Another selected peer has the same address (one session per address).
    AddressInUse {
        /// The address.
        address: IpAddr,
        /// The peer that has it.
        other: String,
    },
    /// A setting this speaker does not implement; the peer is used without it.
    Ignored(&'static str),
}

impl Problem {
    /// Whether the peer is skipped (rather than used without a setting).
    pub fn skips_peer(&self) -> bool {
        !matches!(self, Problem::Ignored(_))
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::SecretNotFound { secret } => {
                write!(f, "secret ref not found: Secret {secret} does not exist")
            }
            Problem::SecretType { secret, found } => write!(
                f,
                "secret type mismatch on {secret}: type {BASIC_AUTH:?} is expected, found {found:?}"
            ),
            Problem::SecretNoPassword { secret } => {
                write!(f, "password not specified in the secret {secret}")
            }
            Problem::SecretPasswordNotText { secret } => {
                write!(f, "the password in the secret {secret} is not UTF-8 text")
            }
            Problem::SecretOtherNamespace { secret, own } => write!(
                f,
                "Secret {secret} is not in the speaker's namespace {own:?}, whose Secrets are the only ones it reads"
            ),
            Problem::AddressInUse { address, other } => write!(
                f,
                "peer address {address} is already used by BGPPeer {other:?}; one session per address"
            ),
            Problem::Ignored(what) => {
                write!(f, "{what} is not supported by this speaker and is ignored")
            }
        }
    }
}

/// A problem with one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerProblem {
    /// The BGPPeer's name.
    pub peer: String,
    /// What is wrong.
    pub problem: Problem,
}

/// The sessions this node should have.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sessions {
    /// By the peer's address.
    pub sessions: BTreeMap<IpAddr, Session>,
    /// Peers of the configuration whose node selectors do not match this node.
    pub not_selected: BTreeSet<String>,
    /// Peers skipped, or used without a setting, and why.
    pub problems: Vec<PeerProblem>,
}

impl Sessions {
    /// The names of the peers this node has sessions with.
    pub fn names(&self) -> BTreeSet<String> {
        self.sessions.values().map(|s| s.name.clone()).collect()
    }
}

/// The sessions of `node` under `config`. `secrets` are the Secrets of `namespace` (the
/// speaker's) by name.
pub fn sessions(
    config: &Config,
    node: &NodeState,
    namespace: &str,
    secrets: &BTreeMap<String, Secret>,
) -> Sessions {
    let mut out = Sessions::default();
    // Peers in name order, so which of two peers with one address wins does not depend on
    // watch order.
    for peer in config.peers.values() {
        if !any_matches(&peer.node_selectors, &node.labels) {
            out.not_selected.insert(peer.name.clone());
            continue;
        }
        let mut report = |problem: Problem| {
            out.problems.push(PeerProblem {
                peer: peer.name.clone(),
                problem,
            })
        };
        for ignored in ignored_settings(peer, config) {
            report(Problem::Ignored(ignored));
        }
        let password = match password(peer, namespace, secrets) {
            Ok(p) => p,
            Err(problem) => {
                report(problem);
                continue;
            }
        };
        if let Some(other) = out.sessions.get(&peer.address) {
            let problem = Problem::AddressInUse {
                address: peer.address,
                other: other.name.clone(),
            };
            report(problem);
            continue;
        }
        let mut session_config = peer_config(peer, node, password);
        session_config.bfd = peer
            .bfd_profile
            .as_ref()
            .map(|name| bfd_profile(name, config.bfd_profiles.get(name)));
        let config = session_config;
        out.sessions.insert(
            peer.address,
            Session {
                name: peer.name.clone(),
                config,
            },
        );
    }
    out
}

/// Settings of MetalLB's FRR modes that this speaker does not implement.
fn ignored_settings(peer: &Peer, config: &Config) -> Vec<&'static str> {
    let mut ignored = Vec::new();
    let profile = peer
        .bfd_profile
        .as_ref()
        .and_then(|name| config.bfd_profiles.get(name));
    if let Some(profile) = profile {
        // BFD runs in asynchronous mode only.
        if profile.echo_mode {
            ignored.push("BFDProfile echoMode (the BFD echo function)");
        }
        if profile.echo_interval.is_some() {
            ignored.push("BFDProfile echoInterval (the BFD echo function)");
        }
    }
    if peer.vrf.is_some() {
        ignored.push("vrf");
    }
    ignored
}

/// The BFD settings of a session from its `BFDProfile` (`None`: the profile does not exist,
/// which validation reports; FRR runs such a session with its defaults, and so does this):
/// MetalLB's defaults, which are FRR's, where the profile sets nothing. Multihop sessions
/// (`ebgpMultiHop`) use the profile's `minimumTtl`.
pub fn bfd_profile(name: &str, profile: Option<&BfdProfile>) -> bgp::bfd::Profile {
    let defaults = bgp::bfd::Profile::default();
    let Some(p) = profile else {
        return bgp::bfd::Profile {
            name: Some(name.to_owned()),
            ..defaults
        };
    };
    bgp::bfd::Profile {
        name: Some(name.to_owned()),
        timers: bgp::bfd::Timers::from_millis(
            p.transmit_interval,
            p.receive_interval,
            p.detect_multiplier.and_then(|m| u8::try_from(m).ok()),
        ),
        passive: p.passive_mode,
        minimum_ttl: p
            .minimum_ttl
            .and_then(|t| u8::try_from(t).ok())
            .unwrap_or(defaults.minimum_ttl),
        shutdown: false,
    }
}

/// The peer's TCP MD5 password: clear text, or from its Secret.
fn password(
    peer: &Peer,
    namespace: &str,
    secrets: &BTreeMap<String, Secret>,
) -> Result<Option<String>, Problem> {
    let Some(reference) = &peer.password_secret else {
        return Ok(peer.password.clone());
    };
    let ns = reference.namespace.as_deref().unwrap_or(namespace);
    let secret = format!("{ns}/{}", reference.name);
    if ns != namespace {
        return Err(Problem::SecretOtherNamespace {
            secret,
            own: namespace.to_owned(),
        });
    }
    let Some(object) = secrets.get(&reference.name) else {
        return Err(Problem::SecretNotFound { secret });
    };
    let found = object.type_.clone().unwrap_or_default();
    if found != BASIC_AUTH {
        return Err(Problem::SecretType { secret, found });
    }
    let bytes = object
        .data
        .as_ref()
        .and_then(|d| d.get("password"))
        .ok_or_else(|| Problem::SecretNoPassword {
            secret: secret.clone(),
        })?;
    String::from_utf8(bytes.0.clone())
        .map(Some)
        .map_err(|_| Problem::SecretPasswordNotText { secret })
}

/// The `bgp` core's configuration of a session with `peer` from `node`.
fn peer_config(peer: &Peer, node: &NodeState, password: Option<String>) -> PeerConfig {
    let remote_as = match peer.peer_asn {
        PeerAsn::Asn(asn) => RemoteAs::Asn(asn),
        PeerAsn::Internal => RemoteAs::Internal,
        PeerAsn::External => RemoteAs::External,
    };
    let mut config = PeerConfig::new(peer.address, remote_as);
    config.port = peer.port;
    config.local_as = Some(peer.my_asn);
    config.local_address = peer.source_address;
    config.hold_time = seconds(peer.hold_time.unwrap_or(DEFAULT_HOLD_TIME));
    config.keepalive = peer.keepalive_time.map(seconds);
    config.connect_retry = peer.connect_time.unwrap_or(DEFAULT_CONNECT_TIME);
    config.password = password;
    config.families = families(peer);
    config.ebgp_multihop = peer.ebgp_multihop.then_some(MULTIHOP_TTL);
    // IPv6 routes over an IPv4 session need a global IPv6 next hop: the node's own.
    config.ipv6_next_hop = node.ipv6();
    config.router_id = Some(peer.router_id.unwrap_or_else(|| router_id(node)));
    // A speaker announces; what routers send is counted, never kept (MetalLB discards it).
    config.import = false;
    config.graceful_restart = peer.enable_graceful_restart.then_some(GRACEFUL_RESTART);
    config
}

/// The families of the session: the peer address's, or both (`dualStackAddressFamily`).
fn families(peer: &Peer) -> Vec<Family> {
    if peer.dual_stack_address_family {
        return vec![Family::Ipv4Unicast, Family::Ipv6Unicast];
    }
    match peer.address {
        IpAddr::V4(_) => vec![Family::Ipv4Unicast],
        IpAddr::V6(_) => vec![Family::Ipv6Unicast],
    }
}

fn seconds(d: Duration) -> u16 {
    u16::try_from(d.as_secs()).unwrap_or(u16::MAX)
}

/// The node's BGP identifier when the peer sets no `routerID`: the node's IPv4 address, or,
/// on an IPv6-only node, MetalLB's fallback — the CRC-32 of the node's name, little-endian.
pub fn router_id(node: &NodeState) -> Ipv4Addr {
    node.ipv4()
        .unwrap_or_else(|| Ipv4Addr::from(crc32_ieee(node.name.as_bytes()).to_le_bytes()))
}

/// CRC-32 (IEEE 802.3, as Go's `crc32.ChecksumIEEE`), bit by bit: it runs once per session.
fn crc32_ieee(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Why a session is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovalReason {
    /// The peer is no longer in the configuration (MetalLB's `removedFromConfig`).
    RemovedFromConfig,
    /// The peer's node selectors no longer match (MetalLB's `filteredByNodeSelector`).
    FilteredByNodeSelector,
    /// Its parameters changed: the session is replaced.
    ParametersChanged,
}

impl RemovalReason {
    /// MetalLB's `reason` text.
    pub fn as_str(self) -> &'static str {
        match self {
            RemovalReason::RemovedFromConfig => "removedFromConfig",
            RemovalReason::FilteredByNodeSelector => "filteredByNodeSelector",
            RemovalReason::ParametersChanged => "parametersChanged",
        }
    }
}

/// What to do to go from the sessions in place to the desired ones.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionChanges {
    /// Sessions to close, with the peer's name and why.
    pub remove: Vec<(IpAddr, String, RemovalReason)>,
    /// Sessions to open (new ones, and replacements of changed ones).
    pub add: Vec<Session>,
    /// Sessions whose BFD settings alone changed: they change in place, without a reset (as
    /// in MetalLB's FRR mode).
    pub bfd: Vec<(IpAddr, Option<bgp::bfd::Profile>)>,
}

impl SessionChanges {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.add.is_empty() && self.bfd.is_empty()
    }
}

/// The changes from `current` to `desired`. A session whose parameters are equal stays as it
/// is, even when its peer was renamed; any other difference replaces it.
pub fn changes(current: &BTreeMap<IpAddr, Session>, desired: &Sessions) -> SessionChanges {
    let mut out = SessionChanges::default();
    for (address, session) in current {
        match desired.sessions.get(address) {
            Some(wanted) if wanted.config == session.config => {}
            Some(wanted) if session.config.only_bfd_differs(&wanted.config) => {
                out.bfd.push((*address, wanted.config.bfd.clone()));
            }
            Some(_) => out.remove.push((
                *address,
                session.name.clone(),
                RemovalReason::ParametersChanged,
            )),
            None => {
                let reason = if desired.not_selected.contains(&session.name) {
                    RemovalReason::FilteredByNodeSelector
                } else {
                    RemovalReason::RemovedFromConfig
                };
                out.remove.push((*address, session.name.clone(), reason));
            }
        }
    }
    for (address, wanted) in &desired.sessions {
        let same = current.get(address).is_some_and(|s| {
            s.config == wanted.config || s.config.only_bfd_differs(&wanted.config)
        });
        if !same {
            out.add.push(wanted.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests;
