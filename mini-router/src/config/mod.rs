//! The running configuration: what the operator configured (hostname, `router bgp`,
//! neighbors, peer-groups, listen ranges, address families), changed one typed
//! [`ConfigChange`] at a time with FRR's error messages, written out in FRR 8's
//! `show running-config` layout ([`write`]) and read back from an FRR-syntax file
//! ([`load`]) through the same command tree as the CLI.

pub mod load;
pub mod write;

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use thiserror::Error;

use crate::cli::command::{
    Afi, BfdProfileSetting, ConfigChange, GracefulRestartSetting, Mode, NeighborField,
    NeighborSetting, PeerRef, RemoteAs,
};

/// The whole running configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningConfig {
    /// `hostname`, also the prompt.
    pub hostname: String,
    /// The `router bgp` instance, if configured.
    pub bgp: Option<BgpConfig>,
    /// The `bfd` node, if configured.
    pub bfd: Option<BfdConfig>,
}

/// `bfd` and its profiles (bfdd's configuration in FRR).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BfdConfig {
    /// Profiles by name.
    pub profiles: BTreeMap<String, BfdProfileConfig>,
}

/// `profile NAME` inside `bfd`: what is not set keeps FRR's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BfdProfileConfig {
    /// `detect-multiplier` (default 3).
    pub detect_multiplier: Option<u8>,
    /// `transmit-interval`, ms (default 300).
    pub transmit_interval: Option<u32>,
    /// `receive-interval`, ms (default 300).
    pub receive_interval: Option<u32>,
    /// `shutdown`.
    pub shutdown: bool,
    /// `passive-mode`.
    pub passive: bool,
    /// `minimum-ttl` (default 254; multihop sessions only).
    pub minimum_ttl: Option<u8>,
}

/// `router bgp ASN` and everything under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BgpConfig {
    /// Our AS.
    pub asn: u32,
    /// `bgp router-id`; None picks one from the interfaces.
    pub router_id: Option<Ipv4Addr>,
    /// Peer-groups by name (FRR keeps and prints them sorted by name).
    pub peer_groups: BTreeMap<String, PeerGroupConfig>,
    /// Neighbors by address (FRR prints them in address order).
    pub neighbors: BTreeMap<IpAddr, NeighborConfig>,
    /// Per address family settings.
    pub families: BTreeMap<Afi, AfConfig>,
    /// `bgp graceful-restart …`.
    pub graceful_restart: GracefulRestartConfig,
}

/// FRR's global graceful restart modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GracefulRestartMode {
    /// Helps restarting peers (FRR's default, `Helper*`).
    Helper,
    /// Restarts gracefully too (`bgp graceful-restart`).
    Restart,
    /// No graceful restart at all (`bgp graceful-restart-disable`).
    Disable,
}

/// The global `bgp graceful-restart …` settings, with FRR's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GracefulRestartConfig {
    /// The mode.
    pub mode: GracefulRestartMode,
    /// `restart-time`, seconds (FRR's default 120).
    pub restart_time: u16,
    /// `stalepath-time`, seconds (FRR's default 360).
    pub stale_path_time: u16,
    /// `preserve-fw-state`.
    pub preserve_fw_state: bool,
}

impl Default for GracefulRestartConfig {
    fn default() -> Self {
        GracefulRestartConfig {
            mode: GracefulRestartMode::Helper,
            restart_time: bgp::graceful_restart::DEFAULT_RESTART_TIME,
            stale_path_time: bgp::graceful_restart::DEFAULT_STALE_PATH_TIME,
            preserve_fw_state: false,
        }
    }
}

