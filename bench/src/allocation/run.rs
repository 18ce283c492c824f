//! One measurement: a fresh cluster, the contender's configuration and controller, a warm-up
//! Service (so the clock never includes the controller's start or its first config load),
//! then the workload with the clock running from the first create until the watch has seen
//! every Service's address; resource use is read from `/proc` at that moment.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ipnet::IpNet;
use k8s_openapi::api::core::v1::Service;
use kube::Client;
use kube::api::{Api, PostParams};
use lab::process::Process;
use lab::{Cluster, ClusterConfig};

use super::contender::{self, Contender, Programs};
use super::workload::{self, Seen, Tracker};
use super::{BenchError, Result, api_err, poll_until};
use crate::ingest::procstat;
use crate::k8s::{daemon, setup};
use crate::machine;

/// The namespace of the measured Services.
pub const WORKLOAD_NAMESPACE: &str = "bench";
/// The namespace of the warm-up Service (outside the watched one).
pub const WARMUP_NAMESPACE: &str = "bench-warmup";
/// How long the controller may take to give the warm-up Service its address.
const WARMUP_TIMEOUT: Duration = Duration::from_secs(120);
/// How often the controller is checked for having exited while waiting.
const ALIVE_CHECK: Duration = Duration::from_millis(200);

/// What one run measures the same way for every contender.
#[derive(Debug, Clone)]
pub struct Options {
    /// Services to create.
    pub services: usize,
    /// Creates in flight at once.
    pub concurrency: usize,
    /// The address pool.
    pub pool: IpNet,
    /// Bound on the measured part of a run.
    pub timeout: Duration,
    /// The controller programs.
    pub programs: Programs,
    /// Copy each run's controller and apiserver logs here.
    pub keep_logs: Option<PathBuf>,
}

/// One run of one contender.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    /// Seconds from the first create until the watch had seen every Service with its
    /// address (for the apiserver alone: every Service).
    pub seconds: f64,
    /// Seconds from the first create until the last create returned.
    pub create_seconds: f64,
    /// The controller's peak resident set (`VmHWM`), bytes.
    pub peak_rss: Option<u64>,
    /// The controller's CPU seconds (user + system) over the measured part.
    pub cpu_seconds: Option<f64>,
    /// kube-apiserver's and etcd's CPU seconds over the measured part.
    pub control_plane_cpu: f64,
    /// This program's CPU seconds (creates and the watch) over the measured part.
    pub client_cpu: f64,
    /// The 1-minute load average at the end of the measured part.
    pub load: f64,
}

/// CPU seconds of the processes that share the machine during a run.
struct CpuSample {
    controller: Option<f64>,
    control_plane: f64,
    client: f64,
}

fn sample_cpu(controller: Option<u32>, control_plane: &[u32]) -> Result<CpuSample> {
    Ok(CpuSample {
        controller: controller.map(procstat::cpu_seconds).transpose()?,
        control_plane: procstat::sample(control_plane)?.1,
        client: procstat::cpu_seconds(std::process::id())?,
    })
}

/// Runs `contender` once on a fresh cluster.
pub async fn measure(contender: Contender, options: &Options, run: usize) -> Result<Measurement> {
    let cluster = Cluster::start(ClusterConfig::apiserver_only()).await?;
    let client = cluster.client();
    setup::prepare_cluster(&client, &[WORKLOAD_NAMESPACE, WARMUP_NAMESPACE], Vec::new()).await?;
    contender::configure(&client, contender, &options.pool.to_string()).await?;
    let log = cluster.data_dir().join("controller.log");
    let mut process = contender::start(contender, &options.programs, cluster.kubeconfig(), &log)?;
    let result = measure_started(contender, options, &cluster, &client, process.as_mut()).await;
    if let Some(p) = process.as_mut() {
        p.stop(Duration::from_secs(5));
    }
    if let Some(dir) = &options.keep_logs {
        let data = cluster.data_dir();
        daemon::keep_logs(
            dir,
            &format!("{}-{run}", contender.key()),
            &[data.join("controller.log"), data.join("kube-apiserver.log")],
        );
    }
    result
}

