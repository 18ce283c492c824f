//! The speaker's Prometheus metrics with MetalLB's names, help texts and labels: per BGP
//! session (`internal/bgp/native/stats.go`, label `peer` = `address:port`) and per announced
//! Service address (`speaker/main.go`'s `metallb_speaker_announced`).
//!
//! prometheus-client writes OpenMetrics text, where a counter family is named without its
//! `_total` suffix in `# HELP`/`# TYPE` and the sample carries it; MetalLB's gauges whose
//! names end in `_total` keep their names as they are.

use std::collections::HashMap;
use std::net::IpAddr;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The `peer` label of the session metrics.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PeerLabel {
    /// `address:port`, as MetalLB writes it (an IPv6 address without brackets).
    pub peer: String,
}

impl PeerLabel {
    /// The label of the session with `address` on `port`.
    pub fn new(address: IpAddr, port: u16) -> Self {
        PeerLabel {
            peer: format!("{address}:{port}"),
        }
    }
}

/// The labels of the `metallb_bfd_*` series, as MetalLB's FRR exporter sets them
/// (`frr-tools/metrics/collector/bfd.go`): the peer's address and the VRF.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BfdLabels {
    /// The peer's address (no port, as bfdd's `peer`).
    pub peer: String,
    /// Always `default` here.
    pub vrf: String,
}

impl BfdLabels {
    /// The labels of the BFD session with `peer`.
    pub fn new(peer: IpAddr) -> Self {
        BfdLabels {
            peer: peer.to_string(),
            vrf: "default".to_owned(),
        }
    }
}

/// One BFD session's reading for the `metallb_bfd_*` series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BfdReading {
    /// The session is Up.
    pub up: bool,
    /// Control packets received.
    pub control_in: u64,
    /// Control packets sent.
    pub control_out: u64,
    /// Times it came up.
    pub up_events: u64,
    /// Times it went down from up.
    pub down_events: u64,
}

/// MetalLB's BFD series. Its exporter emits the counts as Prometheus counters whose names
/// have no `_total`; an OpenMetrics counter here would gain one, so they are gauges that
/// carry the counts under MetalLB's exact names.
#[derive(Default)]
struct BfdMetrics {
    session_up: Family<BfdLabels, Gauge>,
    control_packet_input: Family<BfdLabels, Gauge>,
    control_packet_output: Family<BfdLabels, Gauge>,
    echo_packet_input: Family<BfdLabels, Gauge>,
    echo_packet_output: Family<BfdLabels, Gauge>,
    session_up_events: Family<BfdLabels, Gauge>,
    session_down_events: Family<BfdLabels, Gauge>,
    zebra_notifications: Family<BfdLabels, Gauge>,
}

impl BfdMetrics {
    fn register(&self, registry: &mut Registry) {
        for (name, help, family) in [
            (
                "metallb_bfd_session_up",
                "BFD session state (1 is up, 0 is down)",
                &self.session_up,
            ),
            (
                "metallb_bfd_control_packet_input",
                "Number of received BFD control packets",
                &self.control_packet_input,
            ),
            (
                "metallb_bfd_control_packet_output",
                "Number of sent BFD control packets",
                &self.control_packet_output,
            ),
            (
                "metallb_bfd_echo_packet_input",
                "Number of received BFD echo packets",
                &self.echo_packet_input,
            ),
            (
                "metallb_bfd_echo_packet_output",
                "Number of sent BFD echo packets",
                &self.echo_packet_output,
            ),
            (
                "metallb_bfd_session_up_events",
                "Number of BFD session up events",
                &self.session_up_events,
            ),
            (
                "metallb_bfd_session_down_events",
                "Number of BFD session down events",
                &self.session_down_events,
            ),
            (
                "metallb_bfd_zebra_notifications",
                "Number of BFD zebra notifications",
                &self.zebra_notifications,
            ),
        ] {
            registry.register(name, help, family.clone());
        }
    }

    fn families(&self) -> [&Family<BfdLabels, Gauge>; 8] {
        [
            &self.session_up,
            &self.control_packet_input,
            &self.control_packet_output,
            &self.echo_packet_input,
            &self.echo_packet_output,
            &self.session_up_events,
            &self.session_down_events,
            &self.zebra_notifications,
        ]
    }
}

