//! Shared helpers of the end-to-end tests: network namespaces and a bridged LAN that are
//! removed when dropped (even when the test panics), daemons that are stopped when dropped,
//! a headless mini-router driven with `mini-router -c`, GoBGP speakers, tmux terminals, and
//! polling with a deadline instead of long sleeps.
//!
//! Every name (namespace, tmux server, socket) carries the test process id and a counter, so
//! tests run in parallel with each other and with other test binaries. Namespaces a killed
//! run left behind (their process id is gone) are swept the first time one is created.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

pub mod bird;
pub mod frr;
pub mod frr_stack;
pub mod speaker;
pub mod tmux;

use std::fs::File;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The mini-router binary cargo built for these tests.
pub const MINI_ROUTER: &str = env!("CARGO_BIN_EXE_mini-router");

/// The tutorial's quick start on the seed LAN: AS 64512, every speaker of 10.192.0.0/24
/// accepted as a dynamic neighbor, hostname `router`.
pub const QUICK_START: [&str; 6] = [
    "--asn",
    "64512",
    "--listen-range",
    "10.192.0.0/24",
    "--hostname",
    "router",
];

/// Prefix of every namespace these tests create.
const NS_PREFIX: &str = "mre2e-";

/// A name no other test of this or another running test process uses.
pub fn unique(tag: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Calls `f` until it returns Ok or `timeout` passes; panics with `what` and the last
/// error then. Polls every 100 ms.
pub fn poll<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        match f() {
            Ok(value) => return value,
            Err(last) => {
                if start.elapsed() > timeout {
                    panic!("timed out after {timeout:?} waiting for {what}; last seen:\n{last}");
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs a command to completion, returning (success, stdout, stderr).
pub fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs a command that must succeed and returns its stdout.
pub fn must(cmd: &mut Command) -> String {
    let (ok, stdout, stderr) = run(cmd);
    assert!(ok, "{cmd:?} failed:\n{stdout}{stderr}");
    stdout
}

/// `ip ARGS`, which must succeed.
pub fn ip(args: &[&str]) -> String {
    must(Command::new("ip").args(args))
}

/// Sends `signal` (a name such as TERM or KILL) to a process id.
pub fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A network namespace, deleted (after killing whatever still runs in it) when dropped.
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates `mre2e-<tag>-<pid>-<n>` with its loopback up.
    pub fn create(tag: &str) -> Netns {
        static SWEEP: Once = Once::new();
        SWEEP.call_once(|| lab::network::sweep_stale(NS_PREFIX));
        let name = format!("{NS_PREFIX}{}", unique(tag));
        ip(&["netns", "add", &name]);
        let ns = Netns { name };
        ip(&["-n", &ns.name, "link", "set", "lo", "up"]);
        ns
    }

    /// The namespace's name, for `ip -n NAME` and `ip netns exec NAME`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, program]);
        cmd
    }

    /// The routes of protocol bgp in the namespace's main table, as (destination, sorted
    /// gateways).
    pub fn bgp_routes(&self) -> Vec<(String, Vec<String>)> {
        let text = ip(&["-n", &self.name, "-j", "route", "show", "proto", "bgp"]);
        let routes: Vec<Value> = if text.trim().is_empty() {
            Vec::new()
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("ip -j route: {e}: {text}"))
        };
        routes
            .iter()
            .map(|r| {
                let dst = r["dst"].as_str().unwrap_or_default().to_owned();
                let mut gateways: Vec<String> = match r["nexthops"].as_array() {
                    Some(hops) => hops
                        .iter()
                        .filter_map(|h| h["gateway"].as_str().map(str::to_owned))
                        .collect(),
                    None => r["gateway"]
                        .as_str()
                        .map(str::to_owned)
                        .into_iter()
                        .collect(),
                };
                gateways.sort();
                (dst, gateways)
            })
            .collect()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        lab::network::kill_and_remove(&self.name);
    }
}

/// Hosts on one Ethernet segment: a switch namespace with a bridge, and one namespace per
/// host whose `eth0` is a veth port of that bridge.
pub struct Lan {
    hosts: Vec<(String, Netns)>,
    switch: Netns,
}

impl Lan {
    /// Creates the segment with `hosts` as (role, address/len), e.g. ("router",
    /// "10.192.0.7/24").
    pub fn create(hosts: &[(&str, &str)]) -> Lan {
        let switch = Netns::create("switch");
        let sw = switch.name().to_owned();
        ip(&["-n", &sw, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &sw, "link", "set", "br0", "up"]);
        let mut lan = Lan {
            hosts: Vec::new(),
            switch,
        };
        for (index, (role, cidr)) in hosts.iter().enumerate() {
            let ns = Netns::create(role);
            let port = format!("p{index}");
            ip(&[
                "-n",
                &sw,
                "link",
                "add",
                &port,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                ns.name(),
            ]);
            ip(&["-n", &sw, "link", "set", &port, "master", "br0", "up"]);
            ip(&["-n", ns.name(), "addr", "add", cidr, "dev", "eth0"]);
            ip(&["-n", ns.name(), "link", "set", "eth0", "up"]);
            lan.hosts.push(((*role).to_owned(), ns));
        }
        lan
    }

    /// The namespace of host `role`.
    pub fn host(&self, role: &str) -> &Netns {
        self.hosts
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, ns)| ns)
            .unwrap_or_else(|| panic!("no host {role} on this LAN"))
    }
}

