//! `lab`: the seed tutorial's cluster offline. `lab up` builds the network namespaces and
//! starts a real control plane in `kube-master`; `lab status`, `lab kubectl ARGS…` and
//! `lab down` use and remove it.

use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use lab::Binaries;
use lab::seed::{self, UpOutcome};

/// The seed tutorial's Kubernetes cluster, offline, in network namespaces.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the network and start the control plane and nodes.
    Up,
    /// Stop everything and remove namespaces, links and files.
    Down,
    /// Show what runs where.
    Status,
    /// Run kubectl against the lab.
    Kubectl {
        /// kubectl's arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let binaries = Binaries::from_env();
    match cli.command {
        Cmd::Up => {
            let start = Instant::now();
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
            };
            match runtime.block_on(seed::up(&binaries, &[])) {
                Ok(UpOutcome::AlreadyUp(state)) => {
                    println!(
                        "lab: a lab is already up (Kubernetes {} at {}); nothing changed. \
                         `lab status` shows it, `lab down` removes it.",
                        state.kubernetes_version, state.server
                    );
                    ExitCode::SUCCESS
                }
                Ok(UpOutcome::Started(state)) => {
                    println!(
                        "lab: up in {:.1} s: Kubernetes {} at {}\n\
                         export KUBECONFIG={}   # or: lab kubectl get nodes",
                        start.elapsed().as_secs_f64(),
                        state.kubernetes_version,
                        state.server,
                        seed::kubeconfig_path().display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.to_string()),
            }
        }
        Cmd::Down => match seed::down() {
            Ok(removed) if removed.is_empty() => {
                println!("lab: no lab was up; nothing to remove");
                ExitCode::SUCCESS
            }
            Ok(removed) => {
                for r in removed {
                    println!("removed {r}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e.to_string()),
        },
        Cmd::Status => match seed::status() {
            Ok(Some((state, rows))) => {
                println!("{}", seed::render_status(&state, &rows));
                ExitCode::SUCCESS
            }
            Ok(None) => {
                println!("lab: no lab is up (`lab up` starts one)");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e.to_string()),
        },
        Cmd::Kubectl { args } => {
            match seed::read_state() {
                Ok(Some(_)) => {}
                Ok(None) => return fail("no lab is up (`lab up` starts one)"),
                Err(e) => return fail(&e.to_string()),
            }
            let mut cmd = match seed::kubectl(&binaries) {
                Ok(c) => c,
                Err(e) => return fail(&e.to_string()),
            };
            match cmd.args(&args).status() {
                Ok(status) => status
                    .code()
                    .and_then(|c| u8::try_from(c).ok())
                    .map_or(ExitCode::FAILURE, ExitCode::from),
                Err(e) => fail(&format!("cannot run kubectl: {e}")),
            }
        }
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("lab: {message}");
    ExitCode::FAILURE
}
