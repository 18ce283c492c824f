//! Errors of the wire codec.
//!
//! Received input can be wrong in three ways, and each has its outcome here:
//!
//! - a [`DecodeError`] ends the session with the NOTIFICATION that
//!   [`DecodeError::notification`] builds (RFC 4271 §6, RFC 7313 §5);
//! - an [`UpdateIssue`] is recorded next to a still usable UPDATE (RFC 7606 "treat-as-withdraw"
//!   and "attribute discard"); [`AttributeError`] says precisely what was wrong with one path
//!   attribute, and [`rfc7606_handling`] — the one place where that is decided — what it costs;
//! - a [`SemanticError`] marks a well-formed route that must not be used (RFC 4271 §6.3,
//!   RFC 7606 §7.3): it is ignored and logged, and the session goes on (the checks themselves
//!   are in [`super::semantic`]).

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use thiserror::Error;

use super::attribute::{
    ATTR_AGGREGATOR, ATTR_AS4_AGGREGATOR, ATTR_AS4_PATH, ATTR_ATOMIC_AGGREGATE, ATTR_CLUSTER_LIST,
    ATTR_LOCAL_PREF, ATTR_MP_REACH_NLRI, ATTR_MP_UNREACH_NLRI, ATTR_ORIGINATOR_ID,
};
use super::family::AfiSafi;
use super::message::MAX_MESSAGE_LEN;
use super::notification::{
    MESSAGE_HEADER_ERROR, Notification, OPEN_MESSAGE_ERROR, ROUTE_REFRESH_ERROR,
    UPDATE_MESSAGE_ERROR, header, open, route_refresh, update,
};

