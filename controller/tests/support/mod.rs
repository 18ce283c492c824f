//! A real kube-apiserver (`lab::Cluster`) with ferrolb's CRDs and the `metallb-system`
//! namespace, and the `controller` binary running against it as a process, as in a cluster.
//!
//! Needs the control-plane binaries built by `lab/scripts/build-control-plane.sh`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use kube::Client;
use kube::api::{Api, DeleteParams, PostParams};
use lab::objects;
use lab::process::Process;
pub use lab::wait::eventually;
use lab::{Cluster, ClusterConfig};
use serde_json::{Value, json};

/// MetalLB's namespace.
pub const NS: &str = "metallb-system";

/// The Pod object MetalLB's own controller is told it runs in, when compared.
const COMPARE_POD: &str = "controller-compare";

/// `FERROLB_COMPARE_CONTROLLER=PATH` runs these tests against another controller binary —
/// MetalLB's own (`bench/scripts/build-metallb.sh` builds it) — to compare behaviours. Not
/// set in CI: the tests then run ferrolb's controller.
fn compared_controller() -> Option<PathBuf> {
    std::env::var_os("FERROLB_COMPARE_CONTROLLER").map(PathBuf::from)
}

#[allow(unused_imports)] // not every test file uses it
pub use lab::seed::TUTORIAL_CONFIG;

/// The apiserver, an admin client and (when started) the controller process.
pub struct Lab {
    /// The cluster (stopped on drop).
    pub cluster: Cluster,
    /// An admin client.
    pub client: Client,
    controller: Option<Process>,
    log: PathBuf,
    metrics_port: u16,
}

impl Lab {
    /// An apiserver with the CRDs established and `metallb-system` created.
    pub async fn start() -> Lab {
        let cluster = Cluster::start(ClusterConfig::apiserver_only())
            .await
            .expect("starting the lab's apiserver");
        let client = cluster.client();
        objects::install_crds(&client, lb_config::crd::definitions())
            .await
            .expect("installing the CRDs");
        let log = cluster.data_dir().join("controller.log");
        let lab = Lab {
            cluster,
            client,
            controller: None,
            log,
            metrics_port: 0,
        };
        lab.create_namespace(NS, &[]).await;
        if compared_controller().is_some() {
            // MetalLB's controller reads its own Pod (owner of its ConfigurationState); a
            // Pod needs its ServiceAccount, which no controller-manager makes here.
            let account: k8s_openapi::api::core::v1::ServiceAccount =
                serde_json::from_value(json!({"metadata": {"name": "default", "namespace": NS}}))
                    .unwrap();
            Api::<k8s_openapi::api::core::v1::ServiceAccount>::namespaced(lab.client.clone(), NS)
                .create(&PostParams::default(), &account)
                .await
                .expect("creating the default ServiceAccount");
            let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(json!({
                "metadata": {"name": COMPARE_POD, "namespace": NS},
                "spec": {"containers": [{"name": "controller", "image": "quay.io/metallb/controller:v0.16.2"}]},
            }))
            .unwrap();
            Api::<k8s_openapi::api::core::v1::Pod>::namespaced(lab.client.clone(), NS)
                .create(&PostParams::default(), &pod)
                .await
                .expect("creating the compared controller's Pod");
        }
        lab
    }

