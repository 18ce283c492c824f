//! The CLI language: the command tree as data (parsing, `?` help, TAB completion from one
//! definition), typed commands, and output filters.

pub mod bfd;
pub mod command;
pub mod defs;
pub mod filter;
pub mod token;
pub mod tree;

pub use command::{Command, Mode};
pub use filter::OutputFilter;
pub use tree::{CliError, HelpContext, HelpItem};

/// One parsed line: the command, the mode it matched in, and its output filter.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedLine {
    /// The typed command.
    pub command: Command,
    /// The mode the command belongs to; the CLI moves there (FRR falls back to parent
    /// configuration modes for commands unknown in the current one).
    pub mode: Mode,
    /// What to do with the output, from `| include …`.
    pub filter: Option<OutputFilter>,
}

/// Parses one line typed in `mode`. Blank lines and `!` comments give `Ok(None)`.
pub fn parse_line(mode: Mode, line: &str) -> Result<Option<ParsedLine>, CliError> {
    let (text, filter) = filter::split_filter(line)?;
    Ok(defs::TREE
        .parse(mode, text)?
        .map(|(command, mode)| ParsedLine {
            command,
            mode,
            filter,
        }))
}

/// The `?` help for the text typed so far, laid out as vtysh prints it.
pub fn help(mode: Mode, line: &str, ctx: &HelpContext) -> Result<String, CliError> {
    let text = line.split('|').next().unwrap_or_default();
    Ok(tree::format_help(&defs::TREE.help(mode, text, ctx)?))
}

/// TAB completion candidates for the last word of `line`.
pub fn complete(mode: Mode, line: &str) -> Vec<String> {
    defs::TREE.complete(mode, line)
}
