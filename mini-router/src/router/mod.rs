//! The router: the one task that owns the running configuration, the BGP engine (through
//! [`Reconciler`]) and the kernel FIB. Every CLI session — the terminal, each `-c` request —
//! sends it lines through a [`RouterHandle`] and keeps only its own mode, so two operators
//! never race on the configuration.

mod show;

use std::net::Ipv4Addr;
use std::path::PathBuf;

use tokio::sync::{mpsc, oneshot};

use crate::cli::command::{ClearTarget, Command, Mode};
use crate::cli::parse_line;
use crate::config::RunningConfig;
use crate::config::write::{Environment, config_file, running_config};
use crate::fib::{BatchReport, FibError};
use crate::fib_feed;
use crate::reconcile::{Reconciler, desired};

/// What running one line did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Text to print.
    pub output: String,
    /// The line succeeded.
    pub ok: bool,
    /// The mode to continue in; `None` leaves the CLI (`exit` in enable mode).
    pub mode: Option<Mode>,
    /// The line was `start-shell`: the terminal session should run a shell.
    pub start_shell: bool,
}

impl Outcome {
    fn text(output: String, mode: Mode) -> Self {
        Outcome {
            output,
            ok: true,
            mode: Some(mode),
            start_shell: false,
        }
    }

    fn error(output: String, mode: Mode) -> Self {
        Outcome {
            output,
            ok: false,
            mode: Some(mode),
            start_shell: false,
        }
    }
}

/// What a terminal session needs to know between commands.
#[derive(Debug, Clone, Default)]
pub struct SessionContext {
    /// The hostname, for the prompt.
    pub hostname: String,
    /// Values `?` lists (configured neighbors).
    pub help: crate::cli::HelpContext,
}

/// A request to the router task.
enum Request {
    Execute {
        mode: Mode,
        line: String,
        reply: oneshot::Sender<Outcome>,
    },
    Context(oneshot::Sender<SessionContext>),
    Shutdown(oneshot::Sender<()>),
}

/// A cheap handle to the router task.
#[derive(Clone)]
pub struct RouterHandle {
    tx: mpsc::Sender<Request>,
}

impl RouterHandle {
    /// Runs one line typed in `mode`.
    pub async fn execute(&self, mode: Mode, line: &str) -> Outcome {
        let (reply, answer) = oneshot::channel();
        let request = Request::Execute {
            mode,
            line: line.to_owned(),
            reply,
        };
        if self.tx.send(request).await.is_err() {
            return Outcome::error("% The router has stopped\n".into(), mode);
        }
        answer
            .await
            .unwrap_or_else(|_| Outcome::error("% The router has stopped\n".into(), mode))
    }

    /// What a terminal session needs for its prompt and `?` help.
    pub async fn context(&self) -> SessionContext {
        let (reply, answer) = oneshot::channel();
        if self.tx.send(Request::Context(reply)).await.is_err() {
            return SessionContext::default();
        }
        answer.await.unwrap_or_default()
    }

    /// Ends every BGP session (Cease/2), removes our kernel routes and stops the task.
    pub async fn shutdown(&self) {
        let (reply, answer) = oneshot::channel();
        if self.tx.send(Request::Shutdown(reply)).await.is_ok() {
            let _ = answer.await;
        }
    }
}

/// Where the router's parts come from.
pub struct RouterParts {
    /// The configuration to start with.
    pub config: RunningConfig,
    /// The file `write` saves to (`--config`).
    pub config_path: Option<PathBuf>,
    /// Runs the BGP engine.
    pub reconciler: Reconciler,
    /// The kernel FIB, unless running RIB-only.
    pub fib: Option<crate::fib::Fib>,
    /// Router ID when `bgp router-id` is not set.
    pub default_router_id: Ipv4Addr,
}

