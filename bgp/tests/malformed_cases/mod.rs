//! A table of malformed BGP messages and what must become of each: the NOTIFICATION that ends
//! the session (RFC 4271 §6) or the RFC 7606 outcome. Shared by `malformed.rs` (codec level)
//! and by session tests that push every case through a live TCP session; include it with
//! `mod malformed_cases;`.

#![allow(dead_code)]

use std::net::Ipv4Addr;

use bgp::packet::{AsPath, DecodeOptions, Notification, PathAttributes};
use ipnet::Ipv4Net;

/// What must happen to a case's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// `frame_length` keeps waiting for more octets.
    Incomplete,
    /// The session is reset with exactly this NOTIFICATION (code, subcode and data).
    Reset(Notification),
    /// Decoded with one treat-as-withdraw issue for `type_code`: no attributes, no NLRI, and
    /// these routes withdrawn.
    TreatAsWithdraw {
        /// Attribute at fault (0 when not even its type could be read).
        type_code: u8,
        /// IPv4 routes now in the Withdrawn Routes field.
        withdrawn: Vec<Ipv4Net>,
    },
    /// Decoded with one attribute-discard issue for `type_code`; the UPDATE keeps these
    /// attributes (without the discarded one) and NLRI.
    AttributeDiscard {
        /// Attribute dropped.
        type_code: u8,
        /// Attributes left.
        attributes: PathAttributes,
        /// NLRI left.
        nlri: Vec<Ipv4Net>,
    },
}

/// One malformed input.
#[derive(Debug, Clone)]
pub struct Case {
    /// Short unique name.
    pub name: &'static str,
    /// The octets the peer sends (one message, possibly cut short).
    pub bytes: Vec<u8>,
    /// Session options the outcome depends on.
    pub opts: DecodeOptions,
    /// The required outcome.
    pub expected: Expected,
}

/// A message from its type and body, with a correct header.
pub fn frame(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let len = u16::try_from(19 + body.len()).unwrap_or(u16::MAX);
    raw_header(len, msg_type, body)
}

/// A message with an arbitrary header length field.
pub fn raw_header(length: u16, msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![0xFF; 16];
    v.extend_from_slice(&length.to_be_bytes());
    v.push(msg_type);
    v.extend_from_slice(body);
    v
}

/// An UPDATE from its three fields, with correct length fields.
pub fn update(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&u16::try_from(withdrawn.len()).unwrap_or(0).to_be_bytes());
    v.extend_from_slice(withdrawn);
    v.extend_from_slice(&u16::try_from(attrs.len()).unwrap_or(0).to_be_bytes());
    v.extend_from_slice(attrs);
    v.extend_from_slice(nlri);
    frame(2, &v)
}

/// An OPEN body: version, AS, hold time, identifier, then raw optional parameters.
pub fn open(version: u8, asn: u16, hold: u16, id: [u8; 4], params: &[u8]) -> Vec<u8> {
    let mut v = vec![version];
    v.extend_from_slice(&asn.to_be_bytes());
    v.extend_from_slice(&hold.to_be_bytes());
    v.extend_from_slice(&id);
    v.push(u8::try_from(params.len()).unwrap_or(255));
    v.extend_from_slice(params);
    frame(1, &v)
}

/// ORIGIN IGP.
pub const ORIGIN: [u8; 4] = [0x40, 1, 1, 0];
/// AS_PATH 65001 with 4-octet AS numbers.
pub const AS_PATH: [u8; 9] = [0x40, 2, 6, 2, 1, 0, 0, 0xFD, 0xE9];
/// AS_PATH 65001 with 2-octet AS numbers.
pub const AS_PATH2: [u8; 7] = [0x40, 2, 4, 2, 1, 0xFD, 0xE9];
/// NEXT_HOP 10.0.0.1.
pub const NEXT_HOP: [u8; 7] = [0x40, 3, 4, 10, 0, 0, 1];
/// NLRI 10.1.1.0/24.
pub const NLRI: [u8; 4] = [24, 10, 1, 1];

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// ORIGIN + AS_PATH + NEXT_HOP followed by `extra`.
fn valid_with(extra: &[u8]) -> Vec<u8> {
    cat(&[&ORIGIN, &AS_PATH, &NEXT_HOP, extra])
}

