//! The per-family prefix table: a dense `Vec` of entries plus a hash index of `u32` positions
//! into it (the layout of `indexmap`, written for our entry type). See
//! `docs/decisions/0001-rib-layout.md` for why this layout and what it costs.
//!
//! Each entry holds the prefix, the reason of its last decision and its paths: one path
//! inline (the common case of a single peer), or a boxed list once a second peer sends the
//! prefix. The paths of an entry are kept in arrival order, oldest first.

use std::hash::{BuildHasher, Hash};

use std::sync::Arc;

use hashbrown::{DefaultHashBuilder, HashTable};

use super::decision::Reason;
use super::{PeerId, SharedAttributes};

/// Path flag: the selected (best) path of its prefix.
pub(crate) const FLAG_BEST: u8 = 0x01;
/// Path flag: a member of the multipath (ECMP) group other than the best path.
pub(crate) const FLAG_MULTIPATH: u8 = 0x02;
/// Path flag: kept from a peer that is restarting (RFC 4724), until it sends the path again.
pub(crate) const FLAG_STALE: u8 = 0x04;

/// One path: a route to a prefix from one peer. 16 bytes.
#[derive(Debug, Clone)]
pub(crate) struct Path {
    /// Interned attributes (with the next hop).
    pub attrs: Arc<SharedAttributes>,
    /// When it was received or last changed, in seconds since the RIB was created.
    pub received: u32,
    /// Who sent it.
    pub peer: PeerId,
    /// `FLAG_*` bits.
    pub flags: u8,
}

/// The paths of one prefix, oldest first.
#[derive(Debug, Clone)]
pub(crate) enum Paths {
    /// Exactly one path, stored inline.
    One(Path),
    /// Two or more paths. Boxed on purpose: a thin pointer keeps `Paths` at 16 bytes (a
    /// `Vec` would make every entry 8 bytes larger, single-path ones included).
    #[allow(clippy::box_collection)]
    Many(Box<Vec<Path>>),
}

impl Paths {
    /// The paths as a slice, oldest first.
    pub fn as_slice(&self) -> &[Path] {
        match self {
            Paths::One(p) => std::slice::from_ref(p),
            Paths::Many(v) => v,
        }
    }

    /// The paths as a mutable slice, oldest first.
    pub fn as_mut_slice(&mut self) -> &mut [Path] {
        match self {
            Paths::One(p) => std::slice::from_mut(p),
            Paths::Many(v) => v,
        }
    }

    /// Appends a path (the newest).
    pub fn push(&mut self, path: Path) {
        match self {
            Paths::Many(v) => v.push(path),
            Paths::One(_) => {
                let mut list = Vec::with_capacity(2);
                let old = std::mem::replace(self, Paths::Many(Box::default()));
                if let Paths::One(first) = old {
                    list.push(first);
                }
                list.push(path);
                *self = Paths::Many(Box::new(list));
            }
        }
    }

    /// Removes the path at `index` (keeping the order of the others) and returns it.
    /// `None` when the index is out of range or it is the last path (remove the entry then).
    pub fn remove(&mut self, index: usize) -> Option<Path> {
        let Paths::Many(v) = self else { return None };
        if index >= v.len() {
            return None;
        }
        let removed = v.remove(index);
        if v.len() == 1 {
            if let Some(only) = v.pop() {
                *self = Paths::One(only);
            }
        }
        Some(removed)
    }

    /// Heap bytes owned by this list (for statistics).
    pub fn heap_bytes(&self) -> usize {
        match self {
            Paths::One(_) => 0,
            Paths::Many(v) => {
                std::mem::size_of::<Vec<Path>>() + v.capacity() * std::mem::size_of::<Path>()
            }
        }
    }
}

/// One prefix of the table.
#[derive(Debug, Clone)]
pub(crate) struct Entry<K> {
    /// The prefix.
    pub prefix: K,
    /// Why the current best path won its last comparison.
    pub reason: Reason,
    /// Its paths, oldest first.
    pub paths: Paths,
}

