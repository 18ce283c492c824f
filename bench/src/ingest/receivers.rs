//! The receivers: each is started fresh from a configuration written into its own temporary
//! directory, with one passive eBGP neighbor (the sender), and asked for the number of IPv4
//! prefixes it accepted from that neighbor:
//!
//! | receiver | started as | count read from |
//! |---|---|---|
//! | ours | `ingest-receiver` (a `bgp::Speaker`) | its `count` request on stdin/stdout (from the engine's events; confirmed with `rib` at the end) |
//! | mini-router | `mini-router --asn … --listen-range … --daemon` | `mini-router -c 'show ip bgp summary json'` |
//! | FRR | `bgpd -Z` (RIB only) or `bgpd` + `zebra` (kernel) | `vtysh … show bgp ipv4 unicast summary json`, `pfxRcd` |
//! | BIRD | `bird -f`, `export none` (RIB only) or a `kernel` protocol | `birdc show protocols all peer`, `Routes: N imported` |
//! | GoBGP | `gobgpd` (never zebra) | `gobgp neighbor ADDR -j`, `afi_safis[].state.accepted` |
//!
//! Every daemon runs in its own process group and is stopped when its value is dropped.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use super::{DaemonChild, IngestError, Result, io_err, parse_err, poll_tolerant, run_stdout};

/// How long a daemon may take to open its control socket.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long one count request may take.
const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// The receivers this benchmark knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Our engine through `ingest-receiver`.
    Ours,
    /// The `mini-router` binary.
    MiniRouter,
    /// FRR bgpd.
    Frr,
    /// BIRD 2.
    Bird,
    /// gobgpd.
    GoBgp,
}

impl Kind {
    /// The name used on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ours => "ours",
            Kind::MiniRouter => "mini-router",
            Kind::Frr => "frr",
            Kind::Bird => "bird",
            Kind::GoBgp => "gobgp",
        }
    }

    /// Parses a name given on the command line.
    pub fn parse(text: &str) -> Option<Kind> {
        [
            Kind::Ours,
            Kind::MiniRouter,
            Kind::Frr,
            Kind::Bird,
            Kind::GoBgp,
        ]
        .into_iter()
        .find(|k| k.name() == text)
    }

    /// Whether the kernel-install variant exists for this receiver.
    pub fn has_kernel_variant(self) -> bool {
        matches!(self, Kind::Frr | Kind::Bird | Kind::MiniRouter)
    }
}

/// Where and how one receiver runs.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The receiver's listening address and port.
    pub listen: SocketAddr,
    /// The sender's address (the only neighbor).
    pub sender: IpAddr,
    /// The receiver's AS.
    pub receiver_as: u32,
    /// The sender's AS.
    pub sender_as: u32,
    /// Run inside this network namespace (`ip netns exec`).
    pub netns: Option<String>,
    /// Install best routes into the kernel (FRR with zebra, BIRD `kernel` protocol).
    pub kernel: bool,
    /// The interface whose connected subnet holds the workload's next hop (kernel variant).
    pub next_hop_interface: Option<String>,
    /// Where the `ingest-receiver` and `mini-router` binaries are.
    pub ours_binary: PathBuf,
    /// The `mini-router` binary.
    pub mini_router_binary: PathBuf,
}

impl Setup {
    /// `program` as a command, prefixed with `ip netns exec NS` when the setup has one.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(program);
                c
            }
            None => Command::new(program),
        }
    }

    fn router_id(&self) -> Ipv4Addr {
        match self.listen.ip() {
            IpAddr::V4(a) => a,
            IpAddr::V6(_) => Ipv4Addr::new(192, 0, 2, 254),
        }
    }
}

/// A running receiver.
pub trait Receiver {
    /// Prefixes accepted from the sender so far.
    fn count(&mut self) -> Result<u64>;
    /// The processes whose RSS and CPU time are measured.
    fn pids(&self) -> Vec<u32>;
    /// Fails if a process of the receiver has exited.
    fn check_running(&mut self) -> Result<()>;
    /// After [`Receiver::count`] reached the target: confirms it by another way where the
    /// count is not read from the RIB itself (ours), with the RIB's own count.
    fn confirm(&mut self) -> Result<u64> {
        self.count()
    }
}

