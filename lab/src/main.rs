//! `lab`: the seed tutorial's cluster offline. `lab up` builds the network namespaces,
//! starts a real control plane in `kube-master`, the lab's kubelets and kube-proxy
//! stand-ins on the nodes, mini-router in `router`, and installs ferrolb with
//! `kubectl apply -f manifests/metallb.yaml`; `lab status`, `lab kubectl ARGS…`,
//! `lab router` and `lab down` use and remove it. The hidden subcommands are the lab's own
//! agents, which `lab up` starts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use lab::Binaries;
use lab::kubelet::{self, KubeletConfig};
use lab::router::{self, RouterFiles};
use lab::seed::{self, UpOptions, UpOutcome};

/// The seed tutorial's Kubernetes cluster, offline, in network namespaces.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the network, start the control plane, nodes and router, and install ferrolb.
    Up(UpArgs),
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
    /// The router's CLI (interactive; Ctrl-b d leaves it running), or `-c COMMAND…`.
    Router {
        /// Run COMMAND on the router and print its output (repeatable, like `vtysh -c`).
        #[arg(short = 'c', value_name = "COMMAND")]
        commands: Vec<String>,
    },
    /// (internal) The lab's kubelet for one node.
    #[command(hide = true)]
    Kubelet(KubeletArgs),
    /// (internal) The kube-proxy stand-in of one node.
    #[command(hide = true)]
    KubeProxy(AgentArgs),
    /// (internal) Sets up a container's namespaces and execs its command.
    #[command(hide = true)]
    ContainerInit(InitArgs),
}

#[derive(Args)]
struct UpArgs {
    /// Do not install ferrolb (apply manifests/metallb.yaml yourself, as the tutorial does).
    #[arg(long)]
    no_install: bool,
    /// Start the router configured (AS 64512, any speaker of 10.192.0.0/24).
    #[arg(long)]
    quick_start: bool,
    /// The manifests directory.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../manifests"))]
    manifests: PathBuf,
}

#[derive(Args)]
struct AgentArgs {
    /// The node.
    #[arg(long)]
    node: String,
    /// The node's network namespace, entered first.
    #[arg(long)]
    netns: Option<String>,
    /// The kubeconfig to use.
    #[arg(long)]
    kubeconfig: PathBuf,
}

#[derive(Args)]
struct KubeletArgs {
    #[command(flatten)]
    agent: AgentArgs,
    /// Where pods' files go.
    #[arg(long)]
    pods_dir: PathBuf,
    /// A namespace whose pods this kubelet runs (repeatable).
    #[arg(long = "namespace", required = true)]
    namespaces: Vec<String>,
    /// LISTEN=TARGET: forward the node's kubelet port to kwok.
    #[arg(long, value_parser = parse_forward)]
    forward: Option<(SocketAddr, String)>,
}

fn parse_forward(text: &str) -> Result<(SocketAddr, String), String> {
    let (listen, target) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: want LISTEN=TARGET"))?;
    let listen = listen.parse().map_err(|e| format!("{listen:?}: {e}"))?;
    Ok((listen, target.to_owned()))
}

