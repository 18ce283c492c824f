//! RIB benchmarks: inserting a full IPv4 table (1,000,000 prefixes) with best-path selection,
//! from one peer and from four peers announcing the same prefixes, and the memory this takes
//! per route, measured by counting live heap bytes with an instrumented global allocator.
//!
//! Input: prefixes with a realistic length mix (/24 most common), grouped into UPDATEs of
//! `PREFIXES_PER_UPDATE` prefixes that share one attribute set (each UPDATE interns its set
//! once). Every UPDATE gets its own attribute set (AS_PATH of 2 to 6 ASes, some MEDs and
//! communities), so a 1M-prefix feed carries about 1M / PREFIXES_PER_UPDATE distinct sets.
//! The memory table also shows a feed with few distinct sets, isolating the table's own cost.
//!
//! Run: `cargo bench -p ferrolb-bench --bench rib`. The memory table is printed first.

use std::alloc::System;
use std::collections::HashSet;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bgp::packet::{AsPath, Community, Origin, PathAttributes};
use bgp::rib::{
    BestChange, DecisionConfig, PeerId, PeerInfo, Rib, RouteAttributes, SharedAttributes,
};
use criterion::{BatchSize, Criterion, Throughput};
use ipnet::Ipv4Net;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const PREFIXES: usize = 1_000_000;
/// Prefixes per UPDATE (and so per attribute set) in the realistic feed.
const PREFIXES_PER_UPDATE: usize = 4;
const LOCAL_AS: u32 = 64512;

/// A small deterministic PRNG (xorshift64*), so every run sees the same table.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One million distinct prefixes, in random order.
fn prefixes() -> Vec<Ipv4Net> {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut seen = HashSet::with_capacity(PREFIXES);
    let mut out = Vec::with_capacity(PREFIXES);
    while out.len() < PREFIXES {
        // Roughly the length mix of the global table: ~60% /24, the rest /16../23 and a few
        // shorter.
        let len = match rng.below(100) {
            0..=59 => 24,
            60..=89 => 16 + rng.below(8) as u8,
            _ => 8 + rng.below(8) as u8,
        };
        let addr = Ipv4Addr::from(rng.next() as u32);
        if let Ok(net) = Ipv4Net::new(addr, len) {
            let net = net.trunc();
            if seen.insert(net) {
                out.push(net);
            }
        }
    }
    out
}

/// One attribute set per UPDATE, as peer `peer_as` at `next_hop` would send them.
fn attribute_sets(
    count: usize,
    peer_as: u32,
    next_hop: Ipv4Addr,
    seed: u64,
) -> Vec<RouteAttributes> {
    let mut rng = Rng(seed);
    (0..count)
        .map(|i| {
            let len = 2 + rng.below(5) as usize;
            let mut path = vec![peer_as];
            for _ in 1..len - 1 {
                path.push(1 + rng.below(64_000) as u32);
            }
            // The origin AS makes each set distinct.
            path.push(100_000 + i as u32);
            let communities = (0..rng.below(4))
                .map(|_| Community::new(peer_as as u16, rng.below(1000) as u16))
                .collect();
            RouteAttributes::new(
                PathAttributes {
                    origin: Origin::Igp,
                    as_path: AsPath::from_sequence(path),
                    next_hop: Some(next_hop),
                    med: (rng.below(3) == 0).then(|| rng.below(100) as u32),
                    communities,
                    ..PathAttributes::default()
                },
                IpAddr::V4(next_hop),
            )
        })
        .collect()
}

struct Feed {
    info: PeerInfo,
    sets: Vec<RouteAttributes>,
}

fn feeds(peers: usize, prefixes_per_set: usize) -> Vec<Feed> {
    let updates = PREFIXES.div_ceil(PREFIXES_PER_UPDATE);
    let distinct = PREFIXES.div_ceil(prefixes_per_set);
    (0..peers)
        .map(|p| {
            let address = Ipv4Addr::new(10, 0, 0, 1 + p as u8);
            let peer_as = 65001 + p as u32;
            let base = attribute_sets(distinct, peer_as, address, 0x1000 + p as u64);
            // With fewer distinct sets than UPDATEs, UPDATEs reuse sets round-robin.
            let sets = (0..updates).map(|u| base[u % distinct].clone()).collect();
            Feed {
                info: PeerInfo {
                    address: IpAddr::V4(address),
                    router_id: address,
                    remote_as: peer_as,
                    local_as: LOCAL_AS,
                    weight: 0,
                },
                sets,
            }
        })
        .collect()
}

