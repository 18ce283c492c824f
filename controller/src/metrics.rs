//! The controller's Prometheus metrics, with MetalLB's names, help texts and labels
//! (`internal/allocator/stats.go`): per-pool capacity and addresses in use. MetalLB also
//! registers `metallb_allocator_services_allocated_total` but never sets it, so it exports no
//! series; neither do we.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::allocator::PoolStats;

/// The `pool` label of the allocator metrics.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabel {
    /// The pool's name.
    pub pool: String,
}

/// MetalLB's `metallb_allocator_*` gauges.
#[derive(Default, Clone)]
pub struct AllocatorMetrics {
    addresses_total: Family<PoolLabel, Gauge>,
    ipv4_addresses_total: Family<PoolLabel, Gauge>,
    ipv6_addresses_total: Family<PoolLabel, Gauge>,
    addresses_in_use_total: Family<PoolLabel, Gauge>,
    ipv4_addresses_in_use_total: Family<PoolLabel, Gauge>,
    ipv6_addresses_in_use_total: Family<PoolLabel, Gauge>,
}

impl AllocatorMetrics {
    /// Registers the gauges under `metallb_allocator_`.
    pub fn register(registry: &mut Registry) -> Self {
        let m = AllocatorMetrics::default();
        let sub = registry.sub_registry_with_prefix("metallb_allocator");
        sub.register(
            "addresses_total",
            "Number of usable IP addresses, per pool",
            m.addresses_total.clone(),
        );
        sub.register(
            "ipv4_addresses_total",
            "Number of usable IPV4 addresses, per pool",
            m.ipv4_addresses_total.clone(),
        );
        sub.register(
            "ipv6_addresses_total",
            "Number of usable IPV6 addresses, per pool",
            m.ipv6_addresses_total.clone(),
        );
        sub.register(
            "addresses_in_use_total",
            "Number of IP addresses in use, per pool",
            m.addresses_in_use_total.clone(),
        );
        sub.register(
            "ipv4_addresses_in_use_total",
            "Number of IPV4 addresses in use, per pool",
            m.ipv4_addresses_in_use_total.clone(),
        );
        sub.register(
            "ipv6_addresses_in_use_total",
            "Number of IPV6 addresses in use, per pool",
            m.ipv6_addresses_in_use_total.clone(),
        );
        m
    }

    /// Sets a pool's gauges from its counters.
    pub fn set(&self, pool: &str, stats: &PoolStats) {
        let label = PoolLabel {
            pool: pool.to_owned(),
        };
        self.addresses_total.get_or_create(&label).set(stats.total);
        self.ipv4_addresses_total
            .get_or_create(&label)
            .set(stats.total_v4);
        self.ipv6_addresses_total
            .get_or_create(&label)
            .set(stats.total_v6);
        self.addresses_in_use_total
            .get_or_create(&label)
            .set(stats.in_use);
        self.ipv4_addresses_in_use_total
            .get_or_create(&label)
            .set(stats.in_use_v4);
        self.ipv6_addresses_in_use_total
            .get_or_create(&label)
            .set(stats.in_use_v6);
    }

    /// Drops a removed pool's series, as MetalLB's `deleteStatsFor`.
    pub fn remove(&self, pool: &str) {
        let label = PoolLabel {
            pool: pool.to_owned(),
        };
        for family in [
            &self.addresses_total,
            &self.ipv4_addresses_total,
            &self.ipv6_addresses_total,
            &self.addresses_in_use_total,
            &self.ipv4_addresses_in_use_total,
            &self.ipv6_addresses_in_use_total,
        ] {
            family.remove(&label);
        }
    }
}
