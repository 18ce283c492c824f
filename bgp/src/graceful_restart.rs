//! BGP graceful restart (RFC 4724): what a session negotiates, and the helper's side — the
//! Receiving Speaker of §4.2, which keeps a restarting peer's routes — as a sans-I/O
//! machine.
//!
//! The machine owns no timer and no RIB. The engine tells it when the peer's session goes
//! down and comes up and when an End-of-RIB marker arrives, asks it at its deadlines
//! ([`Helper::next_deadline`], [`Helper::poll`]), and carries out the [`HelperAction`] it
//! returns on the RIB. So every rule below is a plain unit test with made-up instants.
//!
//! The rules (see `docs/decisions/` for the choices the RFC leaves open):
//! - Routes are kept only for the families the peer listed in its Graceful Restart
//!   capability that the session really negotiated, and only when we advertised the
//!   capability too; every other route of the peer goes at once.
//! - Only a session that ended without a NOTIFICATION (the TCP connection closed or failed)
//!   is a restart. A NOTIFICATION either way, including the one sent when the hold timer
//!   expires, ends the session for good (RFC 4724; we never advertise RFC 8538's N bit).
//! - Kept routes are marked stale. If the peer is not back within the restart time it
//!   announced, they go. If it is, each family whose capability in the new session lacks the
//!   family or its Forwarding State bit loses its stale routes at once; the others lose the
//!   routes still stale at the family's End-of-RIB, or at the latest when the stale-path
//!   time (counted from the session going down, as FRR does) runs out.
//! - Going down again while routes are still stale removes those (RFC 4724 §4.2:
//!   "consecutive restarts"); the routes of the session that just ended become the stale
//!   ones.

use std::time::{Duration, Instant};

use crate::fsm::DownReason;
use crate::packet::{Capability, Family, GracefulRestart, GracefulRestartFamily};

/// FRR's default restart time (`bgp graceful-restart restart-time`), which MetalLB's FRR
/// mode keeps: how long peers should keep our routes while we restart, in seconds.
pub const DEFAULT_RESTART_TIME: u16 = 120;
/// FRR's default stale-path time (`bgp graceful-restart stalepath-time`): the longest a
/// restarting peer's stale routes are kept, in seconds.
pub const DEFAULT_STALE_PATH_TIME: u16 = 360;

/// How a speaker takes part in graceful restart (FRR's "GR modes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GracefulRestartMode {
    /// Helps its peers restart, and cannot keep its own forwarding state: the capability
    /// lists no family (FRR's default).
    Helper,
    /// Restarts gracefully itself and helps: the capability lists every family of the
    /// session (FRR `bgp graceful-restart`, MetalLB `enableGracefulRestart`).
    Restart,
}

/// Graceful restart settings of a session; `None` in [`crate::PeerConfig`] means the
/// capability is not advertised at all (FRR `bgp graceful-restart-disable`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GracefulRestartConfig {
    /// Helper only, or restarting speaker too.
    pub mode: GracefulRestartMode,
    /// Restart Time we advertise, in seconds (at most [`crate::packet::MAX_RESTART_TIME`]).
    pub restart_time: u16,
    /// The longest a restarting peer's stale routes are kept, in seconds.
    pub stale_path_time: u16,
    /// Set the Forwarding State bit of our families: our forwarding went on while we
    /// restarted (FRR `bgp graceful-restart preserve-fw-state`).
    pub preserve_forwarding: bool,
}

impl GracefulRestartConfig {
    /// Helper mode with FRR's default times (FRR 8's default configuration).
    pub const HELPER: GracefulRestartConfig = GracefulRestartConfig {
        mode: GracefulRestartMode::Helper,
        restart_time: DEFAULT_RESTART_TIME,
        stale_path_time: DEFAULT_STALE_PATH_TIME,
        preserve_forwarding: false,
    };

    /// Restarting speaker with FRR's default times.
    pub const RESTART: GracefulRestartConfig = GracefulRestartConfig {
        mode: GracefulRestartMode::Restart,
        ..GracefulRestartConfig::HELPER
    };

    /// The stale-path time as a duration.
    pub fn stale_path(&self) -> Duration {
        Duration::from_secs(u64::from(self.stale_path_time))
    }

    /// The capability for an OPEN offering `families`, with the Restart State bit as given.
    pub fn capability(&self, families: &[Family], restart_state: bool) -> Capability {
        let families = match self.mode {
            GracefulRestartMode::Helper => Vec::new(),
            GracefulRestartMode::Restart => families
                .iter()
                .map(|f| GracefulRestartFamily {
                    afi_safi: f.afi_safi(),
                    forwarding_preserved: self.preserve_forwarding,
                })
                .collect(),
        };
        Capability::GracefulRestart(GracefulRestart {
            restart_state,
            notification: false,
            restart_time: self.restart_time,
            families,
        })
    }
}

/// Graceful restart as negotiated on one session: both sides advertised the capability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GracefulRestartSession {
    /// The peer's capability (the last one of its OPEN, RFC 4724 §3).
    pub peer: GracefulRestart,
    /// Our capability as sent.
    pub local: GracefulRestart,
    /// Families of the session the peer listed, with their Forwarding State bit: the routes
    /// a helper keeps when the peer restarts.
    pub peer_families: Vec<(Family, bool)>,
    /// Families of the session we listed: the routes the peer keeps when we restart.
    pub local_families: Vec<Family>,
}

