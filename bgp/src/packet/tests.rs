//! Codec tests: `(bytes, decoded value)` tables checked in both directions, written from the
//! RFC layouts, and proptest round-trips of every message, capability and attribute.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::BytesMut;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;

use super::attribute::*;
use super::*;

const FOUR: DecodeOptions = DecodeOptions {
    four_octet_as: true,
    external: false,
};
const TWO: DecodeOptions = DecodeOptions {
    four_octet_as: false,
    external: false,
};

fn enc_opts(opts: &DecodeOptions) -> EncodeOptions {
    EncodeOptions {
        four_octet_as: opts.four_octet_as,
    }
}

/// A whole message: marker, length, type, body.
fn frame(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![0xFF; 16];
    v.extend_from_slice(&u16::try_from(19 + body.len()).unwrap().to_be_bytes());
    v.push(msg_type);
    v.extend_from_slice(body);
    v
}

/// An UPDATE body from its three fields.
fn update_body(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&u16::try_from(withdrawn.len()).unwrap().to_be_bytes());
    v.extend_from_slice(withdrawn);
    v.extend_from_slice(&u16::try_from(attrs.len()).unwrap().to_be_bytes());
    v.extend_from_slice(attrs);
    v.extend_from_slice(nlri);
    v
}

fn encode(msg: &Message, opts: &DecodeOptions) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_message(msg, &enc_opts(opts), &mut out).unwrap();
    out.to_vec()
}

