//! Test support for the interop suites: real BGP daemons from their Debian packages (FRR
//! bgpd, BIRD 2, GoBGP, ExaBGP), each started as a child process on a loopback address of its
//! own, configured from a [`PeerSpec`] in a temporary directory, and killed when dropped.
//!
//! Addresses: every daemon and every speaker under test gets a distinct 127.x.y.z address from
//! [`Loopback::allocate`], guarded by a lock file so tests in one process and in other test
//! binaries never share one; ports come from a bind probe on that address. IPv6 routes travel
//! over those IPv4 sessions (multiprotocol BGP, explicit global IPv6 next hop); sessions over
//! IPv6 use `::1` on both sides, told apart by port ([`Endpoint::allocate_ipv6`]).
//!
//! Loopback next hops: FRR is started with `bgp allow-martian-nexthop` (it still refuses `::1`),
//! BIRD with multihop sessions (its routes then show as unreachable but keep their attributes);
//! GoBGP treats an IPv4 NEXT_HOP in 127/8 as withdraw, so routes meant for GoBGP carry a
//! non-loopback next hop.
//!
//! Daemons run as children in their own process group and are stopped (SIGTERM, then SIGKILL)
//! when dropped, also when a test panics. `FERROLB_KEEP_INTEROP_DIRS=1` keeps their
//! configuration and log directories for debugging.

// Each test binary uses only its own daemon's part of this module.
#![allow(dead_code)]

pub mod bird;
pub mod exabgp;
pub mod frr;
pub mod gobgp;
pub mod mrt;
pub mod ours;
pub mod scenarios;

use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use ipnet::IpNet;

/// Where address lock files live; shared by every test binary on the machine.
const LOCK_DIR: &str = "/tmp/ferrolb-interop-addresses";

/// Everything that can go wrong while driving a daemon.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What the harness was doing.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A daemon's command line tool exited with an error.
    #[error("`{command}` failed ({status}): {stderr}{stdout}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// Its standard output (some tools print errors there).
        stdout: String,
        /// Its standard error.
        stderr: String,
    },
    /// A daemon's output did not have the expected shape.
    #[error("cannot parse {what} from `{text}`")]
    Parse {
        /// What was being read.
        what: String,
        /// The text that did not parse (shortened).
        text: String,
    },
    /// The daemon process exited (usually a configuration it refused).
    #[error("{name} exited: {status}")]
    Exited {
        /// The daemon.
        name: String,
        /// Its exit status.
        status: String,
    },
    /// No free loopback address could be locked.
    #[error("no free loopback address in {LOCK_DIR} after {tried} attempts")]
    NoAddress {
        /// How many candidates were tried.
        tried: u32,
    },
}

/// Short alias used by every daemon module.
pub type Result<T> = std::result::Result<T, HarnessError>;

/// Wraps an I/O error with what was being done.
pub fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
    let what = what.into();
    move |source| HarnessError::Io { what, source }
}

/// Builds a parse error, keeping at most 2000 characters of the offending text.
pub fn parse_err(what: impl Into<String>, text: &str) -> HarnessError {
    HarnessError::Parse {
        what: what.into(),
        text: text.chars().take(2000).collect(),
    }
}

/// An address family as the daemons name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Afi {
    /// IPv4 unicast.
    Ipv4,
    /// IPv6 unicast.
    Ipv6,
}

impl Afi {
    /// The family of a prefix.
    pub fn of(prefix: &IpNet) -> Afi {
        match prefix {
            IpNet::V4(_) => Afi::Ipv4,
            IpNet::V6(_) => Afi::Ipv6,
        }
    }
}

/// A 127.x.y.z address owned by this test until dropped (its lock file is removed then).
#[derive(Debug)]
pub struct Loopback {
    addr: Ipv4Addr,
    lock: PathBuf,
}

static NEXT_CANDIDATE: AtomicU32 = AtomicU32::new(0);

