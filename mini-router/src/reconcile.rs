//! From the running configuration to the BGP engine: what the configuration asks for
//! ([`Desired`], pure), and bringing a running [`bgp::Speaker`] there by applying only the
//! differences ([`Reconciler`]).
//!
//! Every configuration change goes through here, whether typed, loaded from `--config` or
//! sent with `-c`, so the engine never drifts from `show running-config`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bgp::{ListenRange, LocalRoute, PeerConfig, Speaker, SpeakerConfig};
use ipnet::IpNet;
use tokio::sync::mpsc;

use crate::cli::command::{Afi, RemoteAs};
use crate::config::{BfdConfig, DEFAULT_MAXIMUM_PATHS, NeighborConfig, RunningConfig};

/// FRR's default keepalive and hold timers (`timers bgp 60 180`).
const DEFAULT_TIMERS: (u16, u16) = (60, 180);
/// FRR's `connect` timer default.
const CONNECT_RETRY: Duration = Duration::from_secs(120);

/// What the configuration asks of the BGP engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// Our AS.
    pub asn: u32,
    /// Our router ID.
    pub router_id: Ipv4Addr,
    /// Configured neighbors with their effective settings (peer-group ones inherited).
    pub peers: BTreeMap<IpAddr, PeerConfig>,
    /// Listen ranges with the settings of their peer-group.
    pub ranges: Vec<ListenRange>,
    /// Locally originated prefixes (`network`).
    pub networks: BTreeSet<IpNet>,
    /// `maximum-paths` (eBGP) and `maximum-paths ibgp`.
    pub max_paths: (u16, u16),
}

/// The engine settings `cfg` asks for, or `None` without `router bgp`. `default_router_id`
/// is used when no `bgp router-id` is set (FRR takes the highest interface address).
pub fn desired(cfg: &RunningConfig, default_router_id: Ipv4Addr) -> Option<Desired> {
    let bgp = cfg.bgp.as_ref()?;
    let mut peers = BTreeMap::new();
    for (address, neighbor) in &bgp.neighbors {
        let group = neighbor
            .peer_group
            .as_ref()
            .and_then(|g| bgp.peer_groups.get(g))
            .map(|g| &g.conf);
        let effective = merge(group, neighbor);
        if let Some(mut peer) = peer_config(*address, &effective, cfg.bfd.as_ref()) {
            peer.graceful_restart = bgp.graceful_restart.engine();
            peers.insert(*address, peer);
        }
    }
    let mut ranges = Vec::new();
    for group in bgp.peer_groups.values() {
        let template = peer_config(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            &group.conf,
            cfg.bfd.as_ref(),
        );
        if let Some(mut template) = template {
            template.graceful_restart = bgp.graceful_restart.engine();
            for range in &group.listen_ranges {
                ranges.push(ListenRange {
                    range: *range,
                    template: template.clone(),
                });
            }
        }
    }
    let networks = [Afi::Ipv4, Afi::Ipv6]
        .iter()
        .flat_map(|afi| bgp.family(*afi).networks)
        .collect();
    let ipv4 = bgp.family(Afi::Ipv4);
    Some(Desired {
        asn: bgp.asn,
        router_id: bgp.router_id.unwrap_or(default_router_id),
        peers,
        ranges,
        networks,
        max_paths: (
            ipv4.maximum_paths.unwrap_or(DEFAULT_MAXIMUM_PATHS),
            ipv4.maximum_paths_ibgp.unwrap_or(DEFAULT_MAXIMUM_PATHS),
        ),
    })
}

/// A neighbor's settings with its peer-group's filled in where it has none of its own.
fn merge(group: Option<&NeighborConfig>, own: &NeighborConfig) -> NeighborConfig {
    let Some(group) = group else {
        return own.clone();
    };
    let mut families = group.families.clone();
    families.extend(own.families.iter().map(|(k, v)| (*k, *v)));
    NeighborConfig {
        remote_as: own.remote_as.or(group.remote_as),
        peer_group: own.peer_group.clone(),
        description: own
            .description
            .clone()
            .or_else(|| group.description.clone()),
        password: own.password.clone().or_else(|| group.password.clone()),
        timers: own.timers.or(group.timers),
        shutdown: own.shutdown || group.shutdown,
        passive: own.passive || group.passive,
        update_source: own
            .update_source
            .clone()
            .or_else(|| group.update_source.clone()),
        ebgp_multihop: own.ebgp_multihop.or(group.ebgp_multihop),
        bfd: own.bfd.clone().or_else(|| group.bfd.clone()),
        families,
    }
}

