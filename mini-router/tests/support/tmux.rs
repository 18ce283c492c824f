//! A real terminal: a tmux server of its own (`tmux -L NAME -f /dev/null`) with one pane
//! running a command; keys are typed with `send-keys`, the screen is read with
//! `capture-pane -p`. The server is killed when dropped.

use std::process::Command;
use std::time::Duration;

use super::{must, poll, run, unique};

/// A tmux server with one session.
pub struct Tmux {
    server: String,
}

impl Tmux {
    /// Starts `shell_command` in a detached `width`x`height` session.
    pub fn start(shell_command: &str, width: u16, height: u16) -> Tmux {
        let tmux = Tmux {
            server: unique("mre2e-tmux"),
        };
        must(tmux.command().args([
            "new-session",
            "-d",
            "-s",
            "main",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            shell_command,
        ]));
        tmux
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &self.server, "-f", "/dev/null"]);
        cmd
    }

    /// Types `text` literally (no key names).
    pub fn type_text(&self, text: &str) {
        must(self.command().args(["send-keys", "-t", "main", "-l", text]));
    }

    /// Presses keys by tmux name (`Enter`, `Tab`, `C-d`).
    pub fn keys(&self, keys: &[&str]) {
        must(self.command().args(["send-keys", "-t", "main"]).args(keys));
    }

    /// Types a line and presses Enter.
    pub fn line(&self, text: &str) {
        self.type_text(text);
        self.keys(&["Enter"]);
    }

    /// The visible screen plus scrollback, trailing blank lines removed.
    pub fn screen(&self) -> String {
        let (_, out, _) =
            run(self
                .command()
                .args(["capture-pane", "-p", "-t", "main", "-S", "-2000"]));
        out.trim_end().to_owned()
    }

    /// Waits until the screen satisfies `check`, returns the screen.
    pub fn wait(&self, what: &str, timeout: Duration, check: impl Fn(&str) -> bool) -> String {
        poll(what, timeout, || {
            let screen = self.screen();
            if check(&screen) {
                Ok(screen)
            } else {
                Err(screen)
            }
        })
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = run(self.command().arg("kill-server"));
    }
}
