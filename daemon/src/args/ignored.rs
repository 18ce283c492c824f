//! MetalLB flags that mean nothing in ferrolb (webhook, certificates, memberlist, FRR, TLS of
//! the metrics server, pprof), accepted so MetalLB's manifests and Helm values work unchanged,
//! and reported with one log line each. The flags are data: one table per binary.

use std::marker::PhantomData;

use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};

/// How a MetalLB flag takes its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagKind {
    /// `--flag VALUE` or `--flag=VALUE`.
    Value,
    /// A Go boolean: `--flag`, or `--flag=true|false` (never a separate word).
    Bool,
}

/// A MetalLB flag ferrolb accepts and ignores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IgnoredFlag {
    /// The long name, without dashes.
    pub name: &'static str,
    /// The environment variable MetalLB also reads it from.
    pub env: Option<&'static str>,
    /// How it takes a value.
    pub kind: FlagKind,
    /// What it does in MetalLB and why it means nothing here (the `--help` text).
    pub why: &'static str,
}

/// A set of ignored flags: one per binary, plus the ones both share.
pub trait FlagSet {
    /// The flags of the set.
    const FLAGS: &'static [IgnoredFlag];
}

const fn flag(
    name: &'static str,
    env: Option<&'static str>,
    kind: FlagKind,
    why: &'static str,
) -> IgnoredFlag {
    IgnoredFlag {
        name,
        env,
        kind,
        why,
    }
}

use FlagKind::{Bool, Value};

/// Ignored flags of both MetalLB binaries.
#[derive(Clone, Copy, Debug, Default)]
pub struct Common;

impl FlagSet for Common {
    const FLAGS: &'static [IgnoredFlag] = &[
        flag(
            "pprof-bind-address",
            None,
            Value,
            "MetalLB's pprof endpoint; ferrolb has none",
        ),
        flag(
            "tls-min-version",
            None,
            Value,
            "TLS of MetalLB's HTTPS metrics; ferrolb serves plain HTTP",
        ),
        flag(
            "tls-cipher-suites",
            None,
            Value,
            "TLS of MetalLB's HTTPS metrics; ferrolb serves plain HTTP",
        ),
        flag(
            "tls-curve-preferences",
            None,
            Value,
            "TLS of MetalLB's HTTPS metrics; ferrolb serves plain HTTP",
        ),
        flag(
            "metrics-cert-dir",
            None,
            Value,
            "certificate of MetalLB's HTTPS metrics; ferrolb serves plain HTTP",
        ),
    ];
}

/// Ignored flags of MetalLB's controller.
#[derive(Clone, Copy, Debug, Default)]
pub struct Controller;

impl FlagSet for Controller {
    const FLAGS: &'static [IgnoredFlag] = &[
        flag(
            "webhook-mode",
            None,
            Value,
            "MetalLB's admission webhook; ferrolb validates with CRD rules instead",
        ),
        flag(
            "webhook-secret",
            None,
            Value,
            "MetalLB's webhook certificate Secret; no webhook here",
        ),
        flag(
            "webhook-http2",
            None,
            Bool,
            "HTTP/2 for MetalLB's webhook; no webhook here",
        ),
        flag(
            "disable-cert-rotation",
            None,
            Bool,
            "rotation of MetalLB's webhook certificates; no webhook here",
        ),
        flag(
            "cert-dir",
            None,
            Value,
            "directory of MetalLB's webhook certificates; no webhook here",
        ),
        flag(
            "cert-service-name",
            None,
            Value,
            "Service named in MetalLB's webhook certificate; no webhook here",
        ),
        flag(
            "ml-secret-name",
            Some("METALLB_ML_SECRET_NAME"),
            Value,
            "memberlist Secret for MetalLB's L2 mode; ferrolb has no memberlist",
        ),
        flag(
            "deployment",
            Some("METALLB_DEPLOYMENT"),
            Value,
            "owner of the memberlist Secret; ferrolb has no memberlist",
        ),
    ];
}

/// Ignored flags of MetalLB's speaker.
#[derive(Clone, Copy, Debug, Default)]
pub struct Speaker;

