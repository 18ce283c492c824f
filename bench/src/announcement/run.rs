//! One measurement: a fresh apiserver on the LAN's hub with the configuration, the counting
//! router, the contender's speaker on each node, a warm-up Service announced by both (so
//! the clock never includes a speaker's start, its first config load or its sessions
//! coming up), then
//!
//! 1. **announce**: the clock starts, the workload's Services are made announceable, and
//!    the clock stops at the moment the router holds every one of their /32s from both
//!    speakers; the router's table is then checked prefix by prefix;
//! 2. **configuration off**: the BGPAdvertisement is deleted — one write, so this is the
//!    speakers' own speed — until the router holds nothing from either speaker;
//! 3. **configuration on**: it is created again, until everything is back (checked again);
//! 4. **withdraw**: every Service is deleted, until the router holds none of them from
//!    either speaker.
//!
//! The speakers' CPU (`utime+stime` from `/proc`) is read at each clock's start and stop;
//! their peak RSS (`VmHWM`) at the end. A speaker that exits fails the run at once; every
//! wait is bounded.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ipnet::{IpNet, Ipv4Net};
use kube::Client;
use lab::lan::{HUB_V4, Lan};
use lab::process::Process;
use lab::{Cluster, ClusterConfig};

use super::contender::{self, Contender, Programs};
use super::router::{CountingRouter, Counts, RouterConfig};
use super::topology::{self, NODES, ROUTER, ROUTER_ASN, SPEAKER_ASN};
use super::workload;
use crate::ingest::procstat;
use crate::k8s::{BenchError, Result, daemon};
use crate::machine;

/// The namespace of the measured Services.
pub const WORKLOAD_NAMESPACE: &str = "bench";
/// The namespace of the warm-up Service (outside the measured one).
pub const WARMUP_NAMESPACE: &str = "bench-warmup";
/// How long the speakers may take to announce the warm-up Service (MetalLB's first
/// connection attempt can fail while the router is still starting; its retry backs off).
const WARMUP_TIMEOUT: Duration = Duration::from_secs(120);
/// How often the speakers are checked for having exited while waiting.
const ALIVE_CHECK: Duration = Duration::from_millis(200);
/// How long a speaker may take to stop at the end of a run.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What one run measures the same way for every contender.
#[derive(Debug, Clone)]
pub struct Options {
    /// Services to create, then delete.
    pub services: usize,
    /// Services in flight at once.
    pub concurrency: usize,
    /// The address pool.
    pub pool: Ipv4Net,
    /// Bound on each measured phase.
    pub timeout: Duration,
    /// The speaker programs.
    pub programs: Programs,
    /// Copy each run's speaker and apiserver logs here.
    pub keep_logs: Option<PathBuf>,
}

/// One clocked phase.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// Seconds from the first write until the router's table was complete (all announced,
    /// or all withdrawn).
    pub seconds: f64,
    /// Seconds from the first write until the last one returned.
    pub writes_seconds: f64,
    /// Each speaker's CPU seconds (user + system) over the phase.
    pub cpu: Vec<f64>,
}

/// One run of one contender.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Creating the Services until all were announced by both speakers.
    pub announce: Phase,
    /// Deleting the BGPAdvertisement until nothing was announced any more: the speakers'
    /// own work for all Services at once, after one write (`None` without speakers).
    pub config_off: Option<Phase>,
    /// Creating it again until everything was announced again.
    pub config_on: Option<Phase>,
    /// Deleting the Services until all were withdrawn.
    pub withdraw: Phase,
    /// Each speaker's resident set when the first clock started (warm, one Service).
    pub start_rss: Vec<u64>,
    /// Each speaker's peak resident set (`VmHWM`) at the end, bytes.
    pub peak_rss: Vec<u64>,
    /// UPDATE messages the router received from each speaker over both phases.
    pub updates: Vec<u64>,
    /// Sessions that dropped during the phases (both speakers).
    pub resets: u32,
    /// The 1-minute load average at the end.
    pub load: f64,
}