/// Starts the router task; the configuration is applied to the BGP engine first.
pub async fn spawn(parts: RouterParts) -> (RouterHandle, Vec<String>) {
    let (tx, rx) = mpsc::channel(64);
    let mut router = Router {
        config: parts.config,
        config_path: parts.config_path,
        reconciler: parts.reconciler,
        fib: parts.fib,
        default_router_id: parts.default_router_id,
        events: None,
    };
    let mut warnings = Vec::new();
    if let Err(err) = router.reconcile().await {
        warnings.push(format!("% {err}"));
    }
    tokio::spawn(router.run(rx));
    (RouterHandle { tx }, warnings)
}

struct Router {
    config: RunningConfig,
    config_path: Option<PathBuf>,
    reconciler: Reconciler,
    fib: Option<crate::fib::Fib>,
    default_router_id: Ipv4Addr,
    /// Events of the running BGP engine (for the FIB).
    events: Option<mpsc::Receiver<bgp::Event>>,
}

impl Router {
    async fn run(mut self, mut requests: mpsc::Receiver<Request>) {
        loop {
            tokio::select! {
                request = requests.recv() => match request {
                    Some(Request::Execute { mode, line, reply }) => {
                        let outcome = self.execute(mode, &line).await;
                        let _ = reply.send(outcome);
                    }
                    Some(Request::Context(reply)) => {
                        let neighbors = self
                            .config
                            .bgp
                            .as_ref()
                            .map(|b| b.neighbors.keys().copied().collect())
                            .unwrap_or_default();
                        let _ = reply.send(SessionContext {
                            hostname: self.config.hostname.clone(),
                            help: crate::cli::HelpContext { neighbors },
                        });
                    }
                    Some(Request::Shutdown(reply)) => {
                        self.stop().await;
                        let _ = reply.send(());
                        return;
                    }
                    None => {
                        self.stop().await;
                        return;
                    }
                },
                Some(event) = next_event(&mut self.events) => self.on_event(event).await,
            }
        }
    }

    async fn stop(&mut self) {
        if let Err(err) = self.reconciler.shutdown().await {
            tracing::warn!(%err, "stopping BGP");
        }
        if let Some(fib) = self.fib.as_mut() {
            if let Err(err) = fib.remove_all().await {
                tracing::warn!(%err, "removing kernel routes");
            }
        }
    }

    async fn on_event(&mut self, event: bgp::Event) {
        let Some(fib) = self.fib.as_ref() else {
            return;
        };
        let result = fib_feed::follow(fib, &event, self.reconciler.speaker()).await;
        self.kernel_updated(result);
    }

    /// Reports what the kernel refused; stops using it when it refuses everything.
    fn kernel_updated(&mut self, result: Result<Option<BatchReport>, fib_feed::FeedError>) {
        match result {
            Ok(report) => {
                for err in report.map(|r| r.errors).unwrap_or_default() {
                    tracing::warn!(%err, "kernel route not updated");
                }
            }
            Err(fib_feed::FeedError::Kernel(FibError::PermissionDenied)) => {
                eprintln!("% {}", FibError::PermissionDenied);
                self.fib = None;
            }
            Err(err) => tracing::warn!(%err, "updating kernel routes"),
        }
    }

    /// Brings the BGP engine to the running configuration. When that starts another BGP
    /// instance (or stops it), the kernel is brought to the new instance's RIB: what the
    /// old one's events still held went with it.
    async fn reconcile(&mut self) -> Result<(), crate::reconcile::ReconcileError> {
        let want = desired(&self.config, self.default_router_id);
        let result = self.reconciler.apply(want).await;
        let started = self.reconciler.take_events();
        let stopped = self.reconciler.speaker().is_none() && self.events.is_some();
        if started.is_some() || stopped {
            self.events = started;
            if let Some(fib) = self.fib.as_ref() {
                let result = fib_feed::resync(fib, self.reconciler.speaker()).await;
                self.kernel_updated(result.map(Some));
            }
        }
        result
    }

