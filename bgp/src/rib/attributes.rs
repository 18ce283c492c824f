//! The stored form of an attribute set ([`SharedAttributes`]): the fields the decision process reads most kept as
//! plain scalars, everything of variable length (AS_PATH, communities, CLUSTER_LIST,
//! AGGREGATOR, unknown attributes) packed into one boxed slice of `u32` words.
//!
//! A decoded [`PathAttributes`] is 184 bytes before any of its vectors' heap blocks; this form
//! is 48 bytes plus one block of typically 40 to 80 bytes, which is what lets a full table
//! with hundreds of thousands of distinct sets fit the memory budget. See
//! `docs/decisions/0001-rib-layout.md`. The encoding is canonical (equal attributes give equal
//! words), so equality and hashing work on the stored form directly.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use crate::packet::{
    Aggregator, AsPath, AsSegment, Community, ExtCommunity, LargeCommunity, Origin, PathAttributes,
    RawAttribute, SegmentType,
};

const HAS_MED: u8 = 0x01;
const HAS_LOCAL_PREF: u8 = 0x02;
const HAS_ORIGINATOR: u8 = 0x04;
const ATOMIC_AGGREGATE: u8 = 0x08;
const HAS_NEXT_HOP_ATTR: u8 = 0x10;
const LLGR_STALE_SET: u8 = 0x20;

/// The attributes of a path as stored and shared (what [`super::Rib::intern`] returns): its
/// path attributes, packed, and its next hop (the NEXT_HOP attribute for IPv4, the
/// MP_REACH_NLRI next hop for IPv6). Read back with [`SharedAttributes::attrs`] or the
/// accessors.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SharedAttributes {
    /// The next hop to forward to.
    pub next_hop: IpAddr,
    origin: Origin,
    flags: u8,
    med: u32,
    local_pref: u32,
    originator_id: u32,
    /// IPv4 NEXT_HOP attribute as received (may differ from `next_hop` for IPv6 routes).
    next_hop_attr: u32,
    /// AS_PATH length for the decision process, cached (it fits in the struct's padding).
    path_len: u16,
    /// AS_PATH segments, then communities, extended, large communities, CLUSTER_LIST,
    /// AGGREGATOR and unknown attributes; each part starts with its count.
    data: Box<[u32]>,
}

fn segment_code(kind: SegmentType) -> u32 {
    kind as u32
}

fn segment_kind(code: u32) -> SegmentType {
    match code {
        1 => SegmentType::Set,
        3 => SegmentType::ConfedSequence,
        4 => SegmentType::ConfedSet,
        _ => SegmentType::Sequence,
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A reader over the packed words that never panics: missing words read as 0.
struct Cursor<'a> {
    words: &'a [u32],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn next(&mut self) -> u32 {
        let w = self.words.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        w
    }

    fn take(&mut self, n: usize) -> &'a [u32] {
        let start = self.at.min(self.words.len());
        let end = self.at.saturating_add(n).min(self.words.len());
        self.at = self.at.saturating_add(n);
        self.words.get(start..end).unwrap_or(&[])
    }

    /// Skips the AS_PATH part and returns its words (segment headers included).
    fn as_path(&mut self) -> &'a [u32] {
        let start = self.at;
        let segments = self.next() as usize;
        for _ in 0..segments {
            self.next();
            let len = self.next() as usize;
            self.take(len);
        }
        self.words
            .get(start..self.at.min(self.words.len()))
            .unwrap_or(&[])
    }

    /// A count-prefixed list of `width`-word items.
    fn list(&mut self, width: usize) -> &'a [u32] {
        let n = self.next() as usize;
        self.take(n.saturating_mul(width))
    }
}

/// Segments of a packed AS_PATH part: (kind, ASes).
fn segments(words: &[u32]) -> impl Iterator<Item = (SegmentType, &[u32])> {
    let mut c = Cursor { words, at: 0 };
    let n = c.next() as usize;
    (0..n).map(move |_| {
        let kind = segment_kind(c.next());
        let len = c.next() as usize;
        (kind, c.take(len))
    })
}

