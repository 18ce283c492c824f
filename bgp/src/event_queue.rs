//! The engine's side of the event stream: hands [`Event`]s to the consumer without ever
//! waiting for it (see `docs/decisions/0008-slow-event-consumers.md`).
//!
//! The engine must not wait: it owns the RIB, answers every `Speaker` request and feeds
//! every session, so a consumer that stops reading would stop BGP. Instead, while the
//! channel is full:
//! - best-path changes are coalesced: only *which* prefixes changed is kept, and each is
//!   delivered later with its selection of that moment (the latest state per prefix);
//! - other events wait in order in a bounded queue (`RoutesReceived` of one peer merged);
//! - when a bound would be exceeded, everything waiting is dropped and counted, and the
//!   consumer gets [`Event::Lagged`] with that count, after which it re-reads the RIB.
//!
//! Memory is bounded by [`QueueLimits`]: changes held for the consumer (in the channel or
//! coalesced) never exceed `max_held_changes`, waiting events never exceed `max_queued`.

use std::collections::VecDeque;
use std::net::IpAddr;

use ipnet::IpNet;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::rib::{BestChange, Selected};
use crate::speaker::Event;

/// Best-path changes per [`Event::BestPathChanged`] built from coalesced prefixes.
const BATCH: usize = 1024;

/// How far back a `RoutesReceived` looks for one of the same peer to merge with.
const MERGE_SCAN: usize = 64;

/// The bounds of what waits for a consumer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueueLimits {
    /// Events (other than best-path changes) waiting behind a full channel.
    pub max_queued: usize,
    /// Best-path changes in the channel plus prefixes coalesced behind it.
    pub max_held_changes: usize,
}

/// What the event stream holds and has dropped, for `Speaker::instance` (and for tests that
/// check that a stalled consumer costs bounded memory).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventStats {
    /// Best-path changes held for the consumer: sent but not read yet, plus prefixes
    /// coalesced behind a full channel.
    pub held_changes: usize,
    /// The most `held_changes` ever was.
    pub peak_held_changes: usize,
    /// Of `held_changes`, the prefixes coalesced behind the channel.
    pub coalesced_prefixes: usize,
    /// Events (other than best-path changes) waiting behind a full channel.
    pub queued_events: usize,
    /// The most `queued_events` ever was.
    pub peak_queued_events: usize,
    /// Events and best-path changes dropped because the consumer lagged, in total.
    pub missed: u64,
    /// [`Event::Lagged`] events sent.
    pub lagged: u64,
}

/// The sending end of the event stream with what waits behind it.
pub(crate) struct EventQueue {
    tx: mpsc::Sender<Event>,
    limits: QueueLimits,
    /// Events waiting, oldest first.
    queued: VecDeque<Event>,
    /// Prefixes whose best path changed and is not delivered yet, oldest first...
    dirty: VecDeque<IpNet>,
    /// ...and the same as a set, so a prefix is queued once.
    dirty_set: hashbrown::HashSet<IpNet>,
    /// Dropped since the last [`Event::Lagged`]; while non-zero, nothing else is kept.
    missed: u64,
    /// Best-path changes of each event in the channel, oldest first (0 for other events):
    /// the channel is FIFO and has one sender, so its length tells which were read.
    in_channel: VecDeque<usize>,
    in_channel_changes: usize,
    /// The consumer is gone: nothing is kept any more.
    closed: bool,
    stats: EventStats,
}

impl EventQueue {
    /// A queue in front of `tx`.
    pub(crate) fn new(tx: mpsc::Sender<Event>, limits: QueueLimits) -> Self {
        EventQueue {
            tx,
            limits: QueueLimits {
                max_queued: limits.max_queued.max(1),
                max_held_changes: limits.max_held_changes.max(1),
            },
            queued: VecDeque::new(),
            dirty: VecDeque::new(),
            dirty_set: hashbrown::HashSet::new(),
            missed: 0,
            in_channel: VecDeque::new(),
            in_channel_changes: 0,
            closed: false,
            stats: EventStats::default(),
        }
    }

    /// Something waits for room in the channel.
    pub(crate) fn has_backlog(&self) -> bool {
        self.missed > 0 || !self.queued.is_empty() || !self.dirty.is_empty()
    }

