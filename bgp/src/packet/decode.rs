//! Decoding of BGP messages: two-phase framing ([`frame_length`], then [`decode_message`]) and
//! RFC 7606 error handling for UPDATEs.
//!
//! All RFC 7606 decisions are made by one function, [`super::error::rfc7606_handling`]; the
//! parsers only say *what* is wrong ([`AttributeError`]). Semantic checks of well-formed
//! routes (next hops, unicast prefixes) are not made here but at import
//! ([`super::semantic`]). Decisions where the RFCs leave room:
//!
//! - MP_REACH_NLRI/MP_UNREACH_NLRI that cannot be parsed (truncated, next hop length that does
//!   not fit the family, bad prefix inside) reset the session with 3/9 Optional Attribute
//!   Error and the attribute as data (RFC 4760 §7; RFC 7606 §7.11 and §5.3 rule out
//!   treat-as-withdraw because the NLRI cannot be located reliably). We do not implement
//!   "AFI/SAFI disable".
//! - MP_REACH_NLRI/MP_UNREACH_NLRI for an AFI/SAFI other than IPv4/IPv6 unicast is dropped
//!   with an [`UpdateAction::AttributeDiscard`] issue: we never negotiate such families, the
//!   attribute is self-delimiting so the rest of the UPDATE is reliable, and its routes are
//!   of no use to us (FRR likewise ignores them). An MP_UNREACH_NLRI of such a family with no
//!   prefix is kept, though: it is that family's End-of-RIB marker (RFC 4724 §2), and without
//!   it the UPDATE would look like IPv4 unicast's.
//! - MP_REACH_NLRI/MP_UNREACH_NLRI with wrong flags is parsed anyway and then
//!   treat-as-withdraw applies (RFC 7606 §3 c), so its prefixes become withdrawals.
//! - An attribute overrunning the attribute field is treat-as-withdraw (RFC 7606 §4) unless it
//!   is MP_REACH/MP_UNREACH, whose prefixes could then not be withdrawn: session reset 3/1.
//! - BGP Identifier: only 0.0.0.0 is refused (2/3), as RFC 6286 §2.1 allows any other value.
//! - Malformed OPEN optional parameters or capabilities: 2/0 (no subcode fits better; FRR does
//!   the same).
//! - AS4_PATH/AS4_AGGREGATOR errors are attribute-discard (RFC 6793 §6); on a 4-octet session
//!   they are discarded as RFC 6793 §6 says, and recorded as an issue. Confederation segments
//!   in AS4_PATH are dropped and the rest of it is used (RFC 6793 §6).
//! - AS number 0 (RFC 7607 §2) makes AS_PATH malformed (treat-as-withdraw) from any peer,
//!   internal ones included; in AS4_PATH, AGGREGATOR and AS4_AGGREGATOR it costs the
//!   attribute (RFC 6793 §6, RFC 7606 §7.7), as RFC 7607 §2 points there.
//! - We are in no confederation, so an external peer's AS_PATH with confederation segments
//!   is malformed (RFC 5065 §5, treat-as-withdraw); an internal peer's is kept.
//! - ROUTE-REFRESH (RFC 7313 §5): a request, BoRR or EoRR whose body is not 4 octets (or
//!   that is too short to hold a subtype) resets with 7/1 and the whole message as data; a
//!   message with an unknown subtype is decoded whatever its length, to be ignored.

use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::attribute::*;
use super::capability::*;
use super::error::{
    AttributeError, DecodeError, Handling, LengthMismatch, NlriField, UpdateAction, UpdateIssue,
    rfc7606_handling,
};
use super::family::{AfiSafi, Family};
use super::message::*;
use super::nlri;
use super::notification::Notification;
use super::reader::Reader;

/// Session facts the decoder needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Both sides announced the 4-octet AS capability: AS_PATH and AGGREGATOR carry 4-octet
    /// AS numbers. When false, AS4_PATH/AS4_AGGREGATOR are merged in (RFC 6793 §4.2.3).
    pub four_octet_as: bool,
    /// The peer is external (eBGP): LOCAL_PREF is discarded (RFC 7606 §7.5).
    pub external: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            four_octet_as: true,
            external: false,
        }
    }
}

/// A decoded message with the attribute errors that were survived on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The message, after any treat-as-withdraw or attribute-discard.
    pub message: Message,
    /// Attribute errors handled per RFC 7606 (empty for anything but UPDATE).
    pub issues: Vec<UpdateIssue>,
}

/// Minimum total length of each message type (RFC 4271 §4, RFC 2918 §3).
fn length_allowed(msg_type: u8, length: u16) -> bool {
    match msg_type {
        MSG_OPEN => length >= 29,
        MSG_UPDATE => length >= 23,
        MSG_NOTIFICATION => length >= 21,
        MSG_KEEPALIVE => length == 19,
        // Checked against the subtype once the body is there (RFC 7313 §5).
        MSG_ROUTE_REFRESH => true,
        _ => false,
    }
}