    /// Runs the lab's kubectl as the admin; panics with its output when it fails.
    pub fn kubectl(&self, args: &[&str]) -> String {
        let kubectl = lab::Binaries::from_env()
            .path(lab::Binary::Kubectl)
            .expect("kubectl (lab/scripts/build-control-plane.sh)");
        let out = std::process::Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(self.cluster.kubeconfig())
            .args(args)
            .output()
            .expect("running kubectl");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "kubectl {args:?} failed:\n{text}");
        text
    }

    /// Creates a namespace with these labels.
    pub async fn create_namespace(&self, name: &str, labels: &[(&str, &str)]) {
        objects::create_namespace(&self.client, name, labels)
            .await
            .expect("creating a namespace");
    }

    /// Starts the controller with the admin kubeconfig and these extra flags.
    pub fn start_controller(&mut self, extra: &[&str]) {
        let kubeconfig = self.cluster.kubeconfig().to_str().unwrap().to_owned();
        self.start_controller_with(&["--kubeconfig", &kubeconfig], extra);
    }

    /// Starts the controller with `auth` (how it finds the apiserver) and `extra` flags.
    pub fn start_controller_with(&mut self, auth: &[&str], extra: &[&str]) {
        assert!(
            self.controller.is_none(),
            "the controller is already running"
        );
        let port =
            lab::ports::free_port("127.0.0.1".parse().unwrap(), "controller metrics").unwrap();
        self.metrics_port = port;
        let compare = compared_controller();
        // MetalLB's own controller serves metrics over HTTPS on --port and /readyz on the
        // health-probe port; ours serves all of them on --port.
        let (metrics, probes) = if compare.is_some() {
            (0, port)
        } else {
            (port, 0)
        };
        let mut args: Vec<String> = vec![
            "--namespace".into(),
            NS.into(),
            "--port".into(),
            metrics.to_string(),
            "--health-probe-port".into(),
            probes.to_string(),
            "--log-level".into(),
            "debug".into(),
        ];
        if compare.is_some() {
            args.extend([
                "--webhook-mode=disabled".into(),
                format!("--pod-name={COMPARE_POD}"),
            ]);
        }
        args.extend(auth.iter().map(|s| s.to_string()));
        args.extend(extra.iter().map(|s| s.to_string()));
        let program = compare.unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_controller")));
        let process = Process::spawn("controller", &program, &args, None, &self.log)
            .expect("starting the controller");
        self.controller = Some(process);
    }

    /// Stops the controller (SIGTERM, then SIGKILL after 5 s).
    pub fn stop_controller(&mut self) {
        if let Some(mut p) = self.controller.take() {
            p.stop(Duration::from_secs(5));
        }
    }

    /// Whether the controller process is still running.
    pub fn controller_running(&mut self) -> bool {
        self.controller
            .as_mut()
            .is_some_and(|p| p.exited().is_none())
    }

    /// Everything the controller logged so far.
    pub fn controller_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The controller's `/metrics` text (empty if it does not answer).
    pub async fn metrics(&self) -> String {
        http_get(self.metrics_port, "/metrics")
            .await
            .unwrap_or_default()
    }

    /// Waits until the controller answers 200 on `/readyz`.
    pub async fn wait_ready(&self) {
        let port = self.metrics_port;
        eventually(
            "the controller to be ready",
            Duration::from_secs(60),
            || async move {
                let body = http_get(port, "/readyz").await?;
                body.starts_with("ok").then_some(())
            },
        )
        .await;
    }

    /// Creates or replaces the legacy ConfigMap `config` with this `config` text.
    pub async fn apply_legacy_config(&self, config: &str) {
        objects::apply_legacy_config(&self.client, NS, config)
            .await
            .expect("applying the ConfigMap");
    }

    /// Server-side applies a `metallb.io` object (JSON with apiVersion, kind, metadata.name).
    pub async fn apply_cr(&self, object: Value) -> Result<(), objects::ObjectError> {
        objects::apply_cr(&self.client, NS, object).await
    }

    /// Deletes a `metallb.io` object.
    pub async fn delete_cr(&self, version: &str, kind: &str, name: &str) {
        objects::delete_cr(&self.client, NS, version, kind, name)
            .await
            .expect("deleting a metallb.io object");
    }

    /// The Services API of a namespace.
    pub fn services(&self, ns: &str) -> Api<Service> {
        Api::namespaced(self.client.clone(), ns)
    }

    /// Creates a Service from JSON (`metadata.name`, `spec`; type LoadBalancer and one TCP
    /// port 80 unless the JSON says otherwise).
    pub async fn create_service(&self, ns: &str, object: Value) -> Service {
        objects::create_service(&self.client, ns, object)
            .await
            .expect("creating a Service")
    }

    /// Deletes a Service.
    pub async fn delete_service(&self, ns: &str, name: &str) {
        self.services(ns)
            .delete(name, &DeleteParams::default())
            .await
            .expect("deleting a Service");
    }

    /// The Service's `status.loadBalancer.ingress` IPs now.
    pub async fn ingress(&self, ns: &str, name: &str) -> Vec<String> {
        let Ok(svc) = self.services(ns).get(name).await else {
            return Vec::new();
        };
        ingress_ips(&svc)
    }

    /// Waits until the Service has exactly `want` as its ingress IPs.
    pub async fn wait_ingress(&self, ns: &str, name: &str, want: &[&str]) {
        let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        let what = format!("{ns}/{name} to get {want:?}");
        eventually(&what, Duration::from_secs(30), || {
            let want = want.clone();
            async move { (self.ingress(ns, name).await == want).then_some(()) }
        })
        .await;
    }

    /// The Events on an object, oldest first, as `(type, reason, note, reportingController)`.
    pub async fn events(&self, ns: &str, name: &str) -> Vec<(String, String, String, String)> {
        objects::events(&self.client, ns, name)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.type_, e.reason, e.note, e.controller))
            .collect()
    }

    /// Waits for an Event with this reason on the object and returns its note.
    pub async fn wait_event(&self, ns: &str, name: &str, reason: &str) -> String {
        eventually(
            &format!("event {reason} on {ns}/{name}"),
            Duration::from_secs(30),
            || async move {
                self.events(ns, name)
                    .await
                    .into_iter()
                    .find(|e| e.1 == reason)
                    .map(|e| e.2)
            },
        )
        .await
    }

    /// The ConfigurationState `controller`'s status, as JSON.
    pub async fn configuration_state(&self) -> Option<Value> {
        let gvk = kube::core::GroupVersionKind::gvk("metallb.io", "v1beta1", "ConfigurationState");
        let resource = kube::core::ApiResource::from_gvk(&gvk);
        let api: Api<kube::core::DynamicObject> =
            Api::namespaced_with(self.client.clone(), NS, &resource);
        api.get("controller")
            .await
            .ok()
            .and_then(|o| o.data.get("status").cloned())
    }

    /// Waits until ConfigurationState `controller` says `result`; returns its status.
    pub async fn wait_configuration_state(&self, result: &str) -> Value {
        eventually(
            &format!("ConfigurationState controller {result}"),
            Duration::from_secs(30),
            || async move {
                let status = self.configuration_state().await?;
                (status["result"] == result).then_some(status)
            },
        )
        .await
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop_controller();
    }
}

pub use lab::objects::ingress_ips;

/// A plain HTTP/1.0 GET on 127.0.0.1:`port`; the body, or `None` on any failure.
async fn http_get(port: u16, path: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
        .await
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200")
        .then(|| body.to_owned())
        .or_else(|| head.starts_with("HTTP/1.0 200").then(|| body.to_owned()))
}
