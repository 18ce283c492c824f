//! Every command mini-router knows, as data: per mode, the tree of tokens with FRR's help
//! strings and, where a command may end, the function that turns the matched words into a
//! typed [`Command`].

use std::sync::LazyLock;

use super::command::{
    Afi, BgpView, ClearTarget, Command, ConfigChange, GracefulRestartSetting, Mode, NeighborField,
    NeighborSetting, PeerRef, PrefixQuery, RemoteAs, Show,
};
use super::token::TokenKind::{self, Ipv4, Ipv4Prefix, Ipv6, Ipv6Prefix, Line, Range, Word};
use super::tree::{Args, Node, Roots, Tree, ValueSource};

const JSON_STR: &str = "JavaScript Object Notation";
const BGP_STR: &str = "BGP information";
const NEIGHBOR_STR: &str = "Specify neighbor router";
const NO_STR: &str = "Negate a command or set its defaults";
const AF_STR: &str = "Address Family";
const AF_MODIFIER_STR: &str = "Address Family modifier";
const EXIT_STR: &str = "Exit current mode and down to previous mode";
const MAX_PATHS: u64 = 256;
const ASN: TokenKind = Range(1, 4294967295);

/// The command tree of mini-router, built once.
pub static TREE: LazyLock<Tree> = LazyLock::new(|| {
    Tree::new(Roots {
        enable: enable_roots(),
        config: config_roots(),
        router: router_roots(),
        router_af: router_af_roots(),
        bfd: with_mode_common(super::bfd::bfd_roots()),
        bfd_profile: with_mode_common(super::bfd::profile_roots()),
    })
});

fn kw(word: &'static str, help: &'static str) -> Node {
    Node::kw(word, help)
}

fn arg(kind: TokenKind, help: &'static str) -> Node {
    Node::arg(kind, help)
}

fn json() -> Node {
    kw("json", JSON_STR).run(build_show)
}

/// Commands every configuration mode shares: leaving it and `do`.
fn mode_common() -> Vec<Node> {
    vec![
        kw("end", "End current mode and change to enable mode").run(|_| Some(Command::End)),
        kw("exit", EXIT_STR).run(|_| Some(Command::Exit)),
        kw("quit", EXIT_STR).run(|_| Some(Command::Exit)),
        kw("do", "To run exec commands in config mode").redirect(Mode::Enable),
    ]
}

fn with_mode_common(mut roots: Vec<Node>) -> Vec<Node> {
    roots.extend(mode_common());
    roots
}

fn enable_roots() -> Vec<Node> {
    vec![
        kw("configure", "Configuration from vty interface")
            .run(|_| Some(Command::ConfigureTerminal))
            .then([
                kw("terminal", "Configuration terminal").run(|_| Some(Command::ConfigureTerminal))
            ]),
        kw("show", "Show running system information").then(show_children()),
        kw("clear", "Reset functions").then([kw("ip", "IP information").then([kw(
            "bgp", BGP_STR,
        )
        .then([
            kw("*", "Clear all peers").run(|_| Some(Command::ClearBgp(ClearTarget::All))),
            arg(Ipv4, "BGP IPv4 neighbor to clear")
                .values(ValueSource::NeighborsV4)
                .run(build_clear),
            arg(Ipv6, "BGP IPv6 neighbor to clear")
                .values(ValueSource::NeighborsV6)
                .run(build_clear),
        ])])]),
        kw(
            "write",
            "Write running configuration to memory,  network,  or terminal",
        )
        .run(|_| Some(Command::Write))
        .then([
            kw(
                "memory",
                "Write configuration to the file (same as write file)",
            )
            .run(|_| Some(Command::Write)),
            kw(
                "file",
                "Write configuration to the file (same as write memory)",
            )
            .run(|_| Some(Command::Write)),
            kw("terminal", "Write to terminal").run(|_| Some(Command::WriteTerminal)),
        ]),
        kw("end", "End current mode and change to enable mode").run(|_| Some(Command::End)),
        kw("exit", EXIT_STR).run(|_| Some(Command::Exit)),
        kw("quit", EXIT_STR).run(|_| Some(Command::Exit)),
        kw("start-shell", "Start UNIX shell").run(|_| Some(Command::StartShell)),
    ]
}

