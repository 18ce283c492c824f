//! `bench/ingest`: one sender pushes N distinct IPv4 prefixes (pre-encoded, packed UPDATEs)
//! into each receiver in turn — our engine (`ingest-receiver`), FRR bgpd, BIRD 2, gobgpd,
//! optionally mini-router — each started fresh for every run, and prints the median time from
//! Established until the receiver holds all N, its peak RSS and CPU seconds, with the ratios
//! of ours against each peer. `--kernel` adds the kernel-install table, measured inside a
//! network namespace this program creates and deletes. See bench/README.md.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use ferrolb_bench::ingest::netns::{self, NEXT_HOP_INTERFACE, Netns};
use ferrolb_bench::ingest::receivers::{self, Kind, Setup};
use ferrolb_bench::ingest::report::{self, Measurement, Row};
use ferrolb_bench::ingest::sender::{self, Push, Workload};
use ferrolb_bench::ingest::{IngestError, Result, io_err, procstat};
use ferrolb_bench::machine;

/// The receivers' AS.
const RECEIVER_AS: u32 = 65000;
/// The sender's AS.
const SENDER_AS: u32 = 65001;
/// Next hop of every announced route (GoBGP drops loopback next hops; in the namespace it
/// is on the connected subnet of the veth pair).
const NEXT_HOP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "Ingest benchmark: N IPv4 prefixes into ours, FRR, BIRD and GoBGP")]
struct Args {
    /// Distinct prefixes to send (/24s from 20.0.0.0 up).
    #[arg(long, default_value_t = 1_000_000)]
    prefixes: u64,
    /// Runs per receiver and variant; the tables show medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Receivers, comma separated: ours, frr, bird, gobgp, mini-router.
    #[arg(long, value_delimiter = ',', default_value = "ours,frr,bird,gobgp")]
    receivers: Vec<String>,
    /// Also measure the kernel-install variant (in a network namespace; needs root).
    #[arg(long)]
    kernel: bool,
    /// Measure only the kernel-install variant.
    #[arg(long)]
    kernel_only: bool,
    /// Bound on one run, from Established until all prefixes are in, in seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Pause between two count queries, in milliseconds (at least four times as long as the
    /// last query took).
    #[arg(long, default_value_t = 10)]
    poll_ms: u64,
    /// The `mini-router` binary (default: next to this program).
    #[arg(long)]
    mini_router: Option<PathBuf>,
    /// Also write the tables to this file.
    #[arg(long)]
    output: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ingest: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<()> {
    let mut kinds = Vec::new();
    for name in &args.receivers {
        let kind = Kind::parse(name.trim()).ok_or_else(|| IngestError::Parse {
            what: "a receiver (ours, frr, bird, gobgp, mini-router)".into(),
            text: name.clone(),
        })?;
        kinds.push(kind);
    }
    let here = std::env::current_exe().map_err(io_err("find this program"))?;
    let bin_dir = here
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let encode_start = Instant::now();
    let workload = Arc::new(Workload::new(args.prefixes, SENDER_AS, NEXT_HOP)?);
    eprintln!(
        "ingest: {} prefixes in {} UPDATEs ({} bytes), encoded in {:.2?} before any clock",
        workload.prefixes,
        workload.messages,
        workload.bytes.len(),
        encode_start.elapsed()
    );
    let base = Setup {
        listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 179),
        sender: IpAddr::V4(Ipv4Addr::LOCALHOST),
        receiver_as: RECEIVER_AS,
        sender_as: SENDER_AS,
        netns: None,
        kernel: false,
        next_hop_interface: None,
        ours_binary: bin_dir.join("ingest-receiver"),
        mini_router_binary: args
            .mini_router
            .clone()
            .unwrap_or_else(|| bin_dir.join("mini-router")),
    };
    let mut output = String::new();
    output.push_str(&environment());
    if !args.kernel_only {
        let rows = measure_variant(args, &kinds, &workload, &base)?;
        let table = report::table("RIB only", args.prefixes, &rows, false);
        println!("{table}");
        output.push_str(&table);
        output.push('\n');
        write_output(args, &output)?;
    }
    if args.kernel || args.kernel_only {
        let kinds: Vec<Kind> = kinds
            .iter()
            .copied()
            .filter(|k| k.has_kernel_variant())
            .collect();
        // Each run gets a fresh namespace (created in `measure_once`): routes a stopped
        // daemon left behind cannot leak into the next run.
        let setup = Setup {
            kernel: true,
            next_hop_interface: Some(NEXT_HOP_INTERFACE.to_string()),
            ..base.clone()
        };
        let rows = measure_variant(args, &kinds, &workload, &setup)?;
        let table = report::table(
            "Kernel install (in a network namespace)",
            args.prefixes,
            &rows,
            true,
        );
        println!("{table}");
        output.push_str(&table);
        write_output(args, &output)?;
    }
    Ok(())
}

