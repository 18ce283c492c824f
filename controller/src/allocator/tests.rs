//! The allocator's table tests: MetalLB v0.16.2's `allocator_test.go` ported case by case
//! (same pools, same steps, same expected outcomes), the pool-priority cases of its
//! `controller_test.go`, then cases of our own for the rules the port leaves implicit and for
//! the deterministic choice ferrolb makes where MetalLB's is random.

// Tables of tuples read best here.
#![allow(clippy::unwrap_used, clippy::type_complexity)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use lb_config::{Pool, Selector, ServiceAllocation};

use super::*;

// ---------------------------------------------------------------------------------------
// Helpers

/// A pool of these CIDRs with MetalLB's defaults (auto-assign, no restrictions).
pub(crate) fn pool(name: &str, cidrs: &[&str]) -> Pool {
    Pool {
        name: name.into(),
        cidrs: cidrs.iter().map(|c| c.parse().unwrap()).collect(),
        avoid_buggy_ips: false,
        auto_assign: true,
        service_allocation: None,
        bgp_advertisements: vec![],
        l2_advertisements: vec![],
    }
}

fn avoid_buggy(mut p: Pool) -> Pool {
    p.avoid_buggy_ips = true;
    p
}

fn manual(mut p: Pool) -> Pool {
    p.auto_assign = false;
    p
}

