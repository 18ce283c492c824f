//! BFD configuration in FRR's syntax: bfdd's `bfd` / `profile NAME` block and bgpd's
//! `neighbor … bfd [profile NAME]`, loaded from FRR's own files, written back in FRR 8.4's
//! `show running-config` layout (compared with the capture in `frr-8.4/bfd/`), FRR's ranges,
//! the prompts of the two new modes, and echo mode refused as unsupported.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use mini_router::cli::command::{ConfigChange, Mode, ProfileName};
use mini_router::cli::parse_line;
use mini_router::config::load::{apply_text, from_text};
use mini_router::config::write::{Environment, config_file};
use mini_router::config::{ConfigError, RunningConfig};

fn capture(file: &str) -> String {
    let path = format!("{}/tests/frr-8.4/bfd/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The lines of `text` from the first one equal to `first` through the first `last` after it.
fn section<'a>(text: &'a str, first: &str, last: &str) -> Vec<&'a str> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == first)
        .unwrap_or_else(|| panic!("no `{first}` in:\n{text}"));
    let end = start
        + lines[start..]
            .iter()
            .position(|l| *l == last)
            .unwrap_or_else(|| panic!("no `{last}` after `{first}` in:\n{text}"));
    lines[start..=end].to_vec()
}

fn frr_files() -> RunningConfig {
    let bgpd = capture("bgpd.conf").replace(" no bgp ebgp-requires-policy\n", "");
    let (cfg, errors) = from_text(&format!("{}{bgpd}", capture("bfdd.conf")));
    assert!(errors.is_empty(), "{errors:?}");
    cfg
}

#[test]
fn frr_bfdd_and_bgpd_files_load_and_write_back_as_frr_does() {
    let cfg = frr_files();
    let ours = config_file(&cfg, &Environment::default());
    let frr = capture("show_running-config.txt");
    assert_eq!(section(&ours, "bfd", "exit"), section(&frr, "bfd", "exit"));
    assert_eq!(
        section(
            &ours,
            " neighbor 10.77.0.2 remote-as 65002",
            " neighbor 10.77.0.2 bfd profile fast"
        ),
        section(
            &frr,
            " neighbor 10.77.0.2 remote-as 65002",
            " neighbor 10.77.0.2 bfd profile fast"
        ),
    );
}

#[test]
fn every_profile_setting_round_trips_render_parse_render() {
    let text = "bfd\n profile edge\n  detect-multiplier 7\n  transmit-interval 50\n  receive-interval 60000\n  shutdown\n  passive-mode\n  minimum-ttl 1\n exit\n !\n profile plain\n exit\n !\nexit\n!\nrouter bgp 64512\n neighbor GROUP peer-group\n neighbor GROUP remote-as internal\n neighbor GROUP bfd\n neighbor GROUP bfd profile edge\n neighbor 10.0.0.1 remote-as 64512\n neighbor 10.0.0.1 bfd\n";
    let (cfg, errors) = from_text(text);
    assert!(errors.is_empty(), "{errors:?}");
    let written = config_file(&cfg, &Environment::default());
    let (again, errors) = from_text(&written);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(again, cfg);
    assert_eq!(config_file(&again, &Environment::default()), written);
    let edge = &cfg.bfd.as_ref().unwrap().profiles["edge"];
    assert_eq!(
        (
            edge.detect_multiplier,
            edge.transmit_interval,
            edge.receive_interval
        ),
        (Some(7), Some(50), Some(60000))
    );
    assert!(edge.shutdown && edge.passive);
    assert_eq!(edge.minimum_ttl, Some(1));
}