    /// Resolves when the channel has room (or the consumer is gone); then [`Self::flush`].
    pub(crate) async fn writable(&self) {
        // The permit is given back at once: the engine is the only sender, so the room
        // stays until `flush` takes it.
        let _ = self.tx.reserve().await;
    }

    /// Reports an event other than best-path changes.
    pub(crate) fn notice(&mut self, event: Event) {
        if self.closed {
            return;
        }
        if !self.has_backlog() {
            match self.tx.try_send(event) {
                Ok(()) => {
                    self.sent(0);
                    return;
                }
                Err(TrySendError::Closed(_)) => {
                    self.close();
                    return;
                }
                Err(TrySendError::Full(event)) => return self.enqueue(event),
            }
        }
        self.enqueue(event);
    }

    /// Reports best-path changes (in the order they happened).
    pub(crate) fn changes(&mut self, changes: Vec<BestChange>) {
        if self.closed || changes.is_empty() {
            return;
        }
        if changes.len() <= BATCH {
            if let Err(changes) = self.try_send_changes(changes) {
                self.coalesce_all(&changes);
            }
            return;
        }
        let mut chunks = changes.chunks(BATCH);
        while let Some(chunk) = chunks.next() {
            if let Err(chunk) = self.try_send_changes(chunk.to_vec()) {
                self.coalesce_all(&chunk);
                chunks.for_each(|rest| self.coalesce_all(rest));
                return;
            }
        }
    }

    /// Hands over what waits while the channel has room: a pending [`Event::Lagged`] first,
    /// then the queued events, then the coalesced prefixes with their selection from
    /// `current` (the Loc-RIB now).
    pub(crate) fn flush(&mut self, current: impl Fn(IpNet) -> Option<Selected>) {
        while self.has_backlog() && !self.closed {
            self.sync_in_channel();
            if self.tx.is_closed() {
                return self.close();
            }
            // Full (or closed just now, which the next call sees).
            let Ok(permit) = self.tx.try_reserve() else {
                return;
            };
            let (event, changes) = if self.missed > 0 {
                self.stats.lagged += 1;
                (Event::Lagged(std::mem::take(&mut self.missed)), 0)
            } else if let Some(event) = self.queued.pop_front() {
                (event, 0)
            } else {
                let n = self.dirty.len().min(BATCH);
                let batch: Vec<BestChange> = self
                    .dirty
                    .drain(..n)
                    .map(|prefix| {
                        self.dirty_set.remove(&prefix);
                        BestChange {
                            prefix,
                            best: current(prefix),
                        }
                    })
                    .collect();
                (Event::BestPathChanged(batch), n)
            };
            permit.send(event);
            self.in_channel.push_back(changes);
            self.in_channel_changes += changes;
        }
    }

    /// Counters of the stream now.
    pub(crate) fn stats(&mut self) -> EventStats {
        self.sync_in_channel();
        EventStats {
            held_changes: self.held(),
            coalesced_prefixes: self.dirty.len(),
            queued_events: self.queued.len(),
            ..self.stats
        }
    }

    /// Sends one batch of changes straight away if nothing waits and the channel and the
    /// bound allow; gives it back otherwise.
    fn try_send_changes(&mut self, changes: Vec<BestChange>) -> Result<(), Vec<BestChange>> {
        if self.has_backlog() {
            return Err(changes);
        }
        self.sync_in_channel();
        if self.in_channel_changes + changes.len() > self.limits.max_held_changes {
            return Err(changes);
        }
        if self.tx.is_closed() {
            self.close();
            return Ok(());
        }
        let Ok(permit) = self.tx.try_reserve() else {
            return Err(changes);
        };
        let n = changes.len();
        permit.send(Event::BestPathChanged(changes));
        self.sent(n);
        Ok(())
    }

    fn coalesce_all(&mut self, changes: &[BestChange]) {
        for change in changes {
            self.coalesce(change.prefix);
        }
    }