/// The BFD settings of a neighbor with `bfd [profile NAME]`: the profile's, FRR's defaults
/// where it sets nothing or does not exist (yet; FRR applies it when it is created).
fn bfd_profile(
    choice: &Option<Option<String>>,
    bfd: Option<&BfdConfig>,
) -> Option<bgp::bfd::Profile> {
    let name = choice.as_ref()?;
    let profile = name
        .as_ref()
        .and_then(|n| bfd?.profiles.get(n))
        .cloned()
        .unwrap_or_default();
    Some(bgp::bfd::Profile {
        name: name.clone(),
        timers: bgp::bfd::Timers::from_millis(
            profile.transmit_interval,
            profile.receive_interval,
            profile.detect_multiplier,
        ),
        passive: profile.passive,
        minimum_ttl: profile.minimum_ttl.unwrap_or(bgp::bfd::DEFAULT_MINIMUM_TTL),
        shutdown: profile.shutdown,
    })
}

/// The engine's settings for one neighbor (None while it has no remote AS).
fn peer_config(address: IpAddr, n: &NeighborConfig, bfd: Option<&BfdConfig>) -> Option<PeerConfig> {
    let remote_as = match n.remote_as? {
        RemoteAs::Asn(asn) => bgp::RemoteAs::Asn(asn),
        RemoteAs::Internal => bgp::RemoteAs::Internal,
        RemoteAs::External => bgp::RemoteAs::External,
    };
    let mut peer = PeerConfig::new(address, remote_as);
    let (keepalive, hold) = n.timers.unwrap_or(DEFAULT_TIMERS);
    peer.hold_time = hold;
    peer.keepalive = Some(keepalive);
    peer.connect_retry = CONNECT_RETRY;
    peer.passive = n.passive;
    peer.shutdown = n.shutdown;
    peer.password = n.password.clone();
    peer.description = n.description.clone();
    peer.local_address = n.update_source.as_deref().and_then(|s| s.parse().ok());
    peer.ebgp_multihop = n.ebgp_multihop.map(|ttl| ttl.unwrap_or(255));
    peer.bfd = bfd_profile(&n.bfd, bfd);
    peer.families = [
        (Afi::Ipv4, bgp::Family::Ipv4Unicast),
        (Afi::Ipv6, bgp::Family::Ipv6Unicast),
    ]
    .into_iter()
    .filter(|(afi, _)| n.family(*afi).active)
    .map(|(_, family)| family)
    .collect();
    peer.max_prefix = [Afi::Ipv4, Afi::Ipv6]
        .iter()
        .filter_map(|afi| n.family(*afi).maximum_prefix)
        .min();
    Some(peer)
}

/// Errors bringing the engine to the configured state.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The engine refused a change.
    #[error(transparent)]
    Speaker(#[from] bgp::SpeakerError),
}

/// Keeps a [`Speaker`] in the state the configuration asks for.
pub struct Reconciler {
    listen: Vec<SocketAddr>,
    local_addresses: Vec<IpAddr>,
    running: Option<(Speaker, Desired)>,
    /// The event stream of a speaker started since the last [`Reconciler::take_events`].
    started: Option<mpsc::Receiver<bgp::Event>>,
}

impl Reconciler {
    /// A reconciler whose speakers listen on `listen` and know `local_addresses` (the
    /// interfaces') as this router's own: a received route with one of them as next hop is
    /// ignored, as FRR does.
    pub fn new(listen: Vec<SocketAddr>, local_addresses: Vec<IpAddr>) -> Self {
        Reconciler {
            listen,
            local_addresses,
            running: None,
            started: None,
        }
    }