impl Loopback {
    /// Locks a loopback address no other test (in this or another process) holds. Candidates
    /// are 127.64.0.1–127.127.255.254, starting from a hash of the process id and a counter;
    /// a lock left by a dead process is taken over.
    pub fn allocate() -> Result<Loopback> {
        fs::create_dir_all(LOCK_DIR).map_err(io_err(format!("create {LOCK_DIR}")))?;
        let pid = std::process::id();
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(pid);
        hasher.write_u32(NEXT_CANDIDATE.fetch_add(1, Ordering::Relaxed));
        let span: u32 = 64 * 65536;
        let mut candidate = (hasher.finish() % u64::from(span)) as u32;
        for _ in 0..4096 {
            candidate = (candidate + 1) % span;
            let low = candidate & 0xff;
            if low == 0 || low == 255 {
                continue;
            }
            let addr = Ipv4Addr::from(0x7f40_0000 | candidate);
            let lock = Path::new(LOCK_DIR).join(addr.to_string());
            match OpenOptions::new().write(true).create_new(true).open(&lock) {
                Ok(mut file) => {
                    file.write_all(pid.to_string().as_bytes())
                        .map_err(io_err(format!("write {}", lock.display())))?;
                    return Ok(Loopback { addr, lock });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = fs::read_to_string(&lock).unwrap_or_default();
                    let alive = owner
                        .trim()
                        .parse::<u32>()
                        .map(|p| Path::new(&format!("/proc/{p}")).exists())
                        .unwrap_or(true);
                    if !alive {
                        let _ = fs::remove_file(&lock);
                    }
                }
                Err(e) => return Err(io_err(format!("create {}", lock.display()))(e)),
            }
        }
        Err(HarnessError::NoAddress { tried: 4096 })
    }

    /// The address.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The address as an [`IpAddr`].
    pub fn ip(&self) -> IpAddr {
        IpAddr::V4(self.addr)
    }

    /// A TCP port nothing listens on at this address (bind probe; the address is ours alone,
    /// so only a wildcard listener could take it in between).
    pub fn free_port(&self) -> Result<u16> {
        let listener = TcpListener::bind((self.addr, 0))
            .map_err(io_err(format!("probe a free port on {}", self.addr)))?;
        let port = listener
            .local_addr()
            .map_err(io_err("read the probed port"))?
            .port();
        Ok(port)
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.lock);
    }
}

/// Where a daemon (or the speaker under test) speaks BGP: a locked loopback IPv4 address (also
/// its router id and, for GoBGP, its API address), a free port, and the transport address of
/// the session: that IPv4 address, or `::1` for IPv6 sessions. Allocated before the daemon
/// starts so its peer can be configured first.
#[derive(Debug)]
pub struct Endpoint {
    /// The IPv4 address, locked for this test.
    pub address: Loopback,
    /// The listening port (free on the transport address).
    pub port: u16,
    /// The address BGP listens on and connects from.
    pub transport: IpAddr,
}

impl Endpoint {
    /// Locks a fresh IPv4 address and probes a port on it.
    pub fn allocate() -> Result<Endpoint> {
        let address = Loopback::allocate()?;
        let port = address.free_port()?;
        let transport = address.ip();
        Ok(Endpoint {
            address,
            port,
            transport,
        })
    }

    /// An endpoint for an IPv6 session on `::1` (the only IPv6 loopback address, shared by
    /// every test, so only the port tells endpoints apart).
    pub fn allocate_ipv6() -> Result<Endpoint> {
        let address = Loopback::allocate()?;
        let listener = TcpListener::bind((Ipv6Addr::LOCALHOST, 0))
            .map_err(io_err("probe a free port on ::1"))?;
        let port = listener
            .local_addr()
            .map_err(io_err("read the probed port"))?
            .port();
        Ok(Endpoint {
            address,
            port,
            transport: IpAddr::V6(Ipv6Addr::LOCALHOST),
        })
    }

    /// The transport address.
    pub fn ip(&self) -> IpAddr {
        self.transport
    }
}

