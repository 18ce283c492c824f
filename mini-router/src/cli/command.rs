//! Commands as data: what a parsed line means, independent of how it is executed. The command
//! tree builds these values; the executor (and the `--config` loader) consume them.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

/// The CLI mode a line is typed in; it selects the command tree and the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Privileged exec mode, prompt `HOST#`.
    Enable,
    /// Global configuration, prompt `HOST(config)#`.
    Config,
    /// `router bgp ASN`, prompt `HOST(config-router)#`.
    ConfigRouter,
    /// `address-family …` inside `router bgp`, prompt `HOST(config-router-af)#`.
    ConfigRouterAf(Afi),
    /// `bfd`, prompt `HOST(config-bfd)#`.
    ConfigBfd,
    /// `profile NAME` inside `bfd`, prompt `HOST(config-bfd-profile)#`.
    ConfigBfdProfile(ProfileName),
}

/// A BFD profile's name, kept inline so that [`Mode`] stays `Copy` (FRR allows 64
/// characters, `BFD_PROFNAMELEN`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProfileName {
    len: u8,
    bytes: [u8; ProfileName::MAX],
}

impl ProfileName {
    /// The longest name FRR accepts.
    pub const MAX: usize = 64;

    /// The name, if it is not longer than [`ProfileName::MAX`] bytes.
    pub fn new(name: &str) -> Option<ProfileName> {
        let len = name.len();
        if len > Self::MAX {
            return None;
        }
        let mut bytes = [0u8; Self::MAX];
        bytes[..len].copy_from_slice(name.as_bytes());
        Some(ProfileName {
            len: len as u8,
            bytes,
        })
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl std::fmt::Debug for ProfileName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl Mode {
    /// The prompt FRR shows in this mode for `host`.
    pub fn prompt(&self, host: &str) -> String {
        match self {
            Mode::Enable => format!("{host}# "),
            Mode::Config => format!("{host}(config)# "),
            Mode::ConfigRouter => format!("{host}(config-router)# "),
            Mode::ConfigRouterAf(_) => format!("{host}(config-router-af)# "),
            Mode::ConfigBfd => format!("{host}(config-bfd)# "),
            Mode::ConfigBfdProfile(_) => format!("{host}(config-bfd-profile)# "),
        }
    }

    /// The mode `exit` returns to (None: leave the CLI).
    pub fn parent(&self) -> Option<Mode> {
        match self {
            Mode::Enable => None,
            Mode::Config => Some(Mode::Enable),
            Mode::ConfigRouter => Some(Mode::Config),
            Mode::ConfigRouterAf(_) => Some(Mode::ConfigRouter),
            Mode::ConfigBfd => Some(Mode::Config),
            Mode::ConfigBfdProfile(_) => Some(Mode::ConfigBfd),
        }
    }
}

/// An address family with the unicast SAFI, the only ones mini-router carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Afi {
    /// IPv4 unicast.
    Ipv4,
    /// IPv6 unicast.
    Ipv6,
}

impl Afi {
    /// FRR's name in `address-family ipv4 unicast`.
    pub fn keyword(&self) -> &'static str {
        match self {
            Afi::Ipv4 => "ipv4",
            Afi::Ipv6 => "ipv6",
        }
    }
}

/// One parsed CLI line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `configure [terminal]`: enter global configuration.
    ConfigureTerminal,
    /// `exit` / `quit`: leave the current mode (or the CLI from enable mode).
    Exit,
    /// `end`: back to enable mode.
    End,
    /// `exit-address-family`: back to `router bgp`.
    ExitAddressFamily,
    /// A `show …` command.
    Show(Show),
    /// `clear ip bgp *|ADDR`: reset sessions.
    ClearBgp(ClearTarget),
    /// `write [memory|file]`: save the running configuration to the config file.
    Write,
    /// `write terminal`: print the running configuration.
    WriteTerminal,
    /// `start-shell`: run a shell.
    StartShell,
    /// A configuration change (some also enter a mode: `router bgp`, `address-family`).
    Config(ConfigChange),
}

/// Which sessions `clear ip bgp` resets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClearTarget {
    /// `*`: every neighbor.
    All,
    /// One neighbor by address.
    Peer(IpAddr),
}

/// The `show` commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Show {
    /// `show ip bgp …`, `show bgp ipv4|ipv6 unicast …`.
    Bgp {
        /// The address family shown.
        afi: Afi,
        /// What is shown of it.
        view: BgpView,
        /// `json` was given.
        json: bool,
    },
    /// `show ip route [bgp] [json]` (IPv4) or `show ipv6 route [bgp] [json]`.
    IpRoute {
        /// The address family shown.
        afi: Afi,
        /// Only routes of protocol bgp.
        bgp_only: bool,
        /// `json` was given.
        json: bool,
    },
    /// `show interface [brief]`.
    Interface {
        /// The one-line-per-interface table.
        brief: bool,
    },
    /// `show bfd peers [brief|counters] [json]`.
    BfdPeers {
        /// What of each session is shown.
        view: BfdView,
        /// `json` was given.
        json: bool,
    },
    /// `show running-config`.
    RunningConfig,
    /// `show version`.
    Version,
}