/// Why a message could not be decoded. Each variant ends the session: its
/// [`notification`](DecodeError::notification) is what we send to the peer before closing.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The 16-octet marker is not all ones (1/1).
    #[error("message header marker is not all ones")]
    BadMarker,
    /// The header length is outside 19..=4096 (1/2, data: the length field).
    #[error("message header length {length} is outside 19..=4096")]
    BadLength {
        /// The Length field as received.
        length: u16,
    },
    /// The header length is wrong for the message type (1/2, data: the length field).
    #[error("message type {msg_type} cannot have length {length}")]
    BadLengthForType {
        /// Message type code.
        msg_type: u8,
        /// The Length field as received.
        length: u16,
    },
    /// The frame handed to the decoder is not exactly the message its header announces
    /// (1/2, data: the length field). A caller should pass `buf[..n]` from [`super::frame_length`].
    #[error("frame holds {available} octets but the header says {length}")]
    FrameMismatch {
        /// The Length field.
        length: u16,
        /// Octets in the frame.
        available: usize,
    },
    /// Unknown message type (1/3, data: the type octet).
    #[error("unknown message type {msg_type}")]
    BadType {
        /// Message type code as received.
        msg_type: u8,
    },
    /// OPEN with a version other than 4 (2/1, data: 2-octet version 4).
    #[error("unsupported BGP version {version} (only 4 is spoken)")]
    UnsupportedVersion {
        /// Version as received.
        version: u8,
    },
    /// OPEN with My Autonomous System 0 (2/2, RFC 7607 §2).
    #[error("OPEN carries AS {asn}, which is not a valid peer AS")]
    BadPeerAs {
        /// The My Autonomous System field.
        asn: u16,
    },
    /// OPEN whose 4-octet AS capability cannot be the peer's AS (2/2, data: the capability's
    /// AS, as FRR sends it): 0 (RFC 7607 §2), AS_TRANS (RFC 6793 §2: only a stand-in in
    /// 2-octet fields, never a speaker's own AS), or an AS the 2-octet My Autonomous System
    /// field contradicts (it must be the same AS, or AS_TRANS standing in for it).
    #[error("4-octet AS capability {asn} cannot be the peer's AS (My Autonomous System {my_as})")]
    BadFourOctetAs {
        /// The AS of the capability.
        asn: u32,
        /// The My Autonomous System field.
        my_as: u16,
    },
    /// OPEN with a hold time of 1 or 2 seconds (2/6).
    #[error("hold time {hold_time} s is unacceptable (must be 0 or at least 3)")]
    UnacceptableHoldTime {
        /// Hold time as received.
        hold_time: u16,
    },
    /// OPEN with BGP Identifier 0.0.0.0 (2/3; RFC 6286 allows any other value).
    #[error("BGP identifier {id} is invalid")]
    BadBgpIdentifier {
        /// Identifier as received.
        id: Ipv4Addr,
    },
    /// OPEN optional parameter other than Capabilities (2/4).
    #[error("unsupported optional parameter type {param_type}")]
    UnsupportedOptionalParameter {
        /// Parameter type.
        param_type: u8,
    },
    /// OPEN optional parameters whose lengths do not add up (2/0).
    #[error("malformed optional parameters: {reason}")]
    MalformedOptionalParameters {
        /// What does not add up.
        reason: LengthMismatch,
    },
    /// A capability whose value has the wrong shape (2/0).
    #[error("malformed capability {code}: {reason}")]
    MalformedCapability {
        /// Capability code.
        code: u8,
        /// What is wrong.
        reason: LengthMismatch,
    },
    /// A Graceful Restart capability that cannot be decoded (2/0).
    #[error(transparent)]
    GracefulRestart(#[from] super::capability::GracefulRestartError),
    /// UPDATE whose Withdrawn Routes Length runs past the message (3/1).
    #[error("withdrawn routes length {length} exceeds the {available} octets left")]
    WithdrawnLengthOverrun {
        /// The Withdrawn Routes Length field.
        length: u16,
        /// Octets available for it.
        available: usize,
    },
    /// UPDATE whose Total Path Attribute Length runs past the message (3/1).
    #[error("total path attribute length {length} exceeds the {available} octets left")]
    AttributeLengthOverrun {
        /// The Total Path Attribute Length field (0 if the field itself is missing).
        length: u16,
        /// Octets available for it.
        available: usize,
    },
    /// MP_REACH_NLRI or MP_UNREACH_NLRI appears twice (3/1, RFC 7606 §3 g).
    #[error("attribute {type_code} (MP_REACH/MP_UNREACH) appears more than once")]
    DuplicateMpAttribute {
        /// 14 or 15.
        type_code: u8,
    },
    /// MP_REACH_NLRI or MP_UNREACH_NLRI overruns the attribute list, so its NLRI cannot be
    /// located to withdraw them (3/1).
    #[error("attribute {type_code} (MP_REACH/MP_UNREACH) overruns the attribute list: {reason}")]
    MpAttributeOverrun {
        /// 14 or 15.
        type_code: u8,
        /// The overrun.
        reason: LengthMismatch,
    },
    /// A well-known attribute we do not know (3/2, data: the attribute).
    #[error("unrecognized well-known attribute {type_code}")]
    UnrecognizedWellKnownAttribute {
        /// Type code.
        type_code: u8,
        /// The attribute as received (flags, type, length, value).
        attribute: Vec<u8>,
    },
    /// MP_REACH_NLRI or MP_UNREACH_NLRI is malformed (3/9, RFC 4760 §7 and RFC 7606 §7.11,
    /// data: the attribute).
    #[error("malformed attribute {type_code} (MP_REACH/MP_UNREACH): {reason}")]
    MalformedMpAttribute {
        /// 14 or 15.
        type_code: u8,
        /// What is wrong.
        reason: AttributeError,
        /// The attribute as received (flags, type, length, value).
        attribute: Vec<u8>,
    },
    /// A prefix of the Withdrawn Routes or NLRI field cannot be parsed (3/10, RFC 7606 §5.3).
    #[error("invalid {field} field: {error}")]
    InvalidNetworkField {
        /// Which field.
        field: NlriField,
        /// What is wrong.
        error: NlriError,
    },
    /// ROUTE-REFRESH whose length does not fit its subtype (7/1, RFC 7313 §5, data: the
    /// complete message, cut to what a NOTIFICATION can carry).
    #[error("ROUTE-REFRESH of {length} octets (a request or BoRR/EoRR has 23)")]
    RouteRefreshLength {
        /// The Length field.
        length: u16,
        /// The message as received, header included.
        message: Vec<u8>,
    },
    /// Octets left over after a message whose body has a fixed layout (2/0 for OPEN).
    #[error("OPEN has {extra} octets after its optional parameters")]
    OpenTrailingData {
        /// How many.
        extra: usize,
    },
}

