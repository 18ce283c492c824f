//! `lab up` builds the seed's cluster for real (bridge, namespaces, control plane in
//! kube-master, kwok nodes, the lab's agents and router), runs a Deployment behind a
//! LoadBalancer Service, and `lab down` leaves no namespace, link, process or file behind.
//! Needs root, the control-plane binaries and ferrolb's (next to `lab`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use support::{Lab, eventually, pids_in_state};

/// The tutorial's workload: an nginx Deployment behind the LoadBalancer Service `nginx`.
const MANIFEST: &str = include_str!("../../manifests/tutorial-2.yaml");

#[test]
fn lab_up_runs_the_seed_cluster_and_lab_down_leaves_nothing_behind() {
    let mut lab = Lab::new("seed");

    // A control plane that dies at start: the error names the component and shows its log,
    // and `lab up` removes whatever it had made.
    let broken = lab.state_dir.with_extension("broken-bin");
    std::fs::create_dir_all(&broken).unwrap();
    let real = lab::binaries::bin_dir();
    for name in [
        "etcd",
        "kube-controller-manager",
        "kube-scheduler",
        "kwok",
        "kwok-stages.yaml",
        "kubectl",
    ] {
        std::os::unix::fs::symlink(real.join(name), broken.join(name)).unwrap();
    }
    std::fs::write(
        broken.join("kube-apiserver"),
        "#!/bin/sh\necho 'refusing to serve on purpose' >&2\nexit 3\n",
    )
    .unwrap();
    std::fs::set_permissions(
        broken.join("kube-apiserver"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lab"))
        .arg("up")
        .env("FERROLB_LAB_DIR", &lab.state_dir)
        .env("FERROLB_CP_BIN", &broken)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&broken);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "lab up with a broken apiserver succeeded"
    );
    assert!(
        stderr.contains("kube-apiserver exited during start-up"),
        "{stderr}"
    );
    assert!(stderr.contains("refusing to serve on purpose"), "{stderr}");
    let left = lab::network::leftovers();
    assert!(left.is_empty(), "failed lab up left {}", left.join(", "));
    assert!(!lab.state_dir.exists(), "failed lab up left its state dir");

    // A stray namespace of the lab's: `lab up` refuses to build over it and leaves it alone.
    assert!(
        Command::new("ip")
            .args(["netns", "add", "router"])
            .status()
            .unwrap()
            .success()
    );
    let out = lab.run(&["up"], None);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let still_there = lab::network::namespaces().contains(&"router".to_owned());
    let _ = Command::new("ip").args(["netns", "del", "router"]).status();
    assert!(!out.status.success(), "lab up built over a partial lab");
    assert!(
        stderr.contains("partly present (network namespace router)") && stderr.contains("lab down"),
        "{stderr}"
    );
    assert!(still_there, "lab up removed a namespace it did not make");

    // The cluster alone: ferrolb's install and pods are tests/pods.rs's.
    let out = lab.run(&["up", "--no-install"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "lab up failed:\n{stderr}");
    assert!(stderr.contains("control plane in kube-master"), "{stderr}");
    assert!(
        stderr.contains(" done in "),
        "no step timings in:\n{stderr}"
    );

    let again = lab.ok(&["up"], None);
    assert!(again.contains("already up"), "{again}");

    let nodes = lab.ok(&["kubectl", "get", "nodes", "--no-headers"], None);
    for node in ["kube-node-1", "kube-node-2"] {
        let line = nodes
            .lines()
            .find(|l| l.starts_with(node))
            .unwrap_or_default();
        assert!(
            line.split_whitespace().nth(1) == Some("Ready"),
            "{node} not Ready:\n{nodes}"
        );
    }
    let ips = lab.ok(
        &["kubectl", "get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.addresses[?(@.type==\"InternalIP\")].address} {end}"],
        None,
    );
    assert!(ips.contains("kube-node-1=10.192.0.3"), "{ips}");
    assert!(ips.contains("kube-node-2=10.192.0.4"), "{ips}");

    lab.ok(&["kubectl", "apply", "-f", "-"], Some(MANIFEST));
    let pod =
        eventually("a Running nginx pod", Duration::from_secs(90), || {
            let out = lab.run(
            &["kubectl", "get", "pods", "-l", "app=nginx", "-o",
              "jsonpath={range .items[*]}{.status.phase} {.spec.nodeName} {.status.podIP}{end}"],
            None,
        );
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.starts_with("Running ").then_some(text)
        });
    let fields: Vec<&str> = pod.split_whitespace().collect();
    assert!(fields[1].starts_with("kube-node-"), "{pod}");
    assert!(
        fields.len() == 3 && fields[2].starts_with("10.244."),
        "{pod}"
    );
    let svc = lab.ok(
        &[
            "kubectl",
            "get",
            "service",
            "nginx",
            "-o",
            "jsonpath={.spec.type} {.spec.clusterIP}",
        ],
        None,
    );
    assert!(svc.starts_with("LoadBalancer 10."), "{svc}");

    let status = lab.ok(&["status"], None);
    for component in [
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kwok",
    ] {
        assert!(
            status.contains(component),
            "{component} missing in:\n{status}"
        );
    }
    assert!(!status.contains("exited"), "{status}");

    // The hook later parts use: a program added to a namespace of the running lab is shown by
    // `lab status`, runs in that namespace, and is stopped by `lab down`.
    let extra = lab::seed::add_process_in(
        &lab.state_dir,
        &lab::seed::ExtraProcess {
            name: "stand-in".into(),
            netns: "router".into(),
            program: PathBuf::from("sleep"),
            args: vec!["600".into()],
            enters_netns_itself: false,
        },
    )
    .unwrap();
    // `ip netns exec` enters the namespace just after the fork: ask until it has.
    eventually(
        "the stand-in in namespace router",
        Duration::from_secs(10),
        || {
            let out = Command::new("ip")
                .args(["netns", "identify", &extra.pid.to_string()])
                .output()
                .ok()?;
            let ns = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            (ns == "router").then_some(ns)
        },
    );
    let status = lab.ok(&["status"], None);
    assert!(
        status
            .lines()
            .any(|l| l.contains("router") && l.contains("stand-in") && l.contains("running")),
        "{status}"
    );

    // The control plane (5), a kubelet and a kube-proxy stand-in per node (6), the router
    // and its terminal (2), and the stand-in.
    let pids = pids_in_state(&lab.state_dir);
    assert_eq!(pids.len(), 14);
    lab.ok(&["down"], None);
    lab.down_done = true;
    let left = lab::network::leftovers();
    assert!(left.is_empty(), "lab down left {}", left.join(", "));
    for pid in pids {
        assert!(
            !lab::process::group_alive(pid),
            "process {pid} survived lab down"
        );
    }
    assert!(
        !lab.state_dir.exists(),
        "{} survived lab down",
        lab.state_dir.display()
    );
    let status = lab.ok(&["status"], None);
    assert!(status.contains("no lab is up"), "{status}");
}