/// Asserts that `bytes` decodes to `msg` without issues and that `msg` encodes to `bytes`.
fn both_ways(name: &str, bytes: &[u8], msg: &Message, opts: &DecodeOptions) {
    let decoded = decode_message(bytes, opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(decoded.issues, vec![], "{name}: issues");
    assert_eq!(&decoded.message, msg, "{name}: decode");
    assert_eq!(encode(msg, opts), bytes, "{name}: encode");
    assert_eq!(
        frame_length(bytes),
        Ok(Some(bytes.len())),
        "{name}: framing"
    );
}

fn v4(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

#[test]
fn keepalive_notification_and_route_refresh_match_their_rfc_layouts() {
    both_ways("keepalive", &frame(4, &[]), &Message::Keepalive, &FOUR);
    both_ways(
        "notification cease/admin shutdown with data",
        &frame(3, &[6, 2, 0x05, b'b', b'y', b'e', b'!', b'!']),
        &Message::Notification(Notification::with_data(6, 2, *b"\x05bye!!")),
        &FOUR,
    );
    both_ways(
        "notification without data",
        &frame(3, &[4, 0]),
        &Message::Notification(Notification::new(4, 0)),
        &FOUR,
    );
    for (name, octet, subtype) in [
        ("route refresh ipv6 unicast", 0, RefreshSubtype::Request),
        ("BoRR ipv6 unicast", 1, RefreshSubtype::Begin),
        ("EoRR ipv6 unicast", 2, RefreshSubtype::End),
        ("unknown subtype 255", 255, RefreshSubtype::Other(255)),
    ] {
        both_ways(
            name,
            &frame(5, &[0, 2, octet, 1]),
            &Message::RouteRefresh(RouteRefresh {
                afi_safi: Family::Ipv6Unicast.afi_safi(),
                subtype,
            }),
            &FOUR,
        );
    }
}

/// RFC 7313 §5: a request, BoRR or EoRR whose body is not 4 octets is a ROUTE-REFRESH
/// Message Error (7/1) carrying the whole message — not a header error — while a message of
/// unknown subtype is decoded whatever its length, for the receiver to ignore.
#[test]
fn route_refresh_of_the_wrong_length_is_error_7_1_with_the_message() {
    for body in [
        &[0u8, 1, 0, 1, 0][..],
        &[0, 1, 1, 1, 0, 0],
        &[0, 1, 2, 1, 9, 9, 9, 9, 9],
        &[0, 1, 0],
        &[0, 1],
        &[],
    ] {
        let message = frame(5, body);
        assert_eq!(frame_length(&message), Ok(Some(message.len())), "{body:?}");
        let err = decode_message(&message, &FOUR).unwrap_err();
        let n = err.notification();
        assert_eq!((n.code, n.subcode), (7, 1), "{body:?}: {err}");
        assert_eq!(n.data, message, "{body:?}");
        assert_eq!(
            n.to_string(),
            "ROUTE-REFRESH Message Error/Invalid Message Length (7/1)"
        );
    }
    for body in [&[0u8, 1, 3][..], &[0, 1, 200, 1, 0, 0, 0]] {
        let message = frame(5, body);
        let decoded = decode_message(&message, &FOUR).unwrap();
        let Message::RouteRefresh(rr) = decoded.message else {
            panic!("{body:?}: not a ROUTE-REFRESH");
        };
        assert!(matches!(rr.subtype, RefreshSubtype::Other(_)), "{body:?}");
    }
    // The data is cut so that the NOTIFICATION still fits in 4096 octets.
    let long = frame(5, &[0; 4096 - 19]);
    let n = decode_message(&long, &FOUR).unwrap_err().notification();
    assert_eq!(n.data.len(), 4096 - 21);
}

/// The 4-octet AS capability names the peer's AS: 0 (RFC 7607 §2), AS_TRANS, or an AS the
/// 2-octet field contradicts is a Bad Peer AS (2/2) with the capability's AS as data.
#[test]
fn open_whose_four_octet_as_cannot_be_the_peer_is_bad_peer_as() {
    let open_with = |my_as: u16, asn: u32| {
        let [a, b, c, d] = asn.to_be_bytes();
        let [h, l] = my_as.to_be_bytes();
        frame(1, &[4, h, l, 0, 90, 1, 1, 1, 1, 8, 2, 6, 65, 4, a, b, c, d])
    };
    for (my_as, asn, ok) in [
        (65001, 65001, true),
        (23456, 4_200_000_000, true),
        (23456, 65001, true),
        (23456, 0, false),
        (0x5BA0, 23456, false),
        (65001, 65002, false),
        (65001, 4_200_000_000, false),
        (1, 0, false),
    ] {
        let result = decode_message(&open_with(my_as, asn), &FOUR);
        match (result, ok) {
            (Ok(_), true) => {}
            (Err(err), false) => {
                let n = err.notification();
                assert_eq!((n.code, n.subcode), (2, 2), "{my_as}/{asn}: {err}");
                assert_eq!(n.data, asn.to_be_bytes(), "{my_as}/{asn}");
            }
            (other, _) => panic!("{my_as}/{asn}: {other:?}"),
        }
    }
}

#[test]
fn open_with_every_capability_matches_rfc_layout() {
    let body = [
        4, // version
        0x5B, 0xA0, // my AS: AS_TRANS, the real one is in the capability
        0, 90, // hold time
        192, 0, 2, 1,  // BGP identifier
        52, // optional parameters length
        // Each capability in its own Capabilities parameter (type 2).
        2, 6, 1, 4, 0, 1, 0, 1, // multiprotocol IPv4 unicast
        2, 6, 1, 4, 0, 2, 0, 1, // multiprotocol IPv6 unicast
        2, 2, 2, 0, // route refresh
        2, 6, 65, 4, 0xFA, 0x56, 0xEA, 0x00, // 4-octet AS 4200000000
        2, 8, 64, 6, 0x80, 0x78, 0, 1, 1, 0x80, // graceful restart R=1 time 120 ipv4 F=1
        2, 6, 69, 4, 0, 2, 1, 3, // add-path ipv6 unicast send/receive
        2, 4, 128, 2, 0xAB, 0xCD, // unknown capability 128
    ];
    let open = Open {
        version: 4,
        my_as: message::AS_TRANS,
        hold_time: 90,
        bgp_id: Ipv4Addr::new(192, 0, 2, 1),
        capabilities: vec![
            Capability::Multiprotocol(AfiSafi::new(1, 1)),
            Capability::Multiprotocol(AfiSafi::new(2, 1)),
            Capability::RouteRefresh,
            Capability::FourOctetAs(4_200_000_000),
            Capability::GracefulRestart(GracefulRestart {
                restart_state: true,
                notification: false,
                restart_time: 120,
                families: vec![GracefulRestartFamily {
                    afi_safi: AfiSafi::new(1, 1),
                    forwarding_preserved: true,
                }],
            }),
            Capability::AddPath(vec![AddPathFamily {
                afi_safi: AfiSafi::new(2, 1),
                send_receive: 3,
            }]),
            Capability::Unknown {
                code: 128,
                value: vec![0xAB, 0xCD],
            },
        ],
    };
    assert_eq!(open.asn(), 4_200_000_000);
    both_ways("open", &frame(1, &body), &Message::Open(open), &FOUR);
}

#[test]
fn open_with_several_capabilities_in_one_parameter_decodes() {
    let body = [
        4, 0xFD, 0xE8, 0, 180, 10, 0, 0, 1, 10, // fixed part, opt len 10
        2, 8, 1, 4, 0, 1, 0, 1, 2, 0, // one parameter: MP ipv4 + route refresh
    ];
    let decoded = decode_message(&frame(1, &body), &FOUR).unwrap();
    let Message::Open(open) = decoded.message else {
        panic!("not an OPEN")
    };
    assert_eq!(
        open.capabilities,
        vec![
            Capability::Multiprotocol(AfiSafi::new(1, 1)),
            Capability::RouteRefresh
        ]
    );
}

#[test]
fn open_with_rfc9072_extended_parameters_round_trips() {
    let big = vec![7u8; 250];
    let open = Open {
        version: 4,
        my_as: 64512,
        hold_time: 0,
        bgp_id: Ipv4Addr::new(10, 0, 0, 1),
        capabilities: vec![
            Capability::RouteRefresh,
            Capability::Unknown {
                code: 200,
                value: big.clone(),
            },
        ],
    };
    let mut body = vec![4, 0xFC, 0x00, 0, 0, 10, 0, 0, 1, 255, 255];
    let total = 5 + 5 + 250;
    body.extend_from_slice(&u16::try_from(total).unwrap().to_be_bytes());
    body.extend_from_slice(&[2, 0, 2, 2, 0]);
    body.extend_from_slice(&[2, 0, 252, 200, 250]);
    body.extend_from_slice(&big);
    both_ways(
        "open rfc 9072",
        &frame(1, &body),
        &Message::Open(open),
        &FOUR,
    );
}

/// ORIGIN IGP and an empty AS_PATH: what every encoded attribute set starts with.
const BASE: [u8; 7] = [0x40, 1, 1, 0, 0x40, 2, 0];

#[test]
fn each_attribute_matches_its_rfc_layout() {
    let with = |f: fn(&mut PathAttributes)| {
        let mut a = PathAttributes::default();
        f(&mut a);
        a
    };
    let cases: Vec<(&str, DecodeOptions, Vec<u8>, PathAttributes)> = vec![
        ("base", FOUR, vec![], PathAttributes::default()),
        (
            "next hop",
            FOUR,
            vec![0x40, 3, 4, 192, 0, 2, 1],
            with(|a| a.next_hop = Some(Ipv4Addr::new(192, 0, 2, 1))),
        ),
        (
            "med",
            FOUR,
            vec![0x80, 4, 4, 0, 0, 1, 0],
            with(|a| a.med = Some(256)),
        ),
        (
            "local pref",
            FOUR,
            vec![0x40, 5, 4, 0, 0, 0, 100],
            with(|a| a.local_pref = Some(100)),
        ),
        (
            "atomic aggregate",
            FOUR,
            vec![0x40, 6, 0],
            with(|a| a.atomic_aggregate = true),
        ),
        (
            "aggregator 4-octet",
            FOUR,
            vec![0xC0, 7, 8, 0, 1, 0, 0, 10, 0, 0, 9],
            with(|a| {
                a.aggregator = Some(Aggregator {
                    asn: 65536,
                    address: Ipv4Addr::new(10, 0, 0, 9),
                })
            }),
        ),
        (
            "aggregator 2-octet",
            TWO,
            vec![0xC0, 7, 6, 0xFD, 0xE8, 10, 0, 0, 9],
            with(|a| {
                a.aggregator = Some(Aggregator {
                    asn: 65000,
                    address: Ipv4Addr::new(10, 0, 0, 9),
                })
            }),
        ),
        (
            "communities",
            FOUR,
            vec![0xC0, 8, 8, 0xFD, 0xE8, 0, 1, 0xFF, 0xFF, 0xFF, 0x01],
            with(|a| a.communities = vec![Community::new(65000, 1), Community::NO_EXPORT]),
        ),
        (
            "originator id",
            FOUR,
            vec![0x80, 9, 4, 1, 1, 1, 1],
            with(|a| a.originator_id = Some(Ipv4Addr::new(1, 1, 1, 1))),
        ),
        (
            "cluster list",
            FOUR,
            vec![0x80, 10, 8, 2, 2, 2, 2, 3, 3, 3, 3],
            with(|a| a.cluster_list = vec![Ipv4Addr::new(2, 2, 2, 2), Ipv4Addr::new(3, 3, 3, 3)]),
        ),
        (
            "extended communities",
            FOUR,
            vec![0xC0, 16, 8, 0, 2, 0xFD, 0xE8, 0, 0, 0, 7],
            with(|a| a.ext_communities = vec![ExtCommunity([0, 2, 0xFD, 0xE8, 0, 0, 0, 7])]),
        ),
        (
            "large communities",
            FOUR,
            vec![0xC0, 32, 12, 0, 0, 0xFD, 0xE8, 0, 0, 0, 1, 0, 0, 0, 2],
            with(|a| {
                a.large_communities = vec![LargeCommunity {
                    global: 65000,
                    local1: 1,
                    local2: 2,
                }]
            }),
        ),
        (
            "unknown optional transitive gets partial",
            FOUR,
            vec![0xE0, 99, 3, 1, 2, 3],
            with(|a| {
                a.unknown = vec![RawAttribute {
                    flags: 0xE0,
                    type_code: 99,
                    value: vec![1, 2, 3],
                }]
            }),
        ),
    ];
    for (name, opts, attr, want) in cases {
        let mut attrs = BASE.to_vec();
        attrs.extend_from_slice(&attr);
        let bytes = frame(2, &update_body(&[], &attrs, &[]));
        let msg = Message::Update(Update {
            attributes: Some(want),
            ..Update::default()
        });
        both_ways(name, &bytes, &msg, &opts);
    }
}

#[test]
fn as_path_segments_decode_in_both_asn_sizes() {
    let path = AsPath {
        segments: vec![
            AsSegment {
                kind: SegmentType::ConfedSequence,
                asns: vec![65001],
            },
            AsSegment {
                kind: SegmentType::Sequence,
                asns: vec![65000, 1],
            },
            AsSegment {
                kind: SegmentType::Set,
                asns: vec![3, 4],
            },
        ],
    };
    let four = [
        0x40, 2, 26, 3, 1, 0, 0, 0xFD, 0xE9, 2, 2, 0, 0, 0xFD, 0xE8, 0, 0, 0, 1, 1, 2, 0, 0, 0, 3,
        0, 0, 0, 4,
    ];
    let two = [
        0x40, 2, 16, 3, 1, 0xFD, 0xE9, 2, 2, 0xFD, 0xE8, 0, 1, 1, 2, 0, 3, 0, 4,
    ];
    for (opts, bytes) in [(FOUR, &four[..]), (TWO, &two[..])] {
        let mut attrs = vec![0x40, 1, 1, 2];
        attrs.extend_from_slice(bytes);
        let msg = Message::Update(Update {
            attributes: Some(PathAttributes {
                origin: Origin::Incomplete,
                as_path: path.clone(),
                ..PathAttributes::default()
            }),
            ..Update::default()
        });
        both_ways(
            "as path",
            &frame(2, &update_body(&[], &attrs, &[])),
            &msg,
            &opts,
        );
    }
}

#[test]
fn two_octet_session_carries_big_asns_in_as4_path_and_as4_aggregator() {
    let attrs = PathAttributes {
        as_path: AsPath::from_sequence([65000, 4_200_000_000]),
        aggregator: Some(Aggregator {
            asn: 4_200_000_000,
            address: Ipv4Addr::new(10, 0, 0, 1),
        }),
        next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
        ..PathAttributes::default()
    };
    let wire = [
        0x40, 1, 1, 0, // ORIGIN
        0x40, 2, 6, 2, 2, 0xFD, 0xE8, 0x5B, 0xA0, // AS_PATH 65000 AS_TRANS
        0x40, 3, 4, 192, 0, 2, 1, // NEXT_HOP
        0xC0, 7, 6, 0x5B, 0xA0, 10, 0, 0, 1, // AGGREGATOR AS_TRANS
        0xC0, 17, 10, 2, 2, 0, 0, 0xFD, 0xE8, 0xFA, 0x56, 0xEA, 0, // AS4_PATH
        0xC0, 18, 8, 0xFA, 0x56, 0xEA, 0, 10, 0, 0, 1, // AS4_AGGREGATOR
    ];
    let msg = Message::Update(Update {
        attributes: Some(attrs),
        nlri: vec![v4("10.1.0.0/16")],
        ..Update::default()
    });
    both_ways(
        "as4",
        &frame(2, &update_body(&[], &wire, &[16, 10, 1])),
        &msg,
        &TWO,
    );
}

#[test]
fn as4_path_shorter_than_as_path_keeps_the_leading_two_octet_asns() {
    // An old speaker (AS 100) prepended itself after the new speaker built AS4_PATH.
    let wire = [
        0x40, 1, 1, 0, 0x40, 2, 8, 2, 3, 0, 100, 0x5B, 0xA0, 0, 200, // AS_PATH 100 23456 200
        0xC0, 17, 10, 2, 2, 0xFA, 0x56, 0xEA, 0, 0, 0, 0, 200, // AS4_PATH 4200000000 200
    ];
    let decoded = decode_message(&frame(2, &update_body(&[], &wire, &[])), &TWO).unwrap();
    let Message::Update(update) = decoded.message else {
        panic!("not an UPDATE")
    };
    assert_eq!(
        update.attributes.unwrap().as_path,
        AsPath::from_sequence([100, 4_200_000_000, 200])
    );
}

#[test]
fn confederation_segments_in_as4_path_are_dropped_and_the_rest_used() {
    let wire = [
        0x40, 1, 1, 0, 0x40, 2, 4, 2, 1, 0x5B, 0xA0, // AS_PATH 23456
        0xC0, 17, 12, 3, 1, 0, 0, 0, 7, 2, 1, 0, 1, 0, 0, // AS4_PATH (7) 65536
    ];
    let decoded = decode_message(&frame(2, &update_body(&[], &wire, &[])), &TWO).unwrap();
    assert_eq!(decoded.issues, vec![]);
    let Message::Update(update) = decoded.message else {
        panic!("not an UPDATE")
    };
    assert_eq!(
        update.attributes.unwrap().as_path,
        AsPath::from_sequence([65536])
    );
}

#[test]
fn as4_attributes_are_ignored_when_the_aggregator_is_not_as_trans() {
    let wire = [
        0x40, 1, 1, 0, 0x40, 2, 4, 2, 1, 0x5B, 0xA0, // AS_PATH 23456
        0xC0, 7, 6, 0, 100, 10, 0, 0, 1, // AGGREGATOR 100
        0xC0, 17, 6, 2, 1, 0, 1, 0, 0, // AS4_PATH 65536
        0xC0, 18, 8, 0, 1, 0, 0, 10, 0, 0, 1, // AS4_AGGREGATOR 65536
    ];
    let decoded = decode_message(&frame(2, &update_body(&[], &wire, &[])), &TWO).unwrap();
    let Message::Update(update) = decoded.message else {
        panic!("not an UPDATE")
    };
    let attrs = update.attributes.unwrap();
    assert_eq!(attrs.as_path, AsPath::from_sequence([23456]));
    assert_eq!(attrs.aggregator.unwrap().asn, 100);
}

#[test]
fn update_with_withdrawn_and_nlri_matches_rfc_layout() {
    let attrs = [0x40, 1, 1, 0, 0x40, 2, 0, 0x40, 3, 4, 10, 0, 0, 1];
    let bytes = frame(
        2,
        &update_body(&[8, 10, 24, 192, 168, 1], &attrs, &[32, 10, 9, 9, 9, 0]),
    );
    let msg = Message::Update(Update {
        withdrawn: vec![v4("10.0.0.0/8"), v4("192.168.1.0/24")],
        attributes: Some(PathAttributes {
            next_hop: Some(Ipv4Addr::new(10, 0, 0, 1)),
            ..PathAttributes::default()
        }),
        nlri: vec![v4("10.9.9.9/32"), v4("0.0.0.0/0")],
        ..Update::default()
    });
    both_ways("update", &bytes, &msg, &FOUR);
}

#[test]
fn mp_reach_ipv6_with_link_local_next_hop_matches_rfc_layout() {
    let global: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let link: Ipv6Addr = "fe80::1".parse().unwrap();
    let mut mp = vec![0x80, 14, 0, 0, 2, 1, 32];
    mp.extend_from_slice(&global.octets());
    mp.extend_from_slice(&link.octets());
    mp.push(0);
    mp.extend_from_slice(&[
        32, 0x20, 0x01, 0x0d, 0xb8, 64, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0,
    ]);
    mp[2] = u8::try_from(mp.len() - 3).unwrap();
    let mut attrs = mp.clone();
    attrs.extend_from_slice(&BASE);
    let msg = Message::Update(Update {
        attributes: Some(PathAttributes::default()),
        mp_reach: Some(MpReach {
            afi_safi: Family::Ipv6Unicast.afi_safi(),
            next_hops: vec![IpAddr::V6(global), IpAddr::V6(link)],
            nlri: vec![net("2001:db8::/32"), net("2001:db8:1::/64")],
        }),
        ..Update::default()
    });
    both_ways(
        "mp reach",
        &frame(2, &update_body(&[], &attrs, &[])),
        &msg,
        &FOUR,
    );
}

#[test]
fn mp_unreach_ipv6_and_end_of_rib_match_rfc_layout() {
    let attrs = [0x80, 15, 8, 0, 2, 1, 32, 0x20, 0x01, 0x0d, 0xb8];
    let msg = Message::Update(Update {
        mp_unreach: Some(MpUnreach {
            afi_safi: Family::Ipv6Unicast.afi_safi(),
            withdrawn: vec![net("2001:db8::/32")],
        }),
        ..Update::default()
    });
    both_ways(
        "mp unreach",
        &frame(2, &update_body(&[], &attrs, &[])),
        &msg,
        &FOUR,
    );

    let mut out = BytesMut::new();
    encode_end_of_rib(Family::Ipv4Unicast, &mut out);
    assert_eq!(&out[..], &frame(2, &[0, 0, 0, 0])[..]);
    let decoded = decode_message(&out, &FOUR).unwrap();
    assert!(matches!(&decoded.message, Message::Update(u) if u.is_end_of_rib()));

    let mut out = BytesMut::new();
    encode_end_of_rib(Family::Ipv6Unicast, &mut out);
    let eor6 = frame(2, &update_body(&[], &[0x80, 15, 3, 0, 2, 1], &[]));
    assert_eq!(&out[..], &eor6[..]);
    let decoded = decode_message(&out, &FOUR).unwrap();
    let want = Message::Update(Update {
        mp_unreach: Some(MpUnreach {
            afi_safi: Family::Ipv6Unicast.afi_safi(),
            withdrawn: vec![],
        }),
        ..Update::default()
    });
    assert_eq!(decoded.message, want);
}

/// End-of-RIB markers (RFC 4724 §2) are recognised per family from the wire, and nothing
/// that carries a route or an attribute is taken for one.
#[test]
fn end_of_rib_markers_are_recognised_per_family() {
    let ipv4 = Some(Family::Ipv4Unicast.afi_safi());
    let ipv6 = Some(Family::Ipv6Unicast.afi_safi());
    let cases: [(&str, Vec<u8>, Option<AfiSafi>); 7] = [
        ("empty UPDATE", update_body(&[], &[], &[]), ipv4),
        (
            "only an empty IPv6 MP_UNREACH",
            update_body(&[], &[0x80, 15, 3, 0, 2, 1], &[]),
            ipv6,
        ),
        (
            "only an empty MP_UNREACH of another family",
            update_body(&[], &[0x80, 15, 3, 0, 25, 70], &[]),
            Some(AfiSafi::new(25, 70)),
        ),
        (
            "an IPv4 withdrawal",
            update_body(&[24, 10, 0, 0], &[], &[]),
            None,
        ),
        (
            "an IPv6 withdrawal",
            update_body(
                &[],
                &[0x80, 15, 8, 0, 2, 1, 32, 0x20, 0x01, 0x0d, 0xb8],
                &[],
            ),
            None,
        ),
        (
            "an empty MP_UNREACH beside ORIGIN",
            update_body(&[], &[0x40, 1, 1, 0, 0x80, 15, 3, 0, 2, 1], &[]),
            None,
        ),
        (
            "attributes without NLRI",
            update_body(&[], &[0x40, 1, 1, 0], &[]),
            None,
        ),
    ];
    for (name, body, want) in cases {
        let decoded = decode_message(&frame(2, &body), &FOUR).unwrap();
        let Message::Update(update) = decoded.message else {
            panic!("{name}: not an UPDATE");
        };
        assert_eq!(update.end_of_rib(), want, "{name}");
        assert_eq!(update.is_end_of_rib(), want == ipv4, "{name}");
    }
    // The marker of a family we do not route is written back as it came.
    let other = Message::Update(Update {
        mp_unreach: Some(MpUnreach {
            afi_safi: AfiSafi::new(25, 70),
            withdrawn: vec![],
        }),
        ..Update::default()
    });
    both_ways(
        "End-of-RIB of another family",
        &frame(2, &update_body(&[], &[0x80, 15, 3, 0, 25, 70], &[])),
        &other,
        &FOUR,
    );
}

#[test]
fn frame_length_waits_for_the_header_and_the_body() {
    let msg = frame(4, &[]);
    assert_eq!(frame_length(&msg[..18]), Ok(None));
    assert_eq!(frame_length(&msg), Ok(Some(19)));
    let open = frame(1, &[4, 0, 1, 0, 0, 1, 1, 1, 1, 0]);
    assert_eq!(frame_length(&open[..25]), Ok(None));
    let mut two = open.clone();
    two.extend_from_slice(&msg);
    assert_eq!(frame_length(&two), Ok(Some(29)));
}

#[test]
fn frame_not_matching_its_header_length_is_refused() {
    let mut msg = frame(4, &[]);
    msg.push(0);
    assert_eq!(
        decode_message(&msg, &FOUR),
        Err(DecodeError::FrameMismatch {
            length: 19,
            available: 20
        })
    );
}

fn decode_issues(attrs: &[u8], nlri: &[u8], opts: &DecodeOptions) -> (Update, Vec<UpdateIssue>) {
    let decoded = decode_message(&frame(2, &update_body(&[], attrs, nlri)), opts).unwrap();
    match decoded.message {
        Message::Update(u) => (u, decoded.issues),
        other => panic!("not an UPDATE: {other:?}"),
    }
}

#[test]
fn treat_as_withdraw_moves_mp_reach_prefixes_into_mp_unreach() {
    let mut mp = vec![0x80, 14, 0, 0, 2, 1, 16];
    mp.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
    mp.extend_from_slice(&[0, 32, 0x20, 0x01, 0x0d, 0xb8]);
    mp[2] = u8::try_from(mp.len() - 3).unwrap();
    let mut attrs = mp;
    attrs.extend_from_slice(&[0x40, 1, 1, 7, 0x40, 2, 0]); // ORIGIN 7 is malformed
    let (update, issues) = decode_issues(&attrs, &[], &FOUR);
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].action, UpdateAction::TreatAsWithdraw);
    assert_eq!(update.mp_reach, None);
    assert_eq!(update.attributes, None);
    assert_eq!(
        update.mp_unreach,
        Some(MpUnreach {
            afi_safi: Family::Ipv6Unicast.afi_safi(),
            withdrawn: vec![net("2001:db8::/32")],
        })
    );
}