fn gauge_value(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The labels of `metallb_speaker_announced`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AnnouncedLabels {
    /// `namespace/name`.
    pub service: String,
    /// Always `bgp` here.
    pub protocol: String,
    /// This node.
    pub node: String,
    /// The announced address.
    pub ip: String,
}

/// MetalLB's speaker metrics.
#[derive(Default)]
pub struct SpeakerMetrics {
    session_up: Family<PeerLabel, Gauge>,
    updates: Family<PeerLabel, Counter>,
    announced_prefixes: Family<PeerLabel, Gauge>,
    pending_prefixes: Family<PeerLabel, Gauge>,
    announced: Family<AnnouncedLabels, Gauge>,
    /// The UPDATE count last read per session, to turn the core's totals into increments.
    updates_seen: HashMap<PeerLabel, u64>,
    bfd: BfdMetrics,
    /// The BFD sessions that have series.
    bfd_peers: std::collections::HashSet<BfdLabels>,
}

impl SpeakerMetrics {
    /// Registers the metrics (the registry should have no prefix: the names are complete).
    pub fn register(registry: &mut Registry) -> Self {
        let m = SpeakerMetrics::default();
        registry.register(
            "metallb_bgp_session_up",
            "BGP session state (1 is up, 0 is down)",
            m.session_up.clone(),
        );
        registry.register(
            "metallb_bgp_updates",
            "Number of BGP UPDATE messages sent",
            m.updates.clone(),
        );
        registry.register(
            "metallb_bgp_announced_prefixes_total",
            "Number of prefixes currently being advertised on the BGP session",
            m.announced_prefixes.clone(),
        );
        registry.register(
            "metallb_bgp_pending_prefixes_total",
            "Number of prefixes that should be advertised on the BGP session",
            m.pending_prefixes.clone(),
        );
        // prometheus-client adds the final period itself.
        registry.register(
            "metallb_speaker_announced",
            "Services being announced from this node. This is desired state, it does not guarantee that the routing protocols have converged",
            m.announced.clone(),
        );
        m.bfd.register(registry);
        m
    }

    /// The BFD sessions as the core reports them now: their series are set, and those of
    /// sessions that went away are removed (bfdd no longer lists them either).
    pub fn bfd_sessions(&mut self, readings: &[(IpAddr, BfdReading)]) {
        let now: std::collections::HashSet<BfdLabels> = readings
            .iter()
            .map(|(peer, _)| BfdLabels::new(*peer))
            .collect();
        for gone in self.bfd_peers.difference(&now) {
            for family in self.bfd.families() {
                family.remove(gone);
            }
        }
        for (peer, r) in readings {
            let labels = BfdLabels::new(*peer);
            let b = &self.bfd;
            b.session_up.get_or_create(&labels).set(i64::from(r.up));
            b.control_packet_input
                .get_or_create(&labels)
                .set(gauge_value(r.control_in));
            b.control_packet_output
                .get_or_create(&labels)
                .set(gauge_value(r.control_out));
            b.echo_packet_input.get_or_create(&labels).set(0);
            b.echo_packet_output.get_or_create(&labels).set(0);
            b.session_up_events
                .get_or_create(&labels)
                .set(gauge_value(r.up_events));
            b.session_down_events
                .get_or_create(&labels)
                .set(gauge_value(r.down_events));
            // bfdd notifies its clients of each change; this speaker's BGP hears each too.
            b.zebra_notifications
                .get_or_create(&labels)
                .set(gauge_value(r.up_events + r.down_events));
        }
        self.bfd_peers = now;
    }

    /// A session was configured: its series start at 0, as MetalLB's `NewSession`.
    pub fn session_added(&mut self, peer: &PeerLabel) {
        self.session_up.get_or_create(peer).set(0);
        self.announced_prefixes.get_or_create(peer).set(0);
        self.pending_prefixes.get_or_create(peer).set(0);
        self.updates.get_or_create(peer).inc_by(0);
        self.updates_seen.remove(peer);
    }

    /// A session was removed: its series go, as MetalLB's `DeleteSession`.
    pub fn session_removed(&mut self, peer: &PeerLabel) {
        self.session_up.remove(peer);
        self.announced_prefixes.remove(peer);
        self.pending_prefixes.remove(peer);
        self.updates.remove(peer);
        self.updates_seen.remove(peer);
    }

    /// The session's state and counters as the `bgp` core reports them: up or not, UPDATEs
    /// sent so far (the counter moves by the difference since the last reading) and prefixes
    /// advertised (0 while down, as MetalLB).
    pub fn session_state(&mut self, peer: &PeerLabel, up: bool, updates_sent: u64, prefixes: u64) {
        self.session_up.get_or_create(peer).set(i64::from(up));
        let seen = self.updates_seen.entry(peer.clone()).or_insert(0);
        // A count lower than the last reading means the core started counting afresh.
        let delta = updates_sent.checked_sub(*seen).unwrap_or(updates_sent);
        *seen = updates_sent;
        self.updates.get_or_create(peer).inc_by(delta);
        let prefixes = if up { prefixes } else { 0 };
        self.announced_prefixes
            .get_or_create(peer)
            .set(i64::try_from(prefixes).unwrap_or(i64::MAX));
    }

    /// The session came up or went down (0 prefixes while down, as MetalLB).
    pub fn set_up(&self, peer: &PeerLabel, up: bool) {
        self.session_up.get_or_create(peer).set(i64::from(up));
        if !up {
            self.announced_prefixes.get_or_create(peer).set(0);
        }
    }

    /// How many prefixes the session should carry (after a new set of advertisements).
    pub fn pending(&self, peer: &PeerLabel, prefixes: usize) {
        self.pending_prefixes
            .get_or_create(peer)
            .set(i64::try_from(prefixes).unwrap_or(i64::MAX));
    }

    /// A Service's address is announced from this node.
    pub fn announced(&self, service: &str, node: &str, ip: IpAddr) {
        self.announced
            .get_or_create(&announced_labels(service, node, ip))
            .set(1);
    }

    /// A Service's address is no longer announced from this node.
    pub fn withdrawn(&self, service: &str, node: &str, ip: IpAddr) {
        self.announced.remove(&announced_labels(service, node, ip));
    }
}

fn announced_labels(service: &str, node: &str, ip: IpAddr) -> AnnouncedLabels {
    AnnouncedLabels {
        service: service.to_owned(),
        protocol: "bgp".to_owned(),
        node: node.to_owned(),
        ip: ip.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposition(registry: &Registry) -> String {
        lb_daemon::http::exposition(registry)
            .unwrap_or_else(|e| panic!("encoding the registry: {e}"))
    }

    #[test]
    fn bfd_series_carry_metallbs_names_and_labels_and_go_with_their_session() {
        let mut registry = Registry::default();
        let mut m = SpeakerMetrics::register(&mut registry);
        let peer = "10.192.0.7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let reading = BfdReading {
            up: true,
            control_in: 40,
            control_out: 42,
            up_events: 1,
            down_events: 0,
        };
        m.bfd_sessions(&[(peer, reading)]);
        let text = exposition(&registry);
        for line in [
            "# HELP metallb_bfd_session_up BFD session state (1 is up, 0 is down).",
            r#"metallb_bfd_session_up{peer="10.192.0.7",vrf="default"} 1"#,
            r#"metallb_bfd_control_packet_input{peer="10.192.0.7",vrf="default"} 40"#,
            r#"metallb_bfd_control_packet_output{peer="10.192.0.7",vrf="default"} 42"#,
            r#"metallb_bfd_echo_packet_input{peer="10.192.0.7",vrf="default"} 0"#,
            r#"metallb_bfd_echo_packet_output{peer="10.192.0.7",vrf="default"} 0"#,
            r#"metallb_bfd_session_up_events{peer="10.192.0.7",vrf="default"} 1"#,
            r#"metallb_bfd_session_down_events{peer="10.192.0.7",vrf="default"} 0"#,
            r#"metallb_bfd_zebra_notifications{peer="10.192.0.7",vrf="default"} 1"#,
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in:\n{text}"
            );
        }
        m.bfd_sessions(&[]);
        let text = exposition(&registry);
        assert!(!text.contains("peer=\"10.192.0.7\",vrf"), "{text}");
    }

    #[test]
    fn series_carry_metallbs_names_and_labels_and_follow_the_session() {
        let mut registry = Registry::default();
        let mut m = SpeakerMetrics::register(&mut registry);
        let v4 = PeerLabel::new(
            "10.192.0.7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
            179,
        );
        let v6 = PeerLabel::new(
            "fd00::7".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
            1179,
        );
        assert_eq!(v6.peer, "fd00::7:1179", "MetalLB's %s:%d");
        m.session_added(&v4);
        m.session_state(&v4, true, 3, 2);
        m.session_state(&v4, true, 5, 2);
        m.pending(&v4, 2);
        m.announced(
            "default/nginx",
            "kube-node-1",
            "198.51.100.0".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
        );
        let text = exposition(&registry);
        for line in [
            "# HELP metallb_bgp_session_up BGP session state (1 is up, 0 is down).",
            r#"metallb_bgp_session_up{peer="10.192.0.7:179"} 1"#,
            "# TYPE metallb_bgp_updates counter",
            r#"metallb_bgp_updates_total{peer="10.192.0.7:179"} 5"#,
            r#"metallb_bgp_announced_prefixes_total{peer="10.192.0.7:179"} 2"#,
            r#"metallb_bgp_pending_prefixes_total{peer="10.192.0.7:179"} 2"#,
            "# HELP metallb_speaker_announced Services being announced from this node. This is desired state, it does not guarantee that the routing protocols have converged.",
            r#"metallb_speaker_announced{service="default/nginx",protocol="bgp",node="kube-node-1",ip="198.51.100.0"} 1"#,
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        m.session_state(&v4, false, 5, 2);
        let text = exposition(&registry);
        assert!(
            text.contains(r#"metallb_bgp_session_up{peer="10.192.0.7:179"} 0"#),
            "{text}"
        );
        assert!(
            text.contains(r#"metallb_bgp_announced_prefixes_total{peer="10.192.0.7:179"} 0"#),
            "{text}"
        );
        m.session_removed(&v4);
        m.withdrawn(
            "default/nginx",
            "kube-node-1",
            "198.51.100.0".parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
        );
        let text = exposition(&registry);
        assert!(!text.contains("10.192.0.7"), "{text}");
        assert!(!text.contains("default/nginx"), "{text}");
    }
}