async fn measure_started(
    contender: Contender,
    options: &Options,
    cluster: &Cluster,
    client: &Client,
    mut process: Option<&mut Process>,
) -> Result<Measurement> {
    if let Some(p) = process.as_deref_mut() {
        warm_up(client, contender, p).await?;
    }
    let count = options.services;
    let mut tracker = Tracker::start(
        client,
        WORKLOAD_NAMESPACE,
        count,
        contender.has_controller(),
    )
    .await?;
    let controller_pid = process.as_deref().and_then(Process::pid);
    let control_plane: Vec<u32> = cluster
        .components()
        .iter()
        .filter(|c| c.name == "kube-apiserver" || c.name == "etcd")
        .map(|c| c.pid)
        .collect();

    let before = sample_cpu(controller_pid, &control_plane)?;
    let start = Instant::now();
    let create = async {
        workload::create_services(client, WORKLOAD_NAMESPACE, count, options.concurrency).await?;
        Ok::<Instant, BenchError>(Instant::now())
    };
    let wait = async {
        let seen = wait_all(
            &mut tracker,
            contender,
            process.as_deref_mut(),
            options.timeout,
        )
        .await?;
        // Read resource use the moment the last address is in, before anything else runs.
        let after = sample_cpu(controller_pid, &control_plane)?;
        let peak_rss = controller_pid.map(procstat::peak_rss).transpose()?;
        Ok::<_, BenchError>((seen, after, peak_rss))
    };
    let (created, (seen, after, peak_rss)) = tokio::try_join!(create, wait)?;
    if contender.has_controller() {
        workload::check_addresses(&seen, count, options.pool)?;
    }
    let delta = |a: Option<f64>, b: Option<f64>| Some(b? - a?);
    Ok(Measurement {
        seconds: seen.at.duration_since(start).as_secs_f64(),
        create_seconds: created.duration_since(start).as_secs_f64(),
        peak_rss,
        cpu_seconds: delta(before.controller, after.controller),
        control_plane_cpu: after.control_plane - before.control_plane,
        client_cpu: after.client - before.client,
        load: machine::load_average().map_or(f64::NAN, |l| l[0]),
    })
}

/// Creates one Service outside the measured namespace and waits until the controller has
/// given it an address: the controller is up, has its configuration and its caches.
async fn warm_up(client: &Client, contender: Contender, process: &mut Process) -> Result<()> {
    let api: Api<Service> = Api::namespaced(client.clone(), WARMUP_NAMESPACE);
    let svc = workload::service(WARMUP_NAMESPACE, "warmup")?;
    api.create(&PostParams::default(), &svc)
        .await
        .map_err(api_err("creating the warm-up Service"))?;
    let what = format!("{} to give the warm-up Service an address", contender.key());
    poll_until(&what, WARMUP_TIMEOUT, Duration::from_millis(50), || {
        let exited = daemon::exited(contender.key(), process);
        let api = api.clone();
        async move {
            if let Some(err) = exited {
                return Err(err);
            }
            let svc = api
                .get("warmup")
                .await
                .map_err(api_err("reading the warm-up Service"))?;
            Ok((!workload::ingress_ips(&svc).is_empty()).then_some(()))
        }
    })
    .await
}

/// Waits until the tracker has seen everything, failing early when the controller exits.
async fn wait_all(
    tracker: &mut Tracker,
    contender: Contender,
    mut process: Option<&mut Process>,
    timeout: Duration,
) -> Result<Seen> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Some(seen) = tracker.wait(ALIVE_CHECK).await {
            return Ok(seen);
        }
        if let Some(err) = process
            .as_deref_mut()
            .and_then(|p| daemon::exited(contender.key(), p))
        {
            return Err(err);
        }
    }
    Err(BenchError::Timeout {
        what: format!(
            "{} to address every Service (last watch error: {})",
            contender.key(),
            tracker.failure().unwrap_or_else(|| "none".into())
        ),
        timeout,
    })
}
