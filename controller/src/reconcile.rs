//! The controller's main loop: watch notices into the [`Engine`], its outputs to the
//! apiserver, metrics and readiness.
//!
//! One task owns the engine (and so every allocation); Service writes run concurrently in
//! the [`ServiceWriter`]; ConfigurationState writes and pool status updates are coalesced
//! (pool counters are flushed at most once a second, however many Services changed).

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use kube::Client;
use kube::runtime::events::{Event, EventType, Reporter};
use lb_daemon::config_state::{self, ConfigStateObject};
use lb_daemon::http::Condition;
use lb_daemon::k8s_metrics::K8sClientMetrics;
use tokio::sync::mpsc;

use crate::engine::{ConfigState, Engine, Output};
use crate::metrics::AllocatorMetrics;
use crate::status;
use crate::watch;
use crate::writer::ServiceWriter;
use lb_daemon::events::Publisher;

/// MetalLB's reporting component for the controller's Events.
pub const COMPONENT: &str = "metallb-controller";
/// How often changed pool counters are written.
const POOL_FLUSH: Duration = Duration::from_secs(1);

/// What the loop needs from the outside.
pub struct Context {
    /// The apiserver client.
    pub client: Client,
    /// MetalLB's namespace (config and ConfigurationState live there).
    pub namespace: String,
    /// `--lb-class`: only Services of this class (none: only Services without a class).
    pub lb_class: Option<String>,
    /// This pod's name, reported with Events.
    pub pod_name: Option<String>,
    /// The allocator gauges.
    pub metrics: AllocatorMetrics,
    /// MetalLB's `metallb_k8s_client_*` metrics.
    pub k8s_metrics: K8sClientMetrics,
    /// Met once the first full pass over the cluster is done (`/readyz`).
    pub ready: Condition,
}

/// Runs until `shutdown` completes.
pub async fn run(ctx: Context, shutdown: impl Future<Output = ()>) {
    let (tx, mut notices) = mpsc::channel(4096);
    let caches = watch::start(&ctx.client, &ctx.namespace, tx);
    let mut engine = Engine::new(caches, ctx.lb_class.clone());
    let events = Publisher::new(
        ctx.client.clone(),
        Reporter {
            controller: COMPONENT.into(),
            instance: ctx.pod_name.clone(),
        },
    );
    let (landed_tx, mut landed) = mpsc::unbounded_channel();
    let mut writer = ServiceWriter::new(ctx.client.clone(), events.clone(), landed_tx);
    let mut dirty_pools = BTreeSet::new();
    let mut flush = tokio::time::interval(POOL_FLUSH);
    let mut was_ready = false;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            notice = notices.recv() => {
                let Some(notice) = notice else { break };
                ctx.k8s_metrics.updates.inc();
                for output in engine.handle(notice) {
                    match output {
                        Output::Service(write) => writer.submit(write),
                        Output::Pools(pools) => dirty_pools.extend(pools),
                        Output::ConfigState(state) => report_config_state(&ctx, &events, state),
                    }
                }
                if !was_ready && engine.ready() {
                    was_ready = true;
                    ctx.ready.met();
                }
            }
            Some(done) = landed.recv() => engine.write_landed(&done.key, done.resource_version),
            () = writer.progress(), if writer.busy() => {}
            _ = flush.tick(), if !dirty_pools.is_empty() => {
                flush_pools(&ctx, &engine, std::mem::take(&mut dirty_pools));
            }
        }
    }
    tracing::info!(op = "shutdown", "controller stopping");
}

/// Logs, counts and writes the configuration's state.
fn report_config_state(ctx: &Context, events: &Publisher, state: ConfigState) {
    config_state::log_and_count(&state, &ctx.k8s_metrics);
    let client = ctx.client.clone();
    let namespace = ctx.namespace.clone();
    let events = events.clone();
    tokio::spawn(async move {
        if let Err(err) = config_state::write(
            &client,
            &namespace,
            &ConfigStateObject::controller(),
            &state,
        )
        .await
        {
            tracing::error!(controller = "ConfigurationStateReconciler", error = %err, "failed to create or patch ConfigurationState");
        }
        if let ConfigState::Invalid(errors) = &state {
            let reference = k8s_openapi::api::core::v1::ObjectReference {
                api_version: Some("metallb.io/v1beta1".into()),
                kind: Some("ConfigurationState".into()),
                namespace: Some(namespace.clone()),
                name: Some(ConfigStateObject::controller().name),
                ..Default::default()
            };
            let event = Event {
                type_: EventType::Warning,
                reason: "InvalidConfig".into(),
                note: Some(truncate(errors, 1000)),
                action: "LoadConfig".into(),
                secondary: None,
            };
            if let Err(err) = events.publish(&event, &reference).await {
                tracing::warn!(error = %err, "failed to publish the configuration's event");
            }
        }
    });
}

/// Updates the gauges of these pools and writes their IPAddressPool status.
fn flush_pools(ctx: &Context, engine: &Engine, pools: BTreeSet<String>) {
    let live = engine
        .config()
        .map(|c| c.pools.keys().cloned().collect::<BTreeSet<_>>())
        .unwrap_or_default();
    let mut writes = Vec::new();
    for pool in pools {
        if live.contains(&pool) {
            let stats = engine.allocator().pool_stats(&pool);
            ctx.metrics.set(&pool, &stats);
            writes.push((pool, stats));
        } else {
            ctx.metrics.remove(&pool);
        }
    }
    let client = ctx.client.clone();
    let namespace = ctx.namespace.clone();
    tokio::spawn(async move {
        for (pool, stats) in writes {
            if let Err(err) = status::write_pool_status(&client, &namespace, &pool, &stats).await {
                tracing::warn!(controller = "PoolStatusReconciler", pool = pool.as_str(), error = %err, "failed to update pool status");
            }
        }
    });
}

/// At most `max` bytes of `s`, cut at a character boundary (Event notes are limited to 1 kB).
fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