#[test]
fn misflagged_mp_reach_is_parsed_then_withdrawn() {
    let attrs = [
        0xC0, 14, 11, 0, 1, 1, 4, 10, 0, 0, 1, 0, 8, 10, // transitive flag set: wrong
        0x40, 1, 1, 0, 0x40, 2, 0,
    ];
    let (update, issues) = decode_issues(&attrs, &[], &FOUR);
    assert_eq!(issues[0].action, UpdateAction::TreatAsWithdraw);
    assert_eq!(issues[0].type_code, 14);
    assert_eq!(update.withdrawn, vec![v4("10.0.0.0/8")]);
    assert_eq!(update.mp_reach, None);
}

#[test]
fn as4_path_on_a_four_octet_session_is_discarded_with_an_issue() {
    let attrs = [0x40, 1, 1, 0, 0x40, 2, 0, 0xC0, 17, 6, 2, 1, 0, 1, 0, 0];
    let (update, issues) = decode_issues(&attrs, &[], &FOUR);
    assert_eq!(
        issues,
        vec![UpdateIssue {
            action: UpdateAction::AttributeDiscard,
            type_code: 17,
            reason: AttributeError::As4OnFourOctetSession
        }]
    );
    assert_eq!(update.attributes, Some(PathAttributes::default()));
}