    /// Remembers that `prefix` changed, to deliver its selection later.
    fn coalesce(&mut self, prefix: IpNet) {
        if self.closed {
            return;
        }
        if self.missed > 0 {
            return self.lose(1);
        }
        if !self.dirty_set.insert(prefix) {
            return;
        }
        self.dirty.push_back(prefix);
        if self.held() > self.limits.max_held_changes {
            self.overflow();
        } else {
            self.stats.peak_held_changes = self.stats.peak_held_changes.max(self.held());
        }
    }

    /// Queues an event behind the channel, merging route counts of one peer.
    fn enqueue(&mut self, event: Event) {
        if self.missed > 0 {
            return self.lose(1);
        }
        if let Event::RoutesReceived {
            peer,
            announced,
            withdrawn,
        } = event
        {
            if let Some((a, w)) = self.mergeable(peer) {
                *a += announced;
                *w += withdrawn;
                return;
            }
        }
        if self.queued.len() >= self.limits.max_queued {
            self.lose(1);
            return self.overflow();
        }
        self.queued.push_back(event);
        self.stats.peak_queued_events = self.stats.peak_queued_events.max(self.queued.len());
    }

    /// The counters of the latest queued `RoutesReceived` of `peer`, unless a change of its
    /// session comes after it (counts of two sessions are not added up).
    fn mergeable(&mut self, peer: IpAddr) -> Option<(&mut usize, &mut usize)> {
        for event in self.queued.iter_mut().rev().take(MERGE_SCAN) {
            match event {
                Event::RoutesReceived {
                    peer: p,
                    announced,
                    withdrawn,
                } if *p == peer => return Some((announced, withdrawn)),
                Event::StateChanged { peer: p, .. }
                | Event::PeerUp { peer: p, .. }
                | Event::PeerDown { peer: p, .. }
                    if *p == peer =>
                {
                    return None;
                }
                _ => {}
            }
        }
        None
    }

    /// A bound is reached: drop everything waiting and count it; the consumer gets
    /// [`Event::Lagged`] as soon as there is room, and until then nothing more is kept.
    fn overflow(&mut self) {
        let dropped = (self.queued.len() + self.dirty.len()) as u64;
        self.queued.clear();
        self.dirty.clear();
        self.dirty_set = hashbrown::HashSet::new();
        self.lose(dropped);
    }

    /// Counts events or changes dropped for the next [`Event::Lagged`].
    fn lose(&mut self, n: u64) {
        self.missed += n;
        self.stats.missed += n;
    }

    fn sent(&mut self, changes: usize) {
        self.in_channel.push_back(changes);
        self.in_channel_changes += changes;
        self.stats.peak_held_changes = self.stats.peak_held_changes.max(self.held());
    }

    /// Forgets the events the consumer has read.
    fn sync_in_channel(&mut self) {
        let unread = self.tx.max_capacity() - self.tx.capacity();
        while self.in_channel.len() > unread {
            if let Some(n) = self.in_channel.pop_front() {
                self.in_channel_changes -= n;
            }
        }
    }

    fn held(&self) -> usize {
        self.in_channel_changes + self.dirty.len()
    }

