//! ferrolb's speaker: runs on every node, keeps BGP sessions with the routers its
//! configuration names and announces the Service addresses this node may serve, as MetalLB's
//! speaker in BGP mode does, from the same configuration.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use lb_daemon::args::{CommonArgs, HostArg, IgnoredFlags, Speaker};
use lb_daemon::k8s_metrics::K8sClientMetrics;
use lb_daemon::{client, http, logging, signals};
use prometheus_client::registry::Registry;
use speaker::announce::Options;
use speaker::metrics::SpeakerMetrics;
use speaker::reconcile::{self, Context};
use tokio_util::sync::CancellationToken;

/// MetalLB's speaker flags (same spelling and environment variables).
#[derive(Parser)]
#[command(
    name = "speaker",
    version,
    about = "ferrolb speaker: announces LoadBalancer IPs over BGP"
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    host: HostArg,
    /// Name of this Kubernetes node (spec.nodeName)
    #[arg(long, env = "METALLB_NODE_NAME")]
    node_name: Option<String>,
    /// Announce from nodes labelled node.kubernetes.io/exclude-from-external-load-balancers too
    #[arg(long, num_args = 0..=1, require_equals = true, default_value = "false",
          default_missing_value = "true", value_name = "BOOL",
          value_parser = clap::builder::BoolishValueParser::new())]
    ignore_exclude_lb: bool,
    #[command(flatten)]
    ignored: IgnoredFlags<Speaker>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(err) = logging::init(cli.common.log_level) {
        eprintln!("speaker: failed to initialize logging: {err}");
        return ExitCode::FAILURE;
    }
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(op = "startup", error = %err, "speaker failed");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        "MetalLB speaker starting (ferrolb {})",
        env!("CARGO_PKG_VERSION")
    );
    cli.common.ignored.log();
    cli.ignored.log();
    let Some(node_name) = cli.node_name.clone().filter(|n| !n.is_empty()) else {
        return Err("missing configuration: must specify --node-name or METALLB_NODE_NAME".into());
    };

    let env = client::Environment::from_process();
    let namespace = cli.common.namespace(&env)?;
    let conn = client::connect(cli.common.kubeconfig(), &env).await?;
    tracing::info!(op = "startup", source = %conn.source, namespace = namespace.as_str(), node = node_name.as_str(), "Kubernetes client configured");

    let mut registry = Registry::default();
    let k8s_metrics = K8sClientMetrics::register(&mut registry);
    let metrics = SpeakerMetrics::register(&mut registry);
    let readiness = http::Readiness::new();
    let ready = readiness.condition("initial load of services, endpoints, node and configuration");
    let server = http::Server::bind(&cli.common.listen_addresses(cli.host.ip())).await?;
    let stop_http = CancellationToken::new();
    let http = tokio::spawn(server.serve(
        http::Endpoints {
            registry: Arc::new(registry),
            readiness,
        },
        stop_http.clone(),
    ));

    // Each session says which AS and BGP identifier it uses; the speaker never listens,
    // dialling out as MetalLB's does.
    let (bgp, events) = bgp::Speaker::start(bgp::SpeakerConfig::default()).await?;
    let ctx = Context {
        client: conn.client,
        namespace,
        node_name,
        pod_name: cli.common.pod_name().map(str::to_owned),
        options: Options {
            ignore_exclude_lb: cli.ignore_exclude_lb,
            lb_class: cli.common.load_balancer_class().map(str::to_owned),
        },
        k8s_metrics,
        metrics,
        ready,
    };
    reconcile::run(ctx, bgp, events, signals::terminated()).await;
    stop_http.cancel();
    http.await??;
    Ok(())
}
