//! Who holds each address, and MetalLB's rules for when a Service may take an address other
//! Services already hold (`metallb.io/allow-shared-ip`).
//!
//! Two Services share an address when both carry the same non-empty sharing key, have the
//! same backend key (which only differs for `externalTrafficPolicy: Local`, see
//! [`backend_key`]) and use no common port/protocol. A Service that is the only holder of an
//! address may change its keys in place.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use super::ServiceKey;
use super::error::AllocError;

/// One port a Service exposes: it conflicts with the same port and protocol of another
/// Service on a shared address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Port {
    /// The protocol as the Service spells it (`TCP`, `UDP`, `SCTP`).
    pub protocol: String,
    /// The port number.
    pub port: i32,
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.protocol, self.port)
    }
}

/// What Services must agree on to share an address (MetalLB's allocation key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AllocationKey {
    /// The `allow-shared-ip` annotation's value; empty when the Service does not share.
    pub sharing: String,
    /// The Service's backend key, from [`backend_key`].
    pub backend: String,
}

impl AllocationKey {
    /// Whether a Service with key `new` may join the holders of an address whose key is
    /// `self` (MetalLB's `sharingOK`).
    fn admits(&self, new: &AllocationKey) -> bool {
        !self.sharing.is_empty()
            && !new.sharing.is_empty()
            && self.sharing == new.sharing
            && self.backend == new.backend
    }
}

/// The backend key of a Service, as MetalLB's `k8salloc.BackendKey`: with
/// `externalTrafficPolicy: Local` its pod selector printed as Kubernetes prints a label set
/// (`k=v` pairs sorted as strings, joined by commas), so only Services sending traffic to the
/// same pods share an address (a node announces it only if it runs one of them); with
/// `Cluster` the empty string, so any Services may share.
pub fn backend_key(
    external_traffic_policy_local: bool,
    selector: &BTreeMap<String, String>,
) -> String {
    if !external_traffic_policy_local {
        return String::new();
    }
    let mut pairs: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.sort();
    pairs.join(",")
}

/// The holders of one address.
#[derive(Debug, Clone)]
struct Holders {
    /// The key of the latest Service that took the address (all holders agree on it, except
    /// a lone holder that changed it in place).
    key: AllocationKey,
    /// Ports in use on the address → the Service using each.
    ports: HashMap<Port, ServiceKey>,
    /// The Services holding the address.
    services: BTreeSet<ServiceKey>,
}

/// Every held address with its holders, and the held addresses by sharing key.
#[derive(Debug, Clone, Default)]
pub(super) struct Usage {
    by_ip: HashMap<IpAddr, Holders>,
    /// Held addresses by their (non-empty) sharing key, sorted: where a sharing Service can
    /// go besides a free address.
    by_sharing_key: HashMap<String, BTreeSet<IpAddr>>,
}

impl Usage {
    /// Whether `svc` with `key` and `ports` may hold `ip` (MetalLB's `checkSharing`).
    pub(super) fn check(
        &self,
        svc: &ServiceKey,
        ip: IpAddr,
        ports: &[Port],
        key: &AllocationKey,
    ) -> Result<(), AllocError> {
        let Some(holders) = self.by_ip.get(&ip) else {
            return Ok(());
        };
        if !holders.key.admits(key) {
            let others: Vec<ServiceKey> = holders
                .services
                .iter()
                .filter(|s| *s != svc)
                .cloned()
                .collect();
            if !others.is_empty() {
                return Err(AllocError::SharingKeyMismatch {
                    service: svc.clone(),
                    others,
                });
            }
        }
        for port in ports {
            if holders.ports.get(port).is_some_and(|owner| owner != svc) {
                return Err(AllocError::PortInUse {
                    port: port.clone(),
                    ip,
                });
            }
        }
        Ok(())
    }

