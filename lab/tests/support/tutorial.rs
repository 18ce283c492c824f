//! What the tests that follow the tutorial on `lab up` read off the router and the
//! cluster: sessions, `show ip bgp`'s paths, the router's kernel route, the running pods.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Lab, eventually};

/// How long a step of the tutorial may take before the test fails.
pub const LONG: Duration = Duration::from_secs(120);

/// ferrolb's namespace.
pub const NS: &str = "metallb-system";

/// The speakers' nodes' addresses, the router's neighbors.
pub const NODES: [&str; 2] = ["10.192.0.3", "10.192.0.4"];

/// `lab router -c COMMAND`'s output.
pub fn router(lab: &Lab, command: &str) -> String {
    lab.ok(&["router", "-c", command], None)
}

/// The neighbors of `show ip bgp summary json` that are Established.
pub fn established(lab: &Lab) -> Vec<String> {
    let text = router(lab, "show ip bgp summary json");
    let summary: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let peers = summary["ipv4Unicast"]["peers"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut up: Vec<String> = peers
        .iter()
        .filter(|(_, p)| p["state"] == "Established")
        .map(|(addr, _)| addr.clone())
        .collect();
    up.sort();
    up
}

/// The next hops of 198.51.100.0/32 in `show ip bgp`'s rows, with their status codes
/// (valid `*…` rows, and stale `S…` ones while a peer restarts gracefully).
pub fn paths(lab: &Lab) -> Vec<(String, String)> {
    let table = router(lab, "show ip bgp");
    let mut rows = Vec::new();
    let mut in_prefix = false;
    for line in table.lines() {
        let Some(codes) = line.get(..3) else { continue };
        if !codes.starts_with(['*', 'S']) {
            continue;
        }
        let rest: Vec<&str> = line[3..].split_whitespace().collect();
        match rest.first() {
            Some(&"198.51.100.0/32") => {
                in_prefix = true;
                rows.push((
                    codes.to_owned(),
                    rest.get(1).copied().unwrap_or("").to_owned(),
                ));
            }
            Some(hop) if in_prefix && !hop.contains('/') => {
                rows.push((codes.to_owned(), (*hop).to_owned()));
            }
            _ => in_prefix = false,
        }
    }
    rows.sort_by(|a, b| a.1.cmp(&b.1));
    rows
}

/// Two paths, one best (`*>i`) and one multipath (`*=i`) or valid (`* i`), via both nodes.
pub fn two_paths(lab: &Lab) -> Option<Vec<(String, String)>> {
    let rows = paths(lab);
    let hops: Vec<&str> = rows.iter().map(|(_, h)| h.as_str()).collect();
    let best = rows.iter().filter(|(c, _)| c == "*>i").count();
    let other = rows
        .iter()
        .filter(|(c, _)| c == "*=i" || c == "* i")
        .count();
    (hops == NODES && best == 1 && other == 1).then_some(rows)
}

/// The router's kernel route to 198.51.100.0 (`ip route show`), if any.
pub fn kernel_route() -> String {
    let out = Command::new("ip")
        .args(["-n", "router", "route", "show", "198.51.100.0/32"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The speaker pods of metallb-system.
pub fn speaker_pods(lab: &Lab) -> Vec<Value> {
    lab.json(&["get", "pods", "-n", NS, "-l", "component=speaker"])["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// `(name, node)` of the metallb-system pods that are Running, ready and not being deleted.
pub fn running_pods(lab: &Lab) -> Vec<(String, String)> {
    let list = lab.json(&["get", "pods", "-n", NS]);
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| {
            p["status"]["phase"] == "Running"
                && p["status"]["containerStatuses"][0]["ready"] == true
                && p["metadata"]["deletionTimestamp"].is_null()
        })
        .map(|p| {
            (
                p["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                p["spec"]["nodeName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

/// Both nodes as next hops of the router's kernel route to 198.51.100.0.
pub fn routed_via_both() -> bool {
    let route = kernel_route();
    NODES.iter().all(|n| route.contains(&format!("via {n}")))
}

/// How a speaker pod's restart went, from its `kubectl delete pod`.
pub struct Restart {
    /// Until the DaemonSet's new pod on the node was Running and ready.
    pub running: Duration,
    /// Until `show ip bgp` had both paths again, best and multipath.
    pub back: Duration,
}

/// Deletes the speaker pod of `node` and waits for its successor to run and for both paths
/// to be back ([`two_paths`]), calling `sample` at every poll in between.
pub fn restart_speaker(lab: &Lab, node: &str, mut sample: impl FnMut(&Lab)) -> Restart {
    let victim = speaker_pods(lab)
        .into_iter()
        .find(|p| p["spec"]["nodeName"] == node)
        .unwrap_or_else(|| panic!("no speaker pod on {node}"));
    let name = victim["metadata"]["name"].as_str().unwrap().to_owned();
    let deleted = Instant::now();
    lab.ok(&["kubectl", "delete", "pod", "-n", NS, &name], None);
    eventually(&format!("a new speaker on {node}, Running"), LONG, || {
        sample(lab);
        running_pods(lab)
            .iter()
            .any(|(n, on)| n.starts_with("speaker-") && *n != name && on == node)
            .then_some(())
    });
    let running = deleted.elapsed();
    eventually("two paths after the restart", LONG, || {
        sample(lab);
        two_paths(lab)
    });
    Restart {
        running,
        back: deleted.elapsed(),
    }
}
