//! What can be wrong with a configuration, and where: every problem [`crate::parse`] finds is
//! a [`ConfigError`] naming the object (`IPAddressPool "a"`, or `ConfigMap "config"` for the
//! legacy format), the field path inside it (`spec.addresses[1]`, or the YAML path
//! `address-pools[0].addresses[1]`) and the [`Problem`].

use std::fmt;

/// The object a problem was found in, as `Kind "name"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    /// The object's kind (`IPAddressPool`, `BGPPeer`, …, or `ConfigMap` for the legacy format).
    pub kind: &'static str,
    /// The object's name.
    pub name: String,
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.kind, self.name)
    }
}

/// One problem in one field of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The object the problem is in.
    pub object: ObjectRef,
    /// The field, as a path from the object's root (`spec.addresses[1]`) or, for the legacy
    /// ConfigMap, from the root of its `config` YAML (`address-pools[0].addresses[1]`); empty
    /// when the problem is about the whole text (a YAML syntax error carries its line).
    pub field: String,
    /// What is wrong.
    pub problem: Problem,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.object, self.problem)
        } else {
            write!(f, "{}: {}: {}", self.object, self.field, self.problem)
        }
    }
}

impl std::error::Error for ConfigError {}

/// Every error of a configuration that cannot be used, in the order found (objects by kind
/// and name, fields in order). Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The errors.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }

    /// How many errors there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none (never true for a value returned by [`crate::parse`]).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ConfigErrors {
    /// One error per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// What is wrong with a field. The `Display` text is the message shown to users; values are