impl DecodeError {
    /// The NOTIFICATION to send for this error, with code, subcode and data as RFC 4271 §6
    /// (and RFC 4760 §7 for the MP attributes) prescribe.
    pub fn notification(&self) -> Notification {
        use DecodeError::*;
        match self {
            BadMarker => {
                Notification::new(MESSAGE_HEADER_ERROR, header::CONNECTION_NOT_SYNCHRONIZED)
            }
            BadLength { length }
            | BadLengthForType { length, .. }
            | FrameMismatch { length, .. } => Notification::with_data(
                MESSAGE_HEADER_ERROR,
                header::BAD_MESSAGE_LENGTH,
                length.to_be_bytes(),
            ),
            BadType { msg_type } => {
                Notification::with_data(MESSAGE_HEADER_ERROR, header::BAD_MESSAGE_TYPE, [*msg_type])
            }
            UnsupportedVersion { .. } => Notification::with_data(
                OPEN_MESSAGE_ERROR,
                open::UNSUPPORTED_VERSION,
                4u16.to_be_bytes(),
            ),
            BadPeerAs { .. } => Notification::new(OPEN_MESSAGE_ERROR, open::BAD_PEER_AS),
            BadFourOctetAs { asn, .. } => {
                Notification::with_data(OPEN_MESSAGE_ERROR, open::BAD_PEER_AS, asn.to_be_bytes())
            }
            RouteRefreshLength { message, .. } => {
                // The NOTIFICATION itself must fit in 4096 octets.
                let room = MAX_MESSAGE_LEN - 21;
                let data = message.get(..room).unwrap_or(message);
                Notification::with_data(
                    ROUTE_REFRESH_ERROR,
                    route_refresh::INVALID_MESSAGE_LENGTH,
                    data,
                )
            }
            UnacceptableHoldTime { .. } => {
                Notification::new(OPEN_MESSAGE_ERROR, open::UNACCEPTABLE_HOLD_TIME)
            }
            BadBgpIdentifier { .. } => {
                Notification::new(OPEN_MESSAGE_ERROR, open::BAD_BGP_IDENTIFIER)
            }
            UnsupportedOptionalParameter { .. } => {
                Notification::new(OPEN_MESSAGE_ERROR, open::UNSUPPORTED_OPTIONAL_PARAMETER)
            }
            MalformedOptionalParameters { .. }
            | MalformedCapability { .. }
            | GracefulRestart(_)
            | OpenTrailingData { .. } => Notification::new(OPEN_MESSAGE_ERROR, 0),
            WithdrawnLengthOverrun { .. }
            | AttributeLengthOverrun { .. }
            | DuplicateMpAttribute { .. }
            | MpAttributeOverrun { .. } => {
                Notification::new(UPDATE_MESSAGE_ERROR, update::MALFORMED_ATTRIBUTE_LIST)
            }
            UnrecognizedWellKnownAttribute { attribute, .. } => Notification::with_data(
                UPDATE_MESSAGE_ERROR,
                update::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
                attribute.clone(),
            ),
            MalformedMpAttribute { attribute, .. } => Notification::with_data(
                UPDATE_MESSAGE_ERROR,
                update::OPTIONAL_ATTRIBUTE_ERROR,
                attribute.clone(),
            ),
            InvalidNetworkField { .. } => {
                Notification::new(UPDATE_MESSAGE_ERROR, update::INVALID_NETWORK_FIELD)
            }
        }
    }
}

