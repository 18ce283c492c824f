//! Allocator benchmarks: filling a /16 pool with `avoidBuggyIPs` (65,024 Services, the case
//! MetalLB's linear walk makes quadratic), and the steady state of one allocation and one
//! release in a pool that is 90% full.
//!
//! Run: `cargo bench -p ferrolb-bench --bench allocator`.

// criterion_group! defines an undocumented public function; the one `expect` parses a literal.
#![allow(missing_docs, clippy::expect_used)]

use std::collections::BTreeMap;
use std::hint::black_box;

use controller::allocator::{Allocator, ServiceFamily, ServiceInfo, ServiceKey};
use criterion::{BatchSize, Criterion, Throughput};
use lb_config::Pool;

/// Usable addresses of a /16 without its `.0` and `.255` addresses.
const SLASH_16_USABLE: u64 = 256 * 254;

fn pools() -> BTreeMap<String, Pool> {
    let pool = Pool {
        name: "big".into(),
        cidrs: vec!["10.1.0.0/16".parse().expect("a valid CIDR")],
        avoid_buggy_ips: true,
        auto_assign: true,
        service_allocation: None,
        bgp_advertisements: vec![],
        l2_advertisements: vec![],
    };
    BTreeMap::from([(pool.name.clone(), pool)])
}

fn keys(n: u64) -> Vec<ServiceKey> {
    (0..n)
        .map(|i| ServiceKey::new("default", &format!("svc-{i}")))
        .collect()
}

fn fill(c: &mut Criterion) {
    let svc = ServiceInfo::default();
    let keys = keys(SLASH_16_USABLE);
    let mut group = c.benchmark_group("allocator");
    group.sample_size(10);
    group.throughput(Throughput::Elements(SLASH_16_USABLE));
    group.bench_function("fill_slash_16_avoid_buggy", |b| {
        b.iter_batched(
            || {
                let mut a = Allocator::new();
                a.set_pools(&pools());
                a
            },
            |mut a| {
                for k in &keys {
                    let got = a.allocate(k, &svc, ServiceFamily::V4, &[], None, "");
                    assert!(got.is_ok(), "{k}: {got:?}");
                }
                a
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn churn(c: &mut Criterion) {
    let svc = ServiceInfo::default();
    let held = SLASH_16_USABLE * 9 / 10;
    let keys = keys(held);
    let mut a = Allocator::new();
    a.set_pools(&pools());
    for k in &keys {
        let got = a.allocate(k, &svc, ServiceFamily::V4, &[], None, "");
        assert!(got.is_ok(), "{k}: {got:?}");
    }
    let mut group = c.benchmark_group("allocator");
    group.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    group.bench_function("release_and_allocate_in_a_90pct_full_slash_16", |b| {
        b.iter(|| {
            // Release a Service in the middle, allocate it again: the freed address is the
            // lowest free one, so it comes back.
            let k = &keys[(i * 7919) % keys.len()];
            i += 1;
            a.unassign(k);
            black_box(a.allocate(k, &svc, ServiceFamily::V4, &[], None, ""))
        })
    });
    group.finish();
}

criterion::criterion_group!(benches, fill, churn);
criterion::criterion_main!(benches);
