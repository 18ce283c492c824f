//! The binding of BGP peers to BFD sessions (decision 0012): the core starts the BFD task
//! with the first peer that has BFD, creates one session per such peer, and on each BFD
//! state change tells the peer's session task to close (Cease/10) and hold, or to start.

use std::net::IpAddr;
use std::time::{Instant, SystemTime};

use tokio::sync::mpsc;
use tracing::{debug, info};

use super::Core;
use crate::bfd::{
    Bfd, BfdError, BfdEvent, Diagnostic, ServiceConfig, SessionKey, SessionSpec, State,
};
use crate::config::PeerConfig;
use crate::session::peer::ToPeer;
use crate::speaker::{BfdPeerStatus, Event, SpeakerError};

/// A peer's BFD session as the core tracks it.
#[derive(Debug, Clone)]
pub(super) struct BfdLink {
    pub(super) key: SessionKey,
    /// The last state BFD reported; `None` before its first report.
    pub(super) state: Option<State>,
    /// When it last changed.
    pub(super) since: Option<(Instant, SystemTime)>,
}

impl BfdLink {
    pub(super) fn status(&self, config: &PeerConfig) -> Option<BfdPeerStatus> {
        let profile = config.bfd.clone()?;
        Some(BfdPeerStatus {
            multihop: self.key.multihop,
            profile,
            state: self.state,
            since: self.since,
        })
    }
}

/// The BFD session a peer's configuration asks for, if any.
fn spec_of(config: &PeerConfig, service: &ServiceConfig) -> Option<SessionSpec> {
    let profile = config.bfd.clone()?;
    let multihop = config.ebgp_multihop.is_some();
    let key = SessionKey {
        peer: config.address,
        multihop,
    };
    Some(SessionSpec {
        remote_port: if multihop {
            service.peer_multihop_port
        } else {
            service.peer_single_hop_port
        },
        ..SessionSpec::new(key, config.local_address, profile)
    })
}

/// Waits for the next BFD event, forever when no BFD task runs.
pub(super) async fn next_event(events: &mut Option<mpsc::UnboundedReceiver<BfdEvent>>) -> BfdEvent {
    match events.as_mut() {
        Some(rx) => match rx.recv().await {
            Some(event) => event,
            None => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

impl Core {
    /// Creates the BFD session of a peer being added, starting the BFD task if needed.
    pub(super) async fn bind_bfd(
        &mut self,
        config: &PeerConfig,
    ) -> Result<Option<BfdLink>, SpeakerError> {
        let Some(spec) = spec_of(config, &self.config.bfd) else {
            return Ok(None);
        };
        let bfd = match &self.bfd {
            Some(bfd) => bfd.clone(),
            None => {
                let (bfd, events) = Bfd::start(self.config.bfd);
                self.bfd = Some(bfd.clone());
                self.bfd_events = Some(events);
                bfd
            }
        };
        let key = spec.key;
        match bfd.add(spec).await {
            Ok(()) => {}
            // A session left by a peer removed and added again in one breath.
            Err(BfdError::Exists(_)) => {}
            Err(err) => return Err(SpeakerError::Bfd(err)),
        }
        Ok(Some(BfdLink {
            key,
            state: None,
            since: None,
        }))
    }

    /// Removes a peer's BFD session (the peer hears AdminDown, not a failure).
    pub(super) async fn unbind_bfd(&mut self, link: Option<BfdLink>) {
        if let (Some(link), Some(bfd)) = (link, &self.bfd) {
            if let Err(err) = bfd.remove(link.key).await {
                debug!(peer = %link.key.peer, %err, "removing the BFD session");
            }
        }
    }

    /// Changes a running peer's BFD settings without touching its BGP session.
    pub(super) async fn set_bfd(
        &mut self,
        address: IpAddr,
        profile: Option<crate::bfd::Profile>,
    ) -> Result<(), SpeakerError> {
        let Some(entry) = self.peers.get(&address) else {
            return Err(SpeakerError::NoSuchPeer(address));
        };
        let mut config = entry.config.clone();
        config.bfd = profile;
        let old = entry.bfd.clone();
        let link = match (old, spec_of(&config, &self.config.bfd), &self.bfd) {
            (Some(link), Some(spec), Some(bfd)) if link.key == spec.key => {
                bfd.update(spec).await?;
                Some(link)
            }
            (old, _, _) => {
                self.unbind_bfd(old).await;
                self.bind_bfd(&config).await?
            }
        };
        let Some(entry) = self.peers.get_mut(&address) else {
            return Err(SpeakerError::NoSuchPeer(address));
        };
        if link.is_none() {
            // Nothing holds the session any more.
            let _ = entry.handle.tx.send(ToPeer::Bfd { up: true });
        }
        entry.config = config;
        entry.bfd = link;
        Ok(())
    }

    /// A BFD session changed state: BGP follows.
    pub(super) fn on_bfd_event(&mut self, event: BfdEvent) {
        let BfdEvent::StateChanged { key, transition } = event;
        let peer: IpAddr = key.peer;
        let Some(entry) = self.peers.get_mut(&peer) else {
            return;
        };
        let Some(link) = entry.bfd.as_mut().filter(|l| l.key == key) else {
            return;
        };
        link.state = Some(transition.to);
        link.since = Some((Instant::now(), SystemTime::now()));
        let command = match (transition.from, transition.to) {
            (_, State::Up) => Some(ToPeer::Bfd { up: true }),
            // RFC 5882 §3.2: a peer that says AdminDown has not failed.
            (State::Up, State::Down)
                if transition.remote_diagnostic != Diagnostic::AdministrativelyDown =>
            {
                info!(%peer, diagnostic = %transition.local_diagnostic, "BFD down: bringing the BGP session down");
                Some(ToPeer::Bfd { up: false })
            }
            _ => None,
        };
        if let Some(command) = command {
            let _ = entry.handle.tx.send(command);
        }
        self.emit(Event::BfdStateChanged {
            peer,
            from: transition.from,
            to: transition.to,
            diagnostic: transition.local_diagnostic,
        });
    }
}