/// `route [bgp] [json]`, under `show ip` and `show ipv6`.
fn route_node(help: &'static str) -> Node {
    kw("route", help).run(build_show).then([
        kw("bgp", "Border Gateway Protocol (BGP)")
            .run(build_show)
            .then([json()]),
        json(),
    ])
}

fn show_children() -> Vec<Node> {
    vec![
        kw("ip", "IP information").then([
            kw("bgp", BGP_STR).run(build_show).then(bgp_view_children()),
            route_node("IP routing table"),
        ]),
        kw("ipv6", "IPv6 information").then([route_node("IPv6 routing table")]),
        kw("bgp", BGP_STR).then([
            kw("ipv4", AF_STR).run(build_show).then(
                bgp_view_children()
                    .into_iter()
                    .chain([kw("unicast", AF_MODIFIER_STR)
                        .run(build_show)
                        .then(bgp_view_children())]),
            ),
            kw("ipv6", AF_STR).run(build_show).then(
                bgp_view_children()
                    .into_iter()
                    .chain([kw("unicast", AF_MODIFIER_STR)
                        .run(build_show)
                        .then(bgp_view_children())]),
            ),
        ]),
        kw("interface", "Interface status and configuration")
            .run(build_show)
            .then([kw("brief", "Interface status and configuration summary").run(build_show)]),
        super::bfd::show_node(),
        kw("running-config", "Current operating configuration").run(build_show),
        kw("version", "Displays zebra version").run(build_show),
    ]
}

/// What may follow `show ip bgp` / `show bgp ipv4 unicast`. Addresses of both families are
/// accepted; a family that contradicts `ipv4`/`ipv6` is refused when the command is built.
fn bgp_view_children() -> Vec<Node> {
    let neighbor_tail = || {
        vec![
            kw(
                "advertised-routes",
                "Display the routes advertised to a BGP neighbor",
            )
            .run(build_show)
            .then([json()]),
            kw(
                "received-routes",
                "Display the received routes from neighbor",
            )
            .run(build_show)
            .then([json()]),
            json(),
        ]
    };
    vec![
        arg(Ipv4, "Network in the BGP routing table to display")
            .run(build_show)
            .then([json()]),
        arg(Ipv4Prefix, "IPv4 prefix")
            .run(build_show)
            .then([json()]),
        arg(Ipv6, "Network in the BGP routing table to display")
            .run(build_show)
            .then([json()]),
        arg(Ipv6Prefix, "IPv6 prefix")
            .run(build_show)
            .then([json()]),
        kw("summary", "Summary of BGP neighbor status")
            .run(build_show)
            .then([json()]),
        kw(
            "neighbors",
            "Detailed information on TCP and BGP neighbor connections",
        )
        .run(build_show)
        .then([
            arg(Ipv4, "Neighbor to display information about")
                .values(ValueSource::NeighborsV4)
                .run(build_show)
                .then(neighbor_tail()),
            arg(Ipv6, "Neighbor to display information about")
                .values(ValueSource::NeighborsV6)
                .run(build_show)
                .then(neighbor_tail()),
            json(),
        ]),
        json(),
    ]
}