/// Feeds every peer's full table into `rib`, one UPDATE at a time, as a session would:
/// intern once, announce its prefixes, hand the changes on (dropped here).
fn load(rib: &mut Rib, prefixes: &[Ipv4Net], feeds: Vec<(PeerId, Vec<RouteAttributes>)>) -> usize {
    let mut changes: Vec<BestChange> = Vec::with_capacity(64);
    let mut reported = 0;
    for (peer, sets) in feeds {
        for (chunk, attrs) in prefixes.chunks(PREFIXES_PER_UPDATE).zip(sets) {
            let shared: Arc<SharedAttributes> = rib.intern(attrs);
            if rib.announce(peer, chunk, &shared, &mut changes).is_err() {
                continue;
            }
            reported += changes.len();
            changes.clear();
        }
    }
    reported
}

fn new_rib(feeds: &[Feed]) -> (Rib, Vec<PeerId>) {
    let mut rib = Rib::new(DecisionConfig::new(Ipv4Addr::new(10, 0, 0, 254), LOCAL_AS));
    let ids = feeds
        .iter()
        .map(|f| rib.add_peer(f.info.clone()).unwrap_or(PeerId::LOCAL))
        .collect();
    (rib, ids)
}

/// Live heap bytes allocated since `region` started. stats_alloc already adds the growth of a
/// `realloc` to `bytes_allocated` (and a shrink to `bytes_deallocated`).
fn live_bytes(region: &Region<'_, System>) -> isize {
    let c = region.change();
    c.bytes_allocated as isize - c.bytes_deallocated as isize
}

/// CPU time this thread has run, from /proc/thread-self/schedstat: the machine is shared, so
/// wall time overstates the cost when other work competes for the cores.
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Prints the memory and throughput table (one timed load per row).
fn report(prefixes: &[Ipv4Net]) {
    println!();
    println!("RIB memory and insert rate, {PREFIXES} IPv4 prefixes, release build");
    println!(
        "{:<7} {:>15} {:>10} {:>10} {:>12} {:>12} {:>14} {:>12}",
        "peers",
        "prefixes/set",
        "paths",
        "attr sets",
        "live MiB",
        "B/path",
        "B/prefix",
        "M paths/s"
    );
    println!(
        "(M paths/s: per CPU-second of the loading thread / per wall-clock second; the RIB's \
         live heap bytes come from the counting allocator, the estimate from RibStats)"
    );
    for (peers, per_set) in [
        (1, PREFIXES_PER_UPDATE),
        (4, PREFIXES_PER_UPDATE),
        (1, 1000),
        (4, 1000),
    ] {
        let feeds = feeds(peers, per_set);
        let region = Region::new(GLOBAL);
        let (mut rib, ids) = new_rib(&feeds);
        let input: Vec<(PeerId, Vec<RouteAttributes>)> = ids
            .into_iter()
            .zip(feeds.iter().map(|f| f.sets.clone()))
            .collect();
        let start = Instant::now();
        let cpu_start = thread_cpu();
        black_box(load(&mut rib, prefixes, input));
        let elapsed = start.elapsed();
        let cpu = match (cpu_start, thread_cpu()) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => elapsed,
        };
        // The input sets were moved into the RIB (interned) or dropped with the input
        // vectors inside `load`: what is live now beyond the baseline is the RIB alone.
        let live = live_bytes(&region);
        let stats = rib.stats();
        let per_path = live as f64 / stats.paths as f64;
        let per_prefix = live as f64 / stats.prefixes as f64;
        println!(
            "{:<7} {:>15} {:>10} {:>10} {:>12.1} {:>12.1} {:>14.1} {:>7.2} / {:.2}",
            peers,
            per_set,
            stats.paths,
            stats.attribute_sets,
            live as f64 / (1024.0 * 1024.0),
            per_path,
            per_prefix,
            stats.paths as f64 / cpu.as_secs_f64() / 1e6,
            stats.paths as f64 / elapsed.as_secs_f64() / 1e6,
        );
        let approx = stats.approximate_bytes as f64 / stats.paths as f64;
        println!("        (RibStats estimate: {approx:.1} B/path)");
        drop(rib);
    }
    println!();
}

fn bench_insert(c: &mut Criterion) {
    let prefixes = prefixes();
    report(&prefixes);
    let mut group = c.benchmark_group("rib_insert");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    for peers in [1usize, 4] {
        let feeds = feeds(peers, PREFIXES_PER_UPDATE);
        group.throughput(Throughput::Elements((PREFIXES * peers) as u64));
        group.bench_function(format!("1M_ipv4_from_{peers}_peer(s)"), |b| {
            b.iter_batched(
                || {
                    let (rib, ids) = new_rib(&feeds);
                    let input: Vec<(PeerId, Vec<RouteAttributes>)> = ids
                        .into_iter()
                        .zip(feeds.iter().map(|f| f.sets.clone()))
                        .collect();
                    (rib, input)
                },
                |(mut rib, input)| {
                    black_box(load(&mut rib, &prefixes, input));
                    rib
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench_insert(&mut criterion);
    criterion.final_summary();
}
