//! One address pool as the allocator sees it: which of its addresses it may hand out, which
//! of them are taken, how many it holds, and the lowest free one of each CIDR.
//!
//! MetalLB finds a free address by walking a CIDR from its first address and testing each
//! one, which costs O(pool) per allocation once a big pool fills up. Here every address the
//! pool may hand out has a *slot*, a number such that the usable addresses of each CIDR are
//! one contiguous range of slots: for IPv4 pools with `avoidBuggyIPs` the `.0` and `.255`
//! addresses get no slot (254 slots per /24), otherwise the slot is the address itself. The
//! taken slots are kept as [`Runs`], so the lowest free address of a CIDR is one B-tree
//! lookup — the same address MetalLB's walk would stop at.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use lb_config::Pool;

use super::runs::Runs;

/// Whether `ip` is an IPv4 address ending in `.0` or `.255`. Such addresses confuse the smurf
/// protection of some CPE firmwares, which drop their traffic; `avoidBuggyIPs` skips them.
pub(super) fn is_buggy(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => matches!(v4.octets()[3], 0 | 255),
        IpAddr::V6(_) => false,
    }
}

/// How many addresses a pool holds, as MetalLB counts them for its metrics and the
/// IPAddressPool status (saturating at `i64::MAX`, which also stands for "too many to count").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Capacity {
    /// Every address, both families (`metallb_allocator_addresses_total`).
    pub(super) total: i64,
    /// IPv4 addresses.
    pub(super) v4: i64,
    /// IPv6 addresses.
    pub(super) v6: i64,
}

impl Capacity {
    /// Counts `pool`'s addresses the way MetalLB's `poolCount` does: a CIDR with 62 or more
    /// host bits makes the total and the IPv6 count `i64::MAX`; with `avoidBuggyIPs` each /24
    /// loses its `.0` and `.255`, and a CIDR smaller than a /24 loses its first and last
    /// address if they are such. (MetalLB counts a buggy /32 as -1; it counts 0 here.)
    pub(super) fn of(pool: &Pool) -> Self {
        let mut c = Capacity::default();
        for net in &pool.cidrs {
            let host_bits = u32::from(net.max_prefix_len() - net.prefix_len());
            if host_bits >= 62 {
                c.total = i64::MAX;
                c.v6 = i64::MAX;
                continue;
            }
            let mut size = 1i64 << host_bits;
            if pool.avoid_buggy_ips {
                size -= buggy_addresses_in(net);
            }
            c.total = c.total.saturating_add(size);
            match net {
                IpNet::V4(_) => c.v4 += size,
                IpNet::V6(_) => c.v6 = c.v6.saturating_add(size),
            }
        }
        c
    }
}

/// How many `.0`/`.255` addresses `net` holds (none for IPv6).
fn buggy_addresses_in(net: &IpNet) -> i64 {
    let IpNet::V4(v4) = net else { return 0 };
    if v4.prefix_len() <= 24 {
        return 2i64 << (24 - v4.prefix_len());
    }
    let (first, last) = (v4.network(), v4.broadcast());
    let buggy = |a: Ipv4Addr| i64::from(is_buggy(IpAddr::V4(a)));
    if first == last {
        buggy(first)
    } else {
        buggy(first) + buggy(last)
    }
}

/// One CIDR of a pool and the slots of the addresses of it the pool may hand out.
#[derive(Debug, Clone)]
struct Block {
    net: IpNet,
    /// First and last slot (inclusive); `None` when the CIDR has no usable address (a buggy
    /// /32 in a pool that avoids them).
    slots: Option<(u128, u128)>,
}

