//! The three community attributes as FRR 8.4 prints them in `show ip bgp PREFIX` and its JSON:
//! sorted and without duplicates (FRR keeps them so from the moment it parses an UPDATE),
//! standard communities with their well-known names, extended communities decoded by type
//! (`RT:64512:100`, `SoO:…`, `LB:…`, … down to `UNK:type, subtype`), and the note the
//! `Paths:` line carries when the best path has a well-known community.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use bgp::packet::{Community, ExtCommunity, LargeCommunity};

/// FRR's JSON names of the well-known communities that are not simply their text names
/// ([`Community::WELL_KNOWN`]) in camelCase.
const JSON_EXCEPTIONS: [(&str, &str); 3] = [
    ("accept-own", "acceptown"),
    ("accept-own-nexthop", "acceptownnexthop"),
    ("local-AS", "localAs"),
];

/// The JSON list entry of a well-known community's text name: `no-export` → `noExport`.
fn json_name(name: &str) -> String {
    if let Some((_, json)) = JSON_EXCEPTIONS.iter().find(|(n, _)| *n == name) {
        return (*json).to_string();
    }
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        match (c, upper) {
            ('-', _) => upper = true,
            (c, true) => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            (c, false) => out.push(c),
        }
    }
    out
}

/// What the `Paths:` line adds when the best path has one of these communities, in FRR's
/// order of precedence (only the first that applies is shown).
const PATHS_NOTES: [(Community, &str); 13] = [
    (
        Community::ACCEPT_OWN,
        "accept own local route exported and imported in different VRF",
    ),
    (
        Community(0xFFFF_0002),
        "mark translated RTs for VPNv4 route filtering",
    ),
    (
        Community(0xFFFF_0003),
        "attach RT as-is for VPNv4 route filtering",
    ),
    (
        Community(0xFFFF_0004),
        "mark translated RTs for VPNv6 route filtering",
    ),
    (
        Community(0xFFFF_0005),
        "attach RT as-is for VPNv6 route filtering",
    ),
    (
        Community::LLGR_STALE,
        "mark routes to be retained for a longer time. Requires support for Long-lived BGP Graceful Restart",
    ),
    (
        Community::NO_LLGR,
        "mark routes to not be treated according to Long-lived BGP Graceful Restart operations",
    ),
    (Community(0xFFFF_0008), "accept local nexthop"),
    (Community::BLACKHOLE, "inform peer to blackhole prefix"),
    (Community::NO_EXPORT, "not advertised to EBGP peer"),
    (Community::NO_ADVERTISE, "not advertised to any peer"),
    (
        Community::NO_EXPORT_SUBCONFED,
        "not advertised outside local AS",
    ),
    (
        Community::NO_PEER,
        "inform EBGP peer not to advertise to their EBGP peers",
    ),
];

/// Sorted, without duplicates: the order FRR stores and prints them in.
fn canonical<T: Ord + Copy>(values: &[T]) -> Vec<T> {
    let mut out = values.to_vec();
    out.sort_unstable();
    out.dedup();
    out
}

/// Standard communities: the `Community:` text and the JSON `list` entries.
pub fn standard(communities: &[Community]) -> (String, Vec<String>) {
    let sorted = canonical(communities);
    let text: Vec<String> = sorted.iter().map(Community::to_string).collect();
    let list = sorted
        .iter()
        .zip(&text)
        .map(|(c, t)| c.well_known_name().map_or_else(|| t.clone(), json_name))
        .collect();
    (text.join(" "), list)
}

/// Large communities, `GLOBAL:LOCAL1:LOCAL2` each (text and JSON list share the words).
pub fn large(communities: &[LargeCommunity]) -> Vec<String> {
    canonical(communities)
        .iter()
        .map(LargeCommunity::to_string)
        .collect()
}

/// The `Paths:` note for a best path with these communities, if any.
pub fn paths_note(communities: &[Community]) -> Option<&'static str> {
    PATHS_NOTES
        .iter()
        .find(|(c, _)| communities.contains(c))
        .map(|(_, note)| *note)
}

