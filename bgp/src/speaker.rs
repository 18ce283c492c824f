//! The public face of the crate: a [`Speaker`] runs BGP sessions with configured peers,
//! keeps the RIB, advertises locally originated routes, and reports what happens as a
//! stream of [`Event`]s. `speaker` (MetalLB) and `mini-router` are built on it.
//!
//! Inside, one core task owns the RIB and the peer table (see [`crate::engine`]); each peer
//! has a session task; listeners hand accepted connections to the core. The [`Speaker`]
//! handle only sends requests to the core, so it is cheap to clone and share.

use std::net::IpAddr;
use std::time::Instant;

use ipnet::IpNet;
use tokio::sync::{mpsc, oneshot};

use crate::config::{ListenRange, PeerConfig, SpeakerConfig};
use crate::fsm::{DownReason, SessionState};
use crate::origin::{Advertisement, OriginAttributes};
use crate::packet::Family;
use crate::rib::BestChange;
use crate::session::PeerStatus;

pub use crate::engine::{InstanceView, RoutePath, RouteView};

/// Errors of the speaker API.
#[derive(Debug, thiserror::Error)]
pub enum SpeakerError {
    /// A listening socket could not be opened.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address.
        address: std::net::SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// A peer with this address exists already.
    #[error("peer {0} is already configured")]
    PeerExists(IpAddr),
    /// No peer with this address.
    #[error("no peer {0} is configured")]
    NoSuchPeer(IpAddr),
    /// The MD5 password could not be installed.
    #[error(transparent)]
    Md5(#[from] crate::md5::Md5Error),
    /// A route's prefix and next hop are of different address families, or similar.
    #[error("invalid route {prefix}: {reason}")]
    InvalidRoute {
        /// The route.
        prefix: IpNet,
        /// What is wrong.
        reason: &'static str,
    },
    /// The BFD session of a peer could not be created.
    #[error(transparent)]
    Bfd(#[from] crate::bfd::BfdError),
    /// The core task has stopped (after [`Speaker::shutdown`] or a crash).
    #[error("the BGP speaker has stopped")]
    Stopped,
}

/// A route this speaker originates (FRR `network`), added to or replacing the prefix's
/// entry in the set [`Speaker::set_advertisements`] keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalRoute {
    /// The prefix.
    pub prefix: IpNet,
    /// What an originator sets (ORIGIN, MED, LOCAL_PREF, communities).
    pub attributes: OriginAttributes,
    /// Next hop to advertise; `None` = our address on each session ("self"). A third-party
    /// next hop is kept on eBGP too.
    pub next_hop: Option<IpAddr>,
    /// Only these peers get it; `None` = all peers (MetalLB advertisements select peers).
    pub peers: Option<Vec<IpAddr>>,
}

impl LocalRoute {
    /// A route for `prefix` with ORIGIN IGP and no other attributes, to every peer.
    pub fn new(prefix: IpNet) -> Self {
        LocalRoute {
            prefix,
            attributes: OriginAttributes::default(),
            next_hop: None,
            peers: None,
        }
    }
}

/// What a [`Speaker`] reports.
#[derive(Debug, Clone)]
pub enum Event {
    /// A session changed state.
    StateChanged {
        /// The peer.
        peer: IpAddr,
        /// Previous state.
        from: SessionState,
        /// New state.
        to: SessionState,
    },
    /// A session reached Established.
    PeerUp {
        /// The peer.
        peer: IpAddr,
        /// The peer's AS.
        peer_as: u32,
    },
    /// A session went down (or an OPEN exchange failed).
    PeerDown {
        /// The peer.
        peer: IpAddr,
        /// Why.
        reason: DownReason,
    },
    /// The BFD session bound to a peer changed state (a Down from Up has taken the BGP
    /// session down, an Up lets it start).
    BfdStateChanged {
        /// The peer.
        peer: IpAddr,
        /// Previous state.
        from: crate::bfd::State,
        /// New state.
        to: crate::bfd::State,
        /// Our diagnostic (why it went down).
        diagnostic: crate::bfd::Diagnostic,
    },
    /// A peer's UPDATE was applied.
    RoutesReceived {
        /// The peer.
        peer: IpAddr,
        /// Prefixes announced in it.
        announced: usize,
        /// Prefixes withdrawn in it.
        withdrawn: usize,
    },
    /// Best paths changed in the Loc-RIB (for the kernel FIB). For a consumer that does not
    /// keep up, changes are coalesced: a prefix that changed several times meanwhile comes
    /// once, with its selection at the time it is delivered.
    BestPathChanged(Vec<BestChange>),
    /// The consumer did not keep up and this many events and best-path changes were dropped
    /// to keep memory bounded (see [`SpeakerConfig::event_capacity`] and
    /// [`SpeakerConfig::max_pending_changes`]). Routes and sessions may have changed in
    /// ways not reported: re-read [`Speaker::selected`] (or [`Speaker::routes`]) and
    /// [`Speaker::peers`]. The events after this one are complete again.
    Lagged(u64),
}

/// A peer as queries see it.
#[derive(Debug, Clone)]
pub struct PeerSummary {
    /// Its configuration.
    pub config: PeerConfig,
    /// Created by a listen range rather than configured.
    pub dynamic: bool,
    /// Session status.
    pub status: PeerStatus,
    /// Prefixes accepted from the peer, per family.
    pub received: Vec<(Family, usize)>,
    /// Graceful restart: End-of-RIB markers and what is kept of a restarting peer.
    pub graceful_restart: GracefulRestartStatus,
    /// Its BFD session, when configured with BFD.
    pub bfd: Option<BfdPeerStatus>,
    /// When the snapshot was taken.
    pub at: Instant,
}

/// The graceful restart state of one peer (`show ip bgp neighbors`), besides what the
/// session negotiated ([`crate::Negotiated::graceful_restart`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GracefulRestartStatus {
    /// Families whose End-of-RIB we sent on the current session.
    pub end_of_rib_sent: Vec<Family>,
    /// Families whose End-of-RIB the peer sent on the current session.
    pub end_of_rib_received: Vec<Family>,
    /// Families with routes of the peer kept as stale.
    pub stale_families: Vec<Family>,
    /// While the peer is down and its routes are kept: when its restart time runs out.
    pub restart_deadline: Option<Instant>,
    /// While stale routes are kept: when the stale-path time runs out.
    pub stale_deadline: Option<Instant>,
    /// The restart time of the peer's last Graceful Restart capability, kept after its
    /// session ended (FRR's "Received Restart Time").
    pub peer_restart_time: Option<u16>,
    /// The last session ended as a graceful restart (its routes were kept).
    pub restarted: bool,
}

