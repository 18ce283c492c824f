//! The speaker's one owner of what is announced: from the watch caches to a [`Plan`] of
//! session changes, the routes to originate and what to report.
//!
//! Each pass reads the current objects (never the watch events), decides with the pure
//! [`crate::peers`] and [`crate::announce`], and compares with what it decided last time: only
//! differences become actions, so a pass over an unchanged cluster does nothing, a
//! configuration edit that does not touch a peer's parameters resets no session, and a
//! Service change re-sends only its routes (the `bgp` core diffs the whole set). It does no
//! I/O besides logging, so it runs the same in tests with hand-filled caches.
//!
//! Like MetalLB, nothing is decided before every cache has its first complete list, and a
//! configuration that does not validate is reported and ignored: the last good one stays in
//! force, with its sessions and announcements.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;
use lb_config::Config;
use lb_daemon::config_state::ConfigState;
use lb_daemon::logging::json;

use crate::announce::{self, Announcement, Decision, Options, PeerRoute};
use crate::node::NodeState;
use crate::peers::{self, Session, SessionChanges};
use crate::watch::{Caches, Notice, service_key};

/// What changed since the last pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dirty {
    /// Services (and their EndpointSlices) that changed, by key.
    pub services: BTreeSet<String>,
    /// The configuration changed: parse it again.
    pub config: bool,
    /// A watch re-listed: resubmit every status (the apiserver may have lost writes).
    pub resync: bool,
    /// Something every Service depends on changed (node, Secrets, sync).
    pub all: bool,
}

impl Dirty {
    /// Records a notice.
    pub fn add(&mut self, notice: Notice) {
        match notice {
            Notice::Service(key) => {
                self.services.insert(key);
            }
            Notice::Config => {
                self.config = true;
                self.all = true;
            }
            Notice::Node | Notice::Secrets => self.all = true,
            Notice::Synced => {
                self.config = true;
                self.resync = true;
                self.all = true;
            }
            Notice::Status => {}
        }
    }

    /// Whether a pass is needed.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty() && !self.config && !self.resync && !self.all
    }
}

/// A Service this node started or stopped announcing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Announced from now on (publish `nodeAssigned`, set the gauges).
    Announced {
        /// `namespace/name`.
        key: String,
        /// The Service's UID, so the Event points at this very object.
        uid: Option<String>,
        /// Its addresses.
        ips: Vec<IpAddr>,
    },
    /// No longer announced (drop the gauges).
    Withdrawn {
        /// `namespace/name`.
        key: String,
        /// The addresses it had.
        ips: Vec<IpAddr>,
    },
}

/// What one pass asks the shell to do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// The configuration's state, when it changed.
    pub config_state: Option<ConfigState>,
    /// Sessions to close and open, in that order.
    pub sessions: SessionChanges,
    /// The whole set of routes to originate, when it changed.
    pub routes: Option<Vec<PeerRoute>>,
    /// Prefixes each session should carry (its address and port → count), when the routes
    /// or sessions changed.
    pub pending: Option<BTreeMap<(IpAddr, u16), usize>>,
    /// Services that started or stopped being announced.
    pub transitions: Vec<Transition>,
    /// ServiceBGPStatus contents to write: Service key → peer names (empty: no object).
    pub statuses: Vec<(String, BTreeSet<String>)>,
}

/// The announcement state and what is needed to decide.
pub struct Engine {
    caches: Caches,
    namespace: String,
    node_name: String,
    options: Options,
    config: Option<Config>,
    last_state: Option<ConfigState>,
    node: Option<NodeState>,
    sessions: BTreeMap<IpAddr, Session>,
    reported: BTreeSet<(String, String)>,
    announced: BTreeMap<String, Announcement>,
    routes: Option<Vec<PeerRoute>>,
    service_peers: BTreeMap<String, BTreeSet<String>>,
    loaded: bool,
}

impl Engine {
    /// An engine for the speaker of `node_name` whose configuration lives in `namespace`.
    pub fn new(caches: Caches, namespace: &str, node_name: &str, options: Options) -> Self {
        Engine {
            caches,
            namespace: namespace.to_owned(),
            node_name: node_name.to_owned(),
            options,
            config: None,
            last_state: None,
            node: None,
            sessions: BTreeMap::new(),
            reported: BTreeSet::new(),
            announced: BTreeMap::new(),
            routes: None,
            service_peers: BTreeMap::new(),
            loaded: false,
        }
    }

