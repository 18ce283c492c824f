//! The seed tutorial's lab: [`up`] builds the network of [`crate::network`], starts the
//! control plane in `kube-master`, registers the nodes and writes a kubeconfig for the user;
//! [`down`] removes all of it; [`status`] tells what runs where.
//!
//! What `lab up` started is recorded in a state file, `$FERROLB_LAB_DIR/state.json`
//! (default `/run/ferrolb-lab`), so `lab down` and `lab status` work from another shell.
//! Later parts of ferrolb (the controller, speakers, mini-router, a kube-proxy stand-in) join
//! the lab as [`ExtraProcess`]es: programs started in a namespace after the control plane,
//! recorded and stopped like the control plane.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::binaries::{Binaries, Binary, MissingBinary};
use crate::cluster::{Cluster, ClusterConfig, ClusterError, NodeSpec, Ports, RunningComponent};
use crate::network::{self, HOSTS, IpError};
use crate::process::{Process, SpawnError, group_alive, stop_groups};

/// The namespace running the control plane.
pub const CONTROL_PLANE_NETNS: &str = "kube-master";

/// The namespaces whose pods the lab's kubelet runs as real processes (kwok plays the rest).
pub const PLAYED_NAMESPACES: [&str; 1] = ["metallb-system"];

/// The `config` of the tutorial's legacy MetalLB ConfigMap, exactly as the seed applies it:
/// one iBGP peer (the router) and the pool 198.51.100.0/24.
pub const TUTORIAL_CONFIG: &str = "peers:
- my-asn: 64512
  peer-asn: 64512
  peer-address: 10.192.0.7
address-pools:
- name: my-ip-space
  protocol: bgp
  addresses:
  - 198.51.100.0/24
";

/// Where the lab keeps its state: `$FERROLB_LAB_DIR`, else `/run/ferrolb-lab` (gone after a
/// reboot, like the namespaces themselves).
pub fn state_dir() -> PathBuf {
    std::env::var_os("FERROLB_LAB_DIR")
        .map_or_else(|| PathBuf::from("/run/ferrolb-lab"), PathBuf::from)
}

/// The user's kubeconfig for the lab.
pub fn kubeconfig_path() -> PathBuf {
    state_dir().join("kubeconfig")
}

/// A program a later part of ferrolb adds to the lab, started after the control plane.
#[derive(Debug, Clone)]
pub struct ExtraProcess {
    /// Its name in `lab status` and in errors, e.g. `speaker-kube-node-1`.
    pub name: String,
    /// The namespace it runs in, e.g. `router`.
    pub netns: String,
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// The program enters `netns` itself and is started in this namespace: the lab's own
    /// agents do, because `ip netns exec` would give them a mount namespace of their own in
    /// which the pod namespaces they make would not show.
    pub enters_netns_itself: bool,
}

/// What `lab up` records and `lab down` undoes.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LabState {
    /// The Kubernetes version running.
    pub kubernetes_version: String,
    /// The apiserver URL.
    pub server: String,
    /// Seconds since the epoch when the lab came up.
    pub started_at: u64,
    /// The processes, each with the namespace it runs in.
    pub processes: Vec<(String, RunningComponent)>,
    /// Directories `lab up` created outside its state directory (the in-cluster
    /// ServiceAccount mount point), removed by `lab down` when empty.
    #[serde(default)]
    pub created_dirs: Vec<PathBuf>,
}

/// Why `lab up`, `lab down` or `lab status` failed.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A program is missing.
    #[error(transparent)]
    MissingBinary(#[from] MissingBinary),
    /// A network command failed.
    #[error("building the network: {0}")]
    Network(#[from] IpError),
    /// The control plane did not start.
    #[error("starting the control plane in {CONTROL_PLANE_NETNS}: {0}")]
    Cluster(#[from] ClusterError),
    /// An extra process did not start.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// Part of a lab is there without its state file.
    #[error(
        "a lab is partly present ({0}) but has no state file in {dir}: run `lab down` first",
        dir = state_dir().display()
    )]
    Partial(String),
    /// The state file could not be read or written.
    #[error("the lab's state file {path}: {reason}")]
    State {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// `lab down` could not remove everything.
    #[error("lab down left {0}")]
    Leftovers(String),
    /// The router did not start.
    #[error(transparent)]
    Router(#[from] crate::router::RouterError),
    /// ferrolb's binaries are missing, or installing it failed.
    #[error("{0}")]
    Ferrolb(String),
}

/// Progress of a long step: prints `name…` and, when done, how long it took.
pub struct Step {
    name: String,
    start: Instant,
}

impl Step {
    /// Announces the step.
    pub fn begin(name: &str) -> Step {
        eprintln!("lab: {name} ...");
        Step {
            name: name.to_owned(),
            start: Instant::now(),
        }
    }

    /// Reports the step done.
    pub fn done(self) {
        eprintln!(
            "lab: {} done in {:.1} s",
            self.name,
            self.start.elapsed().as_secs_f64()
        );
    }
}

/// The state of the running lab, if there is one.
pub fn read_state() -> Result<Option<LabState>, LabError> {
    read_state_in(&state_dir())
}

/// The state of the lab whose state directory is `dir`, if it is up.
pub fn read_state_in(dir: &Path) -> Result<Option<LabState>, LabError> {
    let path = dir.join("state.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(LabError::State {
                path,
                reason: e.to_string(),
            });
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| LabError::State {
            path,
            reason: e.to_string(),
        })
}

