//! `controller-bench`: N LoadBalancer Services against a fresh lab apiserver per run, for
//! ferrolb's controller (IPAddressPool and legacy ConfigMap), MetalLB v0.16.2's controller
//! and the apiserver alone (the ceiling), interleaved run by run; prints the medians of the
//! time until every Service's address is in, the allocation rate, the controller's peak RSS
//! and CPU, with the ratios of ours against each. See bench/README.md.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ferrolb_bench::allocation::contender::{Contender, Programs};
use ferrolb_bench::allocation::report::{self, Row};
use ferrolb_bench::allocation::run::{self, Options};
use ferrolb_bench::allocation::{BenchError, Result};
use ferrolb_bench::k8s::daemon;
use ferrolb_bench::machine;
use ipnet::IpNet;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "controller-bench",
    about = "Allocation benchmark: N LoadBalancer Services, ferrolb's controller against MetalLB's"
)]
struct Args {
    /// LoadBalancer Services to create per run.
    #[arg(long, default_value_t = 10_000)]
    services: usize,
    /// Runs per contender (interleaved); the table shows medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Contenders, comma separated: apiserver, ours, ours-configmap, metallb.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "apiserver,ours,ours-configmap,metallb"
    )]
    contenders: Vec<String>,
    /// Service creates in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// The address pool (one IPAddressPool or legacy pool).
    #[arg(long, default_value = "172.20.0.0/16")]
    pool: IpNet,
    /// Bound on the measured part of one run, in seconds.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
    /// ferrolb's `controller` binary (default: next to this program).
    #[arg(long)]
    ours: Option<PathBuf>,
    /// MetalLB's controller (default: where bench/scripts/build-metallb.sh puts it).
    #[arg(long)]
    metallb: Option<PathBuf>,
    /// Also write the environment and the table to this file.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Copy every run's controller and apiserver logs into this directory.
    #[arg(long)]
    keep_logs: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("controller-bench: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("controller-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<()> {
    let mut contenders = Vec::new();
    for name in &args.contenders {
        let contender = Contender::parse(name.trim()).ok_or_else(|| {
            BenchError::WrongResult(format!(
                "unknown contender {name:?} (apiserver, ours, ours-configmap, metallb)"
            ))
        })?;
        if !contenders.contains(&contender) {
            contenders.push(contender);
        }
    }
    let capacity = 1u128 << (args.pool.max_prefix_len() - args.pool.prefix_len());
    // One more address for the warm-up Service.
    if (args.services as u128) >= capacity {
        return Err(BenchError::WrongResult(format!(
            "the pool {} holds {capacity} addresses, too few for {} Services and the warm-up one",
            args.pool, args.services
        )));
    }
    let defaults = Programs::default_paths();
    let programs = Programs {
        ours: args.ours.clone().unwrap_or(defaults.ours),
        metallb: args.metallb.clone().unwrap_or(defaults.metallb),
    };
    programs.check(&contenders)?;
    let options = Options {
        services: args.services,
        concurrency: args.concurrency,
        pool: args.pool,
        timeout: Duration::from_secs(args.timeout),
        programs: programs.clone(),
        keep_logs: args.keep_logs.clone(),
    };
    let header = daemon::environment(&programs.ours);
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
            match run::measure(contender, &options, run_index).await {
                Ok(m) => {
                    eprintln!(
                        "  all in after {:.2} s ({:.0}/s), creates done after {:.2} s, RSS {} MiB, CPU {} s, apiserver+etcd CPU {:.1} s, load {:.1}",
                        m.seconds,
                        args.services as f64 / m.seconds,
                        m.create_seconds,
                        m.peak_rss
                            .map_or("–".into(), |b| format!("{:.1}", b as f64 / 1048576.0)),
                        m.cpu_seconds.map_or("–".into(), |c| format!("{c:.2}")),
                        m.control_plane_cpu,
                        m.load,
                    );
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
