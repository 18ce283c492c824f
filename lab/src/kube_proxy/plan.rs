//! Which service addresses a node answers on, by kube-proxy's rules for load-balancer
//! traffic: a Service's `status.loadBalancer.ingress` addresses, on each TCP port, when it
//! has a ready endpoint — on every node for `externalTrafficPolicy: Cluster`, only on nodes
//! with a ready endpoint of their own for `Local`; on the other nodes kube-proxy drops that
//! traffic. Pure.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

/// One address and port this node answers on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Listen {
    /// The service address.
    pub ip: IpAddr,
    /// The service port.
    pub port: u16,
}

/// What the answer on a [`Listen`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// `namespace/name` of the Service.
    pub service: String,
    /// The ready endpoints: `(pod name or address, node)`.
    pub endpoints: Vec<(String, String)>,
    /// Whether only this node's endpoints count (`Local`).
    pub local: bool,
}

/// The ready endpoints of each Service, by `namespace/name`.
pub fn ready_endpoints(slices: &[EndpointSlice]) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for slice in slices {
        let Some(service) = slice
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("kubernetes.io/service-name"))
        else {
            continue;
        };
        let key = format!(
            "{}/{service}",
            slice.metadata.namespace.as_deref().unwrap_or_default()
        );
        for ep in slice.endpoints.iter().flatten() {
            // A missing `ready` means ready, as kube-proxy reads it.
            if ep.conditions.as_ref().and_then(|c| c.ready) == Some(false) {
                continue;
            }
            let name = ep
                .target_ref
                .as_ref()
                .and_then(|t| t.name.clone())
                .or_else(|| ep.addresses.first().cloned())
                .unwrap_or_default();
            let node = ep.node_name.clone().unwrap_or_default();
            out.entry(key.clone()).or_default().push((name, node));
        }
    }
    for list in out.values_mut() {
        list.sort();
        list.dedup();
    }
    out
}

/// What one node does with load-balancer traffic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The addresses and ports it answers on, with what each answer says.
    pub listeners: BTreeMap<Listen, Backend>,
    /// The addresses of `Local` Services whose endpoints are all elsewhere: dropped here.
    pub dropped: BTreeSet<IpAddr>,
}

/// The plan of node `node`.
pub fn plan(services: &[Service], slices: &[EndpointSlice], node: &str) -> Plan {
    let endpoints = ready_endpoints(slices);
    let mut listeners = BTreeMap::new();
    let mut dropped = BTreeSet::new();
    for svc in services {
        let key = format!(
            "{}/{}",
            svc.metadata.namespace.as_deref().unwrap_or_default(),
            svc.metadata.name.as_deref().unwrap_or_default()
        );
        let Some(ready) = endpoints.get(&key).filter(|e| !e.is_empty()) else {
            continue;
        };
        let spec = svc.spec.clone().unwrap_or_default();
        let local = spec.external_traffic_policy.as_deref() == Some("Local");
        let mine: Vec<(String, String)> =
            ready.iter().filter(|(_, n)| n == node).cloned().collect();
        let ips: BTreeSet<IpAddr> = svc
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|i| i.ip.as_ref()?.parse().ok())
            .collect();
        if local && mine.is_empty() {
            dropped.extend(ips);
            continue;
        }
        for port in spec.ports.iter().flatten() {
            if port.protocol.as_deref().is_some_and(|p| p != "TCP") {
                continue;
            }
            let Ok(number) = u16::try_from(port.port) else {
                continue;
            };
            for ip in &ips {
                listeners.insert(
                    Listen {
                        ip: *ip,
                        port: number,
                    },
                    Backend {
                        service: key.clone(),
                        endpoints: if local { mine.clone() } else { ready.clone() },
                        local,
                    },
                );
            }
        }
    }
    // An address another Service is answered on here is not dropped (a shared address).
    dropped.retain(|ip| !listeners.keys().any(|l: &Listen| l.ip == *ip));
    Plan { listeners, dropped }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn service(name: &str, policy: &str, ip: Option<&str>) -> Service {
        let mut v = json!({
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"type": "LoadBalancer", "externalTrafficPolicy": policy,
                     "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]},
        });
        if let Some(ip) = ip {
            v["status"] = json!({"loadBalancer": {"ingress": [{"ip": ip}]}});
        }
        serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
    }

    fn slice(service: &str, endpoints: serde_json::Value) -> EndpointSlice {
        serde_json::from_value(json!({
            "metadata": {"name": format!("{service}-x"), "namespace": "default",
                         "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4",
            "endpoints": endpoints,
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn ep(pod: &str, node: &str, ready: bool) -> serde_json::Value {
        json!({"addresses": ["10.244.1.5"], "nodeName": node, "conditions": {"ready": ready},
               "targetRef": {"kind": "Pod", "name": pod}})
    }

    fn ips(map: &BTreeMap<Listen, Backend>) -> Vec<String> {
        map.keys().map(|l| format!("{}:{}", l.ip, l.port)).collect()
    }

    #[test]
    fn cluster_policy_answers_on_every_node_local_only_where_an_endpoint_is() {
        let services = vec![
            service("nginx", "Cluster", Some("198.51.100.0")),
            service("local", "Local", Some("198.51.100.1")),
        ];
        let slices = vec![
            slice("nginx", json!([ep("nginx-a", "kube-node-2", true)])),
            slice(
                "local",
                json!([
                    ep("local-a", "kube-node-2", true),
                    ep("local-b", "kube-node-1", false)
                ]),
            ),
        ];
        let plan1 = plan(&services, &slices, "kube-node-1");
        let dropped: BTreeSet<IpAddr> =
            ["198.51.100.1".parse().unwrap_or_else(|e| panic!("{e}"))].into();
        assert_eq!(plan1.dropped, dropped, "Local with all endpoints elsewhere");
        let node1 = plan1.listeners;
        assert_eq!(
            ips(&node1),
            ["198.51.100.0:80"],
            "UDP ports and Local without a ready endpoint here are skipped"
        );
        let backend = &node1[&Listen {
            ip: "198.51.100.0".parse().unwrap_or_else(|e| panic!("{e}")),
            port: 80,
        }];
        assert_eq!(
            backend.endpoints,
            [("nginx-a".to_owned(), "kube-node-2".to_owned())]
        );
        assert!(!backend.local);
        let plan2 = plan(&services, &slices, "kube-node-2");
        assert_eq!(
            ips(&plan2.listeners),
            ["198.51.100.0:80", "198.51.100.1:80"]
        );
        assert!(plan2.dropped.is_empty());
    }

    #[test]
    fn no_address_or_no_ready_endpoint_means_nothing_to_answer() {
        let services = vec![
            service("pending", "Cluster", None),
            service("empty", "Cluster", Some("198.51.100.2")),
        ];
        let slices = vec![
            slice("pending", json!([ep("p", "kube-node-1", true)])),
            slice("empty", json!([ep("e", "kube-node-1", false)])),
        ];
        assert_eq!(plan(&services, &slices, "kube-node-1"), Plan::default());
    }

    #[test]
    fn an_endpoint_without_conditions_is_ready() {
        let slices = vec![slice(
            "nginx",
            json!([{"addresses": ["10.244.2.9"], "nodeName": "kube-node-1"}]),
        )];
        let ready = ready_endpoints(&slices);
        assert_eq!(
            ready["default/nginx"],
            [("10.244.2.9".to_owned(), "kube-node-1".to_owned())]
        );
    }
}
