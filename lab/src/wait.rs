//! Waiting for a cluster to reach a state, for tests and the lab's own steps: poll a
//! condition until it holds, and fail with what was awaited when it does not in time.

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `f` every 100 ms until it yields a value; panics naming `what` after `timeout`.
///
/// Panicking is the point: tests call this, and the message says what never happened.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