#[test]
fn unknown_optional_non_transitive_attribute_is_dropped_quietly() {
    let attrs = [0x40, 1, 1, 0, 0x40, 2, 0, 0x80, 99, 1, 0];
    let (update, issues) = decode_issues(&attrs, &[], &FOUR);
    assert_eq!(issues, vec![]);
    assert_eq!(update.attributes, Some(PathAttributes::default()));
}

#[test]
fn decode_errors_name_their_notification_and_print_precisely() {
    let err = DecodeError::BadLength { length: 5000 };
    assert_eq!(
        err.notification(),
        Notification::with_data(1, 2, [0x13, 0x88])
    );
    assert_eq!(
        err.to_string(),
        "message header length 5000 is outside 19..=4096"
    );
    let issue = UpdateIssue {
        action: UpdateAction::TreatAsWithdraw,
        type_code: 8,
        reason: AttributeError::BadLength {
            length: 5,
            expected: "a non-zero multiple of 4",
        },
    };
    assert_eq!(
        issue.to_string(),
        "attribute 8: length 5, expected a non-zero multiple of 4 (TreatAsWithdraw)"
    );
}

// ---- packers ----

#[test]
fn announce_ipv4_packs_prefixes_into_4096_octet_updates() {
    let attrs = PathAttributes {
        as_path: AsPath::from_sequence([65000]),
        next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
        med: Some(5),
        ..PathAttributes::default()
    };
    let prefixes: Vec<Ipv4Net> = (0..3000u32)
        .map(|i| Ipv4Net::new(Ipv4Addr::from((10 << 24) | (i << 8)), 24).unwrap())
        .collect();
    let mut out = BytesMut::new();
    let n = encode_announce_ipv4(&attrs, &prefixes, &EncodeOptions::default(), &mut out).unwrap();
    let mut rest = &out[..];
    let mut got = Vec::new();
    let mut messages = 0;
    while let Some(len) = frame_length(rest).unwrap() {
        assert!(len <= 4096);
        let decoded = decode_message(&rest[..len], &FOUR).unwrap();
        let Message::Update(u) = decoded.message else {
            panic!()
        };
        assert_eq!(u.attributes.as_ref(), Some(&attrs));
        got.extend(u.nlri);
        rest = &rest[len..];
        messages += 1;
    }
    assert!(rest.is_empty());
    assert_eq!(messages, n);
    assert_eq!(got, prefixes);
    // 3000 /24s take 12000 octets; each message has room for about 4050 of them.
    assert_eq!(n, 3);
}

