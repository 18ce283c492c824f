//! The kubelet's restart back-off for a container that keeps exiting (CrashLoopBackOff):
//! the first exit restarts at once, each later exit waits 10 s, 20 s, 40 s … up to 300 s,
//! counted from the exit; a container that stays up for 10 minutes starts over at no wait.
//! Pure: the caller passes the instants.

use std::time::{Duration, Instant};

/// The first wait.
pub const INITIAL: Duration = Duration::from_secs(10);

/// The longest wait.
pub const MAX: Duration = Duration::from_secs(300);

/// One container's back-off.
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    /// The wait the next exit gets, and when it was last set; `None` before any exit or
    /// after a quiet spell.
    current: Option<(Duration, Instant)>,
}

impl Backoff {
    /// How long to wait after an exit at `exited` before restarting.
    pub fn delay_after_exit(&mut self, exited: Instant) -> Duration {
        match self.current {
            Some((wait, set)) if exited.saturating_duration_since(set) < 2 * MAX => {
                let next = (wait * 2).min(MAX);
                self.current = Some((next, exited + wait));
                wait
            }
            _ => {
                self.current = Some((INITIAL, exited));
                Duration::ZERO
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_from_ten_seconds_up_to_five_minutes_after_an_immediate_first_restart() {
        let mut backoff = Backoff::default();
        let mut now = Instant::now();
        let mut waits = Vec::new();
        for _ in 0..9 {
            let wait = backoff.delay_after_exit(now);
            waits.push(wait.as_secs());
            // The container runs one second after each restart, then exits again.
            now += wait + Duration::from_secs(1);
        }
        assert_eq!(waits, [0, 10, 20, 40, 80, 160, 300, 300, 300]);
    }

    #[test]
    fn a_container_that_ran_ten_minutes_restarts_at_once_again() {
        let mut backoff = Backoff::default();
        let start = Instant::now();
        assert_eq!(backoff.delay_after_exit(start), Duration::ZERO);
        assert_eq!(
            backoff.delay_after_exit(start + Duration::from_secs(1)),
            INITIAL
        );
        let later = start + Duration::from_secs(1) + INITIAL + 2 * MAX;
        assert_eq!(backoff.delay_after_exit(later), Duration::ZERO);
        assert_eq!(
            backoff.delay_after_exit(later + Duration::from_secs(2)),
            INITIAL
        );
    }
}