/// Validates the 19-octet header; `None` if fewer than 19 octets are buffered.
fn check_header(buf: &[u8]) -> Result<Option<(u16, u8)>, DecodeError> {
    let Some(header) = buf.first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let [marker @ .., hi, lo, msg_type] = header;
    if marker.iter().any(|&b| b != 0xFF) {
        return Err(DecodeError::BadMarker);
    }
    let length = u16::from_be_bytes([*hi, *lo]);
    if usize::from(length) < HEADER_LEN || usize::from(length) > MAX_MESSAGE_LEN {
        return Err(DecodeError::BadLength { length });
    }
    let msg_type = *msg_type;
    if !(MSG_OPEN..=MSG_ROUTE_REFRESH).contains(&msg_type) {
        return Err(DecodeError::BadType { msg_type });
    }
    if !length_allowed(msg_type, length) {
        return Err(DecodeError::BadLengthForType { msg_type, length });
    }
    Ok(Some((length, msg_type)))
}

/// First phase of framing: checks the header of the message at the start of `buf`.
///
/// Returns `Ok(None)` while fewer than 19 octets, or fewer than the whole message, are
/// buffered, and `Ok(Some(n))` once the message `buf[..n]` is complete. Marker, length,
/// type and the per-type length are validated from the header alone, so a peer cannot make
/// us wait for (or buffer) the body of a message that is bad anyway.
pub fn frame_length(buf: &[u8]) -> Result<Option<usize>, DecodeError> {
    let Some((length, _)) = check_header(buf)? else {
        return Ok(None);
    };
    let n = usize::from(length);
    Ok((buf.len() >= n).then_some(n))
}

/// Second phase of framing: decodes one whole message (`frame` is exactly the message, as
/// [`frame_length`] delimited it).
pub fn decode_message(frame: &[u8], opts: &DecodeOptions) -> Result<Decoded, DecodeError> {
    let Some((length, msg_type)) = check_header(frame)? else {
        return Err(DecodeError::BadLength {
            length: u16::try_from(frame.len()).unwrap_or(u16::MAX),
        });
    };
    if frame.len() != usize::from(length) {
        return Err(DecodeError::FrameMismatch {
            length,
            available: frame.len(),
        });
    }
    let body = frame.get(HEADER_LEN..).unwrap_or_default();
    let plain = |message| Decoded {
        message,
        issues: Vec::new(),
    };
    match msg_type {
        MSG_OPEN => decode_open(body).map(|o| plain(Message::Open(o))),
        MSG_UPDATE => decode_update(body, opts),
        MSG_NOTIFICATION => Ok(plain(Message::Notification(decode_notification(body)))),
        MSG_KEEPALIVE => Ok(plain(Message::Keepalive)),
        _ => decode_route_refresh(frame, length).map(|rr| plain(Message::RouteRefresh(rr))),
    }
}

fn decode_notification(body: &[u8]) -> Notification {
    match body {
        [code, subcode, data @ ..] => Notification::with_data(*code, *subcode, data),
        // Unreachable: the header check guarantees at least two body octets.
        _ => Notification::new(0, 0),
    }
}

/// RFC 7313 §5: requests, BoRR and EoRR have a 4-octet body; a message with another subtype
/// is ignored by the receiver, so its length is nobody's business.
fn decode_route_refresh(frame: &[u8], length: u16) -> Result<RouteRefresh, DecodeError> {
    let body = frame.get(HEADER_LEN..).unwrap_or_default();
    let subtype = body.get(2).copied().map(RefreshSubtype::from_octet);
    let afi = |body: &[u8]| match body {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    };
    match (body, subtype) {
        (_, Some(subtype @ RefreshSubtype::Other(_))) => Ok(RouteRefresh {
            afi_safi: AfiSafi::new(afi(body), body.get(3).copied().unwrap_or(0)),
            subtype,
        }),
        ([_, _, _, safi], Some(subtype)) => Ok(RouteRefresh {
            afi_safi: AfiSafi::new(afi(body), *safi),
            subtype,
        }),
        _ => Err(DecodeError::RouteRefreshLength {
            length,
            message: frame.to_vec(),
        }),
    }
}

fn mismatch(what: &'static str, needed: usize, available: usize) -> LengthMismatch {
    LengthMismatch {
        what,
        needed,
        available,
    }
}