impl GracefulRestartConfig {
    /// Applies one `[no] bgp graceful-restart …` command.
    fn apply(&mut self, setting: GracefulRestartSetting, negate: bool) {
        let defaults = GracefulRestartConfig::default();
        match (setting, negate) {
            (GracefulRestartSetting::Restart, false) => self.mode = GracefulRestartMode::Restart,
            (GracefulRestartSetting::Disable, false) => self.mode = GracefulRestartMode::Disable,
            (GracefulRestartSetting::Restart, true)
                if self.mode == GracefulRestartMode::Restart =>
            {
                self.mode = GracefulRestartMode::Helper;
            }
            (GracefulRestartSetting::Disable, true)
                if self.mode == GracefulRestartMode::Disable =>
            {
                self.mode = GracefulRestartMode::Helper;
            }
            (GracefulRestartSetting::Restart | GracefulRestartSetting::Disable, true) => {}
            (GracefulRestartSetting::RestartTime(t), false) => {
                self.restart_time = t.unwrap_or(defaults.restart_time);
            }
            (GracefulRestartSetting::RestartTime(_), true) => {
                self.restart_time = defaults.restart_time;
            }
            (GracefulRestartSetting::StalePathTime(t), false) => {
                self.stale_path_time = t.unwrap_or(defaults.stale_path_time);
            }
            (GracefulRestartSetting::StalePathTime(_), true) => {
                self.stale_path_time = defaults.stale_path_time;
            }
            (GracefulRestartSetting::PreserveFwState, negate) => self.preserve_fw_state = !negate,
        }
    }

    /// What the BGP engine does with it (`None`: no capability).
    pub fn engine(&self) -> Option<bgp::GracefulRestartConfig> {
        let mode = match self.mode {
            GracefulRestartMode::Disable => return None,
            GracefulRestartMode::Helper => bgp::GracefulRestartMode::Helper,
            GracefulRestartMode::Restart => bgp::GracefulRestartMode::Restart,
        };
        Some(bgp::GracefulRestartConfig {
            mode,
            restart_time: self.restart_time,
            stale_path_time: self.stale_path_time,
            preserve_forwarding: self.preserve_fw_state,
        })
    }
}

/// A peer-group: shared neighbor settings, and the listen ranges whose dynamic neighbors
/// join it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerGroupConfig {
    /// The settings members inherit.
    pub conf: NeighborConfig,
    /// `bgp listen range PREFIX peer-group NAME`.
    pub listen_ranges: Vec<IpNet>,
}

/// Settings of one neighbor or peer-group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NeighborConfig {
    /// `remote-as`; None for a group member that inherits it.
    pub remote_as: Option<RemoteAs>,
    /// `peer-group NAME` (neighbors only).
    pub peer_group: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `password` (TCP MD5).
    pub password: Option<String>,
    /// `timers KEEPALIVE HOLD`.
    pub timers: Option<(u16, u16)>,
    /// `shutdown`.
    pub shutdown: bool,
    /// `passive`.
    pub passive: bool,
    /// `update-source`.
    pub update_source: Option<String>,
    /// `ebgp-multihop [TTL]`: Some(None) is the keyword alone (TTL 255).
    pub ebgp_multihop: Option<Option<u8>>,
    /// `bfd [profile NAME]`: Some(None) is BFD with the default settings.
    pub bfd: Option<Option<String>>,
    /// Per address family settings (absent: the defaults).
    pub families: BTreeMap<Afi, NeighborAfConfig>,
}

/// A neighbor's settings in one address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighborAfConfig {
    /// `activate`: IPv4 unicast is active by default (FRR's traditional defaults).
    pub active: bool,
    /// `maximum-prefix N`.
    pub maximum_prefix: Option<u32>,
}

impl NeighborAfConfig {
    /// The settings before any command, for `afi`.
    pub fn default_for(afi: Afi) -> NeighborAfConfig {
        NeighborAfConfig {
            active: afi == Afi::Ipv4,
            maximum_prefix: None,
        }
    }
}

impl NeighborConfig {
    /// This neighbor's settings in `afi`, defaults included.
    pub fn family(&self, afi: Afi) -> NeighborAfConfig {
        self.families
            .get(&afi)
            .copied()
            .unwrap_or(NeighborAfConfig::default_for(afi))
    }
}