    async fn execute(&mut self, mode: Mode, line: &str) -> Outcome {
        let parsed = match parse_line(mode, line) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return Outcome::text(String::new(), mode),
            Err(err) => return Outcome::error(format!("{err}\n"), mode),
        };
        // FRR runs a command of a parent mode in that mode and stays there.
        let here = parsed.mode;
        let mut outcome = match parsed.command {
            Command::ConfigureTerminal => Outcome::text(String::new(), Mode::Config),
            Command::Exit => Outcome {
                mode: here.parent(),
                ..Outcome::text(String::new(), here)
            },
            Command::End => Outcome::text(String::new(), Mode::Enable),
            Command::ExitAddressFamily => Outcome::text(String::new(), Mode::ConfigRouter),
            Command::Show(show) => {
                // `do show …` keeps the configuration mode it was typed in.
                let mode = if here == Mode::Enable { mode } else { here };
                match show::render(self, &show).await {
                    Ok(text) => Outcome::text(text, mode),
                    Err(text) => Outcome::error(text, mode),
                }
            }
            Command::ClearBgp(target) => self.clear(target, mode).await,
            Command::Write => self.write(here),
            Command::WriteTerminal => {
                Outcome::text(running_config(&self.config, &environment()), here)
            }
            Command::StartShell => Outcome {
                start_shell: true,
                ..Outcome::text(String::new(), mode)
            },
            Command::Config(change) => match self.config.apply(&change, here) {
                Ok(entered) => {
                    let next = entered.unwrap_or(here);
                    match self.reconcile().await {
                        Ok(()) => Outcome::text(String::new(), next),
                        Err(err) => Outcome::error(format!("% {err}\n"), next),
                    }
                }
                Err(err) => Outcome::error(format!("% {err}\n"), here),
            },
        };
        if let Some(filter) = parsed.filter {
            outcome.output = filter.apply(&outcome.output);
        }
        outcome
    }

    async fn clear(&mut self, target: ClearTarget, mode: Mode) -> Outcome {
        let Some(speaker) = self.reconciler.speaker() else {
            return Outcome::error("% No BGP process is configured\n".into(), mode);
        };
        let address = match target {
            ClearTarget::All => None,
            ClearTarget::Peer(address) => Some(address),
        };
        match speaker.reset(address).await {
            Ok(()) => Outcome::text(String::new(), mode),
            Err(bgp::SpeakerError::NoSuchPeer(_)) => Outcome::error(
                "% BGP: Unknown neighbor - \"".to_owned()
                    + &address.map(|a| a.to_string()).unwrap_or_default()
                    + "\"\n",
                mode,
            ),
            Err(err) => Outcome::error(format!("% {err}\n"), mode),
        }
    }

    fn write(&self, mode: Mode) -> Outcome {
        let Some(path) = &self.config_path else {
            return Outcome::error(
                "% No configuration file: start mini-router with --config FILE to save\n".into(),
                mode,
            );
        };
        let text = config_file(&self.config, &environment());
        let tmp = path.with_extension("tmp");
        let result = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path));
        match result {
            Ok(()) => Outcome::text(
                format!(
                    "Building Configuration...\nConfiguration saved to {}\n[OK]\n",
                    path.display()
                ),
                mode,
            ),
            Err(err) => Outcome::error(
                format!("% Can't save configuration to {}: {err}\n", path.display()),
                mode,
            ),
        }
    }
}

/// The next event of the running BGP engine; never, while none runs.
async fn next_event(events: &mut Option<mpsc::Receiver<bgp::Event>>) -> Option<bgp::Event> {
    match events {
        Some(events) => events.recv().await,
        None => std::future::pending().await,
    }
}

/// What the configuration header reports about the kernel.
fn environment() -> Environment {
    let forwarding = |path: &str| {
        std::fs::read_to_string(path)
            .map(|v| v.trim() == "1")
            .unwrap_or(false)
    };
    Environment {
        ip_forwarding: forwarding("/proc/sys/net/ipv4/ip_forward"),
        ipv6_forwarding: forwarding("/proc/sys/net/ipv6/conf/all/forwarding"),
        ..Environment::default()
    }
}