    fn close(&mut self) {
        self.closed = true;
        self.queued = VecDeque::new();
        self.dirty = VecDeque::new();
        self.dirty_set = hashbrown::HashSet::new();
        self.missed = 0;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use smallvec::smallvec;

    use super::*;
    use crate::packet::PathAttributes;
    use crate::rib::{PeerId, SharedAttributes};

    fn prefix(i: u32) -> IpNet {
        IpNet::new(IpAddr::V4((0x0a00_0000 + (i << 8)).into()), 24).unwrap()
    }

    fn via(next_hop: &str) -> Selected {
        let next_hop: IpAddr = next_hop.parse().unwrap();
        Selected {
            peer: PeerId::LOCAL,
            attrs: Arc::new(SharedAttributes::new(&PathAttributes::default(), next_hop)),
            next_hops: smallvec![next_hop],
        }
    }

    fn withdrawn(range: std::ops::Range<u32>) -> Vec<BestChange> {
        range
            .map(|i| BestChange {
                prefix: prefix(i),
                best: None,
            })
            .collect()
    }

    fn queue(capacity: usize, max_held_changes: usize) -> (EventQueue, mpsc::Receiver<Event>) {
        queue_with(capacity, capacity, max_held_changes)
    }

    fn queue_with(
        capacity: usize,
        max_queued: usize,
        max_held_changes: usize,
    ) -> (EventQueue, mpsc::Receiver<Event>) {
        let (tx, rx) = mpsc::channel(capacity);
        let limits = QueueLimits {
            max_queued,
            max_held_changes,
        };
        (EventQueue::new(tx, limits), rx)
    }

    fn up(peer: &str) -> Event {
        Event::PeerUp {
            peer: peer.parse().unwrap(),
            peer_as: 65001,
        }
    }

    fn received(peer: &str, announced: usize) -> Event {
        Event::RoutesReceived {
            peer: peer.parse().unwrap(),
            announced,
            withdrawn: 0,
        }
    }

    fn drain(rx: &mut mpsc::Receiver<Event>) -> Vec<Event> {
        let mut events = Vec::new();
        while let Ok(event) = rx.try_recv() {
            events.push(event);
        }
        events
    }

    /// The prefixes of every BestPathChanged in `events`, in order.
    fn changed(events: &[Event]) -> Vec<IpNet> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::BestPathChanged(changes) => Some(changes.iter().map(|c| c.prefix)),
                _ => None,
            })
            .flatten()
            .collect()
    }

    #[test]
    fn with_room_in_the_channel_events_go_straight_through_in_order() {
        let (mut q, mut rx) = queue(8, 100);
        q.notice(up("192.0.2.1"));
        q.changes(withdrawn(0..3));
        q.notice(received("192.0.2.1", 3));
        assert!(!q.has_backlog());
        let events = drain(&mut rx);
        assert_eq!(events.len(), 3);
        assert!(matches!(events[0], Event::PeerUp { .. }));
        assert_eq!(
            changed(&events),
            withdrawn(0..3).iter().map(|c| c.prefix).collect::<Vec<_>>()
        );
        assert!(matches!(
            events[2],
            Event::RoutesReceived { announced: 3, .. }
        ));
    }

    #[test]
    fn behind_a_full_channel_each_prefix_comes_once_with_its_selection_at_delivery() {
        let (mut q, mut rx) = queue(1, 100);
        q.notice(up("192.0.2.1"));
        // The channel is full: three rounds of changes of the same ten prefixes coalesce.
        for _ in 0..3 {
            q.changes(withdrawn(0..10));
        }
        let stats = q.stats();
        assert_eq!((stats.coalesced_prefixes, stats.held_changes), (10, 10));
        assert_eq!(drain(&mut rx).len(), 1);
        q.flush(|p| (p == prefix(4)).then(|| via("10.9.9.9")));
        let events = drain(&mut rx);
        assert_eq!(events.len(), 1);
        let Event::BestPathChanged(changes) = &events[0] else {
            panic!("{events:?}");
        };
        assert_eq!(changes.len(), 10);
        for change in changes {
            assert_eq!(
                change.best.is_some(),
                change.prefix == prefix(4),
                "{change:?}"
            );
        }
        assert!(!q.has_backlog());
        assert_eq!(q.stats().missed, 0);
    }

    #[test]
    fn queued_events_keep_their_order_and_route_counts_of_a_peer_are_added_up() {
        let (mut q, mut rx) = queue_with(1, 8, 100);
        q.notice(up("192.0.2.9"));
        q.notice(up("192.0.2.1"));
        q.notice(received("192.0.2.1", 5));
        q.notice(received("192.0.2.2", 1));
        q.notice(received("192.0.2.1", 7));
        q.notice(Event::PeerDown {
            peer: "192.0.2.1".parse().unwrap(),
            reason: crate::DownReason::HoldTimerExpired,
        });
        // After its session went down, a peer's counts are not added to the old session's.
        q.notice(received("192.0.2.1", 2));
        assert_eq!(q.stats().queued_events, 5);
        let mut events = drain(&mut rx);
        while q.has_backlog() {
            q.flush(|_| None);
            events.extend(drain(&mut rx));
        }
        let counts: Vec<(String, usize)> = events
            .iter()
            .filter_map(|e| match e {
                Event::RoutesReceived {
                    peer, announced, ..
                } => Some((peer.to_string(), *announced)),
                _ => None,
            })
            .collect();
        assert_eq!(
            counts,
            [
                ("192.0.2.1".to_owned(), 12),
                ("192.0.2.2".to_owned(), 1),
                ("192.0.2.1".to_owned(), 2)
            ]
        );
        assert!(matches!(events[5], Event::RoutesReceived { .. }));
        assert!(matches!(events[4], Event::PeerDown { .. }));
    }

    #[test]
    fn beyond_the_bound_everything_waiting_is_dropped_and_the_consumer_told_how_much() {
        let (mut q, mut rx) = queue(2, 50);
        q.changes(withdrawn(0..30));
        q.changes(withdrawn(30..40));
        // The channel holds 40 changes; 10 more fit behind it, the 11th is one too many.
        q.notice(up("192.0.2.1"));
        q.changes(withdrawn(40..51));
        let stats = q.stats();
        assert!(stats.peak_held_changes <= 50, "{stats:?}");
        assert_eq!((stats.held_changes, stats.queued_events), (40, 0));
        // Dropped: the queued PeerUp and the 11 prefixes; later ones are only counted.
        assert_eq!(stats.missed, 12);
        q.changes(withdrawn(51..53));
        q.notice(up("192.0.2.2"));
        assert_eq!(q.stats().missed, 15);
        assert_eq!(changed(&drain(&mut rx)).len(), 40);
        q.flush(|_| None);
        let events = drain(&mut rx);
        assert!(matches!(events[..], [Event::Lagged(15)]), "{events:?}");
        assert!(!q.has_backlog());
        // Complete again after the Lagged event.
        q.changes(withdrawn(60..61));
        assert_eq!(changed(&drain(&mut rx)), [prefix(60)]);
        assert_eq!(q.stats().lagged, 1);
    }

    #[test]
    fn too_many_queued_events_also_end_in_lagged() {
        let (mut q, mut rx) = queue(1, 100);
        for i in 0..4u8 {
            q.notice(up(&format!("192.0.2.{i}")));
        }
        let stats = q.stats();
        assert!(stats.peak_queued_events <= 1, "{stats:?}");
        // The second waited; the third found the queue full: both dropped, and the fourth.
        assert_eq!(stats.missed, 3);
        assert_eq!(drain(&mut rx).len(), 1);
        q.flush(|_| None);
        assert!(matches!(drain(&mut rx)[..], [Event::Lagged(3)]));
    }

    #[test]
    fn a_large_change_set_is_cut_into_batches_and_the_rest_coalesced() {
        let (mut q, mut rx) = queue(2, 10 * BATCH);
        q.changes(withdrawn(0..(3 * BATCH as u32 + 5)));
        let stats = q.stats();
        assert_eq!(stats.coalesced_prefixes, BATCH + 5);
        let mut events = drain(&mut rx);
        assert_eq!(events.len(), 2);
        while q.has_backlog() {
            q.flush(|_| None);
            events.extend(drain(&mut rx));
        }
        let mut prefixes = changed(&events);
        prefixes.sort();
        prefixes.dedup();
        assert_eq!(prefixes.len(), 3 * BATCH + 5);
        assert!(
            events
                .iter()
                .all(|e| matches!(e, Event::BestPathChanged(c) if c.len() <= BATCH))
        );
        assert_eq!(q.stats().held_changes, 0);
    }

    #[test]
    fn nothing_is_kept_for_a_consumer_that_is_gone() {
        let (mut q, rx) = queue(1, 100);
        drop(rx);
        q.notice(up("192.0.2.1"));
        q.changes(withdrawn(0..10));
        assert!(!q.has_backlog());
        assert_eq!(q.stats(), EventStats::default());
    }

    #[tokio::test]
    async fn the_queue_becomes_writable_when_the_consumer_reads() {
        let (mut q, mut rx) = queue(1, 100);
        q.notice(up("192.0.2.1"));
        q.notice(up("192.0.2.2"));
        assert!(q.has_backlog());
        assert!(rx.recv().await.is_some());
        q.writable().await;
        q.flush(|_| None);
        assert!(matches!(rx.recv().await, Some(Event::PeerUp { .. })));
        assert!(!q.has_backlog());
    }
}