/// Extended communities as FRR's `ecommunity_ecom2str` prints them for display.
pub fn extended(communities: &[ExtCommunity]) -> String {
    // FRR keeps the subtype of the previous value for opaque and EVPN types it does not
    // know, so an unknown one prints that value's subtype; kept for byte-for-byte output.
    let mut subtype = 0u8;
    let words: Vec<String> = canonical(communities)
        .iter()
        .map(|c| extended_one(c.0, &mut subtype))
        .collect();
    words.join(" ")
}

fn be16(a: u8, b: u8) -> u16 {
    u16::from_be_bytes([a, b])
}

fn be32(a: u8, b: u8, c: u8, d: u8) -> u32 {
    u32::from_be_bytes([a, b, c, d])
}

/// `RT:`/`SoO:` with the global and local administrators of a two-octet AS (0), IPv4 (1)
/// or four-octet AS (2) type.
fn route_target(kind: u8, v: [u8; 8], prefix: &str) -> String {
    let [_, _, a, b, c, d, e, f] = v;
    match kind {
        0x00 => format!("{prefix}{}:{}", be16(a, b), be32(c, d, e, f)),
        0x01 => format!("{prefix}{}:{}", Ipv4Addr::new(a, b, c, d), be16(e, f)),
        _ => format!("{prefix}{}:{}", be32(a, b, c, d), be16(e, f)),
    }
}

/// Link bandwidth: AS, bytes per second (an IEEE float on the wire), and FRR's rounding down
/// to whole Gbps/Mbps/Kbps.
fn link_bandwidth(v: [u8; 8]) -> String {
    let [_, _, a, b, c, d, e, f] = v;
    // Saturating like any float-to-integer cast in Rust; FRR's C cast is undefined there.
    let bytes = f32::from_bits(be32(c, d, e, f)) as u32;
    const GBPS: u32 = 1_000_000_000 / 8;
    const MBPS: u32 = 1_000_000 / 8;
    const KBPS: u32 = 1_000 / 8;
    let rate = if bytes >= GBPS {
        format!("{:.3} Gbps", (bytes / GBPS) as f32)
    } else if bytes >= MBPS {
        format!("{:.3} Mbps", (bytes / MBPS) as f32)
    } else if bytes >= KBPS {
        format!("{:.3} Kbps", (bytes / KBPS) as f32)
    } else {
        format!("{} bps", bytes.wrapping_mul(8))
    };
    format!("LB:{}:{bytes} ({rate})", be16(a, b))
}

fn mac(bytes: &[u8]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex.join(":")
}

/// One extended community; `subtype` carries FRR's last-read subtype between values.
fn extended_one(v: [u8; 8], subtype: &mut u8) -> String {
    let [kind, sub, a, b, c, d, e, f] = v;
    let known = match kind {
        0x00..=0x02 => {
            *subtype = sub;
            match (kind, sub) {
                (_, 0x02) => Some(route_target(kind, v, "RT:")),
                (_, 0x03) => Some(route_target(kind, v, "SoO:")),
                (0x01, 0x0c) => Some(format!("NH:{}:{f}", Ipv4Addr::new(a, b, c, d))),
                (0x00, 0x04) => Some(link_bandwidth(v)),
                _ => None,
            }
        }
        0x03 => match sub {
            0x0c => Some(format!("ET:{}", be16(e, f))),
            0x0d => Some("Default Gateway".to_string()),
            _ => None,
        },
        0x06 => evpn(v),
        0x08 => {
            *subtype = sub;
            (sub == 0x00).then(|| format!("FS:redirect IP 0x{f:x}"))
        }
        0x80..=0x82 => {
            *subtype = sub;
            let base = kind & !0x80;
            match sub {
                0x02 => Some(route_target(base, v, "RT:")),
                0x0b | 0x08 => Some(format!("FS:redirect VRF {}", route_target(base, v, "RT:"))),
                _ if kind != 0x80 => None,
                0x07 => {
                    let mut action = if d == 1 << 1 {
                        "terminate (apply)".to_string()
                    } else {
                        "eval stops".to_string()
                    };
                    if d == 1 {
                        action.push_str(", sample");
                    }
                    Some(format!("FS:action {action}"))
                }
                0x06 => Some(format!("FS:rate {:.6}", f32::from_bits(be32(c, d, e, f)))),
                0x09 => Some(format!("FS:marking {f}")),
                _ => None,
            }
        }
        0x40 => {
            *subtype = sub;
            (sub == 0x04).then(|| link_bandwidth(v))
        }
        0x43 => {
            *subtype = sub;
            (sub == 0x00).then(|| {
                let state = match f {
                    0 => "valid",
                    1 => "not-found",
                    2 => "invalid",
                    3 => "not-used",
                    _ => "ERROR",
                };
                format!("OVS:{state}")
            })
        }
        _ => {
            *subtype = sub;
            None
        }
    };
    known.unwrap_or_else(|| format!("UNK:{kind}, {subtype}"))
}

