//! Encoding of BGP messages into a [`BytesMut`], and the UPDATE packers the session uses to
//! announce and withdraw many prefixes in as few 4096-octet messages as possible.
//!
//! On a session without 4-octet AS numbers, AS numbers above 65535 become AS_TRANS and the
//! real ones travel in AS4_PATH/AS4_AGGREGATOR (RFC 6793 §4.2.2). MP_REACH_NLRI and
//! MP_UNREACH_NLRI are written first, as RFC 7606 §5.1 asks. Unknown optional transitive
//! attributes are passed on with the Partial bit set (RFC 4271 §5).

use std::net::IpAddr;

use bytes::{BufMut, BytesMut};
use ipnet::{IpNet, Ipv4Net};

use super::attribute::*;
use super::capability::*;
use super::error::EncodeError;
use super::family::{AfiSafi, Family};
use super::message::*;
use super::nlri;

/// Session facts the encoder needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Both sides announced the 4-octet AS capability.
    pub four_octet_as: bool,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            four_octet_as: true,
        }
    }
}

/// Writes the header with a zero length; returns where the message starts.
fn begin(out: &mut BytesMut, msg_type: u8) -> usize {
    let start = out.len();
    out.put_slice(&[0xFF; 16]);
    out.put_u16(0);
    out.put_u8(msg_type);
    start
}

/// Writes a 16-bit big-endian value at `at` (a slot reserved earlier).
fn patch_u16(out: &mut BytesMut, at: usize, value: u16) {
    if let Some(slot) = out.get_mut(at..at + 2) {
        slot.copy_from_slice(&value.to_be_bytes());
    }
}

/// Fills in the header length, or removes the message if it is too long.
fn finish(out: &mut BytesMut, start: usize) -> Result<(), EncodeError> {
    let length = out.len() - start;
    if length > MAX_MESSAGE_LEN {
        out.truncate(start);
        return Err(EncodeError::TooLong { length });
    }
    patch_u16(out, start + 16, length as u16);
    Ok(())
}

/// Encodes one message, appending it to `out`. On error nothing is appended.
pub fn encode_message(
    msg: &Message,
    opts: &EncodeOptions,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let msg_type = match msg {
        Message::Open(_) => MSG_OPEN,
        Message::Update(_) => MSG_UPDATE,
        Message::Notification(_) => MSG_NOTIFICATION,
        Message::Keepalive => MSG_KEEPALIVE,
        Message::RouteRefresh(_) => MSG_ROUTE_REFRESH,
    };
    let start = begin(out, msg_type);
    let body = match msg {
        Message::Open(open) => put_open(open, out),
        Message::Update(update) => put_update(update, opts, out),
        Message::Notification(n) => {
            out.put_u8(n.code);
            out.put_u8(n.subcode);
            out.put_slice(&n.data);
            Ok(())
        }
        Message::Keepalive => Ok(()),
        Message::RouteRefresh(rr) => {
            out.put_u16(rr.afi_safi.afi);
            out.put_u8(rr.subtype.octet());
            out.put_u8(rr.afi_safi.safi);
            Ok(())
        }
    };
    if let Err(e) = body {
        out.truncate(start);
        return Err(e);
    }
    finish(out, start)
}

fn capability_value(cap: &Capability) -> Result<(u8, Vec<u8>), EncodeError> {
    Ok(match cap {
        Capability::Multiprotocol(af) => {
            let [a, b] = af.afi.to_be_bytes();
            (CAP_MULTIPROTOCOL, vec![a, b, 0, af.safi])
        }
        Capability::RouteRefresh => (CAP_ROUTE_REFRESH, Vec::new()),
        Capability::FourOctetAs(asn) => (CAP_FOUR_OCTET_AS, asn.to_be_bytes().to_vec()),
        Capability::GracefulRestart(gr) => (CAP_GRACEFUL_RESTART, gr.encode()?),
        Capability::AddPath(families) => {
            let mut v = Vec::with_capacity(families.len() * 4);
            for f in families {
                v.extend_from_slice(&f.afi_safi.afi.to_be_bytes());
                v.push(f.afi_safi.safi);
                v.push(f.send_receive);
            }
            (CAP_ADD_PATH, v)
        }
        Capability::Unknown { code, value } => (*code, value.clone()),
    })
}