fn route() -> Ipv4Net {
    Ipv4Net::new(Ipv4Addr::new(10, 1, 1, 0), 24).unwrap_or_default()
}

/// The attributes `valid_with` encodes.
pub fn base_attributes() -> PathAttributes {
    PathAttributes {
        as_path: AsPath::from_sequence([65001]),
        next_hop: Some(Ipv4Addr::new(10, 0, 0, 1)),
        ..PathAttributes::default()
    }
}

const IBGP: DecodeOptions = DecodeOptions {
    four_octet_as: true,
    external: false,
};
const EBGP: DecodeOptions = DecodeOptions {
    four_octet_as: true,
    external: true,
};
const TWO_OCTET: DecodeOptions = DecodeOptions {
    four_octet_as: false,
    external: false,
};

fn reset(code: u8, subcode: u8, data: &[u8]) -> Expected {
    Expected::Reset(Notification::with_data(code, subcode, data))
}

fn withdraw(type_code: u8) -> Expected {
    Expected::TreatAsWithdraw {
        type_code,
        withdrawn: vec![route()],
    }
}

fn discard(type_code: u8, attributes: PathAttributes) -> Expected {
    Expected::AttributeDiscard {
        type_code,
        attributes,
        nlri: vec![route()],
    }
}

fn case(name: &'static str, bytes: Vec<u8>, expected: Expected) -> Case {
    Case {
        name,
        bytes,
        opts: IBGP,
        expected,
    }
}

/// An IPv6 MP_REACH_NLRI with a 16-octet next hop and the given NLRI octets.
fn mp_reach_v6(nlri: &[u8]) -> Vec<u8> {
    let mut value = vec![0, 2, 1, 16, 0x20, 0x01, 0x0d, 0xb8];
    value.extend_from_slice(&[0; 11]);
    value.push(1);
    value.push(0);
    value.extend_from_slice(nlri);
    let mut attr = vec![0x80, 14, u8::try_from(value.len()).unwrap_or(0)];
    attr.extend_from_slice(&value);
    attr
}