/// A pool, its free-address index and its usage counters.
#[derive(Debug, Clone)]
pub(super) struct PoolState {
    /// The pool's configuration.
    pub(super) pool: Pool,
    /// The pool's CIDRs in the order the user listed them (the order addresses are tried in).
    blocks: Vec<Block>,
    /// Slots of this pool's usable IPv4 addresses that some Service holds (through any pool,
    /// so that even overlapping pools never hand out a taken address).
    taken_v4: Runs,
    /// The same for IPv6.
    taken_v6: Runs,
    /// Addresses held by allocations made from this pool → how many allocations hold each.
    users: HashMap<IpAddr, u32>,
    /// Distinct IPv4 addresses in `users`.
    in_use_v4: i64,
    /// Distinct IPv6 addresses in `users`.
    in_use_v6: i64,
    /// The pool's size.
    pub(super) capacity: Capacity,
}

impl PoolState {
    /// The state of `pool` with nothing taken.
    pub(super) fn new(pool: Pool) -> Self {
        let blocks = pool
            .cidrs
            .iter()
            .map(|net| Block {
                net: *net,
                slots: usable_bounds(net, pool.avoid_buggy_ips).and_then(|(first, last)| {
                    Some((
                        slot(first, pool.avoid_buggy_ips)?,
                        slot(last, pool.avoid_buggy_ips)?,
                    ))
                }),
            })
            .collect();
        PoolState {
            capacity: Capacity::of(&pool),
            pool,
            blocks,
            taken_v4: Runs::default(),
            taken_v6: Runs::default(),
            users: HashMap::new(),
            in_use_v4: 0,
            in_use_v6: 0,
        }
    }

    /// The pool's CIDRs, in the order addresses are tried in.
    pub(super) fn cidrs(&self) -> impl Iterator<Item = IpNet> + '_ {
        self.blocks.iter().map(|b| b.net)
    }

    /// Whether this pool may hand out `ip`: one of its CIDRs holds it and it is not a buggy
    /// address of a pool that avoids them (MetalLB's `poolFor` test for one address).
    pub(super) fn may_hand_out(&self, ip: IpAddr) -> bool {
        !(self.pool.avoid_buggy_ips && is_buggy(ip)) && self.pool.contains(ip)
    }

    /// Whether `ip` is in `net` and this pool may hand it out.
    pub(super) fn may_hand_out_from(&self, net: &IpNet, ip: IpAddr) -> bool {
        net.contains(&ip) && !(self.pool.avoid_buggy_ips && is_buggy(ip))
    }

    /// The lowest address of the `index`-th CIDR that no Service holds.
    pub(super) fn first_free(&self, index: usize) -> Option<IpAddr> {
        let block = self.blocks.get(index)?;
        let (first, last) = block.slots?;
        let v6 = matches!(block.net, IpNet::V6(_));
        let taken = if v6 { &self.taken_v6 } else { &self.taken_v4 };
        let free = taken.first_absent_from(first).filter(|&s| s <= last)?;
        Some(address(free, v6, self.pool.avoid_buggy_ips))
    }

    /// Records that some Service now holds `ip` (`taken`) or that none does any more. Addresses
    /// this pool may not hand out are ignored.
    pub(super) fn set_taken(&mut self, ip: IpAddr, taken: bool) {
        if !self.may_hand_out(ip) {
            return;
        }
        let Some(s) = slot(ip, self.pool.avoid_buggy_ips) else {
            return;
        };
        let runs = if ip.is_ipv6() {
            &mut self.taken_v6
        } else {
            &mut self.taken_v4
        };
        if taken {
            runs.insert(s);
        } else {
            runs.remove(s);
        }
    }

    /// Forgets every taken address and every user (before a rebuild).
    pub(super) fn clear_usage(&mut self) {
        self.taken_v4.clear();
        self.taken_v6.clear();
        self.users.clear();
        self.in_use_v4 = 0;
        self.in_use_v6 = 0;
    }

    /// Counts one more allocation of this pool holding `ip`.
    pub(super) fn add_user(&mut self, ip: IpAddr) {
        let n = self.users.entry(ip).or_insert(0);
        *n += 1;
        if *n == 1 {
            *self.in_use_counter(ip) += 1;
        }
    }

    /// Counts one allocation of this pool fewer holding `ip`.
    pub(super) fn remove_user(&mut self, ip: IpAddr) {
        let Some(n) = self.users.get_mut(&ip) else {
            return;
        };
        *n -= 1;
        if *n == 0 {
            self.users.remove(&ip);
            *self.in_use_counter(ip) -= 1;
        }
    }

    fn in_use_counter(&mut self, ip: IpAddr) -> &mut i64 {
        if ip.is_ipv6() {
            &mut self.in_use_v6
        } else {
            &mut self.in_use_v4
        }
    }

    /// Distinct IPv4 and IPv6 addresses held by allocations of this pool.
    pub(super) fn in_use(&self) -> (i64, i64) {
        (self.in_use_v4, self.in_use_v6)
    }
}