/// A route a daemon originates, with the attributes the daemon can set on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The prefix.
    pub prefix: IpNet,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF (sent on iBGP sessions only).
    pub local_pref: Option<u32>,
    /// Standard communities as (AS, value).
    pub communities: Vec<(u16, u16)>,
    /// Large communities as (global admin, data 1, data 2).
    pub large_communities: Vec<(u32, u32, u32)>,
    /// Extended communities, as their 8 octets on the wire (each daemon writes them its own
    /// way; GoBGP's CLI only knows route targets, origin validation states and encapsulations).
    pub ext_communities: Vec<[u8; 8]>,
    /// AS numbers put in front of the path, after the daemon's own AS on eBGP.
    pub as_path_prepend: Vec<u32>,
    /// NEXT_HOP to send instead of the daemon's own address (required for IPv6 prefixes on the
    /// IPv4 session unless the spec's `ipv6_next_hop` is used).
    pub next_hop: Option<IpAddr>,
}

impl Route {
    /// A route with no optional attributes.
    pub fn new(prefix: &str) -> Route {
        Route {
            prefix: prefix
                .parse()
                .unwrap_or_else(|e| panic!("test route prefix {prefix}: {e}")),
            med: None,
            local_pref: None,
            communities: Vec::new(),
            large_communities: Vec::new(),
            ext_communities: Vec::new(),
            as_path_prepend: Vec::new(),
            next_hop: None,
        }
    }

    /// Adds an extended community, given as its 8 octets in hex (`0002fc0000000064`).
    pub fn ext_community(mut self, hex: &str) -> Route {
        let value = u64::from_str_radix(hex, 16)
            .unwrap_or_else(|e| panic!("test extended community {hex}: {e}"));
        self.ext_communities.push(value.to_be_bytes());
        self
    }

    /// The extended communities as 16 hex digits each, in order.
    pub fn ext_community_hex(&self) -> Vec<String> {
        self.ext_communities
            .iter()
            .map(|c| format!("{:016x}", u64::from_be_bytes(*c)))
            .collect()
    }

    /// Sets the MED.
    pub fn med(mut self, med: u32) -> Route {
        self.med = Some(med);
        self
    }

    /// Sets LOCAL_PREF.
    pub fn local_pref(mut self, pref: u32) -> Route {
        self.local_pref = Some(pref);
        self
    }

    /// Adds a community.
    pub fn community(mut self, asn: u16, value: u16) -> Route {
        self.communities.push((asn, value));
        self
    }

    /// Adds a large community.
    pub fn large_community(mut self, global: u32, data1: u32, data2: u32) -> Route {
        self.large_communities.push((global, data1, data2));
        self
    }

    /// Prepends AS numbers to the path.
    pub fn prepend(mut self, asns: &[u32]) -> Route {
        self.as_path_prepend.extend_from_slice(asns);
        self
    }

    /// The standard communities as `ASN:VALUE` words, in order.
    pub fn community_words(&self) -> Vec<String> {
        self.communities
            .iter()
            .map(|(a, v)| format!("{a}:{v}"))
            .collect()
    }

    /// The large communities as `GLOBAL:DATA1:DATA2` words, in order.
    pub fn large_community_words(&self) -> Vec<String> {
        self.large_communities
            .iter()
            .map(|(g, a, b)| format!("{g}:{a}:{b}"))
            .collect()
    }

    /// Sets the NEXT_HOP.
    pub fn next_hop(mut self, next_hop: &str) -> Route {
        self.next_hop = Some(
            next_hop
                .parse()
                .unwrap_or_else(|e| panic!("test next hop {next_hop}: {e}")),
        );
        self
    }
}

/// A route as a daemon shows it in its table of received routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRoute {
    /// The prefix.
    pub prefix: IpNet,
    /// The AS_PATH as a flat list (sequences; sets flattened in order).
    pub as_path: Vec<u32>,
    /// The NEXT_HOP (global one for IPv6).
    pub next_hop: Option<IpAddr>,
    /// MULTI_EXIT_DISC if present.
    pub med: Option<u32>,
    /// LOCAL_PREF if present.
    pub local_pref: Option<u32>,
    /// Standard communities, sorted.
    pub communities: Vec<(u16, u16)>,
    /// Large communities, sorted.
    pub large_communities: Vec<(u32, u32, u32)>,
}