/// A length field that disagrees with the octets actually there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("{what} needs {needed} octets but {available} are there")]
pub struct LengthMismatch {
    /// Which field or value.
    pub what: &'static str,
    /// Octets the field asks for (or the exact size the value must have).
    pub needed: usize,
    /// Octets present.
    pub available: usize,
}

/// The two prefix fields of an UPDATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NlriField {
    /// Withdrawn Routes.
    Withdrawn,
    /// Network Layer Reachability Information.
    Nlri,
}

impl std::fmt::Display for NlriField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NlriField::Withdrawn => "Withdrawn Routes",
            NlriField::Nlri => "NLRI",
        })
    }
}

/// A prefix (RFC 4271 §4.3 encoding) that cannot be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum NlriError {
    /// The prefix length is longer than the address.
    #[error("prefix length {length} at offset {offset} exceeds {max}")]
    PrefixTooLong {
        /// Prefix length octet.
        length: u8,
        /// Largest allowed (32 or 128).
        max: u8,
        /// Offset of the length octet in the field.
        offset: usize,
    },
    /// The prefix octets run past the end of the field.
    #[error("prefix /{length} at offset {offset} needs {needed} octets but {available} remain")]
    Overrun {
        /// Prefix length octet.
        length: u8,
        /// Offset of the length octet in the field.
        offset: usize,
        /// Address octets the length asks for.
        needed: usize,
        /// Octets left in the field.
        available: usize,
    },
}

