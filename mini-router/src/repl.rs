//! The interactive terminal: rustyline line editing with history, TAB completion and `?`
//! help from the command tree, the mode prompt (`HOST#`, `HOST(config)#`, …), and
//! `start-shell`. What a line does is up to the [`Session`] (the router task); this loop
//! only owns the terminal and the session's mode.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{
    Cmd, CompletionType, ConditionalEventHandler, Config, Editor, Event, EventContext,
    EventHandler, Helper, KeyEvent, RepeatCount,
};
use thiserror::Error;

use crate::cli::{self, CliError, HelpContext, Mode};

/// What running one line did, as the terminal needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Text to print.
    pub output: String,
    /// The mode to continue in; None leaves the CLI.
    pub mode: Option<Mode>,
    /// Run an interactive shell now (`start-shell`).
    pub start_shell: bool,
}

/// What the terminal shows between commands.
#[derive(Debug, Clone, Default)]
pub struct SessionInfo {
    /// The hostname in the prompt.
    pub hostname: String,
    /// Values `?` help lists (configured neighbors).
    pub help: HelpContext,
}

/// The other end of the terminal: runs lines and tells the prompt.
pub trait Session {
    /// Runs one line typed in `mode`.
    fn execute(&mut self, mode: Mode, line: &str) -> Step;
    /// The hostname and help values as they are now.
    fn info(&mut self) -> SessionInfo;
}

/// Why the terminal loop stopped abnormally.
#[derive(Debug, Error)]
pub enum ReplError {
    /// The terminal could not be read or set up.
    #[error("terminal: {0}")]
    Terminal(#[from] ReadlineError),
}

/// State shared by the loop and the editor's helper and key handler.
#[derive(Debug)]
struct Shared {
    mode: Mode,
    help: HelpContext,
    /// The line typed when `?` was pressed.
    help_request: Option<String>,
}

type SharedState = Arc<Mutex<Shared>>;

fn lock(state: &SharedState) -> std::sync::MutexGuard<'_, Shared> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// TAB completion for the text before the cursor: where the word starts and what it may
/// become (each followed by a space, as vtysh completes).
pub fn completion(mode: Mode, before_cursor: &str) -> (usize, Vec<Pair>) {
    let start = before_cursor
        .rfind(char::is_whitespace)
        .map(|i| i + 1)
        .unwrap_or(0);
    let pairs = cli::complete(mode, before_cursor)
        .into_iter()
        .map(|word| Pair {
            display: word.clone(),
            replacement: format!("{word} "),
        })
        .collect();
    (start, pairs)
}

/// What `?` prints for the text typed so far, with vtysh's messages when nothing fits.
pub fn help_text(mode: Mode, line: &str, ctx: &HelpContext) -> String {
    match cli::help(mode, line, ctx) {
        Ok(text) => text,
        Err(CliError::Ambiguous(_)) => "% Ambiguous command.\n".to_string(),
        Err(_) => "% There is no matched command.\n".to_string(),
    }
}

struct CliHelper {
    state: SharedState,
}

impl Completer for CliHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let mode = lock(&self.state).mode;
        Ok(completion(mode, line.get(..pos).unwrap_or(line)))
    }
}

impl Hinter for CliHelper {
    type Hint = String;
}

impl Highlighter for CliHelper {}

impl Validator for CliHelper {}

impl Helper for CliHelper {}

/// `?` ends the current read (as an interrupt) after saving the line, so the loop can print
/// the help and give the line back for editing.
struct HelpKey {
    state: SharedState,
}

impl ConditionalEventHandler for HelpKey {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext) -> Option<Cmd> {
        let line = ctx
            .line()
            .get(..ctx.pos())
            .unwrap_or(ctx.line())
            .to_string();
        lock(&self.state).help_request = Some(line);
        Some(Cmd::Interrupt)
    }
}

/// The router task as a terminal session: each line is sent to it and waited for on the
/// tokio runtime (the terminal loop itself runs on a blocking thread).
struct RouterSession {
    router: crate::router::RouterHandle,
    runtime: tokio::runtime::Handle,
}

