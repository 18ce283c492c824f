//! FRR 8.4 as a whole router in a namespace: zebra, bfdd and bgpd from Debian's `frr`, each
//! a foreground child with its files (configuration, vty sockets, zserv socket, logs) in a
//! temporary directory owned by the frr user (the daemons drop to it), driven with
//! `vtysh --vty_socket DIR`. bgpd needs zebra to reach bfdd (ZAPI), as in a real FRR.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::{Daemon, Netns, must, poll, run, signal};

const FRR: &str = "/usr/lib/frr";

/// zebra, bfdd and bgpd running in one namespace.
pub struct FrrRouter {
    // Dropped in this order: bgpd first (it tells its peers), zebra last.
    bgpd: Daemon,
    bfdd: Daemon,
    zebra: Daemon,
    dir: tempfile::TempDir,
}

impl FrrRouter {
    /// Starts the three daemons in `ns` with `bfdd_conf` and `bgpd_conf`, and waits until
    /// vtysh reaches all of them.
    pub fn start(ns: &Netns, bfdd_conf: &str, bgpd_conf: &str) -> FrrRouter {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path();
        std::fs::write(path.join("zebra.conf"), "hostname frr\n").expect("zebra.conf");
        std::fs::write(path.join("bfdd.conf"), bfdd_conf).expect("bfdd.conf");
        std::fs::write(path.join("bgpd.conf"), bgpd_conf).expect("bgpd.conf");
        must(Command::new("chown").args(["-R", "frr:frr"]).arg(path));
        let daemon = |name: &str, extra: &[&str]| {
            let mut cmd = ns.command(&format!("{FRR}/{name}"));
            cmd.arg("-P")
                .arg("0")
                .arg("-f")
                .arg(path.join(format!("{name}.conf")))
                .arg("-i")
                .arg(path.join(format!("{name}.pid")))
                .arg("-z")
                .arg(path.join("zserv.api"))
                .arg("--vty_socket")
                .arg(path)
                .arg("--log")
                .arg(format!(
                    "file:{}",
                    path.join(format!("{name}.log")).display()
                ))
                .args(extra);
            Daemon::spawn(name, cmd, &path.join(format!("{name}.out")))
        };
        let zebra = daemon("zebra", &[]);
        poll("zebra's zserv socket", Duration::from_secs(10), || {
            if path.join("zserv.api").exists() {
                Ok(())
            } else {
                Err("no zserv.api yet".into())
            }
        });
        let bfdctl = path.join("bfdd.sock");
        let bfdd = daemon("bfdd", &["--bfdctl", &bfdctl.display().to_string()]);
        let bgpd = daemon("bgpd", &[]);
        let mut frr = FrrRouter {
            bgpd,
            bfdd,
            zebra,
            dir,
        };
        poll(
            "vtysh reaching zebra, bfdd and bgpd",
            Duration::from_secs(15),
            || {
                for d in [&mut frr.zebra, &mut frr.bfdd, &mut frr.bgpd] {
                    d.assert_running();
                }
                let out = frr.vtysh(&["show bfd peers", "show ip bgp summary"]);
                if out.contains("BFD Peers") && !out.contains("is not running") {
                    Ok(())
                } else {
                    Err(out)
                }
            },
        );
        frr
    }

    /// Runs vtysh commands (`-c` each) and returns what they printed.
    pub fn vtysh(&self, commands: &[&str]) -> String {
        let mut cmd = Command::new("vtysh");
        cmd.arg("--vty_socket").arg(self.dir.path());
        for c in commands {
            cmd.arg("-c").arg(c);
        }
        let (_, out, err) = run(&mut cmd);
        format!("{out}{err}")
    }

    /// A `… json` command's answer.
    pub fn json(&self, command: &str) -> Result<Value, String> {
        let out = self.vtysh(&[command]);
        serde_json::from_str(&out).map_err(|e| format!("{command}: {e}: {out}"))
    }

    /// The `status` bfdd reports for its session with `peer` (`up`, `down`, `init`…).
    pub fn bfd_status(&self, peer: &str) -> Result<String, String> {
        let peers = self.json("show bfd peers json")?;
        peers
            .as_array()
            .and_then(|list| list.iter().find(|p| p["peer"] == peer))
            .and_then(|p| p["status"].as_str())
            .map(str::to_owned)
            .ok_or_else(|| format!("no BFD session with {peer}: {peers}"))
    }

    /// bgpd's `bgpState` of `peer`.
    pub fn bgp_state(&self, peer: &str) -> Result<String, String> {
        let n = self.json(&format!("show ip bgp neighbors {peer} json"))?;
        n[peer]["bgpState"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("no bgpState for {peer}: {n}"))
    }

    /// Freezes the whole router (SIGSTOP to every daemon): it keeps its sockets but sends
    /// nothing, as a hung host.
    pub fn freeze(&self) {
        for d in [&self.bfdd, &self.bgpd, &self.zebra] {
            signal(d.pid(), "STOP");
        }
    }

    /// Lets a frozen router run again.
    pub fn thaw(&self) {
        for d in [&self.zebra, &self.bfdd, &self.bgpd] {
            signal(d.pid(), "CONT");
        }
    }

    /// The daemons' logs, for failure messages.
    pub fn logs(&self) -> String {
        ["zebra", "bfdd", "bgpd"]
            .iter()
            .map(|name| {
                let log = std::fs::read_to_string(self.dir.path().join(format!("{name}.log")))
                    .unwrap_or_default();
                format!("--- {name} ---\n{log}")
            })
            .collect()
    }
}

impl Drop for FrrRouter {
    fn drop(&mut self) {
        // A frozen daemon would sit out its SIGTERM.
        self.thaw();
    }
}
