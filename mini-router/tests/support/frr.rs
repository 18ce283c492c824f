//! FRR's bgpd (Debian's frr package) on a LAN host: started in the host's namespace without
//! zebra (`-Z`), as root (`-S`), listening on the host's address, with its vty socket in a
//! temporary directory so `vtysh --vty_socket` reaches this instance only. It can be killed
//! with SIGKILL (a crash: the kernel closes its TCP connections without a NOTIFICATION) and
//! started again with another configuration, as a restarting speaker.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::{Daemon, Netns, poll, run, signal};

const BGPD: &str = "/usr/lib/frr/bgpd";

/// A bgpd in one namespace.
pub struct Frr<'a> {
    ns: &'a Netns,
    address: String,
    dir: tempfile::TempDir,
    daemon: Option<Daemon>,
    starts: usize,
}

impl<'a> Frr<'a> {
    /// Starts bgpd in `ns` on `address` with the configuration `config` (FRR syntax).
    pub fn start(ns: &'a Netns, address: &str, config: &str) -> Frr<'a> {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut frr = Frr {
            ns,
            address: address.to_owned(),
            dir,
            daemon: None,
            starts: 0,
        };
        frr.spawn(config);
        frr
    }

    fn spawn(&mut self, config: &str) {
        self.starts += 1;
        let file = self.dir.path().join(format!("bgpd-{}.conf", self.starts));
        std::fs::write(&file, config).expect("write bgpd.conf");
        let mut cmd = self.ns.command(BGPD);
        cmd.arg("-f")
            .arg(&file)
            .arg("-i")
            .arg(self.dir.path().join("bgpd.pid"))
            .arg("--vty_socket")
            .arg(self.dir.path())
            .args(["-Z", "-S", "-P", "0", "-l", &self.address])
            .arg("--log")
            .arg(format!("file:{}", self.log_file().display()));
        let out = self.dir.path().join(format!("bgpd-{}.out", self.starts));
        self.daemon = Some(Daemon::spawn("bgpd", cmd, &out));
        poll("bgpd's vty", Duration::from_secs(15), || {
            if let Some(d) = self.daemon.as_mut() {
                d.assert_running();
            }
            let (ok, out, err) = run(&mut self.vtysh_command(&["show version"]));
            if ok {
                Ok(())
            } else {
                Err(format!("{out}{err}"))
            }
        });
    }

    fn log_file(&self) -> PathBuf {
        self.dir.path().join("bgpd.log")
    }

    fn vtysh_command(&self, commands: &[&str]) -> Command {
        let mut cmd = Command::new("vtysh");
        cmd.arg("--vty_socket").arg(self.dir.path());
        for c in commands {
            cmd.arg("-c").arg(c);
        }
        cmd
    }

    /// Kills bgpd with SIGKILL and waits until it is gone.
    pub fn kill(&mut self) {
        if let Some(mut daemon) = self.daemon.take() {
            signal(daemon.pid(), "KILL");
            poll("bgpd to die", Duration::from_secs(10), || {
                daemon
                    .exited()
                    .map(drop)
                    .ok_or_else(|| "still running".to_owned())
            });
        }
    }

    /// Starts bgpd again (after [`Frr::kill`]) with `config`.
    pub fn restart(&mut self, config: &str) {
        self.kill();
        self.spawn(config);
    }

    /// Runs vtysh commands against this instance and returns their output.
    pub fn vtysh(&self, commands: &[&str]) -> String {
        let (ok, out, err) = run(&mut self.vtysh_command(commands));
        assert!(ok, "vtysh {commands:?}: {out}{err}");
        out
    }

    /// The JSON of one `show … json` command (`Null` when bgpd does not answer).
    pub fn json(&self, command: &str) -> Value {
        let (_, out, _) = run(&mut self.vtysh_command(&[command]));
        serde_json::from_str(&out).unwrap_or(Value::Null)
    }

    /// bgpd's log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_file()).unwrap_or_default()
    }
}

impl Drop for Frr<'_> {
    fn drop(&mut self) {
        self.kill();
    }
}