impl GracefulRestartSession {
    /// Negotiates from both capabilities and the families the session carries; `None`
    /// unless both sides advertised graceful restart.
    pub fn negotiate(
        local: Option<&GracefulRestart>,
        peer: Option<&GracefulRestart>,
        session_families: &[Family],
    ) -> Option<Self> {
        let (local, peer) = (local?, peer?);
        let listed = |gr: &GracefulRestart, f: Family| gr.family(f.afi_safi()).copied();
        Some(GracefulRestartSession {
            peer_families: session_families
                .iter()
                .filter_map(|f| listed(peer, *f).map(|e| (*f, e.forwarding_preserved)))
                .collect(),
            local_families: session_families
                .iter()
                .copied()
                .filter(|f| listed(local, *f).is_some())
                .collect(),
            peer: peer.clone(),
            local: local.clone(),
        })
    }

    /// The peer's restart time.
    pub fn peer_restart_time(&self) -> Duration {
        Duration::from_secs(u64::from(self.peer.restart_time))
    }

    /// Whether the peer kept its forwarding state for `family` (listed with the F bit).
    pub fn peer_preserved(&self, family: Family) -> bool {
        self.peer_families.contains(&(family, true))
    }
}

/// The last Graceful Restart capability of a list (RFC 4724 §3: the others are ignored).
pub fn last_capability(capabilities: &[Capability]) -> Option<&GracefulRestart> {
    capabilities.iter().rev().find_map(|c| match c {
        Capability::GracefulRestart(gr) => Some(gr),
        _ => None,
    })
}

/// Whether a session that ended this way is a restart whose routes may be kept: it ended
/// without a NOTIFICATION (RFC 4724 §4.2; RFC 8538 is not negotiated).
pub fn is_restart(reason: &DownReason) -> bool {
    matches!(reason, DownReason::ConnectionClosed)
}

/// What the engine must do to the peer's routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelperAction {
    /// The session went down gracefully: remove the peer's routes that were stale already
    /// and those of the families not listed here, and mark the rest stale (keep its RIB
    /// entry).
    Retain(Vec<Family>),
    /// Remove the peer's stale routes of these families.
    Sweep(Vec<Family>),
    /// Remove every route of the peer and forget it in the RIB.
    Flush,
}

/// The helper's state for one peer, across its sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Helper {
    /// Families whose routes from the peer are (partly) stale.
    stale: Vec<Family>,
    /// While the peer is down: when its restart time runs out.
    restart_at: Option<Instant>,
    /// When the stale routes go at the latest.
    stale_until: Option<Instant>,
}

impl Helper {
    /// A helper with nothing kept.
    pub fn new() -> Self {
        Helper::default()
    }

    /// Whether routes of the peer are kept as stale.
    pub fn retaining(&self) -> bool {
        !self.stale.is_empty()
    }

    /// Families with stale routes.
    pub fn stale_families(&self) -> &[Family] {
        &self.stale
    }

    /// When the restart timer runs out (only while the peer is down).
    pub fn restart_deadline(&self) -> Option<Instant> {
        self.restart_at
    }

    /// When the stale-path timer runs out.
    pub fn stale_deadline(&self) -> Option<Instant> {
        self.stale_until
    }

    /// The earliest deadline, for the engine's timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        [self.restart_at, self.stale_until]
            .into_iter()
            .flatten()
            .min()
    }

    /// The peer's session ended at `now` (`session`: its negotiated graceful restart, if
    /// any). `stale_path` is our stale-path time.
    pub fn session_down(
        &mut self,
        reason: &DownReason,
        session: Option<&GracefulRestartSession>,
        stale_path: Duration,
        now: Instant,
    ) -> HelperAction {
        let families: Vec<Family> = session
            .map(|s| s.peer_families.iter().map(|(f, _)| *f).collect())
            .unwrap_or_default();
        let Some(session) = session.filter(|_| is_restart(reason) && !families.is_empty()) else {
            *self = Helper::default();
            return HelperAction::Flush;
        };
        self.stale = families.clone();
        self.restart_at = Some(now + session.peer_restart_time());
        self.stale_until = Some(now + stale_path);
        HelperAction::Retain(families)
    }

    /// A new session with the peer reached Established: its capability decides which stale
    /// families wait for their End-of-RIB and which lose their stale routes now.
    pub fn session_up(&mut self, session: Option<&GracefulRestartSession>) -> Option<HelperAction> {
        self.restart_at = None;
        let (kept, gone): (Vec<Family>, Vec<Family>) = self
            .stale
            .iter()
            .partition(|f| session.is_some_and(|s| s.peer_preserved(**f)));
        self.stale = kept;
        if self.stale.is_empty() {
            self.stale_until = None;
        }
        (!gone.is_empty()).then_some(HelperAction::Sweep(gone))
    }

    /// The peer's End-of-RIB marker of `family` arrived on an Established session.
    pub fn end_of_rib(&mut self, family: Family) -> Option<HelperAction> {
        let position = self.stale.iter().position(|f| *f == family)?;
        self.stale.remove(position);
        if self.stale.is_empty() {
            self.stale_until = None;
        }
        Some(HelperAction::Sweep(vec![family]))
    }

    /// Fires the timers due at `now`: the restart timer removes everything the peer left
    /// (it did not come back), the stale-path timer every route still stale.
    pub fn poll(&mut self, now: Instant) -> Option<HelperAction> {
        if self.restart_at.is_some_and(|at| at <= now) {
            *self = Helper::default();
            return Some(HelperAction::Flush);
        }
        if self.stale_until.is_some_and(|at| at <= now) {
            self.stale_until = None;
            let families = std::mem::take(&mut self.stale);
            return (!families.is_empty()).then_some(HelperAction::Sweep(families));
        }
        None
    }

    /// The peer is gone for good (deconfigured, the speaker stops): nothing is kept.
    pub fn forget(&mut self) {
        *self = Helper::default();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
