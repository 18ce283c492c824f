//! RFC 4271 DampPeerOscillations (§8.1.1): how long a session waits in Idle before it starts
//! again by itself (AutomaticStart) after it went down.
//!
//! A peer that goes down once — a speaker pod restarting, a daemon restarted, a session
//! cleared — is taken back within [`IdleHold::initial`] (1 s, FRR's start timer). A peer that
//! keeps failing is held back longer: each failure of a series doubles the IdleHoldTime up to
//! [`IdleHold::max`]. A series ends when the peer has been quiet for [`IdleHold::stable`]: five
//! minutes, longer than FRR's default hold time (180 s) so that a session that dies of hold
//! timer expiry again and again never looks stable, and short enough that a peer fixed by an
//! operator is back at full speed before anyone waits for it. Pure logic, no clock: callers
//! pass the time.

use std::time::{Duration, Instant};

/// The IdleHoldTime policy of one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdleHold {
    /// IdleHoldTime after the first failure of a series.
    pub initial: Duration,
    /// The longest IdleHoldTime: doubling stops here.
    pub max: Duration,
    /// A failure this long (or longer) after the previous one starts a new series.
    pub stable: Duration,
}

impl IdleHold {
    /// 1 s doubling up to 60 s; a series ends after 5 quiet minutes.
    pub const DEFAULT: IdleHold = IdleHold {
        initial: Duration::from_secs(1),
        max: Duration::from_secs(60),
        stable: Duration::from_secs(300),
    };

    /// No damping (DampPeerOscillations off): always `after`, however often the peer fails.
    pub fn fixed(after: Duration) -> Self {
        IdleHold {
            initial: after,
            max: after,
            stable: Duration::ZERO,
        }
    }

    /// The IdleHoldTime after the `n`-th failure of a series (counting from 1).
    pub fn after_failures(&self, n: u32) -> Duration {
        let doublings = n.saturating_sub(1).min(31);
        self.initial
            .saturating_mul(1 << doublings)
            .min(self.max.max(self.initial))
    }
}

impl Default for IdleHold {
    fn default() -> Self {
        IdleHold::DEFAULT
    }
}

/// The failure series of one peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Damping {
    /// Failures in the current series.
    failures: u32,
    /// When the last one happened.
    last_failure: Option<Instant>,
}

impl Damping {
    /// Records a failure at `now` and returns how long to stay in Idle.
    pub fn failure(&mut self, policy: &IdleHold, now: Instant) -> Duration {
        let in_series = self
            .last_failure
            .is_some_and(|last| now.saturating_duration_since(last) < policy.stable);
        self.failures = if in_series {
            self.failures.saturating_add(1)
        } else {
            1
        };
        self.last_failure = Some(now);
        policy.after_failures(self.failures)
    }

    /// Forgets the series (an operator stopped, started or cleared the session).
    pub fn reset(&mut self) {
        *self = Damping::default();
    }

    /// Failures in the current series (0 when none).
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Whether the peer is being held back: it failed again soon after an earlier failure.
    pub fn holding_back(&self) -> bool {
        self.failures > 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_hold_doubles_from_one_second_up_to_a_minute() {
        let policy = IdleHold::DEFAULT;
        let secs: Vec<u64> = (1..=9)
            .map(|n| policy.after_failures(n).as_secs())
            .collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(policy.after_failures(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn fixed_policy_never_grows() {
        let policy = IdleHold::fixed(Duration::from_millis(100));
        let mut damping = Damping::default();
        let now = Instant::now();
        for i in 0..5 {
            let hold = damping.failure(&policy, now + Duration::from_millis(i));
            assert_eq!(hold, Duration::from_millis(100));
        }
    }

    #[test]
    fn failures_close_together_form_a_series_and_quiet_ends_it() {
        let policy = IdleHold::DEFAULT;
        let mut damping = Damping::default();
        let t0 = Instant::now();
        assert_eq!(damping.failure(&policy, t0), Duration::from_secs(1));
        assert!(!damping.holding_back());
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(damping.failure(&policy, t1), Duration::from_secs(2));
        assert!(damping.holding_back());
        let t2 = t1 + Duration::from_secs(299);
        assert_eq!(damping.failure(&policy, t2), Duration::from_secs(4));
        let t3 = t2 + Duration::from_secs(300);
        assert_eq!(damping.failure(&policy, t3), Duration::from_secs(1));
        assert_eq!(damping.failures(), 1);
        damping.reset();
        assert_eq!(damping.failures(), 0);
    }
}