fn write_output(args: &Args, text: &str) -> Result<()> {
    if let Some(path) = &args.output {
        std::fs::write(path, text).map_err(io_err(format!("write {}", path.display())))?;
    }
    Ok(())
}

/// Machine and versions, as a Markdown list.
fn environment() -> String {
    format!(
        "- machine: {} cores, {}, {}; load average at start {}\n- versions: {}, {}, {}, {}\n\n",
        machine::cores(),
        machine::cpu_model(),
        machine::memory(),
        machine::load_average_text(),
        machine::version_line("rustc", "--version"),
        machine::version_line("/usr/lib/frr/bgpd", "--version"),
        machine::version_line("bird", "--version"),
        machine::version_line("gobgpd", "--version"),
    )
}

/// Runs every receiver `args.runs` times; a failed run is recorded, the others go on.
fn measure_variant(
    args: &Args,
    kinds: &[Kind],
    workload: &Arc<Workload>,
    base: &Setup,
) -> Result<Vec<Row>> {
    let mut rows: Vec<Row> = kinds
        .iter()
        .map(|&kind| Row {
            kind,
            runs: Vec::new(),
            failures: Vec::new(),
        })
        .collect();
    // Interleave the receivers run by run, so a change in machine load hits all of them.
    for run in 0..args.runs {
        for row in &mut rows {
            let variant = if base.kernel { "kernel" } else { "rib" };
            match measure_once(args, row.kind, workload, base) {
                Ok(m) => {
                    eprintln!(
                        "ingest: {variant} run {} {}: {:.3} s (RIB {:.3} s), peak RSS {:.1} MiB, CPU {:.2} s",
                        run + 1,
                        row.kind.name(),
                        m.seconds,
                        m.rib_seconds,
                        m.peak_rss as f64 / 1048576.0,
                        m.cpu_seconds
                    );
                    row.runs.push(m);
                }
                Err(e) => {
                    eprintln!(
                        "ingest: {variant} run {} {} failed: {e}",
                        run + 1,
                        row.kind.name()
                    );
                    row.failures.push(e.to_string());
                }
            }
        }
    }
    Ok(rows)
}

/// Addresses for one run: on the host a 127.201.x.y pair and a probed port, in the
/// namespace 192.0.2.254:179 and 192.0.2.253 (the veth pair).
fn addresses(base: &Setup) -> Result<(SocketAddr, IpAddr)> {
    if base.kernel {
        return Ok((
            SocketAddr::new(IpAddr::V4(netns::RECEIVER_IP), 179),
            IpAddr::V4(netns::SENDER_IP),
        ));
    }
    let pid = std::process::id();
    let receiver = Ipv4Addr::new(127, 201, (pid % 250) as u8 + 1, 1);
    let sender = Ipv4Addr::new(127, 201, (pid % 250) as u8 + 1, 2);
    let port = std::net::TcpListener::bind((receiver, 0))
        .and_then(|l| l.local_addr())
        .map_err(io_err(format!("probe a free port on {receiver}")))?
        .port();
    Ok((
        SocketAddr::new(IpAddr::V4(receiver), port),
        IpAddr::V4(sender),
    ))
}