/// Starts a receiver of `kind` in `dir` (its configuration, sockets and logs go there).
pub fn start(kind: Kind, setup: &Setup, dir: &Path) -> Result<Box<dyn Receiver>> {
    Ok(match kind {
        Kind::Ours => Box::new(Ours::start(setup, dir)?),
        Kind::MiniRouter => Box::new(MiniRouter::start(setup, dir)?),
        Kind::Frr => Box::new(Frr::start(setup, dir)?),
        Kind::Bird => Box::new(Bird::start(setup, dir)?),
        Kind::GoBgp => Box::new(GoBgp::start(setup, dir)?),
    })
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(io_err(format!("write {}", path.display())))
}

/// Our engine: `ingest-receiver` answering `count` requests over its stdin/stdout.
struct Ours {
    process: DaemonChild,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl Ours {
    fn start(setup: &Setup, dir: &Path) -> Result<Ours> {
        use std::os::unix::process::CommandExt as _;
        let log = dir.join("ingest-receiver.log");
        let err =
            std::fs::File::create(&log).map_err(io_err(format!("create {}", log.display())))?;
        let mut command = setup.command(&setup.ours_binary);
        command
            .arg("--listen")
            .arg(setup.listen.to_string())
            .arg("--asn")
            .arg(setup.receiver_as.to_string())
            .arg("--peer")
            .arg(setup.sender.to_string())
            .arg("--peer-as")
            .arg(setup.sender_as.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(err)
            .process_group(0);
        let child = command.spawn().map_err(io_err(format!(
            "start {} (build it with `cargo build --release -p ferrolb-bench`)",
            setup.ours_binary.display()
        )))?;
        let mut process = DaemonChild::adopt("ingest-receiver", child, log);
        let stdin = process
            .child_mut()
            .stdin
            .take()
            .ok_or_else(|| parse_err("the receiver's stdin", ""))?;
        let stdout = process
            .child_mut()
            .stdout
            .take()
            .ok_or_else(|| parse_err("the receiver's stdout", ""))?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(line) => {
                        if tx.send(line).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                }
            }
        });
        let mut ours = Ours {
            process,
            stdin,
            lines,
        };
        let first = ours.line(START_TIMEOUT)?;
        if first != "ready" {
            return Err(parse_err("`ready` from ingest-receiver", &first));
        }
        Ok(ours)
    }

    fn line(&mut self, timeout: Duration) -> Result<String> {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => Ok(line),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(IngestError::Timeout {
                what: "an answer from ingest-receiver".into(),
                timeout,
            }),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                self.process.check_running()?;
                Err(parse_err(
                    "an answer from ingest-receiver (stdout closed)",
                    "",
                ))
            }
        }
    }
}

impl Receiver for Ours {
    fn count(&mut self) -> Result<u64> {
        self.stdin
            .write_all(b"count\n")
            .and_then(|()| self.stdin.flush())
            .map_err(io_err("ask ingest-receiver for its count"))?;
        let line = self.line(QUERY_TIMEOUT)?;
        line.split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| parse_err("the count of ingest-receiver", &line))
    }

    fn pids(&self) -> Vec<u32> {
        vec![self.process.pid()]
    }

    fn check_running(&mut self) -> Result<()> {
        self.process.check_running()
    }

    fn confirm(&mut self) -> Result<u64> {
        self.stdin
            .write_all(b"rib\n")
            .and_then(|()| self.stdin.flush())
            .map_err(io_err("ask ingest-receiver for its RIB count"))?;
        let line = self.line(QUERY_TIMEOUT)?;
        line.split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| parse_err("the RIB count of ingest-receiver", &line))
    }
}

