//! Writes to the apiserver for many objects at once, one at a time per object, the newest
//! decision last.
//!
//! Both daemons write per object (the controller a Service's status, the speaker a
//! ServiceBGPStatus): writes for different objects run concurrently (the apiserver, not the
//! daemon, is the bottleneck with thousands of them); a newer write for an object whose
//! previous one is still running waits for it and replaces any older one queued, so the last
//! decision always lands last.

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::Arc;

use tokio::task::JoinSet;

/// A boxed write, as a [`WriteQueue`]'s job returns it.
pub type BoxedWrite<R> = Pin<Box<dyn Future<Output = R> + Send>>;

/// Runs the job for each submitted write, at most `concurrency` at once and one per key.
pub struct WriteQueue<K, W, R> {
    job: Arc<dyn Fn(W) -> BoxedWrite<R> + Send + Sync>,
    concurrency: usize,
    running: JoinSet<(K, R)>,
    in_flight: HashSet<K>,
    queued: BTreeMap<K, W>,
}

impl<K, W, R> WriteQueue<K, W, R>
where
    K: Ord + Hash + Clone + Send + 'static,
    W: Send + 'static,
    R: Send + 'static,
{
    /// A queue running `job` for each write, `concurrency` at once.
    pub fn new(
        concurrency: usize,
        job: impl Fn(W) -> BoxedWrite<R> + Send + Sync + 'static,
    ) -> Self {
        WriteQueue {
            job: Arc::new(job),
            concurrency: concurrency.max(1),
            running: JoinSet::new(),
            in_flight: HashSet::new(),
            queued: BTreeMap::new(),
        }
    }

    /// Queues the write for `key` (replacing one queued before); it starts now unless `key`
    /// has one running or too many are.
    pub fn submit(&mut self, key: K, write: W) {
        self.queued.insert(key, write);
        self.start_queued();
    }

    /// Whether writes are running or queued.
    pub fn busy(&self) -> bool {
        !self.running.is_empty() || !self.queued.is_empty()
    }

    /// Waits for one running write to finish, starts queued ones and returns the finished
    /// write's key and result (`None` if its task panicked). Pending forever when nothing
    /// runs (use it in `select!` behind [`WriteQueue::busy`]).
    pub async fn progress(&mut self) -> Option<(K, R)> {
        let done = match self.running.join_next().await {
            Some(Ok((key, result))) => {
                self.in_flight.remove(&key);
                Some((key, result))
            }
            Some(Err(err)) => {
                tracing::error!(error = %err, "write task failed");
                None
            }
            None => std::future::pending().await,
        };
        self.start_queued();
        done
    }

    fn start_queued(&mut self) {
        let ready: Vec<K> = self
            .queued
            .keys()
            .filter(|k| !self.in_flight.contains(*k))
            .take(self.concurrency.saturating_sub(self.running.len()))
            .cloned()
            .collect();
        for key in ready {
            let Some(write) = self.queued.remove(&key) else {
                continue;
            };
            self.in_flight.insert(key.clone());
            let job = (self.job)(write);
            self.running.spawn(async move { (key, job.await) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    #[tokio::test]
    async fn one_write_per_key_at_a_time_and_the_newest_queued_one_wins() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let seen = log.clone();
        let mut queue = WriteQueue::new(4, move |(key, value, delay): (&'static str, u32, u64)| {
            let seen = seen.clone();
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(delay)).await;
                if let Ok(mut l) = seen.lock() {
                    l.push((key, value));
                }
                value
            }) as BoxedWrite<u32>
        });
        queue.submit("a", ("a", 1, 50));
        queue.submit("a", ("a", 2, 0));
        queue.submit("a", ("a", 3, 0));
        queue.submit("b", ("b", 1, 0));
        let mut results = Vec::new();
        while queue.busy() {
            if let Some(done) = queue.progress().await {
                results.push(done);
            }
        }
        let log = log.lock().map(|l| l.clone()).unwrap_or_default();
        assert_eq!(
            log,
            [("b", 1), ("a", 1), ("a", 3)],
            "2 was replaced by 3 while 1 ran"
        );
        assert_eq!(results.len(), 3);
    }
}
