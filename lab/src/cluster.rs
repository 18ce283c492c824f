//! A real Kubernetes control plane on this machine: etcd, kube-apiserver and, when asked,
//! kube-controller-manager, kube-scheduler and kwok, each a process of the pinned binaries.
//!
//! [`Cluster::start`] generates the certificates, starts the components in order and waits
//! until each is ready; a component that dies or does not become ready gives an error naming
//! it, with the end of its log. Dropping the [`Cluster`] stops every process (its whole process
//! group) and removes the data directory, also when a test panics.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, ServiceAccount};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::binaries::{Binaries, Binary, MissingBinary};
use crate::kubeconfig::{self, KubeconfigError};
use crate::pki::{Identity, Pki, PkiError};
use crate::ports::{self, NoFreePort};
use crate::process::{Process, SpawnError};

/// The Service ClusterIP ranges: IPv4 as in a kubeadm cluster and the seed (`10.96.0.29`),
/// first so Services are IPv4 unless they ask otherwise, and an IPv6 range so dual-stack
/// Services (`ipFamilyPolicy: PreferDualStack`/`RequireDualStack`) get both families.
pub const SERVICE_CIDR: &str = "10.96.0.0/12,fd00:10:96::/112";

/// The controllers kube-controller-manager runs: what Deployments, DaemonSets, Services and namespaces
/// need, nothing that expects a cloud or real kubelets.
pub const CONTROLLERS: &str = "deployment-controller,replicaset-controller,daemonset-controller,endpointslice-controller,\
endpointslice-mirroring-controller,namespace-controller,garbage-collector-controller,\
serviceaccount-controller,serviceaccount-token-controller,root-ca-certificate-publisher-controller,\
node-lifecycle-controller";

/// How many log lines an error shows.
const TAIL_LINES: usize = 25;

/// Which components to run and where.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// The address kube-apiserver listens on and advertises.
    pub address: IpAddr,
    /// Run every component in this network namespace (for `lab up`); `None`: this one.
    pub netns: Option<String>,
    /// Fixed ports; `None`: free ports are picked (only possible outside a namespace).
    pub ports: Option<Ports>,
    /// Start kube-controller-manager.
    pub controller_manager: bool,
    /// Start kube-scheduler.
    pub scheduler: bool,
    /// Start kwok, which plays kubelet for nodes annotated `kwok.x-k8s.io/node: fake`.
    pub kwok: bool,
    /// Keep the files here (created if needed, not removed on drop); `None`: a new
    /// temporary directory, removed on drop.
    pub data_dir: Option<PathBuf>,
    /// Where the programs are.
    pub binaries: Binaries,
    /// How long a component may take to become ready.
    pub start_timeout: Duration,
    /// Extra command-line arguments per component, appended after the lab's own.
    pub extra_args: Vec<(Binary, String)>,
    /// Namespaces whose pods kwok leaves to the lab's kubelet, which runs them as real
    /// processes and owns their status (see [`crate::kwok`]); empty: kwok plays every pod.
    pub pods_for_lab: Vec<String>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            netns: None,
            ports: None,
            controller_manager: false,
            scheduler: false,
            kwok: false,
            data_dir: None,
            binaries: Binaries::from_env(),
            start_timeout: Duration::from_secs(90),
            extra_args: Vec::new(),
            pods_for_lab: Vec::new(),
        }
    }
}

impl ClusterConfig {
    /// etcd and kube-apiserver only: enough to store and serve objects.
    pub fn apiserver_only() -> Self {
        Self::default()
    }

    /// Every component: Deployments get pods, pods get scheduled onto kwok nodes and run.
    pub fn full() -> Self {
        ClusterConfig {
            controller_manager: true,
            scheduler: true,
            kwok: true,
            ..Self::default()
        }
    }
}