impl SharedAttributes {
    /// Packs `attrs` with the route's next hop.
    pub fn new(attrs: &PathAttributes, next_hop: IpAddr) -> Self {
        // Exact size up front: no shrinking reallocation when boxing.
        let words = 1
            + attrs
                .as_path
                .segments
                .iter()
                .map(|s| 2 + s.asns.len())
                .sum::<usize>()
            + 1
            + attrs.communities.len()
            + 1
            + 2 * attrs.ext_communities.len()
            + 1
            + 3 * attrs.large_communities.len()
            + 1
            + attrs.cluster_list.len()
            + if attrs.aggregator.is_some() { 3 } else { 1 }
            + 1
            + attrs
                .unknown
                .iter()
                .map(|u| 2 + u.value.len().div_ceil(4))
                .sum::<usize>();
        let mut data = Vec::with_capacity(words);
        data.push(count(attrs.as_path.segments.len()));
        for s in &attrs.as_path.segments {
            data.push(segment_code(s.kind));
            data.push(count(s.asns.len()));
            data.extend_from_slice(&s.asns);
        }
        data.push(count(attrs.communities.len()));
        data.extend(attrs.communities.iter().map(|c| c.0));
        data.push(count(attrs.ext_communities.len()));
        for e in &attrs.ext_communities {
            let [a, b, c, d, e2, f, g, h] = e.0;
            data.push(u32::from_be_bytes([a, b, c, d]));
            data.push(u32::from_be_bytes([e2, f, g, h]));
        }
        data.push(count(attrs.large_communities.len()));
        for l in &attrs.large_communities {
            data.extend([l.global, l.local1, l.local2]);
        }
        data.push(count(attrs.cluster_list.len()));
        data.extend(attrs.cluster_list.iter().map(|a| u32::from(*a)));
        match attrs.aggregator {
            Some(a) => data.extend([1, a.asn, u32::from(a.address)]),
            None => data.push(0),
        }
        data.push(count(attrs.unknown.len()));
        for u in &attrs.unknown {
            data.push((u32::from(u.flags) << 8) | u32::from(u.type_code));
            data.push(count(u.value.len()));
            data.extend(u.value.chunks(4).map(|c| {
                let mut w = [0u8; 4];
                w.iter_mut().zip(c).for_each(|(d, s)| *d = *s);
                u32::from_be_bytes(w)
            }));
        }
        let mut flags = 0;
        if attrs.med.is_some() {
            flags |= HAS_MED;
        }
        if attrs.local_pref.is_some() {
            flags |= HAS_LOCAL_PREF;
        }
        if attrs.originator_id.is_some() {
            flags |= HAS_ORIGINATOR;
        }
        if attrs.atomic_aggregate {
            flags |= ATOMIC_AGGREGATE;
        }
        if attrs.next_hop.is_some() {
            flags |= HAS_NEXT_HOP_ATTR;
        }
        if attrs.communities.contains(&super::LLGR_STALE) {
            flags |= LLGR_STALE_SET;
        }
        SharedAttributes {
            next_hop,
            origin: attrs.origin,
            flags,
            med: attrs.med.unwrap_or(0),
            local_pref: attrs.local_pref.unwrap_or(0),
            originator_id: attrs.originator_id.map_or(0, u32::from),
            next_hop_attr: attrs.next_hop.map_or(0, u32::from),
            path_len: u16::try_from(attrs.as_path.path_len()).unwrap_or(u16::MAX),
            data: data.into_boxed_slice(),
        }
    }