    /// The event stream of the speaker started by the last [`Reconciler::apply`] that
    /// started one (a new `router bgp`, AS or router ID), once. The consumer reads it
    /// directly, so the speaker's bounds on what waits for it hold (no copy in between);
    /// what the previous speaker's stream still held is lost with it, so the consumer
    /// brings its state to the new speaker's RIB.
    pub fn take_events(&mut self) -> Option<mpsc::Receiver<bgp::Event>> {
        self.started.take()
    }

    /// The running speaker, if `router bgp` is configured.
    pub fn speaker(&self) -> Option<&Speaker> {
        self.running.as_ref().map(|(s, _)| s)
    }

    /// Applies the differences between what runs and `want`.
    pub async fn apply(&mut self, want: Option<Desired>) -> Result<(), ReconcileError> {
        // A new AS or router ID means a new BGP instance, as in FRR.
        let restart = match (&self.running, &want) {
            (Some((_, have)), Some(want)) => {
                have.asn != want.asn || have.router_id != want.router_id
            }
            (Some(_), None) => true,
            _ => false,
        };
        if restart {
            if let Some((speaker, _)) = self.running.take() {
                speaker.shutdown().await?;
            }
        }
        let Some(want) = want else {
            return Ok(());
        };
        let (speaker, have) = match self.running.take() {
            Some(running) => running,
            None => {
                let speaker = self.start(&want).await?;
                let empty = Desired {
                    peers: BTreeMap::new(),
                    ranges: Vec::new(),
                    networks: BTreeSet::new(),
                    ..want.clone()
                };
                (speaker, empty)
            }
        };
        let result = sync(&speaker, &have, &want).await;
        self.running = Some((speaker, want));
        result
    }

    async fn start(&mut self, want: &Desired) -> Result<Speaker, ReconcileError> {
        let config = SpeakerConfig {
            local_as: want.asn,
            router_id: want.router_id,
            listen: self.listen.clone(),
            readvertise: true,
            max_paths_ebgp: want.max_paths.0,
            max_paths_ibgp: want.max_paths.1,
            local_addresses: self.local_addresses.clone(),
            ..SpeakerConfig::default()
        };
        let (speaker, events) = Speaker::start(config).await?;
        self.started = Some(events);
        Ok(speaker)
    }

    /// Stops the speaker (Cease/2 to every peer).
    pub async fn shutdown(&mut self) -> Result<(), ReconcileError> {
        if let Some((speaker, _)) = self.running.take() {
            speaker.shutdown().await?;
        }
        Ok(())
    }
}

/// Brings `speaker` from `have` to `want` (same AS and router ID).
async fn sync(speaker: &Speaker, have: &Desired, want: &Desired) -> Result<(), ReconcileError> {
    if have.max_paths != want.max_paths {
        speaker
            .set_max_paths(want.max_paths.0, want.max_paths.1)
            .await?;
    }
    // Networks before peers: the engine handles requests in order, so a session that comes
    // up gets every network at once, then its End-of-RIB (which a graceful-restart helper
    // takes as the end of our table).
    for prefix in have.networks.difference(&want.networks) {
        speaker.withdraw(*prefix).await?;
    }
    for prefix in want.networks.difference(&have.networks) {
        speaker.announce(network_route(*prefix)).await?;
    }
    for (address, old) in &have.peers {
        match want.peers.get(address) {
            None => speaker.remove_peer(*address).await?,
            Some(new) if only_shutdown_differs(old, new) => {
                speaker.set_shutdown(*address, new.shutdown).await?
            }
            // BFD settings change without a BGP reset (FRR does not reset either).
            Some(new) if old.only_bfd_differs(new) => {
                speaker.set_bfd(*address, new.bfd.clone()).await?
            }
            Some(new) if new != old => {
                speaker.remove_peer(*address).await?;
                speaker.add_peer(new.clone()).await?;
            }
            Some(_) => {}
        }
    }
    for (address, new) in &want.peers {
        if !have.peers.contains_key(address) {
            speaker.add_peer(new.clone()).await?;
        }
    }
    for range in &have.ranges {
        if !want.ranges.contains(range) {
            speaker.remove_listen_range(range.range).await?;
        }
    }
    for range in &want.ranges {
        if !have.ranges.contains(range) {
            speaker.add_listen_range(range.clone()).await?;
        }
    }
    Ok(())
}

