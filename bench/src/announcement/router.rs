//! The external router of the benchmark: a [`bgp::Speaker`] in the router's namespace with
//! one passive eBGP peer per node, keeping what the speakers announce (as a router does) and
//! re-advertising nothing. It counts, per peer, the prefixes it holds, the UPDATEs received,
//! whether the session is Established and how often it dropped.
//!
//! The speaker runs on a thread of its own that entered the router's namespace before
//! creating its runtime, so its listening socket and sessions are there; the handle and its
//! event stream work from the benchmark's runtime. Counting is driven by the events: after
//! each burst of them (or every [`POLL`] without any) the peers are read from the speaker
//! and published with the moment of reading, so the time a count is reached is known to
//! well under a millisecond and the count is the RIB's, not a sum of deltas.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bgp::{Event, Family, PeerConfig, RemoteAs, SessionState, Speaker, SpeakerConfig};
use ipnet::IpNet;
use tokio::sync::{mpsc, oneshot, watch};

use crate::k8s::{BenchError, Result};

/// How often the peers are read when no event comes.
const POLL: Duration = Duration::from_millis(50);
/// How long the router may take to shut down when the run ends.
const SHUTDOWN: Duration = Duration::from_secs(5);

/// What the router is and whom it expects.
#[derive(Debug, Clone)]
pub struct RouterConfig {
    /// Its namespace (`ip netns` name).
    pub netns: String,
    /// Its address, where it listens on port 179; also its router ID.
    pub address: Ipv4Addr,
    /// Its AS.
    pub asn: u32,
    /// The speakers' addresses.
    pub peers: Vec<IpAddr>,
    /// The speakers' AS.
    pub peer_asn: u32,
}

/// One peer as the router sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerCount {
    /// IPv4 unicast prefixes held from the peer.
    pub prefixes: usize,
    /// Whether the session is Established.
    pub established: bool,
    /// UPDATE messages received (all sessions).
    pub updates: u64,
    /// Times an Established session dropped.
    pub dropped: u32,
}

/// The counts of every peer at one moment.
#[derive(Debug, Clone)]
pub struct Counts {
    /// When they were read.
    pub at: Instant,
    /// Per peer address.
    pub peers: BTreeMap<IpAddr, PeerCount>,
}

impl Counts {
    /// The count of `peer` (zero when the router has not seen it).
    pub fn peer(&self, peer: IpAddr) -> PeerCount {
        self.peers.get(&peer).copied().unwrap_or_default()
    }
}

/// The running router.
pub struct CountingRouter {
    speaker: Speaker,
    counts: watch::Receiver<Counts>,
    counter: tokio::task::JoinHandle<()>,
    // Dropped after the counter is aborted (see `Drop`).
    _thread: RouterThread,
}

type Started = Result<(Speaker, mpsc::Receiver<Event>)>;

impl CountingRouter {
    /// Starts the router in its namespace, configures the peers and starts counting.
    pub async fn start(config: RouterConfig) -> Result<CountingRouter> {
        let (ready_tx, ready_rx) = oneshot::channel::<Started>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let speaker_config = SpeakerConfig {
            local_as: config.asn,
            router_id: config.address,
            listen: vec![SocketAddr::new(IpAddr::V4(config.address), bgp::BGP_PORT)],
            ..SpeakerConfig::default()
        };
        let netns = config.netns.clone();
        let thread = std::thread::Builder::new()
            .name("router".into())
            .spawn(move || serve(&netns, speaker_config, ready_tx, stop_rx))
            .map_err(|e| BenchError::WrongResult(format!("cannot start the router thread: {e}")))?;
        let thread = RouterThread {
            stop: Some(stop_tx),
            thread: Some(thread),
        };
        let (speaker, events) = ready_rx.await.unwrap_or_else(|_| {
            Err(BenchError::WrongResult(
                "the router thread ended before starting".into(),
            ))
        })?;
        let (tx, counts) = watch::channel(Counts {
            at: Instant::now(),
            peers: BTreeMap::new(),
        });
        let counter = tokio::spawn(count(speaker.clone(), events, tx));
        let router = CountingRouter {
            speaker,
            counts,
            counter,
            _thread: thread,
        };
        for &peer in &config.peers {
            let mut p = PeerConfig::new(peer, RemoteAs::Asn(config.peer_asn));
            p.passive = true;
            p.families = vec![Family::Ipv4Unicast];
            router.speaker.add_peer(p).await?;
        }
        Ok(router)
    }

    /// The latest counts.
    pub fn counts(&self) -> Counts {
        self.counts.borrow().clone()
    }

    /// A receiver of every new count (for waiting on a condition).
    pub fn subscribe(&self) -> watch::Receiver<Counts> {
        self.counts.clone()
    }

    /// The IPv4 prefixes the router holds, each with the peers it has a path from.
    pub async fn prefixes(&self) -> Result<BTreeMap<IpNet, Vec<IpAddr>>> {
        let routes = self.speaker.routes(Family::Ipv4Unicast).await?;
        Ok(routes
            .into_iter()
            .map(|r| {
                let mut from: Vec<IpAddr> = r
                    .paths
                    .iter()
                    .filter_map(|p| p.from.as_ref().map(|f| f.address))
                    .collect();
                from.sort();
                (r.prefix, from)
            })
            .collect())
    }
}

impl Drop for CountingRouter {
    fn drop(&mut self) {
        self.counter.abort();
    }
}

/// The router's thread: told to stop and joined when dropped (the speaker's shutdown is
/// bounded by [`SHUTDOWN`]).
struct RouterThread {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for RouterThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The router thread: enter the namespace, run the speaker until told to stop.
fn serve(
    netns: &str,
    config: SpeakerConfig,
    ready: oneshot::Sender<Started>,
    stop: oneshot::Receiver<()>,
) {
    if let Err(e) = lab::lan::enter(netns) {
        let _ = ready.send(Err(e.into()));
        return;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(BenchError::WrongResult(format!(
                "cannot start the router's runtime: {e}"
            ))));
            return;
        }
    };
    runtime.block_on(async move {
        let started = Speaker::start(config).await.map_err(BenchError::from);
        let speaker = started.as_ref().ok().map(|(s, _)| s.clone());
        let _ = ready.send(started);
        let _ = stop.await;
        if let Some(speaker) = speaker {
            let _ = tokio::time::timeout(SHUTDOWN, speaker.shutdown()).await;
        }
    });
}

/// Publishes the peers' counts after each burst of events, or every [`POLL`].
async fn count(speaker: Speaker, mut events: mpsc::Receiver<Event>, tx: watch::Sender<Counts>) {
    loop {
        // The stream ended: the speaker is gone. An event or the timeout: count again.
        if let Ok(None) = tokio::time::timeout(POLL, events.recv()).await {
            return;
        }
        // The events only say that something changed; the speaker says what it holds.
        while events.try_recv().is_ok() {}
        let Ok(peers) = speaker.peers().await else {
            return;
        };
        let at = Instant::now();
        let peers = peers
            .iter()
            .map(|p| {
                let prefixes = p
                    .received
                    .iter()
                    .filter(|(f, _)| *f == Family::Ipv4Unicast)
                    .map(|(_, n)| n)
                    .sum();
                let count = PeerCount {
                    prefixes,
                    established: p.status.state == SessionState::Established,
                    updates: p.status.received.updates,
                    dropped: p.status.dropped_count,
                };
                (p.config.address, count)
            })
            .collect();
        tx.send_replace(Counts { at, peers });
    }
}