impl SeenRoute {
    /// An empty view of `prefix`, filled in by the daemon parsers.
    pub fn empty(prefix: IpNet) -> SeenRoute {
        SeenRoute {
            prefix,
            as_path: Vec::new(),
            next_hop: None,
            med: None,
            local_pref: None,
            communities: Vec::new(),
            large_communities: Vec::new(),
        }
    }

    /// Sorts the community lists so views compare regardless of daemon ordering.
    pub fn normalize(mut self) -> SeenRoute {
        self.communities.sort_unstable();
        self.large_communities.sort_unstable();
        self
    }
}

/// What a daemon is told about its one neighbor and itself.
#[derive(Debug, Clone)]
pub struct PeerSpec {
    /// The daemon's AS.
    pub local_as: u32,
    /// The daemon's router id (defaults to its address).
    pub router_id: Option<Ipv4Addr>,
    /// The neighbor (normally the speaker under test).
    pub neighbor: IpAddr,
    /// The port the neighbor listens on (the daemon connects there).
    pub neighbor_port: u16,
    /// The AS the daemon expects the neighbor to have.
    pub neighbor_as: u32,
    /// Only accept connections, never connect.
    pub passive: bool,
    /// Hold time offered in OPEN, in seconds (keepalive is a third of it).
    pub hold_time: u16,
    /// TCP MD5 password.
    pub password: Option<String>,
    /// Exchange IPv6 unicast routes on the session too.
    pub ipv6: bool,
    /// Next hop for IPv6 routes the daemon sends over the IPv4 session.
    pub ipv6_next_hop: Ipv6Addr,
    /// Routes originated from the start.
    pub routes: Vec<Route>,
}

impl PeerSpec {
    /// A spec with a 3 s hold time, active, IPv4 and IPv6, no routes.
    pub fn new(local_as: u32, neighbor: IpAddr, neighbor_port: u16, neighbor_as: u32) -> PeerSpec {
        PeerSpec {
            local_as,
            router_id: None,
            neighbor,
            neighbor_port,
            neighbor_as,
            passive: false,
            hold_time: 3,
            password: None,
            ipv6: true,
            ipv6_next_hop: Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, 0xd),
            routes: Vec::new(),
        }
    }

    /// Whether the session is iBGP.
    pub fn is_ibgp(&self) -> bool {
        self.local_as == self.neighbor_as
    }

    /// Keepalive interval derived from the hold time.
    pub fn keepalive(&self) -> u16 {
        (self.hold_time / 3).max(1)
    }

    /// The next hop this daemon should put on `route`, if it must be explicit.
    pub fn explicit_next_hop(&self, route: &Route) -> Option<IpAddr> {
        match (route.next_hop, route.prefix) {
            (Some(nh), _) => Some(nh),
            (None, IpNet::V6(_)) => Some(IpAddr::V6(self.ipv6_next_hop)),
            (None, IpNet::V4(_)) => None,
        }
    }
}

/// The common face of the four daemons.
pub trait Daemon {
    /// Daemon name for messages.
    fn name(&self) -> &'static str;
    /// The daemon's IPv4 loopback address (its router id, and its session address unless the
    /// session runs over IPv6).
    fn addr(&self) -> Ipv4Addr;
    /// The address the daemon listens on and connects from.
    fn peer_ip(&self) -> IpAddr;
    /// The port the daemon listens on.
    fn port(&self) -> u16;
    /// Whether the session with the neighbor is Established, as the daemon sees it.
    fn established(&mut self) -> Result<bool>;
    /// The routes the daemon received from the neighbor.
    fn received(&mut self, afi: Afi) -> Result<Vec<SeenRoute>>;
    /// Starts originating `route` (replacing an earlier one with the same prefix).
    fn announce(&mut self, route: &Route) -> Result<()>;
    /// Stops originating `prefix`.
    fn withdraw(&mut self, prefix: IpNet) -> Result<()>;
    /// The process that speaks BGP (for SIGSTOP/SIGCONT).
    fn process(&self) -> &DaemonProcess;
    /// The last lines of the daemon's log, for failure messages.
    fn log_tail(&self) -> String;
    /// Resets the session from the daemon's side as its operator would (`clear bgp`): a
    /// NOTIFICATION Cease, then the daemon starts the session again by itself.
    fn reset_session(&mut self) -> Result<()>;

