//! Memory and CPU of BFD sessions: two BFD tasks ([`bgp::bfd::Bfd`]) in this process, on
//! loopback, each with N sessions to the other (session i from 127.1.x.y to 127.2.x.y), all
//! brought Up at the given timers. Prints one JSON line: resident memory before the sessions
//! and once all are Up (`VmRSS`), bytes per session, how long they took to come up, and the
//! CPU time (utime + stime) over a measurement window with every session Up.
//!
//! Each session has its own sending socket, so the process needs 2N + a few descriptors
//! (`ulimit -n`). Never a test: run by hand or by `bench/scripts/bfd.sh`.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bgp::bfd::{Bfd, Profile, ServiceConfig, SessionKey, SessionSpec, State, Timers};
use clap::Parser;
use ferrolb_bench::machine;

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "RSS and CPU of N BFD sessions (two tasks on loopback, N sessions each)")]
struct Args {
    /// Sessions per task.
    #[arg(long, default_value_t = 1000)]
    sessions: u32,
    /// Transmit and receive interval, ms.
    #[arg(long, default_value_t = 300)]
    interval_ms: u64,
    /// Detect multiplier.
    #[arg(long, default_value_t = 3)]
    multiplier: u8,
    /// CPU measurement window once all sessions are Up, seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

/// 127.NET.x.y for session `i` (x.y skipping 0 and 255 in the last octet).
fn address(net: u8, i: u32) -> IpAddr {
    let hi = (i / 250) as u8;
    let lo = (i % 250) as u8 + 1;
    IpAddr::V4(Ipv4Addr::new(127, net, hi, lo))
}

fn free_port() -> std::io::Result<u16> {
    Ok(UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// `VmRSS` of this process, bytes.
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// utime + stime of this process, seconds.
fn cpu_seconds() -> f64 {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|t| {
            let after = t.rsplit_once(')')?.1.to_owned();
            let fields: Vec<u64> = after
                .split_whitespace()
                .filter_map(|f| f.parse().ok())
                .collect();
            // After the command name: state (not a number) is skipped by the filter, so
            // utime and stime are fields 14 and 15 of stat, here 10 and 11.
            Some(fields.get(10)? + fields.get(11)?)
        })
        .unwrap_or(0);
    ticks as f64 / 100.0
}

async fn run(args: Args) -> Result<(), String> {
    let err = |e: std::io::Error| e.to_string();
    let (a_port, b_port) = (free_port().map_err(err)?, free_port().map_err(err)?);
    let service = |port: u16| ServiceConfig {
        single_hop_port: port,
        multihop_port: 0,
        ..ServiceConfig::default()
    };
    let (a, _a_events) = Bfd::start(service(a_port));
    let (b, _b_events) = Bfd::start(service(b_port));
    let profile = Profile {
        timers: Timers {
            desired_min_tx: Duration::from_millis(args.interval_ms),
            required_min_rx: Duration::from_millis(args.interval_ms),
            detect_mult: args.multiplier,
        },
        ..Profile::default()
    };
    let spec = |peer: IpAddr, local: IpAddr, remote_port: u16| SessionSpec {
        remote_port,
        ..SessionSpec::new(
            SessionKey {
                peer,
                multihop: false,
            },
            Some(local),
            profile.clone(),
        )
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss();
    let started = Instant::now();
    for i in 0..args.sessions {
        let (one, two) = (address(1, i), address(2, i));
        a.add(spec(two, one, b_port))
            .await
            .map_err(|e| e.to_string())?;
        b.add(spec(one, two, a_port))
            .await
            .map_err(|e| e.to_string())?;
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut all = a.sessions().await.map_err(|e| e.to_string())?;
        all.extend(b.sessions().await.map_err(|e| e.to_string())?);
        let up = all.iter().filter(|s| s.state == State::Up).count();
        if up == 2 * args.sessions as usize {
            break;
        }
        if Instant::now() > deadline {
            let mut states = std::collections::BTreeMap::new();
            for s in &all {
                *states
                    .entry(format!("{} ({})", s.state, s.local_diagnostic))
                    .or_insert(0u32) += 1;
            }
            return Err(format!(
                "only {up} of {} sessions Up after 120 s: {states:?}",
                2 * args.sessions
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let up_after = started.elapsed();
    // Let Poll Sequences finish and buffers settle.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss();
    let cpu_start = cpu_seconds();
    let window = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let cpu = cpu_seconds() - cpu_start;
    let wall = window.elapsed().as_secs_f64();
    let sessions = u64::from(2 * args.sessions);
    let mut all = a.sessions().await.map_err(|e| e.to_string())?;
    all.extend(b.sessions().await.map_err(|e| e.to_string())?);
    let still_up = all.iter().filter(|s| s.state == State::Up).count();
    let down_events: u64 = all.iter().map(|s| s.counters.down_events).sum();
    println!(
        "{}",
        serde_json::json!({
            "sessions": sessions,
            "interval_ms": args.interval_ms,
            "multiplier": args.multiplier,
            "rss_before": before,
            "rss_after": after,
            "bytes_per_session": (after.saturating_sub(before)) / sessions,
            "mib_per_1000_sessions": (after.saturating_sub(before)) as f64 / sessions as f64 * 1000.0 / 1048576.0,
            "all_up_after_s": up_after.as_secs_f64(),
            "cpu_percent_of_one_core": cpu / wall * 100.0,
            "up_after_window": still_up,
            "down_events": down_events,
            "cpu": machine::cpu_model(),
            "cores": machine::cores(),
            "load": machine::load_average_text(),
        })
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bfd-sessions: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bfd-sessions: {e}");
            ExitCode::FAILURE
        }
    }
}
