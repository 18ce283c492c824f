//! The BFD commands of the tree, with FRR 8's syntax, ranges and help strings: `bfd` and
//! `profile NAME` with the profile settings (bfdd's), `show bfd peers [brief|counters]
//! [json]`; `neighbor … bfd [profile NAME]` lives with the other neighbor options.

use super::command::{BfdProfileSetting, BfdView, Command, ConfigChange, ProfileName, Show};
use super::token::TokenKind::{Range, Word};
use super::tree::{Args, Node};

const NO_STR: &str = "Negate a command or set its defaults";
const BFD_STR: &str = "Configure BFD peers";
const PROFILE_STR: &str = "BFD profile.";
const PROFILE_NAME_STR: &str = "BFD profile name.";
const INTERVAL: super::token::TokenKind = Range(10, 60000);

fn kw(word: &'static str, help: &'static str) -> Node {
    Node::kw(word, help)
}

fn arg(kind: super::token::TokenKind, help: &'static str) -> Node {
    Node::arg(kind, help)
}

/// `bfd` and `no bfd` in global configuration.
pub fn config_roots() -> Vec<Node> {
    vec![kw("bfd", BFD_STR).run(|_| Some(Command::Config(ConfigChange::Bfd)))]
}

/// The `no` forms of [`config_roots`].
pub fn config_no_roots() -> Vec<Node> {
    vec![kw("bfd", BFD_STR).run(|_| Some(Command::Config(ConfigChange::NoBfd)))]
}

/// The roots of the `bfd` node.
pub fn bfd_roots() -> Vec<Node> {
    let name = || arg(Word("BFDPROF"), PROFILE_NAME_STR).run(build_profile);
    vec![
        kw("profile", PROFILE_STR).then([name()]),
        kw("no", NO_STR).then([kw("profile", PROFILE_STR).then([name()])]),
    ]
}

fn build_profile(a: &Args) -> Option<Command> {
    let name = ProfileName::new(a.after("profile")?)?;
    Some(Command::Config(if a.negated() {
        ConfigChange::NoBfdProfile(name)
    } else {
        ConfigChange::BfdProfile(name)
    }))
}

/// The roots of a `profile NAME` node.
pub fn profile_roots() -> Vec<Node> {
    let settings = |negate: bool| {
        let value = |node: Node, kind, help| {
            let node = node.then([arg(kind, help).run(build_setting)]);
            if negate {
                node.run(build_setting)
            } else {
                node
            }
        };
        vec![
            value(
                kw("detect-multiplier", "Configure peer detection multiplier"),
                Range(2, 255),
                "Configure peer detection multiplier value",
            ),
            value(
                kw("transmit-interval", "Configure peer transmit interval"),
                INTERVAL,
                "Configure peer transmit interval value in milliseconds",
            ),
            value(
                kw("receive-interval", "Configure peer receive interval"),
                INTERVAL,
                "Configure peer receive interval value in milliseconds",
            ),
            kw("passive-mode", "Don't attempt to start sessions").run(build_setting),
            kw("shutdown", "Disable BFD peer").run(build_setting),
            value(
                kw("minimum-ttl", "Expect packets with at least this TTL"),
                Range(1, 254),
                "Minimum TTL expected",
            ),
            kw("echo-mode", "Configure echo mode").run(build_setting),
            value(
                kw("echo-interval", "Configure peer echo interval"),
                INTERVAL,
                "Configure peer echo interval value in milliseconds",
            ),
            kw("echo", "Configure peer echo intervals").then([
                kw("transmit-interval", "Configure desired transmit interval").then([arg(
                    INTERVAL,
                    "Configure interval value in milliseconds",
                )
                .run(build_setting)]),
                kw("receive-interval", "Configure required receive interval").then([
                    kw("disabled", "Disable echo packets receive").run(build_setting),
                    arg(INTERVAL, "Configure interval value in milliseconds").run(build_setting),
                ]),
            ]),
        ]
    };
    let mut roots = settings(false);
    roots.push(kw("no", NO_STR).then(settings(true)));
    roots
}

fn build_setting(a: &Args) -> Option<Command> {
    let on = !a.negated();
    let number = || a.number(0);
    let setting = if a.has("detect-multiplier") {
        BfdProfileSetting::DetectMultiplier(match number() {
            Some(n) if on => Some(u8::try_from(n).ok()?),
            _ => None,
        })
    } else if a.has("echo") || a.has("echo-mode") || a.has("echo-interval") {
        // `echo receive-interval disabled` turns echo off, as does every `no` form.
        BfdProfileSetting::Echo(on && !a.has("disabled"))
    } else if a.has("transmit-interval") {
        BfdProfileSetting::TransmitInterval(match number() {
            Some(n) if on => Some(u32::try_from(n).ok()?),
            _ => None,
        })
    } else if a.has("receive-interval") {
        BfdProfileSetting::ReceiveInterval(match number() {
            Some(n) if on => Some(u32::try_from(n).ok()?),
            _ => None,
        })
    } else if a.has("passive-mode") {
        BfdProfileSetting::PassiveMode(on)
    } else if a.has("shutdown") {
        BfdProfileSetting::Shutdown(on)
    } else if a.has("minimum-ttl") {
        BfdProfileSetting::MinimumTtl(match number() {
            Some(n) if on => Some(u8::try_from(n).ok()?),
            _ => None,
        })
    } else {
        return None;
    };
    Some(Command::Config(ConfigChange::BfdProfileSet(setting)))
}

/// `bfd` under `show`.
pub fn show_node() -> Node {
    let json = || kw("json", "JavaScript Object Notation").run(build_show);
    kw("bfd", "Bidirection Forwarding Detection").then([kw("peers", "BFD peers status")
        .run(build_show)
        .then([
            kw("brief", "Show BFD peer information in tabular form")
                .run(build_show)
                .then([json()]),
            kw("counters", "Show BFD peer counters information")
                .run(build_show)
                .then([json()]),
            json(),
        ])])
}

fn build_show(a: &Args) -> Option<Command> {
    let view = if a.has("brief") {
        BfdView::Brief
    } else if a.has("counters") {
        BfdView::Counters
    } else {
        BfdView::Full
    };
    Some(Command::Show(Show::BfdPeers {
        view,
        json: a.has("json"),
    }))
}

/// `bfd [profile NAME]` under `neighbor ADDR` (`negate`: the `no` forms, whose profile name
/// is optional).
pub fn neighbor_option(negate: bool, build: super::tree::Build) -> Node {
    let name = arg(Word("BFDPROF"), PROFILE_NAME_STR).run(build);
    let mut profile = kw("profile", PROFILE_STR).then([name]);
    if negate {
        profile = profile.run(build);
    }
    let help = if negate {
        "Disables BFD support"
    } else {
        "Enables BFD support"
    };
    kw("bfd", help).run(build).then([profile])
}