#[test]
fn announce_mp_and_withdraw_pack_and_decode_back() {
    let attrs = PathAttributes {
        as_path: AsPath::from_sequence([65000]),
        ..PathAttributes::default()
    };
    let prefixes: Vec<IpNet> = (0..800u128)
        .map(|i| {
            IpNet::V6(
                Ipv6Net::new(Ipv6Addr::from((0x2001_0db8u128 << 96) | (i << 64)), 64).unwrap(),
            )
        })
        .collect();
    let hops = [IpAddr::V6("2001:db8::1".parse().unwrap())];
    let mut out = BytesMut::new();
    let n = encode_announce_mp(
        &attrs,
        Family::Ipv6Unicast.afi_safi(),
        &hops,
        &prefixes,
        &EncodeOptions::default(),
        &mut out,
    )
    .unwrap();
    let mut withdraw: Vec<IpNet> = prefixes.clone();
    withdraw.push(net("10.0.0.0/8"));
    let w = encode_withdraw(&withdraw, &EncodeOptions::default(), &mut out).unwrap();
    let mut rest = &out[..];
    let (mut reach, mut unreach, mut classic) = (Vec::new(), Vec::new(), Vec::new());
    let mut messages = 0;
    while let Some(len) = frame_length(rest).unwrap() {
        let decoded = decode_message(&rest[..len], &FOUR).unwrap();
        assert_eq!(decoded.issues, vec![]);
        let Message::Update(u) = decoded.message else {
            panic!()
        };
        if let Some(r) = u.mp_reach {
            assert_eq!(r.next_hops, hops.to_vec());
            assert_eq!(u.attributes.as_ref(), Some(&attrs));
            reach.extend(r.nlri);
        }
        if let Some(r) = u.mp_unreach {
            unreach.extend(r.withdrawn);
        }
        classic.extend(u.withdrawn);
        rest = &rest[len..];
        messages += 1;
    }
    assert_eq!(messages, n + w);
    assert!(n >= 2, "800 /64s (7200 octets) need two messages");
    assert_eq!(reach, prefixes);
    assert_eq!(unreach, prefixes);
    assert_eq!(classic, vec![v4("10.0.0.0/8")]);
}

