//! A MetalLB-like speaker on a LAN host: GoBGP's `gobgpd` (Debian's gobgpd package) in the
//! host's namespace, dialing the router only (no listener, like MetalLB's native speaker),
//! announcing prefixes with next hop self and ORIGIN incomplete through its gRPC API on the
//! namespace's loopback; and a busybox httpd answering on an address of the host's lo.

use std::process::Command;
use std::time::Duration;

use super::{Daemon, Netns, ip, must, poll, run};

/// gobgpd's gRPC API inside the speaker's namespace.
const API: &str = "127.0.0.1:50051";

/// A running gobgpd in one namespace.
pub struct Speaker<'a> {
    ns: &'a Netns,
    daemon: Daemon,
    _dir: tempfile::TempDir,
}

impl<'a> Speaker<'a> {
    /// Starts gobgpd in `ns` as AS `asn` with router id and local address `address`,
    /// peering with `router` (AS `asn`, iBGP).
    pub fn start(ns: &'a Netns, address: &str, asn: u32, router: &str) -> Speaker<'a> {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("gobgpd.toml");
        let text = format!(
            r#"[global.config]
  as = {asn}
  router-id = "{address}"
  port = -1
[[neighbors]]
  [neighbors.config]
    neighbor-address = "{router}"
    peer-as = {asn}
  [neighbors.transport.config]
    local-address = "{address}"
  [neighbors.timers.config]
    connect-retry = 1
    hold-time = 90
    keepalive-interval = 30
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
"#
        );
        std::fs::write(&config, text).expect("write gobgpd.toml");
        let mut cmd = ns.command("gobgpd");
        cmd.arg("-f")
            .arg(&config)
            .args(["--api-hosts", API, "--pprof-disable", "-p"]);
        let daemon = Daemon::spawn("gobgpd", cmd, &dir.path().join("gobgpd.log"));
        let mut speaker = Speaker {
            ns,
            daemon,
            _dir: dir,
        };
        poll("gobgpd's API", Duration::from_secs(15), || {
            speaker.daemon.assert_running();
            let (ok, out, err) = run(&mut speaker.gobgp(&["global"]));
            if ok {
                Ok(())
            } else {
                Err(format!("{out}{err}"))
            }
        });
        speaker
    }

    fn gobgp(&self, args: &[&str]) -> Command {
        let mut cmd = self.ns.command("gobgp");
        cmd.args(["-u", "127.0.0.1", "-p", "50051"]).args(args);
        cmd
    }

    /// Announces `prefix` with next hop self and ORIGIN incomplete.
    pub fn announce(&self, prefix: &str) {
        must(&mut self.gobgp(&[
            "global",
            "rib",
            "add",
            "-a",
            "ipv4",
            prefix,
            "origin",
            "incomplete",
        ]));
    }

    /// Withdraws `prefix`.
    pub fn withdraw(&self, prefix: &str) {
        must(&mut self.gobgp(&["global", "rib", "del", "-a", "ipv4", prefix]));
    }

    /// gobgpd's log so far.
    pub fn log(&self) -> String {
        self.daemon.log()
    }
}

/// A busybox httpd bound to `address`:80 in `ns`, serving `body` as index.html; the address
/// is put on the namespace's lo as a /32 first.
pub struct WebServer {
    daemon: Daemon,
    _dir: tempfile::TempDir,
}

impl WebServer {
    /// Starts the server.
    pub fn start(ns: &Netns, address: &str, body: &str) -> WebServer {
        ip(&[
            "-n",
            ns.name(),
            "addr",
            "add",
            &format!("{address}/32"),
            "dev",
            "lo",
        ]);
        let dir = tempfile::tempdir().expect("tempdir");
        let www = dir.path().join("www");
        std::fs::create_dir(&www).expect("mkdir www");
        std::fs::write(www.join("index.html"), body).expect("write index.html");
        let mut cmd = ns.command("busybox");
        cmd.args(["httpd", "-f", "-p", &format!("{address}:80"), "-h"])
            .arg(&www);
        let daemon = Daemon::spawn("httpd", cmd, &dir.path().join("httpd.log"));
        WebServer { daemon, _dir: dir }
    }
}

/// `busybox wget -q -O- -T 3 URL` from inside `ns`: Ok(body) or Err(what it printed).
pub fn wget(ns: &Netns, url: &str) -> Result<String, String> {
    let out = ns
        .command("timeout")
        .args(["5", "busybox", "wget", "-O-", url])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run wget: {e}"));
    let body = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(body)
    } else {
        Err(format!(
            "wget {url} ({}): {body}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
