//! Path attributes (RFC 4271 §5 and the extensions listed in DESIGN.md) in their decoded,
//! canonical form: AS numbers are always 4 octets here (AS4_PATH and AS4_AGGREGATOR are merged
//! on decode and regenerated on encode for peers without the 4-octet AS capability).

use std::fmt;
use std::net::Ipv4Addr;

/// Attribute type code: ORIGIN.
pub const ATTR_ORIGIN: u8 = 1;
/// Attribute type code: AS_PATH.
pub const ATTR_AS_PATH: u8 = 2;
/// Attribute type code: NEXT_HOP.
pub const ATTR_NEXT_HOP: u8 = 3;
/// Attribute type code: MULTI_EXIT_DISC.
pub const ATTR_MED: u8 = 4;
/// Attribute type code: LOCAL_PREF.
pub const ATTR_LOCAL_PREF: u8 = 5;
/// Attribute type code: ATOMIC_AGGREGATE.
pub const ATTR_ATOMIC_AGGREGATE: u8 = 6;
/// Attribute type code: AGGREGATOR.
pub const ATTR_AGGREGATOR: u8 = 7;
/// Attribute type code: COMMUNITIES (RFC 1997).
pub const ATTR_COMMUNITIES: u8 = 8;
/// Attribute type code: ORIGINATOR_ID (RFC 4456).
pub const ATTR_ORIGINATOR_ID: u8 = 9;
/// Attribute type code: CLUSTER_LIST (RFC 4456).
pub const ATTR_CLUSTER_LIST: u8 = 10;
/// Attribute type code: MP_REACH_NLRI (RFC 4760).
pub const ATTR_MP_REACH_NLRI: u8 = 14;
/// Attribute type code: MP_UNREACH_NLRI (RFC 4760).
pub const ATTR_MP_UNREACH_NLRI: u8 = 15;
/// Attribute type code: EXTENDED COMMUNITIES (RFC 4360).
pub const ATTR_EXTENDED_COMMUNITIES: u8 = 16;
/// Attribute type code: AS4_PATH (RFC 6793).
pub const ATTR_AS4_PATH: u8 = 17;
/// Attribute type code: AS4_AGGREGATOR (RFC 6793).
pub const ATTR_AS4_AGGREGATOR: u8 = 18;
/// Attribute type code: IPv6 Address Specific Extended Community (RFC 5701); only its length
/// is checked (RFC 7606 §7.15), the value is carried as received.
pub const ATTR_IPV6_EXTENDED_COMMUNITIES: u8 = 25;
/// Attribute type code: LARGE_COMMUNITY (RFC 8092).
pub const ATTR_LARGE_COMMUNITIES: u8 = 32;

/// Attribute flag: Optional.
pub const FLAG_OPTIONAL: u8 = 0x80;
/// Attribute flag: Transitive.
pub const FLAG_TRANSITIVE: u8 = 0x40;
/// Attribute flag: Partial.
pub const FLAG_PARTIAL: u8 = 0x20;
/// Attribute flag: Extended Length (2-octet length field).
pub const FLAG_EXTENDED_LENGTH: u8 = 0x10;

/// The ORIGIN attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Origin {
    /// Learned from an interior protocol (`i`).
    #[default]
    Igp = 0,
    /// Learned from EGP (`e`).
    Egp = 1,
    /// Learned some other way (`?`).
    Incomplete = 2,
}

impl Origin {
    /// The one-character code used in `show ip bgp`.
    pub fn code(self) -> char {
        match self {
            Origin::Igp => 'i',
            Origin::Egp => 'e',
            Origin::Incomplete => '?',
        }
    }
}

/// The kind of an AS_PATH segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SegmentType {
    /// AS_SET (1): unordered, counts as one AS in path length.
    Set = 1,
    /// AS_SEQUENCE (2): ordered.
    Sequence = 2,
    /// AS_CONFED_SEQUENCE (3, RFC 5065): not counted in path length.
    ConfedSequence = 3,
    /// AS_CONFED_SET (4, RFC 5065): not counted in path length.
    ConfedSet = 4,
}