fn decode_open(body: &[u8]) -> Result<Open, DecodeError> {
    let mut r = Reader::new(body);
    let too_short = || DecodeError::BadLengthForType {
        msg_type: MSG_OPEN,
        length: u16::try_from(body.len() + HEADER_LEN).unwrap_or(u16::MAX),
    };
    let version = r.u8().ok_or_else(too_short)?;
    if version != 4 {
        return Err(DecodeError::UnsupportedVersion { version });
    }
    let my_as = r.u16().ok_or_else(too_short)?;
    let hold_time = r.u16().ok_or_else(too_short)?;
    let bgp_id = Ipv4Addr::from(r.u32().ok_or_else(too_short)?);
    let opt_len = r.u8().ok_or_else(too_short)?;
    if my_as == 0 {
        return Err(DecodeError::BadPeerAs { asn: my_as });
    }
    if hold_time == 1 || hold_time == 2 {
        return Err(DecodeError::UnacceptableHoldTime { hold_time });
    }
    if bgp_id.is_unspecified() {
        return Err(DecodeError::BadBgpIdentifier { id: bgp_id });
    }
    // RFC 9072: a Non-Ext OP Len and Non-Ext OP Type of 255 announce 2-octet lengths.
    let extended = opt_len == 255 && r.peek_u8() == Some(255);
    let params = if extended {
        r.u8();
        let len = r
            .u16()
            .ok_or_else(|| DecodeError::MalformedOptionalParameters {
                reason: mismatch("extended optional parameters length", 2, r.remaining()),
            })?;
        let available = r.remaining();
        r.take(usize::from(len))
            .ok_or(DecodeError::MalformedOptionalParameters {
                reason: mismatch("optional parameters", usize::from(len), available),
            })?
    } else {
        let available = r.remaining();
        r.take(usize::from(opt_len))
            .ok_or(DecodeError::MalformedOptionalParameters {
                reason: mismatch("optional parameters", usize::from(opt_len), available),
            })?
    };
    if !r.is_empty() {
        return Err(DecodeError::OpenTrailingData {
            extra: r.remaining(),
        });
    }
    let mut capabilities = Vec::new();
    let mut p = Reader::new(params);
    while !p.is_empty() {
        let header_len = if extended { 3 } else { 2 };
        let param_type = p.u8().unwrap_or_default();
        let len = if extended {
            p.u16()
        } else {
            p.u8().map(u16::from)
        };
        let Some(len) = len else {
            return Err(DecodeError::MalformedOptionalParameters {
                reason: mismatch("optional parameter header", header_len, p.remaining() + 1),
            });
        };
        let available = p.remaining();
        let Some(value) = p.take(usize::from(len)) else {
            return Err(DecodeError::MalformedOptionalParameters {
                reason: mismatch("optional parameter value", usize::from(len), available),
            });
        };
        if param_type != 2 {
            return Err(DecodeError::UnsupportedOptionalParameter { param_type });
        }
        decode_capabilities(value, &mut capabilities)?;
    }
    check_four_octet_as(my_as, &capabilities)?;
    Ok(Open {
        version,
        my_as,
        hold_time,
        bgp_id,
        capabilities,
    })
}

/// The 4-octet AS capability must name a real AS that the 2-octet field agrees with
/// (RFC 7607 §2, RFC 6793; FRR refuses the same OPENs).
fn check_four_octet_as(my_as: u16, capabilities: &[Capability]) -> Result<(), DecodeError> {
    for capability in capabilities {
        if let Capability::FourOctetAs(asn) = *capability {
            let agrees = my_as == AS_TRANS || u32::from(my_as) == asn;
            if asn == 0 || asn == u32::from(AS_TRANS) || !agrees {
                return Err(DecodeError::BadFourOctetAs { asn, my_as });
            }
        }
    }
    Ok(())
}

fn decode_capabilities(value: &[u8], out: &mut Vec<Capability>) -> Result<(), DecodeError> {
    let mut r = Reader::new(value);
    while !r.is_empty() {
        let code = r.u8().unwrap_or_default();
        let Some(len) = r.u8() else {
            return Err(DecodeError::MalformedCapability {
                code,
                reason: mismatch("capability header", 2, 1),
            });
        };
        let available = r.remaining();
        let Some(v) = r.take(usize::from(len)) else {
            return Err(DecodeError::MalformedCapability {
                code,
                reason: mismatch("capability value", usize::from(len), available),
            });
        };
        out.push(decode_capability(code, v)?);
    }
    Ok(())
}

fn decode_capability(code: u8, v: &[u8]) -> Result<Capability, DecodeError> {
    let bad = |what, needed| DecodeError::MalformedCapability {
        code,
        reason: mismatch(what, needed, v.len()),
    };
    Ok(match code {
        CAP_MULTIPROTOCOL => match v {
            [a, b, _, safi] => {
                Capability::Multiprotocol(AfiSafi::new(u16::from_be_bytes([*a, *b]), *safi))
            }
            _ => return Err(bad("multiprotocol capability", 4)),
        },
        CAP_ROUTE_REFRESH => match v {
            [] => Capability::RouteRefresh,
            _ => return Err(bad("route refresh capability", 0)),
        },
        CAP_FOUR_OCTET_AS => match v {
            [a, b, c, d] => Capability::FourOctetAs(u32::from_be_bytes([*a, *b, *c, *d])),
            _ => return Err(bad("4-octet AS capability", 4)),
        },
        CAP_GRACEFUL_RESTART => Capability::GracefulRestart(GracefulRestart::decode(v)?),
        CAP_ADD_PATH => {
            if v.len() % 4 != 0 {
                return Err(bad("add-path capability", v.len().div_ceil(4) * 4));
            }
            Capability::AddPath(
                v.chunks_exact(4)
                    .map(|c| match c {
                        [a, b, safi, sr] => AddPathFamily {
                            afi_safi: AfiSafi::new(u16::from_be_bytes([*a, *b]), *safi),
                            send_receive: *sr,
                        },
                        _ => AddPathFamily {
                            afi_safi: AfiSafi::new(0, 0),
                            send_receive: 0,
                        },
                    })
                    .collect(),
            )
        }
        _ => Capability::Unknown {
            code,
            value: v.to_vec(),
        },
    })
}