/// The first and last address of `net` a pool may hand out.
fn usable_bounds(net: &IpNet, avoid_buggy: bool) -> Option<(IpAddr, IpAddr)> {
    match net {
        IpNet::V6(v6) => Some((IpAddr::V6(v6.network()), IpAddr::V6(v6.broadcast()))),
        IpNet::V4(v4) => {
            let mut first = u32::from(v4.network());
            let mut last = u32::from(v4.broadcast());
            if avoid_buggy {
                if is_buggy(IpAddr::V4(first.into())) {
                    first = first.checked_add(1)?;
                }
                if is_buggy(IpAddr::V4(last.into())) {
                    last = last.checked_sub(1)?;
                }
            }
            (first <= last).then(|| (IpAddr::V4(first.into()), IpAddr::V4(last.into())))
        }
    }
}

/// The slot of `ip` (see the module comment); `None` for a buggy address when they are avoided.
fn slot(ip: IpAddr, avoid_buggy: bool) -> Option<u128> {
    match ip {
        IpAddr::V6(v6) => Some(u128::from(v6)),
        IpAddr::V4(v4) if !avoid_buggy => Some(u128::from(u32::from(v4))),
        IpAddr::V4(v4) => {
            let a = u32::from(v4);
            let low = a & 0xff;
            if low == 0 || low == 255 {
                return None;
            }
            Some(u128::from(a >> 8) * 254 + u128::from(low - 1))
        }
    }
}

/// The address of slot `s` of the family `v6` (the inverse of [`slot`]).
fn address(s: u128, v6: bool, avoid_buggy: bool) -> IpAddr {
    if v6 {
        return IpAddr::V6(Ipv6Addr::from(s));
    }
    // Slots of IPv4 addresses are below 2^32 by construction; the truncation is exact.
    let a = if avoid_buggy {
        ((s / 254) << 8 | (s % 254 + 1)) as u32
    } else {
        s as u32
    };
    IpAddr::V4(Ipv4Addr::from(a))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::type_complexity)]
mod tests {
    use super::*;

    fn pool(cidrs: &[&str], avoid_buggy_ips: bool) -> Pool {
        Pool {
            name: "p".into(),
            cidrs: cidrs.iter().map(|c| c.parse().unwrap()).collect(),
            avoid_buggy_ips,
            auto_assign: true,
            service_allocation: None,
            bgp_advertisements: vec![],
            l2_advertisements: vec![],
        }
    }

    /// MetalLB's `TestPoolCount`, case by case.
    #[test]
    fn pool_count() {
        let cases: &[(&str, &[&str], bool, i64, i64, i64)] = &[
            ("BGP /24", &["1.2.3.0/24"], false, 256, 256, 0),
            (
                "BGP /24 and /25",
                &["1.2.3.0/24", "2.3.4.128/25"],
                false,
                384,
                384,
                0,
            ),
            (
                "BGP /24 and /25, no buggy IPs",
                &["1.2.3.0/24", "2.3.4.128/25"],
                true,
                381,
                381,
                0,
            ),
            (
                "BGP a BIG ipv6 range",
                &["1.2.3.0/24", "2.3.4.128/25", "1000::/64"],
                true,
                i64::MAX,
                381,
                i64::MAX,
            ),
            (
                "ipv4 and ipv6 range",
                &["1.2.3.0/31", "1000::/127"],
                true,
                3,
                1,
                2,
            ),
            // Our own: a buggy /32 counts 0 (MetalLB says -1), a plain one 1.
            ("buggy /32", &["1.2.3.0/32"], true, 0, 0, 0),
            ("plain /32", &["1.2.3.7/32"], true, 1, 1, 0),
            ("/31 at the top of a /24", &["1.2.3.254/31"], true, 1, 1, 0),
        ];
        for &(desc, cidrs, avoid, total, v4, v6) in cases {
            let c = Capacity::of(&pool(cidrs, avoid));
            assert_eq!(c, Capacity { total, v4, v6 }, "{desc}");
        }
    }