/// `address-family ipv4|ipv6 unicast` settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AfConfig {
    /// `network PREFIX`: locally originated prefixes.
    pub networks: BTreeSet<IpNet>,
    /// `maximum-paths N` (eBGP multipath); None: the default.
    pub maximum_paths: Option<u16>,
    /// `maximum-paths ibgp N`; None: the default.
    pub maximum_paths_ibgp: Option<u16>,
}

/// The number of ECMP paths when `maximum-paths` is not configured (FRR built with
/// `--enable-multipath=256`, as the reference captures were).
pub const DEFAULT_MAXIMUM_PATHS: u16 = 256;

/// bfdd's default detect multiplier.
pub const BFD_DEFAULT_DETECT_MULTIPLIER: u8 = 3;
/// bfdd's default transmit and receive intervals, ms.
pub const BFD_DEFAULT_INTERVAL_MS: u32 = 300;
/// bfdd's default minimum TTL of multihop sessions.
pub const BFD_DEFAULT_MINIMUM_TTL: u8 = 254;

/// A configuration change refused, in FRR's words.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// `router bgp` with another AS than the running instance.
    #[error("BGP is already running; AS is {0}")]
    AsMismatch(u32),
    /// `no router bgp ASN` for an instance that does not exist.
    #[error("% Can't find BGP instance")]
    NoSuchInstance,
    /// A BGP command with no `router bgp` configured.
    #[error("% No BGP process is configured")]
    NoBgp,
    /// An option for a neighbor that has no remote-as or peer-group yet.
    #[error("% Specify remote-as or peer-group commands first")]
    SpecifyRemoteAsFirst,
    /// `neighbor NAME remote-as` for a name that is not a peer-group.
    #[error("% Create the peer-group or interface first")]
    CreatePeerGroupFirst,
    /// `no neighbor NAME` for a peer-group that does not exist.
    #[error("% Create the peer-group first")]
    NoSuchPeerGroup,
    /// A reference to a peer-group that does not exist.
    #[error("% Configure the peer-group first")]
    ConfigurePeerGroupFirst,
    /// Moving a neighbor from one peer-group to another.
    #[error("% Cannot change the peer-group. Deconfigure first")]
    CannotChangePeerGroup,
    /// A prefix of the other family than the address-family block.
    #[error("% Malformed prefix")]
    MalformedPrefix,
    /// The listen range exists already.
    #[error("% Dynamic neighbor listen range already exists")]
    ListenRangeExists,
    /// An option that applies to neighbors, given to a peer-group name or vice versa.
    #[error("% Invalid command for a peer-group: {0}")]
    NotForPeerGroup(&'static str),
    /// The BFD Echo function, which mini-router does not implement.
    #[error("% BFD echo mode is not supported: mini-router runs BFD in asynchronous mode only")]
    EchoUnsupported,
}

impl Default for RunningConfig {
    fn default() -> Self {
        RunningConfig {
            hostname: "mini-router".to_string(),
            bgp: None,
            bfd: None,
        }
    }
}

impl RunningConfig {
    /// A configuration with only a hostname.
    pub fn with_hostname(hostname: &str) -> RunningConfig {
        RunningConfig {
            hostname: hostname.to_string(),
            bgp: None,
            bfd: None,
        }
    }

