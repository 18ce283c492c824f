//! Graceful restart in the lab, as a rolling upgrade would use it: the tutorial's
//! configuration as custom resources with `enableGracefulRestart: true` on the BGPPeer and
//! the router in its quick start (FRR's default helper mode). While a speaker pod is
//! deleted and the DaemonSet's new one comes up, the router keeps that node's path (stale)
//! and both next hops in its kernel route at every sample; the new speaker refreshes it.
//!
//! Needs root, the control-plane binaries and ferrolb's binaries next to `lab`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use support::tutorial::{
    NODES, NS, kernel_route, paths, router, running_pods, speaker_pods, two_paths,
};
use support::{Lab, eventually};

const LONG: Duration = Duration::from_secs(120);

fn manifest(name: &str) -> String {
    format!("{}/../manifests/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// manifests/example-crs.yaml with graceful restart enabled on its BGPPeer.
fn crs_with_graceful_restart() -> String {
    let crs = std::fs::read_to_string(manifest("example-crs.yaml")).unwrap();
    let with = crs.replace(
        "  holdTime: 90s\n",
        "  holdTime: 90s\n  enableGracefulRestart: true\n",
    );
    assert_ne!(
        with, crs,
        "example-crs.yaml has no BGPPeer holdTime line to extend"
    );
    with
}

/// Both next hops in the router's kernel route.
fn routed_via_both() -> bool {
    let route = kernel_route();
    NODES.iter().all(|n| route.contains(&format!("via {n}")))
}

#[test]
fn a_speaker_pod_restarted_with_graceful_restart_keeps_both_paths_throughout() {
    let mut lab = Lab::new("graceful-restart");
    let out = lab.run(&["up", "--quick-start"], None);
    assert!(
        out.status.success(),
        "lab up failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eventually("three ready pods in metallb-system", LONG, || {
        (running_pods(&lab).len() == 3).then_some(())
    });
    lab.ok(
        &["kubectl", "apply", "-f", "-"],
        Some(&crs_with_graceful_restart()),
    );
    lab.ok(
        &["kubectl", "apply", "-f", &manifest("tutorial-2.yaml")],
        None,
    );
    eventually("two paths to 198.51.100.0/32", LONG, || two_paths(&lab));
    eventually("both next hops in the kernel", LONG, || {
        routed_via_both().then_some(())
    });
    let neighbor = router(&lab, "show ip bgp neighbors 10.192.0.4");
    assert!(neighbor.contains("Graceful Restart"), "{neighbor}");

    let victim = speaker_pods(&lab)
        .into_iter()
        .find(|p| p["spec"]["nodeName"] == "kube-node-2")
        .expect("the speaker of kube-node-2");
    let name = victim["metadata"]["name"].as_str().unwrap().to_owned();
    let mut samples = 0;
    let mut short = Vec::new();
    let mut sample = |lab: &Lab| {
        samples += 1;
        let rows = paths(lab);
        if rows.len() != 2 || !routed_via_both() {
            short.push(format!("{rows:?} / {:?}", kernel_route()));
        }
    };
    let deleted = Instant::now();
    lab.ok(&["kubectl", "delete", "pod", "-n", NS, &name], None);
    eventually("a new speaker on kube-node-2, Running", LONG, || {
        sample(&lab);
        running_pods(&lab)
            .iter()
            .any(|(n, node)| n.starts_with("speaker-") && *n != name && node == "kube-node-2")
            .then_some(())
    });
    eventually("both paths refreshed (not stale)", LONG, || {
        sample(&lab);
        two_paths(&lab)
    });
    eprintln!(
        "restart: {samples} samples over {:.1} s, both paths in every one",
        deleted.elapsed().as_secs_f64()
    );
    assert!(short.is_empty(), "samples without both paths: {short:?}");
    assert!(samples > 3, "only {samples} samples");

    lab.ok(&["down"], None);
    lab.down_done = true;
    assert!(lab::network::leftovers().is_empty());
}