/// Runs `contender` once on a fresh cluster inside `lan` (whose hub this thread is in).
pub async fn measure(
    lan: &Lan,
    contender: Contender,
    options: &Options,
    run: usize,
) -> Result<Measurement> {
    let cluster = Cluster::start(ClusterConfig {
        address: IpAddr::V4(HUB_V4),
        ..ClusterConfig::apiserver_only()
    })
    .await?;
    let client = cluster.client();
    contender::configure(
        &client,
        &options.programs,
        &options.pool.to_string(),
        &[WORKLOAD_NAMESPACE, WARMUP_NAMESPACE],
    )
    .await?;
    let router = CountingRouter::start(RouterConfig {
        netns: machine_netns(lan, ROUTER)?,
        address: topology::router_address(),
        asn: ROUTER_ASN,
        peers: topology::node_addresses(),
        peer_asn: SPEAKER_ASN,
    })
    .await?;
    let mut logs = vec![cluster.data_dir().join("kube-apiserver.log")];
    let mut speakers = Vec::new();
    let mut started = Ok(());
    for (node, _) in NODES {
        let log = cluster.data_dir().join(format!("speaker-{node}.log"));
        logs.push(log.clone());
        let netns = machine_netns(lan, node);
        let spawned = netns.and_then(|ns| {
            contender::start(
                contender,
                &options.programs,
                cluster.kubeconfig(),
                node,
                &ns,
                &log,
            )
        });
        match spawned {
            Ok(process) => speakers.extend(process),
            Err(e) => {
                started = Err(e);
                break;
            }
        }
    }
    let result = match started {
        Ok(()) => measure_started(&client, options, &router, &mut speakers).await,
        Err(e) => Err(e),
    };
    if options.keep_logs.is_some() {
        let path = cluster.data_dir().join("apiserver-requests.txt");
        save_request_counts(&client, &path).await;
        logs.push(path);
    }
    for process in &mut speakers {
        process.stop(STOP_GRACE);
    }
    drop(router);
    if let Some(dir) = &options.keep_logs {
        daemon::keep_logs(dir, &format!("{}-{run}", contender.key()), &logs);
    }
    result
}

/// Writes the apiserver's `apiserver_request_total` lines (requests by verb, resource and
/// code since it started) to `path`, for reading what the speakers asked of it (best
/// effort, with `--keep-logs`).
async fn save_request_counts(client: &Client, path: &std::path::Path) {
    let Ok(request) = http::Request::get("/metrics").body(Vec::new()) else {
        return;
    };
    match client.request_text(request).await {
        Ok(text) => {
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with("apiserver_request_total{"))
                .collect();
            if let Err(err) = std::fs::write(path, lines.join("\n")) {
                eprintln!("speaker-bench: cannot write {}: {err}", path.display());
            }
        }
        Err(err) => eprintln!("speaker-bench: cannot read the apiserver's metrics: {err}"),
    }
}

fn machine_netns(lan: &Lan, role: &str) -> Result<String> {
    lan.host(role)
        .map(|ns| ns.name().to_owned())
        .ok_or_else(|| BenchError::WrongResult(format!("the LAN has no machine {role}")))
}

async fn measure_started(
    client: &Client,
    options: &Options,
    router: &CountingRouter,
    speakers: &mut [Process],
) -> Result<Measurement> {
    // Without speakers (the ceiling) only the writes are timed.
    let with_speakers = !speakers.is_empty();
    let nodes = if with_speakers {
        topology::node_addresses()
    } else {
        Vec::new()
    };
    let pool = options.pool;
    let (count, concurrency) = (options.services, options.concurrency);
    if with_speakers {
        warm_up(client, pool, router, speakers, &nodes).await?;
    }
    let pids: Vec<u32> = speakers.iter().filter_map(Process::pid).collect();
    let start_rss = pids
        .iter()
        .map(|&p| procstat::rss(p))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let before = router.counts();
    let all = count + 1;
    let mut clock = Clock {
        router,
        speakers,
        nodes: &nodes,
        pids: &pids,
        timeout: options.timeout,
    };

    let announce = clock
        .phase(
            "every Service announced by both speakers",
            workload::create_all(client, WORKLOAD_NAMESPACE, pool, count, concurrency),
            |p| p == all,
        )
        .await?;
    let (mut config_off, mut config_on) = (None, None);
    if with_speakers {
        check_table(&router.prefixes().await?, pool, count, &nodes, true)?;
        config_off = Some(
            clock
                .phase(
                    "everything withdrawn after the BGPAdvertisement's delete",
                    contender::delete_advertisement(client),
                    |p| p == 0,
                )
                .await?,
        );
        config_on = Some(
            clock
                .phase(
                    "everything announced again after the BGPAdvertisement's create",
                    contender::create_advertisement(client),
                    |p| p == all,
                )
                .await?,
        );
        check_table(&router.prefixes().await?, pool, count, &nodes, true)?;
    }
    let withdraw = clock
        .phase(
            "every Service withdrawn by both speakers",
            workload::delete_all(client, WORKLOAD_NAMESPACE, count, concurrency),
            // A session reset also takes the warm-up prefix away until it comes back.
            |p| p <= 1,
        )
        .await?;
    let peak_rss = pids
        .iter()
        .map(|&p| procstat::peak_rss(p))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let after = router.counts();
    if with_speakers {
        check_table(&router.prefixes().await?, pool, count, &nodes, false)?;
    }
    Ok(Measurement {
        announce,
        config_off,
        config_on,
        withdraw,
        start_rss,
        peak_rss,
        updates: nodes
            .iter()
            .map(|&n| after.peer(n).updates - before.peer(n).updates)
            .collect(),
        resets: nodes
            .iter()
            .map(|&n| after.peer(n).dropped - before.peer(n).dropped)
            .sum(),
        load: machine::load_average().map_or(f64::NAN, |l| l[0]),
    })
}

