//! UPDATE decoding throughput on the hot path of a full-table load: UPDATEs of about 4 KB,
//! each packed with IPv4 /24s behind one attribute set (ORIGIN, AS_PATH, NEXT_HOP, MED).
//! Throughput is reported in prefixes.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::net::Ipv4Addr;

use bgp::packet::{
    AsPath, DecodeOptions, EncodeOptions, Message, PathAttributes, decode_message,
    encode_announce_ipv4, frame_length,
};
use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipnet::Ipv4Net;

/// Number of /24s in the benchmark stream (about 100 full UPDATEs).
const PREFIXES: u32 = 100_000;

/// The encoded stream and the frame boundaries in it.
fn stream() -> (BytesMut, Vec<(usize, usize)>) {
    let attrs = PathAttributes {
        as_path: AsPath::from_sequence([65001, 3356, 1299, 13335]),
        next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
        med: Some(100),
        ..PathAttributes::default()
    };
    let prefixes: Vec<Ipv4Net> = (0..PREFIXES)
        .filter_map(|i| Ipv4Net::new(Ipv4Addr::from((1u32 << 24) + (i << 8)), 24).ok())
        .collect();
    let mut out = BytesMut::new();
    let written = encode_announce_ipv4(&attrs, &prefixes, &EncodeOptions::default(), &mut out);
    assert!(
        matches!(written, Ok(n) if n > 0),
        "encoding failed: {written:?}"
    );
    let mut frames = Vec::new();
    let mut at = 0;
    while let Ok(Some(n)) = frame_length(&out[at..]) {
        frames.push((at, n));
        at += n;
    }
    assert_eq!(at, out.len());
    (out, frames)
}

fn decode_packed_ipv4_updates(c: &mut Criterion) {
    let (buf, frames) = stream();
    let opts = DecodeOptions::default();
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(u64::from(PREFIXES)));
    group.bench_function("update_ipv4_packed_24s", |b| {
        b.iter(|| {
            let mut prefixes = 0;
            for &(at, n) in &frames {
                if let Ok(decoded) = decode_message(black_box(&buf[at..at + n]), &opts)
                    && let Message::Update(update) = decoded.message
                {
                    prefixes += update.nlri.len();
                }
            }
            assert_eq!(prefixes, PREFIXES as usize);
            prefixes
        })
    });
    group.finish();
}

criterion_group!(benches, decode_packed_ipv4_updates);
criterion_main!(benches);