#[test]
fn packers_refuse_bad_input() {
    let mut out = BytesMut::new();
    let opts = EncodeOptions::default();
    assert_eq!(
        encode_announce_ipv4(
            &PathAttributes::default(),
            &[v4("10.0.0.0/8")],
            &opts,
            &mut out
        ),
        Err(EncodeError::MissingNextHop)
    );
    assert!(matches!(
        encode_announce_mp(
            &PathAttributes::default(),
            Family::Ipv6Unicast.afi_safi(),
            &[IpAddr::V6(Ipv6Addr::LOCALHOST)],
            &[net("10.0.0.0/8")],
            &opts,
            &mut out
        ),
        Err(EncodeError::FamilyMismatch { .. })
    ));
    let huge = Message::Notification(Notification::with_data(6, 0, vec![0; 5000]));
    assert_eq!(
        encode_message(&huge, &opts, &mut out),
        Err(EncodeError::TooLong { length: 5021 })
    );
    assert!(out.is_empty());
}

// ---- property tests ----

fn arb_afi_safi() -> impl Strategy<Value = AfiSafi> {
    prop_oneof![
        Just(AfiSafi::new(1, 1)),
        Just(AfiSafi::new(2, 1)),
        (any::<u16>(), any::<u8>()).prop_map(|(a, s)| AfiSafi::new(a, s)),
    ]
}

fn arb_graceful_restart() -> impl Strategy<Value = GracefulRestart> {
    (
        any::<bool>(),
        any::<bool>(),
        0u16..=MAX_RESTART_TIME,
        prop::collection::vec(
            (arb_afi_safi(), any::<bool>()).prop_map(|(afi_safi, forwarding_preserved)| {
                GracefulRestartFamily {
                    afi_safi,
                    forwarding_preserved,
                }
            }),
            0..4,
        ),
    )
        .prop_map(
            |(restart_state, notification, restart_time, families)| GracefulRestart {
                restart_state,
                notification,
                restart_time,
                families,
            },
        )
}

fn arb_capability() -> impl Strategy<Value = Capability> {
    prop_oneof![
        arb_afi_safi().prop_map(Capability::Multiprotocol),
        Just(Capability::RouteRefresh),
        // A real 4-octet AS: 0 and AS_TRANS are refused (RFC 7607, RFC 6793), and the OPENs
        // these go into carry AS_TRANS in My Autonomous System.
        (65536u32..).prop_map(Capability::FourOctetAs),
        arb_graceful_restart().prop_map(Capability::GracefulRestart),
        prop::collection::vec(
            (arb_afi_safi(), 1u8..4).prop_map(|(afi_safi, send_receive)| AddPathFamily {
                afi_safi,
                send_receive
            }),
            0..4
        )
        .prop_map(Capability::AddPath),
        (any::<u8>(), prop::collection::vec(any::<u8>(), 0..20))
            .prop_filter("known code", |(c, _)| !matches!(c, 1 | 2 | 64 | 65 | 69))
            .prop_map(|(code, value)| Capability::Unknown { code, value }),
    ]
}

