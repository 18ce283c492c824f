//! The speaker's end-to-end lab: a private network ([`net`]) with two nodes and a router, a
//! real kube-apiserver (`lab::Cluster`) on the hub with ferrolb's CRDs, the Nodes and
//! `metallb-system`, the real `controller` binary handing out addresses, `speaker` processes
//! in the nodes' namespaces, and FRR or mini-router as the external router ([`routers`]).
//!
//! Needs root (namespaces), the control-plane binaries built by
//! `lab/scripts/build-control-plane.sh`, and FRR's bgpd.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod net;
pub mod routers;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use lab::objects;
use lab::process::Process;
pub use lab::wait::eventually;
use lab::{Cluster, ClusterConfig};
use serde_json::{Value, json};

use net::Universe;

/// MetalLB's namespace.
pub const NS: &str = "metallb-system";
/// The speakers' metrics port (each in its own namespace).
pub const METRICS_PORT: u16 = 7472;
/// The nodes of the lab: name and last address byte.
pub const NODES: [(&str, u8); 2] = [("kube-node-1", 3), ("kube-node-2", 4)];
/// The router's address.
pub const ROUTER: &str = "10.192.0.7";

// Not every test binary uses every re-export.
#[allow(unused_imports)]
pub use lab::seed::TUTORIAL_CONFIG;

/// A binary of the workspace, built (once per test process, so it is current) into the
/// target directory of this test.
pub fn workspace_binary(package: &str, name: &str) -> PathBuf {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let speaker = PathBuf::from(env!("CARGO_BIN_EXE_speaker"));
    let path = speaker.with_file_name(name);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if !built.iter().any(|b| b == name) {
        let target_dir = speaker
            .parent()
            .and_then(Path::parent)
            .expect("the target directory");
        let mut cargo = std::process::Command::new(env!("CARGO"));
        // The variables cargo sets for this test would change build scripts' fingerprints
        // and make the next `cargo test` rebuild everything.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            let keep = ["CARGO_HOME", "CARGO_INCREMENTAL", "CARGO_TARGET_DIR"];
            if (key.starts_with("CARGO_") && !keep.contains(&key.as_str()))
                || key == "OUT_DIR"
                || key.starts_with("RUST_TEST")
            {
                cargo.env_remove(&key);
            }
        }
        let status = cargo
            .args([
                "build",
                "--quiet",
                "-p",
                package,
                "--bin",
                name,
                "--target-dir",
            ])
            .arg(target_dir)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .status()
            .expect("running cargo build");
        assert!(
            status.success(),
            "cargo build -p {package} --bin {name} failed"
        );
        built.push(name.to_owned());
    }
    path
}

/// The network, the apiserver, and the daemons.
pub struct Lab {
    speakers: BTreeMap<String, Process>,
    controller: Option<Process>,
    /// The cluster (stopped on drop).
    pub cluster: Cluster,
    /// An admin client.
    pub client: Client,
    dir: tempfile::TempDir,
    /// The network (removed on drop, after everything in it stopped).
    pub net: Universe,
}

impl Lab {
    /// The network with two nodes and a router, an apiserver on the hub with the CRDs,
    /// `metallb-system` and the two Nodes.
    pub async fn start() -> Lab {
        let mut machines: Vec<(&str, u8)> = NODES.to_vec();
        machines.push(("router", 7));
        let net = Universe::create(&machines);
        let cluster = Cluster::start(ClusterConfig {
            address: lab::lan::HUB_V4.into(),
            ..ClusterConfig::apiserver_only()
        })
        .await
        .expect("starting the lab's apiserver");
        let client = cluster.client();
        objects::install_crds(&client, lb_config::crd::definitions())
            .await
            .expect("installing the CRDs");
        objects::create_namespace(&client, NS, &[])
            .await
            .expect("creating metallb-system");
        let lab = Lab {
            speakers: BTreeMap::new(),
            controller: None,
            cluster,
            client,
            dir: tempfile::tempdir().expect("tempdir"),
            net,
        };
        for (name, byte) in NODES {
            lab.create_node(name, byte, &[]).await;
        }
        lab
    }

    /// Registers Node `name` with InternalIPs 10.192.0.`byte` and fd00:192::`byte`.
    pub async fn create_node(&self, name: &str, byte: u8, labels: &[(&str, &str)]) {
        let ips = [
            format!("10.192.0.{byte}").parse().unwrap(),
            format!("fd00:192::{byte}").parse().unwrap(),
        ];
        objects::create_node(&self.client, name, &ips, labels)
            .await
            .expect("creating a Node");
    }

    /// Sets (`Some`) or removes (`None`) a label of a Node.
    pub async fn label_node(&self, name: &str, key: &str, value: Option<&str>) {
        let api: Api<Node> = Api::all(self.client.clone());
        let patch = json!({"metadata": {"labels": {key: value}}});
        api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("labelling a Node");
    }