/// What `show bfd peers` shows of each session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BfdView {
    /// Everything (the default).
    Full,
    /// `brief`: one line each.
    Brief,
    /// `counters`: packet and event counters.
    Counters,
}

/// The part of a BGP table a `show bgp` command displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BgpView {
    /// The whole Loc-RIB table.
    Table,
    /// One entry, looked up by address (longest match) or exact prefix.
    Prefix(PrefixQuery),
    /// `summary`: one line per neighbor.
    Summary,
    /// `neighbors [ADDR]`: neighbor details.
    Neighbors(Option<IpAddr>),
    /// `neighbors ADDR advertised-routes`.
    AdvertisedRoutes(IpAddr),
    /// `neighbors ADDR received-routes`.
    ReceivedRoutes(IpAddr),
}

/// How `show ip bgp A.B.C.D` / `A.B.C.D/M` looks an entry up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrefixQuery {
    /// An address: the longest prefix containing it.
    Address(IpAddr),
    /// An exact prefix.
    Prefix(IpNet),
}

/// A neighbor is named by address or, for peer-groups, by name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeerRef {
    /// A neighbor address.
    Address(IpAddr),
    /// A peer-group name.
    Group(String),
}

impl std::fmt::Display for PeerRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerRef::Address(a) => write!(f, "{a}"),
            PeerRef::Group(g) => write!(f, "{g}"),
        }
    }
}

/// The remote AS of a neighbor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteAs {
    /// A number.
    Asn(u32),
    /// Same AS as ours (iBGP).
    Internal,
    /// Any AS other than ours (eBGP).
    External,
}

impl std::fmt::Display for RemoteAs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RemoteAs::Asn(n) => write!(f, "{n}"),
            RemoteAs::Internal => f.write_str("internal"),
            RemoteAs::External => f.write_str("external"),
        }
    }
}

/// A change to the running configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigChange {
    /// A line of FRR's own configuration files that has no meaning for mini-router
    /// (`frr version …`, `service integrated-vtysh-config`, `no ipv6 forwarding`): accepted so
    /// an FRR config loads, and ignored.
    FrrCompat(String),
    /// `hostname WORD` / `no hostname [WORD]`.
    Hostname(Option<String>),
    /// `router bgp ASN`: create or enter the BGP instance.
    RouterBgp(u32),
    /// `no router bgp [ASN]`.
    NoRouterBgp(Option<u32>),
    /// `bgp router-id A.B.C.D` / `no bgp router-id [A.B.C.D]`.
    RouterId(Option<Ipv4Addr>),
    /// `neighbor ADDR|GROUP remote-as …`.
    RemoteAs {
        /// The neighbor or peer-group.
        peer: PeerRef,
        /// Its AS.
        remote_as: RemoteAs,
    },
    /// `no neighbor ADDR|GROUP [remote-as …]`: delete the neighbor or group.
    NoNeighbor(PeerRef),
    /// `neighbor WORD peer-group`: create a peer-group.
    PeerGroup(String),
    /// Set one neighbor option.
    NeighborSet {
        /// The neighbor or peer-group.
        peer: PeerRef,
        /// The option and its value.
        setting: NeighborSetting,
    },
    /// `no neighbor … OPTION`: reset one neighbor option.
    NeighborUnset {
        /// The neighbor or peer-group.
        peer: PeerRef,
        /// Which option.
        field: NeighborField,
    },
    /// `bgp listen range PREFIX peer-group NAME` (negated with `no`).
    ListenRange {
        /// The range dynamic neighbors may connect from.
        range: IpNet,
        /// The peer-group they join.
        group: String,
        /// `no` form.
        negate: bool,
    },
    /// `address-family ipv4|ipv6 [unicast]`: enter the address-family mode.
    AddressFamily(Afi),
    /// `maximum-paths [ibgp] N` / `no maximum-paths [ibgp] [N]`.
    MaximumPaths {
        /// The `ibgp` form.
        ibgp: bool,
        /// The number of paths; None restores the default.
        paths: Option<u16>,
    },
    /// `network PREFIX` (negated with `no`).
    Network {
        /// The prefix announced.
        prefix: IpNet,
        /// `no` form.
        negate: bool,
    },
    /// `[no] bgp graceful-restart …` / `[no] bgp graceful-restart-disable`.
    GracefulRestart {
        /// Which setting.
        setting: GracefulRestartSetting,
        /// `no` form.
        negate: bool,
    },
    /// `bfd`: enter the BFD configuration.
    Bfd,
    /// `no bfd`: remove every profile.
    NoBfd,
    /// `profile NAME` inside `bfd`: create or enter a profile.
    BfdProfile(ProfileName),
    /// `no profile NAME`.
    NoBfdProfile(ProfileName),
    /// One setting of the profile being configured (or its default with `no`).
    BfdProfileSet(BfdProfileSetting),
}

