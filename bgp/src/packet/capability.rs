//! OPEN message capabilities (RFC 5492) and the values this implementation understands.

use super::family::AfiSafi;

/// Capability code: Multiprotocol Extensions (RFC 4760).
pub const CAP_MULTIPROTOCOL: u8 = 1;
/// Capability code: Route Refresh (RFC 2918).
pub const CAP_ROUTE_REFRESH: u8 = 2;
/// Capability code: Graceful Restart (RFC 4724).
pub const CAP_GRACEFUL_RESTART: u8 = 64;
/// Capability code: 4-octet AS numbers (RFC 6793).
pub const CAP_FOUR_OCTET_AS: u8 = 65;
/// Capability code: ADD-PATH (RFC 7911).
pub const CAP_ADD_PATH: u8 = 69;

/// One capability of an OPEN message. Capabilities we parse but do not implement
/// (graceful restart, add-path) are decoded so they can be logged and refused cleanly;
/// anything else is kept raw.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Multiprotocol Extensions for one AFI/SAFI.
    Multiprotocol(AfiSafi),
    /// Route Refresh.
    RouteRefresh,
    /// 4-octet AS number support, carrying the speaker's real AS.
    FourOctetAs(u32),
    /// Graceful Restart (parsed, not implemented: we never advertise it).
    GracefulRestart(GracefulRestart),
    /// ADD-PATH (parsed, not implemented: we never advertise it, so peers must not send paths ids).
    AddPath(Vec<AddPathFamily>),
    /// Any other capability, kept as received.
    Unknown {
        /// Capability code.
        code: u8,
        /// Capability value bytes.
        value: Vec<u8>,
    },
}

/// The value of a Graceful Restart capability (RFC 4724 §3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GracefulRestart {
    /// The four Restart Flags bits (high nibble of the first octet), as a 4-bit value.
    pub restart_flags: u8,
    /// Restart Time in seconds (12 bits).
    pub restart_time: u16,
    /// Families with their per-family flags octet.
    pub families: Vec<(AfiSafi, u8)>,
}

/// One family of an ADD-PATH capability (RFC 7911 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddPathFamily {
    /// The family.
    pub afi_safi: AfiSafi,
    /// 1 = receive, 2 = send, 3 = both.
    pub send_receive: u8,
}