    /// Records that `svc` holds `ip` with `ports` and `key`; returns whether `ip` was free.
    /// The caller checked the move with [`Usage::check`].
    pub(super) fn add(
        &mut self,
        svc: &ServiceKey,
        ip: IpAddr,
        ports: &[Port],
        key: &AllocationKey,
    ) -> bool {
        let was_free = !self.by_ip.contains_key(&ip);
        let holders = self.by_ip.entry(ip).or_insert_with(|| Holders {
            key: AllocationKey::default(),
            ports: HashMap::new(),
            services: BTreeSet::new(),
        });
        if holders.key != *key || was_free {
            unindex(&mut self.by_sharing_key, &holders.key.sharing, ip);
            holders.key = key.clone();
            if !key.sharing.is_empty() {
                self.by_sharing_key
                    .entry(key.sharing.clone())
                    .or_default()
                    .insert(ip);
            }
        }
        for port in ports {
            holders.ports.insert(port.clone(), svc.clone());
        }
        holders.services.insert(svc.clone());
        was_free
    }

    /// Records that `svc` no longer holds `ip`; returns whether `ip` is now free.
    pub(super) fn remove(&mut self, svc: &ServiceKey, ip: IpAddr) -> bool {
        let Some(holders) = self.by_ip.get_mut(&ip) else {
            return false;
        };
        holders.ports.retain(|_, owner| owner != svc);
        holders.services.remove(svc);
        if !holders.services.is_empty() {
            return false;
        }
        let sharing = std::mem::take(&mut holders.key.sharing);
        self.by_ip.remove(&ip);
        unindex(&mut self.by_sharing_key, &sharing, ip);
        true
    }

    /// The held addresses of `net` whose sharing key is `sharing`, lowest first.
    pub(super) fn shared_in<'a>(
        &'a self,
        sharing: &str,
        net: &IpNet,
    ) -> impl Iterator<Item = IpAddr> + 'a {
        let range = net.network()..=net.broadcast();
        self.by_sharing_key
            .get(sharing)
            .into_iter()
            .flat_map(move |set| set.range(range.clone()).copied())
    }

    /// Every held address.
    pub(super) fn held(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.by_ip.keys().copied()
    }

    /// The Services holding `ip`.
    #[cfg(test)]
    pub(super) fn holders(&self, ip: IpAddr) -> Vec<ServiceKey> {
        self.by_ip
            .get(&ip)
            .map(|h| h.services.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether the sharing-key index lists exactly the held addresses with a sharing key.
    #[cfg(test)]
    pub(super) fn sharing_index_is_exact(&self) -> bool {
        let mut want: HashMap<String, BTreeSet<IpAddr>> = HashMap::new();
        for (ip, h) in &self.by_ip {
            if !h.key.sharing.is_empty() {
                want.entry(h.key.sharing.clone()).or_default().insert(*ip);
            }
        }
        want == self.by_sharing_key
    }
}

/// Drops `ip` from the index of sharing key `sharing`.
fn unindex(index: &mut HashMap<String, BTreeSet<IpAddr>>, sharing: &str, ip: IpAddr) {
    if let Some(set) = index.get_mut(sharing) {
        set.remove(&ip);
        if set.is_empty() {
            index.remove(sharing);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn backend_key_is_the_selector_only_for_local_traffic() {
        let sel: BTreeMap<String, String> = [("app", "web"), ("a.b", "1"), ("a", "2")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(backend_key(false, &sel), "");
        // Sorted as "k=v" strings, as labels.Set.String() does: "a.b=1" < "a=2" ('.' < '=').
        assert_eq!(backend_key(true, &sel), "a.b=1,a=2,app=web");
        assert_eq!(backend_key(true, &BTreeMap::new()), "");
    }

    #[test]
    fn keys_admit_only_equal_non_empty_sharing_and_backend() {
        let k = |s: &str, b: &str| AllocationKey {
            sharing: s.into(),
            backend: b.into(),
        };
        assert!(k("a", "x").admits(&k("a", "x")));
        assert!(!k("", "").admits(&k("", "")));
        assert!(!k("a", "").admits(&k("", "")));
        assert!(!k("", "").admits(&k("a", "")));
        assert!(!k("a", "").admits(&k("b", "")));
        assert!(!k("a", "x").admits(&k("a", "y")));
    }
}
