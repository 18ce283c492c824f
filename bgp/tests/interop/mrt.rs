//! MRT TABLE_DUMP_V2 files (RFC 6396) with an IPv4 table of one peer, for daemons that load
//! a table from a dump much faster than from one CLI call per route (`gobgp mrt inject`).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// MRT type TABLE_DUMP_V2.
const TABLE_DUMP_V2: u16 = 13;
/// Its subtypes.
const PEER_INDEX_TABLE: u16 = 1;
const RIB_IPV4_UNICAST: u16 = 2;
/// Peer type: IPv4 address, 4-octet AS.
const PEER_AS4_IPV4: u8 = 0x02;
/// Path attribute flags: well-known transitive.
const TRANSITIVE: u8 = 0x40;

/// A dump in which `peer` (`peer_as`, BGP ID `peer`) has every prefix of `prefixes` with
/// ORIGIN IGP, AS_PATH `[peer_as]` and NEXT_HOP `next_hop`.
pub fn ipv4_table(
    peer: Ipv4Addr,
    peer_as: u32,
    next_hop: Ipv4Addr,
    prefixes: impl IntoIterator<Item = Ipv4Net>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut index = Vec::new();
    index.extend(peer.octets()); // collector BGP ID
    index.extend(0u16.to_be_bytes()); // no view name
    index.extend(1u16.to_be_bytes());
    index.push(PEER_AS4_IPV4);
    index.extend(peer.octets());
    index.extend(peer.octets());
    index.extend(peer_as.to_be_bytes());
    record(&mut out, PEER_INDEX_TABLE, &index);
    let mut attributes = Vec::new();
    attributes.extend([TRANSITIVE, 1, 1, 0]); // ORIGIN IGP
    attributes.extend([TRANSITIVE, 2, 6, 2, 1]); // AS_PATH: one AS_SEQUENCE of one AS
    attributes.extend(peer_as.to_be_bytes());
    attributes.extend([TRANSITIVE, 3, 4]);
    attributes.extend(next_hop.octets());
    for (sequence, prefix) in (0u32..).zip(prefixes) {
        let mut rib = Vec::new();
        rib.extend(sequence.to_be_bytes());
        rib.push(prefix.prefix_len());
        let bytes = usize::from(prefix.prefix_len().div_ceil(8));
        rib.extend(&prefix.network().octets()[..bytes]);
        rib.extend(1u16.to_be_bytes()); // one entry
        rib.extend(0u16.to_be_bytes()); // peer index
        rib.extend(0u32.to_be_bytes()); // originated time
        rib.extend((attributes.len() as u16).to_be_bytes());
        rib.extend(&attributes);
        record(&mut out, RIB_IPV4_UNICAST, &rib);
    }
    out
}

/// Appends one MRT record (timestamp 0).
fn record(out: &mut Vec<u8>, subtype: u16, body: &[u8]) {
    out.extend(0u32.to_be_bytes());
    out.extend(TABLE_DUMP_V2.to_be_bytes());
    out.extend(subtype.to_be_bytes());
    out.extend((body.len() as u32).to_be_bytes());
    out.extend(body);
}