/// One AS_PATH segment. Never empty once decoded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AsSegment {
    /// Segment type.
    pub kind: SegmentType,
    /// AS numbers of the segment, in wire order.
    pub asns: Vec<u32>,
}

/// An AS_PATH with 4-octet AS numbers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AsPath {
    /// Segments in wire order.
    pub segments: Vec<AsSegment>,
}

impl AsPath {
    /// A path made of a single AS_SEQUENCE (empty input gives the empty path).
    pub fn from_sequence(asns: impl IntoIterator<Item = u32>) -> Self {
        let asns: Vec<u32> = asns.into_iter().collect();
        if asns.is_empty() {
            return AsPath::default();
        }
        AsPath {
            segments: vec![AsSegment {
                kind: SegmentType::Sequence,
                asns,
            }],
        }
    }

    /// Path length for the decision process (RFC 4271 §9.1.2.2 a): an AS_SET counts as one,
    /// confederation segments count as zero.
    pub fn path_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s.kind {
                SegmentType::Sequence => s.asns.len(),
                SegmentType::Set => 1,
                SegmentType::ConfedSequence | SegmentType::ConfedSet => 0,
            })
            .sum()
    }

    /// The neighbouring AS: the first AS of the first AS_SEQUENCE, if the path starts with one.
    pub fn first_as(&self) -> Option<u32> {
        match self.segments.first() {
            Some(s) if s.kind == SegmentType::Sequence => s.asns.first().copied(),
            _ => None,
        }
    }

    /// Whether `asn` appears anywhere in the path (loop detection).
    pub fn contains(&self, asn: u32) -> bool {
        self.segments.iter().any(|s| s.asns.contains(&asn))
    }

    /// This path with `asn` prepended, as an eBGP speaker does when advertising.
    pub fn prepend(&self, asn: u32) -> AsPath {
        let mut segments = self.segments.clone();
        match segments.first_mut() {
            Some(first) if first.kind == SegmentType::Sequence && first.asns.len() < 255 => {
                first.asns.insert(0, asn)
            }
            _ => segments.insert(
                0,
                AsSegment {
                    kind: SegmentType::Sequence,
                    asns: vec![asn],
                },
            ),
        }
        AsPath { segments }
    }
}

impl fmt::Display for AsPath {
    /// Formats as FRR does: sequences space separated, sets in braces, confederation
    /// segments in parentheses / square brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for segment in &self.segments {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            let (open, sep, close) = match segment.kind {
                SegmentType::Sequence => ("", " ", ""),
                SegmentType::Set => ("{", ",", "}"),
                SegmentType::ConfedSequence => ("(", " ", ")"),
                SegmentType::ConfedSet => ("[", ",", "]"),
            };
            f.write_str(open)?;
            for (i, asn) in segment.asns.iter().enumerate() {
                if i > 0 {
                    f.write_str(sep)?;
                }
                write!(f, "{asn}")?;
            }
            f.write_str(close)?;
        }
        Ok(())
    }
}

/// The AGGREGATOR attribute (4-octet AS form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Aggregator {
    /// AS of the aggregating speaker.
    pub asn: u32,
    /// BGP identifier (IP address) of the aggregating speaker.
    pub address: Ipv4Addr,
}

/// A standard community (RFC 1997), `ASN:VALUE` in 32 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Community(pub u32);

impl Community {
    /// GRACEFUL_SHUTDOWN (RFC 8326).
    pub const GRACEFUL_SHUTDOWN: Community = Community(0xFFFF_0000);
    /// ACCEPT_OWN (RFC 7611).
    pub const ACCEPT_OWN: Community = Community(0xFFFF_0001);
    /// LLGR_STALE (RFC 9494).
    pub const LLGR_STALE: Community = Community(0xFFFF_0006);
    /// NO_LLGR (RFC 9494).
    pub const NO_LLGR: Community = Community(0xFFFF_0007);
    /// BLACKHOLE (RFC 7999).
    pub const BLACKHOLE: Community = Community(0xFFFF_029A);
    /// NO_EXPORT (RFC 1997).
    pub const NO_EXPORT: Community = Community(0xFFFF_FF01);
    /// NO_ADVERTISE (RFC 1997).
    pub const NO_ADVERTISE: Community = Community(0xFFFF_FF02);
    /// NO_EXPORT_SUBCONFED (RFC 1997).
    pub const NO_EXPORT_SUBCONFED: Community = Community(0xFFFF_FF03);
    /// NOPEER (RFC 3765).
    pub const NO_PEER: Community = Community(0xFFFF_FF04);