    /// Applies one change typed in `mode`. Returns the mode the change enters, if any
    /// (`router bgp` enters `config-router`, `address-family` enters `config-router-af`).
    pub fn apply(
        &mut self,
        change: &ConfigChange,
        mode: Mode,
    ) -> Result<Option<Mode>, ConfigError> {
        let afi = match mode {
            Mode::ConfigRouterAf(afi) => afi,
            _ => Afi::Ipv4,
        };
        match change {
            ConfigChange::Hostname(name) => {
                self.hostname = name
                    .clone()
                    .unwrap_or_else(|| RunningConfig::default().hostname);
                Ok(None)
            }
            ConfigChange::FrrCompat(_) => Ok(None),
            ConfigChange::RouterBgp(asn) => match &self.bgp {
                Some(b) if b.asn != *asn => Err(ConfigError::AsMismatch(b.asn)),
                Some(_) => Ok(Some(Mode::ConfigRouter)),
                None => {
                    self.bgp = Some(BgpConfig::new(*asn));
                    Ok(Some(Mode::ConfigRouter))
                }
            },
            ConfigChange::NoRouterBgp(asn) => match (&self.bgp, asn) {
                (Some(b), Some(a)) if b.asn != *a => Err(ConfigError::NoSuchInstance),
                (None, _) => Err(ConfigError::NoSuchInstance),
                _ => {
                    self.bgp = None;
                    Ok(None)
                }
            },
            ConfigChange::AddressFamily(family) => {
                self.bgp_mut()?;
                Ok(Some(Mode::ConfigRouterAf(*family)))
            }
            ConfigChange::Bfd => {
                self.bfd.get_or_insert_default();
                Ok(Some(Mode::ConfigBfd))
            }
            ConfigChange::NoBfd => {
                self.bfd = None;
                Ok(None)
            }
            ConfigChange::BfdProfile(name) => {
                self.bfd
                    .get_or_insert_default()
                    .profiles
                    .entry(name.as_str().to_string())
                    .or_default();
                Ok(Some(Mode::ConfigBfdProfile(*name)))
            }
            ConfigChange::NoBfdProfile(name) => {
                if let Some(bfd) = &mut self.bfd {
                    bfd.profiles.remove(name.as_str());
                }
                Ok(None)
            }
            ConfigChange::BfdProfileSet(setting) => {
                let Mode::ConfigBfdProfile(name) = mode else {
                    return Ok(None);
                };
                let profile = self
                    .bfd
                    .get_or_insert_default()
                    .profiles
                    .entry(name.as_str().to_string())
                    .or_default();
                profile.apply(*setting)?;
                Ok(None)
            }
            other => {
                self.bgp_mut()?.apply(other, afi)?;
                Ok(None)
            }
        }
    }

    fn bgp_mut(&mut self) -> Result<&mut BgpConfig, ConfigError> {
        self.bgp.as_mut().ok_or(ConfigError::NoBgp)
    }
}

impl BfdProfileConfig {
    /// Applies a setting; a value equal to FRR's default is stored as unset, since FRR
    /// writes only what differs from it.
    fn apply(&mut self, setting: BfdProfileSetting) -> Result<(), ConfigError> {
        match setting {
            BfdProfileSetting::DetectMultiplier(m) => {
                self.detect_multiplier = m.filter(|m| *m != BFD_DEFAULT_DETECT_MULTIPLIER);
            }
            BfdProfileSetting::TransmitInterval(ms) => {
                self.transmit_interval = ms.filter(|ms| *ms != BFD_DEFAULT_INTERVAL_MS);
            }
            BfdProfileSetting::ReceiveInterval(ms) => {
                self.receive_interval = ms.filter(|ms| *ms != BFD_DEFAULT_INTERVAL_MS);
            }
            BfdProfileSetting::PassiveMode(on) => self.passive = on,
            BfdProfileSetting::MinimumTtl(ttl) => {
                self.minimum_ttl = ttl.filter(|t| *t != BFD_DEFAULT_MINIMUM_TTL);
            }
            BfdProfileSetting::Shutdown(on) => self.shutdown = on,
            BfdProfileSetting::Echo(true) => return Err(ConfigError::EchoUnsupported),
            BfdProfileSetting::Echo(false) => {}
        }
        Ok(())
    }
}

impl BgpConfig {
    /// A fresh `router bgp ASN`.
    pub fn new(asn: u32) -> BgpConfig {
        BgpConfig {
            asn,
            router_id: None,
            peer_groups: BTreeMap::new(),
            neighbors: BTreeMap::new(),
            families: BTreeMap::new(),
            graceful_restart: GracefulRestartConfig::default(),
        }
    }

    /// The settings of `afi`, defaults included.
    pub fn family(&self, afi: Afi) -> AfConfig {
        self.families.get(&afi).cloned().unwrap_or_default()
    }