fn write_state(state: &LabState) -> Result<(), LabError> {
    write_state_in(&state_dir(), state)
}

fn write_state_in(dir: &Path, state: &LabState) -> Result<(), LabError> {
    let path = dir.join("state.json");
    let err = |reason: String| LabError::State {
        path: path.clone(),
        reason,
    };
    let text = serde_json::to_string_pretty(state).map_err(|e| err(e.to_string()))?;
    std::fs::write(&path, text).map_err(|e| err(e.to_string()))
}

/// What `lab up` did.
#[derive(Debug)]
pub enum UpOutcome {
    /// A lab was already up; nothing was changed.
    AlreadyUp(LabState),
    /// The lab came up.
    Started(LabState),
}

/// What `lab up` sets up beyond the cluster.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// Install ferrolb with `kubectl apply -f MANIFESTS/metallb.yaml`, as the tutorial does.
    pub install: bool,
    /// Start the router with its quick start (`--asn 64512 --listen-range 10.192.0.0/24`),
    /// so it needs no configuring; else it starts unconfigured, as the tutorial's did.
    pub router_quick_start: bool,
    /// The manifests directory.
    pub manifests: PathBuf,
    /// Where ferrolb's binaries (controller, speaker, mini-router) are.
    pub ferrolb_bin: PathBuf,
}

/// Builds the seed's lab: network, control plane in `kube-master`, nodes, kubeconfig, the
/// kubelets and kube-proxy stand-ins of [`crate::agents`], the router, then ferrolb as
/// `options` say. On failure everything made so far is removed again.
pub async fn up(binaries: &Binaries, options: &UpOptions) -> Result<UpOutcome, LabError> {
    if let Some(state) = read_state()? {
        return Ok(UpOutcome::AlreadyUp(state));
    }
    let leftovers = network::leftovers();
    if !leftovers.is_empty() {
        return Err(LabError::Partial(leftovers.join(", ")));
    }
    for b in [
        Binary::Etcd,
        Binary::KubeApiserver,
        Binary::KubeControllerManager,
        Binary::KubeScheduler,
        Binary::Kwok,
        Binary::KwokStages,
        Binary::Kubectl,
    ] {
        binaries.path(b)?;
    }
    let dir = state_dir();
    std::fs::create_dir_all(&dir).map_err(|e| LabError::State {
        path: dir.clone(),
        reason: e.to_string(),
    })?;
    crate::agents::check_binaries(&options.ferrolb_bin)?;
    match up_inner(binaries, options, &dir).await {
        Ok(state) => Ok(UpOutcome::Started(state)),
        Err(e) => {
            // Undo everything: processes already recorded, namespaces, links, files.
            eprintln!("lab: up failed; removing what it made");
            let _ = down();
            let _ = std::fs::remove_dir_all(&dir);
            Err(e)
        }
    }
}