impl FlagSet for Speaker {
    const FLAGS: &'static [IgnoredFlag] = &[
        flag(
            "ml-bindaddr",
            Some("METALLB_ML_BIND_ADDR"),
            Value,
            "memberlist address; ferrolb has no memberlist",
        ),
        flag(
            "ml-bindport",
            Some("METALLB_ML_BIND_PORT"),
            Value,
            "memberlist port; ferrolb has no memberlist",
        ),
        flag(
            "ml-labels",
            Some("METALLB_ML_LABELS"),
            Value,
            "memberlist peer labels; ferrolb has no memberlist",
        ),
        flag(
            "ml-secret-key-path",
            Some("METALLB_ML_SECRET_KEY_PATH"),
            Value,
            "memberlist key; ferrolb has no memberlist",
        ),
        flag(
            "ml-wan-config",
            None,
            Bool,
            "memberlist WAN profile; ferrolb has no memberlist",
        ),
        flag(
            "bgp-debounce-timeout",
            Some("METALLB_BGP_DEBOUNCE_TIMEOUT"),
            Value,
            "FRR reload debounce of MetalLB's FRR mode; ferrolb speaks BGP itself",
        ),
        flag(
            "frrk8s-namespace",
            Some("FRRK8S_NAMESPACE"),
            Value,
            "frr-k8s namespace of MetalLB's frr-k8s mode; ferrolb speaks BGP itself",
        ),
        flag(
            "frrk8s-secret-passthrough",
            None,
            Bool,
            "Secret handling of MetalLB's frr-k8s mode; ferrolb speaks BGP itself",
        ),
        flag(
            "gratuitous-arp-interval",
            None,
            Value,
            "periodic gratuitous ARP of MetalLB's L2 mode; not implemented",
        ),
    ];
}

/// The heading of these flags in `--help`.
const HEADING: &str = "MetalLB flags accepted without effect";

/// A MetalLB flag that was given, on the command line or through its environment variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GivenFlag {
    /// The flag's name.
    pub name: &'static str,
    /// The value given (`true` for a bare Go boolean flag).
    pub value: String,
    /// The environment variable it came from, if not the command line.
    pub from_env: Option<&'static str>,
}

/// The ignored flags of set `S` that were given; a clap [`Args`] to `#[command(flatten)]`.
#[derive(Clone, Debug)]
pub struct IgnoredFlags<S> {
    /// The given ones, in the set's order.
    pub given: Vec<GivenFlag>,
    set: PhantomData<S>,
}

impl<S> Default for IgnoredFlags<S> {
    fn default() -> Self {
        IgnoredFlags {
            given: Vec::new(),
            set: PhantomData,
        }
    }
}

impl<S: FlagSet> IgnoredFlags<S> {
    /// Logs one line per given flag, saying it is ignored. Call after logging is set up.
    pub fn log(&self) {
        for f in &self.given {
            let source = f.from_env.unwrap_or("command line");
            tracing::info!(
                op = "startup",
                flag = f.name,
                value = f.value.as_str(),
                source,
                "flag has no effect in ferrolb and is ignored"
            );
        }
    }
}

fn arg(flag: &IgnoredFlag) -> Arg {
    let mut arg = Arg::new(flag.name)
        .long(flag.name)
        .help(flag.why)
        .help_heading(HEADING)
        .value_name("VALUE");
    if flag.kind == FlagKind::Bool {
        arg = arg
            .num_args(0..=1)
            .require_equals(true)
            .default_missing_value("true")
            .value_name("BOOL");
    }
    if let Some(env) = flag.env {
        arg = arg.env(env);
    }
    arg
}

impl<S: FlagSet> FromArgMatches for IgnoredFlags<S> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut out = IgnoredFlags::default();
        out.update_from_arg_matches(matches)?;
        Ok(out)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.given = S::FLAGS
            .iter()
            .filter_map(|f| {
                let value = matches.get_one::<String>(f.name)?;
                let from_env = match matches.value_source(f.name) {
                    Some(ValueSource::EnvVariable) => f.env,
                    _ => None,
                };
                Some(GivenFlag {
                    name: f.name,
                    value: value.clone(),
                    from_env,
                })
            })
            .collect();
        Ok(())
    }
}

impl<S: FlagSet> Args for IgnoredFlags<S> {
    fn augment_args(cmd: Command) -> Command {
        S::FLAGS.iter().fold(cmd, |cmd, f| cmd.arg(arg(f)))
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}