/// The Optional and Transitive bits each attribute must carry.
fn expected_flags(type_code: u8) -> Option<u8> {
    const WELL_KNOWN: u8 = FLAG_TRANSITIVE;
    const OPT_TRANS: u8 = FLAG_OPTIONAL | FLAG_TRANSITIVE;
    const OPT_NON_TRANS: u8 = FLAG_OPTIONAL;
    Some(match type_code {
        ATTR_ORIGIN | ATTR_AS_PATH | ATTR_NEXT_HOP | ATTR_LOCAL_PREF | ATTR_ATOMIC_AGGREGATE => {
            WELL_KNOWN
        }
        ATTR_MED | ATTR_ORIGINATOR_ID | ATTR_CLUSTER_LIST | ATTR_MP_REACH_NLRI
        | ATTR_MP_UNREACH_NLRI => OPT_NON_TRANS,
        ATTR_AGGREGATOR
        | ATTR_COMMUNITIES
        | ATTR_EXTENDED_COMMUNITIES
        | ATTR_AS4_PATH
        | ATTR_AS4_AGGREGATOR
        | ATTR_LARGE_COMMUNITIES
        | ATTR_IPV6_EXTENDED_COMMUNITIES => OPT_TRANS,
        _ => return None,
    })
}

fn check_flags(flags: u8, type_code: u8) -> Result<(), AttributeError> {
    match expected_flags(type_code) {
        Some(expected) if flags & (FLAG_OPTIONAL | FLAG_TRANSITIVE) != expected => {
            Err(AttributeError::BadFlags { flags, expected })
        }
        _ => Ok(()),
    }
}

fn exact_len<const N: usize>(value: &[u8]) -> Result<[u8; N], AttributeError> {
    value.try_into().map_err(|_| AttributeError::BadLength {
        length: value.len(),
        expected: match N {
            0 => "0",
            1 => "1",
            4 => "4",
            6 => "6",
            _ => "8",
        },
    })
}

fn multiple_of(value: &[u8], unit: usize, expected: &'static str) -> Result<(), AttributeError> {
    if value.is_empty() || value.len() % unit != 0 {
        return Err(AttributeError::BadLength {
            length: value.len(),
            expected,
        });
    }
    Ok(())
}

/// Parses an AS_PATH or AS4_PATH value with `asn_size`-octet AS numbers; `confed` says
/// whether confederation segments may appear (not from an external peer, RFC 5065 §5).
fn parse_as_path(value: &[u8], asn_size: usize, confed: bool) -> Result<AsPath, AttributeError> {
    let mut r = Reader::new(value);
    let mut segments = Vec::new();
    while !r.is_empty() {
        let offset = r.position();
        let (Some(segment_type), Some(count)) = (r.u8(), r.u8()) else {
            return Err(AttributeError::SegmentOverrun {
                offset,
                mismatch: mismatch("segment header", 2, value.len() - offset),
            });
        };
        let kind = match segment_type {
            1 => SegmentType::Set,
            2 => SegmentType::Sequence,
            3 => SegmentType::ConfedSequence,
            4 => SegmentType::ConfedSet,
            _ => {
                return Err(AttributeError::BadSegmentType {
                    segment_type,
                    offset,
                });
            }
        };
        if count == 0 {
            return Err(AttributeError::EmptySegment { offset });
        }
        if !confed && matches!(kind, SegmentType::ConfedSequence | SegmentType::ConfedSet) {
            return Err(AttributeError::ConfedSegmentFromExternal { offset });
        }
        let needed = usize::from(count) * asn_size;
        let available = r.remaining();
        let Some(bytes) = r.take(needed) else {
            return Err(AttributeError::SegmentOverrun {
                offset,
                mismatch: mismatch("segment AS numbers", needed, available),
            });
        };
        let asns: Vec<u32> = if asn_size == 4 {
            bytes
                .chunks_exact(4)
                .map(|c| c.try_into().map(u32::from_be_bytes).unwrap_or_default())
                .collect()
        } else {
            bytes
                .chunks_exact(2)
                .map(|c| u32::from(c.try_into().map(u16::from_be_bytes).unwrap_or_default()))
                .collect()
        };
        if let Some(i) = asns.iter().position(|&asn| asn == 0) {
            return Err(AttributeError::AsZero {
                offset: offset + 2 + i * asn_size,
            });
        }
        segments.push(AsSegment { kind, asns });
    }
    Ok(AsPath { segments })
}

/// NEXT_HOP is malformed only by its length (RFC 7606 §7.3); what address it holds is a
/// semantic matter, checked at import ([`super::semantic::check_next_hop`]).
fn parse_next_hop(value: &[u8]) -> Result<Ipv4Addr, AttributeError> {
    Ok(Ipv4Addr::from(exact_len::<4>(value)?))
}