async fn up_inner(
    binaries: &Binaries,
    options: &UpOptions,
    dir: &Path,
) -> Result<LabState, LabError> {
    let step = Step::begin(
        "network: bridge lab-br0 10.192.0.0/24, namespaces kube-master, kube-node-1, kube-node-2, router",
    );
    network::create()?;
    step.done();

    let step = Step::begin(
        "control plane in kube-master (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok)",
    );
    let master = HOSTS[0].address;
    let config = ClusterConfig {
        address: IpAddr::V4(master),
        netns: Some(CONTROL_PLANE_NETNS.to_owned()),
        ports: Some(Ports::WELL_KNOWN),
        data_dir: Some(dir.join("cluster")),
        binaries: binaries.clone(),
        pods_for_lab: PLAYED_NAMESPACES.iter().map(|s| (*s).to_owned()).collect(),
        ..ClusterConfig::full()
    };
    let cluster = Cluster::start(config).await?;
    step.done();

    let step = Step::begin("nodes kube-master, kube-node-1, kube-node-2 (kwok)");
    for host in HOSTS {
        let Some(cidr) = host.pod_cidr else { continue };
        cluster
            .add_node(
                &NodeSpec {
                    name: host.netns.to_owned(),
                    internal_ip: IpAddr::V4(host.address),
                    pod_cidr: cidr.to_owned(),
                    control_plane: host.netns == CONTROL_PLANE_NETNS,
                },
                Duration::from_secs(60),
            )
            .await?;
    }
    step.done();

    let kubeconfig = kubeconfig_path();
    std::fs::copy(cluster.kubeconfig(), &kubeconfig).map_err(|e| LabError::State {
        path: kubeconfig.clone(),
        reason: e.to_string(),
    })?;
    let server = cluster.server().to_owned();
    let processes: Vec<(String, RunningComponent)> = cluster
        .detach()
        .into_iter()
        .map(|c| (CONTROL_PLANE_NETNS.to_owned(), c))
        .collect();
    let mut state = LabState {
        kubernetes_version: crate::binaries::kubernetes_version().to_owned(),
        server,
        started_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        processes,
        created_dirs: Vec::new(),
    };
    write_state(&state)?;

    let step = Step::begin(
        "kubelets for the metallb-system pods and kube-proxy stand-ins on kube-master, kube-node-1, kube-node-2",
    );
    state.created_dirs = crate::agents::service_account_mount_point()?;
    write_state(&state)?;
    for extra in crate::agents::processes(dir, &kubeconfig) {
        add_process(&extra)?;
    }
    step.done();

    let step = Step::begin(&format!(
        "mini-router in {} (10.192.0.7){}",
        crate::router::NETNS,
        if options.router_quick_start {
            ", quick start: AS 64512, any speaker of 10.192.0.0/24"
        } else {
            ", not configured yet (as the tutorial's router)"
        }
    ));
    let files = crate::router::RouterFiles {
        dir: dir.to_owned(),
    };
    let components = crate::router::start(
        &files,
        &options.ferrolb_bin.join("mini-router"),
        options.router_quick_start,
    )?;
    record_components(dir, crate::router::NETNS, components)?;
    step.done();

    if options.install {
        crate::install::install(binaries, &options.manifests, &kubeconfig).await?;
    }
    state = read_state()?.unwrap_or(state);
    Ok(state)
}

/// Adds components started elsewhere (the router's) to the state file.
pub fn record_components(
    dir: &Path,
    netns: &str,
    components: Vec<RunningComponent>,
) -> Result<(), LabError> {
    let Some(mut state) = read_state_in(dir)? else {
        return Err(LabError::State {
            path: dir.join("state.json"),
            reason: "no lab is up".to_owned(),
        });
    };
    let names: Vec<String> = components.iter().map(|c| c.name.clone()).collect();
    state.processes.retain(|(_, c)| !names.contains(&c.name));
    state
        .processes
        .extend(components.into_iter().map(|c| (netns.to_owned(), c)));
    write_state_in(dir, &state)
}

/// Starts `extra` in the running lab and records it in the state file, so `lab status`
/// shows it and `lab down` stops it. This is the hook later parts of ferrolb use to add
/// their programs (controller, speakers, mini-router, the kube-proxy stand-in) to a lab.
pub fn add_process(extra: &ExtraProcess) -> Result<RunningComponent, LabError> {
    add_process_in(&state_dir(), extra)
}

/// [`add_process`] for the lab whose state directory is `dir`.
pub fn add_process_in(dir: &Path, extra: &ExtraProcess) -> Result<RunningComponent, LabError> {
    let Some(mut state) = read_state_in(dir)? else {
        return Err(LabError::State {
            path: dir.join("state.json"),
            reason: format!("no lab is up to add {} to", extra.name),
        });
    };
    let log = dir.join(format!("{}.log", extra.name));
    let netns = (!extra.enters_netns_itself).then_some(extra.netns.as_str());
    let process = Process::spawn(&extra.name, &extra.program, &extra.args, netns, &log)?;
    let pid = process.detach().ok_or_else(|| LabError::State {
        path: dir.join("state.json"),
        reason: format!("{} has no pid", extra.name),
    })?;
    let running = RunningComponent {
        name: extra.name.clone(),
        pid,
        log,
        listen: String::new(),
    };
    state.processes.push((extra.netns.clone(), running.clone()));
    write_state_in(dir, &state)?;
    Ok(running)
}