/// A background process, stopped (SIGTERM, then SIGKILL) when dropped; its stdout and
/// stderr go to a log file.
pub struct Daemon {
    name: String,
    child: Child,
    log: PathBuf,
    status: Option<ExitStatus>,
}

impl Daemon {
    /// Starts `cmd` with stdin from /dev/null and its output in `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Daemon {
        let out = File::create(log).unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
        let err = out.try_clone().expect("clone log handle");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        Daemon {
            name: name.to_owned(),
            child,
            log: log.to_path_buf(),
            status: None,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the process printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its exit status if it has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Panics with the log when the process has ended.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.exited() {
            panic!("{} exited ({status}):\n{}", self.name, self.log());
        }
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit; None when it did not end
    /// (it is then killed).
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if let Some(status) = self.exited() {
            return Some(status);
        }
        signal(self.pid(), "TERM");
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.terminate(Duration::from_secs(3));
    }
}

/// What `mini-router -c …` answered.
#[derive(Debug)]
pub struct CliOutput {
    /// Exit code (0 ok, 1 a command failed, 2 cannot connect).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `mini-router --socket SOCKET -c C1 -c C2 …`.
pub fn cli_at(socket: &Path, commands: &[&str]) -> CliOutput {
    let mut cmd = Command::new(MINI_ROUTER);
    cmd.arg("--socket").arg(socket);
    for c in commands {
        cmd.arg("-c").arg(c);
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run mini-router -c: {e}"));
    CliOutput {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A headless mini-router (stdin is /dev/null) with its own control socket in a temporary
/// directory, optionally inside a namespace; stopped when dropped.
pub struct MiniRouter {
    /// The process.
    pub daemon: Daemon,
    /// Its control socket.
    pub socket: PathBuf,
    dir: tempfile::TempDir,
}

impl MiniRouter {
    /// Starts `mini-router --socket S ARGS` (inside `netns` when given) and waits until it
    /// answers on the control socket.
    pub fn start(netns: Option<&Netns>, args: &[&str]) -> MiniRouter {
        let dir = tempfile::tempdir().expect("tempdir");
        MiniRouter::start_in(dir, netns, args)
    }

    /// As [`MiniRouter::start`], with files (socket, log) in `dir`.
    pub fn start_in(dir: tempfile::TempDir, netns: Option<&Netns>, args: &[&str]) -> MiniRouter {
        let socket = dir.path().join("mini-router.sock");
        let mut cmd = match netns {
            Some(ns) => ns.command(MINI_ROUTER),
            None => Command::new(MINI_ROUTER),
        };
        cmd.arg("--socket").arg(&socket).args(args);
        cmd.env("RUST_LOG", "info");
        let daemon = Daemon::spawn("mini-router", cmd, &dir.path().join("mini-router.log"));
        let mut router = MiniRouter {
            daemon,
            socket,
            dir,
        };
        let socket = router.socket.clone();
        poll(
            "mini-router's control socket",
            Duration::from_secs(15),
            || {
                router.daemon.assert_running();
                let out = cli_at(&socket, &["show version"]);
                if out.code == Some(0) {
                    Ok(())
                } else {
                    Err(format!("{out:?}"))
                }
            },
        );
        router
    }

    /// The directory holding the socket and the log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Gives the directory back (e.g. to restart from a file kept in it).
    pub fn into_dir(self) -> tempfile::TempDir {
        let MiniRouter { daemon, dir, .. } = self;
        drop(daemon);
        dir
    }

    /// Runs command lines over the control socket.
    pub fn cli(&self, commands: &[&str]) -> CliOutput {
        cli_at(&self.socket, commands)
    }

    /// Runs command lines that must all succeed; returns the output.
    pub fn ok(&self, commands: &[&str]) -> String {
        let out = self.cli(commands);
        assert_eq!(
            out.code,
            Some(0),
            "mini-router -c {commands:?} failed:\n{}{}\n--- log ---\n{}",
            out.stdout,
            out.stderr,
            self.daemon.log()
        );
        out.stdout
    }

    /// Polls `show …` output until `check` accepts it (Ok) or the timeout passes.
    pub fn wait_show<T>(
        &mut self,
        command: &str,
        what: &str,
        timeout: Duration,
        check: impl Fn(&str) -> Result<T, String>,
    ) -> T {
        let socket = self.socket.clone();
        poll(what, timeout, || {
            self.daemon.assert_running();
            let out = cli_at(&socket, &[command]);
            if out.code != Some(0) {
                return Err(format!("{command} failed: {out:?}"));
            }
            check(&out.stdout).map_err(|e| format!("{e}\n--- {command} ---\n{}", out.stdout))
        })
    }
}

/// One neighbor row of `show ip bgp summary`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    /// The address (without the `*` of a dynamic neighbor).
    pub address: String,
    /// Whether the row was marked `*` (dynamic neighbor of a listen range).
    pub dynamic: bool,
    /// The AS column.
    pub remote_as: String,
    /// State/PfxRcd: a state name, or the number of prefixes received when Established.
    pub state_or_prefixes: String,
}

/// The neighbor rows of `show ip bgp summary` (FRR 8 layout).
pub fn summary_rows(text: &str) -> Vec<SummaryRow> {
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in text.lines() {
        if line.starts_with("Neighbor ") {
            in_table = true;
            continue;
        }
        if !in_table || line.trim().is_empty() {
            if in_table && line.trim().is_empty() {
                in_table = false;
            }
            continue;
        }
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 10 {
            continue;
        }
        let (dynamic, address) = match cols[0].strip_prefix('*') {
            Some(a) => (true, a),
            None => (false, cols[0]),
        };
        rows.push(SummaryRow {
            address: address.to_owned(),
            dynamic,
            remote_as: cols[2].to_owned(),
            state_or_prefixes: cols[9].to_owned(),
        });
    }
    rows
}

/// The path rows of `show ip bgp` as (status codes, next hop), e.g. ("*>i", "10.192.0.3"),
/// with the prefix each belongs to (the last one printed in the Network column).
pub fn table_paths(text: &str) -> Vec<(String, String, String)> {
    let mut paths = Vec::new();
    let mut prefix = String::new();
    for line in text.lines() {
        if !line.starts_with('*') || line.len() < 4 {
            continue;
        }
        let Some(codes) = line.get(..3) else { continue };
        let rest = line.get(3..).unwrap_or_default();
        let mut tokens = rest.split_whitespace();
        if !rest.starts_with(' ') {
            if let Some(p) = tokens.next() {
                prefix = p.to_owned();
            }
        }
        let Some(next_hop) = tokens.find(|t| t.parse::<Ipv4Addr>().is_ok()) else {
            continue;
        };
        paths.push((prefix.clone(), codes.to_owned(), next_hop.to_owned()));
    }
    paths
}
