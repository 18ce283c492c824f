//! `mini-router --config FILE` as a process: the startup file is applied, changes made over
//! `-c` are saved back with `write`, a restart from the saved file gives the same running
//! configuration, and broken lines are reported on stderr as FILE:LINE with the valid rest
//! applied. Each router runs headless in a network namespace of its own (kernel FIB off,
//! BGP on a loopback port) so its configured neighbors are unreachable and no packet leaves
//! the test.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::path::Path;
use std::time::Duration;

use support::{MiniRouter, Netns};

const ARGS: [&str; 3] = ["--no-fib", "--listen", "127.0.0.1:1179"];

fn start(ns: &Netns, dir: tempfile::TempDir, config: &Path) -> MiniRouter {
    let config = config.to_str().unwrap().to_owned();
    let mut args: Vec<&str> = ARGS.to_vec();
    args.extend(["--config", &config]);
    MiniRouter::start_in(dir, Some(ns), &args)
}

/// `show running-config`.
fn running_config(router: &MiniRouter) -> String {
    router.ok(&["show running-config"])
}

/// Stops the router with SIGTERM (it must exit cleanly) and gives its directory back.
fn stop(mut router: MiniRouter) -> (tempfile::TempDir, String) {
    let status = router.daemon.terminate(Duration::from_secs(10));
    let log = router.daemon.log();
    assert!(
        status.is_some_and(|s| s.success()),
        "mini-router did not exit cleanly ({status:?}):\n{log}"
    );
    (router.into_dir(), log)
}

const SEED: &str = "\
hostname router
router bgp 64512
 bgp router-id 10.192.0.7
 neighbor 10.192.0.3 remote-as 64512
 neighbor 10.192.0.4 remote-as 64512
exit
";

#[test]
fn changes_saved_with_write_come_back_identical_after_a_restart_from_the_file() {
    let ns = Netns::create("cfg");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("router.conf");
    std::fs::write(&file, SEED).unwrap();
    let router = start(&ns, dir, &file);

    let before = running_config(&router);
    for line in [
        "hostname router\n",
        "router bgp 64512\n bgp router-id 10.192.0.7\n neighbor 10.192.0.3 remote-as 64512\n neighbor 10.192.0.4 remote-as 64512\nexit\n",
    ] {
        assert!(before.contains(line), "startup file not applied:\n{before}");
    }

    router.ok(&[
        "configure terminal",
        "hostname edge1",
        "router bgp 64512",
        "neighbor 10.192.0.4 description kube-node-2",
        "neighbor 10.192.0.4 timers 10 30",
        "neighbor SPEAKERS peer-group",
        "neighbor SPEAKERS remote-as 64512",
        "bgp listen range 10.192.1.0/24 peer-group SPEAKERS",
        "no neighbor 10.192.0.3",
        "address-family ipv4 unicast",
        "maximum-paths ibgp 2",
        "network 203.0.113.0/24",
        "exit-address-family",
    ]);
    let changed = running_config(&router);
    assert_ne!(changed, before);
    for line in [
        "hostname edge1\n",
        " bgp router-id 10.192.0.7\n",
        " neighbor 10.192.0.4 description kube-node-2\n",
        " bgp listen range 10.192.1.0/24 peer-group SPEAKERS\n",
        "  maximum-paths ibgp 2\n",
        "  network 203.0.113.0/24\n",
    ] {
        assert!(changed.contains(line), "no {line:?} in:\n{changed}");
    }
    assert!(
        !changed.contains("10.192.0.3"),
        "no neighbor not applied:\n{changed}"
    );

    let wrote = router.ok(&["write"]);
    assert!(
        wrote.contains(&format!("Configuration saved to {}", file.display())),
        "{wrote}"
    );
    assert!(wrote.contains("[OK]"), "{wrote}");
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(saved.contains("hostname edge1\n"), "{saved}");
    assert!(saved.contains("  maximum-paths ibgp 2\n"), "{saved}");

    let (dir, _) = stop(router);
    let router = start(&ns, dir, &file);
    assert_eq!(
        running_config(&router),
        changed,
        "after a restart from the file"
    );
    let (_, log) = stop(router);
    assert!(
        !log.contains(&format!("{}:", file.display())),
        "the saved file has lines mini-router itself cannot read:\n{log}"
    );
}

#[test]
fn a_missing_file_is_created_by_write() {
    let ns = Netns::create("cfgnew");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("new.conf");
    let router = start(&ns, dir, &file);
    assert!(
        router.daemon.log().contains("does not exist yet"),
        "{}",
        router.daemon.log()
    );
    router.ok(&[
        "configure terminal",
        "router bgp 64512",
        "neighbor 10.192.0.3 remote-as 64512",
    ]);
    let config = running_config(&router);
    router.ok(&["write"]);
    let (dir, _) = stop(router);
    assert!(file.exists(), "write did not create {}", file.display());
    let router = start(&ns, dir, &file);
    assert_eq!(running_config(&router), config);
}

#[test]
fn broken_lines_are_reported_as_file_and_line_on_stderr_and_the_valid_rest_is_applied() {
    let ns = Netns::create("cfgbad");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.conf");
    std::fs::write(
        &file,
        "\
hostname r1
router bgp 64512
 neighbor 10.192.0.3 remote-as 64512
 neighbor 10.192.0.3 frobnicate
 neighbor 10.192.0.4 remote-as
 neighbor 10.192.0.4 remote-as 64512
 address-family ipv4 unicast
  maximum-paths ibgp 300000
  maximum-paths ibgp 2
 exit-address-family
exit
",
    )
    .unwrap();
    let router = start(&ns, dir, &file);
    let log = router.daemon.log();
    let f = file.display().to_string();
    for expected in [
        format!("{f}:4: % Unknown command: neighbor 10.192.0.3 frobnicate"),
        format!("{f}:5: % Command incomplete: neighbor 10.192.0.4 remote-as"),
        format!("{f}:8: "),
    ] {
        assert!(
            log.lines().any(|l| l.starts_with(&expected)),
            "no line starting {expected:?} on stderr:\n{log}"
        );
    }
    let reported = log
        .lines()
        .filter(|l| l.starts_with(&format!("{f}:")))
        .count();
    assert_eq!(reported, 3, "exactly the three broken lines:\n{log}");

    let running = running_config(&router);
    for line in [
        "hostname r1\n",
        "router bgp 64512\n neighbor 10.192.0.3 remote-as 64512\n neighbor 10.192.0.4 remote-as 64512\n",
        "  maximum-paths ibgp 2\n",
    ] {
        assert!(running.contains(line), "no {line:?} in:\n{running}");
    }
    assert!(
        !running.contains("frobnicate") && !running.contains("300000"),
        "{running}"
    );
}

#[test]
fn a_router_id_change_restarts_bgp_and_later_commands_still_apply() {
    let ns = Netns::create("cfgrid");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("router.conf");
    std::fs::write(&file, SEED).unwrap();
    let router = start(&ns, dir, &file);
    // A new router ID restarts the BGP instance, as in FRR; the listener must come back.
    router.ok(&[
        "configure terminal",
        "router bgp 64512",
        "bgp router-id 10.192.0.9",
    ]);
    router.ok(&[
        "configure terminal",
        "router bgp 64512",
        "neighbor 10.192.0.5 remote-as 64512",
    ]);
    let summary = router.ok(&["show ip bgp summary"]);
    assert!(
        summary.contains("BGP router identifier 10.192.0.9, local AS number 64512"),
        "{summary}"
    );
    assert_eq!(
        support::summary_rows(&summary).len(),
        3,
        "three neighbors after the restart:\n{summary}"
    );
}
