//! Readiness as a set of named conditions ("caches synced", "configuration loaded"), each set
//! by the task that knows; the daemon is ready when every registered condition holds.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The daemon's readiness, shared by the HTTP endpoint and the tasks that set conditions.
/// Clones share the same state.
///
/// Register every condition before serving `/readyz`: a daemon with no conditions is ready.
#[derive(Clone, Debug, Default)]
pub struct Readiness {
    conditions: Arc<Mutex<BTreeMap<String, bool>>>,
}

/// One named condition of a [`Readiness`]; starts unmet.
#[derive(Clone, Debug)]
pub struct Condition {
    readiness: Readiness,
    name: String,
}

impl Readiness {
    /// A readiness with no conditions yet.
    pub fn new() -> Self {
        Readiness::default()
    }

    /// Registers the condition `name`, unmet, and returns its handle. Registering a name
    /// again returns a handle to the same condition and leaves its state alone.
    pub fn condition(&self, name: impl Into<String>) -> Condition {
        let name = name.into();
        self.lock().entry(name.clone()).or_insert(false);
        Condition {
            readiness: self.clone(),
            name,
        }
    }

    /// The names of the conditions not met, sorted; empty when ready.
    pub fn unmet(&self) -> Vec<String> {
        self.lock()
            .iter()
            .filter(|(_, met)| !**met)
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Whether every condition is met.
    pub fn is_ready(&self) -> bool {
        self.lock().values().all(|met| *met)
    }

    fn set(&self, name: &str, met: bool) {
        self.lock().insert(name.to_owned(), met);
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, bool>> {
        // The map is valid after any panic elsewhere (each update is one insert).
        self.conditions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Condition {
    /// Marks the condition met.
    pub fn met(&self) {
        self.readiness.set(&self.name, true);
    }

    /// Marks the condition unmet again (e.g. a watch lost its connection).
    pub fn unmet(&self) {
        self.readiness.set(&self.name, false);
    }

    /// The condition's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_every_condition_is_met() {
        let ready = Readiness::new();
        assert!(ready.is_ready(), "no conditions: ready");
        let caches = ready.condition("caches synced");
        let config = ready.condition("configuration loaded");
        assert_eq!(ready.unmet(), ["caches synced", "configuration loaded"]);
        config.met();
        assert!(!ready.is_ready());
        assert_eq!(ready.unmet(), ["caches synced"]);
        caches.met();
        assert!(ready.is_ready());
        caches.unmet();
        assert_eq!(ready.unmet(), ["caches synced"]);
    }

    #[test]
    fn registering_a_name_twice_shares_the_condition() {
        let ready = Readiness::new();
        ready.condition("x").met();
        let again = ready.condition("x");
        assert!(ready.is_ready(), "re-registering keeps the state");
        again.unmet();
        assert_eq!(ready.unmet(), ["x"]);
    }
}