    /// The effective remote AS of a neighbor: its own or its peer-group's.
    pub fn remote_as_of(&self, addr: &IpAddr) -> Option<RemoteAs> {
        let n = self.neighbors.get(addr)?;
        n.remote_as.or_else(|| {
            let g = n.peer_group.as_ref()?;
            self.peer_groups.get(g)?.conf.remote_as
        })
    }

    fn target(&mut self, peer: &PeerRef) -> Result<&mut NeighborConfig, ConfigError> {
        match peer {
            PeerRef::Address(a) => self
                .neighbors
                .get_mut(a)
                .ok_or(ConfigError::SpecifyRemoteAsFirst),
            PeerRef::Group(g) => self
                .peer_groups
                .get_mut(g)
                .map(|g| &mut g.conf)
                .ok_or(ConfigError::SpecifyRemoteAsFirst),
        }
    }

    fn apply(&mut self, change: &ConfigChange, afi: Afi) -> Result<(), ConfigError> {
        match change {
            ConfigChange::RouterId(id) => self.router_id = *id,
            ConfigChange::RemoteAs { peer, remote_as } => match peer {
                PeerRef::Address(a) => {
                    self.neighbors.entry(*a).or_default().remote_as = Some(*remote_as);
                }
                PeerRef::Group(g) => {
                    let group = self
                        .peer_groups
                        .get_mut(g)
                        .ok_or(ConfigError::CreatePeerGroupFirst)?;
                    group.conf.remote_as = Some(*remote_as);
                }
            },
            ConfigChange::NoNeighbor(peer) => match peer {
                PeerRef::Address(a) => {
                    self.neighbors.remove(a);
                }
                PeerRef::Group(g) => {
                    self.peer_groups
                        .remove(g)
                        .ok_or(ConfigError::NoSuchPeerGroup)?;
                    for n in self.neighbors.values_mut() {
                        if n.peer_group.as_deref() == Some(g) {
                            n.peer_group = None;
                        }
                    }
                    // Members that had no remote-as of their own go with the group.
                    self.neighbors
                        .retain(|_, n| n.remote_as.is_some() || n.peer_group.is_some());
                }
            },
            ConfigChange::PeerGroup(name) => {
                self.peer_groups.entry(name.clone()).or_default();
            }
            ConfigChange::NeighborSet { peer, setting } => self.set(peer, setting, afi)?,
            ConfigChange::NeighborUnset { peer, field } => {
                let n = self.target(peer)?;
                unset(n, *field, afi);
                // A member without a remote-as of its own does not outlive its membership.
                if let (PeerRef::Address(a), NeighborField::PeerGroup) = (peer, field)
                    && self.neighbors.get(a).is_some_and(|n| n.remote_as.is_none())
                {
                    self.neighbors.remove(a);
                }
            }
            ConfigChange::ListenRange {
                range,
                group,
                negate,
            } => {
                let exists = self
                    .peer_groups
                    .values()
                    .any(|g| g.listen_ranges.contains(range));
                let g = self
                    .peer_groups
                    .get_mut(group)
                    .ok_or(ConfigError::ConfigurePeerGroupFirst)?;
                if *negate {
                    g.listen_ranges.retain(|r| r != range);
                } else if exists {
                    return Err(ConfigError::ListenRangeExists);
                } else {
                    g.listen_ranges.push(*range);
                }
            }
            ConfigChange::MaximumPaths { ibgp, paths } => {
                let paths = &paths.filter(|p| *p != DEFAULT_MAXIMUM_PATHS);
                let f = self.families.entry(afi).or_default();
                if *ibgp {
                    f.maximum_paths_ibgp = *paths;
                } else {
                    f.maximum_paths = *paths;
                }
            }
            ConfigChange::Network { prefix, negate } => {
                let family_ok = match afi {
                    Afi::Ipv4 => prefix.addr().is_ipv4(),
                    Afi::Ipv6 => prefix.addr().is_ipv6(),
                };
                if !family_ok {
                    return Err(ConfigError::MalformedPrefix);
                }
                let f = self.families.entry(afi).or_default();
                let p = prefix.trunc();
                if *negate {
                    f.networks.remove(&p);
                } else {
                    f.networks.insert(p);
                }
            }
            ConfigChange::GracefulRestart { setting, negate } => {
                self.graceful_restart.apply(*setting, *negate);
            }
            // Handled by RunningConfig::apply.
            ConfigChange::Hostname(_)
            | ConfigChange::FrrCompat(_)
            | ConfigChange::RouterBgp(_)
            | ConfigChange::NoRouterBgp(_)
            | ConfigChange::AddressFamily(_)
            | ConfigChange::Bfd
            | ConfigChange::NoBfd
            | ConfigChange::BfdProfile(_)
            | ConfigChange::NoBfdProfile(_)
            | ConfigChange::BfdProfileSet(_) => {}
        }
        Ok(())
    }

