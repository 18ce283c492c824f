//! The receiver side of `bench/ingest` for our engine: a [`bgp::Speaker`] listening on one
//! address with one passive eBGP peer (the benchmark's sender), nothing else.
//!
//! It prints `ready` once listening, then answers on stdin/stdout: a line `count` gets one
//! line back with the prefixes announced minus withdrawn in the UPDATEs the engine has
//! applied (counted from its `RoutesReceived` events, so asking does not disturb the core
//! task); `rib` asks the engine (`Speaker::peers`) for the IPv4 unicast prefixes it holds
//! from the peer and its session state (`1000000 Established`); `quit` (or the end of stdin) shuts the speaker down, `exit`
//! leaves at once without the shutdown's withdrawals. Events are
//! drained continuously, as a router that installs best paths would consume them.

use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use bgp::{Event, Family, PeerConfig, RemoteAs, Speaker, SpeakerConfig};
use clap::Parser;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Command line of the receiver.
#[derive(Debug, Parser)]
#[command(about = "bench/ingest receiver: a bgp::Speaker with one passive peer")]
struct Args {
    /// Address and port to listen on.
    #[arg(long)]
    listen: SocketAddr,
    /// Our AS.
    #[arg(long, default_value_t = 65000)]
    asn: u32,
    /// The sender's address.
    #[arg(long)]
    peer: IpAddr,
    /// The sender's AS.
    #[arg(long, default_value_t = 65001)]
    peer_as: u32,
    /// Hold time offered, in seconds.
    #[arg(long, default_value_t = 240)]
    hold_time: u16,
}

/// Errors that stop the receiver.
#[derive(Debug, thiserror::Error)]
enum ReceiverError {
    /// The speaker could not start or stopped.
    #[error(transparent)]
    Speaker(#[from] bgp::SpeakerError),
    /// The listen address is not IPv4 (the router id is taken from it).
    #[error("the listen address {0} must be IPv4")]
    NotIpv4(SocketAddr),
    /// Standard input or output failed.
    #[error("stdin/stdout: {0}")]
    Io(#[from] std::io::Error),
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ingest-receiver: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ingest-receiver: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), ReceiverError> {
    let IpAddr::V4(router_id) = args.listen.ip() else {
        return Err(ReceiverError::NotIpv4(args.listen));
    };
    let config = SpeakerConfig {
        local_as: args.asn,
        router_id,
        listen: vec![args.listen],
        ..SpeakerConfig::default()
    };
    let (speaker, mut events) = Speaker::start(config).await?;
    let mut peer = PeerConfig::new(args.peer, RemoteAs::Asn(args.peer_as));
    peer.passive = true;
    peer.hold_time = args.hold_time;
    peer.families = vec![Family::Ipv4Unicast];
    speaker.add_peer(peer).await?;
    // Prefixes announced minus withdrawn, from the events the engine emits right after it
    // applied each UPDATE to the RIB: reading it does not interrupt the core task.
    let applied = Arc::new(AtomicI64::new(0));
    let counter = Arc::clone(&applied);
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                Event::RoutesReceived {
                    announced,
                    withdrawn,
                    ..
                } => {
                    let delta = announced as i64 - withdrawn as i64;
                    counter.fetch_add(delta, Ordering::Relaxed);
                }
                Event::PeerDown { peer, reason } => {
                    eprintln!("ingest-receiver: session with {peer} down: {reason}");
                }
                Event::Lagged(missed) => {
                    // The engine dropped events rather than wait for this reader: `count`
                    // falls short from now on, `rib` stays exact.
                    eprintln!("ingest-receiver: {missed} events missed; count is short, use rib");
                }
                _ => {}
            }
        }
    });
    let mut stdout = std::io::stdout();
    writeln!(stdout, "ready")?;
    stdout.flush()?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        match line.trim() {
            "count" => {
                let count = applied.load(Ordering::Relaxed).max(0);
                writeln!(stdout, "{count}")?;
                stdout.flush()?;
            }
            "rib" => {
                let peers = speaker.peers().await?;
                let mut count = 0;
                let mut state = String::from("NoPeer");
                for summary in peers.iter().filter(|p| p.config.address == args.peer) {
                    count += summary
                        .received
                        .iter()
                        .filter(|(f, _)| *f == Family::Ipv4Unicast)
                        .map(|(_, n)| n)
                        .sum::<usize>();
                    state = format!("{:?}", summary.status.state);
                }
                writeln!(stdout, "{count} {state}")?;
                stdout.flush()?;
            }
            "quit" => break,
            // The measurement is over: leave without withdrawing a million routes (the
            // other receivers are stopped with SIGTERM, their teardown is not measured
            // either, and a profile of the ingest stays free of it).
            "exit" => std::process::exit(0),
            other => {
                writeln!(stdout, "error unknown request {other:?}")?;
                stdout.flush()?;
            }
        }
    }
    speaker.shutdown().await?;
    Ok(())
}
