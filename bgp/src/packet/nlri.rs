//! Prefix encoding of RFC 4271 §4.3 (length octet, then the fewest octets holding the
//! prefix), shared by the Withdrawn Routes and NLRI fields and by MP_REACH/MP_UNREACH.
//!
//! IPv4 prefix decoding is the hot path of a full-table load, so [`decode_ipv4`] reads whole
//! 4-octet words where the buffer allows and masks off what lies beyond the prefix length,
//! with no allocation per prefix.

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::BufMut;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::error::NlriError;

/// Mask of the first `len` bits of an IPv4 address (`len` <= 32).
#[inline(always)]
fn mask_v4(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

/// Mask of the first `len` bits of an IPv6 address (`len` <= 128).
#[inline(always)]
fn mask_v6(len: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
}

/// Octets a prefix of `len` bits occupies after its length octet.
#[inline(always)]
pub(crate) fn prefix_octets(len: u8) -> usize {
    usize::from(len).div_ceil(8)
}

/// Decodes a field of IPv4 prefixes, appending them to `out`. Host bits beyond each prefix
/// length are cleared.
#[inline]
pub(crate) fn decode_ipv4(field: &[u8], out: &mut Vec<Ipv4Net>) -> Result<(), NlriError> {
    // Every prefix takes at least one octet; packed /24s take four. Reserving a quarter of
    // the verified field size allocates once for the common case and never more than the
    // data can justify.
    out.reserve(field.len() / 4);
    let mut rest = field;
    while let Some((&len, tail)) = rest.split_first() {
        let offset = field.len() - rest.len();
        if len > 32 {
            return Err(NlriError::PrefixTooLong {
                length: len,
                max: 32,
                offset,
            });
        }
        let n = prefix_octets(len);
        let word = match tail.first_chunk::<4>() {
            Some(word) if n <= tail.len() => u32::from_be_bytes(*word),
            _ => {
                let Some(bytes) = tail.get(..n) else {
                    return Err(NlriError::Overrun {
                        length: len,
                        offset,
                        needed: n,
                        available: tail.len(),
                    });
                };
                let mut octets = [0u8; 4];
                for (dst, src) in octets.iter_mut().zip(bytes) {
                    *dst = *src;
                }
                u32::from_be_bytes(octets)
            }
        };
        let addr = Ipv4Addr::from(word & mask_v4(len));
        let net = Ipv4Net::new(addr, len).map_err(|_| NlriError::PrefixTooLong {
            length: len,
            max: 32,
            offset,
        })?;
        out.push(net);
        rest = tail.get(n..).unwrap_or_default();
    }
    Ok(())
}

/// Decodes a field of IPv6 prefixes, appending them to `out`. Host bits are cleared.
pub(crate) fn decode_ipv6(field: &[u8], out: &mut Vec<IpNet>) -> Result<(), NlriError> {
    out.reserve(field.len() / 9);
    let mut rest = field;
    while let Some((&len, tail)) = rest.split_first() {
        let offset = field.len() - rest.len();
        if len > 128 {
            return Err(NlriError::PrefixTooLong {
                length: len,
                max: 128,
                offset,
            });
        }
        let n = prefix_octets(len);
        let Some(bytes) = tail.get(..n) else {
            return Err(NlriError::Overrun {
                length: len,
                offset,
                needed: n,
                available: tail.len(),
            });
        };
        let mut octets = [0u8; 16];
        for (dst, src) in octets.iter_mut().zip(bytes) {
            *dst = *src;
        }
        let addr = Ipv6Addr::from(u128::from_be_bytes(octets) & mask_v6(len));
        let net = Ipv6Net::new(addr, len).map_err(|_| NlriError::PrefixTooLong {
            length: len,
            max: 128,
            offset,
        })?;
        out.push(IpNet::V6(net));
        rest = tail.get(n..).unwrap_or_default();
    }
    Ok(())
}

/// Decodes a field of IPv4 prefixes into the generic prefix type (for MP_REACH/MP_UNREACH).
pub(crate) fn decode_ipv4_generic(field: &[u8], out: &mut Vec<IpNet>) -> Result<(), NlriError> {
    let mut v4 = Vec::new();
    decode_ipv4(field, &mut v4)?;
    out.extend(v4.into_iter().map(IpNet::V4));
    Ok(())
}

/// Encoded size of a prefix: its length octet plus address octets.
pub(crate) fn encoded_len(prefix: &IpNet) -> usize {
    1 + prefix_octets(prefix.prefix_len())
}

/// Appends one IPv4 prefix. Host bits are not sent (only the prefix's octets are written,
/// with the bits past the length cleared).
pub(crate) fn put_ipv4(out: &mut impl BufMut, prefix: &Ipv4Net) {
    let len = prefix.prefix_len();
    let bits = u32::from(prefix.addr()) & mask_v4(len);
    out.put_u8(len);
    out.put_slice(
        bits.to_be_bytes()
            .get(..prefix_octets(len))
            .unwrap_or_default(),
    );
}

/// Appends one prefix of either family.
pub(crate) fn put_prefix(out: &mut impl BufMut, prefix: &IpNet) {
    match prefix {
        IpNet::V4(p) => put_ipv4(out, p),
        IpNet::V6(p) => {
            let len = p.prefix_len();
            let bits = u128::from(p.addr()) & mask_v6(len);
            out.put_u8(len);
            out.put_slice(
                bits.to_be_bytes()
                    .get(..prefix_octets(len))
                    .unwrap_or_default(),
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_prefixes_decode_with_host_bits_cleared() {
        let field = [24, 10, 1, 2, 0, 32, 192, 0, 2, 1, 9, 10, 0xFF];
        let mut out = Vec::new();
        decode_ipv4(&field, &mut out).unwrap();
        let want: Vec<Ipv4Net> = ["10.1.2.0/24", "0.0.0.0/0", "192.0.2.1/32", "10.128.0.0/9"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(out, want);
    }

    #[test]
    fn ipv4_prefix_longer_than_32_is_refused_with_its_offset() {
        let mut out = Vec::new();
        let err = decode_ipv4(&[8, 10, 33, 1, 2, 3, 4, 5], &mut out).unwrap_err();
        assert_eq!(
            err,
            NlriError::PrefixTooLong {
                length: 33,
                max: 32,
                offset: 2
            }
        );
    }

    #[test]
    fn ipv4_prefix_running_past_the_field_is_an_overrun() {
        let mut out = Vec::new();
        let err = decode_ipv4(&[24, 10, 1], &mut out).unwrap_err();
        assert_eq!(
            err,
            NlriError::Overrun {
                length: 24,
                offset: 0,
                needed: 3,
                available: 2
            }
        );
    }

    #[test]
    fn ipv6_prefixes_round_trip() {
        let nets: Vec<IpNet> = ["2001:db8::/32", "::/0", "2001:db8:1:2::1/128", "fe80::/10"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let mut buf = Vec::new();
        for n in &nets {
            put_prefix(&mut buf, n);
        }
        assert_eq!(buf.len(), nets.iter().map(encoded_len).sum::<usize>());
        let mut out = Vec::new();
        decode_ipv6(&buf, &mut out).unwrap();
        assert_eq!(out, nets);
    }

    #[test]
    fn ipv6_prefix_longer_than_128_is_refused() {
        let mut out = Vec::new();
        let err = decode_ipv6(&[129], &mut out).unwrap_err();
        assert!(matches!(err, NlriError::PrefixTooLong { length: 129, .. }));
    }
}
