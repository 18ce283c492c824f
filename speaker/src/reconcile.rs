//! The speaker's main loop: watch notices into the [`Engine`] (debounced: a burst of changes
//! costs one pass), its [`Plan`]s into the `bgp` core (peers added and removed, the whole set
//! of routes replaced in one call that the core diffs), the apiserver (ConfigurationState,
//! ServiceBGPStatus, Events), logs and metrics; the core's session events into MetalLB's log
//! lines and gauges.
//!
//! On shutdown every route is withdrawn, then every session is closed with a Cease
//! NOTIFICATION, subcode 2 (Administrative Shutdown) — except towards peers with
//! `enableGracefulRestart` where graceful restart was negotiated: their routes stay and their
//! sessions close without a NOTIFICATION, so the routers keep the routes while the speaker
//! restarts (RFC 4724).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use bgp::{Advertisement, OriginAttributes, SessionState};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::runtime::events::Reporter;
use kube::{Api, Client};
use lb_config::Community;
use lb_daemon::config_state::{self, ConfigStateObject};
use lb_daemon::events::Publisher;
use lb_daemon::http::Condition;
use lb_daemon::k8s_metrics::K8sClientMetrics;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::announce::{Options, PeerRoute};
use crate::engine::{Dirty, Engine, Plan, Transition};
use crate::metrics::{PeerLabel, SpeakerMetrics};
use crate::status::{self, StatusWriter};
use crate::watch::{self, Notice};

/// How long notices gather before a pass.
const DEBOUNCE: Duration = Duration::from_millis(200);
/// How often the sessions' counters are read for the metrics.
const REFRESH: Duration = Duration::from_secs(1);

/// What the loop needs from the outside.
pub struct Context {
    /// The apiserver client.
    pub client: Client,
    /// MetalLB's namespace (configuration, Secrets, ServiceBGPStatus, ConfigurationState).
    pub namespace: String,
    /// This node's name.
    pub node_name: String,
    /// This pod's name (owner of the ServiceBGPStatus objects, reported with Events).
    pub pod_name: Option<String>,
    /// Flags that change what is announced.
    pub options: Options,
    /// MetalLB's `metallb_k8s_client_*` metrics.
    pub k8s_metrics: K8sClientMetrics,
    /// The BGP and announcement metrics.
    pub metrics: SpeakerMetrics,
    /// Met once the first full pass over the cluster is done (`/readyz`).
    pub ready: Condition,
}

/// The sessions as the loop tracks them for logs and metrics.
#[derive(Default)]
struct Sessions {
    /// Metric label and local AS of each configured session, by peer address.
    live: BTreeMap<IpAddr, (PeerLabel, u32)>,
    /// Sessions whose failure to connect was logged (until they come up).
    connect_reported: BTreeSet<IpAddr>,
}