fn put_open(open: &Open, out: &mut BytesMut) -> Result<(), EncodeError> {
    out.put_u8(open.version);
    out.put_u16(open.my_as);
    out.put_u16(open.hold_time);
    out.put_slice(&open.bgp_id.octets());
    // One Capabilities parameter per capability, as most speakers send them.
    let mut params = Vec::new();
    for cap in &open.capabilities {
        let (code, value) = capability_value(cap)?;
        let len = u8::try_from(value.len()).map_err(|_| EncodeError::CapabilityTooLong {
            code,
            length: value.len(),
        })?;
        params.push((code, len, value));
    }
    let total: usize = params.iter().map(|(_, _, v)| 4 + v.len()).sum();
    if total <= 255 {
        out.put_u8(total as u8);
        for (code, len, value) in params {
            out.put_u8(2);
            out.put_u8(len + 2);
            out.put_u8(code);
            out.put_u8(len);
            out.put_slice(&value);
        }
    } else {
        // RFC 9072 extended optional parameters.
        let total: usize = params.iter().map(|(_, _, v)| 5 + v.len()).sum();
        let ext_len = u16::try_from(total).map_err(|_| EncodeError::TooLong { length: total })?;
        out.put_u8(255);
        out.put_u8(255);
        out.put_u16(ext_len);
        for (code, len, value) in params {
            out.put_u8(2);
            out.put_u16(u16::from(len) + 2);
            out.put_u8(code);
            out.put_u8(len);
            out.put_slice(&value);
        }
    }
    Ok(())
}

fn put_attr_header(
    out: &mut BytesMut,
    flags: u8,
    type_code: u8,
    len: usize,
) -> Result<(), EncodeError> {
    if let Ok(short) = u8::try_from(len) {
        out.put_u8(flags & !FLAG_EXTENDED_LENGTH);
        out.put_u8(type_code);
        out.put_u8(short);
    } else {
        let long = u16::try_from(len).map_err(|_| EncodeError::AttributeTooLong {
            type_code,
            length: len,
        })?;
        out.put_u8(flags | FLAG_EXTENDED_LENGTH);
        out.put_u8(type_code);
        out.put_u16(long);
    }
    Ok(())
}

/// Writes an AS path; with `two_octet`, AS numbers above 65535 become AS_TRANS.
fn put_as_path(
    out: &mut BytesMut,
    type_code: u8,
    flags: u8,
    segments: &[&AsSegment],
    two_octet: bool,
) -> Result<(), EncodeError> {
    let size = if two_octet { 2 } else { 4 };
    let mut len = 0;
    for s in segments {
        if s.asns.is_empty() || s.asns.len() > 255 {
            return Err(EncodeError::SegmentTooLong {
                length: s.asns.len(),
            });
        }
        len += 2 + s.asns.len() * size;
    }
    put_attr_header(out, flags, type_code, len)?;
    for s in segments {
        out.put_u8(s.kind as u8);
        out.put_u8(s.asns.len() as u8);
        for &asn in &s.asns {
            if two_octet {
                out.put_u16(u16::try_from(asn).unwrap_or(AS_TRANS));
            } else {
                out.put_u32(asn);
            }
        }
    }
    Ok(())
}

fn put_u32_attr(
    out: &mut BytesMut,
    flags: u8,
    type_code: u8,
    value: u32,
) -> Result<(), EncodeError> {
    put_attr_header(out, flags, type_code, 4)?;
    out.put_u32(value);
    Ok(())
}

