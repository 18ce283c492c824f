//! `lab up` installs ferrolb with `kubectl apply -f manifests/metallb.yaml` and the lab's
//! kubelets run the metallb-system pods as real processes: the controller in a network
//! namespace of its own with the pod's address, as nobody without capabilities, with its
//! ServiceAccount at the in-cluster path (and does its job with the shipped RBAC); speakers
//! on the workers' own addresses; status that follows the processes (readiness and liveness
//! probes, restarts, CrashLoopBackOff), logs through `kubectl logs`, pods that stop when
//! deleted. The kube-proxy stand-in answers on the service address through a kernel route of
//! the router, `lab router` is the router's CLI, and `lab down` leaves nothing behind.
//!
//! Needs root, the control-plane binaries, and ferrolb's binaries next to `lab` (cargo builds
//! them when the workspace is built or tested).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::{Lab, eventually, manifest, pids_in_state};

const NS: &str = "metallb-system";
const LONG: Duration = Duration::from_secs(90);

/// The pods of metallb-system.
fn pods(lab: &Lab) -> Vec<Value> {
    lab.json(&["get", "pods", "-n", NS])["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn pod(lab: &Lab, name: &str) -> Value {
    lab.json(&["get", "pod", "-n", NS, name])
}

fn name(p: &Value) -> &str {
    p["metadata"]["name"].as_str().unwrap_or_default()
}

/// The process of a pod's first container, from its container id (`lab://PID`).
fn pid(p: &Value) -> Option<u32> {
    p["status"]["containerStatuses"][0]["containerID"]
        .as_str()?
        .strip_prefix("lab://")?
        .parse()
        .ok()
}

fn proc_file(pid: u32, file: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap_or_default()
}

fn status_field<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(str::trim)
        .unwrap_or_default()
}

fn netns_of(pid: u32) -> String {
    let out = Command::new("ip")
        .args(["netns", "identify", &pid.to_string()])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !proc_file(pid, "stat").contains(") Z ")
}

