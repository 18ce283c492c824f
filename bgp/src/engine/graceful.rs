//! Graceful restart in the engine: the helper machine of each peer
//! ([`crate::graceful_restart::Helper`]) fed with session ends and starts, End-of-RIB markers
//! and its deadlines, and its actions carried out on the RIB. A restarting peer keeps its
//! RIB id while its routes are stale, so the paths stay where they are (selected, in the
//! kernel, advertised) and its next session takes them over.

use std::net::IpAddr;
use std::time::Instant;

use tracing::info;

use super::{Core, Session};
use crate::fsm::DownReason;
use crate::graceful_restart::HelperAction;
use crate::packet::{Family, Update};
use crate::rib::PeerId;
use crate::speaker::GracefulRestartStatus;

impl Core {
    /// The session of `peer` ended (`reason`: why; `None` when the peer is removed or the
    /// speaker stops): keep its routes as stale if it is restarting, else forget them.
    pub(super) fn end_session(
        &mut self,
        peer: IpAddr,
        session: Session,
        reason: Option<&DownReason>,
    ) {
        let now = Instant::now();
        let action = match (self.peers.get_mut(&peer), reason) {
            (Some(entry), Some(reason)) if entry.config.import => {
                let stale_path = entry
                    .config
                    .graceful_restart
                    .map(|gr| gr.stale_path())
                    .unwrap_or_default();
                entry.helper.session_down(
                    reason,
                    session.negotiated.graceful_restart.as_ref(),
                    stale_path,
                    now,
                )
            }
            (Some(entry), _) => {
                entry.helper.forget();
                HelperAction::Flush
            }
            (None, _) => HelperAction::Flush,
        };
        if let Some(entry) = self.peers.get_mut(&peer) {
            entry.restarted = matches!(action, HelperAction::Retain(_));
        }
        if let HelperAction::Retain(families) = &action {
            info!(%peer, ?families, restart_time = session.negotiated.graceful_restart.as_ref().map(|g| g.peer.restart_time), "peer restarting: keeping its routes as stale (graceful restart)");
        }
        self.carry_out(peer, session.rib_id, action);
        self.refresh_own_addresses();
        self.publish_changes();
    }

    /// A new session of `peer` reached Established: it takes over the RIB id of the
    /// routes kept from its last session, if any, and its capability decides which stale
    /// routes wait for its End-of-RIB.
    pub(super) fn resume_session(&mut self, peer: IpAddr) {
        let Some(entry) = self.peers.get_mut(&peer) else {
            return;
        };
        let Some(session) = entry.session.as_ref() else {
            return;
        };
        let rib_id = session.rib_id;
        let action = entry
            .helper
            .session_up(session.negotiated.graceful_restart.as_ref());
        if entry.helper.retaining() {
            info!(%peer, families = ?entry.helper.stale_families(), "restarted peer back: its stale routes wait for its End-of-RIB");
        }
        if let Some(action) = action {
            self.carry_out(peer, rib_id, action);
        }
    }

    /// Handles the End-of-RIB marker an UPDATE may be; returns whether it was one.
    pub(super) fn end_of_rib_from(&mut self, peer: IpAddr, update: &Update) -> bool {
        let Some(afi_safi) = update.end_of_rib() else {
            return false;
        };
        let Some(entry) = self.peers.get_mut(&peer) else {
            return true;
        };
        let Some(session) = entry.session.as_mut() else {
            return true;
        };
        let Some(family) = afi_safi
            .family()
            .filter(|f| session.negotiated.families.contains(f))
        else {
            return true;
        };
        if !session.end_of_rib_received.contains(&family) {
            session.end_of_rib_received.push(family);
        }
        let rib_id = session.rib_id;
        if let Some(action) = entry.helper.end_of_rib(family) {
            info!(%peer, %family, "End-of-RIB: removing the routes still stale");
            self.carry_out(peer, rib_id, action);
            self.publish_changes();
        }
        true
    }

