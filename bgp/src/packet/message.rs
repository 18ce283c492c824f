//! The five BGP message types (RFC 4271 §4, RFC 2918) in decoded form.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};

use super::attribute::PathAttributes;
use super::capability::Capability;
use super::family::AfiSafi;
use super::notification::Notification;

/// Message type code: OPEN.
pub const MSG_OPEN: u8 = 1;
/// Message type code: UPDATE.
pub const MSG_UPDATE: u8 = 2;
/// Message type code: NOTIFICATION.
pub const MSG_NOTIFICATION: u8 = 3;
/// Message type code: KEEPALIVE.
pub const MSG_KEEPALIVE: u8 = 4;
/// Message type code: ROUTE-REFRESH (RFC 2918).
pub const MSG_ROUTE_REFRESH: u8 = 5;

/// Length of the fixed header: 16-octet marker, 2-octet length, 1-octet type.
pub const HEADER_LEN: usize = 19;
/// Largest message allowed without the extended message capability (RFC 4271 §4).
pub const MAX_MESSAGE_LEN: usize = 4096;
/// The AS number a 2-octet-only speaker sees in place of a 4-octet one (RFC 6793).
pub const AS_TRANS: u16 = 23456;

/// A BGP message.
// An UPDATE is by far the largest and by far the most common message: boxing it would cost
// an allocation per UPDATE for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// OPEN.
    Open(Open),
    /// UPDATE.
    Update(Update),
    /// NOTIFICATION.
    Notification(Notification),
    /// KEEPALIVE.
    Keepalive,
    /// ROUTE-REFRESH.
    RouteRefresh(RouteRefresh),
}

/// An OPEN message. Only the Capabilities optional parameter (type 2) exists; anything else
/// is refused on decode with OPEN error 4 (Unsupported Optional Parameter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// Protocol version; always 4 once decoded.
    pub version: u8,
    /// "My Autonomous System": the 2-octet AS (AS_TRANS when the real one needs 4 octets).
    pub my_as: u16,
    /// Proposed hold time in seconds (0 or at least 3).
    pub hold_time: u16,
    /// BGP Identifier.
    pub bgp_id: Ipv4Addr,
    /// Capabilities, in wire order.
    pub capabilities: Vec<Capability>,
}

impl Open {
    /// The speaker's real AS: the 4-octet AS capability if present, else `my_as`.
    pub fn asn(&self) -> u32 {
        self.capabilities
            .iter()
            .find_map(|c| match c {
                Capability::FourOctetAs(asn) => Some(*asn),
                _ => None,
            })
            .unwrap_or(u32::from(self.my_as))
    }
}

/// An UPDATE message. IPv4 unicast routes use the classic `withdrawn`/`nlri` fields; other
/// families travel in `mp_reach`/`mp_unreach`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Update {
    /// Withdrawn IPv4 routes.
    pub withdrawn: Vec<Ipv4Net>,
    /// Path attributes; `None` when the message carries none (withdraw-only or End-of-RIB).
    pub attributes: Option<PathAttributes>,
    /// Advertised IPv4 routes.
    pub nlri: Vec<Ipv4Net>,
    /// MP_REACH_NLRI.
    pub mp_reach: Option<MpReach>,
    /// MP_UNREACH_NLRI.
    pub mp_unreach: Option<MpUnreach>,
}

impl Update {
    /// Whether this is the End-of-RIB marker (RFC 4724 §2) of IPv4 unicast: an empty UPDATE.
    pub fn is_end_of_rib(&self) -> bool {
        self.end_of_rib() == Some(super::Family::Ipv4Unicast.afi_safi())
    }

    /// The family whose End-of-RIB marker (RFC 4724 §2) this UPDATE is, if it is one: an
    /// UPDATE with nothing in it is IPv4 unicast's, and one that carries only an empty
    /// MP_UNREACH_NLRI is the marker of that attribute's family.
    pub fn end_of_rib(&self) -> Option<AfiSafi> {
        if !self.withdrawn.is_empty()
            || !self.nlri.is_empty()
            || self.attributes.is_some()
            || self.mp_reach.is_some()
        {
            return None;
        }
        match &self.mp_unreach {
            None => Some(super::Family::Ipv4Unicast.afi_safi()),
            Some(unreach) if unreach.withdrawn.is_empty() => Some(unreach.afi_safi),
            Some(_) => None,
        }
    }
}

/// MP_REACH_NLRI (RFC 4760 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpReach {
    /// Family of the NLRI.
    pub afi_safi: AfiSafi,
    /// Next hops: one address, or for IPv6 a global and a link-local one.
    pub next_hops: Vec<IpAddr>,
    /// Advertised prefixes, all of the family's address type.
    pub nlri: Vec<IpNet>,
}

/// MP_UNREACH_NLRI (RFC 4760 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpUnreach {
    /// Family of the withdrawn routes.
    pub afi_safi: AfiSafi,
    /// Withdrawn prefixes.
    pub withdrawn: Vec<IpNet>,
}

/// A ROUTE-REFRESH message (RFC 2918, with the Message Subtype of RFC 7313 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteRefresh {
    /// Family whose routes are asked for again.
    pub afi_safi: AfiSafi,
    /// What the message is: a request, or a marker around a re-advertisement.
    pub subtype: RefreshSubtype,
}

impl RouteRefresh {
    /// A plain request for the routes of `afi_safi` (subtype 0).
    pub fn request(afi_safi: AfiSafi) -> Self {
        RouteRefresh {
            afi_safi,
            subtype: RefreshSubtype::Request,
        }
    }
}

/// The Message Subtype octet of a ROUTE-REFRESH (RFC 7313 §3; "Reserved" in RFC 2918).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefreshSubtype {
    /// 0: a request to re-advertise the family's Adj-RIB-Out.
    Request,
    /// 1: Beginning of Route Refresh (BoRR), sent before a re-advertisement.
    Begin,
    /// 2: End of Route Refresh (EoRR), sent after it.
    End,
    /// Any other value; RFC 7313 §5 says such a message is ignored (and logged).
    Other(u8),
}

impl RefreshSubtype {
    /// The subtype from its octet.
    pub fn from_octet(octet: u8) -> Self {
        match octet {
            0 => RefreshSubtype::Request,
            1 => RefreshSubtype::Begin,
            2 => RefreshSubtype::End,
            other => RefreshSubtype::Other(other),
        }
    }

    /// The octet on the wire.
    pub fn octet(self) -> u8 {
        match self {
            RefreshSubtype::Request => 0,
            RefreshSubtype::Begin => 1,
            RefreshSubtype::End => 2,
            RefreshSubtype::Other(other) => other,
        }
    }
}
