//! The IP allocator: which addresses each LoadBalancer Service holds, from which pool, and
//! whether a new request can be met — MetalLB v0.16.2's `internal/allocator`, behaviour for
//! behaviour, as a pure state machine (no I/O; the controller feeds it and writes the results).
//!
//! The rules kept from MetalLB:
//! - An address belongs to the pool whose CIDRs hold it; a requested address outside every
//!   pool (or a `.0`/`.255` of a pool with `avoidBuggyIPs`) is refused, so is a pool whose
//!   `serviceAllocation` does not cover the Service.
//! - Automatic allocation first tries the pools *pinned* to the Service by `serviceAllocation`
//!   (its namespace listed or selected, or its labels selected), lowest positive `priority`
//!   first and pools without one after them, then every `autoAssign` pool without
//!   `serviceAllocation`. `autoAssign: false` pools are only used when asked for by name or
//!   by address.
//! - Dual stack takes one address of each family from one pool; `PreferDualStack` settles
//!   for one family when no pool has both.
//! - Sharing: same non-empty `allow-shared-ip` key, same backend key (see [`backend_key`]),
//!   no common port and protocol.
//! - Re-assigning what a Service already holds succeeds and changes nothing.
//!
//! Deliberate differences (recorded in docs/decisions/0003-allocator.md):
//! - **Deterministic choice.** MetalLB walks candidate pools in Go map order, which is random
//!   among pools of equal rank. Here pools of equal rank are taken by name, and within a pool
//!   its CIDRs in the order listed, lowest free address first — always one of the outcomes
//!   MetalLB could give, and the same one on every run and after every restart.
//! - **Fast free-address search.** MetalLB scans a CIDR from its first address on every
//!   allocation; here a per-pool index of taken addresses finds the same address in
//!   O(log n) (see `pool.rs`).
//! - A Service without ports keeps its hold on a shared address (MetalLB forgets an
//!   address's sharing key once no port is in use on it, so a port-less Service could be
//!   joined by any other; Kubernetes requires ports on LoadBalancer Services, so only the
//!   allocator's own callers could see this).
//! - A pool whose `namespaceSelectors` match no namespace serves no namespace (MetalLB, which
//!   resolves the selectors to a list of names, then treats the pool as unrestricted when an
//!   address of it is requested by name or address).
//! - A pool without the requested family's free address reports
//!   [`AllocError::NoAddressOfFamily`] where MetalLB prints `["<nil>"] is not allowed in config`.

mod error;
mod family;
mod pool;
mod runs;
mod sharing;

#[cfg(test)]
pub(crate) mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use lb_config::{Pool, ServiceAllocation};

pub use error::{AllocError, GoQuoted};
pub use family::{FamilyPolicy, IpFamily, ServiceFamily};
pub use sharing::{AllocationKey, Port, backend_key};

use family::Candidates;
use pool::PoolState;
use sharing::Usage;

/// A Service's identity in the allocator: `namespace/name`, as MetalLB keys its Services
/// (just `name` for an empty namespace).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceKey(String);

impl ServiceKey {
    /// The key of Service `name` in `namespace`.
    pub fn new(namespace: &str, name: &str) -> Self {
        if namespace.is_empty() {
            ServiceKey(name.to_string())
        } else {
            ServiceKey(format!("{namespace}/{name}"))
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What pool selection needs to know about a Service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceInfo {
    /// The Service's namespace.
    pub namespace: String,
    /// The Service's name.
    pub name: String,
    /// The Service's labels (for `serviceSelectors`).
    pub labels: BTreeMap<String, String>,
    /// The labels of the Service's Namespace (for `namespaceSelectors`).
    pub namespace_labels: BTreeMap<String, String>,
    /// `spec.ipFamilyPolicy`.
    pub family_policy: FamilyPolicy,
    /// `spec.ipFamilies[0]`, IPv4 when unset: the family a `PreferDualStack` Service falls
    /// back to first when no pool has both.
    pub primary_family: IpFamily,
}

/// One Service's allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Allocation {
    pool: String,
    ips: Vec<IpAddr>,
    ports: Vec<Port>,
    key: AllocationKey,
}

/// A Service looking for addresses: what the sharing check needs about it.
#[derive(Debug)]
struct Seeker<'a> {
    key: &'a ServiceKey,
    ports: &'a [Port],
    akey: AllocationKey,
}

impl<'a> Seeker<'a> {
    /// `allow-shared-ip` `None` and empty both mean no sharing.
    fn new(
        key: &'a ServiceKey,
        ports: &'a [Port],
        sharing_key: Option<&str>,
        backend_key: &str,
    ) -> Self {
        Seeker {
            key,
            ports,
            akey: AllocationKey {
                sharing: sharing_key.unwrap_or_default().to_string(),
                backend: backend_key.to_string(),
            },
        }
    }
}

/// What a change of pools did to existing allocations.
///
/// MetalLB's controller re-converges every Service after a config change; the Services in
/// `released` then find that their status address is no longer allowed and get a new one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolsChange {
    /// Services whose addresses are no longer all usable addresses of one pool: their
    /// allocation was dropped.
    pub released: Vec<ServiceKey>,
    /// Services whose addresses now belong to another pool (a renamed or split pool): they
    /// keep their addresses, under the new pool's name.
    pub moved: Vec<ServiceKey>,
    /// Pools that no longer exist (their metrics and status go away).
    pub removed_pools: Vec<String>,
}