    /// Fires the helpers' timers due at `now`.
    pub(super) fn poll_graceful_restart(&mut self, now: Instant) {
        let due: Vec<IpAddr> = self
            .peers
            .iter()
            .filter(|(_, e)| e.helper.next_deadline().is_some_and(|t| t <= now))
            .map(|(a, _)| *a)
            .collect();
        for peer in due {
            let Some(entry) = self.peers.get_mut(&peer) else {
                continue;
            };
            let Some(action) = entry.helper.poll(now) else {
                continue;
            };
            let rib_id = entry.session.as_ref().map(|s| s.rib_id).or(entry.retained);
            match &action {
                HelperAction::Flush => {
                    info!(%peer, "restart time over and the peer is not back: removing its stale routes")
                }
                _ => info!(%peer, "stale-path time over: removing the routes still stale"),
            }
            if let Some(rib_id) = rib_id {
                self.carry_out(peer, rib_id, action);
            }
            self.forget_if_dynamic(peer);
        }
        self.publish_changes();
        self.refresh_gr_deadline();
    }

    /// Applies a helper decision to the RIB routes of `peer` (RIB id `rib_id`).
    fn carry_out(&mut self, peer: IpAddr, rib_id: PeerId, action: HelperAction) {
        match action {
            HelperAction::Flush => {
                if let Err(err) = self.rib.remove_peer(rib_id, &mut self.changes) {
                    tracing::warn!(%err, "removing a peer from the RIB");
                }
                if let Some(entry) = self.peers.get_mut(&peer) {
                    if entry.retained == Some(rib_id) {
                        entry.retained = None;
                    }
                }
            }
            HelperAction::Retain(families) => {
                for family in Family::ALL {
                    // Routes stale from an earlier restart go (consecutive restarts).
                    self.rib.sweep_stale(rib_id, family, &mut self.changes);
                    if families.contains(&family) {
                        self.rib.mark_stale(rib_id, family);
                    } else {
                        self.rib.withdraw_family(rib_id, family, &mut self.changes);
                    }
                }
                if let Some(entry) = self.peers.get_mut(&peer) {
                    entry.retained = Some(rib_id);
                }
            }
            HelperAction::Sweep(families) => {
                for family in families {
                    self.rib.sweep_stale(rib_id, family, &mut self.changes);
                }
            }
        }
        self.refresh_gr_deadline();
    }

    /// A dynamic peer (listen range) whose session ended is forgotten, as FRR does, once
    /// nothing of it is kept and no connection of it is on its way.
    pub(super) fn forget_if_dynamic(&mut self, peer: IpAddr) {
        let forget = self.peers.get(&peer).is_some_and(|e| {
            e.dynamic && e.session.is_none() && !e.helper.retaining() && e.without_connection()
        });
        if forget {
            if let Some(entry) = self.peers.remove(&peer) {
                if let Some(rib_id) = entry.retained {
                    let _ = self.rib.remove_peer(rib_id, &mut self.changes);
                }
                entry.handle.task.abort();
                if let (Some(link), Some(bfd)) = (entry.bfd, &self.bfd) {
                    bfd.forget(link.key);
                }
            }
        }
    }

    /// Recomputes when the engine must next wake up for a helper timer.
    pub(super) fn refresh_gr_deadline(&mut self) {
        self.gr_deadline = self
            .peers
            .values()
            .filter_map(|e| e.helper.next_deadline())
            .min();
    }

    /// What `show ip bgp neighbors` shows of graceful restart for one peer.
    pub(super) fn graceful_restart_status(&self, peer: IpAddr) -> GracefulRestartStatus {
        let Some(entry) = self.peers.get(&peer) else {
            return GracefulRestartStatus::default();
        };
        let (sent, received) = entry.session.as_ref().map_or_else(Default::default, |s| {
            (s.end_of_rib_sent.clone(), s.end_of_rib_received.clone())
        });
        GracefulRestartStatus {
            end_of_rib_sent: sent,
            end_of_rib_received: received,
            stale_families: entry.helper.stale_families().to_vec(),
            restart_deadline: entry.helper.restart_deadline(),
            stale_deadline: entry.helper.stale_deadline(),
            peer_restart_time: entry.peer_restart_time,
            restarted: entry.restarted,
        }
    }
}
