//! What the speaker needs to know about its own Node: its labels (for the node selectors of
//! peers and advertisements), its addresses (the default BGP identifier, an IPv6 next hop) and
//! the two states in which MetalLB stops announcing from it.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use k8s_openapi::api::core::v1::Node;

/// The label that takes a node out of external load balancers (Kubernetes'
/// `LabelNodeExcludeBalancers`); MetalLB stops announcing from such a node unless run with
/// `--ignore-exclude-lb`.
pub const EXCLUDE_FROM_LB_LABEL: &str = "node.kubernetes.io/exclude-from-external-load-balancers";

/// The speaker's Node as plain data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeState {
    /// The node's name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its addresses, InternalIP ones first, then ExternalIP, each in the order listed.
    pub addresses: Vec<IpAddr>,
    /// The `NetworkUnavailable` condition is True (the node's network is not set up).
    pub network_unavailable: bool,
}

impl NodeState {
    /// A node that has not been seen yet: only its name is known.
    pub fn unknown(name: &str) -> Self {
        NodeState {
            name: name.to_owned(),
            ..NodeState::default()
        }
    }

    /// The state of a Node object.
    pub fn from_node(node: &Node) -> Self {
        let status = node.status.as_ref();
        let listed = status.and_then(|s| s.addresses.as_ref());
        let of_type = |wanted: &'static str| {
            listed
                .into_iter()
                .flatten()
                .filter(move |a| a.type_ == wanted)
                .filter_map(|a| a.address.parse::<IpAddr>().ok())
        };
        let addresses = of_type("InternalIP").chain(of_type("ExternalIP")).collect();
        let network_unavailable = status
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .any(|c| c.type_ == "NetworkUnavailable" && c.status == "True");
        NodeState {
            name: node.metadata.name.clone().unwrap_or_default(),
            labels: node.metadata.labels.clone().unwrap_or_default(),
            addresses,
            network_unavailable,
        }
    }

    /// Whether the node carries the exclude-from-external-load-balancers label (any value,
    /// as MetalLB reads it).
    pub fn excluded_from_load_balancers(&self) -> bool {
        self.labels.contains_key(EXCLUDE_FROM_LB_LABEL)
    }

    /// The node's first IPv4 address.
    pub fn ipv4(&self) -> Option<Ipv4Addr> {
        self.addresses.iter().find_map(|a| match a {
            IpAddr::V4(v4) => Some(*v4),
            IpAddr::V6(_) => None,
        })
    }

    /// The node's first IPv6 address.
    pub fn ipv6(&self) -> Option<std::net::Ipv6Addr> {
        self.addresses.iter().find_map(|a| match a {
            IpAddr::V6(v6) => Some(*v6),
            IpAddr::V4(_) => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(value: serde_json::Value) -> NodeState {
        match serde_json::from_value::<Node>(value) {
            Ok(n) => NodeState::from_node(&n),
            Err(e) => panic!("test node: {e}"),
        }
    }

    #[test]
    fn internal_addresses_come_first_and_conditions_are_read() {
        let n = node(json!({
            "metadata": {"name": "kube-node-1", "labels": {"zone": "a"}},
            "status": {
                "addresses": [
                    {"type": "Hostname", "address": "kube-node-1"},
                    {"type": "ExternalIP", "address": "203.0.113.9"},
                    {"type": "InternalIP", "address": "fd00::3"},
                    {"type": "InternalIP", "address": "10.192.0.3"},
                ],
                "conditions": [{"type": "NetworkUnavailable", "status": "True"}],
            },
        }));
        assert_eq!(n.name, "kube-node-1");
        assert_eq!(
            n.addresses,
            ["fd00::3", "10.192.0.3", "203.0.113.9"].map(|a| a
                .parse::<IpAddr>()
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))
        );
        assert_eq!(n.ipv4(), Some(Ipv4Addr::new(10, 192, 0, 3)));
        assert_eq!(n.ipv6().map(|a| a.to_string()), Some("fd00::3".into()));
        assert!(n.network_unavailable);
        assert!(!n.excluded_from_load_balancers());
    }

    #[test]
    fn the_exclude_label_counts_whatever_its_value() {
        for value in ["", "true", "false"] {
            let n =
                node(json!({"metadata": {"name": "n", "labels": {EXCLUDE_FROM_LB_LABEL: value}}}));
            assert!(n.excluded_from_load_balancers(), "value {value:?}");
            assert!(!n.network_unavailable);
        }
        assert!(!node(json!({"metadata": {"name": "n"}})).excluded_from_load_balancers());
    }
}