impl Session for RouterSession {
    fn execute(&mut self, mode: Mode, line: &str) -> Step {
        let outcome = self.runtime.block_on(self.router.execute(mode, line));
        Step {
            output: outcome.output,
            mode: outcome.mode,
            start_shell: outcome.start_shell,
        }
    }

    fn info(&mut self) -> SessionInfo {
        let ctx = self.runtime.block_on(self.router.context());
        SessionInfo {
            hostname: ctx.hostname,
            help: ctx.help,
        }
    }
}

/// Runs the terminal against the router task until `exit`, Ctrl-D, or the task stops;
/// history is kept in `$HOME/.mini-router_history`.
pub fn run(
    router: crate::router::RouterHandle,
    runtime: tokio::runtime::Handle,
    banner: &str,
) -> Result<(), ReplError> {
    let history = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".mini-router_history"));
    run_session(&mut RouterSession { router, runtime }, banner, history)
}

/// Runs the terminal until `exit` from enable mode, Ctrl-D, or the session ends it.
/// `history` is the file the command history is loaded from and saved to.
pub fn run_session<S: Session>(
    session: &mut S,
    banner: &str,
    history: Option<PathBuf>,
) -> Result<(), ReplError> {
    let state: SharedState = Arc::new(Mutex::new(Shared {
        mode: Mode::Enable,
        help: HelpContext::default(),
        help_request: None,
    }));
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .build();
    let mut editor: Editor<CliHelper, DefaultHistory> = Editor::with_config(config)?;
    editor.set_helper(Some(CliHelper {
        state: Arc::clone(&state),
    }));
    editor.bind_sequence(
        KeyEvent::from('?'),
        EventHandler::Conditional(Box::new(HelpKey {
            state: Arc::clone(&state),
        })),
    );
    if let Some(path) = &history {
        // A missing history file is normal on the first run.
        let _ = editor.load_history(path);
    }
    print!("{banner}");
    let mut mode = Mode::Enable;
    let mut pending = String::new();
    loop {
        let info = session.info();
        {
            let mut s = lock(&state);
            s.mode = mode;
            s.help = info.help.clone();
        }
        let prompt = mode.prompt(&info.hostname);
        let read = editor.readline_with_initial(&prompt, (&pending, ""));
        pending.clear();
        let line = match read {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                if let Some(typed) = lock(&state).help_request.take() {
                    print!("{}", help_text(mode, &typed, &info.help));
                    pending = typed;
                }
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        if !line.trim().is_empty() {
            let _ = editor.add_history_entry(line.as_str());
        }
        let step = session.execute(mode, &line);
        print!("{}", step.output);
        if step.start_shell {
            start_shell();
        }
        match step.mode {
            Some(m) => mode = m,
            None => break,
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(())
}

/// `start-shell`: an interactive shell on the same terminal until it exits.
fn start_shell() {
    let shell = std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".to_string());
    if let Err(e) = std::process::Command::new(&shell).status() {
        println!("% Cannot start {shell}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_completes_the_word_under_the_cursor() {
        let (start, pairs) = completion(Mode::Enable, "show ip bgp su");
        assert_eq!(start, 12);
        let words: Vec<&str> = pairs.iter().map(|p| p.replacement.as_str()).collect();
        assert_eq!(words, ["summary "]);
        let (start, pairs) = completion(Mode::Enable, "");
        assert_eq!(start, 0);
        assert!(pairs.iter().any(|p| p.display == "configure"));
    }

    #[test]
    fn question_mark_help_uses_vtysh_messages_when_nothing_matches() {
        let ctx = HelpContext::default();
        assert_eq!(
            help_text(Mode::Enable, "show bogus ", &ctx),
            "% There is no matched command.\n"
        );
        assert_eq!(
            help_text(Mode::Enable, "c ", &ctx),
            "% Ambiguous command.\n"
        );
        assert!(help_text(Mode::Enable, "show ip bgp s", &ctx).contains("summary"));
    }
}