/// The TCP ports of the components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    /// etcd's client port (on loopback).
    pub etcd_client: u16,
    /// etcd's peer port (on loopback).
    pub etcd_peer: u16,
    /// kube-apiserver's secure port (on the cluster address).
    pub apiserver: u16,
    /// kube-controller-manager's health port (on loopback).
    pub controller_manager: u16,
    /// kube-scheduler's health port (on loopback).
    pub scheduler: u16,
    /// kwok's port on the cluster address: its health endpoint and the kubelet API that
    /// `kubectl logs` reaches (nodes advertise it as their kubelet port).
    pub kwok: u16,
}

impl Ports {
    /// The usual ports of a kubeadm cluster, for `lab up` inside its own namespace.
    pub const WELL_KNOWN: Ports = Ports {
        etcd_client: 2379,
        etcd_peer: 2380,
        apiserver: 6443,
        controller_manager: 10257,
        scheduler: 10259,
        kwok: 10250,
    };

    fn pick(addr: IpAddr) -> Result<Ports, NoFreePort> {
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        Ok(Ports {
            etcd_client: ports::free_port(lo, "etcd")?,
            etcd_peer: ports::free_port(lo, "etcd")?,
            apiserver: ports::free_port(addr, "kube-apiserver")?,
            controller_manager: ports::free_port(lo, "kube-controller-manager")?,
            scheduler: ports::free_port(lo, "kube-scheduler")?,
            kwok: ports::free_port(addr, "kwok")?,
        })
    }
}

/// Why a cluster did not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A program is not built.
    #[error(transparent)]
    MissingBinary(#[from] MissingBinary),
    /// The data directory could not be created.
    #[error("cannot create the cluster's data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Certificates could not be generated.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// A kubeconfig could not be written.
    #[error(transparent)]
    Kubeconfig(#[from] KubeconfigError),
    /// No free port.
    #[error(transparent)]
    NoFreePort(#[from] NoFreePort),
    /// A fixed port is already in use.
    #[error("{component} cannot listen on {address}:{port}: the port is already in use")]
    PortTaken {
        /// The component.
        component: Binary,
        /// The address.
        address: IpAddr,
        /// The port.
        port: u16,
    },
    /// A process could not be started.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// A component exited while the cluster was starting.
    #[error("{component} exited during start-up ({status}); the end of its log {log}:\n{tail}")]
    Exited {
        /// The component.
        component: String,
        /// How it ended.
        status: std::process::ExitStatus,
        /// Its log file.
        log: PathBuf,
        /// The last lines of the log.
        tail: String,
    },
    /// A component did not become ready in time.
    #[error(
        "{component} was not ready after {waited:?} ({problem}); the end of its log {log}:\n{tail}"
    )]
    NotReady {
        /// The component.
        component: String,
        /// How long it was given.
        waited: Duration,
        /// The last reason it was not ready.
        problem: String,
        /// Its log file.
        log: PathBuf,
        /// The last lines of the log.
        tail: String,
    },
    /// The client for the cluster could not be built.
    #[error("cannot build a Kubernetes client from {path}: {reason}")]
    Client {
        /// The kubeconfig.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// kwok's stages or its `Logs` CRD could not be set up for the lab's pods.
    #[error("setting up kwok for the lab's pods: {0}")]
    KwokSetup(String),
    /// A request made while setting the cluster up failed.
    #[error("{what}: {source}")]
    Api {
        /// What was being done.
        what: String,
        /// The client's error.
        source: kube::Error,
    },
}

/// A fake node for kwok to run.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// The node name, e.g. `kube-node-1`.
    pub name: String,
    /// Its InternalIP.
    pub internal_ip: IpAddr,
    /// Its pod CIDR, e.g. `10.244.1.0/24`.
    pub pod_cidr: String,
    /// A control-plane node: labelled and tainted `node-role.kubernetes.io/control-plane`
    /// as kubeadm does, so ordinary pods go to the workers.
    pub control_plane: bool,
}

/// A component that is running, for `lab status` and for `lab down`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunningComponent {
    /// The component's name.
    pub name: String,
    /// Its process (and process group) id.
    pub pid: u32,
    /// Its log file.
    pub log: PathBuf,
    /// Where it listens, for people.
    pub listen: String,
}