#[derive(Args)]
struct InitArgs {
    /// Network namespace to enter (a path).
    #[arg(long)]
    netns: Option<PathBuf>,
    /// SOURCE:TARGET to mount read-only (repeatable).
    #[arg(long = "bind", value_parser = kubelet::init::parse_bind)]
    binds: Vec<(PathBuf, PathBuf)>,
    /// Make / read-only.
    #[arg(long)]
    read_only_root: bool,
    /// The command.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let binaries = Binaries::from_env();
    match cli.command {
        Cmd::Up(args) => up(&binaries, args),
        Cmd::Down => down(),
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
        Cmd::Kubectl { args } => kubectl(&binaries, &args),
        Cmd::Router { commands } => router_cli(&commands),
        Cmd::Kubelet(args) => agent(args.agent.netns.clone(), async move {
            kubelet::run(KubeletConfig {
                node: args.agent.node,
                netns: args.agent.netns,
                kubeconfig: args.agent.kubeconfig,
                pods_dir: args.pods_dir,
                namespaces: args.namespaces,
                forward: args.forward,
            })
            .await
            .map_err(|e| e.to_string())
        }),
        Cmd::KubeProxy(args) => agent(args.netns.clone(), async move {
            lab::kube_proxy::run(lab::kube_proxy::KubeProxyConfig {
                node: args.node,
                kubeconfig: args.kubeconfig,
            })
            .await
            .map_err(|e| e.to_string())
        }),
        Cmd::ContainerInit(args) => {
            let spec = kubelet::init::InitSpec {
                netns: args.netns,
                binds: args.binds,
                read_only_root: args.read_only_root,
            };
            ExitCode::from(kubelet::init::run(&spec, &args.command))
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Runs an agent: enters its node's namespace on this thread first, so every thread the
/// runtime starts is there too.
fn agent(
    netns: Option<String>,
    work: impl std::future::Future<Output = Result<(), String>>,
) -> ExitCode {
    if let Some(ns) = netns.as_deref()
        && let Err(e) = kubelet::enter_netns(ns)
    {
        return fail(&e.to_string());
    }
    match runtime().and_then(|rt| rt.block_on(work)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn up(binaries: &Binaries, args: UpArgs) -> ExitCode {
    let start = Instant::now();
    let options = UpOptions {
        install: !args.no_install,
        router_quick_start: args.quick_start,
        // Shown in the commands printed at the end: `…/manifests`, not `…/lab/../manifests`.
        manifests: std::fs::canonicalize(&args.manifests).unwrap_or(args.manifests),
        ferrolb_bin: kubelet::plan::bin_dir(),
    };
    let outcome = match runtime() {
        Ok(rt) => rt.block_on(seed::up(binaries, &options)),
        Err(e) => return fail(&e),
    };
    match outcome {
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
                "lab: up in {:.1} s: Kubernetes {} at {}, ferrolb {}, router at 10.192.0.7\n\
                 export KUBECONFIG={}   # or: lab kubectl …\n\n{}",
                start.elapsed().as_secs_f64(),
                state.kubernetes_version,
                state.server,
                if options.install {
                    "installed"
                } else {
                    "not installed (--no-install)"
                },
                seed::kubeconfig_path().display(),
                next_steps(&options)
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

/// What to type next, in the tutorial's order.
fn next_steps(options: &UpOptions) -> String {
    let m = options.manifests.display();
    let mut lines = vec!["Next, as in the tutorial:".to_owned()];
    if !options.install {
        lines.push(format!(
            "  lab kubectl apply -f {m}/metallb.yaml            # install ferrolb"
        ));
    }
    lines.push("  lab kubectl get pods -n metallb-system -o wide".to_owned());
    if options.router_quick_start {
        lines.push("  lab router                                   # the router's CLI, already peering with 10.192.0.0/24 (Ctrl-b d detaches)".to_owned());
    } else {
        lines.push("  lab router                                   # the router's CLI (Ctrl-b d detaches); there type:".to_owned());
        lines.push("      configure terminal / router bgp 64512 / neighbor 10.192.0.3 remote-as 64512 / neighbor 10.192.0.4 remote-as 64512".to_owned());
    }
    lines.push(format!(
        "  lab kubectl apply -f {m}/example-config.yaml     # or example-crs.yaml"
    ));
    lines.push("  lab router -c 'show ip bgp summary'".to_owned());
    lines.push("  lab kubectl logs -n metallb-system -l component=speaker".to_owned());
    lines.push(format!("  lab kubectl apply -f {m}/tutorial-2.yaml"));
    lines.push("  lab kubectl get service nginx".to_owned());
    lines.push("  lab router -c 'show ip bgp'                  # then in `lab router`: start-shell, wget 198.51.100.0".to_owned());
    lines.push("  lab down".to_owned());
    lines.join("\n")
}

fn down() -> ExitCode {
    match seed::down() {
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
    }
}

fn kubectl(binaries: &Binaries, args: &[String]) -> ExitCode {
    match seed::read_state() {
        Ok(Some(_)) => {}
        Ok(None) => return fail("no lab is up (`lab up` starts one)"),
        Err(e) => return fail(&e.to_string()),
    }
    let mut cmd = match seed::kubectl(binaries) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string()),
    };
    exit_of(cmd.args(args).status(), "kubectl")
}

fn exit_of(status: std::io::Result<std::process::ExitStatus>, what: &str) -> ExitCode {
    match status {
        Ok(status) => status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .map_or(ExitCode::FAILURE, ExitCode::from),
        Err(e) => fail(&format!("cannot run {what}: {e}")),
    }
}

/// `lab router`: attach to the router's terminal (starting a fresh router if the last one
/// was ended with `exit`), or run `-c` commands on it.
fn router_cli(commands: &[String]) -> ExitCode {
    match seed::read_state() {
        Ok(Some(_)) => {}
        Ok(None) => return fail("no lab is up (`lab up` starts one)"),
        Err(e) => return fail(&e.to_string()),
    }
    let dir = seed::state_dir();
    let files = RouterFiles { dir: dir.clone() };
    let mini_router = kubelet::plan::bin_dir().join("mini-router");
    if !commands.is_empty() {
        return exit_of(
            router::client(&files, &mini_router, commands).status(),
            "mini-router",
        );
    }
    if !router::running(&files) {
        eprintln!("lab: the router had ended (`exit` at its prompt); starting a fresh one");
        match router::start(&files, &mini_router, false) {
            Ok(components) => {
                if let Err(e) = seed::record_components(&dir, router::NETNS, components) {
                    return fail(&e.to_string());
                }
            }
            Err(e) => return fail(&e.to_string()),
        }
    }
    exit_of(
        files
            .tmux(&["attach-session", "-t", router::SESSION])
            .status(),
        "tmux",
    )
}

fn fail(message: &str) -> ExitCode {
    eprintln!("lab: {message}");
    ExitCode::FAILURE
}