fn build_show(a: &Args) -> Option<Command> {
    let json = a.has("json");
    let show = if a.has("route") {
        Show::IpRoute {
            afi: if a.has("ipv6") { Afi::Ipv6 } else { Afi::Ipv4 },
            bgp_only: a.has("bgp"),
            json,
        }
    } else if a.has("interface") {
        Show::Interface {
            brief: a.has("brief"),
        }
    } else if a.has("running-config") {
        Show::RunningConfig
    } else if a.has("version") {
        Show::Version
    } else if a.has("bgp") {
        let family_kw = if a.has("ipv6") {
            Some(Afi::Ipv6)
        } else if a.has("ipv4") {
            Some(Afi::Ipv4)
        } else {
            None
        };
        let view = if a.has("summary") {
            BgpView::Summary
        } else if a.has("neighbors") {
            match a.ip() {
                Some(ip) if a.has("advertised-routes") => BgpView::AdvertisedRoutes(ip),
                Some(ip) if a.has("received-routes") => BgpView::ReceivedRoutes(ip),
                ip => BgpView::Neighbors(ip),
            }
        } else if let Some(p) = a.prefix() {
            BgpView::Prefix(PrefixQuery::Prefix(p))
        } else if let Some(ip) = a.ip() {
            BgpView::Prefix(PrefixQuery::Address(ip))
        } else {
            BgpView::Table
        };
        let queried = match &view {
            BgpView::Prefix(PrefixQuery::Prefix(p)) => Some(if p.addr().is_ipv4() {
                Afi::Ipv4
            } else {
                Afi::Ipv6
            }),
            BgpView::Prefix(PrefixQuery::Address(ip)) => {
                Some(if ip.is_ipv4() { Afi::Ipv4 } else { Afi::Ipv6 })
            }
            _ => None,
        };
        let afi = match (family_kw, queried) {
            (Some(f), Some(q)) if f != q => return None,
            (Some(f), _) => f,
            (None, Some(q)) => q,
            (None, None) => Afi::Ipv4,
        };
        Show::Bgp { afi, view, json }
    } else {
        return None;
    };
    Some(Command::Show(show))
}

fn build_clear(a: &Args) -> Option<Command> {
    a.ip().map(|ip| Command::ClearBgp(ClearTarget::Peer(ip)))
}

fn config_roots() -> Vec<Node> {
    let mut v = vec![
        kw("hostname", "Set system's network name").then([arg(
            Word("WORD"),
            "This system's network name",
        )
        .run(build_config)]),
        kw("router", "Enable a routing process").then([kw("bgp", BGP_STR).then([arg(
            ASN,
            "AS number",
        )
        .run(build_config)])]),
        kw("frr", "FRRouting global parameters").hidden().then([
            kw("version", "FRR version").then([arg(Line, "Version").run(build_compat)]),
            kw("defaults", "FRR defaults profile")
                .then([arg(Word("WORD"), "Profile").run(build_compat)]),
        ]),
        kw("service", "Set up miscellaneous service")
            .hidden()
            .then([arg(Line, "Service").run(build_compat)]),
        forwarding("ip"),
        forwarding("ipv6"),
    ];
    v.extend(super::bfd::config_roots());
    v.push(
        kw("no", NO_STR).then(
            [
                forwarding("ip"),
                forwarding("ipv6"),
                kw("hostname", "Reset system's network name")
                    .run(build_config)
                    .then([arg(Word("WORD"), "Host name of this router").run(build_config)]),
                kw("router", "Enable a routing process").then([kw("bgp", BGP_STR)
                    .run(build_config)
                    .then([arg(ASN, "AS number").run(build_config)])]),
            ]
            .into_iter()
            .chain(super::bfd::config_no_roots()),
        ),
    );
    v.extend(mode_common());
    v
}

/// `[no] ip|ipv6 forwarding`, which FRR writes from the kernel's state.
fn forwarding(family: &'static str) -> Node {
    kw(family, "IP information")
        .hidden()
        .then([kw("forwarding", "Turn on IP forwarding").run(build_compat)])
}

fn build_compat(a: &Args) -> Option<Command> {
    let words: Vec<&str> = a.words.iter().map(|(_, w)| w.as_str()).collect();
    Some(Command::Config(ConfigChange::FrrCompat(words.join(" "))))
}

fn router_roots() -> Vec<Node> {
    let mut v = vec![
        kw("bgp", BGP_STR).then([
            kw("router-id", "Override configured router identifier").then([arg(
                Ipv4,
                "Manually configured router identifier",
            )
            .run(build_config)]),
            listen_range(),
            graceful_restart(false),
            graceful_restart_disable(),
        ]),
        kw("neighbor", NEIGHBOR_STR).then(neighbor_targets(false, false)),
        kw("address-family", "Enter Address Family command mode").then([
            kw("ipv4", AF_STR)
                .run(build_config)
                .then([kw("unicast", AF_MODIFIER_STR).run(build_config)]),
            kw("ipv6", AF_STR)
                .run(build_config)
                .then([kw("unicast", AF_MODIFIER_STR).run(build_config)]),
        ]),
        maximum_paths(false),
        network(false),
        kw("no", NO_STR).then([
            kw("bgp", BGP_STR).then([
                kw("router-id", "Override configured router identifier")
                    .run(build_config)
                    .then([arg(Ipv4, "Manually configured router identifier").run(build_config)]),
                listen_range(),
                graceful_restart(true),
                graceful_restart_disable(),
            ]),
            kw("neighbor", NEIGHBOR_STR).then(neighbor_targets(true, false)),
            maximum_paths(true),
            network(true),
        ]),
    ];
    v.extend(mode_common());
    v
}