/// quoted as the user wrote them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The legacy ConfigMap's `config` is not valid YAML for MetalLB's format.
    #[error("line {line}, column {column}: {message}")]
    Yaml {
        /// 1-based line of the error.
        line: u32,
        /// 1-based column of the error.
        column: u32,
        /// The YAML parser's message.
        message: String,
    },
    /// A key the legacy format does not have (ignored, as MetalLB ignores it).
    #[error("unknown field, ignored")]
    UnknownField,
    /// A required field is missing or empty.
    #[error("required, but not set")]
    Missing,
    /// A name or value that must be unique appears again.
    #[error("{value:?} is already defined at {first}")]
    Duplicate {
        /// The repeated value.
        value: String,
        /// Where it was first defined.
        first: String,
    },
    /// A pool without addresses.
    #[error("a pool needs at least one address")]
    NoAddresses,
    /// An address entry that is neither a CIDR nor a range.
    #[error(
        "{0:?}: neither a CIDR (such as 192.168.10.0/24) nor a range (such as \
         192.168.10.1-192.168.10.9)"
    )]
    InvalidAddress(String),
    /// One end of a range is not an IP address.
    #[error("{entry:?}: {end:?} is not an IP address")]
    InvalidRangeEnd {
        /// The whole entry.
        entry: String,
        /// The end that does not parse.
        end: String,
    },
    /// A range from an IPv4 to an IPv6 address or the reverse.
    #[error("{0:?}: both ends of a range must be of the same IP family")]
    MixedFamilyRange(String),
    /// A range whose start is after its end.
    #[error("{0:?}: range start is after its end")]
    ReversedRange(String),
    /// Addresses that are already in a pool.
    #[error("{entry:?} overlaps {other_entry:?} of {other}")]
    Overlap {
        /// This entry.
        entry: String,
        /// The entry it overlaps.
        other_entry: String,
        /// Where that entry is.
        other: String,
    },
    /// A community value that does not parse.
    #[error("{value:?}: invalid community: {reason}")]
    InvalidCommunity {
        /// The value as written.
        value: String,
        /// Why it does not parse.
        reason: String,
    },
    /// Neither a community value nor the name of an alias.
    #[error(
        "{0:?}: not a community (AS:VALUE or large:GLOBAL:LOCAL1:LOCAL2) nor the name of an \
         alias defined in a Community"
    )]
    UnknownCommunityAlias(String),
    /// AS number 0.
    #[error("0 is not an AS number (1 to 4294967295)")]
    ZeroAsn,
    /// A peer with neither a peer AS nor a dynamic AS.
    #[error("one of peerASN and dynamicASN must be set")]
    NoPeerAsn,
    /// A peer with both a peer AS and a dynamic AS.
    #[error("peerASN and dynamicASN are mutually exclusive")]
    PeerAsnAndDynamicAsn,
    /// eBGP multihop on an iBGP session.
    #[error("ebgpMultiHop cannot be set for an iBGP peer (peerASN equal to myASN)")]
    MultihopForIbgp,
    /// Both an address and an interface for one peer.
    #[error("peerAddress and interface are mutually exclusive")]
    AddressAndInterface,
    /// Not an IP address.
    #[error("{0:?} is not an IP address")]
    InvalidIp(String),
    /// A router ID that is not an IPv4 address.
    #[error("{0:?} is not an IPv4 address (a BGP router ID is 32 bits)")]
    InvalidRouterId(String),
    /// Not a Go duration.
    #[error("{0:?} is not a duration such as 90s or 1m30s")]
    InvalidDuration(String),
    /// A negative duration.
    #[error("{0:?}: a duration here must not be negative")]
    NegativeDuration(String),
    /// A hold time between 0 and 3 s.
    #[error("{0:?}: hold time must be 0 or at least 3s")]
    HoldTimeTooShort(String),
    /// A keepalive interval longer than the hold time.
    #[error("keepalive time {keepalive:?} is longer than hold time {hold:?}")]
    KeepaliveLongerThanHold {
        /// The keepalive time as written (or derived).
        keepalive: String,
        /// The hold time as written (or derived).
        hold: String,
    },
    /// A connect time outside MetalLB's bounds.
    #[error("{0:?}: connect time must be a whole number of seconds between 1s and 65535s")]
    InvalidConnectTime(String),
    /// Both a clear-text password and a password Secret.
    #[error("password and passwordSecret are mutually exclusive")]
    PasswordAndSecret,
    /// A reference to a BFD profile that does not exist.
    #[error("BFDProfile {0:?} does not exist")]
    MissingBfdProfile(String),
    /// A number outside its range.
    #[error("{value} is out of range ({min} to {max})")]
    OutOfRange {
        /// The value.
        value: i64,
        /// The smallest allowed.
        min: i64,
        /// The largest allowed.
        max: i64,
    },
    /// An aggregation length shorter than a prefix of a pool it applies to.
    #[error(
        "aggregation length {length} is shorter than the prefix length {prefix} of {entry:?} in \
         {pool}"
    )]
    AggregationTooShort {
        /// The aggregation length.
        length: i64,
        /// The longest prefix of the entry.
        prefix: u8,
        /// The pool's address entry.
        entry: String,
        /// The pool.
        pool: String,
    },
    /// Service selectors with a non-default aggregation length (MetalLB's rule).
    #[error(
        "serviceSelectors and aggregationLength are mutually exclusive, can only be used together \
         with default aggregationLength (32) and aggregationLengthV6 (128)"
    )]
    ServiceSelectorsWithAggregation,
    /// Two advertisements that would send the same prefix to the same peer from the same node
    /// with different LOCAL_PREFs.
    #[error(
        "local preference {local_pref} conflicts with local preference {other_local_pref} of \
         {other} for the same prefixes of {pool} to the same peers from the same nodes"
    )]
    LocalPrefConflict {
        /// This advertisement's LOCAL_PREF.
        local_pref: u32,
        /// The other's.
        other_local_pref: u32,
        /// The other advertisement.
        other: String,
        /// The pool both apply to.
        pool: String,
    },
    /// BFD echo mode on a peer that would get IPv6 advertisements (MetalLB's rule).
    #[error(
        "peer {peer:?} has BFD echo mode enabled (BFDProfile {profile:?}), which is not possible \
         for the IPv6 addresses of {pool}"
    )]
    BfdEchoWithIpv6 {
        /// The peer.
        peer: String,
        /// Its BFD profile.
        profile: String,
        /// The pool with IPv6 addresses.
        pool: String,
    },
    /// A label selector that does not parse.
    #[error("invalid label selector: {0}")]
    InvalidSelector(String),
    /// A legacy pool's protocol is neither `bgp` nor `layer2`.
    #[error("unknown protocol {0:?} (bgp or layer2)")]
    UnknownProtocol(String),
    /// A legacy layer2 pool with BGP advertisements.
    #[error("a layer2 pool cannot have bgp-advertisements")]
    BgpAdvertisementsForLayer2,
    /// A reference to a pool that does not exist (a warning: MetalLB ignores it).
    #[error("IPAddressPool {0:?} does not exist, so nothing is advertised for it")]
    MissingPool(String),
    /// A reference to a peer that does not exist (a warning: MetalLB ignores it).
    #[error("BGPPeer {0:?} does not exist, so nothing is advertised to it")]
    MissingPeer(String),
    /// A MetalLB feature ferrolb does not implement.
    #[error("{0} is not supported by ferrolb")]
    Unsupported(&'static str),
}