    fn set(
        &mut self,
        peer: &PeerRef,
        setting: &NeighborSetting,
        afi: Afi,
    ) -> Result<(), ConfigError> {
        if let NeighborSetting::PeerGroup(g) = setting {
            let PeerRef::Address(addr) = peer else {
                return Err(ConfigError::NotForPeerGroup("peer-group"));
            };
            if !self.peer_groups.contains_key(g) {
                return Err(ConfigError::ConfigurePeerGroupFirst);
            }
            let n = self.neighbors.entry(*addr).or_default();
            match &n.peer_group {
                Some(old) if old != g => return Err(ConfigError::CannotChangePeerGroup),
                _ => n.peer_group = Some(g.clone()),
            }
            return Ok(());
        }
        let n = self.target(peer)?;
        match setting {
            NeighborSetting::Description(d) => n.description = Some(d.clone()),
            NeighborSetting::Password(p) => n.password = Some(p.clone()),
            NeighborSetting::Timers { keepalive, hold } => n.timers = Some((*keepalive, *hold)),
            NeighborSetting::Shutdown => n.shutdown = true,
            NeighborSetting::Passive => n.passive = true,
            NeighborSetting::UpdateSource(s) => n.update_source = Some(s.clone()),
            // FRR prints TTL 255 as the bare keyword; store it that way.
            NeighborSetting::EbgpMultihop(ttl) => {
                n.ebgp_multihop = Some(ttl.filter(|t| *t != u8::MAX));
            }
            NeighborSetting::Activate => {
                n.families
                    .entry(afi)
                    .or_insert(NeighborAfConfig::default_for(afi))
                    .active = true;
            }
            NeighborSetting::MaximumPrefix(m) => {
                n.families
                    .entry(afi)
                    .or_insert(NeighborAfConfig::default_for(afi))
                    .maximum_prefix = Some(*m);
            }
            // `bfd` alone keeps a profile set before, as FRR does.
            NeighborSetting::Bfd(profile) => {
                n.bfd = Some(profile.clone().or_else(|| n.bfd.clone().flatten()));
            }
            NeighborSetting::PeerGroup(_) => {}
        }
        Ok(())
    }
}

fn unset(n: &mut NeighborConfig, field: NeighborField, afi: Afi) {
    match field {
        NeighborField::Description => n.description = None,
        NeighborField::Password => n.password = None,
        NeighborField::Timers => n.timers = None,
        NeighborField::Shutdown => n.shutdown = false,
        NeighborField::Passive => n.passive = false,
        NeighborField::PeerGroup => n.peer_group = None,
        NeighborField::UpdateSource => n.update_source = None,
        NeighborField::EbgpMultihop => n.ebgp_multihop = None,
        NeighborField::Activate => {
            n.families
                .entry(afi)
                .or_insert(NeighborAfConfig::default_for(afi))
                .active = false;
        }
        NeighborField::MaximumPrefix => {
            n.families
                .entry(afi)
                .or_insert(NeighborAfConfig::default_for(afi))
                .maximum_prefix = None;
        }
        NeighborField::Bfd => n.bfd = None,
        NeighborField::BfdProfile => {
            if n.bfd.is_some() {
                n.bfd = Some(None);
            }
        }
    }
}