fn measure_once(
    args: &Args,
    kind: Kind,
    workload: &Arc<Workload>,
    base: &Setup,
) -> Result<Measurement> {
    let (listen, sender_ip) = addresses(base)?;
    // Declared before the receiver, so it is deleted after the receiver has stopped.
    let netns = if base.kernel {
        Some(Netns::create()?)
    } else {
        None
    };
    let setup = Setup {
        listen,
        sender: sender_ip,
        netns: netns.as_ref().map(|n| n.name().to_string()),
        ..base.clone()
    };
    let dir = tempfile::Builder::new()
        .prefix(&format!("ferrolb-ingest-{}-", kind.name()))
        .tempdir()
        .map_err(io_err("create a temporary directory"))?;
    let keep = std::env::var_os("FERROLB_KEEP_INGEST_DIRS").is_some();
    let dir = if keep {
        let path = dir.keep();
        eprintln!("ingest: keeping {}", path.display());
        KeptOrTemp::Kept(path)
    } else {
        KeptOrTemp::Temp(dir)
    };
    let mut receiver = receivers::start(kind, &setup, dir.path())?;
    let pids = receiver.pids();
    let main_pid = pids.first().copied().unwrap_or(0);
    let kernel_base = if setup.kernel {
        Some(Netns::kernel_prefixes(main_pid)?)
    } else {
        None
    };
    let bgp_id = match sender_ip {
        IpAddr::V4(a) => a,
        IpAddr::V6(_) => Ipv4Addr::new(192, 0, 2, 2),
    };
    // The listener may come up a moment after the control socket, and bgpd with zebra
    // refuses sessions (FSM error) until zebra has told it about the interfaces: retry the
    // connection and the OPEN exchange for a while.
    let connect_deadline = Instant::now() + Duration::from_secs(20);
    let push = loop {
        let attempt = sender::connect(sender_ip, listen, setup.netns.as_deref())
            .and_then(|stream| Push::start(stream, Arc::clone(workload), bgp_id, kind.name()));
        match attempt {
            Ok(push) => break push,
            Err(_) if Instant::now() < connect_deadline => {
                receiver.check_running()?;
                std::thread::sleep(Duration::from_millis(250));
            }
            Err(e) => return Err(e),
        }
    };
    let (_, cpu_start) = procstat::sample(&pids)?;
    let timeout = Duration::from_secs(args.timeout);
    let poll = Duration::from_millis(args.poll_ms);
    let mut rib_done: Option<Duration> = None;
    let mut kernel_done: Option<Duration> = None;
    let mut wait = poll;
    let result = loop {
        if let Some(problem) = push.problem() {
            break Err(IngestError::Session {
                name: kind.name().into(),
                detail: problem,
            });
        }
        if let Err(e) = receiver.check_running() {
            break Err(e);
        }
        if rib_done.is_none() {
            let asked = Instant::now();
            let answer = receiver.count();
            // Keep the poller's share of the machine small: a query that takes long (GoBGP
            // counts its Adj-RIB-In by walking it) is repeated less often.
            wait = poll.max(asked.elapsed() * 4);
            match answer {
                Ok(n) if n >= workload.prefixes => rib_done = Some(push.started.elapsed()),
                Ok(_) => {}
                Err(e) => break Err(e),
            }
        }
        if let (Some(base), None) = (kernel_base, kernel_done) {
            match Netns::kernel_prefixes(main_pid) {
                Ok(n) if n.saturating_sub(base) >= workload.prefixes => {
                    kernel_done = Some(push.started.elapsed());
                }
                Ok(_) => {}
                Err(e) => break Err(e),
            }
        }
        let done = rib_done.is_some() && (kernel_base.is_none() || kernel_done.is_some());
        if done {
            let (peak_rss, cpu_end) = procstat::sample(&pids)?;
            let confirmed = receiver.confirm()?;
            if confirmed < workload.prefixes {
                break Err(IngestError::Session {
                    name: kind.name().into(),
                    detail: format!(
                        "its count said all {} are in, its RIB holds {confirmed}",
                        workload.prefixes
                    ),
                });
            }
            let rib = rib_done.map_or(0.0, |d| d.as_secs_f64());
            break Ok(Measurement {
                seconds: kernel_done.map_or(rib, |d| d.as_secs_f64()),
                rib_seconds: rib,
                peak_rss,
                cpu_seconds: cpu_end - cpu_start,
            });
        }
        if push.started.elapsed() > timeout {
            let count = receiver.count().unwrap_or(0);
            let kernel = kernel_base.and_then(|b| {
                Netns::kernel_prefixes(main_pid)
                    .ok()
                    .map(|n| n.saturating_sub(b))
            });
            break Err(IngestError::Timeout {
                what: format!(
                    "{} prefixes in {} (it has {count}{}; writing took {:?})",
                    workload.prefixes,
                    kind.name(),
                    kernel.map(|k| format!(", kernel {k}")).unwrap_or_default(),
                    push.write_time()
                ),
                timeout,
            });
        }
        std::thread::sleep(wait);
    };
    // The receiver goes first: closing the session before would make it withdraw
    // everything while it is still being sampled or profiled.
    drop(receiver);
    push.finish();
    result
}

/// A receiver's directory: removed after the run, or kept for debugging.
enum KeptOrTemp {
    Kept(PathBuf),
    Temp(tempfile::TempDir),
}

impl KeptOrTemp {
    fn path(&self) -> &std::path::Path {
        match self {
            KeptOrTemp::Kept(p) => p,
            KeptOrTemp::Temp(t) => t.path(),
        }
    }
}
