//! Pool address entries: a CIDR (`192.168.10.0/24`) or a range of addresses
//! (`192.168.10.1-192.168.10.9`), read as MetalLB's `ParseCIDR` reads them.
//!
//! An entry with a `-` is a range: its two ends are trimmed of spaces, must be of one family
//! and in order, and the range becomes the smallest list of CIDRs that covers exactly its
//! addresses. Any other entry is a CIDR whose host bits are cleared (`10.0.0.5/24` is
//! `10.0.0.0/24`, as Go's `net.ParseCIDR` returns it).

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Subnets, Ipv6Subnets};

use crate::error::Problem;

/// The CIDRs an address entry stands for, in address order.
pub(crate) fn parse_entry(entry: &str) -> Result<Vec<IpNet>, Problem> {
    let Some((start, end)) = entry.split_once('-') else {
        return match entry.parse::<IpNet>() {
            Ok(net) => Ok(vec![net.trunc()]),
            Err(_) => Err(Problem::InvalidAddress(entry.to_string())),
        };
    };
    let parse_end = |end: &str| {
        end.trim()
            .parse::<IpAddr>()
            .map_err(|_| Problem::InvalidRangeEnd {
                entry: entry.to_string(),
                end: end.to_string(),
            })
    };
    let (start, end) = (parse_end(start)?, parse_end(end)?);
    match (start, end) {
        (IpAddr::V4(s), IpAddr::V4(e)) if s <= e => {
            Ok(Ipv4Subnets::new(s, e, 0).map(IpNet::V4).collect())
        }
        (IpAddr::V6(s), IpAddr::V6(e)) if s <= e => {
            Ok(Ipv6Subnets::new(s, e, 0).map(IpNet::V6).collect())
        }
        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
            Err(Problem::ReversedRange(entry.to_string()))
        }
        _ => Err(Problem::MixedFamilyRange(entry.to_string())),
    }
}

/// Whether two CIDRs share an address (one contains the other).
pub(crate) fn overlap(a: &IpNet, b: &IpNet) -> bool {
    a.contains(b) || b.contains(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter()
            .map(|s| s.parse().unwrap_or_else(|e| panic!("{s}: {e}")))
            .collect()
    }

    #[test]
    fn entries_become_their_cidrs() {
        let cases: &[(&str, &[&str])] = &[
            ("198.51.100.0/24", &["198.51.100.0/24"]),
            ("10.0.0.5/24", &["10.0.0.0/24"]),
            ("10.0.0.7/32", &["10.0.0.7/32"]),
            ("2001:db8::/64", &["2001:db8::/64"]),
            ("192.168.10.0-192.168.10.255", &["192.168.10.0/24"]),
            ("192.168.10.1 - 192.168.10.1", &["192.168.10.1/32"]),
            (
                "192.168.0.150-192.168.0.200",
                &[
                    "192.168.0.150/31",
                    "192.168.0.152/29",
                    "192.168.0.160/27",
                    "192.168.0.192/29",
                    "192.168.0.200/32",
                ],
            ),
            (
                "2001:db8::1-2001:db8::2",
                &["2001:db8::1/128", "2001:db8::2/128"],
            ),
        ];
        for (entry, want) in cases {
            assert_eq!(parse_entry(entry), Ok(nets(want)), "{entry}");
        }
    }

    #[test]
    fn bad_entries_say_what_is_wrong() {
        let cases = [
            ("10.0.0.0", Problem::InvalidAddress("10.0.0.0".into())),
            ("10.0.0.0/33", Problem::InvalidAddress("10.0.0.0/33".into())),
            ("pool", Problem::InvalidAddress("pool".into())),
            (
                "10.0.0.1-banana",
                Problem::InvalidRangeEnd {
                    entry: "10.0.0.1-banana".into(),
                    end: "banana".into(),
                },
            ),
            (
                "10.0.0.1-10.0.0.2-10.0.0.3",
                Problem::InvalidRangeEnd {
                    entry: "10.0.0.1-10.0.0.2-10.0.0.3".into(),
                    end: "10.0.0.2-10.0.0.3".into(),
                },
            ),
            (
                "10.0.0.9-10.0.0.1",
                Problem::ReversedRange("10.0.0.9-10.0.0.1".into()),
            ),
            (
                "2001:db8::9-2001:db8::1",
                Problem::ReversedRange("2001:db8::9-2001:db8::1".into()),
            ),
            (
                "10.0.0.1-2001:db8::1",
                Problem::MixedFamilyRange("10.0.0.1-2001:db8::1".into()),
            ),
        ];
        for (entry, want) in cases {
            assert_eq!(parse_entry(entry), Err(want), "{entry}");
        }
    }

    #[test]
    fn overlap_is_containment_either_way() {
        let n = |s: &str| s.parse::<IpNet>().unwrap_or_else(|e| panic!("{s}: {e}"));
        assert!(overlap(&n("10.0.0.0/24"), &n("10.0.0.128/25")));
        assert!(overlap(&n("10.0.0.128/25"), &n("10.0.0.0/24")));
        assert!(overlap(&n("10.0.0.0/24"), &n("10.0.0.0/24")));
        assert!(!overlap(&n("10.0.0.0/25"), &n("10.0.0.128/25")));
        assert!(!overlap(&n("10.0.0.0/24"), &n("2001:db8::/32")));
    }
}