/// The table of one address family.
#[derive(Debug, Default, Clone)]
pub(crate) struct Table<K> {
    entries: Vec<Entry<K>>,
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

/// A prefix type usable as a table key. Hashing goes through one fixed-width integer, which
/// is cheaper than hashing the address octets and length separately.
pub(crate) trait TableKey: Copy + Eq {
    /// The value hashed for this prefix.
    type Hashed: Hash;
    /// Packs the prefix into its hashed form.
    fn hashed(self) -> Self::Hashed;
}

impl TableKey for ipnet::Ipv4Net {
    type Hashed = u64;
    fn hashed(self) -> u64 {
        (u64::from(u32::from(self.addr())) << 8) | u64::from(self.prefix_len())
    }
}

impl TableKey for ipnet::Ipv6Net {
    type Hashed = (u128, u8);
    fn hashed(self) -> (u128, u8) {
        (u128::from(self.addr()), self.prefix_len())
    }
}

impl<K: TableKey> Table<K> {
    fn hash(&self, prefix: K) -> u64 {
        self.hasher.hash_one(prefix.hashed())
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// All entries, in no particular order.
    pub fn entries(&self) -> &[Entry<K>] {
        &self.entries
    }

    /// Position of `prefix` in the entry list.
    pub fn position(&self, prefix: &K) -> Option<usize> {
        let hash = self.hash(*prefix);
        let entries = &self.entries;
        self.index
            .find(hash, |&i| {
                entries.get(i as usize).is_some_and(|e| e.prefix == *prefix)
            })
            .map(|&i| i as usize)
    }

    /// The entry of `prefix`.
    pub fn get(&self, prefix: &K) -> Option<&Entry<K>> {
        self.position(prefix).and_then(|i| self.entries.get(i))
    }

    /// Calls `f` on the paths of every entry and adds up what it returns. `f` may change
    /// path flags, not the selection (no entry is reselected).
    pub fn for_each_paths(&mut self, mut f: impl FnMut(&mut [Path]) -> usize) -> usize {
        self.entries
            .iter_mut()
            .map(|e| f(e.paths.as_mut_slice()))
            .sum()
    }

    /// The entry at `position`, mutable.
    pub fn at_mut(&mut self, position: usize) -> Option<&mut Entry<K>> {
        self.entries.get_mut(position)
    }

    /// The position of `prefix`, or, when absent, of the entry `make` creates for it (one
    /// probe of the index either way). The flag tells whether the entry was created.
    pub fn find_or_insert(&mut self, prefix: K, make: impl FnOnce() -> Entry<K>) -> (usize, bool) {
        let hash = self.hash(prefix);
        let (entries, hasher) = (&mut self.entries, &self.hasher);
        match self.index.entry(
            hash,
            |&i| entries.get(i as usize).is_some_and(|e| e.prefix == prefix),
            |&i| {
                entries
                    .get(i as usize)
                    .map_or(0, |e| hasher.hash_one(e.prefix.hashed()))
            },
        ) {
            hashbrown::hash_table::Entry::Occupied(o) => (*o.get() as usize, false),
            hashbrown::hash_table::Entry::Vacant(v) => {
                let position = entries.len();
                entries.push(make());
                v.insert(position as u32);
                (position, true)
            }
        }
    }

    /// Removes the entry at `position` (its last path went away) and returns it.
    pub fn remove_at(&mut self, position: usize) -> Option<Entry<K>> {
        let prefix = self.entries.get(position)?.prefix;
        let hash = self.hash(prefix);
        if let Ok(slot) = self.index.find_entry(hash, |&i| i as usize == position) {
            slot.remove();
        }
        let last = self.entries.len() - 1;
        let removed = self.entries.swap_remove(position);
        if position != last {
            // The former last entry moved into `position`: repoint its index slot.
            if let Some(moved) = self.entries.get(position) {
                let moved_hash = self.hash(moved.prefix);
                if let Some(slot) = self.index.find_mut(moved_hash, |&i| i as usize == last) {
                    *slot = position as u32;
                }
            }
        }
        Some(removed)
    }

    /// Bytes used by the table itself and its path lists (not the attributes).
    pub fn bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Entry<K>>()
            + self.index.capacity() * std::mem::size_of::<u32>()
            + self.index.capacity() // one control byte per bucket (approximately)
            + self
                .entries
                .iter()
                .map(|e| e.paths.heap_bytes())
                .sum::<usize>()
    }
}