fn router_af_roots() -> Vec<Node> {
    let mut v = vec![
        maximum_paths(false),
        network(false),
        kw("neighbor", NEIGHBOR_STR).then(neighbor_targets(false, true)),
        kw("no", NO_STR).then([
            maximum_paths(true),
            network(true),
            kw("neighbor", NEIGHBOR_STR).then(neighbor_targets(true, true)),
        ]),
        kw(
            "exit-address-family",
            "Exit from Address Family configuration mode",
        )
        .run(|_| Some(Command::ExitAddressFamily)),
    ];
    v.extend(mode_common());
    v
}

/// `[no] bgp graceful-restart [restart-time N|stalepath-time N|preserve-fw-state]`, with
/// FRR's help strings; in the `no` forms the values are optional.
fn graceful_restart(negate: bool) -> Node {
    let delay = |low| arg(Range(low, 4095), "Delay value (seconds)").run(build_graceful_restart);
    let opt = |node: Node| {
        if negate {
            node.run(build_graceful_restart)
        } else {
            node
        }
    };
    let preserve = if negate {
        "Unsets F-bit indication that fib is preserved while doing Graceful Restart"
    } else {
        "Sets F-bit indication that fib is preserved while doing Graceful Restart"
    };
    kw("graceful-restart", "Graceful restart capability parameters")
        .run(build_graceful_restart)
        .then([
            opt(kw(
                "restart-time",
                "Set the time to wait to delete stale routes before a BGP open message is received",
            ))
            .then([delay(0)]),
            opt(kw(
                "stalepath-time",
                "Set the max time to hold onto restarting peer's stale paths",
            ))
            .then([delay(1)]),
            kw("preserve-fw-state", preserve).run(build_graceful_restart),
        ])
}

fn graceful_restart_disable() -> Node {
    kw(
        "graceful-restart-disable",
        "Global Graceful Restart - Disable Mode",
    )
    .run(build_graceful_restart)
}

fn build_graceful_restart(a: &Args) -> Option<Command> {
    let seconds = || a.number(0).and_then(|n| u16::try_from(n).ok());
    let setting = if a.has("graceful-restart-disable") {
        GracefulRestartSetting::Disable
    } else if a.has("restart-time") {
        GracefulRestartSetting::RestartTime(seconds())
    } else if a.has("stalepath-time") {
        GracefulRestartSetting::StalePathTime(seconds())
    } else if a.has("preserve-fw-state") {
        GracefulRestartSetting::PreserveFwState
    } else {
        GracefulRestartSetting::Restart
    };
    Some(Command::Config(ConfigChange::GracefulRestart {
        setting,
        negate: a.negated(),
    }))
}

fn listen_range() -> Node {
    let group = || {
        kw("peer-group", "Member of the peer-group")
            .then([arg(Word("PGNAME"), "Peer-group name").run(build_config)])
    };
    kw("listen", "Configure BGP dynamic neighbors listen range").then([kw(
        "range",
        "Configure BGP dynamic neighbors listen range",
    )
    .then([
        arg(Ipv4Prefix, "Neighbor address").then([group()]),
        arg(Ipv6Prefix, "IPv6 address").then([group()]),
    ])])
}

fn maximum_paths(negate: bool) -> Node {
    let n = || arg(Range(1, MAX_PATHS), "Number of paths").run(build_config);
    let mut ibgp = kw("ibgp", "iBGP-multipath").then([n()]);
    let mut node = kw("maximum-paths", "Forward packets over multiple paths");
    if negate {
        ibgp = ibgp.run(build_config);
        node = node.run(build_config);
    }
    node.then([n(), ibgp])
}

fn network(_negate: bool) -> Node {
    kw("network", "Specify a network to announce via BGP").then([
        arg(Ipv4Prefix, "IPv4 prefix").run(build_config),
        arg(Ipv6Prefix, "IPv6 prefix").run(build_config),
    ])
}

