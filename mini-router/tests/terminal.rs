//! mini-router on a real pseudo-terminal: a tmux pane runs it interactively (kernel FIB off,
//! its own control socket, BGP on a loopback port) inside a network namespace of its own, so
//! the seed's neighbors 10.192.0.3/.4 are unreachable and no packet leaves the test. Keys are
//! typed with `tmux send-keys` and the screen is read with `tmux capture-pane`, as a person
//! would see it; the prompts and help are compared with FRR 8.4's captured vtysh screens.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Duration;

use support::tmux::Tmux;
use support::{MINI_ROUTER, Netns, cli_at};

const WAIT: Duration = Duration::from_secs(15);
const EXIT_MARK: &str = "MINI-ROUTER-EXITED:";

fn reference(file: &str) -> String {
    let path = format!(
        "{}/tests/frr-8.4/interactive/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The screen's last line, without trailing blanks.
fn last_line(screen: &str) -> &str {
    screen.lines().last().unwrap_or_default().trim_end()
}

/// A terminal running mini-router in namespace `ns`, with HOME (history) and the control
/// socket in `dir`; when mini-router ends the pane prints `MINI-ROUTER-EXITED:<code>`.
fn start_terminal(ns: &Netns, dir: &std::path::Path) -> Tmux {
    let socket = dir.join("mini-router.sock");
    let command = format!(
        "cd {dir} && env HOME={dir} ip netns exec {ns} {bin} --no-fib --hostname router \
         --socket {socket} --listen 127.0.0.1:1179; echo {EXIT_MARK}$?; sleep 600",
        dir = dir.display(),
        ns = ns.name(),
        bin = MINI_ROUTER,
        socket = socket.display(),
    );
    Tmux::start(&command, 200, 50)
}

/// Types `line`, presses Enter and waits for the prompt `prompt` on a new last line.
fn type_line(term: &Tmux, line: &str, prompt: &str) -> String {
    let before = term.screen().lines().count();
    term.line(line);
    term.wait(&format!("prompt {prompt:?} after {line:?}"), WAIT, |s| {
        s.lines().count() > before && last_line(s) == prompt.trim_end()
    })
}

#[test]
fn seed_configuration_typed_on_a_terminal_shows_vtyshs_prompts_help_completion_and_errors() {
    let ns = Netns::create("term");
    let dir = tempfile::tempdir().unwrap();
    let term = start_terminal(&ns, dir.path());

    let screen = term.wait("the banner and first prompt", WAIT, |s| {
        last_line(s) == "router#"
    });
    assert!(
        screen.contains("Hello, this is mini-router (version "),
        "{screen}"
    );

    // The seed's exact sequence; the screen reads like FRR's vtysh session.
    let expected = reference("vtysh_configure_default.txt");
    let mut expected_lines = expected.lines();
    let first_prompt = expected_lines.next().unwrap();
    assert_eq!(first_prompt, "router# configure terminal");
    for (typed, prompt) in [
        ("configure terminal", "router(config)# "),
        ("router bgp 64512", "router(config-router)# "),
        (
            "neighbor 10.192.0.3 remote-as 64512",
            "router(config-router)# ",
        ),
        (
            "neighbor 10.192.0.4 remote-as 64512",
            "router(config-router)# ",
        ),
        ("exit", "router(config)# "),
        ("exit", "router# "),
    ] {
        type_line(&term, typed, prompt);
    }
    let screen = term.screen();
    let start = screen
        .lines()
        .position(|l| l.trim_end() == "router# configure terminal")
        .unwrap_or_else(|| panic!("no typed configure terminal on screen:\n{screen}"));
    let session: Vec<&str> = screen.lines().skip(start).map(str::trim_end).collect();
    let reference_session: Vec<&str> = expected.lines().map(str::trim_end).collect();
    assert_eq!(session, reference_session, "screen:\n{screen}");

    // The configuration typed on the terminal is the running one (also seen over -c).
    let running = cli_at(
        &dir.path().join("mini-router.sock"),
        &["show running-config"],
    );
    assert_eq!(running.code, Some(0), "{running:?}");
    assert!(
        running.stdout.contains(
            " neighbor 10.192.0.3 remote-as 64512\n neighbor 10.192.0.4 remote-as 64512\n"
        ),
        "{running:?}"
    );

    // `show ?`: the help lines in vtysh's layout, each one as FRR words it.
    term.type_text("show ?");
    let screen = term.wait("help for show", WAIT, |s| {
        last_line(s) == "router# show" && s.contains("running-config")
    });
    let lines: Vec<&str> = screen.lines().collect();
    let typed = lines
        .iter()
        .rposition(|l| l.starts_with("router# show"))
        .unwrap();
    let asked = lines[..typed]
        .iter()
        .rposition(|l| l.starts_with("router# show"))
        .unwrap_or_else(|| panic!("the line typed before the help is gone:\n{screen}"));
    let help: Vec<&str> = lines[asked + 1..typed].to_vec();
    assert_help_layout(&help, &reference("help_show.txt"), &screen);
    for keyword in ["bgp", "interface", "ip", "running-config", "version"] {
        assert!(
            help.iter()
                .any(|l| l.split_whitespace().next() == Some(keyword)),
            "`show ?` lacks {keyword}:\n{screen}"
        );
    }
    // The typed words stay on the line for editing: finish it as `show version`.
    type_line(&term, "version", "router# ");
    let screen = term.screen();
    assert!(screen.contains("router# show version\n"), "{screen}");

    // TAB completes `sh` to `show ` (with the space: the next word follows directly), then
    // the abbreviated rest of `sh ip b su`.
    term.type_text("sh");
    term.keys(&["Tab"]);
    term.wait("sh completed to show", WAIT, |s| {
        last_line(s) == "router# show"
    });
    let screen = type_line(&term, "ip b su", "router# ");
    assert!(screen.contains("router# show ip b su\n"), "{screen}");
    for needle in [
        "IPv4 Unicast Summary (VRF default):",
        "local AS number 64512",
        "\n10.192.0.3      4      64512 ",
        "\n10.192.0.4      4      64512 ",
        "Total number of neighbors 2",
    ] {
        assert!(screen.contains(needle), "no {needle:?} in:\n{screen}");
    }

    // The full abbreviation typed at once gives the same summary.
    let before = term.screen().matches("Total number of neighbors 2").count();
    type_line(&term, "sh ip b su", "router# ");
    let after = term.screen().matches("Total number of neighbors 2").count();
    assert_eq!(after, before + 1, "{}", term.screen());

    // An unknown command: FRR's words, and the session goes on.
    let screen = type_line(&term, "frobnicate the router", "router# ");
    assert!(
        screen.contains("% Unknown command: frobnicate the router"),
        "{screen}"
    );
    type_line(&term, "configure terminal", "router(config)# ");
    let screen = type_line(&term, "bogus", "router(config)# ");
    assert!(screen.contains("% Unknown command: bogus"), "{screen}");
    type_line(&term, "end", "router# ");

    // `exit` at the top ends the process, with status 0.
    term.line("exit");
    let screen = term.wait("mini-router to exit", WAIT, |s| s.contains(EXIT_MARK));
    assert!(screen.contains(&format!("{EXIT_MARK}0")), "{screen}");
    assert!(
        !dir.path().join("mini-router.sock").exists(),
        "control socket left behind"
    );
}

/// Checks `help` (lines printed by `?`) against vtysh's layout in `reference`: two spaces,
/// the keyword padded to one column for all lines, two spaces at least, the help text; and
/// every keyword with its text as FRR prints it.
fn assert_help_layout(help: &[&str], reference: &str, screen: &str) {
    assert!(!help.is_empty(), "no help lines:\n{screen}");
    let frr: Vec<(String, String)> = reference
        .lines()
        .filter(|l| l.starts_with("  "))
        .filter_map(split_help)
        .collect();
    let mut column = None;
    for line in help {
        assert!(
            line.starts_with("  "),
            "help line {line:?} not indented:\n{screen}"
        );
        let (keyword, text) =
            split_help(line).unwrap_or_else(|| panic!("help line {line:?}:\n{screen}"));
        let at = line.trim_end().len() - text.len();
        match column {
            None => column = Some(at),
            Some(c) => assert_eq!(c, at, "help text not in one column:\n{screen}"),
        }
        assert!(
            frr.contains(&(keyword.clone(), text.clone())),
            "`{keyword}  {text}` is not in FRR's show help:\n{screen}"
        );
    }
    let keywords: Vec<String> = help
        .iter()
        .filter_map(|l| split_help(l).map(|(k, _)| k))
        .collect();
    let mut sorted = keywords.clone();
    sorted.sort();
    assert_eq!(
        keywords, sorted,
        "help not in alphabetical order:\n{screen}"
    );
}

/// "  keyword    Help text" as (keyword, help text).
fn split_help(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix("  ")?;
    let (keyword, text) = rest.split_once(' ')?;
    Some((keyword.to_owned(), text.trim().to_owned()))
}

#[test]
fn address_family_session_reads_like_vtyshs_maximum_paths_screen_and_do_and_include_work() {
    let ns = Netns::create("termaf");
    let dir = tempfile::tempdir().unwrap();
    let term = start_terminal(&ns, dir.path());
    term.wait("the first prompt", WAIT, |s| last_line(s) == "router#");

    for (typed, prompt) in [
        ("configure terminal", "router(config)# "),
        ("router bgp 64512", "router(config-router)# "),
        (
            "neighbor 10.192.0.3 remote-as 64512",
            "router(config-router)# ",
        ),
        (
            "neighbor 10.192.0.4 remote-as 64512",
            "router(config-router)# ",
        ),
        ("address-family ipv4 unicast", "router(config-router-af)# "),
        ("maximum-paths ibgp 2", "router(config-router-af)# "),
        ("exit-address-family", "router(config-router)# "),
        ("exit", "router(config)# "),
        ("exit", "router# "),
    ] {
        type_line(&term, typed, prompt);
    }
    let screen = term.screen();
    let start = screen
        .lines()
        .position(|l| l.trim_end() == "router# configure terminal")
        .unwrap_or_else(|| panic!("no typed configure terminal on screen:\n{screen}"));
    let session: Vec<&str> = screen.lines().skip(start).map(str::trim_end).collect();
    let expected = reference("vtysh_configure_maximum-paths-ibgp-2.txt");
    let reference_session: Vec<&str> = expected.lines().map(str::trim_end).collect();
    assert_eq!(session, reference_session, "screen:\n{screen}");

    // `do` runs an enable-mode command from a configuration mode; `| include` filters.
    type_line(&term, "configure terminal", "router(config)# ");
    let screen = type_line(
        &term,
        "do show running-config | include maximum-paths",
        "router(config)# ",
    );
    let lines: Vec<&str> = screen.lines().collect();
    let asked = lines
        .iter()
        .rposition(|l| l.starts_with("router(config)# do show running-config"))
        .unwrap();
    let output: Vec<&str> = lines[asked + 1..lines.len() - 1].to_vec();
    assert_eq!(output, ["  maximum-paths ibgp 2"], "{screen}");
    type_line(&term, "end", "router# ");

    // Ctrl-D at the prompt ends the process too.
    term.keys(&["C-d"]);
    let screen = term.wait("mini-router to exit on Ctrl-D", WAIT, |s| {
        s.contains(EXIT_MARK)
    });
    assert!(screen.contains(&format!("{EXIT_MARK}0")), "{screen}");
}
