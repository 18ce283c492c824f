//! The tutorial of `../shared/seed`, step by step, as a reader follows it on `lab up`: the
//! router configured at its prompt (`configure terminal`, `router bgp 64512`, the two
//! `neighbor` lines), the tutorial's ConfigMap created from a heredoc, both speakers
//! Established, the speaker's `sessionUp` log line, nginx behind the LoadBalancer Service
//! with 198.51.100.0 and the controller's `IPAllocated` Event, two paths in `show ip bgp`
//! and the kernel's route, `start-shell` + `wget 198.51.100.0` answered through it while
//! tcpdump watches the bridge, a speaker pod restarted, `kubectl delete` of the manifests
//! withdrawing the route, and `lab down` leaving nothing behind. Each step prints how long
//! it took (`cargo test --test walkthrough -- --nocapture` shows them).
//!
//! Needs root, the control-plane binaries, ferrolb's binaries next to `lab`, tmux and
//! tcpdump (scripts/setup.sh installs them).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::tutorial::{
    LONG, NODES, NS, established, kernel_route, paths, restart_speaker, routed_via_both, router,
    running_pods, two_paths,
};
use support::{Lab, eventually, manifest};

/// The tutorial's ConfigMap, which it creates from a heredoc (`cat <<EOF | kubectl create
/// -f -`): manifests/example-config.yaml is that text.
const TUTORIAL_CONFIG: &str = include_str!("../../manifests/example-config.yaml");

/// Runs the walkthrough's steps, printing each with its duration.
struct Steps {
    start: Instant,
}

impl Steps {
    fn run<T>(&self, what: &str, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        eprintln!("==> {what}");
        let value = f();
        eprintln!(
            "    done in {:.1} s (at {:.1} s)",
            start.elapsed().as_secs_f64(),
            self.start.elapsed().as_secs_f64()
        );
        value
    }
}

/// The router's terminal (the tmux pane `lab router` attaches to), typed into as a reader
/// would.
struct Terminal {
    socket: std::path::PathBuf,
}

impl Terminal {
    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tmux {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The pane's text, with its scrollback.
    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-S", "-200", "-t", "router"])
    }

    /// Types `line` and Enter, then waits until the screen shows `expect` after it.
    fn type_line(&self, line: &str, expect: &str) -> String {
        let before = self.screen().len();
        self.tmux(&["send-keys", "-t", "router", "-l", line]);
        self.tmux(&["send-keys", "-t", "router", "Enter"]);
        eventually(
            &format!("{expect:?} on the router's terminal after {line:?}"),
            Duration::from_secs(30),
            || {
                let screen = self.screen();
                let tail = screen.get(before.saturating_sub(200)..).unwrap_or(&screen);
                let after = tail.rsplit_once(line).map(|(_, t)| t)?;
                after.contains(expect).then(|| after.to_owned())
            },
        )
    }
}