/// Writes the path attributes other than MP_REACH/MP_UNREACH.
fn put_path_attributes(
    attrs: &PathAttributes,
    opts: &EncodeOptions,
    with_next_hop: bool,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    const WK: u8 = FLAG_TRANSITIVE;
    const OT: u8 = FLAG_OPTIONAL | FLAG_TRANSITIVE;
    const ON: u8 = FLAG_OPTIONAL;
    let two_octet = !opts.four_octet_as;

    put_attr_header(out, WK, ATTR_ORIGIN, 1)?;
    out.put_u8(attrs.origin as u8);
    let all: Vec<&AsSegment> = attrs.as_path.segments.iter().collect();
    put_as_path(out, ATTR_AS_PATH, WK, &all, two_octet)?;
    if let (true, Some(nh)) = (with_next_hop, attrs.next_hop) {
        put_attr_header(out, WK, ATTR_NEXT_HOP, 4)?;
        out.put_slice(&nh.octets());
    }
    if let Some(med) = attrs.med {
        put_u32_attr(out, ON, ATTR_MED, med)?;
    }
    if let Some(lp) = attrs.local_pref {
        put_u32_attr(out, WK, ATTR_LOCAL_PREF, lp)?;
    }
    if attrs.atomic_aggregate {
        put_attr_header(out, WK, ATTR_ATOMIC_AGGREGATE, 0)?;
    }
    let mut as4_aggregator = None;
    if let Some(agg) = attrs.aggregator {
        if two_octet {
            put_attr_header(out, OT, ATTR_AGGREGATOR, 6)?;
            match u16::try_from(agg.asn) {
                Ok(asn) => out.put_u16(asn),
                Err(_) => {
                    out.put_u16(AS_TRANS);
                    as4_aggregator = Some(agg);
                }
            }
        } else {
            put_attr_header(out, OT, ATTR_AGGREGATOR, 8)?;
            out.put_u32(agg.asn);
        }
        out.put_slice(&agg.address.octets());
    }
    if !attrs.communities.is_empty() {
        put_attr_header(out, OT, ATTR_COMMUNITIES, attrs.communities.len() * 4)?;
        for c in &attrs.communities {
            out.put_u32(c.0);
        }
    }
    if let Some(id) = attrs.originator_id {
        put_attr_header(out, ON, ATTR_ORIGINATOR_ID, 4)?;
        out.put_slice(&id.octets());
    }
    if !attrs.cluster_list.is_empty() {
        put_attr_header(out, ON, ATTR_CLUSTER_LIST, attrs.cluster_list.len() * 4)?;
        for id in &attrs.cluster_list {
            out.put_slice(&id.octets());
        }
    }
    if !attrs.ext_communities.is_empty() {
        put_attr_header(
            out,
            OT,
            ATTR_EXTENDED_COMMUNITIES,
            attrs.ext_communities.len() * 8,
        )?;
        for c in &attrs.ext_communities {
            out.put_slice(&c.0);
        }
    }
    if two_octet
        && attrs
            .as_path
            .segments
            .iter()
            .flat_map(|s| &s.asns)
            .any(|&a| a > 0xFFFF)
    {
        // RFC 6793 §4.2.2: confederation segments are never carried in AS4_PATH.
        let public: Vec<&AsSegment> = attrs
            .as_path
            .segments
            .iter()
            .filter(|s| matches!(s.kind, SegmentType::Sequence | SegmentType::Set))
            .collect();
        if !public.is_empty() {
            put_as_path(out, ATTR_AS4_PATH, OT, &public, false)?;
        }
    }
    if let Some(agg) = as4_aggregator {
        put_attr_header(out, OT, ATTR_AS4_AGGREGATOR, 8)?;
        out.put_u32(agg.asn);
        out.put_slice(&agg.address.octets());
    }
    if !attrs.large_communities.is_empty() {
        put_attr_header(
            out,
            OT,
            ATTR_LARGE_COMMUNITIES,
            attrs.large_communities.len() * 12,
        )?;
        for c in &attrs.large_communities {
            out.put_u32(c.global);
            out.put_u32(c.local1);
            out.put_u32(c.local2);
        }
    }
    for raw in &attrs.unknown {
        let mut flags = raw.flags;
        if flags & OT == OT {
            flags |= FLAG_PARTIAL;
        }
        put_attr_header(out, flags, raw.type_code, raw.value.len())?;
        out.put_slice(&raw.value);
    }
    Ok(())
}