fn arb_open() -> impl Strategy<Value = Open> {
    (
        1u16..,
        prop_oneof![Just(0u16), 3u16..],
        1u32..,
        prop::collection::vec(arb_capability(), 0..12),
    )
        .prop_map(|(my_as, hold_time, id, capabilities)| {
            let four_octet = capabilities
                .iter()
                .any(|c| matches!(c, Capability::FourOctetAs(_)));
            Open {
                version: 4,
                my_as: if four_octet { message::AS_TRANS } else { my_as },
                hold_time,
                bgp_id: Ipv4Addr::from(id),
                capabilities,
            }
        })
}

fn arb_v4net() -> impl Strategy<Value = Ipv4Net> {
    (any::<u32>(), 0u8..=32).prop_map(|(a, l)| Ipv4Net::new(Ipv4Addr::from(a), l).unwrap().trunc())
}

fn arb_v6net() -> impl Strategy<Value = IpNet> {
    (any::<u128>(), 0u8..=128)
        .prop_map(|(a, l)| IpNet::V6(Ipv6Net::new(Ipv6Addr::from(a), l).unwrap().trunc()))
}

fn arb_segment(
    asn: BoxedStrategy<u32>,
    kinds: Vec<SegmentType>,
) -> impl Strategy<Value = AsSegment> {
    (
        prop::sample::select(kinds),
        prop::collection::vec(asn, 1..6),
    )
        .prop_map(|(kind, asns)| AsSegment { kind, asns })
}

fn arb_asn() -> BoxedStrategy<u32> {
    // AS 0 is malformed wherever it appears (RFC 7607).
    prop_oneof![1u32..65536, 1u32..].boxed()
}

fn arb_as_path() -> impl Strategy<Value = AsPath> {
    // Confederation segments only lead the path (RFC 5065) and use 2-octet member ASes so
    // that they survive a 2-octet session, where AS4_PATH cannot carry them.
    (
        prop::collection::vec(
            arb_segment(
                (1u32..65536).boxed(),
                vec![SegmentType::ConfedSequence, SegmentType::ConfedSet],
            ),
            0..2,
        ),
        prop::collection::vec(
            arb_segment(arb_asn(), vec![SegmentType::Sequence, SegmentType::Set]),
            0..4,
        ),
    )
        .prop_map(|(mut confed, public)| {
            confed.extend(public);
            AsPath { segments: confed }
        })
}

fn arb_ipv4() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

fn arb_next_hop() -> impl Strategy<Value = Ipv4Addr> {
    (1u32..0xE000_0000).prop_map(Ipv4Addr::from)
}

fn arb_attributes() -> impl Strategy<Value = PathAttributes> {
    let head = (
        prop_oneof![
            Just(Origin::Igp),
            Just(Origin::Egp),
            Just(Origin::Incomplete)
        ],
        arb_as_path(),
        prop::option::of(arb_next_hop()),
        prop::option::of(any::<u32>()),
        prop::option::of(any::<u32>()),
        any::<bool>(),
        prop::option::of(
            (arb_asn(), arb_ipv4()).prop_map(|(asn, address)| Aggregator { asn, address }),
        ),
    );
    let tail = (
        prop::collection::vec(any::<u32>().prop_map(Community), 0..4),
        prop::collection::vec(any::<[u8; 8]>().prop_map(ExtCommunity), 0..3),
        prop::collection::vec(
            (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(global, local1, local2)| {
                LargeCommunity {
                    global,
                    local1,
                    local2,
                }
            }),
            0..3,
        ),
        prop::option::of(arb_ipv4()),
        prop::collection::vec(arb_ipv4(), 0..3),
        prop::collection::btree_map(
            (19u8..=255).prop_filter("known", |t| !matches!(t, 25 | 32)),
            prop::collection::vec(any::<u8>(), 0..300),
            0..3,
        ),
    );
    (head, tail).prop_map(
        |(
            (origin, as_path, next_hop, med, local_pref, atomic_aggregate, aggregator),
            (communities, ext_communities, large_communities, originator_id, cluster_list, unknown),
        )| PathAttributes {
            origin,
            as_path,
            next_hop,
            med,
            local_pref,
            atomic_aggregate,
            aggregator,
            communities,
            ext_communities,
            large_communities,
            originator_id,
            cluster_list,
            unknown: unknown
                .into_iter()
                .map(|(type_code, value)| RawAttribute {
                    // The encoder sets Partial and recomputes Extended Length.
                    flags: FLAG_OPTIONAL
                        | FLAG_TRANSITIVE
                        | FLAG_PARTIAL
                        | if value.len() > 255 {
                            FLAG_EXTENDED_LENGTH
                        } else {
                            0
                        },
                    type_code,
                    value,
                })
                .collect(),
        },
    )
}

fn arb_mp_reach() -> impl Strategy<Value = MpReach> {
    prop_oneof![
        (arb_next_hop(), prop::collection::vec(arb_v4net(), 0..8)).prop_map(|(nh, nlri)| {
            MpReach {
                afi_safi: Family::Ipv4Unicast.afi_safi(),
                next_hops: vec![IpAddr::V4(nh)],
                nlri: nlri.into_iter().map(IpNet::V4).collect(),
            }
        }),
        (
            prop::collection::vec(
                any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
                1..=2
            ),
            prop::collection::vec(arb_v6net(), 0..8)
        )
            .prop_map(|(next_hops, nlri)| MpReach {
                afi_safi: Family::Ipv6Unicast.afi_safi(),
                next_hops,
                nlri,
            }),
    ]
}