/// A pool's counters: MetalLB's `metallb_allocator_*` gauges and the IPAddressPool status.
/// Sizes saturate at `i64::MAX` (a /64 of IPv6 is "never runs out").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Usable addresses, both families (`metallb_allocator_addresses_total`).
    pub total: i64,
    /// Usable IPv4 addresses (`metallb_allocator_ipv4_addresses_total`).
    pub total_v4: i64,
    /// Usable IPv6 addresses (`metallb_allocator_ipv6_addresses_total`).
    pub total_v6: i64,
    /// Distinct addresses held (`metallb_allocator_addresses_in_use_total`).
    pub in_use: i64,
    /// Distinct IPv4 addresses held (status `assignedIPv4`).
    pub in_use_v4: i64,
    /// Distinct IPv6 addresses held (status `assignedIPv6`).
    pub in_use_v6: i64,
    /// IPv4 addresses left (status `availableIPv4`).
    pub available_v4: i64,
    /// IPv6 addresses left (status `availableIPv6`).
    pub available_v6: i64,
}

/// The allocator's state: the pools, every Service's allocation and every held address.
#[derive(Debug, Clone, Default)]
pub struct Allocator {
    pools: BTreeMap<String, PoolState>,
    allocated: HashMap<ServiceKey, Allocation>,
    usage: Usage,
    /// Pools whose counters may have changed since [`Allocator::take_changed_pools`].
    changed: BTreeSet<String>,
}

impl Allocator {
    /// An allocator with no pools and no allocations.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the pools (a configuration change), as MetalLB's `SetPools`: an allocation
    /// whose addresses are all usable addresses of one new pool stays, under that pool's
    /// name, without re-checking `serviceAllocation` or sharing; any other is dropped.
    pub fn set_pools(&mut self, pools: &BTreeMap<String, Pool>) -> PoolsChange {
        let mut change = PoolsChange {
            removed_pools: self
                .pools
                .keys()
                .filter(|name| !pools.contains_key(*name))
                .cloned()
                .collect(),
            ..PoolsChange::default()
        };
        self.changed.extend(change.removed_pools.iter().cloned());
        self.pools = pools
            .iter()
            .map(|(name, pool)| (name.clone(), PoolState::new(pool.clone())))
            .collect();
        self.changed.extend(self.pools.keys().cloned());

        let mut keys: Vec<ServiceKey> = self.allocated.keys().cloned().collect();
        keys.sort();
        for key in keys {
            let Some(alloc) = self.allocated.get(&key) else {
                continue;
            };
            match pool_for(&self.pools, &alloc.ips).map(str::to_string) {
                None => change.released.push(key),
                Some(name) if name != alloc.pool => {
                    change.moved.push(key.clone());
                    if let Some(alloc) = self.allocated.get_mut(&key) {
                        alloc.pool = name;
                    }
                }
                Some(_) => {}
            }
        }
        for key in &change.released {
            self.unassign(key);
        }
        self.rebuild_pool_usage();
        change
    }

    /// Recomputes every pool's taken addresses and counters from the allocations.
    fn rebuild_pool_usage(&mut self) {
        for pool in self.pools.values_mut() {
            pool.clear_usage();
        }
        for ip in self.usage.held() {
            for pool in self.pools.values_mut() {
                pool.set_taken(ip, true);
            }
        }
        for alloc in self.allocated.values() {
            if let Some(pool) = self.pools.get_mut(&alloc.pool) {
                for ip in &alloc.ips {
                    pool.add_user(*ip);
                }
            }
        }
    }

