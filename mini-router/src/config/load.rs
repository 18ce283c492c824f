//! Reading an FRR-syntax configuration file (`--config FILE`): every line goes through the
//! CLI's command tree in the mode the previous lines entered, exactly as if typed. A broken
//! line is reported with its line number and skipped; the valid rest still applies.

use std::fmt;

use super::RunningConfig;
use crate::cli::{self, Command, Mode};

/// One line of a configuration file that was not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// 1-based line number.
    pub line: usize,
    /// The text of the line.
    pub text: String,
    /// Why, in FRR's words.
    pub error: String,
}

impl LoadError {
    /// `FILE:LINE: error`, the form printed at start-up.
    pub fn with_file(&self, file: &str) -> String {
        format!("{file}:{}: {}", self.line, self.error)
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.line, self.error)
    }
}

/// Applies the lines of `text` to `cfg`, starting in global configuration mode, and
/// returns the lines that failed.
pub fn apply_text(cfg: &mut RunningConfig, text: &str) -> Vec<LoadError> {
    let mut errors = Vec::new();
    let mut mode = Mode::Config;
    for (index, line) in text.lines().enumerate() {
        let fail = |error: String| LoadError {
            line: index + 1,
            text: line.to_string(),
            error,
        };
        let parsed = match cli::parse_line(mode, line) {
            Ok(Some(p)) => p,
            Ok(None) => continue,
            Err(e) => {
                errors.push(fail(e.to_string()));
                continue;
            }
        };
        match &parsed.command {
            Command::Config(change) => match cfg.apply(change, parsed.mode) {
                Ok(entered) => mode = entered.unwrap_or(parsed.mode),
                Err(e) => errors.push(fail(e.to_string())),
            },
            Command::Exit => {
                mode = match parsed.mode.parent() {
                    Some(Mode::Enable) | None => Mode::Config,
                    Some(m) => m,
                }
            }
            Command::ExitAddressFamily => mode = Mode::ConfigRouter,
            Command::End | Command::ConfigureTerminal => mode = Mode::Config,
            _ => errors.push(fail(format!(
                "% Not a configuration command: {}",
                line.trim()
            ))),
        }
    }
    errors
}

/// Builds a configuration from the text of a file.
pub fn from_text(text: &str) -> (RunningConfig, Vec<LoadError>) {
    let mut cfg = RunningConfig::default();
    let errors = apply_text(&mut cfg, text);
    (cfg, errors)
}