    /// Whether the first pass over complete caches was made (readiness).
    pub fn ready(&self) -> bool {
        self.loaded
    }

    /// The caches (the status writer reads its objects there).
    pub fn caches(&self) -> &Caches {
        &self.caches
    }

    /// The sessions in place, by peer address.
    pub fn sessions(&self) -> &BTreeMap<IpAddr, Session> {
        &self.sessions
    }

    /// The routes to keep announced while the speaker stops: towards the sessions with
    /// graceful restart only ([`announce::kept_through_restart`]).
    pub fn routes_kept_on_shutdown(&self) -> Vec<PeerRoute> {
        let graceful: BTreeSet<IpAddr> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.config.graceful_restart.is_some())
            .map(|(address, _)| *address)
            .collect();
        announce::kept_through_restart(self.routes.as_deref().unwrap_or_default(), &graceful)
    }

    /// The shell could not open the session with `address`: forget it, so the next pass
    /// tries again.
    pub fn session_failed(&mut self, address: IpAddr) {
        self.sessions.remove(&address);
    }

    /// One pass: decides everything again and returns the differences.
    pub fn pass(&mut self, dirty: &Dirty) -> Plan {
        let mut plan = Plan::default();
        if !self.caches.all_synced() {
            return plan;
        }
        if dirty.config || !self.loaded {
            self.reload_config(&mut plan);
        }
        self.read_node();
        let (sessions_changed, announced) = match (self.config.clone(), self.node.clone()) {
            (Some(config), Some(node)) => {
                let desired =
                    peers::sessions(&config, &node, &self.namespace, &self.caches.secrets());
                let changed = self.apply_sessions(desired, &mut plan);
                (
                    changed,
                    self.decide_services(&config, &node, dirty, &mut plan),
                )
            }
            // Without a configuration or without its Node, the speaker has no sessions and
            // announces nothing.
            _ => {
                let changed = self.apply_sessions(peers::Sessions::default(), &mut plan);
                for key in self.announced.keys().cloned().collect::<Vec<_>>() {
                    self.withdraw(&key, "noConfigOrNode", &mut plan);
                }
                (changed, BTreeMap::new())
            }
        };
        let names: BTreeMap<String, IpAddr> = self
            .sessions
            .iter()
            .map(|(address, s)| (s.name.clone(), *address))
            .collect();
        let (routes, service_peers) = announce::peer_routes(&announced, &names);
        self.announced = announced;
        if self.routes.as_ref() != Some(&routes) || sessions_changed {
            plan.pending = Some(self.pending(&routes));
        }
        if self.routes.as_ref() != Some(&routes) {
            plan.routes = Some(routes.clone());
            self.routes = Some(routes);
        }
        let recheck = dirty.resync || !self.loaded;
        self.statuses(service_peers, recheck, &mut plan);
        self.loaded = true;
        plan
    }

    /// Parses the configuration; a valid one is put in force.
    fn reload_config(&mut self, plan: &mut Plan) {
        let state = match self.caches.config.parse() {
            Ok(config) => {
                if self.config.as_ref() != Some(&config) {
                    tracing::info!(event = "configLoaded", "config (re)loaded");
                    self.config = Some(config);
                }
                ConfigState::Valid
            }
            Err(errors) => ConfigState::Invalid(errors),
        };
        if self.last_state.as_ref() != Some(&state) {
            self.last_state = Some(state.clone());
            plan.config_state = Some(state);
        }
    }

    fn read_node(&mut self) {
        let Some(node) = self.caches.node(&self.node_name) else {
            if self.node.take().is_some() || !self.loaded {
                tracing::error!(
                    op = "setNode",
                    node = self.node_name.as_str(),
                    "the speaker's Node does not exist: no sessions, nothing announced"
                );
            }
            return;
        };
        let state = NodeState::from_node(&node);
        if let Some(old) = &self.node
            && old.labels != state.labels
        {
            tracing::info!(
                event = "nodeLabelsChanged",
                "Node labels changed, resyncing BGP peers"
            );
        }
        self.node = Some(state);
    }

    /// Reports the peers' problems and plans the changes to `desired`; returns whether there
    /// are any.
    fn apply_sessions(&mut self, desired: peers::Sessions, plan: &mut Plan) -> bool {
        let mut now_reported = BTreeSet::new();
        for p in &desired.problems {
            let entry = (p.peer.clone(), p.problem.to_string());
            if !self.reported.contains(&entry) {
                if p.problem.skips_peer() {
                    tracing::error!(
                        op = "syncPeers",
                        peer = p.peer.as_str(),
                        error = entry.1.as_str(),
                        "peer cannot be used on this node, skipped"
                    );
                } else {
                    tracing::warn!(
                        op = "syncPeers",
                        peer = p.peer.as_str(),
                        warning = entry.1.as_str(),
                        "peer setting ignored"
                    );
                }
            }
            now_reported.insert(entry);
        }
        self.reported = now_reported;
        let changes = peers::changes(&self.sessions, &desired);
        for (address, name, reason) in &changes.remove {
            tracing::info!(event = "peerRemoved", peer = %address, name = name.as_str(), reason = reason.as_str(), "peer deconfigured, closing BGP session");
        }
        for session in &changes.add {
            tracing::info!(event = "peerAdded", peer = %session.config.address, name = session.name.as_str(), "peer configured, starting BGP session");
        }
        let changed = !changes.is_empty();
        // Renamed peers keep their sessions; the map takes the new names.
        self.sessions = desired.sessions;
        plan.sessions = changes;
        changed
    }

    /// Decides every Service; returns the announced ones and records transitions.
    fn decide_services(
        &mut self,
        config: &Config,
        node: &NodeState,
        dirty: &Dirty,
        plan: &mut Plan,
    ) -> BTreeMap<String, Announcement> {
        let slices = self.caches.slices_by_service();
        let mut announced = BTreeMap::new();
        for svc in self.caches.services.state() {
            let key = service_key(&svc);
            let verbose = dirty.all || dirty.services.contains(&key);
            if verbose {
                tracing::debug!(
                    event = "startUpdate",
                    service = key.as_str(),
                    "start of service update"
                );
            }
            let own: Vec<_> = slices
                .get(&key)
                .map(|v| v.iter().map(|s| &**s).collect())
                .unwrap_or_default();
            match announce::decide(config, node, &svc, &own, &self.options) {
                Decision::Announce(a) => {
                    self.announce(&key, svc.metadata.uid.clone(), &a, plan);
                    self.announced.remove(&key);
                    announced.insert(key.clone(), a);
                }
                Decision::Withdraw(reason) => {
                    if verbose {
                        log_refusal(&key, &reason);
                    }
                    self.withdraw(&key, reason.as_str(), plan);
                }
            }
            if verbose {
                tracing::debug!(
                    event = "endUpdate",
                    service = key.as_str(),
                    "end of service update"
                );
            }
        }
        // Every Service still in the cache was announced again or withdrawn above: what is
        // left of the previous pass's announcements are Services that were deleted.
        let gone: Vec<String> = self.announced.keys().cloned().collect();
        for key in gone {
            self.withdraw(&key, "serviceDeleted", plan);
        }
        announced
    }

    fn announce(&mut self, key: &str, uid: Option<String>, a: &Announcement, plan: &mut Plan) {
        if let Some(old) = self.announced.get(key)
            && old.ips != a.ips
        {
            self.withdraw(key, "loadBalancerIPChanged", plan);
        }
        let routes_changed = match self.announced.get(key) {
            None => {
                tracing::info!(
                    event = "serviceAnnounced",
                    service = key,
                    ips = json(&a.ips).as_field(),
                    pool = a.pool.as_str(),
                    protocol = "bgp",
                    "service has IP, announcing"
                );
                plan.transitions.push(Transition::Announced {
                    key: key.to_owned(),
                    uid,
                    ips: a.ips.clone(),
                });
                true
            }
            Some(old) => old.routes != a.routes,
        };
        if routes_changed {
            tracing::info!(
                event = "updatedAdvertisements",
                service = key,
                ips = json(&a.ips).as_field(),
                pool = a.pool.as_str(),
                numAds = a.routes.len(),
                "making advertisements using BGP"
            );
        }
    }

    fn withdraw(&mut self, key: &str, reason: &str, plan: &mut Plan) {
        let Some(old) = self.announced.remove(key) else {
            return;
        };
        tracing::info!(
            event = "serviceWithdrawn",
            service = key,
            ip = json(&old.ips).as_field(),
            reason,
            "withdrawing service announcement"
        );
        plan.transitions.push(Transition::Withdrawn {
            key: key.to_owned(),
            ips: old.ips,
        });
    }

    /// Prefixes per session.
    fn pending(&self, routes: &[PeerRoute]) -> BTreeMap<(IpAddr, u16), usize> {
        self.sessions
            .iter()
            .map(|(address, s)| {
                let prefixes: BTreeSet<IpNet> = routes
                    .iter()
                    .filter(|r| r.peers.is_empty() || r.peers.contains(address))
                    .map(|r| r.prefix)
                    .collect();
                ((*address, s.config.port), prefixes.len())
            })
            .collect()
    }

    /// Which ServiceBGPStatus objects change. With `recheck` (the first pass, a re-list)
    /// every one is submitted again (the writer skips those already right), and objects of
    /// this node for Services no longer announced — left by an earlier run — are removed.
    fn statuses(
        &mut self,
        service_peers: BTreeMap<String, BTreeSet<String>>,
        recheck: bool,
        plan: &mut Plan,
    ) {
        let mut submitted = BTreeSet::new();
        for (key, old) in &self.service_peers {
            if !service_peers.contains_key(key) {
                plan.statuses.push((key.clone(), BTreeSet::new()));
                submitted.insert(key.clone());
            } else if recheck && service_peers.get(key) == Some(old) {
                plan.statuses.push((key.clone(), old.clone()));
                submitted.insert(key.clone());
            }
        }
        for (key, peers) in &service_peers {
            if self.service_peers.get(key) != Some(peers) {
                plan.statuses.push((key.clone(), peers.clone()));
                submitted.insert(key.clone());
            }
        }
        if recheck {
            for key in self.status_objects() {
                if !service_peers.contains_key(&key) && submitted.insert(key.clone()) {
                    plan.statuses.push((key, BTreeSet::new()));
                }
            }
        }
        self.service_peers = service_peers;
    }

    /// The Services that have a ServiceBGPStatus of this node, by key.
    fn status_objects(&self) -> BTreeSet<String> {
        self.caches
            .statuses
            .state()
            .iter()
            .filter_map(|o| {
                let labels = o.metadata.labels.as_ref()?;
                let namespace = labels.get(crate::status::LABEL_SERVICE_NAMESPACE)?;
                let name = labels.get(crate::status::LABEL_SERVICE_NAME)?;
                Some(format!("{namespace}/{name}"))
            })
            .collect()
    }
}

