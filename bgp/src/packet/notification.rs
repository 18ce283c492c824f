//! NOTIFICATION messages: error codes and subcodes of RFC 4271 §4.5/§6 (and RFC 4486 for
//! Cease), with the names FRR prints for them.

use std::fmt;

/// Error code 1: Message Header Error.
pub const MESSAGE_HEADER_ERROR: u8 = 1;
/// Error code 2: OPEN Message Error.
pub const OPEN_MESSAGE_ERROR: u8 = 2;
/// Error code 3: UPDATE Message Error.
pub const UPDATE_MESSAGE_ERROR: u8 = 3;
/// Error code 4: Hold Timer Expired.
pub const HOLD_TIMER_EXPIRED: u8 = 4;
/// Error code 5: Finite State Machine Error.
pub const FSM_ERROR: u8 = 5;
/// Error code 6: Cease.
pub const CEASE: u8 = 6;
/// Error code 7: ROUTE-REFRESH Message Error (RFC 7313).
pub const ROUTE_REFRESH_ERROR: u8 = 7;

/// Message Header Error subcodes.
pub mod header {
    /// Connection Not Synchronized (bad marker).
    pub const CONNECTION_NOT_SYNCHRONIZED: u8 = 1;
    /// Bad Message Length.
    pub const BAD_MESSAGE_LENGTH: u8 = 2;
    /// Bad Message Type.
    pub const BAD_MESSAGE_TYPE: u8 = 3;
}

/// OPEN Message Error subcodes.
pub mod open {
    /// Unsupported Version Number.
    pub const UNSUPPORTED_VERSION: u8 = 1;
    /// Bad Peer AS.
    pub const BAD_PEER_AS: u8 = 2;
    /// Bad BGP Identifier.
    pub const BAD_BGP_IDENTIFIER: u8 = 3;
    /// Unsupported Optional Parameter.
    pub const UNSUPPORTED_OPTIONAL_PARAMETER: u8 = 4;
    /// Unacceptable Hold Time.
    pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
    /// Unsupported Capability (RFC 5492).
    pub const UNSUPPORTED_CAPABILITY: u8 = 7;
}

/// UPDATE Message Error subcodes.
pub mod update {
    /// Malformed Attribute List.
    pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
    /// Unrecognized Well-known Attribute.
    pub const UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: u8 = 2;
    /// Missing Well-known Attribute.
    pub const MISSING_WELL_KNOWN_ATTRIBUTE: u8 = 3;
    /// Attribute Flags Error.
    pub const ATTRIBUTE_FLAGS_ERROR: u8 = 4;
    /// Attribute Length Error.
    pub const ATTRIBUTE_LENGTH_ERROR: u8 = 5;
    /// Invalid ORIGIN Attribute.
    pub const INVALID_ORIGIN_ATTRIBUTE: u8 = 6;
    /// Invalid NEXT_HOP Attribute.
    pub const INVALID_NEXT_HOP_ATTRIBUTE: u8 = 8;
    /// Optional Attribute Error.
    pub const OPTIONAL_ATTRIBUTE_ERROR: u8 = 9;
    /// Invalid Network Field.
    pub const INVALID_NETWORK_FIELD: u8 = 10;
    /// Malformed AS_PATH.
    pub const MALFORMED_AS_PATH: u8 = 11;
}

/// ROUTE-REFRESH Message Error subcodes (RFC 7313 §5).
pub mod route_refresh {
    /// Invalid Message Length.
    pub const INVALID_MESSAGE_LENGTH: u8 = 1;
}

/// Cease subcodes (RFC 4486).
pub mod cease {
    /// Maximum Number of Prefixes Reached.
    pub const MAX_PREFIXES: u8 = 1;
    /// Administrative Shutdown.
    pub const ADMIN_SHUTDOWN: u8 = 2;
    /// Peer De-configured.
    pub const PEER_DECONFIGURED: u8 = 3;
    /// Administrative Reset.
    pub const ADMIN_RESET: u8 = 4;
    /// Connection Rejected.
    pub const CONNECTION_REJECTED: u8 = 5;
    /// Other Configuration Change.
    pub const OTHER_CONFIG_CHANGE: u8 = 6;
    /// Connection Collision Resolution.
    pub const CONNECTION_COLLISION: u8 = 7;
    /// Out of Resources.
    pub const OUT_OF_RESOURCES: u8 = 8;
    /// Hard Reset (RFC 8538).
    pub const HARD_RESET: u8 = 9;
    /// BFD Down (RFC 9384): the BFD session bound to the BGP session went down.
    pub const BFD_DOWN: u8 = 10;
}

/// A NOTIFICATION message: an error code, a subcode and diagnostic data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Notification {
    /// Error code.
    pub code: u8,
    /// Error subcode (0 = unspecific).
    pub subcode: u8,
    /// Data, whose meaning depends on code and subcode.
    pub data: Vec<u8>,
}

impl Notification {
    /// A notification with no data.
    pub fn new(code: u8, subcode: u8) -> Self {
        Notification {
            code,
            subcode,
            data: Vec::new(),
        }
    }