    /// The received route for `prefix`, if any.
    fn received_route(&mut self, prefix: IpNet) -> Result<Option<SeenRoute>> {
        Ok(self
            .received(Afi::of(&prefix))?
            .into_iter()
            .find(|r| r.prefix == prefix))
    }
}

/// A daemon child process in its own process group; the whole group is stopped and reaped on
/// drop, so helper processes go too, even when a test panics.
#[derive(Debug)]
pub struct DaemonProcess {
    name: &'static str,
    child: Child,
}

impl DaemonProcess {
    /// Spawns `command` in a new process group with output to `log`.
    pub fn spawn(name: &'static str, mut command: Command, log: &Path) -> Result<DaemonProcess> {
        use std::os::unix::process::CommandExt as _;
        let out = fs::File::create(log).map_err(io_err(format!("create {}", log.display())))?;
        let err = out
            .try_clone()
            .map_err(io_err(format!("clone {}", log.display())))?;
        command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        let child = command
            .spawn()
            .map_err(io_err(format!("start {name}: {command:?}")))?;
        Ok(DaemonProcess { name, child })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails if the process already exited (a bad config usually makes it exit at once).
    pub fn check_running(&mut self) -> Result<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(HarnessError::Exited {
                name: self.name.to_string(),
                status: status.to_string(),
            }),
            Err(e) => Err(io_err(format!("wait for {}", self.name))(e)),
        }
    }

    /// Freezes the process (SIGSTOP): it keeps its sockets open but sends nothing.
    pub fn freeze(&self) -> Result<()> {
        signal(self.pid(), "STOP")
    }

    /// Lets a frozen process run again (SIGCONT).
    pub fn thaw(&self) -> Result<()> {
        signal(self.pid(), "CONT")
    }
}

