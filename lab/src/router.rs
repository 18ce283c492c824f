//! mini-router as the tutorial's external router: in the `router` namespace (10.192.0.7),
//! on a terminal the lab keeps open in a tmux session of its own, so `lab router` attaches
//! to its CLI the way `docker run -it … quagga` put the tutorial's reader at the router's
//! prompt, and it keeps running when the reader detaches (Ctrl-b d). `lab router -c '…'`
//! asks it over its control socket, for scripts. Its `start-shell` is busybox's `sh`, with
//! `wget`, `ip` and `ping`, as in mini-router's image. `exit` at its prompt ends it, as it
//! ended the tutorial's container; the next `lab router` starts a fresh one.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::cluster::RunningComponent;

/// The namespace it runs in.
pub const NETNS: &str = "router";

/// The tmux session's name.
pub const SESSION: &str = "router";

/// The applets of busybox its shell gets.
const APPLETS: [&str; 4] = ["sh", "wget", "ip", "ping"];

/// The router's files under the lab's state directory.
#[derive(Debug, Clone)]
pub struct RouterFiles {
    /// The lab's state directory.
    pub dir: PathBuf,
}

impl RouterFiles {
    /// tmux's socket.
    pub fn tmux_socket(&self) -> PathBuf {
        self.dir.join("tmux.sock")
    }

    /// mini-router's control socket (`-c`).
    pub fn control_socket(&self) -> PathBuf {
        self.dir.join("router.sock")
    }

    /// The router's working directory, where `start-shell` begins: the tutorial's plain
    /// `wget 198.51.100.0` saves its `index.html` here, inside the lab's state.
    pub fn home(&self) -> PathBuf {
        self.dir.join("router-home")
    }

    /// Where the busybox applets for `start-shell` are linked.
    pub fn applets(&self) -> PathBuf {
        self.dir.join("router-bin")
    }

    /// `tmux -S SOCKET ARGS…`.
    pub fn tmux(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.arg("-S").arg(self.tmux_socket()).args(args);
        cmd
    }
}

/// The router could not be started.
#[derive(Debug, thiserror::Error)]
#[error("starting mini-router in {NETNS}: {0}")]
pub struct RouterError(pub String);