#[test]
fn no_forms_reset_settings_and_remove_profiles_and_bfd() {
    let mut cfg = frr_files();
    let errors = apply_text(
        &mut cfg,
        "bfd\n profile slow\n  no passive-mode\n  no detect-multiplier\n  no minimum-ttl\n exit\n no profile fast\nexit\nrouter bgp 65001\n no neighbor 10.77.0.2 bfd profile\n",
    );
    assert!(errors.is_empty(), "{errors:?}");
    let bfd = cfg.bfd.as_ref().unwrap();
    assert!(!bfd.profiles.contains_key("fast"));
    let slow = &bfd.profiles["slow"];
    assert!(!slow.passive);
    assert_eq!(slow.detect_multiplier, None);
    assert_eq!(slow.transmit_interval, Some(1000));
    let bgp = cfg.bgp.as_ref().unwrap();
    let n = &bgp.neighbors[&"10.77.0.2".parse().unwrap()];
    assert_eq!(n.bfd, Some(None), "BFD stays on without the profile");
    // `bfd` alone keeps a profile given before.
    apply_text(
        &mut cfg,
        "router bgp 65001\n neighbor 10.77.0.2 bfd profile slow\n neighbor 10.77.0.2 bfd\n",
    );
    let n = &cfg.bgp.as_ref().unwrap().neighbors[&"10.77.0.2".parse().unwrap()];
    assert_eq!(n.bfd, Some(Some("slow".into())));
    apply_text(
        &mut cfg,
        "router bgp 65001\n no neighbor 10.77.0.2 bfd\nno bfd\n",
    );
    let n = &cfg.bgp.as_ref().unwrap().neighbors[&"10.77.0.2".parse().unwrap()];
    assert_eq!(n.bfd, None);
    assert_eq!(cfg.bfd, None);
    assert!(!config_file(&cfg, &Environment::default()).contains("bfd"));
}

#[test]
fn echo_mode_is_refused_as_unsupported() {
    for line in [
        "echo-mode",
        "echo-interval 50",
        "echo transmit-interval 50",
        "echo receive-interval 50",
    ] {
        let mut cfg = RunningConfig::default();
        let errors = apply_text(&mut cfg, &format!("bfd\n profile p\n  {line}\n"));
        assert_eq!(errors.len(), 1, "{line}: {errors:?}");
        assert_eq!(
            errors[0].error,
            ConfigError::EchoUnsupported.to_string(),
            "{line}"
        );
        assert!(errors[0].error.contains("not supported"), "{line}");
    }
    // Turning it off is fine.
    let mut cfg = RunningConfig::default();
    let errors = apply_text(
        &mut cfg,
        "bfd\n profile p\n  no echo-mode\n  echo receive-interval disabled\n",
    );
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn frr_ranges_are_enforced() {
    let profile = Mode::ConfigBfdProfile(ProfileName::new("p").unwrap());
    for bad in [
        "detect-multiplier 1",
        "detect-multiplier 256",
        "receive-interval 9",
        "transmit-interval 60001",
        "minimum-ttl 255",
        "minimum-ttl 0",
    ] {
        assert!(parse_line(profile, bad).is_err(), "{bad} accepted");
    }
    for good in [
        "detect-multiplier 2",
        "receive-interval 10",
        "transmit-interval 60000",
        "minimum-ttl 254",
    ] {
        assert!(
            parse_line(profile, good).unwrap().is_some(),
            "{good} refused"
        );
    }
    let long = "x".repeat(65);
    assert!(parse_line(Mode::ConfigBfd, &format!("profile {long}")).is_err());
}

#[test]
fn bfd_and_profile_enter_their_modes_with_frr_prompts() {
    let mut cfg = RunningConfig::with_hostname("r1");
    let entered = cfg.apply(&ConfigChange::Bfd, Mode::Config).unwrap();
    assert_eq!(entered, Some(Mode::ConfigBfd));
    assert_eq!(Mode::ConfigBfd.prompt("r1"), "r1(config-bfd)# ");
    let name = ProfileName::new("fast").unwrap();
    let entered = cfg
        .apply(&ConfigChange::BfdProfile(name), Mode::ConfigBfd)
        .unwrap();
    assert_eq!(entered, Some(Mode::ConfigBfdProfile(name)));
    assert_eq!(entered.unwrap().prompt("r1"), "r1(config-bfd-profile)# ");
    assert_eq!(entered.unwrap().parent(), Some(Mode::ConfigBfd));
    assert_eq!(Mode::ConfigBfd.parent(), Some(Mode::Config));
    // A global command typed in the profile mode is found in the parent modes, as in FRR.
    let parsed = parse_line(Mode::ConfigBfdProfile(name), "hostname r2")
        .unwrap()
        .unwrap();
    assert_eq!(parsed.mode, Mode::Config);
}
