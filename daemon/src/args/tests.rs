//! The flags as MetalLB's manifests and `main.go` spell them.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use clap::{CommandFactory, Parser};
use serde_json::json;

use super::*;
use crate::logging::capture::capture;

/// What the controller binary will flatten in.
#[derive(Parser, Debug)]
struct ControllerCli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    ignored: IgnoredFlags<Controller>,
}

/// What the speaker binary will flatten in (its own `--node-name` etc. are not ours).
#[derive(Parser, Debug)]
struct SpeakerCli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    host: HostArg,
    #[command(flatten)]
    ignored: IgnoredFlags<Speaker>,
}

fn controller(args: &[&str]) -> ControllerCli {
    ControllerCli::try_parse_from(std::iter::once("controller").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn speaker(args: &[&str]) -> SpeakerCli {
    SpeakerCli::try_parse_from(std::iter::once("speaker").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

#[test]
fn defaults() {
    let cli = controller(&[]);
    let c = &cli.common;
    assert_eq!((c.port, c.health_probe_port), (7472, 17472));
    assert_eq!(c.log_level, LogLevel::Info);
    assert_eq!(c.kubeconfig(), None);
    assert_eq!(c.load_balancer_class(), None);
    assert!(c.ignored.given.is_empty());
    assert!(cli.ignored.given.is_empty());
}

#[test]
fn manifest_arguments_parse() {
    let cli = speaker(&[
        "--port=9120",
        "--log-level=debug",
        "--namespace",
        "metallb-system",
        "--kubeconfig=/etc/kc",
        "--lb-class=ferrolb",
        "--health-probe-port=17473",
        "--host=10.192.0.3",
    ]);
    let c = &cli.common;
    assert_eq!((c.port, c.health_probe_port), (9120, 17473));
    assert_eq!(c.log_level, LogLevel::Debug);
    assert_eq!(c.kubeconfig(), Some(PathBuf::from("/etc/kc").as_path()));
    assert_eq!(c.load_balancer_class(), Some("ferrolb"));
    assert_eq!(
        c.namespace(&Environment::default()).ok().as_deref(),
        Some("metallb-system")
    );
    let host = IpAddr::V4(Ipv4Addr::new(10, 192, 0, 3));
    assert_eq!(cli.host.ip(), Some(host));
    assert_eq!(
        c.listen_addresses(cli.host.ip()),
        [
            ListenAddress::At((host, 9120).into()),
            ListenAddress::All(17473)
        ]
    );
}

#[test]
fn empty_values_count_as_not_given_as_in_go() {
    let cli = speaker(&["--lb-class=", "--kubeconfig=", "--host=", "--pod-name="]);
    assert_eq!(cli.common.load_balancer_class(), None);
    assert_eq!(cli.common.kubeconfig(), None);
    assert_eq!(cli.common.pod_name(), None);
    assert_eq!(cli.host.ip(), None);
}

#[test]
fn bad_values_are_refused_naming_the_flag() {
    let err = |args: &[&str]| match SpeakerCli::try_parse_from(
        std::iter::once("speaker").chain(args.iter().copied()),
    ) {
        Err(e) => e.to_string(),
        Ok(cli) => panic!("{args:?} accepted: {cli:?}"),
    };
    let text = err(&["--log-level=verbose"]);
    assert!(text.contains("--log-level"), "{text}");
    assert!(
        text.contains("all, debug, info, warn, error, none"),
        "{text}"
    );
    let text = err(&["--host=node-1"]);
    assert!(
        text.contains("--host") && text.contains("\"node-1\" is not an IP address"),
        "{text}"
    );
    let text = err(&["--port=70000"]);
    assert!(text.contains("--port"), "{text}");
}

#[test]
fn environment_variables_are_metallbs() {
    let cmd = SpeakerCli::command();
    let env_of = |long: &str| {
        cmd.get_arguments()
            .find(|a| a.get_long() == Some(long))
            .and_then(|a| a.get_env())
            .map(|e| e.to_string_lossy().into_owned())
    };
    let table = [
        ("namespace", Some("METALLB_NAMESPACE")),
        ("pod-name", Some("METALLB_POD_NAME")),
        ("host", Some("METALLB_HOST")),
        ("ml-bindaddr", Some("METALLB_ML_BIND_ADDR")),
        ("ml-labels", Some("METALLB_ML_LABELS")),
        ("ml-secret-key-path", Some("METALLB_ML_SECRET_KEY_PATH")),
        ("frrk8s-namespace", Some("FRRK8S_NAMESPACE")),
        // controller-runtime's --kubeconfig takes no variable; KUBECONFIG is read by
        // `client::connect` so it can tell the two apart in its error.
        ("kubeconfig", None),
        ("port", None),
    ];
    for (long, env) in table {
        assert_eq!(env_of(long).as_deref(), env, "--{long}");
    }
    let cmd = ControllerCli::command();
    let ml_secret = cmd
        .get_arguments()
        .find(|a| a.get_long() == Some("ml-secret-name"))
        .and_then(|a| a.get_env());
    assert_eq!(
        ml_secret.and_then(|e| e.to_str()),
        Some("METALLB_ML_SECRET_NAME")
    );
}

/// Every flag of MetalLB v0.16.2's controller/main.go and speaker/main.go that is not the
/// binary's own business (`--node-name`, `--ignore-exclude-lb` belong to the speaker).
#[test]
fn every_metallb_flag_is_accepted() {
    controller(&[
        "--port=9120",
        "--namespace=metallb-system",
        "--ml-secret-name=memberlist",
        "--deployment=controller",
        "--log-level=info",
        "--pprof-bind-address=127.0.0.1:6060",
        "--health-probe-port=17472",
        "--disable-cert-rotation",
        "--cert-dir=/tmp/k8s-webhook-server/serving-certs",
        "--cert-service-name=metallb-webhook-service",
        "--lb-class=x",
        "--webhook-mode=disabled",
        "--webhook-secret=metallb-webhook-cert",
        "--pod-name=controller-0",
        "--webhook-http2=false",
        "--tls-min-version=VersionTLS13",
        "--tls-cipher-suites=TLS_AES_128_GCM_SHA256",
        "--tls-curve-preferences=29",
        "--metrics-cert-dir=/certs",
        "--kubeconfig=/etc/kc",
    ]);
    speaker(&[
        "--bgp-debounce-timeout=3000",
        "--namespace=metallb-system",
        "--host=10.192.0.3",
        "--ml-bindaddr=10.192.0.3",
        "--ml-bindport=7946",
        "--ml-labels=app=metallb,component=speaker",
        "--ml-secret-key-path=/etc/ml_secret_key",
        "--ml-wan-config",
        "--pod-name=speaker-x",
        "--port=9120",
        "--log-level=info",
        "--pprof-bind-address=",
        "--health-probe-port=17472",
        "--lb-class=",
        "--frrk8s-namespace=frr-k8s-system",
        "--frrk8s-secret-passthrough=true",
        "--tls-min-version=VersionTLS12",
        "--tls-cipher-suites=x",
        "--tls-curve-preferences=x",
        "--metrics-cert-dir=/certs",
        "--gratuitous-arp-interval=0",
        "--kubeconfig=/etc/kc",
    ]);
}

#[test]
fn given_ignored_flags_are_listed_in_order_with_values() {
    let cli = controller(&[
        "--webhook-http2",
        "--webhook-mode",
        "disabled",
        "--disable-cert-rotation=false",
        "--tls-min-version=VersionTLS13",
    ]);
    let given = |flags: &[GivenFlag]| -> Vec<(&str, String)> {
        flags.iter().map(|f| (f.name, f.value.clone())).collect()
    };
    assert_eq!(
        given(&cli.ignored.given),
        [
            ("webhook-mode", "disabled".to_owned()),
            ("webhook-http2", "true".to_owned()),
            ("disable-cert-rotation", "false".to_owned()),
        ]
    );
    assert_eq!(
        given(&cli.common.ignored.given),
        [("tls-min-version", "VersionTLS13".to_owned())]
    );
    assert!(cli.ignored.given.iter().all(|f| f.from_env.is_none()));
}

#[test]
fn go_boolean_flags_take_no_separate_value() {
    // As with Go's flag package, `--disable-cert-rotation true` leaves `true` as an argument,
    // which neither binary takes.
    let result = ControllerCli::try_parse_from(["controller", "--disable-cert-rotation", "true"]);
    assert!(result.is_err(), "{result:?}");
}

#[test]
fn each_ignored_flag_is_one_log_line() {
    let cli = speaker(&["--ml-bindaddr=10.192.0.3", "--ml-wan-config"]);
    let lines = capture(LogLevel::Info, || cli.ignored.log());
    let fields: Vec<_> = lines
        .iter()
        .map(|l| {
            json!([
                l["op"],
                l["flag"],
                l["value"],
                l["source"],
                l["level"],
                l["msg"]
            ])
        })
        .collect();
    assert_eq!(
        fields,
        [
            json!([
                "startup",
                "ml-bindaddr",
                "10.192.0.3",
                "command line",
                "info",
                "flag has no effect in ferrolb and is ignored"
            ]),
            json!([
                "startup",
                "ml-wan-config",
                "true",
                "command line",
                "info",
                "flag has no effect in ferrolb and is ignored"
            ]),
        ]
    );
}

#[test]
fn namespace_falls_back_to_the_service_account_and_says_how_to_fix_it() {
    let sa = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let env = Environment {
        service_account_dir: sa.path().to_path_buf(),
        ..Environment::default()
    };
    let cli = controller(&[]);
    let file = sa.path().join("namespace");
    match cli.common.namespace(&env) {
        Err(e) => {
            let text = e.to_string();
            assert!(
                text.starts_with(&format!(
                    "unable to get the namespace from the pod's ServiceAccount ({}: ",
                    file.display()
                )),
                "{text}"
            );
            assert!(
                text.ends_with("please specify --namespace or METALLB_NAMESPACE"),
                "{text}"
            );
        }
        Ok(ns) => panic!("namespace {ns:?} from nowhere"),
    }
    if let Err(e) = std::fs::write(&file, "metallb-system\n") {
        panic!("{e}");
    }
    assert_eq!(
        cli.common.namespace(&env).ok().as_deref(),
        Some("metallb-system")
    );
    let flagged = controller(&["--namespace=other"]);
    assert_eq!(
        flagged.common.namespace(&env).ok().as_deref(),
        Some("other")
    );
}

#[test]
fn help_lists_the_ignored_flags_under_their_own_heading() {
    let help = ControllerCli::command().render_long_help().to_string();
    let heading = help
        .find("MetalLB flags accepted without effect:")
        .unwrap_or_else(|| panic!("{help}"));
    assert!(help[heading..].contains("--webhook-mode <VALUE>"), "{help}");
    assert!(
        help[heading..].contains("--disable-cert-rotation[=<BOOL>]"),
        "{help}"
    );
}
