//! Errors of the wire codec.
//!
//! Decoding has two outcomes for bad input: a [`DecodeError`], which ends the session with the
//! NOTIFICATION that [`DecodeError::notification`] builds (RFC 4271 §6), or an [`UpdateIssue`]
//! recorded next to a still usable UPDATE (RFC 7606 "treat-as-withdraw" and "attribute
//! discard"). [`AttributeError`] says precisely what was wrong with one path attribute in
//! either case.

use std::net::{IpAddr, Ipv4Addr};

use thiserror::Error;

use super::family::AfiSafi;
use super::notification::{
    MESSAGE_HEADER_ERROR, Notification, OPEN_MESSAGE_ERROR, UPDATE_MESSAGE_ERROR, header, open,
    update,
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
    /// OPEN with My Autonomous System 0 (2/2).
    #[error("OPEN carries AS {asn}, which is not a valid peer AS")]
    BadPeerAs {
        /// The My Autonomous System field.
        asn: u16,
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
    /// NEXT_HOP that is no unicast host address (RFC 7606 §7.3, RFC 4271 §6.3).
    #[error("next hop {address} is not a unicast host address")]
    InvalidNextHop {
        /// Address as received.
        address: IpAddr,
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
    /// LOCAL_PREF received on an eBGP session (RFC 7606 §7.5).
    #[error("LOCAL_PREF received from an external peer")]
    LocalPrefFromExternal,
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