    /// The well-known communities with the names FRR prints for them (`show ip bgp`,
    /// route-maps): the IANA registry's, plus `internet` for 0:0.
    pub const WELL_KNOWN: [(Community, &'static str); 15] = [
        (Community(0), "internet"),
        (Community::GRACEFUL_SHUTDOWN, "graceful-shutdown"),
        (Community::ACCEPT_OWN, "accept-own"),
        (Community(0xFFFF_0002), "route-filter-translated-v4"),
        (Community(0xFFFF_0003), "route-filter-v4"),
        (Community(0xFFFF_0004), "route-filter-translated-v6"),
        (Community(0xFFFF_0005), "route-filter-v6"),
        (Community::LLGR_STALE, "llgr-stale"),
        (Community::NO_LLGR, "no-llgr"),
        (Community(0xFFFF_0008), "accept-own-nexthop"),
        (Community::BLACKHOLE, "blackhole"),
        (Community::NO_EXPORT, "no-export"),
        (Community::NO_ADVERTISE, "no-advertise"),
        (Community::NO_EXPORT_SUBCONFED, "local-AS"),
        (Community::NO_PEER, "no-peer"),
    ];

    /// Builds `high:low`.
    pub const fn new(high: u16, low: u16) -> Self {
        Community(((high as u32) << 16) | low as u32)
    }

    /// The name of a well-known community (see [`Community::WELL_KNOWN`]).
    pub fn well_known_name(self) -> Option<&'static str> {
        Community::WELL_KNOWN
            .iter()
            .find(|(c, _)| *c == self)
            .map(|(_, name)| *name)
    }
}

impl fmt::Display for Community {
    /// A well-known community by its name, any other as `ASN:VALUE`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.well_known_name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{}:{}", self.0 >> 16, self.0 & 0xFFFF),
        }
    }
}

/// An extended community (RFC 4360), kept as its 8 raw octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExtCommunity(pub [u8; 8]);

/// A large community (RFC 8092), `GLOBAL:LOCAL1:LOCAL2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LargeCommunity {
    /// Global Administrator (usually the AS).
    pub global: u32,
    /// Local Data Part 1.
    pub local1: u32,
    /// Local Data Part 2.
    pub local2: u32,
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}

/// An attribute this implementation does not interpret, carried as received. Optional
/// transitive ones are passed on with the Partial bit set (RFC 4271 §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawAttribute {
    /// Flags as received (the Extended Length bit is recomputed on encode).
    pub flags: u8,
    /// Type code.
    pub type_code: u8,
    /// Value octets.
    pub value: Vec<u8>,
}

/// The path attributes of a route, without the NLRI-carrying MP_REACH/MP_UNREACH (those live
/// in [`super::Update`]). This is the value shared (interned) by all prefixes of an UPDATE.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PathAttributes {
    /// ORIGIN (well-known mandatory).
    pub origin: Origin,
    /// AS_PATH (well-known mandatory), 4-octet form with any AS4_PATH merged in.
    pub as_path: AsPath,
    /// NEXT_HOP for IPv4 NLRI in the classic fields.
    pub next_hop: Option<Ipv4Addr>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF (iBGP only).
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE present.
    pub atomic_aggregate: bool,
    /// AGGREGATOR, 4-octet form with any AS4_AGGREGATOR merged in.
    pub aggregator: Option<Aggregator>,
    /// COMMUNITIES, in wire order.
    pub communities: Vec<Community>,
    /// EXTENDED COMMUNITIES, in wire order.
    pub ext_communities: Vec<ExtCommunity>,
    /// LARGE_COMMUNITY, in wire order.
    pub large_communities: Vec<LargeCommunity>,
    /// ORIGINATOR_ID (route reflection).
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST (route reflection).
    pub cluster_list: Vec<Ipv4Addr>,
    /// Attributes not interpreted here, in wire order.
    pub unknown: Vec<RawAttribute>,
}