    /// The path attributes, decoded.
    pub fn attrs(&self) -> PathAttributes {
        let mut c = Cursor {
            words: &self.data,
            at: 0,
        };
        let as_path = AsPath {
            segments: segments(c.as_path())
                .map(|(kind, asns)| AsSegment {
                    kind,
                    asns: asns.to_vec(),
                })
                .collect(),
        };
        let communities = c.list(1).iter().map(|&w| Community(w)).collect();
        let ext_communities = c
            .list(2)
            .chunks_exact(2)
            .map(|w| {
                let (a, b) = (w[0].to_be_bytes(), w[1].to_be_bytes());
                ExtCommunity([a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]])
            })
            .collect();
        let large_communities = c
            .list(3)
            .chunks_exact(3)
            .map(|w| LargeCommunity {
                global: w[0],
                local1: w[1],
                local2: w[2],
            })
            .collect();
        let cluster_list = c.list(1).iter().map(|&w| Ipv4Addr::from(w)).collect();
        let aggregator = match c.next() {
            0 => None,
            _ => {
                let asn = c.next();
                Some(Aggregator {
                    asn,
                    address: Ipv4Addr::from(c.next()),
                })
            }
        };
        let unknown_count = c.next() as usize;
        let mut unknown = Vec::with_capacity(unknown_count.min(64));
        for _ in 0..unknown_count {
            let head = c.next();
            let len = c.next() as usize;
            let mut value: Vec<u8> = c
                .take(len.div_ceil(4))
                .iter()
                .flat_map(|w| w.to_be_bytes())
                .collect();
            value.truncate(len);
            unknown.push(RawAttribute {
                flags: (head >> 8) as u8,
                type_code: head as u8,
                value,
            });
        }
        PathAttributes {
            origin: self.origin,
            as_path,
            next_hop: (self.flags & HAS_NEXT_HOP_ATTR != 0)
                .then(|| Ipv4Addr::from(self.next_hop_attr)),
            med: self.med(),
            local_pref: self.local_pref(),
            atomic_aggregate: self.flags & ATOMIC_AGGREGATE != 0,
            aggregator,
            communities,
            ext_communities,
            large_communities,
            originator_id: self.originator_id(),
            cluster_list,
            unknown,
        }
    }

    /// The next hop to forward to.
    pub fn next_hop(&self) -> IpAddr {
        self.next_hop
    }

    /// ORIGIN.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// MULTI_EXIT_DISC.
    pub fn med(&self) -> Option<u32> {
        (self.flags & HAS_MED != 0).then_some(self.med)
    }

    /// LOCAL_PREF.
    pub fn local_pref(&self) -> Option<u32> {
        (self.flags & HAS_LOCAL_PREF != 0).then_some(self.local_pref)
    }

    /// ORIGINATOR_ID.
    pub fn originator_id(&self) -> Option<Ipv4Addr> {
        (self.flags & HAS_ORIGINATOR != 0).then(|| Ipv4Addr::from(self.originator_id))
    }

    fn as_path_words(&self) -> &[u32] {
        Cursor {
            words: &self.data,
            at: 0,
        }
        .as_path()
    }

    /// AS_PATH, decoded.
    pub fn as_path(&self) -> AsPath {
        AsPath {
            segments: segments(self.as_path_words())
                .map(|(kind, asns)| AsSegment {
                    kind,
                    asns: asns.to_vec(),
                })
                .collect(),
        }
    }

    /// AS_PATH length for the decision process (an AS_SET counts one, confederation
    /// segments zero), without decoding.
    pub fn as_path_len(&self) -> usize {
        usize::from(self.path_len)
    }

    /// AS_PATH length counted from the packed segments (checks the cached value in tests).
    #[cfg(test)]
    pub(crate) fn as_path_len_uncached(&self) -> usize {
        segments(self.as_path_words())
            .map(|(kind, asns)| match kind {
                SegmentType::Sequence => asns.len(),
                SegmentType::Set => 1,
                SegmentType::ConfedSequence | SegmentType::ConfedSet => 0,
            })
            .sum()
    }

    /// Number of ASes in confederation segments.
    pub(crate) fn confed_len(&self) -> usize {
        segments(self.as_path_words())
            .map(|(kind, asns)| match kind {
                SegmentType::ConfedSequence => asns.len(),
                SegmentType::ConfedSet => 1,
                SegmentType::Sequence | SegmentType::Set => 0,
            })
            .sum()
    }

    /// The AS_PATH is empty.
    pub(crate) fn as_path_is_empty(&self) -> bool {
        self.data.first().is_none_or(|&n| n == 0)
    }

    /// First AS of the first AS_SEQUENCE after any confederation segments (FRR's "left-most
    /// AS" for the MED comparison), if the first such segment is a sequence.
    pub(crate) fn neighbour_as(&self) -> Option<u32> {
        segments(self.as_path_words())
            .find(|(kind, _)| !matches!(kind, SegmentType::ConfedSequence | SegmentType::ConfedSet))
            .filter(|(kind, _)| *kind == SegmentType::Sequence)
            .and_then(|(_, asns)| asns.first().copied())
    }

    /// First AS of a leading AS_CONFED_SEQUENCE.
    pub(crate) fn neighbour_confed_as(&self) -> Option<u32> {
        segments(self.as_path_words())
            .next()
            .filter(|(kind, _)| *kind == SegmentType::ConfedSequence)
            .and_then(|(_, asns)| asns.first().copied())
    }

    /// Whether both AS_PATHs are identical.
    pub(crate) fn same_as_path(&self, other: &SharedAttributes) -> bool {
        self.as_path_words() == other.as_path_words()
    }

    /// Whether `asn` appears anywhere in the AS_PATH (loop detection).
    pub fn as_path_contains(&self, asn: u32) -> bool {
        segments(self.as_path_words()).any(|(_, asns)| asns.contains(&asn))
    }

    fn after_as_path(&self) -> Cursor<'_> {
        let mut c = Cursor {
            words: &self.data,
            at: 0,
        };
        c.as_path();
        c
    }

    /// Whether the LLGR_STALE community is attached (cached at packing).
    pub(crate) fn llgr_stale(&self) -> bool {
        self.flags & LLGR_STALE_SET != 0
    }

    /// Whether the COMMUNITIES attribute holds `community`.
    pub fn has_community(&self, community: Community) -> bool {
        self.after_as_path().list(1).contains(&community.0)
    }

    /// The CLUSTER_LIST.
    pub fn cluster_list(&self) -> Vec<Ipv4Addr> {
        let mut c = self.after_as_path();
        c.list(1);
        c.list(2);
        c.list(3);
        c.list(1).iter().map(|&w| Ipv4Addr::from(w)).collect()
    }

    /// CLUSTER_LIST length.
    pub fn cluster_list_len(&self) -> usize {
        let mut c = self.after_as_path();
        c.list(1);
        c.list(2);
        c.list(3);
        c.list(1).len()
    }

    /// Heap bytes owned (for statistics).
    pub fn heap_bytes(&self) -> usize {
        self.data.len() * std::mem::size_of::<u32>()
    }
}

impl fmt::Debug for SharedAttributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedAttributes")
            .field("next_hop", &self.next_hop)
            .field("attrs", &self.attrs())
            .finish()
    }
}