/// One of the global graceful restart settings (FRR's `bgp graceful-restart …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GracefulRestartSetting {
    /// `bgp graceful-restart`: restarting speaker and helper (FRR's "Restart" mode).
    Restart,
    /// `bgp graceful-restart-disable`: no Graceful Restart capability.
    Disable,
    /// `bgp graceful-restart restart-time (0-4095)`; the `no` form may omit the value.
    RestartTime(Option<u16>),
    /// `bgp graceful-restart stalepath-time (1-4095)`; the `no` form may omit the value.
    StalePathTime(Option<u16>),
    /// `bgp graceful-restart preserve-fw-state`: set the Forwarding State bit.
    PreserveFwState,
}

/// A setting inside `bfd` → `profile NAME`, with FRR's ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BfdProfileSetting {
    /// `detect-multiplier (2-255)`; None = `no detect-multiplier` (3).
    DetectMultiplier(Option<u8>),
    /// `transmit-interval (10-60000)` ms; None = the default (300).
    TransmitInterval(Option<u32>),
    /// `receive-interval (10-60000)` ms; None = the default (300).
    ReceiveInterval(Option<u32>),
    /// `[no] passive-mode`.
    PassiveMode(bool),
    /// `minimum-ttl (1-254)`; None = `no minimum-ttl` (254).
    MinimumTtl(Option<u8>),
    /// `[no] shutdown`.
    Shutdown(bool),
    /// `[no] echo-mode`, `echo-interval`, `echo receive-interval` …: the Echo function,
    /// which mini-router does not implement (refused when turned on).
    Echo(bool),
}

/// A neighbor option and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NeighborSetting {
    /// `description LINE`.
    Description(String),
    /// `password LINE` (TCP MD5).
    Password(String),
    /// `timers KEEPALIVE HOLD`.
    Timers {
        /// Keepalive interval, seconds.
        keepalive: u16,
        /// Hold time, seconds.
        hold: u16,
    },
    /// `shutdown`.
    Shutdown,
    /// `passive`.
    Passive,
    /// `peer-group NAME`: make the neighbor a member.
    PeerGroup(String),
    /// `update-source ADDR|IFNAME`.
    UpdateSource(String),
    /// `ebgp-multihop [TTL]`.
    EbgpMultihop(Option<u8>),
    /// `activate` in the current address family.
    Activate,
    /// `maximum-prefix N` in the current address family.
    MaximumPrefix(u32),
    /// `bfd [profile NAME]`.
    Bfd(Option<String>),
}

/// Which neighbor option a `no neighbor … OPTION` resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeighborField {
    /// `description`.
    Description,
    /// `password`.
    Password,
    /// `timers`.
    Timers,
    /// `shutdown`.
    Shutdown,
    /// `passive`.
    Passive,
    /// `peer-group`.
    PeerGroup,
    /// `update-source`.
    UpdateSource,
    /// `ebgp-multihop`.
    EbgpMultihop,
    /// `activate`.
    Activate,
    /// `maximum-prefix`.
    MaximumPrefix,
    /// `bfd`: BFD off for the neighbor.
    Bfd,
    /// `bfd profile [NAME]`: back to the default profile, BFD stays on.
    BfdProfile,
}

impl NeighborSetting {
    /// The field this setting sets.
    pub fn field(&self) -> NeighborField {
        match self {
            NeighborSetting::Description(_) => NeighborField::Description,
            NeighborSetting::Password(_) => NeighborField::Password,
            NeighborSetting::Timers { .. } => NeighborField::Timers,
            NeighborSetting::Shutdown => NeighborField::Shutdown,
            NeighborSetting::Passive => NeighborField::Passive,
            NeighborSetting::PeerGroup(_) => NeighborField::PeerGroup,
            NeighborSetting::UpdateSource(_) => NeighborField::UpdateSource,
            NeighborSetting::EbgpMultihop(_) => NeighborField::EbgpMultihop,
            NeighborSetting::Activate => NeighborField::Activate,
            NeighborSetting::MaximumPrefix(_) => NeighborField::MaximumPrefix,
            NeighborSetting::Bfd(_) => NeighborField::Bfd,
        }
    }
}