/// A peer's BFD session as BGP sees it (FRR's BFD lines of `show ip bgp neighbors`).
#[derive(Debug, Clone)]
pub struct BfdPeerStatus {
    /// Multihop (RFC 5883) rather than single hop.
    pub multihop: bool,
    /// The settings it runs with.
    pub profile: crate::bfd::Profile,
    /// The last state BFD reported; `None` before the first report.
    pub state: Option<crate::bfd::State>,
    /// When that was, monotonic and wall clock.
    pub since: Option<(Instant, std::time::SystemTime)>,
}

/// A request to the core task.
#[derive(Debug)]
pub(crate) enum Request {
    AddPeer(PeerConfig, oneshot::Sender<Result<(), SpeakerError>>),
    RemovePeer(IpAddr, oneshot::Sender<Result<(), SpeakerError>>),
    SetShutdown(IpAddr, bool, oneshot::Sender<Result<(), SpeakerError>>),
    SetBfd(
        IpAddr,
        Option<crate::bfd::Profile>,
        oneshot::Sender<Result<(), SpeakerError>>,
    ),
    Reset(Option<IpAddr>, oneshot::Sender<Result<(), SpeakerError>>),
    AddListenRange(ListenRange, oneshot::Sender<Result<(), SpeakerError>>),
    RemoveListenRange(IpNet, oneshot::Sender<Result<(), SpeakerError>>),
    Announce(LocalRoute, oneshot::Sender<Result<(), SpeakerError>>),
    Withdraw(IpNet, oneshot::Sender<Result<(), SpeakerError>>),
    SetAdvertisements(Vec<Advertisement>, oneshot::Sender<()>),
    SetMaxPaths {
        ebgp: u16,
        ibgp: u16,
    },
    Peers(oneshot::Sender<Vec<PeerSummary>>),
    Routes(Family, oneshot::Sender<Vec<RouteView>>),
    Route(IpNet, oneshot::Sender<Option<RouteView>>),
    Selected(Family, oneshot::Sender<Vec<BestChange>>),
    Instance(oneshot::Sender<InstanceView>),
    BfdSessions(oneshot::Sender<Vec<crate::bfd::SessionView>>),
    Shutdown(oneshot::Sender<()>),
}

/// A handle to a running BGP speaker. Cloning it gives another handle to the same speaker.
#[derive(Debug, Clone)]
pub struct Speaker {
    tx: mpsc::Sender<Request>,
}