/// What every clocked phase watches.
struct Clock<'a> {
    router: &'a CountingRouter,
    speakers: &'a mut [Process],
    nodes: &'a [IpAddr],
    pids: &'a [u32],
    timeout: Duration,
}

impl Clock<'_> {
    /// Starts the clock, runs `writes` and waits until the router holds, from every node, a
    /// number of prefixes that `done` accepts; the speakers' CPU is read at both ends.
    async fn phase(
        &mut self,
        what: &str,
        writes: impl std::future::Future<Output = Result<()>>,
        done: impl Fn(usize) -> bool,
    ) -> Result<Phase> {
        let nodes = self.nodes;
        let cpu0 = cpu(self.pids)?;
        let start = Instant::now();
        let writes = async {
            writes.await?;
            Ok::<_, BenchError>(Instant::now())
        };
        if self.speakers.is_empty() {
            let written = writes.await?.duration_since(start).as_secs_f64();
            return Ok(Phase {
                seconds: written,
                writes_seconds: written,
                cpu: Vec::new(),
            });
        }
        let complete = wait_counts(self.router, self.speakers, nodes, self.timeout, what, |c| {
            nodes.iter().all(|&n| done(c.peer(n).prefixes))
        });
        let (written, complete) = tokio::try_join!(writes, complete)?;
        let cpu1 = cpu(self.pids)?;
        Ok(Phase {
            seconds: complete.duration_since(start).as_secs_f64(),
            writes_seconds: written.duration_since(start).as_secs_f64(),
            cpu: cpu1.iter().zip(&cpu0).map(|(a, b)| a - b).collect(),
        })
    }
}

/// Each process's CPU seconds so far.
fn cpu(pids: &[u32]) -> Result<Vec<f64>> {
    Ok(pids
        .iter()
        .map(|&p| procstat::cpu_seconds(p))
        .collect::<std::result::Result<Vec<_>, _>>()?)
}

/// Creates the warm-up Service outside the measured namespace and waits until the router
/// has it from both speakers: sessions up, configuration loaded, caches synced.
async fn warm_up(
    client: &Client,
    pool: Ipv4Net,
    router: &CountingRouter,
    speakers: &mut [Process],
    nodes: &[IpAddr],
) -> Result<()> {
    workload::create_announceable(
        client,
        WARMUP_NAMESPACE,
        "warmup",
        0,
        workload::warmup_ip(pool),
    )
    .await?;
    wait_counts(
        router,
        speakers,
        nodes,
        WARMUP_TIMEOUT,
        "both speakers to announce the warm-up Service",
        |c| {
            nodes.iter().all(|&n| {
                let p = c.peer(n);
                p.established && p.prefixes == 1
            })
        },
    )
    .await
    .map(|_| ())
}

