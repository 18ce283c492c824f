//! The BGP wire format: pure encode/decode of messages, capabilities and path attributes,
//! with RFC 7606 error handling. No I/O happens here.

pub mod attribute;
pub mod capability;
pub mod family;
pub mod message;
pub mod notification;

pub use attribute::{
    Aggregator, AsPath, AsSegment, Community, ExtCommunity, LargeCommunity, Origin,
    PathAttributes, RawAttribute, SegmentType,
};
pub use capability::{AddPathFamily, Capability, GracefulRestart};
pub use family::{AfiSafi, Family};
pub use message::{Message, MpReach, MpUnreach, Open, RouteRefresh, Update};
pub use notification::Notification;