    fn kubeconfig(&self) -> String {
        self.cluster.kubeconfig().to_str().unwrap().to_owned()
    }

    /// Starts the controller (in the hub) with the admin kubeconfig.
    pub fn start_controller(&mut self) {
        let program = workspace_binary("controller", "controller");
        let args: Vec<String> = [
            "--kubeconfig",
            &self.kubeconfig(),
            "--namespace",
            NS,
            "--port",
            "0",
            "--health-probe-port",
            "0",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let log = self.dir.path().join("controller.log");
        self.controller =
            Some(Process::spawn("controller", &program, &args, None, &log).expect("controller"));
    }

    /// Starts the speaker of `node` in its namespace with the admin kubeconfig and `extra`
    /// flags.
    pub fn start_speaker(&mut self, node: &str, extra: &[&str]) {
        let kubeconfig = self.kubeconfig();
        self.start_speaker_with(node, &["--kubeconfig", &kubeconfig], extra);
    }

    /// Starts the speaker of `node` with `auth` (how it finds the apiserver) and `extra`.
    pub fn start_speaker_with(&mut self, node: &str, auth: &[&str], extra: &[&str]) {
        assert!(
            !self.speakers.contains_key(node),
            "{node}'s speaker runs already"
        );
        let port = METRICS_PORT.to_string();
        let mut args: Vec<String> = [
            "--node-name",
            node,
            "--namespace",
            NS,
            "--port",
            &port,
            "--health-probe-port",
            "0",
            "--log-level",
            "debug",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend(auth.iter().map(|s| (*s).to_owned()));
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let log = self.dir.path().join(format!("speaker-{node}.log"));
        let process = Process::spawn(
            &format!("speaker-{node}"),
            Path::new(env!("CARGO_BIN_EXE_speaker")),
            &args,
            Some(self.net.host(node).name()),
            &log,
        )
        .expect("starting a speaker");
        self.speakers.insert(node.to_owned(), process);
    }

    /// Sends SIGTERM to `node`'s speaker and waits up to 10 s for it to exit; returns
    /// whether it exited successfully.
    pub fn terminate_speaker(&mut self, node: &str) -> bool {
        let mut process = self.speakers.remove(node).expect("a running speaker");
        process.terminate();
        for _ in 0..200 {
            if let Some(status) = process.exited() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{node}'s speaker did not exit within 10 s of SIGTERM");
    }

    /// Sends `signal` to `node`'s speaker (SIGSTOP freezes it: it keeps its sockets and
    /// sends nothing, as a hung node; SIGCONT lets it run again).
    pub fn signal_speaker(&self, node: &str, signal: nix::sys::signal::Signal) {
        let pid = self
            .speakers
            .get(node)
            .and_then(|p| p.pid())
            .expect("a running speaker");
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal);
    }

    /// Kills `node`'s speaker (no goodbye to the router).
    pub fn kill_speaker(&mut self, node: &str) {
        let process = self.speakers.remove(node).expect("a running speaker");
        if let Some(pid) = process.pid() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        drop(process);
    }

    /// Everything `node`'s speaker logged so far.
    pub fn speaker_log(&self, node: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("speaker-{node}.log")))
            .unwrap_or_default()
    }

