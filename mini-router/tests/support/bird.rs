//! BIRD 2 (Debian's `bird2`) in a namespace: one foreground `bird` with its configuration,
//! control socket and log in a temporary directory, driven with `birdc -s SOCKET`.

use std::process::Command;
use std::time::Duration;

use super::{Daemon, Netns, poll, run, signal};

/// A running bird.
pub struct Bird {
    daemon: Daemon,
    dir: tempfile::TempDir,
}

impl Bird {
    /// Starts bird in `ns` with `config` and waits until birdc reaches it.
    pub fn start(ns: &Netns, config: &str) -> Bird {
        let dir = tempfile::tempdir().expect("tempdir");
        let conf = dir.path().join("bird.conf");
        std::fs::write(&conf, config).expect("bird.conf");
        let mut cmd = ns.command("bird");
        cmd.arg("-f")
            .arg("-c")
            .arg(&conf)
            .arg("-s")
            .arg(dir.path().join("bird.ctl"));
        let daemon = Daemon::spawn("bird", cmd, &dir.path().join("bird.out"));
        let mut bird = Bird { daemon, dir };
        poll("birdc reaching bird", Duration::from_secs(15), || {
            bird.daemon.assert_running();
            let out = bird.birdc("show status");
            if out.contains("Daemon is up") {
                Ok(())
            } else {
                Err(out)
            }
        });
        bird
    }

    /// Runs one birdc command.
    pub fn birdc(&self, command: &str) -> String {
        let mut cmd = Command::new("birdc");
        cmd.arg("-s").arg(self.dir.path().join("bird.ctl"));
        cmd.args(command.split_whitespace());
        let (_, out, err) = run(&mut cmd);
        format!("{out}{err}")
    }

    /// The state column of `show bfd sessions` for `peer` (`Up`, `Down`, `Init`…).
    pub fn bfd_state(&self, peer: &str) -> Result<String, String> {
        let out = self.birdc("show bfd sessions");
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(peer))
            .and_then(|l| l.split_whitespace().nth(2))
            .map(str::to_owned)
            .ok_or(out)
    }

    /// Whether the BGP protocol `name` is Established.
    pub fn bgp_established(&self, name: &str) -> bool {
        self.birdc(&format!("show protocols {name}"))
            .lines()
            .any(|l| l.starts_with(name) && l.contains("Established"))
    }

    /// Freezes bird (SIGSTOP).
    pub fn freeze(&self) {
        signal(self.daemon.pid(), "STOP");
    }

    /// Lets a frozen bird run again.
    pub fn thaw(&self) {
        signal(self.daemon.pid(), "CONT");
    }

    /// bird's output so far.
    pub fn log(&self) -> String {
        self.daemon.log()
    }
}

impl Drop for Bird {
    fn drop(&mut self) {
        self.thaw();
    }
}
