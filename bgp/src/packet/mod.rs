//! The BGP wire format: pure encode/decode of messages, capabilities and path attributes,
//! with RFC 7606 error handling. No I/O happens here.

pub mod attribute;
pub mod capability;
pub mod decode;
pub mod encode;
pub mod error;
pub mod family;
pub mod message;
mod nlri;
pub mod notification;
mod reader;
pub mod semantic;
#[cfg(test)]
mod tests;

pub use attribute::{
    Aggregator, AsPath, AsSegment, Community, ExtCommunity, LargeCommunity, Origin, PathAttributes,
    RawAttribute, SegmentType,
};
pub use capability::{
    AddPathFamily, Capability, GracefulRestart, GracefulRestartError, GracefulRestartFamily,
    MAX_RESTART_TIME,
};
pub use decode::{DecodeOptions, Decoded, decode_message, frame_length};
pub use encode::{
    EncodeOptions, encode_announce_ipv4, encode_announce_mp, encode_end_of_rib, encode_message,
    encode_withdraw,
};
pub use error::{
    AttributeError, DecodeError, EncodeError, LengthMismatch, NlriError, NlriField, SemanticError,
    UpdateAction, UpdateIssue,
};
pub use family::{AfiSafi, Family};
pub use message::{Message, MpReach, MpUnreach, Open, RefreshSubtype, RouteRefresh, Update};
pub use notification::Notification;