impl DaemonProcess {
    /// Stops the daemon's whole process group and reaps the daemon (idempotent): SIGTERM
    /// first (with SIGCONT in case a test froze it) so it removes what it keeps outside our
    /// temporary directory (FRR's `/var/tmp/frr/bgpd.PID`), SIGKILL after 2 s.
    pub fn kill(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // Negative pid: the whole process group the daemon leads.
        let group = format!("-{}", self.child.id());
        for sig in ["-TERM", "-CONT"] {
            let _ = Command::new("kill")
                .args([sig, "--", &group])
                .stderr(Stdio::null())
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends a signal to one process by id with kill(1) (no unsafe code in tests).
fn signal(pid: u32, name: &str) -> Result<()> {
    run(Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string()))
    .map(|_| ())
}

/// Runs a command to completion; a non-zero exit is an error carrying its output.
pub fn run(command: &mut Command) -> Result<Output> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(io_err(format!("run {command:?}")))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(HarnessError::Command {
            command: format!("{command:?}"),
            status: output.status.to_string(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}

/// Runs a command and returns its standard output as text.
pub fn run_stdout(command: &mut Command) -> Result<String> {
    let output = run(command)?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The last `lines` lines of a file (empty if it cannot be read).
pub fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    let mut out = String::new();
    for line in all.iter().skip(start) {
        let _ = writeln!(out, "    {line}");
    }
    out
}

/// Writes a file, mapping the error.
pub fn write_file(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).map_err(io_err(format!("write {}", path.display())))
}

/// Polls `check` every 100 ms until it returns `Some` or `timeout` passes; then panics with
/// `what` and the daemon's log tail. Errors from `check` count as "not yet" (a daemon's
/// control socket may not exist yet) but the last one is reported.
pub fn wait_for<D, T, F>(daemon: &mut D, timeout: Duration, what: &str, mut check: F) -> T
where
    D: Daemon + ?Sized,
    F: FnMut(&mut D) -> Result<Option<T>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_error = String::new();
    loop {
        match check(daemon) {
            Ok(Some(value)) => return value,
            Ok(None) => {}
            Err(e @ HarnessError::Exited { .. }) => {
                panic!("{e} while waiting for {what}\nlog:\n{}", daemon.log_tail())
            }
            Err(e) => last_error = e.to_string(),
        }
        if Instant::now() >= deadline {
            panic!(
                "{}: timed out after {timeout:?} waiting for {what}\nlast error: {last_error}\nlog:\n{}",
                daemon.name(),
                daemon.log_tail()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// [`wait_for`] for async tests: sleeps with tokio so the speaker under test keeps running on
/// a current-thread runtime between polls (each poll itself is a short blocking command).
pub async fn wait_for_async<D, T, F>(
    daemon: &mut D,
    timeout: Duration,
    what: &str,
    mut check: F,
) -> T
where
    D: Daemon + ?Sized,
    F: FnMut(&mut D) -> Result<Option<T>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_error = String::new();
    loop {
        match check(daemon) {
            Ok(Some(value)) => return value,
            Ok(None) => {}
            Err(e @ HarnessError::Exited { .. }) => {
                panic!("{e} while waiting for {what}\nlog:\n{}", daemon.log_tail())
            }
            Err(e) => last_error = e.to_string(),
        }
        if Instant::now() >= deadline {
            panic!(
                "{}: timed out after {timeout:?} waiting for {what}\nlast error: {last_error}\nlog:\n{}",
                daemon.name(),
                daemon.log_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the daemon reports the session Established.
pub fn wait_established<D: Daemon + ?Sized>(daemon: &mut D, timeout: Duration) {
    wait_for(daemon, timeout, "session Established", |d| {
        Ok(d.established()?.then_some(()))
    });
}

/// Waits until the daemon holds a received route for `prefix` and returns it.
pub fn wait_route<D: Daemon + ?Sized>(
    daemon: &mut D,
    prefix: IpNet,
    timeout: Duration,
) -> SeenRoute {
    wait_for(daemon, timeout, &format!("route {prefix}"), |d| {
        d.received_route(prefix)
    })
}

/// Waits until the daemon no longer holds a received route for `prefix`.
pub fn wait_no_route<D: Daemon + ?Sized>(daemon: &mut D, prefix: IpNet, timeout: Duration) {
    wait_for(daemon, timeout, &format!("withdrawal of {prefix}"), |d| {
        Ok(d.received_route(prefix)?.is_none().then_some(()))
    });
}

/// A temporary directory for one daemon's files, kept (and printed) when
/// `FERROLB_KEEP_INTEROP_DIRS` is set, for debugging.
pub fn daemon_dir(name: &str) -> Result<tempfile::TempDir> {
    let keep = std::env::var_os("FERROLB_KEEP_INTEROP_DIRS").is_some();
    let dir = tempfile::Builder::new()
        .prefix(&format!("ferrolb-{name}-"))
        .disable_cleanup(keep)
        .tempdir()
        .map_err(io_err("create a temporary directory"))?;
    if keep {
        eprintln!("{name} files kept in {}", dir.path().display());
    }
    Ok(dir)
}

/// Parses "a.b.c.d" or "x:y::z" text into an address.
pub fn parse_ip(text: &str) -> Result<IpAddr> {
    text.trim()
        .parse()
        .map_err(|_| parse_err("an IP address", text))
}

/// Parses a prefix.
pub fn parse_prefix(text: &str) -> Result<IpNet> {
    text.trim().parse().map_err(|_| parse_err("a prefix", text))
}

/// Reads a `u32` out of a JSON value.
pub fn json_u32(value: &serde_json::Value) -> Option<u32> {
    value.as_u64().and_then(|v| u32::try_from(v).ok())
}