/// Waits until the router's counts satisfy `done`, returning when they were read; fails when
/// a speaker exits or `timeout` passes (naming `what` and the counts then).
async fn wait_counts(
    router: &CountingRouter,
    speakers: &mut [Process],
    nodes: &[IpAddr],
    timeout: Duration,
    what: &str,
    done: impl Fn(&Counts) -> bool,
) -> Result<Instant> {
    let mut counts = router.subscribe();
    let start = Instant::now();
    loop {
        {
            let now = counts.borrow_and_update();
            if done(&now) {
                return Ok(now.at);
            }
        }
        for process in speakers.iter_mut() {
            let name = process.name().to_owned();
            if let Some(err) = daemon::exited(&name, process) {
                return Err(err);
            }
        }
        if start.elapsed() > timeout {
            let now = router.counts();
            let seen: Vec<String> = nodes
                .iter()
                .map(|&n| {
                    let p = now.peer(n);
                    format!(
                        "{n}: {} prefixes, {}",
                        p.prefixes,
                        if p.established {
                            "Established"
                        } else {
                            "not Established"
                        }
                    )
                })
                .collect();
            return Err(BenchError::Timeout {
                what: format!("{what} (the router has {})", seen.join("; ")),
                timeout,
            });
        }
        let _ = tokio::time::timeout(ALIVE_CHECK, counts.changed()).await;
    }
}

/// Checks the router's table: with `announced`, every Service's /32 and the warm-up's from
/// exactly the nodes, and nothing else; without, none of the Services' /32s from anyone.
fn check_table(
    table: &BTreeMap<IpNet, Vec<IpAddr>>,
    pool: Ipv4Net,
    count: usize,
    nodes: &[IpAddr],
    announced: bool,
) -> Result<()> {
    let mut want: Vec<Ipv4Addr> = (0..count)
        .filter_map(|i| workload::service_ip(pool, i))
        .collect();
    let mut problems = Vec::new();
    if announced {
        want.push(workload::warmup_ip(pool));
        let mut sorted = nodes.to_vec();
        sorted.sort();
        for ip in &want {
            let prefix = workload::host_prefix(*ip);
            match table.get(&prefix) {
                Some(from) if *from == sorted => {}
                Some(from) => problems.push(format!("{prefix} from {from:?}")),
                None => problems.push(format!("{prefix} missing")),
            }
        }
        if table.len() != want.len() {
            problems.push(format!(
                "{} prefixes in the table, {} expected",
                table.len(),
                want.len()
            ));
        }
    } else {
        for ip in &want {
            let prefix = workload::host_prefix(*ip);
            if let Some(from) = table.get(&prefix) {
                problems.push(format!("{prefix} still there from {from:?}"));
            }
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(BenchError::WrongResult(format!(
        "the router's table after {}: {} problems, e.g. {}",
        if announced {
            "announcing"
        } else {
            "withdrawing"
        },
        problems.len(),
        problems
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> Ipv4Net {
        "172.20.0.0/16"
            .parse()
            .unwrap_or_else(|_| Ipv4Net::default())
    }

    fn nodes() -> Vec<IpAddr> {
        topology::node_addresses()
    }

    fn full_table(count: usize) -> BTreeMap<IpNet, Vec<IpAddr>> {
        (0..count)
            .filter_map(|i| workload::service_ip(pool(), i))
            .chain(std::iter::once(workload::warmup_ip(pool())))
            .map(|ip| (workload::host_prefix(ip), nodes()))
            .collect()
    }

    #[test]
    fn a_table_with_every_prefix_from_both_nodes_is_complete() {
        assert!(check_table(&full_table(10), pool(), 10, &nodes(), true).is_ok());
    }

    #[test]
    fn a_prefix_from_one_node_only_is_a_problem() {
        let mut table = full_table(10);
        if let Some(ip) = workload::service_ip(pool(), 3) {
            table.insert(workload::host_prefix(ip), vec![nodes()[0]]);
        }
        let err = check_table(&table, pool(), 10, &nodes(), true);
        assert!(
            matches!(&err, Err(BenchError::WrongResult(t)) if t.contains("172.20.0.4/32")),
            "{err:?}"
        );
    }

    #[test]
    fn after_withdrawing_only_the_warm_up_may_remain() {
        let warm: BTreeMap<IpNet, Vec<IpAddr>> = full_table(0);
        assert!(check_table(&warm, pool(), 10, &nodes(), false).is_ok());
        assert!(check_table(&full_table(10), pool(), 10, &nodes(), false).is_err());
    }
}