/// `neighbor <A.B.C.D|X:X::X:X|WORD> …`: the options allowed in `router bgp`, or only the
/// per-address-family ones in `address-family`; `negate` builds the `no` forms, whose
/// values are optional.
fn neighbor_targets(negate: bool, af_only: bool) -> Vec<Node> {
    let target = |kind: TokenKind, help: &'static str, is_word: bool| {
        let mut node = arg(kind, help).then(neighbor_options(negate, af_only, is_word));
        if negate && !af_only {
            node = node.run(build_config);
        }
        node
    };
    vec![
        target(Ipv4, "Neighbor address", false),
        target(Ipv6, "Neighbor IPv6 address", false),
        target(Word("WORD"), "Interface name or neighbor tag", true),
    ]
}

fn neighbor_options(negate: bool, af_only: bool, is_word: bool) -> Vec<Node> {
    // In `no` forms the value is optional, so the option keyword itself may end a command.
    let opt = |node: Node| if negate { node.run(build_config) } else { node };
    let mut v = vec![
        kw("activate", "Enable the Address Family for this Neighbor").run(build_config),
        opt(kw(
            "maximum-prefix",
            "Maximum number of prefix accept from this peer",
        ))
        .then([arg(Range(1, 4294967295), "maximum no. of prefix limit").run(build_config)]),
    ];
    if af_only {
        return v;
    }
    v.extend([
        opt(kw("remote-as", "Specify a BGP neighbor")).then([
            arg(ASN, "AS number").run(build_config),
            kw("internal", "Internal BGP peer").run(build_config),
            kw("external", "External BGP peer").run(build_config),
        ]),
        opt(kw("description", "Neighbor specific description")).then([arg(
            Line,
            "Up to 80 characters describing this neighbor",
        )
        .run(build_config)]),
        opt(kw("password", "Set a password")).then([arg(Line, "The password").run(build_config)]),
        opt(kw("timers", "BGP per neighbor timers")).then([arg(
            Range(0, 65535),
            "Keepalive interval",
        )
        .then([arg(Range(0, 65535), "Holdtime").run(build_config)])]),
        kw("shutdown", "Administratively shut down this neighbor").run(build_config),
        kw("passive", "Don't send open messages to this neighbor").run(build_config),
        opt(kw("update-source", "Source of routing updates")).then([
            arg(Ipv4, "IPv4 address").run(build_config),
            arg(Ipv6, "IPv6 address").run(build_config),
            arg(
                Word("WORD"),
                "Interface name (requires zebra to be running)",
            )
            .run(build_config),
        ]),
        kw(
            "ebgp-multihop",
            "Allow EBGP neighbors not on directly connected networks",
        )
        .run(build_config)
        .then([arg(Range(1, 255), "maximum hop count").run(build_config)]),
        super::bfd::neighbor_option(negate, build_config),
    ]);
    let group_name = arg(Word("PGNAME"), "Peer-group name").run(build_config);
    if is_word {
        v.push(
            kw("peer-group", "Configure peer-group")
                .run(build_config)
                .then([group_name]),
        );
    } else {
        v.push(opt(kw("peer-group", "Member of the peer-group")).then([group_name]));
    }
    v
}

fn build_config(a: &Args) -> Option<Command> {
    let neg = a.negated();
    let change = if a.has("hostname") {
        ConfigChange::Hostname(if neg {
            None
        } else {
            Some(a.after("hostname")?.to_string())
        })
    } else if a.has("router") {
        let asn = a.number(0).and_then(|n| u32::try_from(n).ok());
        if neg {
            ConfigChange::NoRouterBgp(asn)
        } else {
            ConfigChange::RouterBgp(asn?)
        }
    } else if a.has("router-id") {
        ConfigChange::RouterId(if neg {
            None
        } else {
            match a.ip()? {
                std::net::IpAddr::V4(v4) => Some(v4),
                std::net::IpAddr::V6(_) => return None,
            }
        })
    } else if a.has("listen") {
        ConfigChange::ListenRange {
            range: a.prefix()?,
            group: a.after("peer-group")?.to_string(),
            negate: neg,
        }
    } else if a.has("address-family") {
        ConfigChange::AddressFamily(if a.has("ipv6") { Afi::Ipv6 } else { Afi::Ipv4 })
    } else if a.has("maximum-paths") {
        let paths = if neg {
            None
        } else {
            Some(u16::try_from(a.number(0)?).ok()?)
        };
        ConfigChange::MaximumPaths {
            ibgp: a.has("ibgp"),
            paths,
        }
    } else if a.has("network") {
        ConfigChange::Network {
            prefix: a.prefix()?,
            negate: neg,
        }
    } else if a.has("neighbor") {
        return build_neighbor(a, neg).map(Command::Config);
    } else {
        return None;
    };
    Some(Command::Config(change))
}