/// Checks that next hops and prefixes belong to `afi_safi`.
fn check_family(
    afi_safi: AfiSafi,
    next_hops: &[IpAddr],
    prefixes: &[IpNet],
) -> Result<Family, EncodeError> {
    let family = afi_safi
        .family()
        .ok_or(EncodeError::UnsupportedFamily { afi_safi })?;
    let v6 = family == Family::Ipv6Unicast;
    let hops_ok = match family {
        Family::Ipv4Unicast => next_hops.len() == 1,
        Family::Ipv6Unicast => matches!(next_hops.len(), 1 | 2),
    } && next_hops.iter().all(|h| h.is_ipv6() == v6);
    if !hops_ok {
        return Err(EncodeError::FamilyMismatch {
            afi_safi,
            what: format!("next hops {next_hops:?}"),
        });
    }
    check_prefixes(afi_safi, family, prefixes)?;
    Ok(family)
}

fn check_prefixes(
    afi_safi: AfiSafi,
    family: Family,
    prefixes: &[IpNet],
) -> Result<(), EncodeError> {
    let v6 = family == Family::Ipv6Unicast;
    if let Some(p) = prefixes.iter().find(|p| matches!(p, IpNet::V6(_)) != v6) {
        return Err(EncodeError::FamilyMismatch {
            afi_safi,
            what: format!("prefix {p}"),
        });
    }
    Ok(())
}

fn nh_octets(next_hops: &[IpAddr]) -> Vec<u8> {
    let mut v = Vec::with_capacity(32);
    for hop in next_hops {
        match hop {
            IpAddr::V4(a) => v.extend_from_slice(&a.octets()),
            IpAddr::V6(a) => v.extend_from_slice(&a.octets()),
        }
    }
    v
}

fn put_mp_reach(out: &mut BytesMut, reach: &MpReach) -> Result<(), EncodeError> {
    check_family(reach.afi_safi, &reach.next_hops, &reach.nlri)?;
    let nh = nh_octets(&reach.next_hops);
    let len = 5 + nh.len() + reach.nlri.iter().map(nlri::encoded_len).sum::<usize>();
    put_attr_header(out, FLAG_OPTIONAL, ATTR_MP_REACH_NLRI, len)?;
    out.put_u16(reach.afi_safi.afi);
    out.put_u8(reach.afi_safi.safi);
    out.put_u8(nh.len() as u8);
    out.put_slice(&nh);
    out.put_u8(0);
    for p in &reach.nlri {
        nlri::put_prefix(out, p);
    }
    Ok(())
}

fn put_mp_unreach(out: &mut BytesMut, unreach: &MpUnreach) -> Result<(), EncodeError> {
    // Any family's End-of-RIB marker may be written; prefixes only of families we route.
    if !unreach.withdrawn.is_empty() {
        let family = unreach
            .afi_safi
            .family()
            .ok_or(EncodeError::UnsupportedFamily {
                afi_safi: unreach.afi_safi,
            })?;
        check_prefixes(unreach.afi_safi, family, &unreach.withdrawn)?;
    }
    let len = 3 + unreach
        .withdrawn
        .iter()
        .map(nlri::encoded_len)
        .sum::<usize>();
    put_attr_header(out, FLAG_OPTIONAL, ATTR_MP_UNREACH_NLRI, len)?;
    out.put_u16(unreach.afi_safi.afi);
    out.put_u8(unreach.afi_safi.safi);
    for p in &unreach.withdrawn {
        nlri::put_prefix(out, p);
    }
    Ok(())
}

fn put_update(
    update: &Update,
    opts: &EncodeOptions,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let at = out.len();
    out.put_u16(0);
    for p in &update.withdrawn {
        nlri::put_ipv4(out, p);
    }
    let withdrawn_len = out.len() - at - 2;
    patch_u16(out, at, u16::try_from(withdrawn_len).unwrap_or(u16::MAX));
    let at = out.len();
    out.put_u16(0);
    if let Some(reach) = &update.mp_reach {
        put_mp_reach(out, reach)?;
    }
    if let Some(unreach) = &update.mp_unreach {
        put_mp_unreach(out, unreach)?;
    }
    if let Some(attrs) = &update.attributes {
        put_path_attributes(attrs, opts, true, out)?;
    }
    let attr_len = out.len() - at - 2;
    let attr_len =
        u16::try_from(attr_len).map_err(|_| EncodeError::TooLong { length: attr_len })?;
    patch_u16(out, at, attr_len);
    for p in &update.nlri {
        nlri::put_ipv4(out, p);
    }
    Ok(())
}