fn parse_aggregator(value: &[u8], four_octet: bool) -> Result<Aggregator, AttributeError> {
    let aggregator = if four_octet {
        let [a, b, c, d, e, f, g, h] = exact_len::<8>(value)?;
        Aggregator {
            asn: u32::from_be_bytes([a, b, c, d]),
            address: Ipv4Addr::new(e, f, g, h),
        }
    } else {
        let [a, b, e, f, g, h] = exact_len::<6>(value)?;
        Aggregator {
            asn: u32::from(u16::from_be_bytes([a, b])),
            address: Ipv4Addr::new(e, f, g, h),
        }
    };
    if aggregator.asn == 0 {
        return Err(AttributeError::AsZero { offset: 0 });
    }
    Ok(aggregator)
}

fn family_of(afi_safi: AfiSafi) -> Result<Family, AttributeError> {
    afi_safi
        .family()
        .ok_or(AttributeError::UnsupportedFamily { afi_safi })
}

fn decode_family_nlri(family: Family, field: &[u8]) -> Result<Vec<IpNet>, AttributeError> {
    let mut out = Vec::new();
    match family {
        Family::Ipv4Unicast => nlri::decode_ipv4_generic(field, &mut out),
        Family::Ipv6Unicast => nlri::decode_ipv6(field, &mut out),
    }
    .map_err(AttributeError::MpNlri)?;
    Ok(out)
}

fn parse_mp_reach(value: &[u8]) -> Result<MpReach, AttributeError> {
    let mut r = Reader::new(value);
    let (Some(afi), Some(safi), Some(nh_len)) = (r.u16(), r.u8(), r.u8()) else {
        return Err(AttributeError::MpTruncated(mismatch(
            "MP_REACH_NLRI fixed fields",
            5,
            value.len(),
        )));
    };
    let afi_safi = AfiSafi::new(afi, safi);
    let family = family_of(afi_safi)?;
    let bad_len = AttributeError::MpNextHopLength {
        afi_safi,
        length: nh_len,
    };
    let available = r.remaining();
    let Some(nh) = r.take(usize::from(nh_len)) else {
        return Err(AttributeError::MpTruncated(mismatch(
            "MP_REACH_NLRI next hop",
            usize::from(nh_len),
            available,
        )));
    };
    let next_hops = match family {
        Family::Ipv4Unicast => {
            let octets: [u8; 4] = nh.try_into().map_err(|_| bad_len)?;
            vec![IpAddr::V4(Ipv4Addr::from(octets))]
        }
        Family::Ipv6Unicast => match nh.len() {
            16 | 32 => nh
                .chunks_exact(16)
                .map(|c| {
                    let octets: [u8; 16] = c.try_into().unwrap_or_default();
                    IpAddr::V6(Ipv6Addr::from(octets))
                })
                .collect(),
            _ => return Err(bad_len),
        },
    };
    if r.u8().is_none() {
        return Err(AttributeError::MpTruncated(mismatch(
            "MP_REACH_NLRI reserved octet",
            1,
            0,
        )));
    }
    let nlri = decode_family_nlri(family, r.rest())?;
    Ok(MpReach {
        afi_safi,
        next_hops,
        nlri,
    })
}

fn parse_mp_unreach(value: &[u8]) -> Result<MpUnreach, AttributeError> {
    let mut r = Reader::new(value);
    let (Some(afi), Some(safi)) = (r.u16(), r.u8()) else {
        return Err(AttributeError::MpTruncated(mismatch(
            "MP_UNREACH_NLRI fixed fields",
            3,
            value.len(),
        )));
    };
    let afi_safi = AfiSafi::new(afi, safi);
    if afi_safi.family().is_none() && r.is_empty() {
        // The End-of-RIB marker of a family we do not route.
        return Ok(MpUnreach {
            afi_safi,
            withdrawn: Vec::new(),
        });
    }
    let family = family_of(afi_safi)?;
    let withdrawn = decode_family_nlri(family, r.rest())?;
    Ok(MpUnreach {
        afi_safi,
        withdrawn,
    })
}

/// The state of an attribute field being parsed.
struct AttributeParser<'o> {
    opts: &'o DecodeOptions,
    attrs: PathAttributes,
    /// A non-MP attribute was present.
    any: bool,
    seen: [u64; 4],
    mp_reach: Option<MpReach>,
    mp_unreach: Option<MpUnreach>,
    as4_path: Option<AsPath>,
    as4_aggregator: Option<Aggregator>,
    issues: Vec<UpdateIssue>,
    /// Parsing stopped at an overrun: later attributes are unknown.
    truncated: bool,
}

