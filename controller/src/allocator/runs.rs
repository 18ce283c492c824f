//! A set of integers kept as maximal runs of consecutive values.
//!
//! The allocator asks "which is the lowest free address at or after X?" on every allocation.
//! Pools can be a /16 of IPv4 or a /64 of IPv6, and Services are usually handed addresses in
//! order, so the used addresses of a pool form a few long runs. Keeping the runs (start → end)
//! in a B-tree answers that question with one lookup, whatever the pool's size or how full it
//! is, where a scan from the pool's first address (what MetalLB does) costs O(pool).

use std::collections::BTreeMap;

/// A set of `u128` values stored as disjoint, non-adjacent, inclusive runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Runs {
    /// Run start → run end (inclusive). Runs never overlap nor touch: `end + 1 < next start`.
    runs: BTreeMap<u128, u128>,
}

impl Runs {
    /// The run that contains `x`, as (start, end).
    fn run_of(&self, x: u128) -> Option<(u128, u128)> {
        self.runs
            .range(..=x)
            .next_back()
            .filter(|&(_, &end)| end >= x)
            .map(|(&start, &end)| (start, end))
    }

    /// Whether `x` is in the set.
    pub(super) fn contains(&self, x: u128) -> bool {
        self.run_of(x).is_some()
    }

    /// Adds `x`; returns false when it was already there.
    pub(super) fn insert(&mut self, x: u128) -> bool {
        if self.contains(x) {
            return false;
        }
        // A run ending right before `x` grows by one; a run starting right after it is joined.
        let start = match self.runs.range(..x).next_back() {
            Some((&s, &e)) if e.checked_add(1) == Some(x) => s,
            _ => x,
        };
        let end = x
            .checked_add(1)
            .and_then(|next| self.runs.remove(&next))
            .unwrap_or(x);
        self.runs.insert(start, end);
        true
    }

    /// Removes `x`; returns false when it was not there.
    pub(super) fn remove(&mut self, x: u128) -> bool {
        let Some((start, end)) = self.run_of(x) else {
            return false;
        };
        self.runs.remove(&start);
        if start < x {
            self.runs.insert(start, x - 1);
        }
        if x < end {
            self.runs.insert(x + 1, end);
        }
        true
    }

    /// The smallest value `>= x` that is not in the set (`None` only when every value from
    /// `x` up to `u128::MAX` is in it).
    pub(super) fn first_absent_from(&self, x: u128) -> Option<u128> {
        match self.run_of(x) {
            // Runs are maximal, so the value after a run's end is absent.
            Some((_, end)) => end.checked_add(1),
            None => Some(x),
        }
    }

    /// Empties the set.
    pub(super) fn clear(&mut self) {
        self.runs.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn neighbours_merge_and_removal_splits() {
        let mut r = Runs::default();
        assert!(r.insert(5));
        assert!(r.insert(7));
        assert!(!r.insert(7));
        assert!(r.insert(6));
        assert_eq!(r.runs.len(), 1, "5, 6 and 7 are one run: {r:?}");
        assert_eq!(r.first_absent_from(5), Some(8));
        assert_eq!(r.first_absent_from(4), Some(4));
        assert!(r.remove(6));
        assert!(!r.remove(6));
        assert_eq!(r.runs.len(), 2);
        assert_eq!(r.first_absent_from(5), Some(6));
        assert_eq!(r.first_absent_from(7), Some(8));
    }

    #[test]
    fn the_top_of_the_range_is_handled() {
        let mut r = Runs::default();
        assert!(r.insert(u128::MAX));
        assert!(r.insert(u128::MAX - 1));
        assert_eq!(r.first_absent_from(u128::MAX - 1), None);
        assert_eq!(r.first_absent_from(u128::MAX - 2), Some(u128::MAX - 2));
        assert!(r.remove(u128::MAX));
        assert_eq!(r.first_absent_from(u128::MAX - 1), Some(u128::MAX));
        assert!(r.insert(0));
        assert_eq!(r.first_absent_from(0), Some(1));
    }

    proptest! {
        /// The runs behave as a plain set of values, and stay maximal.
        #[test]
        fn runs_match_a_plain_set(ops in proptest::collection::vec((any::<bool>(), 0u128..40), 0..200)) {
            let mut runs = Runs::default();
            let mut set = BTreeSet::new();
            for (add, x) in ops {
                if add {
                    prop_assert_eq!(runs.insert(x), set.insert(x));
                } else {
                    prop_assert_eq!(runs.remove(x), set.remove(&x));
                }
                for probe in 0u128..42 {
                    prop_assert_eq!(runs.contains(probe), set.contains(&probe));
                    let want = (probe..).find(|v| !set.contains(v));
                    prop_assert_eq!(runs.first_absent_from(probe), want);
                }
                let mut prev_end: Option<u128> = None;
                for (&s, &e) in &runs.runs {
                    prop_assert!(s <= e);
                    if let Some(pe) = prev_end {
                        prop_assert!(pe + 1 < s, "runs {:?} touch", runs);
                    }
                    prev_end = Some(e);
                }
            }
        }
    }
}