fn build_neighbor(a: &Args, neg: bool) -> Option<ConfigChange> {
    let peer = a.peer()?;
    let set = |setting: NeighborSetting| {
        Some(if neg {
            ConfigChange::NeighborUnset {
                peer: peer.clone(),
                field: setting.field(),
            }
        } else {
            ConfigChange::NeighborSet {
                peer: peer.clone(),
                setting,
            }
        })
    };
    let unset = |field: NeighborField| {
        neg.then(|| ConfigChange::NeighborUnset {
            peer: peer.clone(),
            field,
        })
    };
    if a.has("remote-as") {
        if neg {
            return Some(ConfigChange::NoNeighbor(peer));
        }
        let remote_as = if a.has("internal") {
            RemoteAs::Internal
        } else if a.has("external") {
            RemoteAs::External
        } else {
            RemoteAs::Asn(u32::try_from(a.number(0)?).ok()?)
        };
        return Some(ConfigChange::RemoteAs { peer, remote_as });
    }
    if a.has("description") {
        return match a.line() {
            Some(l) => set(NeighborSetting::Description(l.to_string())),
            None => unset(NeighborField::Description),
        };
    }
    if a.has("password") {
        return match a.line() {
            Some(l) => set(NeighborSetting::Password(l.to_string())),
            None => unset(NeighborField::Password),
        };
    }
    if a.has("timers") {
        return match (a.number(0), a.number(1)) {
            (Some(k), Some(h)) => set(NeighborSetting::Timers {
                keepalive: u16::try_from(k).ok()?,
                hold: u16::try_from(h).ok()?,
            }),
            _ => unset(NeighborField::Timers),
        };
    }
    if a.has("shutdown") {
        return set(NeighborSetting::Shutdown);
    }
    if a.has("passive") {
        return set(NeighborSetting::Passive);
    }
    if a.has("update-source") {
        return match a.after("update-source") {
            Some(s) => set(NeighborSetting::UpdateSource(s.to_string())),
            None => unset(NeighborField::UpdateSource),
        };
    }
    if a.has("ebgp-multihop") {
        let ttl = match a.number(0) {
            Some(n) => Some(u8::try_from(n).ok()?),
            None => None,
        };
        return set(NeighborSetting::EbgpMultihop(ttl));
    }
    if a.has("activate") {
        return set(NeighborSetting::Activate);
    }
    if a.has("maximum-prefix") {
        return match a.number(0) {
            Some(n) => set(NeighborSetting::MaximumPrefix(u32::try_from(n).ok()?)),
            None => unset(NeighborField::MaximumPrefix),
        };
    }
    if a.has("bfd") {
        return match (neg, a.has("profile")) {
            (false, _) => set(NeighborSetting::Bfd(a.after("profile").map(str::to_string))),
            (true, true) => unset(NeighborField::BfdProfile),
            (true, false) => unset(NeighborField::Bfd),
        };
    }
    if a.has("peer-group") {
        return match (a.after("peer-group"), &peer) {
            (None, PeerRef::Group(name)) if !neg => Some(ConfigChange::PeerGroup(name.clone())),
            (None, PeerRef::Group(_)) => Some(ConfigChange::NoNeighbor(peer)),
            (Some(g), _) => set(NeighborSetting::PeerGroup(g.to_string())),
            (None, PeerRef::Address(_)) => unset(NeighborField::PeerGroup),
        };
    }
    if neg {
        return Some(ConfigChange::NoNeighbor(peer));
    }
    None
}