/// What is wrong with one path attribute.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AttributeError {
    /// Optional/Transitive flag bits disagree with the attribute's definition (RFC 7606 §3 c).
    #[error("flags {flags:#04x}: optional/transitive bits must be {expected:#04x}")]
    BadFlags {
        /// Flags as received.
        flags: u8,
        /// Required value of the Optional and Transitive bits.
        expected: u8,
    },
    /// The attribute's length is not one its definition allows.
    #[error("length {length}, expected {expected}")]
    BadLength {
        /// Attribute length as received.
        length: usize,
        /// The allowed lengths, in words.
        expected: &'static str,
    },
    /// The attribute's length runs past the path attribute field (RFC 7606 §4).
    #[error("{0}")]
    Overrun(LengthMismatch),
    /// ORIGIN value other than 0, 1 and 2.
    #[error("undefined ORIGIN value {value}")]
    InvalidOrigin {
        /// Value as received.
        value: u8,
    },
    /// AS_PATH (or AS4_PATH) segment type other than 1..=4.
    #[error("AS path segment type {segment_type} at offset {offset} is undefined")]
    BadSegmentType {
        /// Segment type as received.
        segment_type: u8,
        /// Offset of the segment in the attribute value.
        offset: usize,
    },
    /// AS_PATH segment with a length of zero (RFC 7606 §7.2).
    #[error("AS path segment at offset {offset} is empty")]
    EmptySegment {
        /// Offset of the segment in the attribute value.
        offset: usize,
    },
    /// AS_PATH segment running past the attribute (RFC 7606 §7.2).
    #[error("AS path segment at offset {offset}: {mismatch}")]
    SegmentOverrun {
        /// Offset of the segment in the attribute value.
        offset: usize,
        /// The overrun.
        mismatch: LengthMismatch,
    },
    /// AS number 0 in AS_PATH, AS4_PATH, AGGREGATOR or AS4_AGGREGATOR (RFC 7607 §2).
    #[error("AS number 0 at offset {offset} (RFC 7607)")]
    AsZero {
        /// Offset of the AS number in the attribute value.
        offset: usize,
    },
    /// AS_CONFED_SEQUENCE or AS_CONFED_SET in the AS_PATH of an external peer, which is in no
    /// confederation with us (RFC 5065 §5: a malformed AS_PATH).
    #[error("confederation segment at offset {offset} from an external peer")]
    ConfedSegmentFromExternal {
        /// Offset of the segment in the attribute value.
        offset: usize,
    },
    /// An attribute without the Optional bit whose type we do not know (RFC 4271 §6.3).
    #[error("unrecognized well-known attribute")]
    UnrecognizedWellKnown,
    /// A second copy of an attribute (RFC 7606 §3 g: the first one is kept).
    #[error("attribute repeated; the first occurrence is kept")]
    Duplicate,
    /// A well-known mandatory attribute is missing while NLRI are present (RFC 7606 §3 d).
    #[error("well-known mandatory attribute missing")]
    Missing,
    /// LOCAL_PREF, ORIGINATOR_ID or CLUSTER_LIST, which only internal peers exchange,
    /// received on an eBGP session (RFC 7606 §7.5, §7.9, §7.10).
    #[error("received from an external peer, but only internal peers send it")]
    InternalOnly,
    /// AS4_PATH/AS4_AGGREGATOR received on a session with 4-octet AS numbers (RFC 6793 §4.1).
    #[error("AS4 attribute received on a 4-octet AS session")]
    As4OnFourOctetSession,
    /// MP_REACH_NLRI/MP_UNREACH_NLRI for an address family we did not negotiate.
    #[error("address family {afi_safi} is not supported")]
    UnsupportedFamily {
        /// The family as received.
        afi_safi: AfiSafi,
    },
    /// MP_REACH_NLRI next hop length does not fit the address family (RFC 7606 §7.11).
    #[error("next hop length {length} does not fit {afi_safi}")]
    MpNextHopLength {
        /// Family.
        afi_safi: AfiSafi,
        /// Next hop length as received.
        length: u8,
    },
    /// MP_REACH_NLRI/MP_UNREACH_NLRI shorter than its fixed fields.
    #[error("{0}")]
    MpTruncated(LengthMismatch),
    /// A prefix inside MP_REACH_NLRI/MP_UNREACH_NLRI cannot be parsed.
    #[error("{0}")]
    MpNlri(NlriError),
}

/// What RFC 7606 makes of an attribute error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handling {
    /// Withdraw every route of the UPDATE (RFC 7606 §2).
    TreatAsWithdraw,
    /// Drop the attribute (RFC 7606 §2).
    AttributeDiscard,
    /// Send a NOTIFICATION and close (RFC 4271 §6, where RFC 7606 keeps it).
    SessionReset,
}