fn arb_mp_unreach() -> impl Strategy<Value = MpUnreach> {
    prop_oneof![
        prop::collection::vec(arb_v4net(), 0..8).prop_map(|w| MpUnreach {
            afi_safi: Family::Ipv4Unicast.afi_safi(),
            withdrawn: w.into_iter().map(IpNet::V4).collect(),
        }),
        prop::collection::vec(arb_v6net(), 0..8).prop_map(|withdrawn| MpUnreach {
            afi_safi: Family::Ipv6Unicast.afi_safi(),
            withdrawn,
        }),
    ]
}

fn arb_update() -> impl Strategy<Value = Update> {
    (
        prop::collection::vec(arb_v4net(), 0..20),
        prop::option::of(arb_attributes()),
        prop::collection::vec(arb_v4net(), 0..20),
        prop::option::of(arb_mp_reach()),
        prop::option::of(arb_mp_unreach()),
        arb_next_hop(),
    )
        .prop_map(|(withdrawn, attributes, nlri, mp_reach, mp_unreach, nh)| {
            // Routes need the well-known mandatory attributes, or the decoder (rightly)
            // withdraws them.
            let mut attributes = attributes;
            if !nlri.is_empty() || mp_reach.is_some() {
                let a = attributes.get_or_insert_with(PathAttributes::default);
                if !nlri.is_empty() && a.next_hop.is_none() {
                    a.next_hop = Some(nh);
                }
            }
            Update {
                withdrawn,
                attributes,
                nlri,
                mp_reach,
                mp_unreach,
            }
        })
}

fn arb_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        arb_open().prop_map(Message::Open),
        arb_update().prop_map(Message::Update),
        (
            any::<u8>(),
            any::<u8>(),
            prop::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(c, s, d)| Message::Notification(Notification::with_data(c, s, d))),
        Just(Message::Keepalive),
        (arb_afi_safi(), any::<u8>()).prop_map(|(afi_safi, subtype)| {
            Message::RouteRefresh(RouteRefresh {
                afi_safi,
                subtype: RefreshSubtype::from_octet(subtype),
            })
        }),
    ]
}

fn round_trip(msg: &Message, opts: &DecodeOptions) -> Result<(), TestCaseError> {
    let mut out = BytesMut::new();
    encode_message(msg, &enc_opts(opts), &mut out)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(frame_length(&out), Ok(Some(out.len())));
    let decoded = decode_message(&out, opts).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(decoded.issues, vec![]);
    prop_assert_eq!(&decoded.message, msg);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn every_message_round_trips_on_four_octet_sessions(msg in arb_message()) {
        round_trip(&msg, &FOUR)?;
    }

    #[test]
    fn every_message_round_trips_on_two_octet_sessions(msg in arb_message()) {
        round_trip(&msg, &TWO)?;
    }

    #[test]
    fn every_capability_round_trips_in_an_open(cap in arb_capability(), four in any::<bool>()) {
        let open = Open {
            version: 4,
            my_as: message::AS_TRANS,
            hold_time: 90,
            bgp_id: Ipv4Addr::new(1, 2, 3, 4),
            capabilities: vec![cap],
        };
        round_trip(&Message::Open(open), if four { &FOUR } else { &TWO })?;
    }

    #[test]
    fn every_attribute_set_round_trips(attrs in arb_attributes(), four in any::<bool>()) {
        let update = Update { attributes: Some(attrs), ..Update::default() };
        round_trip(&Message::Update(update), if four { &FOUR } else { &TWO })?;
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in prop::collection::vec(any::<u8>(), 0..200), four in any::<bool>()) {
        let mut framed = frame(2, &bytes);
        let _ = decode_message(&framed, if four { &FOUR } else { &TWO });
        framed.truncate(19 + bytes.len() / 2);
        let _ = frame_length(&framed);
    }
}

/// Confederation segments are malformed only from an external peer (RFC 5065 §5): an
/// internal peer's path keeps them.
#[test]
fn confederation_segments_from_an_internal_peer_are_kept() {
    let as_path = [0x40, 2, 12, 3, 1, 0, 0, 0xFD, 0xE9, 2, 1, 0, 0, 0xFD, 0xEA];
    let attrs = [&[0x40, 1, 1, 0][..], &as_path, &[0x40, 3, 4, 10, 0, 0, 1]].concat();
    let (update, issues) = decode_issues(&attrs, &[24, 10, 1, 1], &FOUR);
    assert_eq!(issues, vec![]);
    let path = update.attributes.unwrap().as_path;
    assert_eq!(path.segments[0].kind, SegmentType::ConfedSequence);
    assert_eq!(path.to_string(), "(65001) 65002");
}

/// NEXT_HOP is malformed only by its length (RFC 7606 §7.3): 0.0.0.0 or a multicast address
/// decode, and the route is refused at import as a semantic error instead.
#[test]
fn a_next_hop_of_the_wrong_kind_is_no_decoding_error() {
    for nh in [[0, 0, 0, 0], [224, 0, 0, 5], [240, 0, 0, 1]] {
        let attrs = [&[0x40, 1, 1, 0][..], &[0x40, 2, 0], &[0x40, 3, 4], &nh].concat();
        let (update, issues) = decode_issues(&attrs, &[24, 10, 1, 1], &FOUR);
        assert_eq!(issues, vec![], "{nh:?}");
        assert_eq!(
            update.attributes.unwrap().next_hop,
            Some(Ipv4Addr::from(nh))
        );
    }
}

/// The IPv6 Address Specific Extended Community (RFC 5701) of a right length is carried as
/// received; only its length is checked (RFC 7606 §7.15).
#[test]
fn ipv6_address_specific_extended_communities_are_carried() {
    let value: Vec<u8> = (0..20).collect();
    let attr = [&[0xC0, 25, 20][..], &value].concat();
    let attrs = [
        &[0x40, 1, 1, 0][..],
        &[0x40, 2, 0],
        &[0x40, 3, 4, 10, 0, 0, 1],
        &attr,
    ]
    .concat();
    let (update, issues) = decode_issues(&attrs, &[24, 10, 1, 1], &FOUR);
    assert_eq!(issues, vec![]);
    let unknown = update.attributes.unwrap().unknown;
    assert_eq!(
        unknown,
        vec![RawAttribute {
            flags: 0xC0,
            type_code: 25,
            value
        }]
    );
}
