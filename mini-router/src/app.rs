//! How mini-router runs: as a client of a running instance (`-c`), or as the router itself —
//! interactive on a terminal, headless otherwise — with the startup configuration built
//! from `--config` and the quick-start flags.

use std::io::IsTerminal;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ipnet::IpNet;

use crate::cli::command::Mode;
use crate::config::RunningConfig;
use crate::config::load::apply_text;
use crate::control;
use crate::fib::{Fib, FibError};
use crate::reconcile::Reconciler;
use crate::router::{self, RouterHandle, RouterParts};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(
    name = "mini-router",
    version,
    about = "An interactive BGP router with an FRR-like CLI that installs its routes into the kernel"
)]
pub struct Options {
    /// FRR-syntax startup configuration; `write` saves the running configuration there.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Quick start: `router bgp ASN`.
    #[arg(long, value_name = "ASN")]
    pub asn: Option<u32>,
    /// Quick start: accept BGP sessions from any address of PREFIX (`bgp listen range`).
    #[arg(long = "listen-range", value_name = "PREFIX", requires = "asn")]
    pub listen_ranges: Vec<IpNet>,
    /// Quick start: the AS of speakers in the listen ranges (a number, `internal` or `external`).
    #[arg(long = "remote-as", value_name = "AS", default_value = "internal")]
    pub remote_as: String,
    /// `bgp router-id` (default: the highest IPv4 interface address).
    #[arg(long, value_name = "A.B.C.D")]
    pub router_id: Option<Ipv4Addr>,
    /// The hostname shown in the prompt (default: the system's).
    #[arg(long)]
    pub hostname: Option<String>,
    /// Address and port to accept BGP sessions on (repeatable; default [::]:179, dual-stack).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Vec<SocketAddr>,
    /// Control socket for `-c` (default /run/mini-router.sock for root).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Keep routes in the RIB only; never touch the kernel table.
    #[arg(long)]
    pub no_fib: bool,
    /// Run headless even on a terminal.
    #[arg(long)]
    pub daemon: bool,
    /// Run COMMAND on the running instance and print its output (repeatable, like `vtysh -c`).
    #[arg(short = 'c', value_name = "COMMAND")]
    pub commands: Vec<String>,
}

/// Runs mini-router as the options say.
pub async fn run(options: Options) -> ExitCode {
    let socket = options
        .socket
        .clone()
        .unwrap_or_else(control::default_socket_path);
    if !options.commands.is_empty() {
        return client(&socket, &options.commands).await;
    }
    let interactive = std::io::stdin().is_terminal() && !options.daemon;
    init_logging(interactive);
    match serve(options, socket, interactive).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("mini-router: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn client(socket: &std::path::Path, commands: &[String]) -> ExitCode {
    match control::run_remote(socket, commands).await {
        Ok(reply) => {
            print!("{}", reply.output);
            if reply.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(err) => {
            eprintln!("% cannot reach a running mini-router: {err}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(interactive: bool) {
    let default = if interactive { "off" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The startup configuration: the file (if any), then the quick-start flags. Errors in
/// the file are reported with file:line and the valid rest is applied.
fn startup_config(options: &Options) -> Result<RunningConfig, String> {
    let hostname = options.hostname.clone().unwrap_or_else(system_hostname);
    let mut config = RunningConfig::with_hostname(&hostname);
    if let Some(path) = &options.config {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                for error in apply_text(&mut config, &text) {
                    eprintln!("{}", error.with_file(&path.display().to_string()));
                }
                if let Some(name) = &options.hostname {
                    config.hostname = name.clone();
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                eprintln!(
                    "% {} does not exist yet; `write` will create it",
                    path.display()
                );
            }
            Err(err) => return Err(format!("cannot read {}: {err}", path.display())),
        }
    }
    let mut quick = String::new();
    if let Some(asn) = options.asn {
        quick.push_str(&format!("router bgp {asn}\n"));
        if !options.listen_ranges.is_empty() {
            quick.push_str(" neighbor SPEAKERS peer-group\n");
            quick.push_str(&format!(
                " neighbor SPEAKERS remote-as {}\n",
                options.remote_as
            ));
            for range in &options.listen_ranges {
                quick.push_str(&format!(" bgp listen range {range} peer-group SPEAKERS\n"));
            }
        }
    }
    let errors = apply_text(&mut config, &quick);
    if let Some(error) = errors.first() {
        return Err(format!(
            "bad quick-start option: {}",
            error.with_file("command line")
        ));
    }
    Ok(config)
}

fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "mini-router".to_owned())
}

/// The kernel FIB, unless asked not to or not permitted (then one clear warning).
async fn open_fib(no_fib: bool) -> Option<Fib> {
    if no_fib {
        return None;
    }
    let fib = match Fib::connect() {
        Ok(fib) => fib,
        Err(err) => {
            eprintln!("% {err}; running RIB-only");
            return None;
        }
    };
    // Routes a crashed earlier run left behind go first.
    match fib.remove_all().await {
        Ok(_) => Some(fib),
        Err(FibError::PermissionDenied) => {
            eprintln!("% {}", FibError::PermissionDenied);
            None
        }
        Err(err) => {
            eprintln!("% cannot use the kernel routing table ({err}); running RIB-only");
            None
        }
    }
}

async fn serve(options: Options, socket: PathBuf, interactive: bool) -> Result<(), String> {
    let config = startup_config(&options)?;
    let interfaces = crate::links::interfaces().await.unwrap_or_default();
    let default_router_id = crate::links::router_id_from(&interfaces);
    let fib = open_fib(options.no_fib).await;
    let listen = if options.listen.is_empty() {
        vec![SocketAddr::new(
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            bgp::BGP_PORT,
        )]
    } else {
        options.listen.clone()
    };
    let parts = RouterParts {
        config,
        config_path: options.config.clone(),
        reconciler: Reconciler::new(listen, crate::links::own_addresses(&interfaces)),
        fib,
        default_router_id,
    };
    let (router, warnings) = router::spawn(parts).await;
    for warning in warnings {
        eprintln!("{warning}");
    }
    let listener = control::bind(&socket).await.map_err(|e| e.to_string())?;
    let sessions = router.clone();
    tokio::spawn(control::serve(listener, move || ControlSession {
        router: sessions.clone(),
        mode: Mode::Enable,
    }));

    if interactive {
        let banner = format!(
            "\nHello, this is mini-router (version {}).\nCopyright the ferrolb authors.\n\n",
            env!("CARGO_PKG_VERSION")
        );
        let terminal = router.clone();
        let runtime = tokio::runtime::Handle::current();
        let repl =
            tokio::task::spawn_blocking(move || crate::repl::run(terminal, runtime, &banner));
        tokio::select! {
            result = repl => {
                if let Ok(Err(err)) = result {
                    eprintln!("% terminal: {err}");
                }
            }
            _ = terminate() => {}
        }
    } else {
        terminate().await;
    }
    router.shutdown().await;
    let _ = std::fs::remove_file(&socket);
    Ok(())
}

/// Waits for SIGINT or SIGTERM.
async fn terminate() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
}

/// One `-c` request: the lines run in one CLI session starting in enable mode.
struct ControlSession {
    router: RouterHandle,
    mode: Mode,
}

impl control::Session for ControlSession {
    async fn execute(&mut self, line: &str) -> (String, bool) {
        let outcome = self.router.execute(self.mode, line).await;
        if outcome.start_shell {
            return ("% start-shell needs a terminal\n".to_owned(), false);
        }
        if let Some(mode) = outcome.mode {
            self.mode = mode;
        }
        (outcome.output, outcome.ok)
    }
}