    /// The capacities of MetalLB's `TestLargePoolMetrics`: huge IPv6 ranges saturate.
    #[test]
    fn large_pools_saturate() {
        let cases: &[(&[&str], i64, i64)] = &[
            (&["1000::/64", "1.2.3.0/24"], 256, i64::MAX),
            (&["1.2.3.0/24", "1000::/64"], 256, i64::MAX),
            (&["1000::/64", "2000::/128"], 0, i64::MAX),
            (
                &["1000::/67", "2000::/67", "3000::/67", "4000::/67"],
                0,
                i64::MAX,
            ),
        ];
        for &(cidrs, v4, v6) in cases {
            let c = Capacity::of(&pool(cidrs, false));
            assert_eq!((c.total, c.v4, c.v6), (i64::MAX, v4, v6), "{cidrs:?}");
        }
    }

    #[test]
    fn slots_skip_buggy_addresses_and_round_trip() {
        for avoid in [false, true] {
            for a in [
                "1.2.3.1",
                "1.2.3.254",
                "1.2.4.1",
                "0.0.0.1",
                "255.255.255.254",
                "1000::ff",
            ] {
                let ip: IpAddr = a.parse().unwrap();
                let s = slot(ip, avoid).unwrap();
                assert_eq!(address(s, ip.is_ipv6(), avoid), ip, "{a} avoid={avoid}");
            }
        }
        let s = |a: &str| slot(a.parse().unwrap(), true);
        assert_eq!(s("1.2.3.0"), None);
        assert_eq!(s("1.2.3.255"), None);
        assert_eq!(s("1.2.3.254").map(|x| x + 1), s("1.2.4.1"));
    }

    #[test]
    fn first_free_follows_taken_addresses_across_buggy_ones() {
        let mut p = PoolState::new(pool(&["10.0.0.0/23", "1000::/126"], true));
        assert_eq!(p.first_free(0), Some("10.0.0.1".parse().unwrap()));
        for last in 1..=254u8 {
            p.set_taken(IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)), true);
        }
        assert_eq!(p.first_free(0), Some("10.0.1.1".parse().unwrap()));
        p.set_taken("10.0.0.17".parse().unwrap(), false);
        assert_eq!(p.first_free(0), Some("10.0.0.17".parse().unwrap()));
        assert_eq!(p.first_free(1), Some("1000::".parse().unwrap()));
        assert_eq!(p.first_free(2), None);
        // A buggy address has no slot: marking it taken changes nothing.
        p.set_taken("10.0.1.0".parse().unwrap(), true);
        assert_eq!(p.first_free(0), Some("10.0.0.17".parse().unwrap()));
    }

    #[test]
    fn a_buggy_slash_32_has_no_usable_address() {
        let p = PoolState::new(pool(
            &["10.0.0.0/32", "10.0.0.255/32", "255.255.255.255/32"],
            true,
        ));
        assert_eq!(
            (p.first_free(0), p.first_free(1), p.first_free(2)),
            (None, None, None)
        );
        let p = PoolState::new(pool(&["10.0.0.0/32"], false));
        assert_eq!(p.first_free(0), Some("10.0.0.0".parse().unwrap()));
    }
}