    /// Gives `ips` to the Service `key` (MetalLB's `Assign`): a requested address, or the
    /// address a Service already shows in its status. Refused when the addresses are not all
    /// usable addresses of one pool (an empty list included), the pool does not serve the
    /// Service, there are more than one per family, or another Service holds one of them and
    /// sharing is not allowed. On success any previous allocation of the Service is replaced;
    /// assigning what it already holds changes nothing. `sharing_key` is the `allow-shared-ip`
    /// annotation (empty or `None`: no sharing), `backend_key` comes from [`backend_key`].
    pub fn assign(
        &mut self,
        key: &ServiceKey,
        svc: &ServiceInfo,
        ips: &[IpAddr],
        ports: &[Port],
        sharing_key: Option<&str>,
        backend_key: &str,
    ) -> Result<(), AllocError> {
        self.assign_for(&Seeker::new(key, ports, sharing_key, backend_key), svc, ips)
    }

    /// [`Allocator::assign`] for `who`.
    fn assign_for(
        &mut self,
        who: &Seeker<'_>,
        svc: &ServiceInfo,
        ips: &[IpAddr],
    ) -> Result<(), AllocError> {
        let ips: Vec<IpAddr> = ips.iter().map(IpAddr::to_canonical).collect();
        let Some(pool) = pool_for(&self.pools, &ips).map(str::to_string) else {
            return Err(AllocError::NotAllowedInConfig { ips });
        };
        if !self.pools.get(&pool).is_some_and(|p| serves(&p.pool, svc)) {
            return Err(AllocError::PoolNotCompatible { pool });
        }
        if ips.len() > 2 {
            return Err(AllocError::TooManyAddresses { ips });
        }
        if let [first, second] = ips[..]
            && IpFamily::of(first) == IpFamily::of(second)
        {
            return Err(AllocError::SameFamily { first, second });
        }
        for ip in &ips {
            self.usage.check(who.key, *ip, who.ports, &who.akey)?;
        }
        self.record(
            who.key,
            Allocation {
                pool,
                ips,
                ports: who.ports.to_vec(),
                key: who.akey.clone(),
            },
        );
        Ok(())
    }

    /// Stores an allocation that passed every check, replacing the Service's previous one.
    fn record(&mut self, key: &ServiceKey, alloc: Allocation) {
        self.unassign(key);
        for ip in &alloc.ips {
            if self.usage.add(key, *ip, &alloc.ports, &alloc.key) {
                for pool in self.pools.values_mut() {
                    pool.set_taken(*ip, true);
                }
            }
        }
        if let Some(pool) = self.pools.get_mut(&alloc.pool) {
            for ip in &alloc.ips {
                pool.add_user(*ip);
            }
        }
        self.changed.insert(alloc.pool.clone());
        self.allocated.insert(key.clone(), alloc);
    }

    /// Frees the Service's addresses; returns whether it held any (MetalLB's `Unassign`).
    pub fn unassign(&mut self, key: &ServiceKey) -> bool {
        let Some(alloc) = self.allocated.remove(key) else {
            return false;
        };
        for ip in &alloc.ips {
            if self.usage.remove(key, *ip) {
                for pool in self.pools.values_mut() {
                    pool.set_taken(*ip, false);
                }
            }
        }
        if let Some(pool) = self.pools.get_mut(&alloc.pool) {
            for ip in &alloc.ips {
                pool.remove_user(*ip);
            }
            self.changed.insert(alloc.pool);
        }
        true
    }

    /// Picks addresses for the Service from the pools it may use automatically (MetalLB's
    /// `Allocate`): its pinned pools by priority, then every `autoAssign` pool without
    /// `serviceAllocation`, by name. A Service that already holds addresses keeps them
    /// (re-assigned with the new ports and keys, which may fail).
    pub fn allocate(
        &mut self,
        key: &ServiceKey,
        svc: &ServiceInfo,
        family: ServiceFamily,
        ports: &[Port],
        sharing_key: Option<&str>,
        backend_key: &str,
    ) -> Result<Vec<IpAddr>, AllocError> {
        let who = Seeker::new(key, ports, sharing_key, backend_key);
        if let Some(ips) = self.allocated.get(key).map(|a| a.ips.clone()) {
            self.assign_for(&who, svc, &ips)?;
            return Ok(ips);
        }
        let pinned = self.pinned_pools(svc);
        if let Ok(ips) = self.allocate_from_pools(&pinned, &who, svc, family) {
            return Ok(ips);
        }
        let general: Vec<String> = self
            .pools
            .iter()
            .filter(|(_, p)| p.pool.auto_assign && p.pool.service_allocation.is_none())
            .map(|(name, _)| name.clone())
            .collect();
        self.allocate_from_pools(&general, &who, svc, family)
    }