fn output(cmd: &mut Command) -> Result<String, RouterError> {
    let out = cmd
        .output()
        .map_err(|e| RouterError(format!("running {cmd:?}: {e}")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(RouterError(format!(
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Links busybox's applets for the router's shell; `None` when there is no busybox (the
/// shell is then the system's `/bin/sh`).
fn applets(files: &RouterFiles) -> Option<PathBuf> {
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.is_file())?;
    let dir = files.applets();
    std::fs::create_dir_all(&dir).ok()?;
    for applet in APPLETS {
        let link = dir.join(applet);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(busybox, &link).ok()?;
    }
    Some(dir)
}

/// The command line of the router in its session.
pub fn command(
    mini_router: &Path,
    files: &RouterFiles,
    quick_start: bool,
    applets: Option<&Path>,
) -> Vec<String> {
    let mut cmd = vec![
        "ip".to_owned(),
        "netns".to_owned(),
        "exec".to_owned(),
        NETNS.to_owned(),
        "env".to_owned(),
    ];
    if let Some(dir) = applets {
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.push(format!("PATH={}:{path}", dir.display()));
        cmd.push(format!("SHELL={}", dir.join("sh").display()));
    }
    cmd.push(mini_router.display().to_string());
    cmd.extend(["--hostname".to_owned(), NETNS.to_owned()]);
    cmd.push(format!("--socket={}", files.control_socket().display()));
    if quick_start {
        cmd.extend(
            ["--asn", "64512", "--listen-range", "10.192.0.0/24"]
                .iter()
                .map(|s| (*s).to_owned()),
        );
    }
    cmd
}

/// Whether the router's session runs.
pub fn running(files: &RouterFiles) -> bool {
    files
        .tmux(&["has-session", "-t", SESSION])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Starts the router in its session and waits until it answers on its control socket;
/// returns the router and the tmux server as components, for `lab status` and `lab down`.
pub fn start(
    files: &RouterFiles,
    mini_router: &Path,
    quick_start: bool,
) -> Result<Vec<RunningComponent>, RouterError> {
    if !mini_router.is_file() {
        return Err(RouterError(format!(
            "{} not found: build it with `cargo build -p mini-router` (or set FERROLB_BIN)",
            mini_router.display()
        )));
    }
    let applets = applets(files);
    let cmd = command(mini_router, files, quick_start, applets.as_deref());
    let home = files.home();
    std::fs::create_dir_all(&home)
        .map_err(|e| RouterError(format!("creating {}: {e}", home.display())))?;
    let home = home.display().to_string();
    let mut new = files.tmux(&[
        "new-session",
        "-d",
        "-s",
        SESSION,
        "-c",
        &home,
        "-x",
        "200",
        "-y",
        "50",
        "--",
    ]);
    new.args(&cmd);
    output(&mut new)?;
    // A terminal like the container's: no tmux status line.
    let _ = output(&mut files.tmux(&["set-option", "-t", SESSION, "status", "off"]));
    let pid = output(&mut files.tmux(&["list-panes", "-t", SESSION, "-F", "#{pane_pid}"]))?;
    let server = output(&mut files.tmux(&["display-message", "-p", "#{pid}"]))?;
    let parse = |text: &str, what: &str| {
        text.parse::<u32>()
            .map_err(|_| RouterError(format!("tmux gave {text:?} as the {what}'s pid")))
    };
    let components = vec![
        RunningComponent {
            name: "mini-router".to_owned(),
            pid: parse(&pid, "router")?,
            log: files.tmux_socket(),
            listen: "10.192.0.7:179 (`lab router`)".to_owned(),
        },
        RunningComponent {
            name: "tmux (the router's terminal)".to_owned(),
            pid: parse(&server, "tmux server")?,
            log: files.tmux_socket(),
            listen: String::new(),
        },
    ];
    let start = Instant::now();
    loop {
        let answered = Command::new(mini_router)
            .arg(format!("--socket={}", files.control_socket().display()))
            .args(["-c", "show version"])
            .output()
            .is_ok_and(|o| o.status.success());
        if answered {
            return Ok(components);
        }
        if !running(files) {
            return Err(RouterError(
                "mini-router ended right after starting".to_owned(),
            ));
        }
        if start.elapsed() > Duration::from_secs(30) {
            return Err(RouterError(
                "mini-router did not answer on its control socket within 30 s".to_owned(),
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `mini-router -c …` against the running router.
pub fn client(files: &RouterFiles, mini_router: &Path, commands: &[String]) -> Command {
    let mut cmd = Command::new(mini_router);
    cmd.arg(format!("--socket={}", files.control_socket().display()));
    for c in commands {
        cmd.arg("-c").arg(c);
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_router_runs_in_its_namespace_with_busybox_for_its_shell() {
        let files = RouterFiles {
            dir: PathBuf::from("/run/ferrolb-lab"),
        };
        let cmd = command(
            Path::new("/b/mini-router"),
            &files,
            true,
            Some(Path::new("/run/ferrolb-lab/router-bin")),
        );
        assert_eq!(&cmd[..5], ["ip", "netns", "exec", "router", "env"]);
        assert!(cmd[5].starts_with("PATH=/run/ferrolb-lab/router-bin:"));
        assert_eq!(cmd[6], "SHELL=/run/ferrolb-lab/router-bin/sh");
        assert_eq!(
            &cmd[7..],
            [
                "/b/mini-router",
                "--hostname",
                "router",
                "--socket=/run/ferrolb-lab/router.sock",
                "--asn",
                "64512",
                "--listen-range",
                "10.192.0.0/24"
            ]
        );
        let bare = command(Path::new("/b/mini-router"), &files, false, None);
        assert_eq!(
            bare.last().map(String::as_str),
            Some("--socket=/run/ferrolb-lab/router.sock")
        );
    }
}