/// MetalLB's log line for a Service it cannot announce, where MetalLB logs one.
fn log_refusal(key: &str, reason: &announce::Reason) {
    use announce::Reason;
    match reason {
        Reason::InvalidIp(_) => {
            tracing::error!(op = "setBalancer", service = key, error = %reason, "invalid IP allocated by controller")
        }
        Reason::IpNotAllowed => tracing::error!(
            op = "setBalancer",
            service = key,
            error = "assigned IP not allowed by config",
            "IP allocated by controller not allowed by config"
        ),
        Reason::ConflictingAdvertisements(why) => tracing::error!(
            event = "conflictingAdvertisements",
            service = key,
            error = why.as_str(),
            "conflicting advertisements"
        ),
        Reason::NodeNetworkUnavailable => tracing::warn!(
            event = "skipping should announce bgp",
            service = key,
            reason = "speaker's node has NodeNetworkUnavailable condition",
            "not announcing"
        ),
        Reason::NodeLabeledExcludeBalancers => tracing::warn!(
            event = "skipping should announce bgp",
            service = key,
            reason = "speaker's node has labeled 'node.kubernetes.io/exclude-from-external-load-balancers'",
            "not announcing"
        ),
        other => tracing::debug!(
            event = "skipping should announce bgp",
            service = key,
            reason = other.as_str(),
            "not announcing"
        ),
    }
}

#[cfg(test)]
mod tests;