    /// Takes addresses from the best of `pools` (MetalLB's `allocateFromPools`); every
    /// failure reads "no available IPs".
    fn allocate_from_pools(
        &mut self,
        pools: &[String],
        who: &Seeker<'_>,
        svc: &ServiceInfo,
        family: ServiceFamily,
    ) -> Result<Vec<IpAddr>, AllocError> {
        let ips = self
            .best_pool(pools, who, svc, family)
            .and_then(|cands| cands.select(family, svc.family_policy).ok())
            .ok_or(AllocError::NoAvailableIps)?;
        self.assign_for(who, svc, &ips)
            .map_err(|_| AllocError::NoAvailableIps)?;
        Ok(ips)
    }

    /// The first of `pools` (in order) that has what the Service needs (MetalLB's
    /// `findBestPoolForService`): its one family, or both; failing that, for a
    /// `PreferDualStack` dual-stack Service, the first pool with its primary family, then the
    /// first with the other.
    fn best_pool(
        &self,
        pools: &[String],
        who: &Seeker<'_>,
        svc: &ServiceInfo,
        family: ServiceFamily,
    ) -> Option<Candidates> {
        let primary = svc.primary_family;
        let prefer_dual = svc.family_policy == FamilyPolicy::PreferDualStack
            && family == ServiceFamily::DualStack;
        let (mut with_primary, mut with_secondary) = (None, None);
        for name in pools {
            let Some(pool) = self.pools.get(name) else {
                continue;
            };
            let Some(cands) = self.free_addresses(pool, name, who) else {
                continue;
            };
            if cands.for_service(family).is_some() {
                return Some(cands);
            }
            let (p, s) = (cands.get(primary), cands.get(primary.other()));
            if p.is_some() && s.is_some() {
                return Some(cands);
            }
            if !prefer_dual {
                continue;
            }
            if p.is_some() && with_primary.is_none() {
                with_primary = Some(cands.clone());
            }
            if s.is_some() && with_secondary.is_none() {
                with_secondary = Some(cands);
            }
        }
        with_primary.or(with_secondary)
    }

    /// The lowest address of each family `who` could take in `pool` (MetalLB's
    /// `getFreeIPsFromPool`): for each family, from the first of the pool's CIDRs (in listed
    /// order) that has one. `None` when the pool has neither.
    fn free_addresses(&self, pool: &PoolState, name: &str, who: &Seeker<'_>) -> Option<Candidates> {
        let mut cands = Candidates {
            pool: name.to_string(),
            v4: None,
            v6: None,
        };
        for (index, net) in pool.cidrs().enumerate() {
            let slot = match net {
                IpNet::V4(_) => &mut cands.v4,
                IpNet::V6(_) => &mut cands.v6,
            };
            if slot.is_none() {
                *slot = self.first_usable(pool, index, &net, who);
            }
        }
        (cands.v4.is_some() || cands.v6.is_some()).then_some(cands)
    }

    /// The lowest address of the pool's `index`-th CIDR `net` that `who` may take (MetalLB's
    /// `getIPFromCIDR`, which walks the CIDR and stops at the first address passing the
    /// sharing check). Only three kinds of address can pass: free ones, ones shared under the
    /// Service's own sharing key, and ones the Service alone holds; the lowest of each is
    /// found without a walk.
    fn first_usable(
        &self,
        pool: &PoolState,
        index: usize,
        net: &IpNet,
        who: &Seeker<'_>,
    ) -> Option<IpAddr> {
        let mut best = pool.first_free(index);
        let ok = |ip: IpAddr| {
            pool.may_hand_out_from(net, ip)
                && self.usage.check(who.key, ip, who.ports, &who.akey).is_ok()
        };
        if !who.akey.sharing.is_empty() {
            let shared = self
                .usage
                .shared_in(&who.akey.sharing, net)
                .take_while(|ip| best.is_none_or(|b| *ip < b))
                .find(|ip| ok(*ip));
            best = shared.or(best);
        }
        if let Some(alloc) = self.allocated.get(who.key) {
            for ip in &alloc.ips {
                if best.is_none_or(|b| *ip < b) && ok(*ip) {
                    best = Some(*ip);
                }
            }
        }
        best
    }

