//! ferrolb's controller: hands out addresses to Services of type LoadBalancer, as MetalLB's
//! controller does, from the same configuration (legacy ConfigMap or `metallb.io` CRDs).

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use controller::metrics::AllocatorMetrics;
use controller::reconcile::{self, Context};
use lb_daemon::args::{CommonArgs, Controller, IgnoredFlags};
use lb_daemon::k8s_metrics::K8sClientMetrics;
use lb_daemon::{client, http, logging, signals};
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

/// MetalLB's controller flags (same spelling and environment variables).
#[derive(Parser)]
#[command(
    name = "controller",
    version,
    about = "ferrolb controller: allocates IPs to LoadBalancer Services"
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    ignored: IgnoredFlags<Controller>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(err) = logging::init(cli.common.log_level) {
        eprintln!("controller: failed to initialize logging: {err}");
        return ExitCode::FAILURE;
    }
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(op = "startup", error = %err, "controller failed");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        "MetalLB controller starting (ferrolb {})",
        env!("CARGO_PKG_VERSION")
    );
    cli.common.ignored.log();
    cli.ignored.log();

    let env = client::Environment::from_process();
    let namespace = cli.common.namespace(&env)?;
    let conn = client::connect(cli.common.kubeconfig(), &env).await?;
    tracing::info!(op = "startup", source = %conn.source, namespace = namespace.as_str(), "Kubernetes client configured");

    let mut registry = Registry::default();
    let k8s_metrics = K8sClientMetrics::register(&mut registry);
    let metrics = AllocatorMetrics::register(&mut registry);
    let readiness = http::Readiness::new();
    let ready = readiness.condition("initial load of services and configuration");
    let server = http::Server::bind(&cli.common.listen_addresses(None)).await?;
    let shutdown = CancellationToken::new();
    let http = tokio::spawn(server.serve(
        http::Endpoints {
            registry: Arc::new(registry),
            readiness,
        },
        shutdown.clone(),
    ));

    let ctx = Context {
        client: conn.client,
        namespace,
        lb_class: cli.common.load_balancer_class().map(str::to_owned),
        pod_name: cli.common.pod_name().map(str::to_owned),
        metrics,
        k8s_metrics,
        ready,
    };
    reconcile::run(ctx, signals::terminated()).await;
    shutdown.cancel();
    http.await??;
    Ok(())
}
