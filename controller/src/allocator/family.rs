//! IP families of Services and addresses, and how a pool's free addresses are turned into
//! the addresses a Service gets, per its family and `ipFamilyPolicy` (MetalLB's `ipfamily`
//! package and its `Allocation.selectIPsForFamilyAndPolicy`).

use std::fmt;
use std::net::IpAddr;

use super::error::AllocError;

/// One address family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpFamily {
    /// IPv4.
    #[default]
    V4,
    /// IPv6.
    V6,
}

impl IpFamily {
    /// The family of `ip`.
    pub fn of(ip: IpAddr) -> Self {
        if ip.is_ipv6() {
            IpFamily::V6
        } else {
            IpFamily::V4
        }
    }

    /// The other family.
    pub fn other(self) -> Self {
        match self {
            IpFamily::V4 => IpFamily::V6,
            IpFamily::V6 => IpFamily::V4,
        }
    }
}

/// The family a Service needs addresses of: MetalLB derives it from the Service's
/// `clusterIPs` (one address: its family; one of each: dual stack).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceFamily {
    /// One IPv4 address.
    V4,
    /// One IPv6 address.
    V6,
    /// One address of each family.
    DualStack,
}

impl ServiceFamily {
    /// The family of a set of addresses as MetalLB's `ipfamily.ForAddresses` reads it: one
    /// address gives its family, two of different families give dual stack, anything else
    /// (none, two of one family, more than two) has no family.
    pub fn for_addresses(ips: &[IpAddr]) -> Option<Self> {
        match ips {
            [ip] => Some(IpFamily::of(ip.to_canonical()).into()),
            [a, b] if IpFamily::of(a.to_canonical()) != IpFamily::of(b.to_canonical()) => {
                Some(ServiceFamily::DualStack)
            }
            _ => None,
        }
    }
}

impl From<IpFamily> for ServiceFamily {
    fn from(f: IpFamily) -> Self {
        match f {
            IpFamily::V4 => ServiceFamily::V4,
            IpFamily::V6 => ServiceFamily::V6,
        }
    }
}

impl fmt::Display for ServiceFamily {
    /// MetalLB's names, as they appear in its error texts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServiceFamily::V4 => "ipv4",
            ServiceFamily::V6 => "ipv6",
            ServiceFamily::DualStack => "dual",
        })
    }
}

/// A Service's `spec.ipFamilyPolicy`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum FamilyPolicy {
    /// `SingleStack`, also what an unset policy means.
    #[default]
    SingleStack,
    /// `PreferDualStack`: both families if the pool has them, else one.
    PreferDualStack,
    /// `RequireDualStack`: both families or nothing.
    RequireDualStack,
}

/// The lowest free address of each family one pool could give a Service (MetalLB's
/// `Allocation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Candidates {
    /// The pool.
    pub(super) pool: String,
    /// Its IPv4 candidate.
    pub(super) v4: Option<IpAddr>,
    /// Its IPv6 candidate.
    pub(super) v6: Option<IpAddr>,
}

impl Candidates {
    /// The candidate of `family`.
    pub(super) fn get(&self, family: IpFamily) -> Option<IpAddr> {
        match family {
            IpFamily::V4 => self.v4,
            IpFamily::V6 => self.v6,
        }
    }

    /// The candidate of a single-family Service (none for dual stack).
    pub(super) fn for_service(&self, family: ServiceFamily) -> Option<IpAddr> {
        match family {
            ServiceFamily::V4 => self.v4,
            ServiceFamily::V6 => self.v6,
            ServiceFamily::DualStack => None,
        }
    }

    /// The addresses a Service of `family` and `policy` gets from these candidates: its one
    /// family's address for a single-family Service; for dual stack both (IPv4 first), or
    /// with `PreferDualStack` whichever exists.
    pub(super) fn select(
        &self,
        family: ServiceFamily,
        policy: FamilyPolicy,
    ) -> Result<Vec<IpAddr>, AllocError> {
        let picked = match family {
            ServiceFamily::V4 | ServiceFamily::V6 => self.for_service(family).map(|ip| vec![ip]),
            ServiceFamily::DualStack => match (policy, self.v4, self.v6) {
                (FamilyPolicy::SingleStack, _, _) => None,
                (_, Some(v4), Some(v6)) => Some(vec![v4, v6]),
                (FamilyPolicy::RequireDualStack, _, _) => None,
                (FamilyPolicy::PreferDualStack, v4, v6) => v4.or(v6).map(|ip| vec![ip]),
            },
        };
        picked.ok_or_else(|| AllocError::NoAddressOfFamily {
            pool: self.pool.clone(),
            family,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ips(s: &[&str]) -> Vec<IpAddr> {
        s.iter().map(|a| a.parse().unwrap()).collect()
    }

    /// MetalLB's `TestIPFamilyForAddresses` (the cases that parse: ours take parsed
    /// addresses), plus an IPv4-mapped IPv6 address, which Go reads as IPv4.
    #[test]
    fn family_of_addresses() {
        let cases: &[(&[&str], Option<ServiceFamily>)] = &[
            (&["1.1.1.1"], Some(ServiceFamily::V4)),
            (&["100::1"], Some(ServiceFamily::V6)),
            (&["1.2.3.4", "100::1"], Some(ServiceFamily::DualStack)),
            (&["1.2.3.4", "5.6.7.8"], None),
            (&["1.1.1.1", "100::1", "2.2.2.2"], None),
            (&[], None),
            (&["::ffff:1.2.3.4"], Some(ServiceFamily::V4)),
        ];
        for &(addrs, want) in cases {
            assert_eq!(ServiceFamily::for_addresses(&ips(addrs)), want, "{addrs:?}");
        }
    }

    #[test]
    fn selection_by_family_and_policy() {
        use FamilyPolicy::*;
        use ServiceFamily::*;
        let v4 = Some("1.2.3.4".parse().unwrap());
        let v6 = Some("1000::1".parse().unwrap());
        let c = |v4, v6| Candidates {
            pool: "p".into(),
            v4,
            v6,
        };
        let cases = [
            (c(v4, v6), V4, SingleStack, Some(vec![v4])),
            (c(v4, v6), V6, PreferDualStack, Some(vec![v6])),
            (c(None, v6), V4, SingleStack, None),
            (c(v4, v6), DualStack, RequireDualStack, Some(vec![v4, v6])),
            (c(v4, None), DualStack, RequireDualStack, None),
            (c(v4, v6), DualStack, PreferDualStack, Some(vec![v4, v6])),
            (c(v4, None), DualStack, PreferDualStack, Some(vec![v4])),
            (c(None, v6), DualStack, PreferDualStack, Some(vec![v6])),
            (c(v4, v6), DualStack, SingleStack, None),
        ];
        for (cands, family, policy, want) in cases {
            let got = cands.select(family, policy).ok();
            let want: Option<Vec<IpAddr>> = want.map(|v| v.into_iter().flatten().collect());
            assert_eq!(got, want, "{cands:?} {family} {policy:?}");
        }
        assert_eq!(
            c(None, v6).select(V4, SingleStack).unwrap_err().to_string(),
            "no available IPs in pool p for ipv4 IPFamily"
        );
    }
}