    /// Picks addresses for the Service from the pool named `pool` (MetalLB's
    /// `AllocateFromPool`, for the `metallb.io/address-pool` annotation): `autoAssign` does
    /// not matter, `serviceAllocation` does. A Service that already holds addresses keeps
    /// them, unless they are of another family (and the Service is not `PreferDualStack`).
    #[allow(clippy::too_many_arguments)]
    pub fn allocate_from_pool(
        &mut self,
        key: &ServiceKey,
        svc: &ServiceInfo,
        family: ServiceFamily,
        pool: &str,
        ports: &[Port],
        sharing_key: Option<&str>,
        backend_key: &str,
    ) -> Result<Vec<IpAddr>, AllocError> {
        let who = Seeker::new(key, ports, sharing_key, backend_key);
        if let Some(ips) = self.allocated.get(key).map(|a| a.ips.clone()) {
            // Assignments are checked, so held addresses always have a family.
            if let Some(held) = ServiceFamily::for_addresses(&ips)
                && svc.family_policy != FamilyPolicy::PreferDualStack
                && held != family
            {
                return Err(AllocError::WrongFamily {
                    allocated: held,
                    requested: family,
                });
            }
            self.assign_for(&who, svc, &ips)?;
            return Ok(ips);
        }
        let ips = self
            .free_addresses_in(pool, &who)?
            .select(family, svc.family_policy)?;
        self.assign_for(&who, svc, &ips)?;
        Ok(ips)
    }

    /// For a `PreferDualStack` Service holding one address: adds one of the other family from
    /// the pool named `pool`, keeping `existing` (MetalLB's
    /// `AllocateFromPoolForAdditionalFamily`). Returns the added address.
    #[allow(clippy::too_many_arguments)]
    pub fn allocate_additional_family(
        &mut self,
        key: &ServiceKey,
        svc: &ServiceInfo,
        existing: IpAddr,
        pool: &str,
        ports: &[Port],
        sharing_key: Option<&str>,
        backend_key: &str,
    ) -> Result<IpAddr, AllocError> {
        let who = Seeker::new(key, ports, sharing_key, backend_key);
        let existing = existing.to_canonical();
        let wanted = IpFamily::of(existing).other();
        let added = self
            .free_addresses_in(pool, &who)?
            .get(wanted)
            .ok_or_else(|| AllocError::NoAddressOfFamily {
                pool: pool.to_string(),
                family: wanted.into(),
            })?;
        self.assign_for(&who, svc, &[existing, added])?;
        Ok(added)
    }

    /// [`Allocator::free_addresses`] of the pool named `pool`, with MetalLB's errors.
    fn free_addresses_in(&self, pool: &str, who: &Seeker<'_>) -> Result<Candidates, AllocError> {
        let state = self
            .pools
            .get(pool)
            .ok_or_else(|| AllocError::UnknownPool {
                pool: pool.to_string(),
            })?;
        self.free_addresses(state, pool, who)
            .ok_or_else(|| AllocError::PoolExhausted {
                pool: pool.to_string(),
            })
    }

    /// The `autoAssign` pools pinned to the Service by their `serviceAllocation` and serving
    /// it, lowest positive priority first, pools without priority last, equals by name
    /// (MetalLB's `pinnedPoolsForService`, which leaves equals in random order).
    fn pinned_pools(&self, svc: &ServiceInfo) -> Vec<String> {
        let mut pinned: Vec<(&String, i32)> = self
            .pools
            .iter()
            .filter_map(|(name, p)| {
                let sa = p.pool.service_allocation.as_ref()?;
                (p.pool.auto_assign && pins(sa, svc) && serves(&p.pool, svc))
                    .then_some((name, sa.priority))
            })
            .collect();
        // The pools come sorted by name; a stable sort by rank keeps that among equals.
        pinned.sort_by_key(|&(_, priority)| if priority > 0 { (0, priority) } else { (1, 0) });
        pinned.into_iter().map(|(name, _)| name.clone()).collect()
    }

    /// Whether any pool is configured (MetalLB clears every Service when there is none).
    pub fn has_pools(&self) -> bool {
        !self.pools.is_empty()
    }