/// A running control plane. Dropping it stops the processes and removes its files.
pub struct Cluster {
    running: Running,
    ports: Ports,
    server: String,
    admin_kubeconfig: PathBuf,
    client: Client,
}

/// The processes and files of a cluster: stopped and removed on drop, so a start that fails
/// half-way cleans up what it had started.
struct Running {
    processes: Vec<(Process, String)>,
    dir: PathBuf,
    remove_dir: bool,
}

impl Drop for Running {
    fn drop(&mut self) {
        // Stop every component but etcd at once, with a shared grace period, then etcd:
        // an apiserver whose etcd is gone hangs in its shutdown instead of ending.
        let storage = if self.processes.is_empty() {
            None
        } else {
            Some(self.processes.remove(0))
        };
        stop_all(&mut self.processes);
        stop_all(&mut storage.into_iter().collect());
        if self.remove_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// SIGTERM to every process, a shared grace period of 3 s, then SIGKILL to what is left.
fn stop_all(processes: &mut Vec<(Process, String)>) {
    for (process, _) in processes.iter() {
        process.terminate();
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline
        && processes
            .iter_mut()
            .any(|(process, _)| process.exited().is_none())
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    while let Some((mut process, _)) = processes.pop() {
        process.stop(Duration::ZERO);
    }
}

static CLUSTER_SEQ: AtomicU32 = AtomicU32::new(0);

fn temp_dir() -> PathBuf {
    let seq = CLUSTER_SEQ.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    std::env::temp_dir().join(format!(
        "ferrolb-lab-{}-{seq}-{nanos:08x}",
        std::process::id()
    ))
}

fn s(v: impl std::fmt::Display) -> String {
    v.to_string()
}

fn url_host(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => format!("[{a}]"),
    }
}

impl Cluster {
    /// Starts the control plane described by `config` and waits until it is ready.
    pub async fn start(config: ClusterConfig) -> Result<Cluster, ClusterError> {
        let bins = &config.binaries;
        // Find every program first: a missing one fails before anything starts.
        let etcd = bins.path(Binary::Etcd)?;
        let apiserver = bins.path(Binary::KubeApiserver)?;
        let kcm = if config.controller_manager {
            Some(bins.path(Binary::KubeControllerManager)?)
        } else {
            None
        };
        let scheduler = if config.scheduler {
            Some(bins.path(Binary::KubeScheduler)?)
        } else {
            None
        };
        let kwok = if config.kwok {
            Some((bins.path(Binary::Kwok)?, bins.path(Binary::KwokStages)?))
        } else {
            None
        };

        let ports = match config.ports {
            Some(p) => p,
            None => Ports::pick(config.address)?,
        };
        if config.netns.is_none() {
            let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
            let mut checks = vec![
                (Binary::Etcd, lo, ports.etcd_client),
                (Binary::Etcd, lo, ports.etcd_peer),
                (Binary::KubeApiserver, config.address, ports.apiserver),
            ];
            if config.controller_manager {
                checks.push((Binary::KubeControllerManager, lo, ports.controller_manager));
            }
            if config.scheduler {
                checks.push((Binary::KubeScheduler, lo, ports.scheduler));
            }
            if config.kwok {
                checks.push((Binary::Kwok, config.address, ports.kwok));
            }
            for (component, address, port) in checks {
                if !ports::is_free(address, port) {
                    return Err(ClusterError::PortTaken {
                        component,
                        address,
                        port,
                    });
                }
            }
        }

        let extra = |component: Binary| {
            config
                .extra_args
                .iter()
                .filter(move |(b, _)| *b == component)
                .map(|(_, a)| a.clone())
        };
        let (dir, remove_dir) = match &config.data_dir {
            Some(d) => (d.clone(), false),
            None => (temp_dir(), true),
        };
        std::fs::create_dir_all(&dir).map_err(|source| ClusterError::DataDir {
            path: dir.clone(),
            source,
        })?;
        let server = format!("https://{}:{}", url_host(config.address), ports.apiserver);
        // From here on, dropping `cluster` cleans up whatever was started.
        let mut cluster = Running {
            processes: Vec::new(),
            dir: dir.clone(),
            remove_dir,
        };
        let admin_kubeconfig = dir.join("admin.kubeconfig");

        let pki = Pki::create(&dir)?;
        let serving = pki.server(
            "kube-apiserver",
            &[
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
                "localhost",
            ],
            &[
                config.address,
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V4(Ipv4Addr::new(10, 96, 0, 1)),
            ],
        )?;
        let sa = pki.service_account_key()?;
        let admin = pki.client(Identity {
            file: "admin",
            user: "kubernetes-admin",
            groups: &["system:masters"],
        })?;
        kubeconfig::write(
            &admin_kubeconfig,
            "ferrolb-lab",
            &server,
            &pki.ca_cert,
            &admin,
        )?;

        let netns = config.netns.as_deref();
        let data = |name: &str| dir.join(name).display().to_string();
        let etcd_client_url = format!("http://127.0.0.1:{}", ports.etcd_client);
        let etcd_peer_url = format!("http://127.0.0.1:{}", ports.etcd_peer);
        let mut etcd_args = vec![
            s("--name=lab"),
            format!("--data-dir={}", data("etcd")),
            format!("--listen-client-urls={etcd_client_url}"),
            format!("--advertise-client-urls={etcd_client_url}"),
            format!("--listen-peer-urls={etcd_peer_url}"),
            format!("--initial-advertise-peer-urls={etcd_peer_url}"),
            format!("--initial-cluster=lab={etcd_peer_url}"),
            s("--initial-cluster-state=new"),
            // The lab's data is disposable: skip fsync so start-up is fast on shared disks.
            s("--unsafe-no-fsync=true"),
            s("--log-level=warn"),
        ];
        etcd_args.extend(extra(Binary::Etcd));
        cluster.spawn(
            Binary::Etcd,
            &etcd,
            &etcd_args,
            netns,
            etcd_client_url.clone(),
        )?;

        let mut apiserver_args = vec![
            format!("--etcd-servers={etcd_client_url}"),
            format!("--bind-address={}", config.address),
            format!("--advertise-address={}", config.address),
            format!("--secure-port={}", ports.apiserver),
            format!("--tls-cert-file={}", serving.cert.display()),
            format!("--tls-private-key-file={}", serving.key.display()),
            format!("--client-ca-file={}", pki.ca_cert.display()),
            format!("--service-account-key-file={}", sa.cert.display()),
            format!("--service-account-signing-key-file={}", sa.key.display()),
            s("--service-account-issuer=https://kubernetes.default.svc.cluster.local"),
            format!("--service-cluster-ip-range={SERVICE_CIDR}"),
            s("--authorization-mode=Node,RBAC"),
            // As kubeadm: reach kubelets (kwok, for `kubectl logs`) at their InternalIP.
            s("--kubelet-preferred-address-types=InternalIP,Hostname"),
            s("--enable-admission-plugins=NodeRestriction"),
            s("--allow-privileged=true"),
            format!("--cert-dir={}", data("apiserver-certs")),
            s("--profiling=false"),
        ];
        apiserver_args.extend(extra(Binary::KubeApiserver));
        cluster.spawn(
            Binary::KubeApiserver,
            &apiserver,
            &apiserver_args,
            netns,
            server.clone(),
        )?;
        let kc = Kubeconfig::read_from(&admin_kubeconfig).map_err(|e| ClusterError::Client {
            path: admin_kubeconfig.clone(),
            reason: e.to_string(),
        })?;
        let client = client_from(&admin_kubeconfig, kc).await?;
        cluster
            .wait_ready(Binary::KubeApiserver.name(), config.start_timeout, || {
                let client = client.clone();
                async move { apiserver_ready(&client).await }
            })
            .await?;

        if let Some(kcm) = kcm {
            let files = pki.client(Identity {
                file: "controller-manager",
                user: "system:kube-controller-manager",
                groups: &[],
            })?;
            let kc = dir.join("controller-manager.kubeconfig");
            kubeconfig::write(&kc, "ferrolb-lab", &server, &pki.ca_cert, &files)?;
            let mut args = vec![
                format!("--kubeconfig={}", kc.display()),
                format!("--authentication-kubeconfig={}", kc.display()),
                format!("--authorization-kubeconfig={}", kc.display()),
                s("--bind-address=127.0.0.1"),
                format!("--secure-port={}", ports.controller_manager),
                format!("--cert-dir={}", data("controller-manager-certs")),
                format!("--controllers={CONTROLLERS}"),
                format!("--service-account-private-key-file={}", sa.key.display()),
                format!("--root-ca-file={}", pki.ca_cert.display()),
                s("--use-service-account-credentials=true"),
                format!("--service-cluster-ip-range={SERVICE_CIDR}"),
                s("--profiling=false"),
            ];
            args.extend(extra(Binary::KubeControllerManager));
            let listen = format!("127.0.0.1:{}", ports.controller_manager);
            cluster.spawn(Binary::KubeControllerManager, &kcm, &args, netns, listen)?;
        }
        if let Some(scheduler) = scheduler {
            let files = pki.client(Identity {
                file: "scheduler",
                user: "system:kube-scheduler",
                groups: &[],
            })?;
            let kc = dir.join("scheduler.kubeconfig");
            kubeconfig::write(&kc, "ferrolb-lab", &server, &pki.ca_cert, &files)?;
            let mut args = vec![
                format!("--kubeconfig={}", kc.display()),
                format!("--authentication-kubeconfig={}", kc.display()),
                format!("--authorization-kubeconfig={}", kc.display()),
                s("--bind-address=127.0.0.1"),
                format!("--secure-port={}", ports.scheduler),
                s("--profiling=false"),
            ];
            args.extend(extra(Binary::KubeScheduler));
            let listen = format!("127.0.0.1:{}", ports.scheduler);
            cluster.spawn(Binary::KubeScheduler, &scheduler, &args, netns, listen)?;
        }
        if let Some((kwok, stages)) = kwok {
            // kwok plays every kubelet, so it gets node-level rights cluster-wide.
            let files = pki.client(Identity {
                file: "kwok",
                user: "kwok",
                groups: &["system:masters"],
            })?;
            let kc = dir.join("kwok.kubeconfig");
            kubeconfig::write(&kc, "ferrolb-lab", &server, &pki.ca_cert, &files)?;
            let stages = kwok_stages(&client, &stages, &config.pods_for_lab, &dir).await?;
            let kwok_addr = format!("{}:{}", url_host(config.address), ports.kwok);
            let mut args = vec![
                format!("--kubeconfig={}", kc.display()),
                format!("--config={}", stages.display()),
                s("--node-lease-duration-seconds=40"),
                s("--manage-all-nodes=false"),
                s("--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake"),
                format!("--server-address={kwok_addr}"),
                format!("--node-port={}", ports.kwok),
                format!("--node-ip={}", config.address),
            ];
            if !config.pods_for_lab.is_empty() {
                args.push(s("--enable-crds=Logs"));
            }
            args.extend(extra(Binary::Kwok));
            let listen = kwok_addr;
            cluster.spawn(Binary::Kwok, &kwok, &args, netns, listen)?;
        }
        // The controller-manager and scheduler are ready once they lead (their controllers
        // start right after); kwok once its health endpoint answers.
        for (component, lease) in [
            (Binary::KubeControllerManager, "kube-controller-manager"),
            (Binary::KubeScheduler, "kube-scheduler"),
        ] {
            if cluster.has(component.name()) {
                let client = client.clone();
                cluster
                    .wait_ready(component.name(), config.start_timeout, || {
                        let client = client.clone();
                        async move { lease_held(&client, lease).await }
                    })
                    .await?;
            }
        }
        if cluster.has(Binary::Kwok.name()) {
            let addr = format!("{}:{}", url_host(config.address), ports.kwok);
            let in_ns = netns.map(str::to_owned);
            cluster
                .wait_ready(Binary::Kwok.name(), config.start_timeout, || {
                    let addr = addr.clone();
                    let in_ns = in_ns.clone();
                    async move { kwok_ready(&addr, in_ns.as_deref()).await }
                })
                .await?;
        }
        Ok(Cluster {
            running: cluster,
            ports,
            server,
            admin_kubeconfig,
            client,
        })
    }
}

impl Running {
    fn has(&self, name: &str) -> bool {
        self.processes.iter().any(|(p, _)| p.name() == name)
    }

    fn spawn(
        &mut self,
        component: Binary,
        program: &Path,
        args: &[String],
        netns: Option<&str>,
        listen: String,
    ) -> Result<(), ClusterError> {
        let log = self.dir.join(format!("{}.log", component.name()));
        let process = Process::spawn(component.name(), program, args, netns, &log)?;
        self.processes.push((process, listen));
        Ok(())
    }

    /// Polls `check` until it returns `Ok(())`, failing as soon as any started process has
    /// exited or when `timeout` passes.
    async fn wait_ready<F, Fut>(
        &mut self,
        component: &str,
        timeout: Duration,
        mut check: F,
    ) -> Result<(), ClusterError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(), String>>,
    {
        let start = Instant::now();
        loop {
            for (process, _) in &mut self.processes {
                if let Some(status) = process.exited() {
                    return Err(ClusterError::Exited {
                        component: process.name().to_owned(),
                        status,
                        log: process.log().to_owned(),
                        tail: process.log_tail(TAIL_LINES),
                    });
                }
            }
            let problem = match check().await {
                Ok(()) => return Ok(()),
                Err(p) => p,
            };
            if start.elapsed() > timeout {
                let log = self.dir.join(format!("{component}.log"));
                return Err(ClusterError::NotReady {
                    component: component.to_owned(),
                    waited: timeout,
                    problem,
                    tail: crate::process::log_tail(&log, TAIL_LINES),
                    log,
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A client for the cluster described by `kc` (read from `path`, named in errors).
async fn client_from(path: &Path, kc: Kubeconfig) -> Result<Client, ClusterError> {
    let err = |reason: String| ClusterError::Client {
        path: path.to_owned(),
        reason,
    };
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| err(e.to_string()))?;
    Client::try_from(config).map_err(|e| err(e.to_string()))
}

impl Cluster {
    /// A client with the admin's rights (`system:masters`).
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// A client that authenticates with a bearer `token` (e.g. a ServiceAccount's), to see
    /// the cluster with that identity's rights.
    pub async fn client_with_token(&self, token: &str) -> Result<Client, ClusterError> {
        let kc = self.kubeconfig_with_token(token)?;
        client_from(&self.admin_kubeconfig, kc).await
    }

    /// The admin kubeconfig with its user replaced by a bearer `token`.
    fn kubeconfig_with_token(&self, token: &str) -> Result<Kubeconfig, ClusterError> {
        let path = &self.admin_kubeconfig;
        let err = |reason: String| ClusterError::Client {
            path: path.clone(),
            reason,
        };
        let mut kc = Kubeconfig::read_from(path).map_err(|e| err(e.to_string()))?;
        let auth = serde_json::from_value(serde_json::json!({ "token": token }))
            .map_err(|e: serde_json::Error| err(e.to_string()))?;
        if let Some(user) = kc.auth_infos.first_mut() {
            user.auth_info = Some(auth);
        }
        Ok(kc)
    }

    /// Writes a kubeconfig file for a bearer `token` to `path`, so a program run as a
    /// process (`--kubeconfig path`) acts with that identity's rights.
    pub fn write_kubeconfig_with_token(
        &self,
        token: &str,
        path: &Path,
    ) -> Result<(), ClusterError> {
        let err = |reason: String| ClusterError::Client {
            path: path.to_owned(),
            reason,
        };
        let kc = self.kubeconfig_with_token(token)?;
        // JSON is YAML: any kubeconfig reader takes it.
        let text = serde_json::to_string_pretty(&kc).map_err(|e| err(e.to_string()))?;
        std::fs::write(path, text).map_err(|e| err(e.to_string()))
    }

    /// A fresh token of ServiceAccount `namespace/name` (TokenRequest API), as the kubelet
    /// would mount it into the account's pods.
    pub async fn service_account_token(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<String, ClusterError> {
        let accounts: Api<ServiceAccount> = Api::namespaced(self.client(), namespace);
        let what = format!("requesting a token for ServiceAccount {namespace}/{name}");
        let request: TokenRequest = serde_json::from_value(
            serde_json::json!({"spec": {"audiences": []}}),
        )
        .map_err(|e| ClusterError::Client {
            path: self.admin_kubeconfig.clone(),
            reason: e.to_string(),
        })?;
        let response = accounts
            .create_token_request(name, &PostParams::default(), &request)
            .await
            .map_err(|source| ClusterError::Api {
                what: what.clone(),
                source,
            })?;
        response
            .status
            .and_then(|s| s.token)
            .ok_or_else(|| ClusterError::Client {
                path: self.admin_kubeconfig.clone(),
                reason: format!("{what}: the apiserver returned no token"),
            })
    }

    /// The admin kubeconfig file.
    pub fn kubeconfig(&self) -> &Path {
        &self.admin_kubeconfig
    }

    /// The apiserver URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The data directory (certificates, kubeconfigs, logs, etcd data).
    pub fn data_dir(&self) -> &Path {
        &self.running.dir
    }

    /// The ports in use.
    pub fn ports(&self) -> Ports {
        self.ports
    }

    /// The running components.
    pub fn components(&self) -> Vec<RunningComponent> {
        self.running
            .processes
            .iter()
            .filter_map(|(p, listen)| {
                Some(RunningComponent {
                    name: p.name().to_owned(),
                    pid: p.pid()?,
                    log: p.log().to_owned(),
                    listen: listen.clone(),
                })
            })
            .collect()
    }

    /// Registers a fake node that kwok runs (needs [`ClusterConfig::kwok`]) and waits until
    /// it is Ready.
    pub async fn add_node(&self, spec: &NodeSpec, timeout: Duration) -> Result<(), ClusterError> {
        let nodes: Api<Node> = Api::all(self.client());
        let node: Node =
            serde_json::from_value(node_object(spec)).map_err(|e| ClusterError::Client {
                path: self.admin_kubeconfig.clone(),
                reason: format!("node object for {}: {e}", spec.name),
            })?;
        nodes
            .create(&PostParams::default(), &node)
            .await
            .map_err(|source| ClusterError::Api {
                what: format!("creating node {}", spec.name),
                source,
            })?;
        let start = Instant::now();
        loop {
            if let Ok(n) = nodes.get(&spec.name).await
                && node_ready(&n)
            {
                return Ok(());
            }
            if start.elapsed() > timeout {
                let log = self.running.dir.join("kwok.log");
                return Err(ClusterError::NotReady {
                    component: format!("kwok (node {})", spec.name),
                    waited: timeout,
                    problem: "the node has no Ready condition".to_owned(),
                    tail: crate::process::log_tail(&log, TAIL_LINES),
                    log,
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Leaves the processes running and the files in place, returning what runs (for
    /// `lab up`, whose control plane outlives the command).
    pub fn detach(mut self) -> Vec<RunningComponent> {
        let running = self.components();
        for (process, _) in std::mem::take(&mut self.running.processes) {
            let _ = process.detach();
        }
        self.running.remove_dir = false;
        running
    }
}

fn node_object(spec: &NodeSpec) -> serde_json::Value {
    let mut node = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": spec.name,
            "labels": {
                "kubernetes.io/hostname": spec.name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
            "annotations": {
                "kwok.x-k8s.io/node": "fake",
                "node.alpha.kubernetes.io/ttl": "0",
            },
        },
        "spec": {
            "podCIDR": spec.pod_cidr,
            "podCIDRs": [spec.pod_cidr],
        },
        "status": {
            "addresses": [
                { "type": "InternalIP", "address": spec.internal_ip.to_string() },
                { "type": "Hostname", "address": spec.name },
            ],
            "allocatable": { "cpu": "16", "memory": "64Gi", "pods": "110" },
            "capacity": { "cpu": "16", "memory": "64Gi", "pods": "110" },
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kubeletVersion": crate::binaries::kubernetes_version(),
                "kubeProxyVersion": "",
                "bootID": "", "containerRuntimeVersion": "kwok", "kernelVersion": "",
                "machineID": "", "osImage": "kwok", "systemUUID": "",
            },
        },
    });
    if spec.control_plane {
        node["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] = "".into();
        node["spec"]["taints"] = serde_json::json!([
            { "key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule" }
        ]);
    }
    node
}

/// Whether the node has condition Ready=True.
pub fn node_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

async fn apiserver_ready(client: &Client) -> Result<(), String> {
    let request = http::Request::get("/readyz")
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    match client.request_text(request).await {
        Ok(body) if body.trim() == "ok" => Ok(()),
        Ok(body) => Err(format!("/readyz said {body:?}")),
        Err(e) => Err(format!("/readyz: {e}")),
    }
}

async fn lease_held(client: &Client, name: &str) -> Result<(), String> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
    match leases.get_opt(name).await {
        Ok(Some(lease))
            if lease
                .spec
                .as_ref()
                .and_then(|s| s.holder_identity.as_ref())
                .is_some() =>
        {
            Ok(())
        }
        Ok(_) => Err(format!("it holds no leader lease kube-system/{name} yet")),
        Err(e) => Err(format!("reading lease kube-system/{name}: {e}")),
    }
}

/// The Stage file kwok runs with: the pinned release's, or, when the pods of `namespaces`
/// are left to the lab's kubelet, a copy in `dir` whose Pod stages exclude them. In that case
/// kwok's `Logs` CRD is created and established first, so kwok's watch of it starts cleanly.
async fn kwok_stages(
    client: &Client,
    stages: &Path,
    namespaces: &[String],
    dir: &Path,
) -> Result<PathBuf, ClusterError> {
    if namespaces.is_empty() {
        return Ok(stages.to_owned());
    }
    let setup = |e: String| ClusterError::KwokSetup(e);
    let text = std::fs::read_to_string(stages)
        .map_err(|e| setup(format!("reading {}: {e}", stages.display())))?;
    let filtered = crate::kwok::leave_pods_to_lab(&text, namespaces, stages)
        .map_err(|e| setup(e.to_string()))?;
    let path = dir.join("kwok-stages.yaml");
    std::fs::write(&path, filtered)
        .map_err(|e| setup(format!("writing {}: {e}", path.display())))?;

    let crd: CustomResourceDefinition =
        serde_json::from_str(crate::kwok::LOGS_CRD).map_err(|e| setup(e.to_string()))?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &crd)
        .await
        .map_err(|source| ClusterError::Api {
            what: "creating kwok's Logs CRD".to_owned(),
            source,
        })?;
    let start = Instant::now();
    loop {
        let established = crds
            .get_opt("logs.kwok.x-k8s.io")
            .await
            .ok()
            .flatten()
            .and_then(|c| c.status)
            .and_then(|s| s.conditions)
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
            });
        if established {
            return Ok(path);
        }
        if start.elapsed() > Duration::from_secs(30) {
            return Err(setup(
                "kwok's Logs CRD was not established after 30 s".to_owned(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn kwok_ready(addr: &str, netns: Option<&str>) -> Result<(), String> {
    // kwok serves /healthz over plain HTTP; inside a namespace the port is only reachable
    // from there, so ask through `ip netns exec` there.
    let probe = match netns {
        None => tokio::net::TcpStream::connect(addr)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Some(ns) => {
            let (host, port) = addr.rsplit_once(':').unwrap_or((addr, "0"));
            let status = tokio::process::Command::new("ip")
                .args(["netns", "exec", ns, "bash", "-c"])
                .arg(format!("exec 3<>/dev/tcp/{host}/{port}"))
                .status()
                .await
                .map_err(|e| e.to_string())?;
            if status.success() {
                Ok(())
            } else {
                Err(format!("{addr} refused"))
            }
        }
    };
    probe.map_err(|e| format!("its port {addr} does not answer: {e}"))
}