    /// The JSON lines of `node`'s speaker whose `event` is `event`.
    pub fn speaker_events(&self, node: &str, event: &str) -> Vec<Value> {
        self.speaker_log(node)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["event"] == event)
            .collect()
    }

    /// Runs a command inside `node`'s namespace (`ip netns exec`); it must succeed.
    pub fn run_in(&self, node: &str, program: &str, args: &[&str]) -> String {
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", self.net.host(node).name(), program])
            .args(args)
            .output()
            .expect("ip netns exec");
        assert!(
            out.status.success(),
            "{program} {args:?} in {node}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Adds an address to `node`'s `eth0` (e.g. a second source address for a session).
    pub fn add_address(&self, node: &str, cidr: &str) {
        net::ip(&[
            "-n",
            self.net.host(node).name(),
            "addr",
            "add",
            cidr,
            "dev",
            "eth0",
            "nodad",
        ]);
    }

    /// Creates a Secret of `type_` in `metallb-system` with these clear-text data.
    pub async fn create_secret(&self, name: &str, type_: &str, data: &[(&str, &str)]) {
        let data: BTreeMap<String, String> = data
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(
            json!({"metadata": {"name": name, "namespace": NS}, "type": type_, "stringData": data}),
        )
        .unwrap();
        Api::<k8s_openapi::api::core::v1::Secret>::namespaced(self.client.clone(), NS)
            .create(&PostParams::default(), &secret)
            .await
            .expect("creating a Secret");
    }

    /// Writes `default/name`'s `status.loadBalancer` by hand (what the controller would).
    pub async fn set_ingress(&self, name: &str, ips: &[&str]) {
        let ips: Vec<std::net::IpAddr> = ips.iter().map(|ip| ip.parse().unwrap()).collect();
        objects::set_ingress(&self.client, "default", name, &ips)
            .await
            .expect("writing a Service's status");
    }

    /// Everything the controller logged so far.
    pub fn controller_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("controller.log")).unwrap_or_default()
    }

    /// `GET path` of `node`'s speaker (metrics port), the body when it answers 200.
    pub async fn speaker_http(&self, node: &str, path: &str) -> Option<String> {
        http_get(self.net.address(node), METRICS_PORT, path).await
    }

    /// Waits until `node`'s speaker answers 200 on `/readyz`.
    pub async fn wait_speaker_ready(&self, node: &str) {
        eventually(
            &format!("{node}'s speaker to be ready"),
            Duration::from_secs(60),
            || async move { self.speaker_http(node, "/readyz").await.map(|_| ()) },
        )
        .await;
    }

    /// Creates or replaces the legacy ConfigMap `config`.
    pub async fn apply_legacy_config(&self, config: &str) {
        objects::apply_legacy_config(&self.client, NS, config)
            .await
            .expect("applying the ConfigMap");
    }

    /// Server-side applies a `metallb.io` object in `metallb-system`.
    pub async fn apply_cr(&self, object: Value) {
        objects::apply_cr(&self.client, NS, object)
            .await
            .expect("applying a metallb.io object");
    }

    /// Creates a LoadBalancer Service in `default` (see [`objects::create_service`]).
    pub async fn create_service(&self, object: Value) -> Service {
        objects::create_service(&self.client, "default", object)
            .await
            .expect("creating a Service")
    }

    /// Deletes the Service `default/name`.
    pub async fn delete_service(&self, name: &str) {
        Api::<Service>::namespaced(self.client.clone(), "default")
            .delete(name, &DeleteParams::default())
            .await
            .expect("deleting a Service");
    }

    /// Waits until `default/name` has exactly `want` as its ingress IPs.
    pub async fn wait_ingress(&self, name: &str, want: &[&str]) {
        let api: Api<Service> = Api::namespaced(self.client.clone(), "default");
        eventually(
            &format!("default/{name} to get {want:?}"),
            Duration::from_secs(30),
            || {
                let api = api.clone();
                async move {
                    let svc = api.get(name).await.ok()?;
                    (objects::ingress_ips(&svc) == want).then_some(())
                }
            },
        )
        .await;
    }

    /// Writes the EndpointSlice `default/<service>-1` with one ready endpoint per node in
    /// `ready_on` (what the endpointslice controller would write for running pods).
    pub async fn endpoints(&self, service: &str, ready_on: &[&str]) {
        let endpoints: Vec<(&str, std::net::IpAddr)> = ready_on
            .iter()
            .enumerate()
            .map(|(i, node)| (*node, format!("10.244.{}.10", i + 1).parse().unwrap()))
            .collect();
        let slice = objects::endpoint_slice("default", service, &endpoints).unwrap();
        let name = format!("{service}-1");
        Api::<EndpointSlice>::namespaced(self.client.clone(), "default")
            .patch(
                &name,
                &PatchParams::apply("test").force(),
                &Patch::Apply(&slice),
            )
            .await
            .expect("writing an EndpointSlice");
    }

    /// The Events about `default/name`.
    pub async fn events(&self, name: &str) -> Vec<objects::SeenEvent> {
        objects::events(&self.client, "default", name)
            .await
            .unwrap_or_default()
    }

    /// A `metallb.io` resource of `metallb-system` as JSON objects.
    pub async fn list_cr(&self, version: &str, kind: &str) -> Vec<Value> {
        let gvk = kube::core::GroupVersionKind::gvk("metallb.io", version, kind);
        let resource = kube::core::ApiResource::from_gvk(&gvk);
        let api: Api<kube::core::DynamicObject> =
            Api::namespaced_with(self.client.clone(), NS, &resource);
        api.list(&Default::default())
            .await
            .map(|l| {
                l.items
                    .into_iter()
                    .map(|o| serde_json::to_value(o).unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, mut p) in std::mem::take(&mut self.speakers) {
            p.stop(Duration::from_secs(3));
        }
        if let Some(mut p) = self.controller.take() {
            p.stop(Duration::from_secs(3));
        }
        if std::thread::panicking() {
            for (node, _) in NODES {
                let log = self.speaker_log(node);
                let tail: Vec<&str> = log.lines().rev().take(60).collect();
                eprintln!("--- speaker {node} (last lines) ---");
                for l in tail.into_iter().rev() {
                    eprintln!("{l}");
                }
            }
        }
    }
}

/// A plain HTTP/1.0 GET; the body when the answer is 200.
pub async fn http_get(host: &str, port: u16, path: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect((host, port)),
    )
    .await
    .ok()?
    .ok()?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .ok()?;
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(2), stream.read_to_string(&mut response))
        .await
        .ok()?
        .ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    (head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200")).then(|| body.to_owned())
}

#[allow(unused_imports)]
pub use lab::objects::merge as merge_json;