/// The single place where RFC 7606 (with RFC 4760 §7, RFC 5065 §5, RFC 6793 §6, RFC 7607 §2
/// and RFC 8092 §6) decides what an attribute error costs. Pure; the decoder only reports
/// *what* is wrong.
pub(crate) fn rfc7606_handling(type_code: u8, error: &AttributeError) -> Handling {
    use AttributeError as E;
    use Handling::*;
    match (type_code, error) {
        // §3 g: repeats of non-MP attributes are dropped, the first is kept (MP repeats are
        // a session reset decided by the parser before it gets here).
        (_, E::Duplicate) => AttributeDiscard,
        // RFC 4271 §6.3, unchanged by RFC 7606.
        (_, E::UnrecognizedWellKnown) => SessionReset,
        // Families we never negotiate: see the module comment of `decode`.
        (ATTR_MP_REACH_NLRI | ATTR_MP_UNREACH_NLRI, E::UnsupportedFamily { .. }) => {
            AttributeDiscard
        }
        // §3 c: the attribute parsed fine, so its prefixes can be withdrawn.
        (ATTR_MP_REACH_NLRI | ATTR_MP_UNREACH_NLRI, E::BadFlags { .. }) => TreatAsWithdraw,
        // §7.11, §5.3, RFC 4760 §7: NLRI cannot be located.
        (ATTR_MP_REACH_NLRI | ATTR_MP_UNREACH_NLRI, _) => SessionReset,
        // §7.5, §7.9, §7.10: attributes of internal peers from an external one.
        (ATTR_LOCAL_PREF | ATTR_ORIGINATOR_ID | ATTR_CLUSTER_LIST, E::InternalOnly) => {
            AttributeDiscard
        }
        // RFC 6793 §6 (and §4.1 for AS4 attributes on a 4-octet session); RFC 7607 §2 sends
        // AS 0 in them here too.
        (ATTR_AS4_PATH | ATTR_AS4_AGGREGATOR, _) => AttributeDiscard,
        // §7.6, §7.7: a wrong length only costs the attribute; RFC 7607 §2: AS 0 in
        // AGGREGATOR is malformed, §7.7 makes that attribute-discard too.
        (ATTR_ATOMIC_AGGREGATE | ATTR_AGGREGATOR, E::BadLength { .. }) => AttributeDiscard,
        (ATTR_AGGREGATOR, E::AsZero { .. }) => AttributeDiscard,
        // Everything else: ORIGIN §7.1, AS_PATH §7.2 (with AS 0, RFC 7607 §2, and
        // confederation segments from an external peer, RFC 5065 §5), NEXT_HOP §7.3 (its
        // length; a semantically wrong address is a `SemanticError`), MED §7.4, LOCAL_PREF
        // §7.5, COMMUNITIES §7.8, ORIGINATOR_ID §7.9, CLUSTER_LIST §7.10, EXTENDED
        // COMMUNITIES §7.14, IPv6 ADDRESS SPECIFIC EXTENDED COMMUNITY §7.15, LARGE_COMMUNITY
        // RFC 8092 §6, flags §3 c, overruns §4, missing well-known attributes §3 d.
        _ => TreatAsWithdraw,
    }
}

/// A well-formed route that must not be used (RFC 4271 §6.3, RFC 7606 §7.3): it is ignored —
/// not installed and not used in the decision process — the error is logged, and no
/// NOTIFICATION is sent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SemanticError {
    /// The next hop is an address no router can forward to: 0.0.0.0/8, multicast or the
    /// reserved class E (with the limited broadcast) for IPv4; the unspecified address or
    /// multicast for IPv6.
    #[error("NEXT_HOP {address} is not a unicast host address ({class})")]
    NextHopNotUnicast {
        /// The next hop as received.
        address: IpAddr,
        /// Which kind of address it is.
        class: &'static str,
    },
    /// The next hop is one of the receiving router's own addresses (RFC 4271 §6.3 a).
    #[error("NEXT_HOP {address} is one of our own addresses")]
    NextHopIsOurs {
        /// The next hop as received.
        address: IpAddr,
    },
    /// A unicast NLRI that is no unicast destination (RFC 4271 §6.3: "an unexpected multicast
    /// IP address"; IPv6 link-local prefixes are refused as FRR does).
    #[error("prefix {prefix} is not a unicast destination ({class})")]
    PrefixNotUnicast {
        /// The prefix as received.
        prefix: IpNet,
        /// Which kind of address it is.
        class: &'static str,
    },
}

/// What the decoder did with an UPDATE that had an attribute error it could survive
/// (RFC 7606 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateAction {
    /// Every route of the UPDATE was turned into a withdrawal and its attributes dropped.
    TreatAsWithdraw,
    /// The faulty attribute was dropped; the rest of the UPDATE stands.
    AttributeDiscard,
}