/// Removes the lab: stops its processes, deletes namespaces, links and files. Returns what
/// was removed; fails if anything of the lab is left.
pub fn down() -> Result<Vec<String>, LabError> {
    let mut removed = Vec::new();
    let state = read_state().unwrap_or(None);
    if let Some(state) = &state {
        let step = Step::begin("stopping processes");
        let alive: Vec<&(String, RunningComponent)> = state
            .processes
            .iter()
            .filter(|(_, c)| group_alive(c.pid))
            .collect();
        // etcd (started first) stops last: an apiserver without its etcd hangs in shutdown.
        let first = state.processes.first().map(|(_, c)| c.pid);
        let (storage, others): (Vec<u32>, Vec<u32>) = alive
            .iter()
            .map(|(_, c)| c.pid)
            .partition(|p| Some(*p) == first);
        stop_groups(&others, Duration::from_secs(5));
        stop_groups(&storage, Duration::from_secs(5));
        for (netns, c) in alive {
            removed.push(format!("process {} (pid {}) in {netns}", c.name, c.pid));
        }
        step.done();
    }
    let step = Step::begin("network");
    let (gone, errors) = network::remove();
    removed.extend(gone);
    step.done();
    for created in state.iter().flat_map(|s| s.created_dirs.iter().rev()) {
        // Only while empty: something else may have come to use it.
        if std::fs::remove_dir(created).is_ok() {
            removed.push(format!("directory {}", created.display()));
        }
    }
    let dir = state_dir();
    if dir.exists() {
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => removed.push(format!("directory {}", dir.display())),
            Err(e) => {
                return Err(LabError::State {
                    path: dir,
                    reason: e.to_string(),
                });
            }
        }
    }
    let mut left: Vec<String> = network::leftovers();
    if let Some(state) = &state {
        left.extend(
            state
                .processes
                .iter()
                .filter(|(_, c)| group_alive(c.pid))
                .map(|(_, c)| format!("process {} (pid {})", c.name, c.pid)),
        );
    }
    left.extend(errors.iter().map(ToString::to_string));
    if left.is_empty() {
        Ok(removed)
    } else {
        Err(LabError::Leftovers(left.join(", ")))
    }
}

/// One row of `lab status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    /// The namespace.
    pub netns: String,
    /// The component.
    pub name: String,
    /// Its pid.
    pub pid: u32,
    /// Whether it still runs.
    pub running: bool,
    /// Where it listens.
    pub listen: String,
    /// Its log.
    pub log: PathBuf,
}

/// What runs where, or `None` when no lab is up.
pub fn status() -> Result<Option<(LabState, Vec<StatusRow>)>, LabError> {
    let Some(state) = read_state()? else {
        return Ok(None);
    };
    let rows = state
        .processes
        .iter()
        .map(|(netns, c)| StatusRow {
            netns: netns.clone(),
            name: c.name.clone(),
            pid: c.pid,
            running: group_alive(c.pid),
            listen: c.listen.clone(),
            log: c.log.clone(),
        })
        .collect();
    Ok(Some((state, rows)))
}

/// Renders `lab status` as a table.
pub fn render_status(state: &LabState, rows: &[StatusRow]) -> String {
    let mut net = comfy_table::Table::new();
    net.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    net.set_header(["namespace", "address", "role"]);
    for host in HOSTS {
        let role = match host.netns {
            "kube-master" => "control plane",
            "router" => "external router",
            _ => "worker node",
        };
        net.add_row([
            host.netns.to_owned(),
            format!("{}/24", host.address),
            role.to_owned(),
        ]);
    }
    let mut procs = comfy_table::Table::new();
    procs.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    procs.set_header([
        "namespace",
        "component",
        "pid",
        "state",
        "listens on",
        "log",
    ]);
    for r in rows {
        procs.add_row([
            r.netns.clone(),
            r.name.clone(),
            r.pid.to_string(),
            if r.running { "running" } else { "exited" }.to_owned(),
            r.listen.clone(),
            r.log.display().to_string(),
        ]);
    }
    format!(
        "Kubernetes {} at {} (kubeconfig {})\n{net}\n{procs}",
        state.kubernetes_version,
        state.server,
        kubeconfig_path().display()
    )
}

/// The kubectl command for the lab: the built kubectl with the lab's kubeconfig.
pub fn kubectl(binaries: &Binaries) -> Result<std::process::Command, LabError> {
    let mut cmd = std::process::Command::new(binaries.path(Binary::Kubectl)?);
    cmd.arg(format!("--kubeconfig={}", kubeconfig_path().display()));
    Ok(cmd)
}