/// Runs until `shutdown` completes, then withdraws everything and closes the sessions.
pub async fn run(
    mut ctx: Context,
    bgp: bgp::Speaker,
    mut events: mpsc::Receiver<bgp::Event>,
    shutdown: impl Future<Output = ()>,
) {
    let (tx, mut notices) = mpsc::channel(4096);
    let caches = watch::start(&ctx.client, &ctx.namespace, &ctx.node_name, &tx);
    let status_cache = caches.statuses.store.clone();
    let mut engine = Engine::new(caches, &ctx.namespace, &ctx.node_name, ctx.options.clone());
    let publisher = status::EventSender::new(Publisher::new(
        ctx.client.clone(),
        Reporter {
            controller: status::COMPONENT.into(),
            instance: ctx.pod_name.clone().or_else(|| Some(ctx.node_name.clone())),
        },
    ));
    let owner = owner_reference(&ctx).await;
    let mut statuses = StatusWriter::new(
        ctx.client.clone(),
        &ctx.namespace,
        &ctx.node_name,
        owner,
        status_cache,
    );
    let mut sessions = Sessions::default();
    let mut dirty = Dirty::default();
    let mut deadline: Option<Instant> = None;
    let mut refresh = tokio::time::interval(REFRESH);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            notice = notices.recv() => {
                let Some(notice) = notice else { break };
                if notice == Notice::Status {
                    continue;
                }
                ctx.k8s_metrics.updates.inc();
                dirty.add(notice);
                deadline.get_or_insert_with(|| Instant::now() + DEBOUNCE);
            }
            () = sleep_until(deadline), if deadline.is_some() => {
                deadline = None;
                let plan = engine.pass(&std::mem::take(&mut dirty));
                apply(&mut ctx, &bgp, &mut engine, &publisher, &mut statuses, &mut sessions, plan).await;
                if engine.ready() {
                    ctx.ready.met();
                }
            }
            event = events.recv() => {
                let Some(event) = event else {
                    tracing::error!(op = "bgp", "the BGP core stopped");
                    break;
                };
                on_event(&mut ctx, &mut sessions, event);
            }
            _ = refresh.tick() => refresh_sessions(&mut ctx, &bgp, &engine, &mut sessions).await,
            () = statuses.progress(), if statuses.busy() => {}
        }
    }
    tracing::info!(op = "shutdown", "starting shutdown");
    let kept = engine.routes_kept_on_shutdown();
    if !kept.is_empty() {
        tracing::info!(
            op = "shutdown",
            routes = kept.len(),
            "keeping the routes towards graceful-restart peers"
        );
    }
    if let Err(err) = bgp
        .set_advertisements(kept.iter().map(advertisement).collect())
        .await
    {
        tracing::error!(op = "shutdown", error = %err, "failed to withdraw the announcements");
    }
    if let Err(err) = bgp.shutdown().await {
        tracing::error!(op = "shutdown", error = %err, "failed to close the BGP sessions");
    }
    tracing::info!(op = "shutdown", "done");
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Carries out one pass's plan.
#[allow(clippy::too_many_arguments)]
async fn apply(
    ctx: &mut Context,
    bgp: &bgp::Speaker,
    engine: &mut Engine,
    publisher: &status::EventSender,
    statuses: &mut StatusWriter,
    sessions: &mut Sessions,
    plan: Plan,
) {
    if let Some(state) = plan.config_state {
        config_state::log_and_count(&state, &ctx.k8s_metrics);
        let client = ctx.client.clone();
        let namespace = ctx.namespace.clone();
        let object = ConfigStateObject::speaker(&ctx.node_name);
        tokio::spawn(async move {
            if let Err(err) = config_state::write(&client, &namespace, &object, &state).await {
                tracing::error!(controller = "ConfigurationStateReconciler", error = %err, "failed to create or patch ConfigurationState");
            }
        });
    }
    for (address, _, _) in &plan.sessions.remove {
        if let Err(err) = bgp.remove_peer(*address).await {
            tracing::error!(op = "setConfig", peer = %address, error = %err, "failed to shut down BGP session");
        }
        if let Some((label, _)) = sessions.live.remove(address) {
            ctx.metrics.session_removed(&label);
        }
        sessions.connect_reported.remove(address);
    }
    // The routes before the new sessions: the core handles requests in order, so a session
    // that comes up has the whole table at once and its End-of-RIB follows it — after a
    // graceful restart, an End-of-RIB before the routes would make the router drop them.
    if let Some(routes) = &plan.routes {
        let ads = routes.iter().map(advertisement).collect();
        if let Err(err) = bgp.set_advertisements(ads).await {
            tracing::error!(op = "updateAds", error = %err, "failed to update BGP advertisements");
        }
    }
    for (address, profile) in &plan.sessions.bfd {
        if let Err(err) = bgp.set_bfd(*address, profile.clone()).await {
            tracing::error!(op = "setConfig", peer = %address, error = %err, "failed to change the session's BFD settings");
        }
    }
    for session in &plan.sessions.add {
        let address = session.config.address;
        match bgp.add_peer(session.config.clone()).await {
            Ok(()) => {
                let label = PeerLabel::new(address, session.config.port);
                ctx.metrics.session_added(&label);
                let local_as = session.config.local_as.unwrap_or_default();
                sessions.live.insert(address, (label, local_as));
            }
            Err(err) => {
                tracing::error!(op = "syncPeers", peer = %address, name = session.name.as_str(), error = %err, "failed to create BGP session");
                engine.session_failed(address);
            }
        }
    }
    if let Some(pending) = &plan.pending {
        for ((address, port), count) in pending {
            ctx.metrics
                .pending(&PeerLabel::new(*address, *port), *count);
        }
    }
    for transition in plan.transitions {
        match transition {
            Transition::Announced { key, uid, ips } => {
                for ip in ips {
                    ctx.metrics.announced(&key, &ctx.node_name, ip);
                }
                status::publish_node_assigned(publisher, &key, uid, &ctx.node_name);
            }
            Transition::Withdrawn { key, ips } => {
                for ip in ips {
                    ctx.metrics.withdrawn(&key, &ctx.node_name, ip);
                }
            }
        }
    }
    for (key, peers) in plan.statuses {
        statuses.submit(&key, peers);
    }
}

/// One route as the `bgp` core takes it: ORIGIN incomplete and, to iBGP peers, LOCAL_PREF
/// 0 unless the advertisement sets one, as MetalLB's native speaker sends (the core leaves
/// LOCAL_PREF out towards eBGP peers).
fn advertisement(route: &PeerRoute) -> Advertisement {
    let mut attributes = OriginAttributes {
        origin: bgp::Origin::Incomplete,
        local_pref: Some(route.local_pref.unwrap_or(0)),
        ..OriginAttributes::default()
    };
    for community in &route.communities {
        match *community {
            Community::Standard(value) => {
                attributes.communities.insert(value);
            }
            Community::Large(global, local1, local2) => {
                attributes
                    .large_communities
                    .insert((global, local1, local2));
            }
        }
    }
    Advertisement {
        prefix: route.prefix,
        peers: route.peers.clone(),
        attributes,
    }
}

