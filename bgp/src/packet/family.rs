//! Address families: the AFI/SAFI pairs of RFC 4760 as they appear on the wire, and the
//! subset this implementation routes.

use std::fmt;

/// Address Family Identifier for IPv4 (IANA).
pub const AFI_IPV4: u16 = 1;
/// Address Family Identifier for IPv6 (IANA).
pub const AFI_IPV6: u16 = 2;
/// Subsequent Address Family Identifier for unicast (IANA).
pub const SAFI_UNICAST: u8 = 1;

/// A raw AFI/SAFI pair exactly as a peer sent it. Unknown pairs are kept (a peer may advertise
/// families we do not route; we must parse and ignore them, not fail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AfiSafi {
    /// Address Family Identifier.
    pub afi: u16,
    /// Subsequent Address Family Identifier.
    pub safi: u8,
}

impl AfiSafi {
    /// Builds a pair from its wire values.
    pub const fn new(afi: u16, safi: u8) -> Self {
        AfiSafi { afi, safi }
    }

    /// The supported family this pair names, if any.
    pub fn family(self) -> Option<Family> {
        Family::from_afi_safi(self)
    }
}

impl fmt::Display for AfiSafi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.family() {
            Some(family) => family.fmt(f),
            None => write!(f, "afi {} safi {}", self.afi, self.safi),
        }
    }
}

/// The address families this implementation exchanges routes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4 unicast (AFI 1, SAFI 1).
    Ipv4Unicast,
    /// IPv6 unicast (AFI 2, SAFI 1).
    Ipv6Unicast,
}

impl Family {
    /// Every supported family, in a stable order.
    pub const ALL: [Family; 2] = [Family::Ipv4Unicast, Family::Ipv6Unicast];

    /// The wire AFI/SAFI of this family.
    pub const fn afi_safi(self) -> AfiSafi {
        match self {
            Family::Ipv4Unicast => AfiSafi::new(AFI_IPV4, SAFI_UNICAST),
            Family::Ipv6Unicast => AfiSafi::new(AFI_IPV6, SAFI_UNICAST),
        }
    }

    /// The supported family named by a wire AFI/SAFI pair.
    pub fn from_afi_safi(pair: AfiSafi) -> Option<Family> {
        match (pair.afi, pair.safi) {
            (AFI_IPV4, SAFI_UNICAST) => Some(Family::Ipv4Unicast),
            (AFI_IPV6, SAFI_UNICAST) => Some(Family::Ipv6Unicast),
            _ => None,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Ipv4Unicast => "IPv4 Unicast",
            Family::Ipv6Unicast => "IPv6 Unicast",
        })
    }
}