/// Every malformed case with its required outcome.
pub fn cases() -> Vec<Case> {
    let unrecognized = [0x40, 99, 2, 0xAB, 0xCD];
    let bad_nh_len = [0x80, 14, 13, 0, 2, 1, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    let mp_v6_129 = mp_reach_v6(&[129, 0x20, 0x01]);
    let mp_unreach_truncated = [0x80, 15, 2, 0, 2];
    let mut all = vec![
        // ---- message header (RFC 4271 §6.1) ----
        case("truncated header", vec![0xFF; 10], Expected::Incomplete),
        case(
            "bad marker",
            {
                let mut m = frame(4, &[]);
                m[3] = 0;
                m
            },
            reset(1, 1, &[]),
        ),
        case(
            "length below 19",
            raw_header(18, 4, &[]),
            reset(1, 2, &[0, 18]),
        ),
        case(
            "length 4097",
            raw_header(4097, 2, &[]),
            reset(1, 2, &[0x10, 0x01]),
        ),
        case(
            "oversized header length 65535",
            raw_header(0xFFFF, 2, &[]),
            reset(1, 2, &[0xFF, 0xFF]),
        ),
        case("bad type 6", frame(6, &[]), reset(1, 3, &[6])),
        case("keepalive with body", frame(4, &[0]), reset(1, 2, &[0, 20])),
        case(
            "notification shorter than 21",
            frame(3, &[6]),
            reset(1, 2, &[0, 20]),
        ),
        // ---- ROUTE-REFRESH (RFC 7313 §5: 7/1 with the whole message, not a header error) ----
        case(
            "route refresh wrong length",
            frame(5, &[0, 1, 0, 1, 0]),
            reset(7, 1, &frame(5, &[0, 1, 0, 1, 0])),
        ),
        case(
            "route refresh too short for a subtype",
            frame(5, &[0, 1]),
            reset(7, 1, &frame(5, &[0, 1])),
        ),
        case(
            "BoRR wrong length",
            frame(5, &[0, 1, 1, 1, 0, 0]),
            reset(7, 1, &frame(5, &[0, 1, 1, 1, 0, 0])),
        ),
        case(
            "EoRR wrong length",
            frame(5, &[0, 1, 2]),
            reset(7, 1, &frame(5, &[0, 1, 2])),
        ),
        case(
            "open shorter than 29",
            frame(1, &[4, 0, 1, 0, 90, 1, 1, 1, 1]),
            reset(1, 2, &[0, 28]),
        ),
        case(
            "update shorter than 23",
            frame(2, &[0, 0, 0]),
            reset(1, 2, &[0, 22]),
        ),
        // ---- OPEN (RFC 4271 §6.2, RFC 5492, RFC 6793) ----
        case(
            "open version 3",
            open(3, 65001, 90, [1, 1, 1, 1], &[]),
            reset(2, 1, &[0, 4]),
        ),
        case(
            "open as 0",
            open(4, 0, 90, [1, 1, 1, 1], &[]),
            reset(2, 2, &[]),
        ),
        case(
            "hold time 1",
            open(4, 65001, 1, [1, 1, 1, 1], &[]),
            reset(2, 6, &[]),
        ),
        case(
            "hold time 2",
            open(4, 65001, 2, [1, 1, 1, 1], &[]),
            reset(2, 6, &[]),
        ),
        case(
            "bgp id 0",
            open(4, 65001, 90, [0, 0, 0, 0], &[]),
            reset(2, 3, &[]),
        ),
        case(
            "unsupported optional parameter",
            open(4, 65001, 90, [1, 1, 1, 1], &[1, 2, 0, 0]),
            reset(2, 4, &[]),
        ),
        case(
            "optional parameter length overrun",
            open(4, 65001, 90, [1, 1, 1, 1], &[2, 9, 2, 0]),
            reset(2, 0, &[]),
        ),
        case(
            "capability length overrun",
            open(4, 65001, 90, [1, 1, 1, 1], &[2, 4, 1, 4, 0, 1]),
            reset(2, 0, &[]),
        ),
        case(
            "4-octet AS capability 0",
            open(4, 23456, 90, [1, 1, 1, 1], &[2, 6, 65, 4, 0, 0, 0, 0]),
            reset(2, 2, &[0, 0, 0, 0]),
        ),
        case(
            "4-octet AS capability AS_TRANS",
            open(4, 23456, 90, [1, 1, 1, 1], &[2, 6, 65, 4, 0, 0, 0x5B, 0xA0]),
            reset(2, 2, &[0, 0, 0x5B, 0xA0]),
        ),
        case(
            "4-octet AS capability contradicting My AS",
            open(4, 65001, 90, [1, 1, 1, 1], &[2, 6, 65, 4, 0, 0, 0xFD, 0xEA]),
            reset(2, 2, &[0, 0, 0xFD, 0xEA]),
        ),
        case(
            "4-octet AS capability with length 2",
            open(4, 65001, 90, [1, 1, 1, 1], &[2, 4, 65, 2, 0xFD, 0xE9]),
            reset(2, 0, &[]),
        ),
        // ---- UPDATE lengths (RFC 4271 §6.3) ----
        case(
            "withdrawn length overrun",
            frame(2, &[0, 10, 24, 10, 1, 1]),
            reset(3, 1, &[]),
        ),
        case(
            "total attribute length overrun",
            frame(2, &[0, 0, 0, 50, 0x40, 1, 1, 0]),
            reset(3, 1, &[]),
        ),
        case(
            "withdrawn prefix /33",
            update(&[33, 1, 2, 3, 4, 5], &[], &[]),
            reset(3, 10, &[]),
        ),
        case(
            "nlri /33",
            update(&[], &valid_with(&[]), &[33, 10, 1, 1, 1, 1]),
            reset(3, 10, &[]),
        ),
        case(
            "nlri prefix overrun",
            update(&[], &valid_with(&[]), &[24, 10, 1]),
            reset(3, 10, &[]),
        ),
        // ---- attribute list (RFC 7606 §3, §4) ----
        case(
            "duplicated MED keeps the first",
            update(
                &[],
                &valid_with(&[0x80, 4, 4, 0, 0, 0, 1, 0x80, 4, 4, 0, 0, 0, 2]),
                &NLRI,
            ),
            discard(
                4,
                PathAttributes {
                    med: Some(1),
                    ..base_attributes()
                },
            ),
        ),
        case(
            "duplicated MP_REACH",
            update(
                &[],
                &cat(&[&valid_with(&[]), &mp_reach_v6(&[]), &mp_reach_v6(&[])]),
                &[],
            ),
            reset(3, 1, &[]),
        ),
        case(
            "attribute length overrun",
            update(&[], &valid_with(&[0x80, 4, 10, 0, 0, 0, 1]), &NLRI),
            withdraw(4),
        ),
        case(
            "attribute header truncated",
            update(&[], &valid_with(&[0x80]), &NLRI),
            withdraw(0),
        ),
        case(
            "MP_REACH overruns the attribute list",
            update(
                &[],
                &cat(&[&valid_with(&[]), &[0x80, 14, 40, 0, 2, 1]]),
                &[],
            ),
            reset(3, 1, &[]),
        ),
        case(
            "MP_UNREACH header cut short",
            update(&[], &cat(&[&valid_with(&[]), &[0x80, 15]]), &[]),
            reset(3, 1, &[]),
        ),
        case(
            "unrecognized well-known attribute",
            update(&[], &valid_with(&unrecognized), &NLRI),
            reset(3, 2, &unrecognized),
        ),
        // ---- misflagged (RFC 7606 §3 c) ----
        case(
            "misflagged ORIGIN",
            update(&[], &cat(&[&[0xC0, 1, 1, 0], &AS_PATH, &NEXT_HOP]), &NLRI),
            withdraw(1),
        ),
        case(
            "misflagged AS_PATH",
            update(
                &[],
                &cat(&[&ORIGIN, &[0x80, 2, 6, 2, 1, 0, 0, 0xFD, 0xE9], &NEXT_HOP]),
                &NLRI,
            ),
            withdraw(2),
        ),
        case(
            "misflagged NEXT_HOP",
            update(
                &[],
                &cat(&[&ORIGIN, &AS_PATH, &[0xC0, 3, 4, 10, 0, 0, 1]]),
                &NLRI,
            ),
            withdraw(3),
        ),
        case(
            "misflagged MED",
            update(&[], &valid_with(&[0x40, 4, 4, 0, 0, 0, 1]), &NLRI),
            withdraw(4),
        ),
        // ---- per attribute (RFC 7606 §7) ----
        case(
            "ORIGIN value 3",
            update(&[], &cat(&[&[0x40, 1, 1, 3], &AS_PATH, &NEXT_HOP]), &NLRI),
            withdraw(1),
        ),
        case(
            "ORIGIN length 2",
            update(
                &[],
                &cat(&[&[0x40, 1, 2, 0, 0], &AS_PATH, &NEXT_HOP]),
                &NLRI,
            ),
            withdraw(1),
        ),
        case(
            "AS_PATH segment overrun",
            update(
                &[],
                &cat(&[&ORIGIN, &[0x40, 2, 6, 2, 2, 0, 0, 0xFD, 0xE9], &NEXT_HOP]),
                &NLRI,
            ),
            withdraw(2),
        ),
        case(
            "AS_PATH bad segment type",
            update(
                &[],
                &cat(&[&ORIGIN, &[0x40, 2, 6, 5, 1, 0, 0, 0xFD, 0xE9], &NEXT_HOP]),
                &NLRI,
            ),
            withdraw(2),
        ),
        case(
            "AS_PATH zero-length segment",
            update(&[], &cat(&[&ORIGIN, &[0x40, 2, 2, 2, 0], &NEXT_HOP]), &NLRI),
            withdraw(2),
        ),
        case(
            "NEXT_HOP length 5",
            update(
                &[],
                &cat(&[&ORIGIN, &AS_PATH, &[0x40, 3, 5, 10, 0, 0, 1, 0]]),
                &NLRI,
            ),
            withdraw(3),
        ),
        // ---- AS number 0 (RFC 7607 §2) and confederations (RFC 5065 §5) ----
        case(
            "AS_PATH with AS 0 from iBGP",
            update(
                &[],
                &cat(&[&ORIGIN, &[0x40, 2, 6, 2, 1, 0, 0, 0, 0], &NEXT_HOP]),
                &NLRI,
            ),
            withdraw(2),
        ),
        Case {
            name: "AS_PATH with AS 0 from eBGP",
            bytes: update(
                &[],
                &cat(&[
                    &ORIGIN,
                    &[0x40, 2, 10, 2, 2, 0, 0, 0xFD, 0xE9, 0, 0, 0, 0],
                    &NEXT_HOP,
                ]),
                &NLRI,
            ),
            opts: EBGP,
            expected: withdraw(2),
        },
        Case {
            name: "AS_PATH with AS 0 on a 2-octet session",
            bytes: update(
                &[],
                &cat(&[&ORIGIN, &[0x40, 2, 6, 2, 2, 0xFD, 0xE9, 0, 0], &NEXT_HOP]),
                &NLRI,
            ),
            opts: TWO_OCTET,
            expected: withdraw(2),
        },
        case(
            "AGGREGATOR with AS 0",
            update(
                &[],
                &valid_with(&[0xC0, 7, 8, 0, 0, 0, 0, 10, 0, 0, 1]),
                &NLRI,
            ),
            discard(7, base_attributes()),
        ),
        Case {
            name: "confederation segment from eBGP",
            bytes: update(
                &[],
                &cat(&[
                    &ORIGIN,
                    &[0x40, 2, 12, 3, 1, 0, 0, 0xFD, 0xE9, 2, 1, 0, 0, 0xFD, 0xE9],
                    &NEXT_HOP,
                ]),
                &NLRI,
            ),
            opts: EBGP,
            expected: withdraw(2),
        },
        case(
            "missing ORIGIN",
            update(&[], &cat(&[&AS_PATH, &NEXT_HOP]), &NLRI),
            withdraw(1),
        ),
        case(
            "missing AS_PATH",
            update(&[], &cat(&[&ORIGIN, &NEXT_HOP]), &NLRI),
            withdraw(2),
        ),
        case(
            "missing NEXT_HOP",
            update(&[], &cat(&[&ORIGIN, &AS_PATH]), &NLRI),
            withdraw(3),
        ),
        case(
            "MED length 3",
            update(&[], &valid_with(&[0x80, 4, 3, 0, 0, 1]), &NLRI),
            withdraw(4),
        ),
        Case {
            name: "LOCAL_PREF from eBGP",
            bytes: update(&[], &valid_with(&[0x40, 5, 4, 0, 0, 0, 200]), &NLRI),
            opts: EBGP,
            expected: discard(5, base_attributes()),
        },
        case(
            "LOCAL_PREF length 2 from iBGP",
            update(&[], &valid_with(&[0x40, 5, 2, 0, 200]), &NLRI),
            withdraw(5),
        ),
        case(
            "ATOMIC_AGGREGATE length 1",
            update(&[], &valid_with(&[0x40, 6, 1, 0]), &NLRI),
            discard(6, base_attributes()),
        ),
        case(
            "AGGREGATOR length 7",
            update(&[], &valid_with(&[0xC0, 7, 7, 0, 0, 1, 10, 0, 0, 1]), &NLRI),
            discard(7, base_attributes()),
        ),
        case(
            "COMMUNITIES length 5",
            update(&[], &valid_with(&[0xC0, 8, 5, 0, 0, 0, 1, 0]), &NLRI),
            withdraw(8),
        ),
        Case {
            name: "ORIGINATOR_ID from eBGP",
            bytes: update(&[], &valid_with(&[0x80, 9, 4, 1, 1, 1, 1]), &NLRI),
            opts: EBGP,
            expected: discard(9, base_attributes()),
        },
        Case {
            name: "CLUSTER_LIST from eBGP",
            bytes: update(&[], &valid_with(&[0x80, 10, 4, 1, 1, 1, 1]), &NLRI),
            opts: EBGP,
            expected: discard(10, base_attributes()),
        },
        case(
            "ORIGINATOR_ID length 3",
            update(&[], &valid_with(&[0x80, 9, 3, 1, 1, 1]), &NLRI),
            withdraw(9),
        ),
        case(
            "CLUSTER_LIST length 6",
            update(&[], &valid_with(&[0x80, 10, 6, 1, 1, 1, 1, 2, 2]), &NLRI),
            withdraw(10),
        ),
        case(
            "EXTENDED COMMUNITIES length 7",
            update(&[], &valid_with(&[0xC0, 16, 7, 0, 2, 0, 1, 0, 0, 1]), &NLRI),
            withdraw(16),
        ),
        case(
            "IPv6 address specific extended community length 19",
            update(
                &[],
                &valid_with(&[&[0xC0, 25, 19][..], &[0; 19]].concat()),
                &NLRI,
            ),
            withdraw(25),
        ),
        case(
            "LARGE_COMMUNITY length 11",
            update(
                &[],
                &valid_with(&[0xC0, 32, 11, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 3]),
                &NLRI,
            ),
            withdraw(32),
        ),
        // ---- multiprotocol (RFC 4760 §7, RFC 7606 §7.11) ----
        case(
            "MP_REACH IPv6 /129",
            update(&[], &cat(&[&ORIGIN, &AS_PATH, &mp_v6_129]), &[]),
            reset(3, 9, &mp_v6_129),
        ),
        case(
            "MP_REACH unknown AFI/SAFI is discarded",
            update(
                &[],
                &valid_with(&[0x80, 14, 11, 0, 25, 70, 4, 10, 0, 0, 1, 0, 8, 10]),
                &NLRI,
            ),
            discard(14, base_attributes()),
        ),
        case(
            "MP_REACH IPv6 next hop length 8",
            update(&[], &cat(&[&ORIGIN, &AS_PATH, &bad_nh_len]), &[]),
            reset(3, 9, &bad_nh_len),
        ),
        case(
            "MP_UNREACH truncated",
            update(&[], &mp_unreach_truncated, &[]),
            reset(3, 9, &mp_unreach_truncated),
        ),
        // ---- 2-octet AS sessions (RFC 6793 §6) ----
        Case {
            name: "AS4_PATH malformed on a 2-octet session",
            bytes: update(
                &[],
                &cat(&[
                    &ORIGIN,
                    &AS_PATH2,
                    &NEXT_HOP,
                    &[0xC0, 17, 7, 2, 1, 0, 1, 0, 0, 9],
                ]),
                &NLRI,
            ),
            opts: TWO_OCTET,
            expected: discard(17, base_attributes()),
        },
        Case {
            name: "AS4_PATH with AS 0 on a 2-octet session",
            bytes: update(
                &[],
                &cat(&[
                    &ORIGIN,
                    &AS_PATH2,
                    &NEXT_HOP,
                    &[0xC0, 17, 6, 2, 1, 0, 0, 0, 0],
                ]),
                &NLRI,
            ),
            opts: TWO_OCTET,
            expected: discard(17, base_attributes()),
        },
        Case {
            name: "AS4_AGGREGATOR with AS 0 on a 2-octet session",
            bytes: update(
                &[],
                &cat(&[
                    &ORIGIN,
                    &AS_PATH2,
                    &NEXT_HOP,
                    &[0xC0, 18, 8, 0, 0, 0, 0, 10, 0, 0, 1],
                ]),
                &NLRI,
            ),
            opts: TWO_OCTET,
            expected: discard(18, base_attributes()),
        },
        Case {
            name: "AS4_PATH empty on a 2-octet session",
            bytes: update(
                &[],
                &cat(&[&ORIGIN, &AS_PATH2, &NEXT_HOP, &[0xC0, 17, 0]]),
                &NLRI,
            ),
            opts: TWO_OCTET,
            expected: discard(17, base_attributes()),
        },
    ];
    all.push(case(
        "MP_REACH missing ORIGIN is withdrawn",
        update(
            &[],
            &cat(&[&AS_PATH, &mp_reach_v6(&[32, 0x20, 0x01, 0x0d, 0xb8])]),
            &[],
        ),
        Expected::TreatAsWithdraw {
            type_code: 1,
            withdrawn: vec![],
        },
    ));
    all
}