    /// The keys of every Service holding an allocation.
    pub fn service_keys(&self) -> Vec<ServiceKey> {
        self.allocated.keys().cloned().collect()
    }

    /// The pool the Service's addresses were allocated from (MetalLB's `Pool`).
    pub fn pool(&self, key: &ServiceKey) -> Option<&str> {
        self.allocated.get(key).map(|a| a.pool.as_str())
    }

    /// The Service's addresses (MetalLB's `IPs`).
    pub fn ips(&self, key: &ServiceKey) -> Option<&[IpAddr]> {
        self.allocated.get(key).map(|a| a.ips.as_slice())
    }

    /// The sharing and backend keys the Service's allocation was made with; the controller
    /// re-converges every Service when it changes (MetalLB's `AllocationKey`).
    pub fn allocation_key(&self, key: &ServiceKey) -> Option<&AllocationKey> {
        self.allocated.get(key).map(|a| &a.key)
    }

    /// The pool whose usable addresses include all of `ips` (MetalLB's `PoolForIP`); with
    /// overlapping pools, the first by name.
    pub fn pool_for_ips(&self, ips: &[IpAddr]) -> Option<&str> {
        let ips: Vec<IpAddr> = ips.iter().map(IpAddr::to_canonical).collect();
        pool_for(&self.pools, &ips)
    }

    /// The pool's counters; all zero for an unknown pool (MetalLB's `CountersForPool`).
    pub fn pool_stats(&self, pool: &str) -> PoolStats {
        let Some(p) = self.pools.get(pool) else {
            return PoolStats::default();
        };
        let (v4, v6) = p.in_use();
        PoolStats {
            total: p.capacity.total,
            total_v4: p.capacity.v4,
            total_v6: p.capacity.v6,
            in_use: v4 + v6,
            in_use_v4: v4,
            in_use_v6: v6,
            available_v4: p.capacity.v4 - v4,
            available_v6: p.capacity.v6.saturating_sub(v6),
        }
    }

    /// The pools whose counters may have changed since the last call (removed pools
    /// included), for refreshing metrics and IPAddressPool statuses; MetalLB calls its
    /// counters callback at the same points.
    pub fn take_changed_pools(&mut self) -> BTreeSet<String> {
        std::mem::take(&mut self.changed)
    }
}

/// The first pool (by name) that may hand out every one of `ips` (MetalLB's `poolFor`).
fn pool_for<'a>(pools: &'a BTreeMap<String, PoolState>, ips: &[IpAddr]) -> Option<&'a str> {
    if ips.is_empty() {
        return None;
    }
    pools
        .iter()
        .find(|(_, p)| ips.iter().all(|ip| p.may_hand_out(*ip)))
        .map(|(name, _)| name.as_str())
}

/// Whether the Service's namespace is one the allocation names or selects.
fn namespace_selected(sa: &ServiceAllocation, svc: &ServiceInfo) -> bool {
    sa.namespaces.contains(&svc.namespace)
        || sa
            .namespace_selectors
            .iter()
            .any(|s| s.matches(&svc.namespace_labels))
}

/// Whether `pool` may serve the Service (MetalLB's `isPoolCompatibleWithService`): a pool
/// without `serviceAllocation` serves every Service; one with namespaces (named or selected)
/// only those namespaces; one with service selectors only Services one of them matches.
fn serves(pool: &Pool, svc: &ServiceInfo) -> bool {
    let Some(sa) = &pool.service_allocation else {
        return true;
    };
    let restricts_namespaces = !sa.namespaces.is_empty() || !sa.namespace_selectors.is_empty();
    if restricts_namespaces && !namespace_selected(sa, svc) {
        return false;
    }
    sa.service_selectors.is_empty() || sa.service_selectors.iter().any(|s| s.matches(&svc.labels))
}

/// Whether the allocation pins its pool to the Service, so that automatic allocation tries
/// it before the general pools: its namespace is named or selected, or the pool selects
/// Services by label — or the allocation names nothing at all, which MetalLB reads as
/// "select every Service".
fn pins(sa: &ServiceAllocation, svc: &ServiceInfo) -> bool {
    let selects_everything = sa.namespaces.is_empty()
        && sa.namespace_selectors.is_empty()
        && sa.service_selectors.is_empty();
    selects_everything || !sa.service_selectors.is_empty() || namespace_selected(sa, svc)
}