impl Drop for Ours {
    fn drop(&mut self) {
        let _ = self.stdin.write_all(b"exit\n");
        let _ = self.stdin.flush();
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while std::time::Instant::now() < deadline && self.process.check_running().is_ok() {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `mini-router` in quick-start mode: `--asn ASN --remote-as SENDER_AS --listen-range
/// SENDER/32 --listen ADDR:PORT --socket DIR/mini-router.sock --daemon`, plus `--no-fib` for
/// the RIB-only variant.
struct MiniRouter {
    process: DaemonChild,
    setup: Setup,
    dir: PathBuf,
}

impl MiniRouter {
    fn start(setup: &Setup, dir: &Path) -> Result<MiniRouter> {
        let prefix_len = if setup.sender.is_ipv4() { 32 } else { 128 };
        let mut command = setup.command(&setup.mini_router_binary);
        command
            .arg("--asn")
            .arg(setup.receiver_as.to_string())
            .arg("--remote-as")
            .arg(setup.sender_as.to_string())
            .arg("--listen-range")
            .arg(format!("{}/{prefix_len}", setup.sender))
            .arg("--listen")
            .arg(setup.listen.to_string())
            .arg("--router-id")
            .arg(setup.router_id().to_string())
            .arg("--socket")
            .arg(dir.join("mini-router.sock"))
            .args(["--daemon", "--hostname", "ingest"])
            .current_dir(dir);
        if !setup.kernel {
            command.arg("--no-fib");
        }
        let process = DaemonChild::spawn("mini-router", command, dir.join("mini-router.log"))?;
        let mut router = MiniRouter {
            process,
            setup: setup.clone(),
            dir: dir.to_path_buf(),
        };
        poll_tolerant("mini-router's control socket", START_TIMEOUT, || {
            router.process.check_running()?;
            router.summary().map(Some)
        })?;
        Ok(router)
    }

    fn summary(&self) -> Result<Value> {
        // The control socket is a file: no need to enter the namespace.
        let mut command = Command::new(&self.setup.mini_router_binary);
        command
            .arg("--socket")
            .arg(self.dir.join("mini-router.sock"))
            .args(["-c", "show ip bgp summary json"])
            .current_dir(&self.dir);
        let out = run_stdout(&mut command)?;
        serde_json::from_str(&out).map_err(|_| parse_err("mini-router summary JSON", &out))
    }
}

impl Receiver for MiniRouter {
    fn count(&mut self) -> Result<u64> {
        let summary = self.summary()?;
        Ok(frr_summary_count(&summary, self.setup.sender))
    }

    fn pids(&self) -> Vec<u32> {
        vec![self.process.pid()]
    }

    fn check_running(&mut self) -> Result<()> {
        self.process.check_running()
    }
}

/// `pfxRcd` of the neighbor in FRR's `show bgp [ipv4 unicast] summary json` (either shape:
/// with or without the `ipv4Unicast` level).
fn frr_summary_count(summary: &Value, neighbor: IpAddr) -> u64 {
    let key = neighbor.to_string();
    let peers = summary
        .get("peers")
        .or_else(|| summary.pointer("/ipv4Unicast/peers"));
    peers
        .and_then(|p| p.get(&key))
        .and_then(|p| p.get("pfxRcd"))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// FRR 8.4: `bgpd -Z` alone, or `zebra` + `bgpd` for the kernel variant.
struct Frr {
    bgpd: DaemonChild,
    zebra: Option<DaemonChild>,
    setup: Setup,
    dir: PathBuf,
}

impl Frr {
    fn start(setup: &Setup, dir: &Path) -> Result<Frr> {
        let n = setup.sender;
        let mut conf = String::new();
        conf.push_str("frr defaults traditional\nhostname ingest-frr\n!\n");
        let _ = writeln!(conf, "router bgp {}", setup.receiver_as);
        let _ = writeln!(conf, " bgp router-id {}", setup.router_id());
        conf.push_str(" no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n");
        let _ = writeln!(conf, " neighbor {n} remote-as {}", setup.sender_as);
        let _ = writeln!(conf, " neighbor {n} passive");
        let _ = writeln!(conf, " neighbor {n} disable-connected-check");
        let _ = writeln!(conf, " neighbor {n} timers 80 240");
        conf.push_str(" address-family ipv4 unicast\n");
        let _ = writeln!(conf, "  neighbor {n} activate");
        conf.push_str(" exit-address-family\n");
        let config = dir.join("bgpd.conf");
        write_file(&config, &conf)?;
        let zserv = dir.join("zserv.api");
        let zebra = if setup.kernel {
            // zebra has no -S and refuses to run as root without the frrvty group: it drops
            // to user frr, which must be able to create its sockets here.
            std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o777))
                .map_err(io_err(format!("chmod {}", dir.display())))?;
            let zconf = dir.join("zebra.conf");
            write_file(&zconf, "hostname ingest-zebra\n")?;
            let mut command = setup.command("/usr/lib/frr/zebra");
            command
                .arg("-f")
                .arg(&zconf)
                .arg("-i")
                .arg(dir.join("zebra.pid"))
                .arg("--vty_socket")
                .arg(dir)
                .arg("-z")
                .arg(&zserv)
                // `-s 90000000`: the netlink buffer size of Debian's /etc/frr/daemons.
                .args(["-u", "frr", "-g", "frr", "-P", "0", "-s", "90000000"])
                .arg("--log")
                .arg(format!("file:{}", dir.join("zebra.log").display()));
            let mut zebra = DaemonChild::spawn("zebra", command, dir.join("zebra.out"))?;
            let socket = zserv.clone();
            poll_tolerant("zebra's zserv socket", START_TIMEOUT, || {
                zebra.check_running()?;
                Ok(socket.exists().then_some(()))
            })?;
            Some(zebra)
        } else {
            None
        };
        let mut command = setup.command("/usr/lib/frr/bgpd");
        command
            .arg("-f")
            .arg(&config)
            .arg("-i")
            .arg(dir.join("bgpd.pid"))
            .arg("--vty_socket")
            .arg(dir);
        if setup.kernel {
            command.arg("-z").arg(&zserv);
        } else {
            command.arg("-Z");
        }
        command
            .args(["-S", "-P", "0", "-l"])
            .arg(setup.listen.ip().to_string())
            .arg("-p")
            .arg(setup.listen.port().to_string())
            .arg("--log")
            .arg(format!("file:{}", dir.join("bgpd.log").display()));
        let bgpd = DaemonChild::spawn("bgpd", command, dir.join("bgpd.out"))?;
        let mut frr = Frr {
            bgpd,
            zebra,
            setup: setup.clone(),
            dir: dir.to_path_buf(),
        };
        poll_tolerant("bgpd's vty", START_TIMEOUT, || {
            frr.check_running()?;
            frr.summary().map(|_| Some(()))
        })?;
        Ok(frr)
    }

    fn summary(&self) -> Result<Value> {
        let mut command = Command::new("vtysh");
        command.arg("--vty_socket").arg(&self.dir).args([
            "-d",
            "bgpd",
            "-c",
            "show bgp ipv4 unicast summary json",
        ]);
        let out = run_stdout(&mut command)?;
        serde_json::from_str(&out).map_err(|_| parse_err("bgpd summary JSON", &out))
    }
}

impl Receiver for Frr {
    fn count(&mut self) -> Result<u64> {
        let summary = self.summary()?;
        Ok(frr_summary_count(&summary, self.setup.sender))
    }

    fn pids(&self) -> Vec<u32> {
        let mut pids = vec![self.bgpd.pid()];
        pids.extend(self.zebra.as_ref().map(DaemonChild::pid));
        pids
    }

    fn check_running(&mut self) -> Result<()> {
        self.bgpd.check_running()?;
        if let Some(zebra) = &mut self.zebra {
            zebra.check_running()?;
        }
        Ok(())
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        // bgpd first, so zebra removes the routes it installed when it stops.
        self.bgpd.stop();
        if let Some(zebra) = &mut self.zebra {
            zebra.stop();
        }
    }
}

/// BIRD 2 in the foreground with one `bgp` protocol `peer`.
struct Bird {
    process: DaemonChild,
    socket: PathBuf,
}

impl Bird {
    fn start(setup: &Setup, dir: &Path) -> Result<Bird> {
        let mut conf = String::new();
        let _ = writeln!(
            conf,
            "log \"{}\" {{ warning, error, fatal }};",
            dir.join("bird.log").display()
        );
        let _ = writeln!(conf, "router id {};", setup.router_id());
        conf.push_str("protocol device {}\n");
        if setup.kernel {
            // The workload's next hop resolves through the connected subnet; the kernel
            // protocol exports every best route into the main table.
            if let Some(interface) = &setup.next_hop_interface {
                let _ = writeln!(
                    conf,
                    "protocol direct {{ ipv4; interface \"{interface}\"; }}"
                );
            }
            conf.push_str(
                "protocol kernel {\n  ipv4 { import none; export all; };\n  learn off;\n}\n",
            );
        }
        conf.push_str("protocol bgp peer {\n");
        let _ = writeln!(
            conf,
            "  local {} port {} as {};",
            setup.listen.ip(),
            setup.listen.port(),
            setup.receiver_as
        );
        let _ = writeln!(conf, "  neighbor {} as {};", setup.sender, setup.sender_as);
        conf.push_str("  multihop;\n  strict bind yes;\n  passive on;\n  hold time 240;\n");
        conf.push_str("  ipv4 { import all; export none; };\n}\n");
        let config = dir.join("bird.conf");
        write_file(&config, &conf)?;
        let socket = dir.join("bird.ctl");
        let mut command = setup.command("bird");
        command
            .arg("-f")
            .arg("-c")
            .arg(&config)
            .arg("-s")
            .arg(&socket)
            .arg("-P")
            .arg(dir.join("bird.pid"));
        let process = DaemonChild::spawn("bird", command, dir.join("bird.out"))?;
        let mut bird = Bird { process, socket };
        poll_tolerant("BIRD's control socket", START_TIMEOUT, || {
            bird.process.check_running()?;
            bird.birdc(&["show", "status"]).map(|_| Some(()))
        })?;
        Ok(bird)
    }

    fn birdc(&self, args: &[&str]) -> Result<String> {
        let mut command = Command::new("birdc");
        command.arg("-s").arg(&self.socket).args(args);
        run_stdout(&mut command)
    }
}

impl Receiver for Bird {
    fn count(&mut self) -> Result<u64> {
        let out = self.birdc(&["show", "protocols", "all", "peer"])?;
        // "    Routes:         1000000 imported, 0 exported, 1000000 preferred"
        let Some(line) = out.lines().find_map(|l| l.trim().strip_prefix("Routes:")) else {
            // No channel statistics before the session is up.
            return Ok(0);
        };
        line.split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| parse_err("BIRD's imported routes", line))
    }

    fn pids(&self) -> Vec<u32> {
        vec![self.process.pid()]
    }

    fn check_running(&mut self) -> Result<()> {
        self.process.check_running()
    }
}

/// gobgpd with a TOML configuration and its gRPC API on a second port.
struct GoBgp {
    process: DaemonChild,
    setup: Setup,
    api: SocketAddr,
}

impl GoBgp {
    fn start(setup: &Setup, dir: &Path) -> Result<GoBgp> {
        // A fresh namespace has every port free; on the host, probe one.
        let api_port = match setup.netns {
            Some(_) => setup.listen.port().wrapping_add(1).max(1024),
            None => std::net::TcpListener::bind((setup.listen.ip(), 0))
                .and_then(|l| l.local_addr())
                .map_err(io_err(format!(
                    "probe a free port on {}",
                    setup.listen.ip()
                )))?
                .port(),
        };
        let api = SocketAddr::new(setup.listen.ip(), api_port);
        let mut conf = String::new();
        conf.push_str("[global.config]\n");
        let _ = writeln!(conf, "  as = {}", setup.receiver_as);
        let _ = writeln!(conf, "  router-id = \"{}\"", setup.router_id());
        let _ = writeln!(conf, "  port = {}", setup.listen.port());
        let _ = writeln!(conf, "  local-address-list = [\"{}\"]", setup.listen.ip());
        conf.push_str("[global.apply-policy.config]\n");
        conf.push_str("  default-import-policy = \"accept-route\"\n");
        conf.push_str("  default-export-policy = \"accept-route\"\n");
        conf.push_str("[[neighbors]]\n  [neighbors.config]\n");
        let _ = writeln!(conf, "    neighbor-address = \"{}\"", setup.sender);
        let _ = writeln!(conf, "    peer-as = {}", setup.sender_as);
        conf.push_str("  [neighbors.transport.config]\n");
        let _ = writeln!(conf, "    local-address = \"{}\"", setup.listen.ip());
        conf.push_str("    passive-mode = true\n");
        conf.push_str(
            "  [neighbors.timers.config]\n    hold-time = 240\n    keepalive-interval = 80\n",
        );
        conf.push_str("  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n");
        conf.push_str("      afi-safi-name = \"ipv4-unicast\"\n");
        let config = dir.join("gobgpd.toml");
        write_file(&config, &conf)?;
        let mut command = setup.command("gobgpd");
        command
            .arg("-f")
            .arg(&config)
            .arg("--api-hosts")
            .arg(api.to_string())
            .args(["--pprof-disable", "-p", "-l", "warn"]);
        let process = DaemonChild::spawn("gobgpd", command, dir.join("gobgpd.log"))?;
        let mut gobgp = GoBgp {
            process,
            setup: setup.clone(),
            api,
        };
        poll_tolerant("gobgpd's API", START_TIMEOUT, || {
            gobgp.process.check_running()?;
            gobgp.cli(&["global"]).map(|_| Some(()))
        })?;
        Ok(gobgp)
    }

    fn cli(&self, args: &[&str]) -> Result<String> {
        let mut command = self.setup.command("gobgp");
        command
            .arg("-u")
            .arg(self.api.ip().to_string())
            .arg("-p")
            .arg(self.api.port().to_string())
            .args(args);
        run_stdout(&mut command)
    }
}

impl Receiver for GoBgp {
    fn count(&mut self) -> Result<u64> {
        let out = self.cli(&["neighbor", &self.setup.sender.to_string(), "-j"])?;
        let value: Value =
            serde_json::from_str(&out).map_err(|_| parse_err("gobgp neighbor JSON", &out))?;
        let families = value
            .get("afi_safis")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(families
            .iter()
            .filter_map(|f| f.pointer("/state/accepted").and_then(Value::as_u64))
            .sum())
    }

    fn pids(&self) -> Vec<u32> {
        vec![self.process.pid()]
    }

    fn check_running(&mut self) -> Result<()> {
        self.process.check_running()
    }
}