/// One attribute error the decoder survived, to be logged and counted by the session.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("attribute {type_code}: {reason} ({action:?})")]
pub struct UpdateIssue {
    /// What the decoder did about it.
    pub action: UpdateAction,
    /// Type code of the attribute at fault (0 if even that could not be read).
    pub type_code: u8,
    /// What was wrong.
    pub reason: AttributeError,
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// A Graceful Restart capability that cannot be encoded.
    #[error(transparent)]
    GracefulRestart(#[from] super::capability::GracefulRestartError),
    /// The message would exceed 4096 octets.
    #[error("message of {length} octets exceeds the 4096-octet limit")]
    TooLong {
        /// Length it would have had.
        length: usize,
    },
    /// A capability value longer than 255 octets.
    #[error("capability {code} value of {length} octets exceeds 255")]
    CapabilityTooLong {
        /// Capability code.
        code: u8,
        /// Value length.
        length: usize,
    },
    /// An AS path segment with more than 255 AS numbers.
    #[error("AS path segment of {length} AS numbers exceeds 255")]
    SegmentTooLong {
        /// Number of AS numbers.
        length: usize,
    },
    /// An attribute value longer than 65535 octets.
    #[error("attribute {type_code} value of {length} octets exceeds 65535")]
    AttributeTooLong {
        /// Type code.
        type_code: u8,
        /// Value length.
        length: usize,
    },
    /// A field holds a value the wire format cannot carry.
    #[error("{field} value {value} is out of range")]
    OutOfRange {
        /// Field name.
        field: &'static str,
        /// Offending value.
        value: u64,
    },
    /// A prefix or next hop of the wrong address family.
    #[error("{what} does not belong to {afi_safi}")]
    FamilyMismatch {
        /// The family.
        afi_safi: AfiSafi,
        /// What did not fit, printed.
        what: String,
    },
    /// An address family the encoder cannot produce NLRI for.
    #[error("address family {afi_safi} is not supported")]
    UnsupportedFamily {
        /// The family.
        afi_safi: AfiSafi,
    },
    /// An IPv4 announcement without NEXT_HOP.
    #[error("IPv4 routes need a NEXT_HOP attribute")]
    MissingNextHop,
}

#[cfg(test)]
mod tests {
    use super::super::attribute::*;
    use super::*;

    fn bad_length() -> AttributeError {
        AttributeError::BadLength {
            length: 3,
            expected: "4",
        }
    }

