//! `speaker-bench`: N LoadBalancer Services with endpoints on two nodes created at once, then
//! deleted, for ferrolb's speaker and MetalLB v0.16.2's (native BGP mode), interleaved run by
//! run, each on a fresh lab apiserver inside a private LAN of network namespaces; prints the
//! medians of the time until a counting router holds every /32 from both speakers, the time
//! until it holds none, the speakers' peak RSS and CPU, with the ratios of ours against each.
//! Needs root. See bench/README.md.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ferrolb_bench::announcement::contender::{Contender, Programs};
use ferrolb_bench::announcement::report::{self, Row};
use ferrolb_bench::announcement::run::{self, Options};
use ferrolb_bench::announcement::{topology, workload};
use ferrolb_bench::k8s::{BenchError, Result, daemon};
use ferrolb_bench::machine;
use ipnet::Ipv4Net;
use lab::lan::Lan;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "speaker-bench",
    about = "Announcement benchmark: N LoadBalancer Services on two nodes, ferrolb's speaker against MetalLB's"
)]
struct Args {
    /// LoadBalancer Services to create (then delete) per run.
    #[arg(long, default_value_t = 1_000)]
    services: usize,
    /// Runs per contender (interleaved); the table shows medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Contenders, comma separated: apiserver (no speaker: the writes alone), ours, metallb.
    #[arg(long, value_delimiter = ',', default_value = "apiserver,ours,metallb")]
    contenders: Vec<String>,
    /// Services whose writes are in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// The address pool (one IPAddressPool).
    #[arg(long, default_value = "172.20.0.0/16")]
    pool: Ipv4Net,
    /// Bound on each measured phase of one run, in seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// ferrolb's `speaker` binary (default: next to this program).
    #[arg(long)]
    ours: Option<PathBuf>,
    /// MetalLB's speaker (default: where bench/scripts/build-metallb.sh puts it).
    #[arg(long)]
    metallb: Option<PathBuf>,
    /// Also write the environment and the table to this file.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Copy every run's speaker and apiserver logs into this directory.
    #[arg(long)]
    keep_logs: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match prepare(&args).and_then(|(options, contenders)| {
        let lan = topology::create()?;
        let result = std::thread::scope(|scope| {
            scope
                .spawn(|| measure_in_hub(&args, &lan, &options, &contenders))
                .join()
                .unwrap_or_else(|_| {
                    Err(BenchError::WrongResult(
                        "the benchmark's thread panicked".into(),
                    ))
                })
        });
        drop(lan);
        result
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("speaker-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// On a thread of its own (the main thread stays outside, so the process is never "in" a
/// namespace that is being deleted): enter the LAN's hub, then start the runtime there, so
/// every worker thread, socket and child process of the benchmark is on the LAN. Ends on
/// SIGINT/SIGTERM too, so the cluster, the speakers and the namespaces are removed.
fn measure_in_hub(
    args: &Args,
    lan: &Lan,
    options: &Options,
    contenders: &[Contender],
) -> Result<()> {
    lan.enter_hub()?;
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| BenchError::WrongResult(format!("cannot start the async runtime: {e}")))?;
    let result = runtime.block_on(async {
        tokio::select! {
            result = run(args, lan, options, contenders) => result,
            () = lab::signals::terminated() => Err(BenchError::WrongResult(
                "interrupted; cleaning up".into(),
            )),
        }
    });
    // Stop what the runtime still runs (the router's counter) before the LAN goes.
    drop(runtime);
    result
}

/// Checks the command line and the programs before anything is created.
fn prepare(args: &Args) -> Result<(Options, Vec<Contender>)> {
    let mut contenders = Vec::new();
    for name in &args.contenders {
        let contender = Contender::parse(name.trim()).ok_or_else(|| {
            BenchError::WrongResult(format!(
                "unknown contender {name:?} (apiserver, ours, metallb)"
            ))
        })?;
        if !contenders.contains(&contender) {
            contenders.push(contender);
        }
    }
    workload::check_capacity(args.pool, args.services)?;
    let defaults = Programs::default_paths();
    let programs = Programs {
        ours: args.ours.clone().unwrap_or(defaults.ours),
        metallb: args.metallb.clone().unwrap_or(defaults.metallb),
        metallb_l2_status_crd: defaults.metallb_l2_status_crd,
    };
    programs.check(&contenders)?;
    let options = Options {
        services: args.services,
        concurrency: args.concurrency,
        pool: args.pool,
        timeout: Duration::from_secs(args.timeout),
        programs,
        keep_logs: args.keep_logs.clone(),
    };
    Ok((options, contenders))
}

async fn run(args: &Args, lan: &Lan, options: &Options, contenders: &[Contender]) -> Result<()> {
    let header = daemon::environment(&options.programs.ours);
    eprint!("{header}");
    let mut rows: Vec<Row> = contenders.iter().map(|&c| Row::new(c)).collect();
    for run_index in 0..args.runs {
        for row in &mut rows {
            let contender = row.contender;
            eprintln!(
                "run {}/{}: {} ({} Services, load {})",
                run_index + 1,
                args.runs,
                contender.key(),
                args.services,
                machine::load_average_text()
            );
            match run::measure(lan, contender, options, run_index).await {
                Ok(m) => {
                    eprintln!("  {}", report::progress(&m));
                    row.runs.push(m);
                }
                Err(e) => {
                    eprintln!("  failed: {e}");
                    row.failures.push(e.to_string());
                }
            }
        }
    }
    let text = format!("{header}\n{}", report::table(args.services, &rows));
    println!("{text}");
    if let Some(path) = &args.output {
        std::fs::write(path, &text).map_err(|e| {
            BenchError::WrongResult(format!("cannot write {}: {e}", path.display()))
        })?;
    }
    Ok(())
}
