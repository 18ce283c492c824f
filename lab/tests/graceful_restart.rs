//! Graceful restart in the lab, as a rolling upgrade would use it: the tutorial's
//! configuration as custom resources with `enableGracefulRestart: true` on the BGPPeer and
//! the router in its quick start (FRR's default helper mode). While a speaker pod is
//! deleted and the DaemonSet's new one comes up, the router keeps that node's path (stale)
//! and both next hops in its kernel route at every sample; the new speaker refreshes it.
//!
//! Needs root, the control-plane binaries and ferrolb's binaries next to `lab`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Instant;

use support::tutorial::{
    LONG, kernel_route, paths, restart_speaker, routed_via_both, router, running_pods, two_paths,
};
use support::{Lab, eventually, manifest};

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

    let mut samples = 0;
    let mut short = Vec::new();
    let deleted = Instant::now();
    restart_speaker(&lab, "kube-node-2", |lab| {
        samples += 1;
        let rows = paths(lab);
        if rows.len() != 2 || !routed_via_both() {
            short.push(format!("{rows:?} / {:?}", kernel_route()));
        }
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