impl Speaker {
    /// Starts a speaker: binds its listeners, spawns the core task, and returns the handle
    /// with the receiving end of its event stream. The speaker never waits for the events
    /// to be read: a consumer that falls behind gets coalesced changes or [`Event::Lagged`].
    pub async fn start(
        config: SpeakerConfig,
    ) -> Result<(Speaker, mpsc::Receiver<Event>), SpeakerError> {
        let (tx, rx) = mpsc::channel(256);
        let events = crate::engine::spawn(config, rx).await?;
        Ok((Speaker { tx }, events))
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Request,
    ) -> Result<T, SpeakerError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| SpeakerError::Stopped)?;
        answer.await.map_err(|_| SpeakerError::Stopped)
    }

    /// Configures a peer and starts its session (unless `shutdown` is set).
    pub async fn add_peer(&self, config: PeerConfig) -> Result<(), SpeakerError> {
        self.call(|r| Request::AddPeer(config, r)).await?
    }

    /// Removes a peer: its session ends with Cease/3 and its routes are withdrawn.
    pub async fn remove_peer(&self, address: IpAddr) -> Result<(), SpeakerError> {
        self.call(|r| Request::RemovePeer(address, r)).await?
    }

    /// `neighbor X shutdown` (true, Cease/2) or `no neighbor X shutdown` (false).
    pub async fn set_shutdown(&self, address: IpAddr, shutdown: bool) -> Result<(), SpeakerError> {
        self.call(|r| Request::SetShutdown(address, shutdown, r))
            .await?
    }

    /// `neighbor X bfd [profile NAME]` / `no neighbor X bfd` on a running peer, without
    /// resetting its BGP session: new timers take effect through a BFD Poll Sequence; BFD
    /// added to an Established session watches it from then on; BFD removed releases a
    /// session held by it.
    pub async fn set_bfd(
        &self,
        address: IpAddr,
        profile: Option<crate::bfd::Profile>,
    ) -> Result<(), SpeakerError> {
        self.call(|r| Request::SetBfd(address, profile, r)).await?
    }

    /// `clear ip bgp ADDR` (or every peer with `None`): resets the session (Cease/4).
    pub async fn reset(&self, address: Option<IpAddr>) -> Result<(), SpeakerError> {
        self.call(|r| Request::Reset(address, r)).await?
    }

    /// Accepts sessions from any address in a range (FRR `bgp listen range`).
    pub async fn add_listen_range(&self, range: ListenRange) -> Result<(), SpeakerError> {
        self.call(|r| Request::AddListenRange(range, r)).await?
    }

    /// Stops accepting new sessions from a range (existing ones stay).
    pub async fn remove_listen_range(&self, range: IpNet) -> Result<(), SpeakerError> {
        self.call(|r| Request::RemoveListenRange(range, r)).await?
    }

    /// Replaces the whole set of originated routes (MetalLB's `Session.Set`): the core diffs
    /// per peer and sends only the changes, many prefixes per UPDATE where the attributes are
    /// equal; no session is reset. Several advertisements of one prefix to one peer merge
    /// (communities united, the highest LOCAL_PREF; see [`OriginAttributes::merge`]), so an
    /// IP shared by two Services stays announced while either needs it. A peer that comes up
    /// later gets the set as it is then. Routes go with next hop self, LOCAL_PREF on iBGP
    /// sessions only, and an AS_PATH that is empty on iBGP and ours on eBGP.
    pub async fn set_advertisements(&self, ads: Vec<Advertisement>) -> Result<(), SpeakerError> {
        self.call(|r| Request::SetAdvertisements(ads, r)).await
    }

    /// Originates a route, replacing whatever the set held for its prefix (the set of
    /// [`Speaker::set_advertisements`], changed for one prefix).
    pub async fn announce(&self, route: LocalRoute) -> Result<(), SpeakerError> {
        self.call(|r| Request::Announce(route, r)).await?
    }

    /// Stops originating a prefix (removes it from the set).
    pub async fn withdraw(&self, prefix: IpNet) -> Result<(), SpeakerError> {
        self.call(|r| Request::Withdraw(prefix, r)).await?
    }

    /// `maximum-paths N` and `maximum-paths ibgp N`.
    pub async fn set_max_paths(&self, ebgp: u16, ibgp: u16) -> Result<(), SpeakerError> {
        self.tx
            .send(Request::SetMaxPaths { ebgp, ibgp })
            .await
            .map_err(|_| SpeakerError::Stopped)
    }

    /// Every peer with its session status.
    pub async fn peers(&self) -> Result<Vec<PeerSummary>, SpeakerError> {
        self.call(Request::Peers).await
    }

    /// The Loc-RIB of a family, sorted by prefix, every path of every prefix.
    pub async fn routes(&self, family: Family) -> Result<Vec<RouteView>, SpeakerError> {
        self.call(|r| Request::Routes(family, r)).await
    }

    /// The paths of one prefix (exact match).
    pub async fn route(&self, prefix: IpNet) -> Result<Option<RouteView>, SpeakerError> {
        self.call(|r| Request::Route(prefix, r)).await
    }

    /// The selected route of every prefix of a family, unsorted: what the
    /// [`Event::BestPathChanged`] events would have told a consumer that starts from
    /// nothing. A consumer re-reads it after [`Event::Lagged`].
    pub async fn selected(&self, family: Family) -> Result<Vec<BestChange>, SpeakerError> {
        self.call(|r| Request::Selected(family, r)).await
    }

    /// Router ID, AS, table version, RIB sizes and the event stream's counters.
    pub async fn instance(&self) -> Result<InstanceView, SpeakerError> {
        self.call(Request::Instance).await
    }

    /// Every BFD session of the peers (`show bfd peers`), sorted by peer; empty when no
    /// peer has BFD.
    pub async fn bfd_sessions(&self) -> Result<Vec<crate::bfd::SessionView>, SpeakerError> {
        self.call(Request::BfdSessions).await
    }

    /// Ends every session (Cease/2), withdraws everything and stops the core task.
    pub async fn shutdown(&self) -> Result<(), SpeakerError> {
        self.call(Request::Shutdown).await
    }
}
