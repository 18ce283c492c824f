//! Interning of attribute sets: every path that carries the same attributes (and next hop)
//! shares one `Arc<SharedAttributes>` (the packed form), looked up once per UPDATE.
//!
//! A set is dropped from the table as soon as the last path using it goes away (checked when
//! a path is removed or replaced), and by a sweep that runs whenever the table has doubled
//! since the previous sweep, which catches sets that outlived their paths because a caller
//! still held a clone at that moment, and sets interned but never used.

use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::{DefaultHashBuilder, HashTable};

use super::{RouteAttributes, SharedAttributes};

/// Sweeps never run below this many interned sets.
const MIN_SWEEP: usize = 1024;

/// The set of interned attribute sets.
#[derive(Debug, Default, Clone)]
pub(crate) struct Interner {
    table: HashTable<Arc<SharedAttributes>>,
    hasher: DefaultHashBuilder,
    next_sweep: usize,
}

impl Interner {
    /// The shared copy of `attrs`, created if new.
    pub fn intern(&mut self, attrs: &RouteAttributes) -> Arc<SharedAttributes> {
        if self.table.len() >= self.next_sweep.max(MIN_SWEEP) {
            self.sweep();
        }
        let attrs = SharedAttributes::new(&attrs.attrs, attrs.next_hop);
        let hash = self.hasher.hash_one(&attrs);
        if let Some(found) = self.table.find(hash, |a| **a == attrs) {
            return Arc::clone(found);
        }
        let shared = Arc::new(attrs);
        let hasher = &self.hasher;
        self.table
            .insert_unique(hash, Arc::clone(&shared), |a| hasher.hash_one(&**a));
        shared
    }

    /// Drops a path's reference; forgets the set if nothing else uses it.
    pub fn release(&mut self, attrs: Arc<SharedAttributes>) {
        // Ours plus the table's: the path was the last user.
        if Arc::strong_count(&attrs) == 2 {
            let hash = self.hasher.hash_one(&*attrs);
            if let Ok(slot) = self.table.find_entry(hash, |a| Arc::ptr_eq(a, &attrs)) {
                slot.remove();
            }
        }
    }

    /// Forgets every set no path (nor caller) holds any more.
    pub fn sweep(&mut self) {
        self.table.retain(|a| Arc::strong_count(a) > 1);
        self.next_sweep = self.table.len().saturating_mul(2);
    }

    /// Number of interned sets.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Approximate bytes used by the interned sets and the table.
    pub fn bytes(&self) -> usize {
        let per_arc = 2 * std::mem::size_of::<usize>() + std::mem::size_of::<SharedAttributes>();
        self.table.capacity() * (std::mem::size_of::<usize>() + 1)
            + self
                .table
                .iter()
                .map(|a| per_arc + a.heap_bytes())
                .sum::<usize>()
    }
}