    /// One row per RFC rule: the attribute, what is wrong with it, and what it costs.
    #[test]
    fn each_attribute_error_costs_what_rfc_7606_says() {
        use AttributeError as E;
        use Handling::*;
        let unsupported = E::UnsupportedFamily {
            afi_safi: AfiSafi::new(25, 70),
        };
        let flags = E::BadFlags {
            flags: 0x40,
            expected: 0x80,
        };
        let table: Vec<(&str, u8, AttributeError, Handling)> = vec![
            ("§3 g repeat", ATTR_MED, E::Duplicate, AttributeDiscard),
            (
                "RFC 4271 unknown well-known",
                99,
                E::UnrecognizedWellKnown,
                SessionReset,
            ),
            (
                "MP_REACH other family",
                ATTR_MP_REACH_NLRI,
                unsupported,
                AttributeDiscard,
            ),
            (
                "§3 c MP_REACH flags",
                ATTR_MP_REACH_NLRI,
                flags.clone(),
                TreatAsWithdraw,
            ),
            (
                "§7.11 MP_REACH length",
                ATTR_MP_REACH_NLRI,
                bad_length(),
                SessionReset,
            ),
            (
                "§7.11 MP_UNREACH",
                ATTR_MP_UNREACH_NLRI,
                bad_length(),
                SessionReset,
            ),
            (
                "§7.1 ORIGIN",
                ATTR_ORIGIN,
                E::InvalidOrigin { value: 3 },
                TreatAsWithdraw,
            ),
            (
                "§7.2 AS_PATH",
                ATTR_AS_PATH,
                E::EmptySegment { offset: 0 },
                TreatAsWithdraw,
            ),
            (
                "RFC 7607 AS_PATH",
                ATTR_AS_PATH,
                E::AsZero { offset: 2 },
                TreatAsWithdraw,
            ),
            (
                "RFC 5065 confed from eBGP",
                ATTR_AS_PATH,
                E::ConfedSegmentFromExternal { offset: 0 },
                TreatAsWithdraw,
            ),
            (
                "§7.3 NEXT_HOP length",
                ATTR_NEXT_HOP,
                bad_length(),
                TreatAsWithdraw,
            ),
            ("§7.4 MED", ATTR_MED, bad_length(), TreatAsWithdraw),
            (
                "§7.5 LOCAL_PREF from eBGP",
                ATTR_LOCAL_PREF,
                E::InternalOnly,
                AttributeDiscard,
            ),
            (
                "§7.5 LOCAL_PREF length",
                ATTR_LOCAL_PREF,
                bad_length(),
                TreatAsWithdraw,
            ),
            (
                "§7.6 ATOMIC_AGGREGATE",
                ATTR_ATOMIC_AGGREGATE,
                bad_length(),
                AttributeDiscard,
            ),
            (
                "§7.7 AGGREGATOR",
                ATTR_AGGREGATOR,
                bad_length(),
                AttributeDiscard,
            ),
            (
                "RFC 7607 AGGREGATOR",
                ATTR_AGGREGATOR,
                E::AsZero { offset: 0 },
                AttributeDiscard,
            ),
            (
                "§7.8 COMMUNITIES",
                ATTR_COMMUNITIES,
                bad_length(),
                TreatAsWithdraw,
            ),
            (
                "§7.9 ORIGINATOR_ID eBGP",
                ATTR_ORIGINATOR_ID,
                E::InternalOnly,
                AttributeDiscard,
            ),
            (
                "§7.9 ORIGINATOR_ID",
                ATTR_ORIGINATOR_ID,
                bad_length(),
                TreatAsWithdraw,
            ),
            (
                "§7.10 CLUSTER_LIST eBGP",
                ATTR_CLUSTER_LIST,
                E::InternalOnly,
                AttributeDiscard,
            ),
            (
                "§7.10 CLUSTER_LIST",
                ATTR_CLUSTER_LIST,
                bad_length(),
                TreatAsWithdraw,
            ),
            (
                "§7.14 EXTENDED",
                ATTR_EXTENDED_COMMUNITIES,
                bad_length(),
                TreatAsWithdraw,
            ),
            (
                "§7.15 IPv6 EXTENDED",
                ATTR_IPV6_EXTENDED_COMMUNITIES,
                bad_length(),
                TreatAsWithdraw,
            ),
            (
                "RFC 8092 §6 LARGE",
                ATTR_LARGE_COMMUNITIES,
                bad_length(),
                TreatAsWithdraw,
            ),
            (
                "RFC 6793 §6 AS4_PATH",
                ATTR_AS4_PATH,
                bad_length(),
                AttributeDiscard,
            ),
            (
                "RFC 7607 AS4_PATH",
                ATTR_AS4_PATH,
                E::AsZero { offset: 2 },
                AttributeDiscard,
            ),
            (
                "RFC 6793 §4.1",
                ATTR_AS4_PATH,
                E::As4OnFourOctetSession,
                AttributeDiscard,
            ),
            (
                "RFC 7607 AS4_AGGREGATOR",
                ATTR_AS4_AGGREGATOR,
                E::AsZero { offset: 0 },
                AttributeDiscard,
            ),
            ("§3 c flags", ATTR_ORIGIN, flags, TreatAsWithdraw),
            ("§3 d missing", ATTR_NEXT_HOP, E::Missing, TreatAsWithdraw),
        ];
        for (rule, type_code, error, expected) in table {
            assert_eq!(
                rfc7606_handling(type_code, &error),
                expected,
                "{rule}: {error}"
            );
        }
    }
}