/// `tcpdump -ni lab-br0 tcp port 80`, its lines collected as it prints them.
struct Tcpdump {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Tcpdump {
    fn start() -> Tcpdump {
        let mut child = Command::new("timeout")
            .args([
                "120", "tcpdump", "-l", "-ni", "lab-br0", "tcp", "port", "80",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let lines = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let dump = Tcpdump { child, lines };
        eventually(
            "tcpdump listening on lab-br0",
            Duration::from_secs(20),
            || dump.text().contains("listening on lab-br0").then_some(()),
        );
        dump
    }

    fn text(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }
}

impl Drop for Tcpdump {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_tutorial_step_by_step_on_lab_up() {
    let steps = Steps {
        start: Instant::now(),
    };
    let mut lab = Lab::new("walkthrough");
    let terminal = Terminal {
        socket: lab.state_dir.join("tmux.sock"),
    };

    steps.run(
        "lab up (the cluster, ferrolb installed, the router)",
        || {
            let out = lab.run(&["up"], None);
            assert!(
                out.status.success(),
                "lab up failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        },
    );

    steps.run("the router's interface: 10.192.0.7/24 on eth0", || {
        let text = router(&lab, "show interface");
        assert!(text.contains("inet 10.192.0.7/24"), "{text}");
    });

    steps.run("kubectl get pods -n metallb-system: three Running", || {
        let pods = eventually("three ready pods in metallb-system", LONG, || {
            let pods = running_pods(&lab);
            (pods.len() == 3).then_some(pods)
        });
        let controllers = pods.iter().filter(|(n, _)| n.starts_with("controller-"));
        assert_eq!(controllers.count(), 1, "{pods:?}");
        let mut speaker_nodes: Vec<&str> = pods
            .iter()
            .filter(|(n, _)| n.starts_with("speaker-"))
            .map(|(_, node)| node.as_str())
            .collect();
        speaker_nodes.sort();
        assert_eq!(speaker_nodes, ["kube-node-1", "kube-node-2"], "{pods:?}");
        let wide = lab.ok(&["kubectl", "get", "pods", "-n", NS, "-o", "wide"], None);
        for ip in NODES {
            assert!(wide.contains(ip), "{wide}");
        }
    });

    steps.run("configure the router at its prompt", || {
        terminal.type_line("configure terminal", "router(config)#");
        terminal.type_line("router bgp 64512", "router(config-router)#");
        for node in NODES {
            terminal.type_line(
                &format!("neighbor {node} remote-as 64512"),
                "router(config-router)#",
            );
        }
        terminal.type_line("exit", "router(config)#");
        terminal.type_line("exit", "router#");
    });

    steps.run("the tutorial's ConfigMap (kubectl create -f -)", || {
        let out = lab.ok(&["kubectl", "create", "-f", "-"], Some(TUTORIAL_CONFIG));
        assert!(out.contains("configmap/config created"), "{out}");
    });

    steps.run("show ip bgp summary: both speakers Established", || {
        eventually("both speakers Established", LONG, || {
            (established(&lab) == NODES).then_some(())
        });
        let summary = router(&lab, "show ip bgp summary");
        assert!(
            summary.contains("BGP router identifier 10.192.0.7, local AS number 64512"),
            "{summary}"
        );
        for node in NODES {
            let row = summary
                .lines()
                .find(|l| l.starts_with(node))
                .unwrap_or_else(|| panic!("no row for {node}:\n{summary}"));
            let cols: Vec<&str> = row.split_whitespace().collect();
            assert_eq!(cols[1..3], ["4", "64512"], "{row}");
            assert_eq!(cols[9], "0", "PfxRcd before any Service: {row}");
        }
        assert!(summary.contains("Total number of neighbors 2"), "{summary}");
    });

    steps.run("kubectl logs -l component=speaker: sessionUp", || {
        let logs = eventually("sessionUp in the speakers' logs", LONG, || {
            let (ok, logs) = lab.kubectl(&["logs", "-n", NS, "-l", "component=speaker"]);
            (ok && logs.matches("\"event\":\"sessionUp\"").count() >= 2).then_some(logs)
        });
        let line = logs
            .lines()
            .find(|l| l.contains("\"event\":\"sessionUp\""))
            .unwrap();
        let entry: Value = serde_json::from_str(line).unwrap();
        // MetalLB v0.16 logs the peer's address alone (the tutorial's v0.7 added `:179`).
        assert_eq!(entry["peer"], "10.192.0.7", "{line}");
        assert_eq!(entry["localASN"], 64512, "{line}");
        assert_eq!(entry["peerASN"], 64512, "{line}");
        assert_eq!(entry["msg"], "BGP session established", "{line}");
    });

    steps.run(
        "kubectl apply -f manifests/tutorial-2.yaml: nginx Running",
        || {
            lab.ok(
                &["kubectl", "apply", "-f", &manifest("tutorial-2.yaml")],
                None,
            );
            eventually("a Running nginx pod", LONG, || {
                let list = lab.json(&["get", "pods", "-l", "app=nginx"]);
                (list["items"][0]["status"]["phase"] == "Running").then_some(())
            });
        },
    );

    steps.run(
        "kubectl get service nginx: EXTERNAL-IP 198.51.100.0",
        || {
            let row = eventually("EXTERNAL-IP 198.51.100.0", LONG, || {
                let text = lab.ok(&["kubectl", "get", "service", "nginx"], None);
                let row = text.lines().nth(1)?.to_owned();
                let cols: Vec<&str> = row.split_whitespace().collect();
                (cols.get(3) == Some(&"198.51.100.0")).then_some(row)
            });
            let cols: Vec<&str> = row.split_whitespace().collect();
            assert_eq!(cols[..2], ["nginx", "LoadBalancer"], "{row}");
            assert!(
                cols[4].starts_with("80:") && cols[4].ends_with("/TCP"),
                "{row}"
            );
        },
    );

    steps.run("kubectl describe service nginx: IPAllocated", || {
        let text = lab.ok(&["kubectl", "describe", "service", "nginx"], None);
        let event = text
            .lines()
            .find(|l| l.contains("IPAllocated"))
            .unwrap_or_else(|| panic!("no IPAllocated event:\n{text}"));
        assert!(event.contains("Normal"), "{event}");
        assert!(event.contains("metallb-controller"), "{event}");
        assert!(event.contains("Assigned IP [\"198.51.100.0\"]"), "{event}");
    });

    steps.run("show ip bgp: two paths, the kernel's route", || {
        let rows = eventually("two paths to 198.51.100.0/32", LONG, || two_paths(&lab));
        let table = router(&lab, "show ip bgp");
        assert!(
            table.contains("local router ID is 10.192.0.7"),
            "{table}\n{rows:?}"
        );
        eventually("the kernel route with both next hops", LONG, || {
            routed_via_both().then_some(())
        });
        let route = kernel_route();
        assert!(route.contains("proto bgp"), "{route}");
    });

    steps.run("start-shell, wget 198.51.100.0, tcpdump on lab-br0", || {
        let dump = Tcpdump::start();
        terminal.type_line("start-shell", "# ");
        let out = terminal.type_line("wget 198.51.100.0", "saved");
        assert!(
            out.contains("Connecting to 198.51.100.0 (198.51.100.0:80)"),
            "{out}"
        );
        assert!(out.contains("index.html"), "{out}");
        let page = std::fs::read_to_string(lab.state_dir.join("router-home/index.html"))
            .unwrap_or_default();
        assert!(page.contains("<title>Welcome to nginx!</title>"), "{page}");
        terminal.type_line("rm index.html; exit", "router#");
        let text = eventually("the exchange in tcpdump's output", LONG, || {
            let text = dump.text();
            (text.contains("Flags [F") && text.contains("HTTP: HTTP/1.1 200 OK")).then_some(text)
        });
        let syn = text
            .lines()
            .find(|l| l.contains("Flags [S],"))
            .unwrap_or_else(|| panic!("no SYN:\n{text}"));
        assert!(
            syn.contains(" IP 10.192.0.7.") && syn.contains(" > 198.51.100.0.80: "),
            "{syn}"
        );
        assert!(text.contains("198.51.100.0.80 > 10.192.0.7."), "{text}");
        assert!(text.contains("HTTP: GET / HTTP/1.1"), "{text}");
    });

    steps.run("a speaker pod restarted: two paths again", || {
        // Meanwhile the other node's path keeps the address routed: sampled at every poll.
        let mut unrouted = 0;
        let support::tutorial::Restart { running, back } =
            restart_speaker(&lab, "kube-node-2", |_| {
                if kernel_route().is_empty() {
                    unrouted += 1;
                }
            });
        assert_eq!(unrouted, 0, "polls that found 198.51.100.0 unrouted");
        eprintln!(
            "    pod deleted → new pod Running {:.1} s → both paths {:.1} s",
            running.as_secs_f64(),
            back.as_secs_f64()
        );
        assert!(
            back - running < Duration::from_secs(10),
            "the session and the second path took {:?} after the new pod ran",
            back - running
        );
        assert_eq!(established(&lab), NODES);
    });

    steps.run(
        "kubectl delete -f the manifests: the route withdrawn",
        || {
            let out = lab.ok(
                &[
                    "kubectl",
                    "delete",
                    "-f",
                    &manifest("tutorial-2.yaml"),
                    "-f",
                    &manifest("metallb.yaml"),
                    "--wait=false",
                ],
                None,
            );
            assert!(out.contains("service \"nginx\" deleted"), "{out}");
            eventually("198.51.100.0/32 gone from the router", LONG, || {
                (paths(&lab).is_empty() && kernel_route().is_empty()).then_some(())
            });
        },
    );

    steps.run("lab down: nothing left", || {
        lab.ok(&["down"], None);
        lab.down_done = true;
        let left = lab::network::leftovers();
        assert!(left.is_empty(), "lab down left {}", left.join(", "));
        assert!(!lab.state_dir.join("state.json").exists());
    });
}