/// EVPN extended communities (type 6), as FRR names them.
fn evpn(v: [u8; 8]) -> Option<String> {
    let [_, sub, a, b, c, d, e, f] = v;
    match sub {
        0x03 => Some(format!("Rmac:{}", mac(&[a, b, c, d, e, f]))),
        0x00 => {
            let mut s = format!("MM:{}", be32(c, d, e, f));
            if a & 0x01 != 0 {
                s.push_str(", sticky MAC");
            }
            Some(s)
        }
        0x08 => {
            let mut s = String::new();
            if a & 0x01 != 0 {
                s = "ND:Router Flag".to_string();
            }
            if a & 0x04 != 0 {
                s = "ND:Proxy".to_string();
            }
            Some(s)
        }
        0x02 => Some(format!("ES-Import-Rt:{}", mac(&[a, b, c, d, e, f]))),
        0x01 => Some(format!(
            "ESI-label-Rt:{}",
            if a & 0x01 != 0 { "SA" } else { "AA" }
        )),
        0x06 => {
            let bitmap = be16(b, c);
            let pref = be16(e, f);
            let mut s = String::new();
            if bitmap != 0 {
                let _ = write!(s, "DF: (alg: {a}, bmap: 0x{bitmap:x} pref: {pref})");
            } else {
                let _ = write!(s, "DF: (alg: {a}, pref: {pref})");
            }
            Some(s)
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ext(hex: &str) -> ExtCommunity {
        let v = u64::from_str_radix(hex, 16).unwrap();
        ExtCommunity(v.to_be_bytes())
    }

    /// One row per kind FRR decodes, with the words FRR 8.4 printed for these values (the
    /// whole captured lists are compared in tests/render.rs).
    #[test]
    fn each_kind_of_extended_community_prints_as_frr_8_4_does() {
        let table = [
            ("0002fc0000000064", "RT:64512:100"),
            ("0003fc0000000007", "SoO:64512:7"),
            ("0102c00002010005", "RT:192.0.2.1:5"),
            ("0103c00002010006", "SoO:192.0.2.1:6"),
            ("0202fa56ea000005", "RT:4200000000:5"),
            ("010cc00002010007", "NH:192.0.2.1:7"),
            ("0004fc0047c35000", "LB:64512:100000 (800.000 Kbps)"),
            ("4004fc004e6e6b28", "LB:64512:1000000000 (8.000 Gbps)"),
            ("030c000000000008", "ET:8"),
            ("030d000000000000", "Default Gateway"),
            ("0603001122334455", "Rmac:00:11:22:33:44:55"),
            ("0600010000000005", "MM:5, sticky MAC"),
            ("0608010000000000", "ND:Router Flag"),
            ("0602aabbccddeeff", "ES-Import-Rt:aa:bb:cc:dd:ee:ff"),
            ("0601000000000000", "ESI-label-Rt:AA"),
            ("0606010003000064", "DF: (alg: 1, bmap: 0x3 pref: 100)"),
            ("0800000000000005", "FS:redirect IP 0x5"),
            ("8008fc0000000064", "FS:redirect VRF RT:64512:100"),
            ("8007000000000000", "FS:action eval stops"),
            ("8007000000010000", "FS:action eval stops, sample"),
            ("80060000447a0000", "FS:rate 1000.000000"),
            ("8009000000000005", "FS:marking 5"),
            ("8102c0000201000a", "RT:192.0.2.1:10"),
            ("820200000fa00007", "RT:4000:7"),
            ("4300000000000000", "OVS:valid"),
            ("4300000000000003", "OVS:not-used"),
            ("4300000000000007", "OVS:ERROR"),
            ("0005fc0000000001", "UNK:0, 5"),
            ("4104c00002010001", "UNK:65, 4"),
            ("8b00000000000001", "UNK:139, 0"),
        ];
        for (hex, words) in table {
            assert_eq!(extended(&[ext(hex)]), words, "{hex}");
        }
    }

    /// FRR prints an unknown opaque value with the subtype of the value before it, and the
    /// list sorted and without duplicates.
    #[test]
    fn extended_communities_are_sorted_deduplicated_and_keep_frr_quirks() {
        let list = [
            ext("0309000000000000"),
            ext("010cc00002010007"),
            ext("0002fc0000000064"),
            ext("0002fc0000000064"),
        ];
        assert_eq!(extended(&list), "RT:64512:100 NH:192.0.2.1:7 UNK:3, 12");
    }

    #[test]
    fn every_well_known_community_has_frr_s_json_name() {
        let names: Vec<String> = Community::WELL_KNOWN
            .iter()
            .map(|(_, name)| json_name(name))
            .collect();
        assert_eq!(
            names,
            [
                "internet",
                "gracefulShutdown",
                "acceptown",
                "routeFilterTranslatedV4",
                "routeFilterV4",
                "routeFilterTranslatedV6",
                "routeFilterV6",
                "llgrStale",
                "noLlgr",
                "acceptownnexthop",
                "blackhole",
                "noExport",
                "noAdvertise",
                "localAs",
                "noPeer",
            ]
        );
    }

    #[test]
    fn standard_communities_are_sorted_deduplicated_and_named() {
        let raw = [
            Community::new(65001, 7),
            Community::new(64512, 100),
            Community::NO_EXPORT,
            Community::NO_ADVERTISE,
            Community::NO_EXPORT_SUBCONFED,
            Community::NO_PEER,
            Community::GRACEFUL_SHUTDOWN,
            Community::BLACKHOLE,
            Community::ACCEPT_OWN,
            Community(0),
            Community::new(65001, 7),
        ];
        let (text, list) = standard(&raw);
        assert_eq!(
            text,
            "internet 64512:100 65001:7 graceful-shutdown accept-own blackhole no-export \
             no-advertise local-AS no-peer"
        );
        assert_eq!(
            list,
            [
                "internet",
                "64512:100",
                "65001:7",
                "gracefulShutdown",
                "acceptown",
                "blackhole",
                "noExport",
                "noAdvertise",
                "localAs",
                "noPeer"
            ]
        );
        assert_eq!(
            paths_note(&raw),
            Some("accept own local route exported and imported in different VRF")
        );
        assert_eq!(
            paths_note(&[Community::new(64512, 100), Community::NO_EXPORT]),
            Some("not advertised to EBGP peer")
        );
        assert_eq!(paths_note(&[Community::new(64512, 100)]), None);
    }

    #[test]
    fn large_communities_are_sorted_and_deduplicated() {
        let lc = |global, local1, local2| LargeCommunity {
            global,
            local1,
            local2,
        };
        let raw = [
            lc(65001, 1, 2),
            lc(64512, 0, 7),
            lc(4_200_000_000, 1, 1),
            lc(64512, 0, 7),
        ];
        assert_eq!(large(&raw), ["64512:0:7", "65001:1:2", "4200000000:1:1"]);
    }
}