/// The route of a `network` statement: ORIGIN IGP and, as FRR sets from the connected
/// route's metric, MED 0.
fn network_route(prefix: IpNet) -> LocalRoute {
    let mut route = LocalRoute::new(prefix);
    route.attributes.med = Some(0);
    route
}

fn only_shutdown_differs(old: &PeerConfig, new: &PeerConfig) -> bool {
    old.shutdown != new.shutdown
        && PeerConfig {
            shutdown: new.shutdown,
            ..old.clone()
        } == *new
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::load::from_text;

    fn want(text: &str) -> Desired {
        let (cfg, errors) = from_text(text);
        assert!(errors.is_empty(), "{errors:?}");
        desired(&cfg, Ipv4Addr::new(10, 192, 0, 7)).unwrap()
    }

    #[test]
    fn the_seed_configuration_gives_two_ibgp_peers_with_frr_timers() {
        let d = want(
            "router bgp 64512\n neighbor 10.192.0.3 remote-as 64512\n neighbor 10.192.0.4 remote-as 64512\n",
        );
        assert_eq!(d.asn, 64512);
        assert_eq!(d.router_id, Ipv4Addr::new(10, 192, 0, 7));
        assert_eq!(d.peers.len(), 2);
        let p = &d.peers[&"10.192.0.3".parse::<IpAddr>().unwrap()];
        assert_eq!(p.remote_as, bgp::RemoteAs::Asn(64512));
        assert_eq!((p.keepalive, p.hold_time), (Some(60), 180));
        assert_eq!(p.families, vec![bgp::Family::Ipv4Unicast]);
        assert_eq!(d.max_paths, (256, 256));
    }

    #[test]
    fn members_inherit_the_peer_group_and_listen_ranges_use_it_as_template() {
        let d = want(
            "router bgp 64512\n neighbor NODES peer-group\n neighbor NODES remote-as internal\n neighbor NODES password s3cret\n bgp listen range 10.192.0.0/24 peer-group NODES\n neighbor 10.0.0.9 peer-group NODES\n",
        );
        let member = &d.peers[&"10.0.0.9".parse::<IpAddr>().unwrap()];
        assert_eq!(member.remote_as, bgp::RemoteAs::Internal);
        assert_eq!(member.password.as_deref(), Some("s3cret"));
        assert_eq!(d.ranges.len(), 1);
        assert_eq!(d.ranges[0].range, "10.192.0.0/24".parse::<IpNet>().unwrap());
        assert_eq!(d.ranges[0].template.remote_as, bgp::RemoteAs::Internal);
    }

    #[test]
    fn address_family_settings_reach_the_engine() {
        let d = want(
            "router bgp 65000\n neighbor 2001:db8::1 remote-as 65001\n address-family ipv6 unicast\n  network 2001:db8:5::/48\n  neighbor 2001:db8::1 activate\n  neighbor 2001:db8::1 maximum-prefix 100\n exit-address-family\n address-family ipv4 unicast\n  maximum-paths ibgp 2\n exit-address-family\n",
        );
        let p = &d.peers[&"2001:db8::1".parse::<IpAddr>().unwrap()];
        assert!(p.families.contains(&bgp::Family::Ipv6Unicast));
        assert_eq!(p.max_prefix, Some(100));
        assert!(
            d.networks
                .contains(&"2001:db8:5::/48".parse::<IpNet>().unwrap())
        );
        assert_eq!(d.max_paths, (256, 2));
    }

    #[test]
    fn graceful_restart_reaches_every_peer_and_listen_range() {
        let helper = want(
            "router bgp 64512\n neighbor 10.192.0.3 remote-as 64512\n neighbor NODES peer-group\n neighbor NODES remote-as internal\n bgp listen range 10.192.0.0/24 peer-group NODES\n",
        );
        let peer = &helper.peers[&"10.192.0.3".parse::<IpAddr>().unwrap()];
        // FRR's default: helper mode, 120 s, 360 s.
        assert_eq!(
            peer.graceful_restart,
            Some(bgp::GracefulRestartConfig::HELPER)
        );
        assert_eq!(
            helper.ranges[0].template.graceful_restart,
            Some(bgp::GracefulRestartConfig::HELPER)
        );
        let restart = want(
            "router bgp 64512\n bgp graceful-restart\n bgp graceful-restart restart-time 90\n bgp graceful-restart stalepath-time 30\n bgp graceful-restart preserve-fw-state\n neighbor 10.192.0.3 remote-as 64512\n",
        );
        let peer = &restart.peers[&"10.192.0.3".parse::<IpAddr>().unwrap()];
        assert_eq!(
            peer.graceful_restart,
            Some(bgp::GracefulRestartConfig {
                mode: bgp::GracefulRestartMode::Restart,
                restart_time: 90,
                stale_path_time: 30,
                preserve_forwarding: true,
            })
        );
        let disabled = want(
            "router bgp 64512\n bgp graceful-restart-disable\n neighbor 10.192.0.3 remote-as 64512\n",
        );
        let peer = &disabled.peers[&"10.192.0.3".parse::<IpAddr>().unwrap()];
        assert_eq!(peer.graceful_restart, None);
    }

    #[test]
    fn neighbors_with_bfd_get_their_profile_or_the_defaults() {
        let d = want(
            "bfd\n profile fast\n  transmit-interval 100\n  receive-interval 150\n  detect-multiplier 5\n  passive-mode\n  minimum-ttl 250\n exit\n!\nrouter bgp 64512\n neighbor 10.0.0.1 remote-as 64512\n neighbor 10.0.0.1 bfd profile fast\n neighbor 10.0.0.2 remote-as 64512\n neighbor 10.0.0.2 bfd\n neighbor 10.0.0.3 remote-as 64512\n neighbor 10.0.0.4 remote-as 64512\n neighbor 10.0.0.4 bfd profile later\n",
        );
        let peer = |a: &str| d.peers[&a.parse::<IpAddr>().unwrap()].bfd.clone();
        let fast = peer("10.0.0.1").unwrap();
        assert_eq!(fast.name.as_deref(), Some("fast"));
        assert_eq!(fast.timers.desired_min_tx, Duration::from_millis(100));
        assert_eq!(fast.timers.required_min_rx, Duration::from_millis(150));
        assert_eq!(fast.timers.detect_mult, 5);
        assert!(fast.passive);
        assert_eq!(fast.minimum_ttl, 250);
        assert_eq!(peer("10.0.0.2"), Some(bgp::bfd::Profile::default()));
        assert_eq!(peer("10.0.0.3"), None);
        let later = peer("10.0.0.4").unwrap();
        assert_eq!(later.name.as_deref(), Some("later"));
        assert_eq!(later.timers, bgp::bfd::Timers::DEFAULT);
    }

    #[test]
    fn a_bfd_change_is_not_a_reconfiguration() {
        let a = PeerConfig::new("10.0.0.1".parse().unwrap(), bgp::RemoteAs::Internal);
        let b = PeerConfig {
            bfd: Some(bgp::bfd::Profile::default()),
            ..a.clone()
        };
        assert!(a.only_bfd_differs(&b));
        assert!(!a.only_bfd_differs(&PeerConfig { hold_time: 9, ..b }));
    }

    #[test]
    fn a_shutdown_toggle_is_not_a_reconfiguration() {
        let a = PeerConfig::new("10.0.0.1".parse().unwrap(), bgp::RemoteAs::Internal);
        let b = PeerConfig {
            shutdown: true,
            ..a.clone()
        };
        let c = PeerConfig {
            hold_time: 9,
            ..b.clone()
        };
        assert!(only_shutdown_differs(&a, &b));
        assert!(!only_shutdown_differs(&a, &c));
    }
}