/// Space for prefixes in an UPDATE whose other parts take `fixed` octets.
fn room(fixed: usize) -> Result<usize, EncodeError> {
    // The smallest useful message holds one /32 (5 octets) or one /128 (17 octets); a
    // single byte of room is checked per prefix below.
    MAX_MESSAGE_LEN
        .checked_sub(fixed)
        .filter(|&r| r > 0)
        .ok_or(EncodeError::TooLong { length: fixed + 1 })
}

/// Packs as many prefixes per UPDATE as fit in 4096 bytes; returns the number of messages
/// written. Every message carries the same attributes; `attrs.next_hop` is required.
pub fn encode_announce_ipv4(
    attrs: &PathAttributes,
    nlri: &[Ipv4Net],
    opts: &EncodeOptions,
    out: &mut BytesMut,
) -> Result<usize, EncodeError> {
    if nlri.is_empty() {
        return Ok(0);
    }
    if attrs.next_hop.is_none() {
        return Err(EncodeError::MissingNextHop);
    }
    let mut encoded = BytesMut::new();
    put_path_attributes(attrs, opts, true, &mut encoded)?;
    let fixed = HEADER_LEN + 4 + encoded.len();
    let room = room(fixed)?;
    if room < 5 {
        return Err(EncodeError::TooLong { length: fixed + 5 });
    }
    let mut count = 0;
    let mut rest = nlri;
    while !rest.is_empty() {
        let start = begin(out, MSG_UPDATE);
        out.put_u16(0);
        out.put_u16(encoded.len() as u16);
        out.put_slice(&encoded);
        let mut used = 0;
        let mut taken = 0;
        for p in rest {
            let size = 1 + nlri::prefix_octets(p.prefix_len());
            if used + size > room {
                break;
            }
            nlri::put_ipv4(out, p);
            used += size;
            taken += 1;
        }
        finish(out, start)?;
        rest = rest.get(taken..).unwrap_or_default();
        count += 1;
    }
    Ok(count)
}

/// Packs prefixes of one family into UPDATEs with MP_REACH_NLRI, as many per message as fit
/// in 4096 bytes; returns the number of messages written. `attrs.next_hop` is not sent (the
/// next hops travel inside MP_REACH_NLRI).
pub fn encode_announce_mp(
    attrs: &PathAttributes,
    afi_safi: AfiSafi,
    next_hops: &[IpAddr],
    nlri: &[IpNet],
    opts: &EncodeOptions,
    out: &mut BytesMut,
) -> Result<usize, EncodeError> {
    check_family(afi_safi, next_hops, nlri)?;
    if nlri.is_empty() {
        return Ok(0);
    }
    let nh = nh_octets(next_hops);
    let mut encoded = BytesMut::new();
    put_path_attributes(attrs, opts, false, &mut encoded)?;
    // MP_REACH_NLRI always uses the 2-octet length so its size can grow freely.
    let mp_fixed = 4 + 5 + nh.len();
    let fixed = HEADER_LEN + 4 + mp_fixed + encoded.len();
    let room = room(fixed)?;
    let mut count = 0;
    let mut rest = nlri;
    while !rest.is_empty() {
        let start = begin(out, MSG_UPDATE);
        out.put_u16(0);
        let attr_len_at = out.len();
        out.put_u16(0);
        out.put_u8(FLAG_OPTIONAL | FLAG_EXTENDED_LENGTH);
        out.put_u8(ATTR_MP_REACH_NLRI);
        let mp_len_at = out.len();
        out.put_u16(0);
        out.put_u16(afi_safi.afi);
        out.put_u8(afi_safi.safi);
        out.put_u8(nh.len() as u8);
        out.put_slice(&nh);
        out.put_u8(0);
        let mut used = 0;
        let mut taken = 0;
        for p in rest {
            let size = nlri::encoded_len(p);
            if used + size > room {
                break;
            }
            nlri::put_prefix(out, p);
            used += size;
            taken += 1;
        }
        if taken == 0 {
            out.truncate(start);
            return Err(EncodeError::TooLong {
                length: fixed + rest.first().map(nlri::encoded_len).unwrap_or(0),
            });
        }
        patch_u16(out, mp_len_at, (5 + nh.len() + used) as u16);
        out.put_slice(&encoded);
        patch_u16(out, attr_len_at, (mp_fixed + used + encoded.len()) as u16);
        finish(out, start)?;
        rest = rest.get(taken..).unwrap_or_default();
        count += 1;
    }
    Ok(count)
}