/// `busybox wget` of `url` from the router's namespace, given 5 s (busybox 1.35's own
/// `-T` crashes it).
fn wget_from_router(url: &str) -> (bool, String) {
    let out = Command::new("timeout")
        .args([
            "5", "ip", "netns", "exec", "router", "busybox", "wget", "-q", "-O-", url,
        ])
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn route_via(node: &str) {
    let _ = Command::new("ip")
        .args(["-n", "router", "route", "del", "198.51.100.0/32"])
        .output();
    let out = Command::new("ip")
        .args([
            "-n",
            "router",
            "route",
            "add",
            "198.51.100.0/32",
            "via",
            node,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn lab_up_runs_the_metallb_system_pods_as_real_processes() {
    let mut lab = Lab::new("pods");
    let had_mount_point =
        std::path::Path::new("/run/secrets/kubernetes.io/serviceaccount").exists();
    let out = lab.run(&["up"], None);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "lab up failed:\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "ferrolb: kubectl apply -f {}",
            std::fs::canonicalize(manifest("metallb.yaml"))
                .unwrap()
                .display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("daemonset.apps/speaker created"),
        "{stderr}"
    );
    assert!(
        stderr.contains("kubectl get pods -n metallb-system -o wide"),
        "{stderr}"
    );
    for step in [
        "network:",
        "control plane",
        "kubelets",
        "mini-router",
        "ferrolb:",
    ] {
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(step) && l.contains(" done in ")),
            "no timed step {step:?} in:\n{stderr}"
        );
    }
    assert!(stdout.contains("Next, as in the tutorial:"), "{stdout}");
    assert!(stdout.contains("lab router"), "{stdout}");

    // Three pods, as in the tutorial's listing: the controller on a worker with an address
    // of that node's pod network, a speaker on each worker with the node's address.
    let listed = pods(&lab);
    assert_eq!(listed.len(), 3, "{listed:#?}");
    let controller = listed
        .iter()
        .find(|p| name(p).starts_with("controller-"))
        .cloned()
        .unwrap();
    let node = controller["spec"]["nodeName"].as_str().unwrap().to_owned();
    let node_index = match node.as_str() {
        "kube-node-1" => 1,
        "kube-node-2" => 2,
        other => panic!("the controller runs on {other}"),
    };
    let pod_ip = controller["status"]["podIP"].as_str().unwrap().to_owned();
    assert!(
        pod_ip.starts_with(&format!("10.244.{node_index}.")),
        "{pod_ip}"
    );
    assert_eq!(controller["status"]["phase"], "Running");
    let mut speakers: Vec<(String, String, String)> = listed
        .iter()
        .filter(|p| name(p).starts_with("speaker-"))
        .map(|p| {
            (
                p["spec"]["nodeName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                p["status"]["podIP"].as_str().unwrap_or_default().to_owned(),
                p["status"]["hostIP"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    speakers.sort();
    let want = |n: &str, ip: &str| (n.to_owned(), ip.to_owned(), ip.to_owned());
    assert_eq!(
        speakers,
        [
            want("kube-node-1", "10.192.0.3"),
            want("kube-node-2", "10.192.0.4")
        ]
    );
    // Each speaker was started by the lab (running, or restarted after exiting), not left
    // waiting: its status follows its process, whatever that process does.
    for p in listed.iter().filter(|p| name(p).starts_with("speaker-")) {
        let cs = &p["status"]["containerStatuses"][0];
        assert!(
            cs["state"]["running"].is_object() || cs["restartCount"].as_i64() > Some(0),
            "{cs}"
        );
    }
    let wide = lab.ok(&["kubectl", "get", "pods", "-n", NS, "-o", "wide"], None);
    let row = wide
        .lines()
        .find(|l| l.starts_with(name(&controller)))
        .unwrap();
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cols[1..3], ["1/1", "Running"], "{wide}");
    assert_eq!(cols[5], pod_ip, "{wide}");
    assert_eq!(cols[6], node, "{wide}");

    // The controller's process: the real binary, in the pod's own namespace, as nobody
    // with no capabilities and no new privileges, with the pod's environment, and its
    // ServiceAccount read-only at the in-cluster path on a read-only root.
    let cpid = pid(&controller).unwrap();
    let exe = std::fs::read_link(format!("/proc/{cpid}/exe")).unwrap();
    assert_eq!(exe.file_name().and_then(|n| n.to_str()), Some("controller"));
    let status = proc_file(cpid, "status");
    assert_eq!(status_field(&status, "Uid:"), "65534\t65534\t65534\t65534");
    assert_eq!(status_field(&status, "CapEff:"), "0000000000000000");
    assert_eq!(status_field(&status, "CapBnd:"), "0000000000000000");
    assert_eq!(status_field(&status, "NoNewPrivs:"), "1");
    let ns = netns_of(cpid);
    assert!(ns.starts_with("lab-pod-"), "the controller runs in {ns:?}");
    let environ = proc_file(cpid, "environ");
    let env: Vec<&str> = environ.split('\0').collect();
    assert!(
        env.contains(&format!("METALLB_POD_NAME={}", name(&controller)).as_str()),
        "{env:?}"
    );
    assert!(
        env.contains(&"KUBERNETES_SERVICE_HOST=10.192.0.2"),
        "{env:?}"
    );
    assert!(env.contains(&"KUBERNETES_SERVICE_PORT=6443"), "{env:?}");
    assert!(!env.iter().any(|v| v.starts_with("KUBECONFIG=")), "{env:?}");
    let mounts = proc_file(cpid, "mountinfo");
    let mount = |point: &str| {
        mounts
            .lines()
            .find(|l| l.split_whitespace().nth(4) == Some(point))
            .map(|l| l.split_whitespace().nth(5).unwrap_or_default().to_owned())
    };
    let sa = mount("/run/secrets/kubernetes.io/serviceaccount").unwrap_or_default();
    assert!(
        sa.split(',').any(|o| o == "ro"),
        "serviceaccount mount: {sa:?}"
    );
    let root = mount("/").unwrap_or_default();
    assert!(root.split(',').any(|o| o == "ro"), "root mount: {root:?}");

    // It works with its own ServiceAccount's rights: the tutorial's configuration and
    // Service get the tutorial's address.
    lab.ok(
        &[
            "kubectl",
            "apply",
            "-f",
            &manifest("example-config.yaml"),
            "-f",
            &manifest("tutorial-2.yaml"),
        ],
        None,
    );
    eventually("198.51.100.0 for Service nginx", LONG, || {
        let svc = lab.json(&["get", "service", "nginx"]);
        (svc["status"]["loadBalancer"]["ingress"][0]["ip"] == "198.51.100.0").then_some(())
    });
    let (ok, logs) = lab.kubectl(&["logs", "-n", NS, "-l", "component=controller"]);
    assert!(
        ok && logs.contains("\"event\":\"ipAllocated\""),
        "controller logs:\n{logs}"
    );
    let (_, describe) = lab.kubectl(&["describe", "service", "nginx"]);
    assert!(describe.contains("IPAllocated"), "{describe}");

    // The kube-proxy stand-in answers on the service address of every node for the
    // Cluster policy, through the router's kernel route.
    let nginx_node = eventually("a Running nginx pod", LONG, || {
        let list = lab.json(&["get", "pods", "-l", "app=nginx"]);
        let p = list["items"][0].clone();
        (p["status"]["phase"] == "Running").then(|| {
            p["spec"]["nodeName"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
    });
    for (node_ip, node_name) in [("10.192.0.3", "kube-node-1"), ("10.192.0.4", "kube-node-2")] {
        route_via(node_ip);
        let page = eventually(&format!("the page through {node_name}"), LONG, || {
            let (ok, text) = wget_from_router("http://198.51.100.0/");
            ok.then_some(text)
        });
        assert!(page.contains("<title>Welcome to nginx!</title>"), "{page}");
        assert!(
            page.contains(&format!("Service default/nginx, answered by {node_name}.")),
            "{page}"
        );
        assert!(page.contains(&format!("on {nginx_node}")), "{page}");
    }
    // With the Local policy only the endpoint's node answers.
    lab.ok(
        &[
            "kubectl",
            "patch",
            "service",
            "nginx",
            "-p",
            r#"{"spec":{"externalTrafficPolicy":"Local"}}"#,
        ],
        None,
    );
    let (other_ip, endpoint_ip) = if nginx_node == "kube-node-1" {
        ("10.192.0.4", "10.192.0.3")
    } else {
        ("10.192.0.3", "10.192.0.4")
    };
    route_via(other_ip);
    eventually("no answer from the node without an endpoint", LONG, || {
        (!wget_from_router("http://198.51.100.0/").0).then_some(())
    });
    route_via(endpoint_ip);
    let (ok, page) = wget_from_router("http://198.51.100.0/");
    assert!(
        ok && page.contains(&format!("answered by {nginx_node}.")),
        "{page}"
    );
    let _ = Command::new("ip")
        .args(["-n", "router", "route", "del", "198.51.100.0/32"])
        .output();

    // A container that keeps exiting: restarted with back-off, CrashLoopBackOff, its exit
    // code and both runs' logs kept.
    let crasher = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "crasher", "namespace": NS},
        "spec": {"nodeName": "kube-node-1", "containers": [{
            "name": "controller", "image": "ferrolb/controller:v0.1.0",
            "args": ["--no-such-flag"]
        }]}
    });
    lab.ok(&["kubectl", "apply", "-f", "-"], Some(&crasher.to_string()));
    let cs = eventually("crasher in CrashLoopBackOff after a restart", LONG, || {
        let cs = pod(&lab, "crasher")["status"]["containerStatuses"][0].clone();
        (cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
            && cs["restartCount"].as_i64() >= Some(1))
        .then_some(cs)
    });
    assert_eq!(cs["lastState"]["terminated"]["exitCode"], 2, "{cs}");
    assert_eq!(cs["lastState"]["terminated"]["reason"], "Error", "{cs}");
    assert_eq!(cs["ready"], false);
    let row = lab.ok(
        &["kubectl", "get", "pod", "crasher", "-n", NS, "--no-headers"],
        None,
    );
    assert_eq!(
        row.split_whitespace().nth(2),
        Some("CrashLoopBackOff"),
        "{row}"
    );
    for previous in [false, true] {
        let mut args = vec!["logs", "-n", NS, "crasher"];
        if previous {
            args.push("--previous");
        }
        let (_, text) = lab.kubectl(&args);
        assert!(
            text.contains("--no-such-flag"),
            "kubectl {}: {text}",
            args.join(" ")
        );
    }

    // Probes, run by the lab against the process: mini-router listening for BGP on 1179 in
    // its pod's namespace is ready when probed there, never ready when probed on a port
    // nothing listens on, and restarted when its liveness probe fails.
    let probed = |pod_name: &str, probes: Value| {
        let mut container = serde_json::json!({
            "name": "router", "image": "ferrolb/mini-router:v0.1.0",
            "args": ["--daemon", "--no-fib", "--asn", "64512", "--listen", "0.0.0.0:1179",
                     &format!("--socket=/tmp/{pod_name}-{}.sock", std::process::id())]
        });
        for (k, v) in probes.as_object().unwrap() {
            container[k] = v.clone();
        }
        serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod_name, "namespace": NS},
            "spec": {"nodeName": "kube-node-2", "containers": [container]}
        })
        .to_string()
    };
    let tcp = |port: u16, threshold: u16| serde_json::json!({"tcpSocket": {"port": port}, "periodSeconds": 1, "failureThreshold": threshold});
    lab.ok(
        &["kubectl", "apply", "-f", "-"],
        Some(&probed(
            "ready",
            serde_json::json!({"readinessProbe": tcp(1179, 3)}),
        )),
    );
    lab.ok(
        &["kubectl", "apply", "-f", "-"],
        Some(&probed(
            "unready",
            serde_json::json!({"readinessProbe": tcp(1, 1)}),
        )),
    );
    lab.ok(
        &["kubectl", "apply", "-f", "-"],
        Some(&probed(
            "dead",
            serde_json::json!({"livenessProbe": tcp(1, 1)}),
        )),
    );
    eventually("pod ready to be Ready", LONG, || {
        (pod(&lab, "ready")["status"]["containerStatuses"][0]["ready"] == true).then_some(())
    });
    let restarted = eventually(
        "pod dead to be restarted by its liveness probe",
        LONG,
        || {
            let cs = pod(&lab, "dead")["status"]["containerStatuses"][0].clone();
            (cs["restartCount"].as_i64() >= Some(1)).then_some(cs)
        },
    );
    assert!(
        restarted["lastState"]["terminated"].is_object(),
        "{restarted}"
    );
    let unready = pod(&lab, "unready");
    let cs = &unready["status"]["containerStatuses"][0];
    assert!(cs["state"]["running"].is_object(), "{cs}");
    assert_eq!(
        (cs["ready"].clone(), cs["restartCount"].clone()),
        (Value::Bool(false), Value::from(0))
    );
    let ready_condition = unready["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready").cloned())
        .unwrap_or_default();
    assert_eq!(ready_condition["status"], "False", "{ready_condition}");
    assert_eq!(
        ready_condition["message"],
        "containers with unready status: [router]"
    );

    // Deleting a pod stops its process and removes its namespace; the Deployment's new
    // pod runs again.
    let old_ns = ns.clone();
    lab.ok(
        &[
            "kubectl",
            "delete",
            "pod",
            "-n",
            NS,
            name(&controller),
            "--wait=true",
            "--timeout=60s",
        ],
        None,
    );
    // The Deployment's grace period is 0: the pod leaves the API at once and the lab's
    // kubelet stops the process right after, as a kubelet does.
    eventually("the old controller process to end", LONG, || {
        (!alive(cpid)).then_some(())
    });
    eventually("the old controller's namespace to go", LONG, || {
        (!lab::network::namespaces().contains(&old_ns)).then_some(())
    });
    let replacement = eventually("a new Ready controller pod", LONG, || {
        pods(&lab).into_iter().find(|p| {
            name(p).starts_with("controller-")
                && name(p) != name(&controller)
                && p["status"]["containerStatuses"][0]["ready"] == true
        })
    });
    let new_pid = pid(&replacement).unwrap();
    assert_ne!(new_pid, cpid);
    assert!(alive(new_pid));

    // The router: its CLI on a terminal, and -c for scripts.
    let version = lab.ok(&["router", "-c", "show version"], None);
    assert!(version.starts_with("mini-router "), "{version}");
    let interfaces = lab.ok(&["router", "-c", "show interface brief"], None);
    assert!(interfaces.contains("10.192.0.7/24"), "{interfaces}");
    let screen = Command::new("tmux")
        .arg("-S")
        .arg(lab.state_dir.join("tmux.sock"))
        .args(["capture-pane", "-p", "-t", "router"])
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&screen.stdout);
    assert!(screen.contains("Hello, this is mini-router"), "{screen}");
    assert!(
        screen.lines().any(|l| l.trim_end() == "router#"),
        "{screen}"
    );

    // `lab down`: every process (the pods' too), namespace and directory is gone.
    let mut pids = pids_in_state(&lab.state_dir);
    pids.extend(pods(&lab).iter().filter_map(pid));
    lab.ok(&["down"], None);
    lab.down_done = true;
    let left = lab::network::leftovers();
    assert!(left.is_empty(), "lab down left {}", left.join(", "));
    for p in pids {
        assert!(!alive(p), "process {p} survived lab down");
    }
    assert!(!lab.state_dir.exists());
    if !had_mount_point {
        assert!(!std::path::Path::new("/run/secrets/kubernetes.io/serviceaccount").exists());
    }
}