impl AttributeParser<'_> {
    fn seen(&self, type_code: u8) -> bool {
        let (word, bit) = (usize::from(type_code >> 6), type_code & 63);
        self.seen.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }

    fn mark(&mut self, type_code: u8) {
        let (word, bit) = (usize::from(type_code >> 6), type_code & 63);
        if let Some(w) = self.seen.get_mut(word) {
            *w |= 1 << bit;
        }
    }

    fn issue(&mut self, action: UpdateAction, type_code: u8, reason: AttributeError) {
        self.issues.push(UpdateIssue {
            action,
            type_code,
            reason,
        });
    }

    /// Applies the RFC 7606 outcome of an attribute error.
    fn fail(
        &mut self,
        type_code: u8,
        raw: &[u8],
        error: AttributeError,
    ) -> Result<(), DecodeError> {
        match rfc7606_handling(type_code, &error) {
            Handling::TreatAsWithdraw => {
                self.issue(UpdateAction::TreatAsWithdraw, type_code, error);
                Ok(())
            }
            Handling::AttributeDiscard => {
                self.issue(UpdateAction::AttributeDiscard, type_code, error);
                Ok(())
            }
            Handling::SessionReset => Err(match error {
                AttributeError::UnrecognizedWellKnown => {
                    DecodeError::UnrecognizedWellKnownAttribute {
                        type_code,
                        attribute: raw.to_vec(),
                    }
                }
                reason => DecodeError::MalformedMpAttribute {
                    type_code,
                    reason,
                    attribute: raw.to_vec(),
                },
            }),
        }
    }

    fn parse(&mut self, field: &[u8]) -> Result<(), DecodeError> {
        let mut r = Reader::new(field);
        while !r.is_empty() {
            let start = r.position();
            let remaining = r.remaining();
            let flags = r.u8().unwrap_or_default();
            let type_code = r.u8();
            let header_len = if flags & FLAG_EXTENDED_LENGTH != 0 {
                4
            } else {
                3
            };
            let len = if flags & FLAG_EXTENDED_LENGTH != 0 {
                r.u16().map(usize::from)
            } else {
                r.u8().map(usize::from)
            };
            let (Some(type_code), Some(len)) = (type_code, len) else {
                // §4: too few octets left for an attribute header.
                let reason = mismatch("attribute header", header_len, remaining);
                if let Some(type_code @ (ATTR_MP_REACH_NLRI | ATTR_MP_UNREACH_NLRI)) = type_code {
                    return Err(DecodeError::MpAttributeOverrun { type_code, reason });
                }
                self.truncated = true;
                let error = AttributeError::Overrun(reason);
                return self.fail(type_code.unwrap_or(0), r.since(start), error);
            };
            let available = r.remaining();
            let Some(value) = r.take(len) else {
                let reason = mismatch("attribute value", len, available);
                if matches!(type_code, ATTR_MP_REACH_NLRI | ATTR_MP_UNREACH_NLRI) {
                    return Err(DecodeError::MpAttributeOverrun { type_code, reason });
                }
                self.truncated = true;
                return self.fail(type_code, r.since(start), AttributeError::Overrun(reason));
            };
            let raw = r.since(start);
            let is_mp = matches!(type_code, ATTR_MP_REACH_NLRI | ATTR_MP_UNREACH_NLRI);
            if self.seen(type_code) {
                if is_mp {
                    return Err(DecodeError::DuplicateMpAttribute { type_code });
                }
                self.fail(type_code, raw, AttributeError::Duplicate)?;
                continue;
            }
            self.mark(type_code);
            self.any |= !is_mp;
            if let Err(error) = self.attribute(flags, type_code, value) {
                self.fail(type_code, raw, error)?;
            }
            if is_mp {
                // Checked after parsing so that treat-as-withdraw can withdraw its prefixes.
                if let Err(error) = check_flags(flags, type_code) {
                    self.fail(type_code, raw, error)?;
                }
            }
        }
        Ok(())
    }

    /// Parses one attribute into the state; errors go through [`rfc7606_handling`].
    fn attribute(&mut self, flags: u8, type_code: u8, value: &[u8]) -> Result<(), AttributeError> {
        let four_octet = self.opts.four_octet_as;
        let a = &mut self.attrs;
        match type_code {
            ATTR_MP_REACH_NLRI => self.mp_reach = Some(parse_mp_reach(value)?),
            ATTR_MP_UNREACH_NLRI => self.mp_unreach = Some(parse_mp_unreach(value)?),
            ATTR_LOCAL_PREF | ATTR_ORIGINATOR_ID | ATTR_CLUSTER_LIST if self.opts.external => {
                return Err(AttributeError::InternalOnly);
            }
            ATTR_AS4_PATH | ATTR_AS4_AGGREGATOR if four_octet => {
                return Err(AttributeError::As4OnFourOctetSession);
            }
            _ if expected_flags(type_code).is_none() => {
                if flags & FLAG_OPTIONAL == 0 {
                    return Err(AttributeError::UnrecognizedWellKnown);
                }
                if flags & FLAG_TRANSITIVE != 0 {
                    a.unknown.push(RawAttribute {
                        flags,
                        type_code,
                        value: value.to_vec(),
                    });
                }
                // Unknown optional non-transitive attributes are quietly ignored
                // (RFC 4271 §5).
            }
            _ => {
                check_flags(flags, type_code)?;
                match type_code {
                    ATTR_ORIGIN => {
                        let [value] = exact_len::<1>(value)?;
                        a.origin = match value {
                            0 => Origin::Igp,
                            1 => Origin::Egp,
                            2 => Origin::Incomplete,
                            _ => return Err(AttributeError::InvalidOrigin { value }),
                        };
                    }
                    ATTR_AS_PATH => {
                        let size = if four_octet { 4 } else { 2 };
                        a.as_path = parse_as_path(value, size, !self.opts.external)?;
                    }
                    ATTR_NEXT_HOP => a.next_hop = Some(parse_next_hop(value)?),
                    ATTR_MED => a.med = Some(u32::from_be_bytes(exact_len::<4>(value)?)),
                    ATTR_LOCAL_PREF => {
                        a.local_pref = Some(u32::from_be_bytes(exact_len::<4>(value)?));
                    }
                    ATTR_ATOMIC_AGGREGATE => {
                        exact_len::<0>(value)?;
                        a.atomic_aggregate = true;
                    }
                    ATTR_AGGREGATOR => a.aggregator = Some(parse_aggregator(value, four_octet)?),
                    ATTR_COMMUNITIES => {
                        multiple_of(value, 4, "a non-zero multiple of 4")?;
                        a.communities = value
                            .chunks_exact(4)
                            .map(|c| Community(c.try_into().map(u32::from_be_bytes).unwrap_or(0)))
                            .collect();
                    }
                    ATTR_ORIGINATOR_ID => {
                        a.originator_id = Some(Ipv4Addr::from(exact_len::<4>(value)?));
                    }
                    ATTR_CLUSTER_LIST => {
                        multiple_of(value, 4, "a non-zero multiple of 4")?;
                        a.cluster_list = value
                            .chunks_exact(4)
                            .map(|c| Ipv4Addr::from(<[u8; 4]>::try_from(c).unwrap_or_default()))
                            .collect();
                    }
                    ATTR_EXTENDED_COMMUNITIES => {
                        multiple_of(value, 8, "a non-zero multiple of 8")?;
                        a.ext_communities = value
                            .chunks_exact(8)
                            .map(|c| ExtCommunity(c.try_into().unwrap_or_default()))
                            .collect();
                    }
                    ATTR_IPV6_EXTENDED_COMMUNITIES => {
                        multiple_of(value, 20, "a non-zero multiple of 20")?;
                        a.unknown.push(RawAttribute {
                            flags,
                            type_code,
                            value: value.to_vec(),
                        });
                    }
                    ATTR_LARGE_COMMUNITIES => {
                        multiple_of(value, 12, "a non-zero multiple of 12")?;
                        a.large_communities = value
                            .chunks_exact(12)
                            .map(|c| {
                                let w = |i: usize| {
                                    c.get(i..i + 4)
                                        .and_then(|s| s.try_into().ok())
                                        .map(u32::from_be_bytes)
                                        .unwrap_or(0)
                                };
                                LargeCommunity {
                                    global: w(0),
                                    local1: w(4),
                                    local2: w(8),
                                }
                            })
                            .collect();
                    }
                    ATTR_AS4_PATH => {
                        // RFC 6793 §6: at least one AS number, or the attribute is malformed.
                        if value.len() < 6 {
                            return Err(AttributeError::BadLength {
                                length: value.len(),
                                expected: "at least 6",
                            });
                        }
                        let mut path = parse_as_path(value, 4, true)?;
                        // RFC 6793 §6: confederation segments are dropped, the rest is used.
                        path.segments
                            .retain(|s| matches!(s.kind, SegmentType::Sequence | SegmentType::Set));
                        self.as4_path = Some(path);
                    }
                    ATTR_AS4_AGGREGATOR => {
                        self.as4_aggregator = Some(parse_aggregator(value, true)?);
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// RFC 6793 §4.2.3: rebuilds the 4-octet AS_PATH and AGGREGATOR from a 2-octet session.
    fn merge_as4(&mut self) {
        let as4_aggregator = self.as4_aggregator.take();
        let as4_path = self.as4_path.take();
        if let (Some(agg), Some(agg4)) = (self.attrs.aggregator, as4_aggregator) {
            if agg.asn != u32::from(AS_TRANS) {
                // An old speaker aggregated after the AS4 attributes were attached.
                return;
            }
            self.attrs.aggregator = Some(agg4);
        }
        let Some(as4_path) = as4_path else {
            return;
        };
        let path_len = self.attrs.as_path.path_len();
        let as4_len = as4_path.path_len();
        if path_len < as4_len {
            return;
        }
        let mut need = path_len - as4_len;
        // Confederation segments (which AS4_PATH never carries) lead the result, then the
        // leading ASes that AS4_PATH lacks, then AS4_PATH itself.
        let (mut merged, public): (Vec<AsSegment>, Vec<AsSegment>) =
            self.attrs.as_path.segments.iter().cloned().partition(|s| {
                matches!(s.kind, SegmentType::ConfedSequence | SegmentType::ConfedSet)
            });
        for segment in public {
            if need == 0 {
                break;
            }
            if segment.kind == SegmentType::Set {
                merged.push(segment);
                need -= 1;
            } else {
                let take = need.min(segment.asns.len());
                merged.push(AsSegment {
                    kind: SegmentType::Sequence,
                    asns: segment.asns.iter().take(take).copied().collect(),
                });
                need -= take;
            }
        }
        let mut tail = as4_path.segments.into_iter();
        if let (Some(last), Some(first)) = (merged.last_mut(), tail.as_slice().first()) {
            if last.kind == SegmentType::Sequence
                && first.kind == SegmentType::Sequence
                && last.asns.len() + first.asns.len() <= 255
            {
                last.asns.extend_from_slice(&first.asns);
                tail.next();
            }
        }
        merged.extend(tail);
        self.attrs.as_path = AsPath { segments: merged };
    }
}

/// RFC 7606 §2 treat-as-withdraw: every advertised route becomes a withdrawal.
fn treat_as_withdraw(update: &mut Update) {
    update.attributes = None;
    let nlri = mem::take(&mut update.nlri);
    update.withdrawn.extend(nlri);
    let Some(reach) = update.mp_reach.take() else {
        return;
    };
    let mut v6 = Vec::new();
    for prefix in reach.nlri {
        match prefix {
            IpNet::V4(p) => update.withdrawn.push(p),
            p @ IpNet::V6(_) => v6.push(p),
        }
    }
    if v6.is_empty() {
        return;
    }
    let ipv6 = Family::Ipv6Unicast.afi_safi();
    match &mut update.mp_unreach {
        Some(unreach) if unreach.afi_safi == ipv6 => unreach.withdrawn.extend(v6),
        Some(unreach) => {
            // An IPv4 MP_UNREACH: its prefixes move to the classic field to make room.
            for prefix in mem::take(&mut unreach.withdrawn) {
                if let IpNet::V4(p) = prefix {
                    update.withdrawn.push(p);
                }
            }
            *unreach = MpUnreach {
                afi_safi: ipv6,
                withdrawn: v6,
            };
        }
        None => {
            update.mp_unreach = Some(MpUnreach {
                afi_safi: ipv6,
                withdrawn: v6,
            })
        }
    }
}

fn decode_update(body: &[u8], opts: &DecodeOptions) -> Result<Decoded, DecodeError> {
    let mut r = Reader::new(body);
    let withdrawn_len = r.u16().unwrap_or_default();
    let available = r.remaining();
    let withdrawn_field =
        r.take(usize::from(withdrawn_len))
            .ok_or(DecodeError::WithdrawnLengthOverrun {
                length: withdrawn_len,
                available,
            })?;
    let Some(attr_len) = r.u16() else {
        return Err(DecodeError::AttributeLengthOverrun {
            length: 0,
            available: r.remaining(),
        });
    };
    let available = r.remaining();
    let attr_field = r
        .take(usize::from(attr_len))
        .ok_or(DecodeError::AttributeLengthOverrun {
            length: attr_len,
            available,
        })?;
    let nlri_field = r.rest();

    let mut withdrawn = Vec::new();
    nlri::decode_ipv4(withdrawn_field, &mut withdrawn).map_err(|error| {
        DecodeError::InvalidNetworkField {
            field: NlriField::Withdrawn,
            error,
        }
    })?;

    let mut parser = AttributeParser {
        opts,
        attrs: PathAttributes::default(),
        any: false,
        seen: [0; 4],
        mp_reach: None,
        mp_unreach: None,
        as4_path: None,
        as4_aggregator: None,
        issues: Vec::new(),
        truncated: false,
    };
    parser.parse(attr_field)?;

    let mut nlri = Vec::new();
    nlri::decode_ipv4(nlri_field, &mut nlri).map_err(|error| DecodeError::InvalidNetworkField {
        field: NlriField::Nlri,
        error,
    })?;

    if !opts.four_octet_as {
        parser.merge_as4();
    }
    let mp_nlri = parser.mp_reach.as_ref().is_some_and(|m| !m.nlri.is_empty());
    if (!nlri.is_empty() || mp_nlri) && !parser.truncated {
        for (type_code, required) in [
            (ATTR_ORIGIN, true),
            (ATTR_AS_PATH, true),
            (ATTR_NEXT_HOP, !nlri.is_empty()),
        ] {
            if required && !parser.seen(type_code) {
                parser.fail(type_code, &[], AttributeError::Missing)?;
            }
        }
    }

    let withdraw_all = parser
        .issues
        .iter()
        .any(|i| i.action == UpdateAction::TreatAsWithdraw);
    let mut update = Update {
        withdrawn,
        attributes: parser.any.then_some(parser.attrs),
        nlri,
        mp_reach: parser.mp_reach,
        mp_unreach: parser.mp_unreach,
    };
    if withdraw_all {
        treat_as_withdraw(&mut update);
    }
    Ok(Decoded {
        message: Message::Update(update),
        issues: parser.issues,
    })
}