/// MetalLB's log lines for sessions coming up and going down.
fn on_event(ctx: &mut Context, sessions: &mut Sessions, event: bgp::Event) {
    match event {
        bgp::Event::PeerUp { peer, peer_as } => {
            let local_as = sessions
                .live
                .get(&peer)
                .map(|(_, asn)| *asn)
                .unwrap_or_default();
            sessions.connect_reported.remove(&peer);
            tracing::info!(event = "sessionUp", peer = %peer, localASN = local_as, peerASN = peer_as, "BGP session established");
            if let Some((label, _)) = sessions.live.get(&peer) {
                ctx.metrics.set_up(label, true);
            }
        }
        bgp::Event::PeerDown { peer, reason } => {
            let local_as = sessions
                .live
                .get(&peer)
                .map(|(_, asn)| *asn)
                .unwrap_or_default();
            tracing::warn!(event = "sessionDown", peer = %peer, localASN = local_as, reason = %reason, "BGP session down");
            if let Some((label, _)) = sessions.live.get(&peer) {
                ctx.metrics.set_up(label, false);
            }
        }
        // Events were dropped for a slow consumer: the session states and counters are read
        // again every second anyway, so nothing is lost here. The rest is not MetalLB-visible.
        bgp::Event::Lagged(_)
        | bgp::Event::StateChanged { .. }
        | bgp::Event::RoutesReceived { .. }
        | bgp::Event::BestPathChanged(_) => {}
        bgp::Event::BfdStateChanged {
            peer,
            from,
            to,
            diagnostic,
        } => {
            // FRR's words for the states, as `show bfd peers` and MetalLB's FRR mode show them.
            let (from, to) = (from.frr_name(), to.frr_name());
            if to == "up" {
                tracing::info!(event = "bfdSessionUp", peer = %peer, from, to, "BFD session up");
            } else if from == "up" {
                tracing::warn!(event = "bfdSessionDown", peer = %peer, from, to, diagnostic = %diagnostic, "BFD session down");
            } else {
                tracing::debug!(event = "bfdStateChanged", peer = %peer, from, to, "BFD session state changed");
            }
        }
    }
}

/// Reads every session's state for the metrics, and logs sessions that cannot connect.
async fn refresh_sessions(
    ctx: &mut Context,
    bgp: &bgp::Speaker,
    engine: &Engine,
    sessions: &mut Sessions,
) {
    if let Ok(bfd) = bgp.bfd_sessions().await {
        let readings: Vec<_> = bfd
            .iter()
            .map(|s| {
                let reading = crate::metrics::BfdReading {
                    up: s.state == bgp::bfd::State::Up,
                    control_in: s.counters.control_in,
                    control_out: s.counters.control_out,
                    up_events: s.counters.up_events,
                    down_events: s.counters.down_events,
                };
                (s.spec.key.peer, reading)
            })
            .collect();
        ctx.metrics.bfd_sessions(&readings);
    }
    let Ok(peers) = bgp.peers().await else {
        return;
    };
    for summary in peers {
        let address = summary.config.address;
        let Some((label, _)) = sessions.live.get(&address) else {
            continue;
        };
        let status = &summary.status;
        let up = status.state == SessionState::Established;
        ctx.metrics
            .session_state(label, up, status.sent.updates, status.prefixes_sent);
        if up {
            sessions.connect_reported.remove(&address);
            continue;
        }
        let waiting = summary.at.saturating_duration_since(status.state_since);
        let patience = summary.config.connect_retry.max(Duration::from_secs(5));
        if waiting >= patience && sessions.connect_reported.insert(address) {
            let with_password = engine
                .sessions()
                .get(&address)
                .is_some_and(|s| s.config.password.is_some());
            let hint = if with_password {
                "; this session has a TCP MD5 password: a router with another password, or none, drops our segments without an answer, which looks exactly like this"
            } else {
                ""
            };
            let last = status
                .last_reset
                .as_ref()
                .map(|(reason, _)| reason.to_string())
                .unwrap_or_else(|| "none".to_owned());
            tracing::error!(op = "connect", peer = %address, state = ?status.state, last_error = last.as_str(), error = format!("no BGP session with {address} after {}s{hint}", waiting.as_secs()), "failed to connect to peer");
        }
    }
}

/// The speaker's Pod as the owner of its ServiceBGPStatus objects, as MetalLB sets it.
async fn owner_reference(ctx: &Context) -> Option<OwnerReference> {
    let name = ctx.pod_name.as_deref()?;
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    match pods.get(name).await {
        Ok(pod) => Some(OwnerReference {
            api_version: "v1".into(),
            kind: "Pod".into(),
            name: name.to_owned(),
            uid: pod.metadata.uid.unwrap_or_default(),
            ..Default::default()
        }),
        Err(err) => {
            tracing::warn!(op = "startup", pod = name, error = %err, "cannot read the speaker's own Pod: ServiceBGPStatus objects get no owner");
            None
        }
    }
}