/// Packs withdrawals into UPDATEs: IPv4 prefixes in the classic Withdrawn Routes field, IPv6
/// ones in MP_UNREACH_NLRI. Returns the number of messages written.
pub fn encode_withdraw(
    prefixes: &[IpNet],
    _opts: &EncodeOptions,
    out: &mut BytesMut,
) -> Result<usize, EncodeError> {
    let room = MAX_MESSAGE_LEN - HEADER_LEN - 4;
    let mut count = 0;
    let v4: Vec<Ipv4Net> = prefixes
        .iter()
        .filter_map(|p| match p {
            IpNet::V4(p) => Some(*p),
            IpNet::V6(_) => None,
        })
        .collect();
    let mut rest = v4.as_slice();
    while !rest.is_empty() {
        let start = begin(out, MSG_UPDATE);
        let at = out.len();
        out.put_u16(0);
        let mut used = 0;
        let mut taken = 0;
        for p in rest {
            let size = 1 + nlri::prefix_octets(p.prefix_len());
            if used + size > room {
                break;
            }
            nlri::put_ipv4(out, p);
            used += size;
            taken += 1;
        }
        patch_u16(out, at, used as u16);
        out.put_u16(0);
        finish(out, start)?;
        rest = rest.get(taken..).unwrap_or_default();
        count += 1;
    }
    let v6: Vec<IpNet> = prefixes
        .iter()
        .filter(|p| matches!(p, IpNet::V6(_)))
        .copied()
        .collect();
    let room = room - 4 - 3;
    let afi_safi = Family::Ipv6Unicast.afi_safi();
    let mut rest = v6.as_slice();
    while !rest.is_empty() {
        let start = begin(out, MSG_UPDATE);
        out.put_u16(0);
        let attr_len_at = out.len();
        out.put_u16(0);
        out.put_u8(FLAG_OPTIONAL | FLAG_EXTENDED_LENGTH);
        out.put_u8(ATTR_MP_UNREACH_NLRI);
        let mp_len_at = out.len();
        out.put_u16(0);
        out.put_u16(afi_safi.afi);
        out.put_u8(afi_safi.safi);
        let mut used = 0;
        let mut taken = 0;
        for p in rest {
            let size = nlri::encoded_len(p);
            if used + size > room {
                break;
            }
            nlri::put_prefix(out, p);
            used += size;
            taken += 1;
        }
        patch_u16(out, mp_len_at, (3 + used) as u16);
        patch_u16(out, attr_len_at, (7 + used) as u16);
        finish(out, start)?;
        rest = rest.get(taken..).unwrap_or_default();
        count += 1;
    }
    Ok(count)
}

/// Writes the End-of-RIB marker of `family` (RFC 4724 §2): an empty UPDATE for IPv4 unicast,
/// an UPDATE with an empty MP_UNREACH_NLRI otherwise.
pub fn encode_end_of_rib(family: Family, out: &mut BytesMut) {
    let start = begin(out, MSG_UPDATE);
    out.put_u16(0);
    match family {
        Family::Ipv4Unicast => out.put_u16(0),
        Family::Ipv6Unicast => {
            let af = family.afi_safi();
            out.put_u16(6);
            out.put_u8(FLAG_OPTIONAL);
            out.put_u8(ATTR_MP_UNREACH_NLRI);
            out.put_u8(3);
            out.put_u16(af.afi);
            out.put_u8(af.safi);
        }
    }
    // Never longer than 30 octets, so this cannot fail.
    let _ = finish(out, start);
}