    /// A notification with diagnostic data.
    pub fn with_data(code: u8, subcode: u8, data: impl Into<Vec<u8>>) -> Self {
        Notification {
            code,
            subcode,
            data: data.into(),
        }
    }

    /// The error code's name, as FRR prints it.
    pub fn code_name(&self) -> &'static str {
        match self.code {
            MESSAGE_HEADER_ERROR => "Message Header Error",
            OPEN_MESSAGE_ERROR => "OPEN Message Error",
            UPDATE_MESSAGE_ERROR => "UPDATE Message Error",
            HOLD_TIMER_EXPIRED => "Hold Timer Expired",
            FSM_ERROR => "Neighbor Events Error",
            CEASE => "Cease",
            ROUTE_REFRESH_ERROR => "ROUTE-REFRESH Message Error",
            _ => "Unknown Error",
        }
    }

    /// The subcode's name, as FRR prints it.
    pub fn subcode_name(&self) -> &'static str {
        match (self.code, self.subcode) {
            (_, 0) => "Unspecific",
            (MESSAGE_HEADER_ERROR, header::CONNECTION_NOT_SYNCHRONIZED) => {
                "Connection Not Synchronized"
            }
            (MESSAGE_HEADER_ERROR, header::BAD_MESSAGE_LENGTH) => "Bad Message Length",
            (MESSAGE_HEADER_ERROR, header::BAD_MESSAGE_TYPE) => "Bad Message Type",
            (OPEN_MESSAGE_ERROR, open::UNSUPPORTED_VERSION) => "Unsupported Version Number",
            (OPEN_MESSAGE_ERROR, open::BAD_PEER_AS) => "Bad Peer AS",
            (OPEN_MESSAGE_ERROR, open::BAD_BGP_IDENTIFIER) => "Bad BGP Identifier",
            (OPEN_MESSAGE_ERROR, open::UNSUPPORTED_OPTIONAL_PARAMETER) => {
                "Unsupported Optional Parameter"
            }
            (OPEN_MESSAGE_ERROR, open::UNACCEPTABLE_HOLD_TIME) => "Unacceptable Hold Time",
            (OPEN_MESSAGE_ERROR, open::UNSUPPORTED_CAPABILITY) => "Unsupported Capability",
            (UPDATE_MESSAGE_ERROR, update::MALFORMED_ATTRIBUTE_LIST) => "Malformed Attribute List",
            (UPDATE_MESSAGE_ERROR, update::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE) => {
                "Unrecognized Well-known Attribute"
            }
            (UPDATE_MESSAGE_ERROR, update::MISSING_WELL_KNOWN_ATTRIBUTE) => {
                "Missing Well-known Attribute"
            }
            (UPDATE_MESSAGE_ERROR, update::ATTRIBUTE_FLAGS_ERROR) => "Attribute Flags Error",
            (UPDATE_MESSAGE_ERROR, update::ATTRIBUTE_LENGTH_ERROR) => "Attribute Length Error",
            (UPDATE_MESSAGE_ERROR, update::INVALID_ORIGIN_ATTRIBUTE) => "Invalid ORIGIN Attribute",
            (UPDATE_MESSAGE_ERROR, update::INVALID_NEXT_HOP_ATTRIBUTE) => {
                "Invalid NEXT_HOP Attribute"
            }
            (UPDATE_MESSAGE_ERROR, update::OPTIONAL_ATTRIBUTE_ERROR) => "Optional Attribute Error",
            (UPDATE_MESSAGE_ERROR, update::INVALID_NETWORK_FIELD) => "Invalid Network Field",
            (UPDATE_MESSAGE_ERROR, update::MALFORMED_AS_PATH) => "Malformed AS_PATH",
            (ROUTE_REFRESH_ERROR, route_refresh::INVALID_MESSAGE_LENGTH) => {
                "Invalid Message Length"
            }
            (CEASE, cease::MAX_PREFIXES) => "Maximum Number of Prefixes Reached",
            (CEASE, cease::ADMIN_SHUTDOWN) => "Administrative Shutdown",
            (CEASE, cease::PEER_DECONFIGURED) => "Peer De-configured",
            (CEASE, cease::ADMIN_RESET) => "Administrative Reset",
            (CEASE, cease::CONNECTION_REJECTED) => "Connection Rejected",
            (CEASE, cease::OTHER_CONFIG_CHANGE) => "Other Configuration Change",
            (CEASE, cease::CONNECTION_COLLISION) => "Connection Collision Resolution",
            (CEASE, cease::OUT_OF_RESOURCES) => "Out of Resources",
            (CEASE, cease::HARD_RESET) => "Hard Reset",
            (CEASE, cease::BFD_DOWN) => "BFD Down",
            _ => "Unknown Subcode",
        }
    }
}

impl fmt::Display for Notification {
    /// `Code/Subcode (n/m)`, e.g. `OPEN Message Error/Bad Peer AS (2/2)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} ({}/{})",
            self.code_name(),
            self.subcode_name(),
            self.code,
            self.subcode
        )
    }
}