fn allocate_to(mut p: Pool, sa: ServiceAllocation) -> Pool {
    p.service_allocation = Some(sa);
    p
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn selector(pairs: &[(&str, &str)]) -> Selector {
    Selector {
        match_labels: labels(pairs),
        match_expressions: vec![],
    }
}

/// A `serviceAllocation` with a priority, namespaces by name and service selectors.
fn sa(
    priority: i32,
    namespaces: &[&str],
    service_selector: Option<&Selector>,
) -> ServiceAllocation {
    ServiceAllocation {
        priority,
        namespaces: namespaces.iter().map(|n| n.to_string()).collect(),
        namespace_selectors: vec![],
        service_selectors: service_selector.into_iter().cloned().collect(),
    }
}

fn pools(list: Vec<Pool>) -> BTreeMap<String, Pool> {
    list.into_iter().map(|p| (p.name.clone(), p)).collect()
}

fn allocator(list: Vec<Pool>) -> Allocator {
    let mut a = Allocator::new();
    a.set_pools(&pools(list));
    a
}

/// MetalLB's `svc`: single stack, no namespace, no labels.
fn svc() -> ServiceInfo {
    ServiceInfo {
        name: "test-lb-service".into(),
        ..ServiceInfo::default()
    }
}

fn svc_require_dual() -> ServiceInfo {
    ServiceInfo {
        family_policy: FamilyPolicy::RequireDualStack,
        ..svc()
    }
}

fn svc_prefer_dual() -> ServiceInfo {
    ServiceInfo {
        family_policy: FamilyPolicy::PreferDualStack,
        ..svc()
    }
}

fn svc_in(namespace: &str, service_labels: &[(&str, &str)]) -> ServiceInfo {
    ServiceInfo {
        namespace: namespace.into(),
        name: "s1".into(),
        labels: labels(service_labels),
        ..ServiceInfo::default()
    }
}

fn ports(specs: &[&str]) -> Vec<Port> {
    specs
        .iter()
        .map(|s| {
            let (protocol, port) = s.split_once('/').unwrap();
            Port {
                protocol: protocol.into(),
                port: port.parse().unwrap(),
            }
        })
        .collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn ips(s: &[&str]) -> Vec<IpAddr> {
    s.iter().map(|a| ip(a)).collect()
}

fn key(s: &str) -> ServiceKey {
    ServiceKey::new("", s)
}

fn sharing(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// `allocate` for a plain Service `k` (MetalLB's `svc`): no ports, no sharing.
fn auto(a: &mut Allocator, k: &str, family: ServiceFamily) -> Result<Vec<IpAddr>, AllocError> {
    a.allocate(&key(k), &svc(), family, &[], None, "")
}

/// The addresses the allocator records for `k`, as text (empty when none).
fn assigned(a: &Allocator, k: &str) -> Vec<String> {
    a.ips(&key(k))
        .unwrap_or_default()
        .iter()
        .map(ToString::to_string)
        .collect()
}

use ServiceFamily::{DualStack, V4, V6};

// ---------------------------------------------------------------------------------------
// TestAssignment

/// One step of MetalLB's `TestAssignment`: assign `ips` (or unassign when empty).
#[derive(Clone)]
struct AssignStep {
    desc: &'static str,
    key: &'static str,
    svc: ServiceInfo,
    ips: Vec<&'static str>,
    ports: Vec<Port>,
    sharing: &'static str,
    backend: &'static str,
    fails: bool,
}

fn assign_step(desc: &'static str, key: &'static str, ips: &[&'static str]) -> AssignStep {
    AssignStep {
        desc,
        key,
        svc: svc(),
        ips: ips.to_vec(),
        ports: vec![],
        sharing: "",
        backend: "",
        fails: false,
    }
}

impl AssignStep {
    fn shared(mut self, port: &str, sharing: &'static str, backend: &'static str) -> Self {
        self.ports = ports(&[port]);
        self.sharing = sharing;
        self.backend = backend;
        self
    }

    fn fails(mut self) -> Self {
        self.fails = true;
        self
    }

    fn svc(mut self, svc: ServiceInfo) -> Self {
        self.svc = svc;
        self
    }
}

/// Runs `TestAssignment`-style steps, with MetalLB's checks: a failed assign records nothing
/// new, a successful one records exactly the addresses asked for.
fn run_assign_steps(a: &mut Allocator, steps: &[AssignStep]) {
    for s in steps {
        if s.ips.is_empty() {
            a.unassign(&key(s.key));
            continue;
        }
        let want: Vec<String> = s.ips.iter().map(|x| x.to_string()).collect();
        let already = assigned(a, s.key) == want;
        let res = a.assign(
            &key(s.key),
            &s.svc,
            &ips(&s.ips),
            &s.ports,
            sharing(s.sharing),
            s.backend,
        );
        if s.fails {
            assert!(res.is_err(), "{}: should have failed", s.desc);
            assert!(
                already || assigned(a, s.key) != want,
                "{}: failed, but the allocation was recorded",
                s.desc
            );
        } else {
            assert_eq!(res, Ok(()), "{}", s.desc);
            assert_eq!(assigned(a, s.key), want, "{}", s.desc);
        }
    }
}

fn assignment_pools() -> Vec<Pool> {
    let team_metallb = selector(&[("team", "metallb")]);
    vec![
        pool("test", &["1.2.3.4/31", "1000::4/127"]),
        avoid_buggy(pool("test2", &["1.2.4.0/24", "1000::4:0/120"])),
        allocate_to(
            avoid_buggy(pool("test3", &["1.2.5.0/24", "1000::5:0/120"])),
            sa(0, &["test-ns1"], None),
        ),
        allocate_to(
            avoid_buggy(pool("test4", &["1.2.6.0/24", "1000::6:0/120"])),
            sa(0, &[], Some(&team_metallb)),
        ),
        allocate_to(
            avoid_buggy(pool("test5", &["1.2.7.0/24", "1000::7:0/120"])),
            sa(20, &["test-ns1"], Some(&team_metallb)),
        ),
        allocate_to(
            avoid_buggy(pool("test6", &["1.2.8.0/24", "1000::9:0/120"])),
            sa(20, &["test-ns2"], Some(&selector(&[("foo", "bar")]))),
        ),
    ]
}

/// The single-family part of `TestAssignment`, which MetalLB runs twice: with IPv4
/// addresses (and its buggy-IP steps), then the same with IPv6 ones. `a` and `b` are the two
/// addresses of pool "test", `c` and `d` two of pool "test2".
fn one_family_assignment_steps(
    first_desc: &'static str,
    [a, b, c, d]: [&'static str; 4],
    buggy: &[&'static str],
) -> Vec<AssignStep> {
    let s = assign_step;
    let mut steps = vec![
        s(first_desc, "s1", &[a]),
        s("s1 idempotent reassign", "s1", &[a]),
        s("s2 can't grab s1's IP", "s2", &[a]).fails(),
        s("s2 can get the other IP", "s2", &[b]),
        s("s1 now can't grab s2's IP", "s1", &[b]).fails(),
        s("s1 frees its IP", "s1", &[]),
        s("s2 can grab s1's former IP", "s2", &[a]),
        s("s1 can now grab s2's former IP", "s1", &[b]),
    ];
    for &ip in buggy {
        steps.push(s("s3 cannot grab a buggy IP", "s3", &[ip]).fails());
    }
    steps.extend([
        s("s3 can grab another IP in that pool", "s3", &[c]),
        s("s4 takes an IP, with sharing", "s4", &[d]).shared("tcp/80", "sharing", "backend"),
        s("s4 changes its sharing key in place", "s4", &[d]).shared("tcp/80", "share", "backend"),
        s("s3 can't share with s4 (port conflict)", "s3", &[d])
            .shared("tcp/80", "share", "backend")
            .fails(),
        s("s3 can't share with s4 (wrong sharing key)", "s3", &[d])
            .shared("tcp/443", "othershare", "backend")
            .fails(),
        s("s3 can't share with s4 (wrong backend key)", "s3", &[d])
            .shared("tcp/443", "share", "otherbackend")
            .fails(),
        s("s3 takes the same IP as s4", "s3", &[d]).shared("tcp/443", "share", "backend"),
        s(
            "s3 can change its ports while keeping the same IP",
            "s3",
            &[d],
        )
        .shared("udp/53", "share", "backend"),
        s(
            "s3 can't change its sharing key while keeping the same IP",
            "s3",
            &[d],
        )
        .shared("tcp/443", "othershare", "backend")
        .fails(),
        s(
            "s3 can't change its backend key while keeping the same IP",
            "s3",
            &[d],
        )
        .shared("tcp/443", "share", "otherbackend")
        .fails(),
        s("s4 takes s3's former IP", "s4", &[c]),
    ]);
    steps
}

#[test]
fn metallb_test_assignment() {
    let mut a = allocator(assignment_pools());
    let s = assign_step;
    let mut steps = one_family_assignment_steps(
        "assign s1",
        ["1.2.3.4", "1.2.3.5", "1.2.4.254", "1.2.4.3"],
        &["1.2.4.0", "1.2.4.255"],
    );
    // Buggy IPs do not apply to IPv6.
    steps.extend(one_family_assignment_steps(
        "ipv6 assign s1",
        ["1000::4", "1000::4:5", "1000::4:ff", "1000::4:3"],
        &[],
    ));
    steps.extend([
        // Dual stack.
        s("s2 frees its IP", "s2", &[]),
        s("ip dual-stack assign s1", "s1", &["1.2.3.4", "1000::4"]),
        s(
            "ip dual-stack assign s1 from different pools",
            "s1",
            &["1.2.4.5", "1000::4"],
        )
        .fails(),
    ]);
    // Pool compatibility (serviceAllocation).
    steps.extend([
        s(
            "attempt to assign ip from pool pinned on same namespace",
            "s1",
            &["1.2.5.10"],
        )
        .svc(svc_in("test-ns1", &[])),
        s(
            "attempt to assign ip from pool pinned on different namespace",
            "s1",
            &["1.2.5.10"],
        )
        .svc(svc_in("testns-not-exist", &[]))
        .fails(),
        s(
            "attempt to assign ip from pool pinned with same service label",
            "s1",
            &["1.2.6.10"],
        )
        .svc(svc_in("testns-not-exist", &[("team", "metallb")])),
        s(
            "attempt to assign ip from pool pinned with different service label",
            "s1",
            &["1.2.6.10"],
        )
        .svc(svc_in("testns-not-exist", &[("team", "red")]))
        .fails(),
        s(
            "attempt to assign ip from pool pinned with namespace and service label",
            "s1",
            &["1.2.7.10"],
        )
        .svc(svc_in("test-ns1", &[("team", "metallb")])),
        s(
            "attempt to assign ip from pool pinned with namespace and incompatible service label",
            "s1",
            &["1.2.8.10"],
        )
        .svc(svc_in("test-ns2", &[("team", "metallb")]))
        .fails(),
        s(
            "attempt to assign ip from pool pinned with service label and incompatible namespace",
            "s1",
            &["1.2.8.10"],
        )
        .svc(svc_in("testns-not-exist", &[("foo", "bar")]))
        .fails(),
    ]);
    run_assign_steps(&mut a, &steps);
}

// ---------------------------------------------------------------------------------------
// TestPoolAllocation and TestAllocation

/// One step of MetalLB's `TestPoolAllocation` / `TestAllocation`.
#[derive(Clone)]
struct AllocStep {
    desc: &'static str,
    key: &'static str,
    svc: ServiceInfo,
    family: ServiceFamily,
    pool: &'static str,
    ports: Vec<Port>,
    sharing: &'static str,
    unassign: bool,
    fails: bool,
}

fn alloc_step(
    desc: &'static str,
    key: &'static str,
    svc: ServiceInfo,
    family: ServiceFamily,
) -> AllocStep {
    AllocStep {
        desc,
        key,
        svc,
        family,
        pool: "",
        ports: vec![],
        sharing: "",
        unassign: false,
        fails: false,
    }
}

fn release(desc: &'static str, key: &'static str) -> AllocStep {
    AllocStep {
        unassign: true,
        ..alloc_step(desc, key, svc(), V4)
    }
}

impl AllocStep {
    fn fails(mut self) -> Self {
        self.fails = true;
        self
    }

    fn shared(mut self, port: &str) -> Self {
        self.ports = ports(&[port]);
        self.sharing = "share";
        self
    }

    fn in_pool(mut self, pool: &'static str) -> Self {
        self.pool = pool;
        self
    }
}

/// How a step asks for addresses.
#[derive(Clone, Copy)]
enum Via {
    /// `allocate_from_pool`, with `default_pool` for steps naming none.
    Pool(&'static str),
    /// `allocate`.
    Auto,
}

/// Runs allocation steps and checks every address handed out against the valid ones.
fn run_alloc_steps(
    a: &mut Allocator,
    via: Via,
    valid_v4: &[&str],
    valid_v6: &[&str],
    steps: &[AllocStep],
) {
    for s in steps {
        let k = key(s.key);
        if s.unassign {
            a.unassign(&k);
            continue;
        }
        let res = match via {
            Via::Pool(default_pool) => {
                let pool = if s.pool.is_empty() {
                    default_pool
                } else {
                    s.pool
                };
                a.allocate_from_pool(&k, &s.svc, s.family, pool, &s.ports, sharing(s.sharing), "")
            }
            Via::Auto => a.allocate(&k, &s.svc, s.family, &s.ports, sharing(s.sharing), ""),
        };
        if s.fails {
            assert!(res.is_err(), "{}: should have failed, got {res:?}", s.desc);
            continue;
        }
        let got = res.unwrap_or_else(|e| panic!("{}: {e}", s.desc));
        let valid: Vec<&str> = match s.family {
            V4 => valid_v4.to_vec(),
            V6 => valid_v6.to_vec(),
            DualStack => valid_v4.iter().chain(valid_v6).copied().collect(),
        };
        for addr in &got {
            assert!(
                valid.contains(&addr.to_string().as_str()),
                "{}: unexpected address {addr}",
                s.desc
            );
        }
    }
}

/// The steps both `TestPoolAllocation` and `TestAllocation` run for one family: four
/// Services fill the pool, two more fail, one frees its address for another, then two share.
fn fill_and_share_steps(
    family: ServiceFamily,
    with_sharing_on_refill: bool,
    svc_of: fn() -> ServiceInfo,
) -> Vec<AllocStep> {
    let st = |desc, k| alloc_step(desc, k, svc_of(), family);
    let mut steps = vec![
        st("s1 gets addresses", "s1"),
        st("s2 gets addresses", "s2"),
        st("s3 gets addresses", "s3"),
        st("s4 gets addresses", "s4"),
        st("s5 can't get addresses", "s5").fails(),
        st("s6 can't get addresses", "s6").fails(),
        release("s1 releases its addresses", "s1"),
    ];
    if with_sharing_on_refill {
        // TestAllocation: s5 takes s1's former addresses with sharing enabled right away.
        steps.extend([
            st("s5 can now get addresses", "s5").shared("tcp/80"),
            st("s6 still can't get addresses", "s6").fails(),
            st("s6 can get addresses with sharing", "s6").shared("tcp/443"),
        ]);
    } else {
        // TestPoolAllocation: s5 takes them plainly, gives them back, then shares with s6.
        steps.extend([
            st("s5 can now grab s1's former addresses", "s5"),
            st("s6 still can't get addresses", "s6").fails(),
            release("s5 unassigns in prep for enabling sharing", "s5"),
            st("s5 enables sharing", "s5").shared("tcp/80"),
            st("s6 can get addresses now, with sharing", "s6").shared("tcp/443"),
        ]);
    }
    steps
}

fn clear_all() -> Vec<AllocStep> {
    ["s1", "s2", "s3", "s4", "s5", "s6"]
        .into_iter()
        .map(|k| release("clear old addresses", k))
        .collect()
}

#[test]
fn metallb_test_pool_allocation() {
    // Most steps allocate from "test" only, so it runs out although other pools have room.
    let mut a = allocator(vec![
        pool("not_this_one", &["192.168.0.0/16", "fc00::1:0/112"]),
        pool(
            "test",
            &["1.2.3.4/31", "1.2.3.10/31", "1000::/127", "2000::/127"],
        ),
        pool("test2", &["10.20.30.0/24", "fc00::2:0/120"]),
        pool("test-v4", &["1.2.3.4/31", "1.2.3.10/31"]),
        pool("test-v6", &["1000::/127", "2000::/127"]),
        pool(
            "test-dualstack",
            &["1.2.3.4/31", "1.2.3.10/31", "1000::/127", "2000::/127"],
        ),
    ]);
    let mut steps = fill_and_share_steps(V4, false, svc);
    steps.extend(clear_all());
    steps.extend(fill_and_share_steps(V6, false, svc));
    // The "should-not-happen" case of a Service holding an address of the wrong family.
    steps.extend([
        release("s1 clear", "s1"),
        alloc_step("s1 get an IPv4", "s1", svc(), V4),
        alloc_step("s1 get an IPv6", "s1", svc(), V6).fails(),
    ]);
    steps.extend(clear_all());
    steps.extend(fill_and_share_steps(DualStack, false, svc_require_dual));
    steps.extend(clear_all());
    // PreferDualStack.
    steps.extend([
        alloc_step("s1 gets dual-stack IPs", "s1", svc_prefer_dual(), DualStack),
        alloc_step("s2 gets ipv4 IP", "s2", svc_prefer_dual(), V4).in_pool("test-v4"),
        alloc_step("s3 gets ipv6 IP", "s3", svc_prefer_dual(), V6).in_pool("test-v6"),
        release("s2 clear old ipv4 address", "s2"),
        alloc_step("s3 gets dualstack", "s3", svc_prefer_dual(), DualStack)
            .in_pool("test-dualstack"),
    ]);
    run_alloc_steps(
        &mut a,
        Via::Pool("test"),
        &["1.2.3.4", "1.2.3.5", "1.2.3.10", "1.2.3.11"],
        &["1000::", "1000::1", "2000::", "2000::1"],
        &steps,
    );

    a.unassign(&key("s5"));
    let res = a.allocate_from_pool(&key("s5"), &svc(), V4, "nonexistentpool", &[], None, "");
    assert_eq!(
        res.map_err(|e| e.to_string()),
        Err("unknown pool \"nonexistentpool\"".to_string())
    );
}

#[test]
fn metallb_test_allocation() {
    let mut a = allocator(vec![
        pool("test1", &["1.2.3.4/31", "1000::4/127"]),
        pool("test2", &["1.2.3.10/31", "1000::10/127"]),
    ]);
    let mut steps = fill_and_share_steps(V4, true, svc);
    steps.extend(clear_all());
    steps.extend(fill_and_share_steps(V6, true, svc));
    steps.extend(clear_all());
    steps.extend(fill_and_share_steps(DualStack, true, svc_require_dual));
    run_alloc_steps(
        &mut a,
        Via::Auto,
        &["1.2.3.4", "1.2.3.5", "1.2.3.10", "1.2.3.11"],
        &["1000::4", "1000::5", "1000::10", "1000::11"],
        &steps,
    );
}

#[test]
fn metallb_test_buggy_ips() {
    let mut a = allocator(vec![
        pool("test", &["1.2.3.0/31"]),
        pool("test2", &["1.2.3.254/31"]),
        avoid_buggy(pool("test3", &["1.2.4.0/31"])),
        avoid_buggy(pool("test4", &["1.2.4.254/31"])),
    ]);
    let valid = [
        "1.2.3.0",
        "1.2.3.1",
        "1.2.3.254",
        "1.2.3.255",
        "1.2.4.1",
        "1.2.4.254",
    ];
    let mut got = BTreeSet::new();
    for i in 1..=6 {
        let ips = a
            .allocate(&key(&format!("s{i}")), &svc(), V4, &[], None, "")
            .unwrap_or_else(|e| panic!("#{i}: {e}"));
        for addr in ips {
            assert!(valid.contains(&addr.to_string().as_str()), "#{i}: {addr}");
            assert!(got.insert(addr), "#{i}: {addr} handed out twice");
        }
    }
    assert_eq!(auto(&mut a, "s7", V4), Err(AllocError::NoAvailableIps));
}

#[test]
fn metallb_test_config_reload() {
    let base = pools(vec![
        pool("test", &["1.2.3.0/30", "1000::/126"]),
        pool("testunused", &["1.2.4.0/30", "1001::/126"]),
    ]);
    let cases: Vec<(&str, Vec<Pool>, Option<&str>, Option<&str>)> = vec![
        (
            "set same config is no-op",
            vec![pool("test", &["1.2.3.0/30", "1000::/126"])],
            Some("test"),
            Some("test"),
        ),
        (
            "expand pool",
            vec![pool("test", &["1.2.3.0/24", "1000::/120"])],
            Some("test"),
            Some("test"),
        ),
        (
            "shrink pool",
            vec![pool("test", &["1.2.3.0/30", "1000::/126"])],
            Some("test"),
            Some("test"),
        ),
        (
            "can't shrink further, removing the service allocation",
            vec![pool("test", &["1.2.3.2/31", "1000::0/126"])],
            None,
            Some("test"),
        ),
        (
            "can't shrink further ipv6, removing the service allocation",
            vec![pool("test", &["1.2.3.0/30", "1000::2/127"])],
            Some("test"),
            None,
        ),
        (
            "rename the pool",
            vec![pool("test2", &["1.2.3.0/30", "1000::0/126"])],
            Some("test2"),
            Some("test2"),
        ),
        (
            "split pool",
            vec![
                pool("test", &["1.2.3.0/31", "1000::2/127"]),
                pool("test2", &["1.2.3.2/31", "1000::/127"]),
            ],
            Some("test"),
            Some("test2"),
        ),
        (
            "enable buggy IPs not allowed",
            vec![avoid_buggy(pool("test2", &["1.2.3.0/31", "1000::/127"]))],
            None,
            Some("test2"),
        ),
    ];
    for (desc, new_pools, pool_s1, pool_s2) in cases {
        let mut a = Allocator::new();
        a.set_pools(&base);
        a.assign(&key("s1"), &svc(), &[ip("1.2.3.0")], &[], None, "")
            .unwrap();
        a.assign(&key("s2"), &svc(), &[ip("1000::")], &[], None, "")
            .unwrap();
        let change = a.set_pools(&pools(new_pools));
        assert_eq!(a.pool(&key("s1")), pool_s1, "{desc}: s1");
        assert_eq!(a.pool(&key("s2")), pool_s2, "{desc}: s2");
        // What the caller is told matches what happened.
        let released: Vec<&str> = [("s1", pool_s1), ("s2", pool_s2)]
            .iter()
            .filter(|(_, p)| p.is_none())
            .map(|(k, _)| *k)
            .collect();
        let got: Vec<&str> = change.released.iter().map(ServiceKey::as_str).collect();
        assert_eq!(got, released, "{desc}: released");
        let moved: Vec<&str> = [("s1", pool_s1), ("s2", pool_s2)]
            .iter()
            .filter(|(_, p)| p.is_some_and(|p| p != "test"))
            .map(|(k, _)| *k)
            .collect();
        let got: Vec<&str> = change.moved.iter().map(ServiceKey::as_str).collect();
        assert_eq!(got, moved, "{desc}: moved");
        assert!(
            change.removed_pools.contains(&"testunused".to_string()),
            "{desc}"
        );
        // A released address is free again, a kept one is still held.
        for (k, addr, p) in [("s1", "1.2.3.0", pool_s1), ("s2", "1000::", pool_s2)] {
            let holders = a.usage.holders(ip(addr));
            assert_eq!(holders.is_empty(), p.is_none(), "{desc}: holders of {addr}");
            assert_eq!(a.ips(&key(k)).is_some(), p.is_some(), "{desc}: {k}");
        }
    }
}

#[test]
fn metallb_test_auto_assign() {
    let mut a = allocator(vec![
        manual(pool("test1", &["1.2.3.4/31", "1000::4/127"])),
        pool("test2", &["1.2.3.10/31", "1000::10/127"]),
    ]);
    let st = |k, family| alloc_step("auto-assign", k, svc(), family);
    let mut steps = vec![
        st("s1", V4),
        st("s2", V4),
        st("s3", V4).fails(),
        st("s4", V4).fails(),
        st("s5", V4).fails(),
    ];
    steps.extend(clear_all());
    steps.extend([
        st("s1", V6),
        st("s2", V6),
        st("s3", V6).fails(),
        st("s4", V6).fails(),
        st("s5", V6).fails(),
        // s1 and s2 still hold their IPv6 addresses, which they keep; the single-stack s3
        // finds no pool with both families.
        st("s1", DualStack),
        st("s2", DualStack),
        st("s3", DualStack).fails(),
        st("s4", DualStack).fails(),
        st("s5", DualStack).fails(),
    ]);
    run_alloc_steps(
        &mut a,
        Via::Auto,
        &["1.2.3.10", "1.2.3.11"],
        &["1000::10", "1000::11"],
        &steps,
    );
}

/// `TestPoolMetrics`: in-use counts follow assignments (a shared address counts once), and
/// every assign and unassign marks the pool's counters changed (MetalLB's callback).
#[test]
fn metallb_test_pool_metrics() {
    let mut a = allocator(vec![pool("test", &["1.2.3.4/30", "1000::4/126"])]);
    assert_eq!(a.pool_stats("test").total, 8);
    assert_eq!(
        a.pool_stats("test"),
        PoolStats {
            total: 8,
            total_v4: 4,
            total_v6: 4,
            in_use: 0,
            in_use_v4: 0,
            in_use_v6: 0,
            available_v4: 4,
            available_v6: 4,
        }
    );
    assert_eq!(a.take_changed_pools(), BTreeSet::from(["test".to_string()]));

    // (desc, key, ips (none: unassign), sharing key, port, in use afterwards)
    let steps: &[(&str, &str, &[&str], &str, &str, i64)] = &[
        ("assign s1", "s1", &["1.2.3.4"], "", "", 1),
        ("assign s2", "s2", &["1.2.3.5"], "", "", 2),
        ("unassign s1", "s1", &[], "", "", 1),
        ("unassign s2", "s2", &[], "", "", 0),
        ("assign s1 shared", "s1", &["1.2.3.4"], "key", "tcp/80", 1),
        ("assign s2 shared", "s2", &["1.2.3.4"], "key", "tcp/443", 1),
        ("assign s3 shared", "s3", &["1.2.3.4"], "key", "tcp/23", 1),
        ("unassign s1 shared", "s1", &[], "", "", 1),
        ("unassign s2 shared", "s2", &[], "", "", 1),
        ("unassign s3 shared", "s3", &[], "", "", 0),
    ];
    for &(desc, k, addrs, share, port, in_use) in steps {
        if addrs.is_empty() {
            assert!(a.unassign(&key(k)), "{desc}");
        } else {
            let p = if port.is_empty() {
                vec![]
            } else {
                ports(&[port])
            };
            a.assign(&key(k), &svc(), &ips(addrs), &p, sharing(share), "")
                .unwrap_or_else(|e| panic!("{desc}: {e}"));
            assert_eq!(assigned(&a, k), addrs.to_vec(), "{desc}");
        }
        let stats = a.pool_stats("test");
        assert_eq!(stats.in_use, in_use, "{desc}");
        assert_eq!(
            (
                stats.available_v4,
                stats.available_v6,
                stats.in_use_v4,
                stats.in_use_v6
            ),
            (4 - in_use, 4, in_use, 0),
            "{desc}"
        );
        assert_eq!(
            a.take_changed_pools(),
            BTreeSet::from(["test".to_string()]),
            "{desc}"
        );
    }

    a.assign(&key("s1"), &svc(), &[ip("1.2.3.4")], &[], None, "")
        .unwrap();
    let change = a.set_pools(&BTreeMap::new());
    assert_eq!(change.removed_pools, vec!["test".to_string()]);
    assert_eq!(change.released, vec![key("s1")]);
    assert_eq!(a.pool_stats("test"), PoolStats::default());
    assert!(a.take_changed_pools().contains("test"));
}

/// `TestLargePoolMetrics`: huge IPv6 ranges count as `i64::MAX`, and the counters agree.
#[test]
fn metallb_test_large_pool_metrics() {
    let cases: &[(&str, &[&str], i64, i64)] = &[
        (
            "IPv6 before IPv4",
            &["1000::/64", "1.2.3.0/24"],
            256,
            i64::MAX,
        ),
        (
            "IPv4 before IPv6",
            &["1.2.3.0/24", "1000::/64"],
            256,
            i64::MAX,
        ),
        (
            "large IPv6 before small IPv6",
            &["1000::/64", "2000::/128"],
            0,
            i64::MAX,
        ),
        (
            "multiple smaller IPv6 ranges",
            &["1000::/67", "2000::/67", "3000::/67", "4000::/67"],
            0,
            i64::MAX,
        ),
    ];
    for &(desc, cidrs, v4, v6) in cases {
        let a = allocator(vec![pool("large", cidrs)]);
        let s = a.pool_stats("large");
        assert_eq!(
            (s.total, s.total_v4, s.total_v6),
            (i64::MAX, v4, v6),
            "{desc}"
        );
        assert_eq!(
            (s.available_v4, s.available_v6, s.in_use_v4, s.in_use_v6),
            (v4, v6, 0, 0),
            "{desc}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Pool selection by serviceAllocation (the pool cases of MetalLB's controller_test.go)

fn controller_test_pools() -> Vec<Pool> {
    let team = selector(&[("team", "metallb")]);
    vec![
        pool("pool1", &["1.2.3.0/31"]),
        manual(pool("pool2", &["3.4.5.6/32"])),
        pool("pool3", &["1000::/127"]),
        manual(pool("pool4", &["2000::1/128"])),
        allocate_to(pool("pool6", &["7.8.9.0/31"]), sa(10, &["test-ns1"], None)),
        allocate_to(
            pool("pool7", &["10.11.12.0/31"]),
            sa(11, &["test-ns1"], None),
        ),
        allocate_to(pool("pool8", &["13.14.15.0/31"]), sa(9, &[], Some(&team))),
        allocate_to(
            pool("pool9", &["16.17.18.0/31"]),
            sa(0, &["test-ns2"], None),
        ),
        allocate_to(pool("pool10", &["19.20.21.0/31"]), sa(8, &[], Some(&team))),
        allocate_to(
            pool("pool11", &["22.23.24.0/31"]),
            sa(8, &["test-ns1"], Some(&team)),
        ),
        allocate_to(
            pool("pool12", &["25.26.27.0/31"]),
            sa(5, &["test-ns1"], Some(&team)),
        ),
    ]
}

#[test]
fn metallb_controller_pool_selection() {
    let cases: &[(&str, &str, &[(&str, &str)], &str, &str)] = &[
        ("simple LoadBalancer", "default", &[], "1.2.3.0", "pool1"),
        (
            "request IP for service from namespace specific ip pool",
            "test-ns1",
            &[],
            "7.8.9.0",
            "pool6",
        ),
        (
            "request IP for service from no priority namespace specific ip pool",
            "test-ns2",
            &[],
            "16.17.18.0",
            "pool9",
        ),
        (
            "request IP for service from service label specific ip pool",
            "default",
            &[("team", "metallb")],
            "19.20.21.0",
            "pool10",
        ),
        (
            "request IP for service from ip pool having both namespace and service label",
            "test-ns1",
            &[("team", "metallb")],
            "25.26.27.0",
            "pool12",
        ),
    ];
    for &(desc, ns, svc_labels, want_ip, want_pool) in cases {
        let mut a = allocator(controller_test_pools());
        let k = ServiceKey::new(ns, "s");
        let got = a.allocate(&k, &svc_in(ns, svc_labels), V4, &[], None, "");
        assert_eq!(got, Ok(vec![ip(want_ip)]), "{desc}");
        assert_eq!(a.pool(&k), Some(want_pool), "{desc}");
    }
}

#[test]
fn pinned_pools_come_first_then_general_pools_when_they_are_full() {
    let mut a = allocator(controller_test_pools());
    let svc = svc_in("test-ns1", &[("team", "metallb")]);
    // pool12 (5), pool10 (8), pool11 (8), pool8 (9), pool6 (10), pool7 (11), then pool1.
    let want = [
        ("25.26.27.0", "pool12"),
        ("25.26.27.1", "pool12"),
        ("19.20.21.0", "pool10"),
        ("19.20.21.1", "pool10"),
        ("22.23.24.0", "pool11"),
        ("22.23.24.1", "pool11"),
        ("13.14.15.0", "pool8"),
        ("13.14.15.1", "pool8"),
        ("7.8.9.0", "pool6"),
        ("7.8.9.1", "pool6"),
        ("10.11.12.0", "pool7"),
        ("10.11.12.1", "pool7"),
        ("1.2.3.0", "pool1"),
        ("1.2.3.1", "pool1"),
    ];
    for (i, (want_ip, want_pool)) in want.iter().enumerate() {
        let k = key(&format!("s{i}"));
        assert_eq!(
            a.allocate(&k, &svc, V4, &[], None, ""),
            Ok(vec![ip(want_ip)]),
            "#{i}"
        );
        assert_eq!(a.pool(&k), Some(*want_pool), "#{i}");
    }
    // pool2 is autoAssign: false, pool3 has no IPv4: nothing left.
    assert_eq!(
        a.allocate(&key("last"), &svc, V4, &[], None, ""),
        Err(AllocError::NoAvailableIps)
    );
}

#[test]
fn auto_assign_false_pools_serve_only_by_name_or_address() {
    let mut a = allocator(vec![
        manual(pool("manual", &["10.0.0.0/30"])),
        allocate_to(
            manual(pool("manual-pinned", &["10.0.1.0/30"])),
            sa(1, &["ns"], None),
        ),
    ]);
    let s = svc_in("ns", &[]);
    assert_eq!(
        a.allocate(&key("a"), &s, V4, &[], None, ""),
        Err(AllocError::NoAvailableIps)
    );
    assert_eq!(
        a.allocate_from_pool(&key("a"), &s, V4, "manual", &[], None, ""),
        Ok(vec![ip("10.0.0.0")])
    );
    assert_eq!(
        a.assign(&key("b"), &s, &[ip("10.0.1.2")], &[], None, ""),
        Ok(())
    );
    assert_eq!(a.pool(&key("b")), Some("manual-pinned"));
}

#[test]
fn equal_priorities_go_by_name_and_unset_or_negative_priorities_go_last() {
    let everyone = || sa(0, &[], None);
    let with_priority = |p| ServiceAllocation {
        priority: p,
        ..everyone()
    };
    let mut a = allocator(vec![
        allocate_to(pool("a-unset", &["10.0.0.0/32"]), everyone()),
        allocate_to(pool("b-negative", &["10.0.1.0/32"]), with_priority(-3)),
        allocate_to(pool("c-two", &["10.0.2.0/32"]), with_priority(2)),
        allocate_to(pool("d-one", &["10.0.3.0/32"]), with_priority(1)),
        allocate_to(pool("e-two", &["10.0.4.0/32"]), with_priority(2)),
        pool("f-general", &["10.0.5.0/32"]),
        pool("0-general", &["10.0.6.0/32"]),
    ]);
    let order = [
        "d-one",
        "c-two",
        "e-two",
        "a-unset",
        "b-negative",
        "0-general",
        "f-general",
    ];
    for (i, want) in order.iter().enumerate() {
        let k = key(&format!("s{i}"));
        a.allocate(&k, &svc(), V4, &[], None, "").unwrap();
        assert_eq!(a.pool(&k), Some(*want), "#{i}");
    }
}

#[test]
fn an_empty_service_allocation_pins_the_pool_to_every_service() {
    // MetalLB turns `serviceAllocation: {priority: N}` into "every Service", so the pool is
    // tried before the general pools, for everyone.
    let mut a = allocator(vec![
        pool("a-general", &["10.0.0.0/30"]),
        allocate_to(pool("z-everyone", &["10.0.9.0/30"]), sa(0, &[], None)),
    ]);
    let got = a.allocate(&key("s"), &svc_in("any", &[("x", "y")]), V4, &[], None, "");
    assert_eq!(got, Ok(vec![ip("10.0.9.0")]));
}

#[test]
fn namespace_selectors_select_by_the_namespace_labels() {
    let mut by_selector = sa(1, &[], None);
    by_selector.namespace_selectors = vec![selector(&[("tier", "prod")])];
    let mut a = allocator(vec![
        pool("general", &["10.0.0.0/30"]),
        allocate_to(pool("prod", &["10.0.9.0/30"]), by_selector),
    ]);
    let prod = ServiceInfo {
        namespace_labels: labels(&[("tier", "prod")]),
        ..svc_in("shop", &[])
    };
    let dev = ServiceInfo {
        namespace_labels: labels(&[("tier", "dev")]),
        ..svc_in("lab", &[])
    };
    assert_eq!(
        a.allocate(&key("p"), &prod, V4, &[], None, ""),
        Ok(vec![ip("10.0.9.0")])
    );
    assert_eq!(
        a.allocate(&key("d"), &dev, V4, &[], None, ""),
        Ok(vec![ip("10.0.0.0")])
    );
    // Asking for the pool by name or address does not get around the selector.
    let refused = Err(AllocError::PoolNotCompatible {
        pool: "prod".into(),
    });
    assert_eq!(
        a.allocate_from_pool(&key("d2"), &dev, V4, "prod", &[], None, "")
            .map(|_| ()),
        refused
    );
    assert_eq!(
        a.assign(&key("d3"), &dev, &[ip("10.0.9.3")], &[], None, ""),
        refused
    );
}

// ---------------------------------------------------------------------------------------
// Deterministic address choice

#[test]
fn lowest_free_address_first_in_the_listed_order_of_cidrs() {
    let mut a = allocator(vec![pool(
        "p",
        &["10.0.0.8/31", "10.0.0.0/31", "1000::8/127", "1000::/127"],
    )]);
    let mut got = vec![];
    for i in 0..4 {
        got.extend(auto(&mut a, &format!("s{i}"), V4).unwrap());
    }
    assert_eq!(got, ips(&["10.0.0.8", "10.0.0.9", "10.0.0.0", "10.0.0.1"]));
    a.unassign(&key("s1"));
    a.unassign(&key("s0"));
    assert_eq!(auto(&mut a, "again", V4), Ok(ips(&["10.0.0.8"])));
    assert_eq!(auto(&mut a, "v6", V6), Ok(ips(&["1000::8"])));
}

#[test]
fn avoid_buggy_ips_skips_dot_0_and_dot_255_when_allocating() {
    let mut a = allocator(vec![avoid_buggy(pool(
        "p",
        &["10.0.0.254/31", "10.0.1.0/30"],
    ))]);
    let mut got = vec![];
    for i in 0..4 {
        got.extend(auto(&mut a, &format!("s{i}"), V4).unwrap());
    }
    assert_eq!(
        got,
        ips(&["10.0.0.254", "10.0.1.1", "10.0.1.2", "10.0.1.3"])
    );
    assert_eq!(auto(&mut a, "s4", V4), Err(AllocError::NoAvailableIps));
}

#[test]
fn a_sharing_service_joins_the_lowest_compatible_address() {
    // MetalLB's walk stops at the first address that passes the sharing check, which may be
    // an address already shared under the same key, before any free one.
    let mut a = allocator(vec![pool("p", &["10.0.0.0/29"])]);
    let web = ports(&["TCP/80"]);
    let dns = ports(&["UDP/53"]);
    a.allocate(&key("plain"), &svc(), V4, &web, None, "")
        .unwrap(); // .0
    a.allocate(&key("a"), &svc(), V4, &web, Some("k"), "")
        .unwrap(); // .1
    a.allocate(&key("other-key"), &svc(), V4, &web, Some("j"), "")
        .unwrap(); // .2
    let got = a.allocate(&key("b"), &svc(), V4, &dns, Some("k"), "");
    assert_eq!(got, Ok(ips(&["10.0.0.1"])), "joins a's address");
    let got = a.allocate(&key("c"), &svc(), V4, &web, Some("k"), "");
    assert_eq!(
        got,
        Ok(ips(&["10.0.0.3"])),
        "port 80 is taken on .1: the next free one"
    );
    let got = a.allocate(&key("d"), &svc(), V4, &dns, Some("k"), "local");
    assert_eq!(
        got,
        Ok(ips(&["10.0.0.4"])),
        "another backend key cannot share"
    );
    assert_eq!(
        BTreeSet::from_iter(a.usage.holders(ip("10.0.0.1"))),
        BTreeSet::from([key("a"), key("b")])
    );
    assert_eq!(a.pool_stats("p").in_use, 5);
}

// ---------------------------------------------------------------------------------------
// Dual stack

#[test]
fn dual_stack_takes_both_families_from_one_pool() {
    let mut a = allocator(vec![
        pool("a-v4", &["10.0.0.0/30"]),
        pool("b-v6", &["1000::/126"]),
        pool("c-both", &["10.0.9.0/30", "1000::9:0/126"]),
    ]);
    let got = a.allocate(&key("s"), &svc_require_dual(), DualStack, &[], None, "");
    assert_eq!(got, Ok(ips(&["10.0.9.0", "1000::9:0"])));
    assert_eq!(a.pool(&key("s")), Some("c-both"));
}

#[test]
fn prefer_dual_stack_falls_back_to_the_primary_family_then_the_other() {
    let pools = || {
        vec![
            pool("a-v6", &["1000::/126"]),
            pool("b-v4", &["10.0.0.0/30"]),
        ]
    };
    let mut a = allocator(pools());
    let got = a.allocate(&key("s"), &svc_prefer_dual(), DualStack, &[], None, "");
    assert_eq!(got, Ok(ips(&["10.0.0.0"])), "IPv4 is primary by default");
    let v6_first = ServiceInfo {
        primary_family: IpFamily::V6,
        ..svc_prefer_dual()
    };
    let got = a.allocate(&key("t"), &v6_first, DualStack, &[], None, "");
    assert_eq!(got, Ok(ips(&["1000::"])), "ipFamilies: [IPv6, IPv4]");
    let mut a = allocator(vec![pool("only-v6", &["1000::/126"])]);
    let got = a.allocate(&key("u"), &svc_prefer_dual(), DualStack, &[], None, "");
    assert_eq!(
        got,
        Ok(ips(&["1000::"])),
        "the secondary family when nothing else"
    );
    // RequireDualStack does not settle.
    let mut a = allocator(pools());
    let got = a.allocate(&key("v"), &svc_require_dual(), DualStack, &[], None, "");
    assert_eq!(got, Err(AllocError::NoAvailableIps));
}

#[test]
fn prefer_dual_stack_gets_an_additional_family_from_its_pool() {
    let mut a = allocator(vec![
        pool("p", &["10.0.0.0/30", "1000::/126"]),
        pool("q", &["1001::/126"]),
    ]);
    let s = svc_prefer_dual();
    a.assign(&key("s"), &s, &[ip("10.0.0.1")], &[], None, "")
        .unwrap();
    let added = a.allocate_additional_family(&key("s"), &s, ip("10.0.0.1"), "p", &[], None, "");
    assert_eq!(added, Ok(ip("1000::")));
    assert_eq!(a.ips(&key("s")), Some(&ips(&["10.0.0.1", "1000::"])[..]));
    assert_eq!(a.pool_stats("p").in_use, 2);
    // A pool without the other family has nothing to add.
    let mut b = allocator(vec![pool("p", &["10.0.0.0/30"])]);
    b.assign(&key("s"), &s, &[ip("10.0.0.1")], &[], None, "")
        .unwrap();
    let added = b.allocate_additional_family(&key("s"), &s, ip("10.0.0.1"), "p", &[], None, "");
    assert_eq!(
        added.map_err(|e| e.to_string()),
        Err("no available IPs in pool p for ipv6 IPFamily".to_string())
    );
    assert_eq!(
        b.ips(&key("s")),
        Some(&ips(&["10.0.0.1"])[..]),
        "nothing changed"
    );
}

// ---------------------------------------------------------------------------------------
// Errors, with MetalLB's texts

#[test]
fn errors_carry_metallb_texts() {
    let mut a = allocator(vec![
        avoid_buggy(pool("p", &["10.0.0.0/24", "1000::/120"])),
        pool("other", &["10.0.1.0/30"]),
        allocate_to(pool("ns-only", &["10.0.2.0/30"]), sa(0, &["team-a"], None)),
        pool("v4-only", &["10.0.3.0/32"]),
    ]);
    let web = ports(&["TCP/80"]);
    a.assign(&key("ns/a"), &svc(), &[ip("10.0.0.1")], &web, Some("k"), "")
        .unwrap();
    a.assign(
        &key("ns/b"),
        &svc(),
        &[ip("10.0.0.1")],
        &ports(&["TCP/443"]),
        Some("k"),
        "",
    )
    .unwrap();
    a.assign(&key("ns/full"), &svc(), &[ip("10.0.3.0")], &[], None, "")
        .unwrap();
    let mut err = |k: &str, addrs: &[&str], p: &[Port], share: Option<&str>| {
        a.assign(&key(k), &svc(), &ips(addrs), p, share, "")
            .unwrap_err()
            .to_string()
    };
    let cases = [
        (
            err("ns/c", &["192.0.2.1"], &[], None),
            r#"["192.0.2.1"] is not allowed in config"#,
        ),
        (
            err("ns/c", &["10.0.0.0"], &[], None),
            r#"["10.0.0.0"] is not allowed in config"#,
        ),
        (
            err("ns/c", &["10.0.0.2", "10.0.1.1"], &[], None),
            r#"["10.0.0.2" "10.0.1.1"] is not allowed in config"#,
        ),
        (err("ns/c", &[], &[], None), "[] is not allowed in config"),
        (
            err("ns/c", &["10.0.2.1"], &[], None),
            "pool ns-only not compatible for ip assignment",
        ),
        (
            err("ns/c", &["10.0.0.2", "10.0.0.3", "1000::1"], &[], None),
            r#"more than two addresses ["10.0.0.2" "10.0.0.3" "1000::1"]"#,
        ),
        (
            err("ns/c", &["10.0.0.2", "10.0.0.3"], &[], None),
            r#""10.0.0.2" "10.0.0.3" has the same family"#,
        ),
        (
            err("ns/c", &["10.0.0.1"], &[], None),
            r#"can't change sharing key for "ns/c", address also in use by ns/a,ns/b"#,
        ),
        (
            err("ns/a", &["10.0.0.1"], &web, Some("other")),
            r#"can't change sharing key for "ns/a", address also in use by ns/b"#,
        ),
        (
            err("ns/c", &["10.0.0.1"], &web, Some("k")),
            r#"port TCP/80 is already in use on "10.0.0.1""#,
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }

    let s = svc();
    let from_pool = |a: &mut Allocator, k: &str, family, pool: &str| {
        a.allocate_from_pool(&key(k), &s, family, pool, &[], None, "")
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        from_pool(&mut a, "ns/c", V4, "nope"),
        r#"unknown pool "nope""#
    );
    assert_eq!(
        from_pool(&mut a, "ns/c", V4, "v4-only"),
        "no available IPs in pool v4-only"
    );
    assert_eq!(
        from_pool(&mut a, "ns/c", V6, "other"),
        "no available IPs in pool other for ipv6 IPFamily"
    );
    assert_eq!(
        from_pool(&mut a, "ns/c", DualStack, "p"),
        "no available IPs in pool p for dual IPFamily",
        "a single-stack policy with a dual-stack family"
    );
    assert_eq!(
        from_pool(&mut a, "ns/full", V6, "v4-only"),
        "IP for wrong family assigned alloc ipv4 service family ipv6"
    );
    assert_eq!(
        a.allocate(&key("ns/c"), &s, V6, &[], None, "").map(|_| ()),
        Ok(()),
        "p still has IPv6"
    );
    a.unassign(&key("ns/c"));
    let mut full = allocator(vec![pool("tiny", &["10.0.0.0/32"])]);
    full.allocate(&key("a"), &s, V4, &[], None, "").unwrap();
    assert_eq!(
        full.allocate(&key("b"), &s, V4, &[], None, "")
            .unwrap_err()
            .to_string(),
        "no available IPs"
    );
}

#[test]
fn a_failed_assign_keeps_the_previous_allocation() {
    let mut a = allocator(vec![pool("p", &["10.0.0.0/30"])]);
    a.assign(&key("a"), &svc(), &[ip("10.0.0.1")], &[], None, "")
        .unwrap();
    a.assign(&key("b"), &svc(), &[ip("10.0.0.2")], &[], None, "")
        .unwrap();
    assert!(
        a.assign(&key("a"), &svc(), &[ip("10.0.0.2")], &[], None, "")
            .is_err()
    );
    assert_eq!(assigned(&a, "a"), ["10.0.0.1"]);
    // Moving to a free address releases the old one.
    a.assign(&key("a"), &svc(), &[ip("10.0.0.3")], &[], None, "")
        .unwrap();
    assert!(a.usage.holders(ip("10.0.0.1")).is_empty());
    assert_eq!(a.pool_stats("p").in_use, 2);
    assert_eq!(auto(&mut a, "c", V4), Ok(ips(&["10.0.0.0"])));
    assert_eq!(auto(&mut a, "d", V4), Ok(ips(&["10.0.0.1"])));
}

#[test]
fn ipv4_mapped_ipv6_addresses_are_ipv4() {
    let mut a = allocator(vec![pool("p", &["10.0.0.0/30"])]);
    a.assign(&key("a"), &svc(), &[ip("::ffff:10.0.0.1")], &[], None, "")
        .unwrap();
    assert_eq!(assigned(&a, "a"), ["10.0.0.1"]);
    assert_eq!(a.pool_for_ips(&[ip("::ffff:10.0.0.2")]), Some("p"));
}

#[test]
fn queries_report_the_allocation() {
    let mut a = allocator(vec![pool("p", &["10.0.0.0/30"])]);
    let k = key("ns/a");
    assert_eq!(
        (a.pool(&k), a.ips(&k), a.allocation_key(&k)),
        (None, None, None)
    );
    a.allocate(&k, &svc(), V4, &ports(&["TCP/80"]), Some("k"), "app=web")
        .unwrap();
    assert_eq!(a.pool(&k), Some("p"));
    assert_eq!(a.ips(&k), Some(&ips(&["10.0.0.0"])[..]));
    assert_eq!(
        a.allocation_key(&k),
        Some(&AllocationKey {
            sharing: "k".into(),
            backend: "app=web".into()
        })
    );
    assert_eq!(a.pool_for_ips(&ips(&["10.0.0.3"])), Some("p"));
    assert_eq!(a.pool_for_ips(&ips(&["10.0.1.0"])), None);
    assert_eq!(a.pool_for_ips(&[]), None);
    // An allocation with an empty sharing key does not share.
    a.allocate(&key("ns/b"), &svc(), V4, &[], Some(""), "")
        .unwrap();
    assert!(
        a.assign(&key("ns/c"), &svc(), &ips(&["10.0.0.1"]), &[], Some(""), "")
            .is_err()
    );
    assert!(a.unassign(&k));
    assert!(!a.unassign(&k));
}

#[test]
fn service_keys_print_as_metallb_keys() {
    assert_eq!(
        ServiceKey::new("default", "nginx").as_str(),
        "default/nginx"
    );
    assert_eq!(ServiceKey::new("", "nginx").to_string(), "nginx");
}

/// A /16 with `avoidBuggyIPs` hands out exactly its 65,024 usable addresses, each once, in
/// order — the size MetalLB's linear walk makes quadratic.
#[test]
fn a_slash_16_fills_up_exactly() {
    let mut a = allocator(vec![avoid_buggy(pool("big", &["10.1.0.0/16"]))]);
    let s = svc();
    let mut last: Option<IpAddr> = None;
    let mut n = 0u32;
    while let Ok(got) = a.allocate(&key(&format!("s{n}")), &s, V4, &[], None, "") {
        let [addr] = got[..] else {
            panic!("one address expected, got {got:?}")
        };
        assert!(last.is_none_or(|l| l < addr), "{addr} after {last:?}");
        assert!(!pool::is_buggy(addr), "{addr}");
        last = Some(addr);
        n += 1;
        assert!(n <= 65_024, "more addresses than the pool holds");
    }
    assert_eq!(n, 65_024);
    let stats = a.pool_stats("big");
    assert_eq!(
        (stats.total_v4, stats.in_use_v4, stats.available_v4),
        (65_024, 65_024, 0)
    );
    // Freeing one in the middle makes exactly it the next one handed out.
    a.unassign(&key("s30000"));
    let got = a.allocate(&key("again"), &s, V4, &[], None, "").unwrap();
    assert_eq!(got, ips(&["10.1.118.29"]));
}

#[test]
fn huge_ipv6_pools_allocate_without_walking() {
    let mut a = allocator(vec![pool("v6", &["fd00::/48"])]);
    for i in 0..1000u32 {
        auto(&mut a, &format!("s{i}"), V6).unwrap();
    }
    assert_eq!(auto(&mut a, "next", V6), Ok(ips(&["fd00::3e8"])));
    let stats = a.pool_stats("v6");
    assert_eq!(
        (stats.total_v6, stats.in_use_v6, stats.available_v6),
        (i64::MAX, 1001, i64::MAX - 1001)
    );
}

// ---------------------------------------------------------------------------------------
// Properties

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// An operation on the allocator, over a small world: three pools (one of them avoiding
    /// buggy addresses, one pinned to a namespace), six Services, two sharing keys.
    #[derive(Debug, Clone)]
    enum Op {
        Assign {
            svc: usize,
            addrs: Vec<usize>,
            share: usize,
            port: usize,
            backend: usize,
        },
        Allocate {
            svc: usize,
            family: usize,
            share: usize,
            port: usize,
            backend: usize,
        },
        FromPool {
            svc: usize,
            family: usize,
            pool: usize,
            share: usize,
            port: usize,
        },
        Unassign {
            svc: usize,
        },
        SetPools {
            variant: usize,
        },
    }

    const ADDRS: &[&str] = &[
        "10.0.0.0",
        "10.0.0.1",
        "10.0.0.2",
        "10.0.0.3",
        "10.0.0.255",
        "10.0.1.0",
        "10.0.1.1",
        "10.0.2.1",
        "10.0.2.2",
        "1000::",
        "1000::1",
        "1000::2",
        "1000::3",
        "1001::1",
    ];
    const POOL_NAMES: &[&str] = &["a", "b", "pinned"];
    const SHARES: &[Option<&str>] = &[None, Some("k"), Some("j")];
    const PORTS: &[&str] = &["TCP/80", "TCP/443", "UDP/53"];
    const BACKENDS: &[&str] = &["", "app=web"];
    const FAMILIES: &[ServiceFamily] = &[V4, V6, DualStack];

    fn pool_variant(variant: usize) -> BTreeMap<String, Pool> {
        let a = match variant % 3 {
            0 => pool("a", &["10.0.0.0/30", "1000::/126"]),
            1 => pool("a", &["10.0.0.2/31", "1000::/127"]),
            _ => avoid_buggy(pool("a", &["10.0.0.0/30", "1000::2/127"])),
        };
        pools(vec![
            a,
            avoid_buggy(pool("b", &["10.0.0.252/30", "10.0.1.0/30", "1001::/127"])),
            allocate_to(pool("pinned", &["10.0.2.0/30"]), sa(3, &["ns1"], None)),
        ])
    }

    fn service(i: usize) -> (ServiceKey, ServiceInfo) {
        let ns = if i.is_multiple_of(2) { "ns1" } else { "ns2" };
        let policy = [
            FamilyPolicy::SingleStack,
            FamilyPolicy::PreferDualStack,
            FamilyPolicy::RequireDualStack,
        ][i % 3];
        (
            ServiceKey::new(ns, &format!("s{i}")),
            ServiceInfo {
                family_policy: policy,
                ..svc_in(ns, &[])
            },
        )
    }

    fn op() -> impl Strategy<Value = Op> {
        let idx = |n: usize| 0..n;
        prop_oneof![
            3 => (idx(6), proptest::collection::vec(idx(ADDRS.len()), 1..3), idx(3), idx(3), idx(2))
                .prop_map(|(svc, addrs, share, port, backend)| Op::Assign { svc, addrs, share, port, backend }),
            4 => (idx(6), idx(3), idx(3), idx(3), idx(2))
                .prop_map(|(svc, family, share, port, backend)| Op::Allocate { svc, family, share, port, backend }),
            2 => (idx(6), idx(3), idx(3), idx(3), idx(3))
                .prop_map(|(svc, family, pool, share, port)| Op::FromPool { svc, family, pool, share, port }),
            2 => idx(6).prop_map(|svc| Op::Unassign { svc }),
            1 => idx(3).prop_map(|variant| Op::SetPools { variant }),
        ]
    }

    fn apply(a: &mut Allocator, op: &Op) {
        match *op {
            Op::Assign {
                svc,
                ref addrs,
                share,
                port,
                backend,
            } => {
                let (k, s) = service(svc);
                let addrs: Vec<IpAddr> = addrs.iter().map(|&i| ip(ADDRS[i])).collect();
                let _ = a.assign(
                    &k,
                    &s,
                    &addrs,
                    &ports(&[PORTS[port]]),
                    SHARES[share],
                    BACKENDS[backend],
                );
            }
            Op::Allocate {
                svc,
                family,
                share,
                port,
                backend,
            } => {
                let (k, s) = service(svc);
                let _ = a.allocate(
                    &k,
                    &s,
                    FAMILIES[family],
                    &ports(&[PORTS[port]]),
                    SHARES[share],
                    BACKENDS[backend],
                );
            }
            Op::FromPool {
                svc,
                family,
                pool,
                share,
                port,
            } => {
                let (k, s) = service(svc);
                let _ = a.allocate_from_pool(
                    &k,
                    &s,
                    FAMILIES[family],
                    POOL_NAMES[pool],
                    &ports(&[PORTS[port]]),
                    SHARES[share],
                    "",
                );
            }
            Op::Unassign { svc } => {
                a.unassign(&service(svc).0);
            }
            Op::SetPools { variant } => {
                a.set_pools(&pool_variant(variant));
            }
        }
    }

    /// Every invariant the allocator promises, checked from its allocations alone.
    fn check_invariants(a: &Allocator) -> Result<(), TestCaseError> {
        let mut holders: BTreeMap<IpAddr, Vec<(&ServiceKey, &Allocation)>> = BTreeMap::new();
        for (k, alloc) in &a.allocated {
            prop_assert!(!alloc.ips.is_empty() && alloc.ips.len() <= 2);
            prop_assert!(
                ServiceFamily::for_addresses(&alloc.ips).is_some(),
                "{:?}",
                alloc.ips
            );
            let state = a.pools.get(&alloc.pool);
            prop_assert!(state.is_some(), "{} is in a pool that does not exist", k);
            for addr in &alloc.ips {
                prop_assert!(
                    state.is_some_and(|p| p.may_hand_out(*addr)),
                    "{} of {} not in {}",
                    addr,
                    k,
                    alloc.pool
                );
                holders.entry(*addr).or_default().push((k, alloc));
            }
        }
        // No address is held by two Services unless they share by the rules.
        for (addr, hs) in &holders {
            if hs.len() > 1 {
                let mut seen_ports = BTreeSet::new();
                for (k, alloc) in hs {
                    prop_assert!(
                        !alloc.key.sharing.is_empty(),
                        "{} holds shared {} without a key",
                        k,
                        addr
                    );
                    prop_assert_eq!(
                        &alloc.key,
                        &hs[0].1.key,
                        "{} shared with different keys",
                        addr
                    );
                    for p in &alloc.ports {
                        prop_assert!(seen_ports.insert(p.clone()), "port {} twice on {}", p, addr);
                    }
                }
            }
            let mut want: Vec<ServiceKey> = hs.iter().map(|(k, _)| (*k).clone()).collect();
            want.sort();
            prop_assert_eq!(a.usage.holders(*addr), want);
        }
        prop_assert_eq!(
            a.usage.held().count(),
            holders.len(),
            "the usage index holds stale addresses"
        );
        prop_assert!(
            a.usage.sharing_index_is_exact(),
            "the sharing-key index is stale"
        );
        // Counters: distinct addresses per family held by each pool's allocations.
        for name in a.pools.keys() {
            let mine: BTreeSet<IpAddr> = a
                .allocated
                .values()
                .filter(|al| &al.pool == name)
                .flat_map(|al| al.ips.iter().copied())
                .collect();
            let v4 = mine.iter().filter(|x| x.is_ipv4()).count() as i64;
            let v6 = mine.len() as i64 - v4;
            let s = a.pool_stats(name);
            prop_assert_eq!(
                (s.in_use_v4, s.in_use_v6, s.in_use),
                (v4, v6, v4 + v6),
                "{}",
                name
            );
            prop_assert_eq!(s.available_v4, s.total_v4 - v4);
            prop_assert!(s.available_v4 >= 0 && s.available_v6 >= 0);
        }
        Ok(())
    }

    /// MetalLB's `getIPFromCIDR`, literally: walk the CIDR from its first address and stop at
    /// the first one the pool may hand out and the sharing check lets through.
    fn walk(a: &Allocator, pool: &str, who: &Seeker<'_>) -> Vec<Option<IpAddr>> {
        let state = &a.pools[pool];
        state
            .cidrs()
            .map(|net| {
                net.hosts()
                    .chain([net.network(), net.broadcast()])
                    .collect::<BTreeSet<IpAddr>>()
                    .into_iter()
                    .find(|x| {
                        state.may_hand_out_from(&net, *x)
                            && a.usage.check(who.key, *x, who.ports, &who.akey).is_ok()
                    })
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        #[test]
        fn invariants_hold_after_any_sequence(ops in proptest::collection::vec(op(), 1..40)) {
            let mut a = Allocator::new();
            a.set_pools(&pool_variant(0));
            for op in &ops {
                apply(&mut a, op);
                check_invariants(&a)?;
            }
        }

        /// The indexed search finds, in every CIDR, the address MetalLB's walk would.
        #[test]
        fn indexed_search_matches_the_linear_walk(
            ops in proptest::collection::vec(op(), 0..40),
            who in 0usize..7,
            share in 0usize..3,
            port in 0usize..3,
            backend in 0usize..2,
        ) {
            let mut a = Allocator::new();
            a.set_pools(&pool_variant(0));
            for op in &ops {
                apply(&mut a, op);
            }
            let k = if who == 6 { key("newcomer") } else { service(who).0 };
            let p = ports(&[PORTS[port]]);
            let who = Seeker::new(&k, &p, SHARES[share], BACKENDS[backend]);
            for name in a.pools.keys() {
                let state = &a.pools[name];
                let fast: Vec<Option<IpAddr>> = state
                    .cidrs()
                    .enumerate()
                    .map(|(i, net)| a.first_usable(state, i, &net, &who))
                    .collect();
                prop_assert_eq!(fast, walk(&a, name, &who), "pool {}", name);
            }
        }
    }
}
