//! The command tree engine, in the spirit of FRR's DEFUN graph: one tree of nodes per mode,
//! each node a keyword or typed argument with its help string, some nodes able to end a
//! command (they carry the function building the typed [`Command`]). The same walk over the
//! tree gives parsing (with unique-prefix abbreviations and FRR's error words), `?` help and
//! TAB completion, so the three can never disagree.

use std::net::IpAddr;

use ipnet::IpNet;
use thiserror::Error;

use super::command::{Command, Mode, PeerRef};
use super::token::{MatchLevel, TokenKind};

/// Builds the typed command from the words matched along the path; None when the words,
/// although accepted by the tree, do not make a command (reported as unknown).
pub type Build = fn(&Args) -> Option<Command>;

/// Where the values listed under a token in `?` help come from (FRR lists the configured
/// neighbors under `show ip bgp neighbors A.B.C.D`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueSource {
    /// Configured IPv4 neighbors.
    NeighborsV4,
    /// Configured IPv6 neighbors.
    NeighborsV6,
}

/// One node of the command tree.
#[derive(Debug, Clone)]
pub struct Node {
    /// What the node accepts.
    pub kind: TokenKind,
    /// Its `?` help string (FRR's where FRR has the same token).
    pub help: &'static str,
    /// The tokens that may follow.
    pub children: Vec<Node>,
    /// Set when a command may end here (`<cr>` in help).
    pub build: Option<Build>,
    /// Continue matching at the root of another mode after this token (`do` → enable).
    pub redirect: Option<Mode>,
    /// Values to list under this token in `?` help.
    pub values: Option<ValueSource>,
    /// Accepted but never offered by `?` help or TAB (FRR compatibility lines).
    pub hidden: bool,
}

impl Node {
    /// A keyword node.
    pub fn kw(word: &'static str, help: &'static str) -> Node {
        Node::arg(TokenKind::Keyword(word), help)
    }

    /// A typed-argument node.
    pub fn arg(kind: TokenKind, help: &'static str) -> Node {
        Node {
            kind,
            help,
            children: Vec::new(),
            build: None,
            redirect: None,
            values: None,
            hidden: false,
        }
    }

    /// Adds the tokens that may follow this one.
    pub fn then(mut self, children: impl IntoIterator<Item = Node>) -> Node {
        self.children.extend(children);
        self
    }

    /// Lets a command end at this node, built by `build`.
    pub fn run(mut self, build: Build) -> Node {
        self.build = Some(build);
        self
    }

    /// Makes the words after this token match the root of `mode`.
    pub fn redirect(mut self, mode: Mode) -> Node {
        self.redirect = Some(mode);
        self
    }

    /// Hides this node from `?` help and TAB completion.
    pub fn hidden(mut self) -> Node {
        self.hidden = true;
        self
    }

    /// Lists values from `source` under this token in help.
    pub fn values(mut self, source: ValueSource) -> Node {
        self.values = Some(source);
        self
    }
}

/// The words matched along a command's path, with the token each matched.
#[derive(Debug, Clone, Default)]
pub struct Args {
    /// (token, typed word) in order; a `LINE` token holds the rest of the line.
    pub words: Vec<(TokenKind, String)>,
}

impl Args {
    /// Whether the keyword `word` was matched (abbreviations count as the full keyword).
    pub fn has(&self, word: &str) -> bool {
        self.words.iter().any(|(k, _)| is_keyword(k, word))
    }

    /// Whether the command is a `no` form.
    pub fn negated(&self) -> bool {
        self.words
            .first()
            .is_some_and(|(k, _)| *k == TokenKind::Keyword("no"))
    }

    /// The word typed right after keyword `word`.
    pub fn after(&self, word: &str) -> Option<&str> {
        let pos = self.words.iter().position(|(k, _)| is_keyword(k, word))?;
        self.words.get(pos + 1).map(|(_, w)| w.as_str())
    }

    /// The first typed IP address (either family).
    pub fn ip(&self) -> Option<IpAddr> {
        self.words
            .iter()
            .find(|(k, _)| matches!(k, TokenKind::Ipv4 | TokenKind::Ipv6))
            .and_then(|(_, w)| w.parse().ok())
    }

    /// The first typed prefix (either family).
    pub fn prefix(&self) -> Option<IpNet> {
        self.words
            .iter()
            .find(|(k, _)| matches!(k, TokenKind::Ipv4Prefix | TokenKind::Ipv6Prefix))
            .and_then(|(_, w)| w.parse().ok())
    }

    /// The `n`th number argument.
    pub fn number(&self, n: usize) -> Option<u64> {
        self.words
            .iter()
            .filter(|(k, _)| matches!(k, TokenKind::Range(..)))
            .nth(n)
            .and_then(|(_, w)| w.parse().ok())
    }

    /// The text of the `LINE` argument.
    pub fn line(&self) -> Option<&str> {
        self.words
            .iter()
            .find(|(k, _)| *k == TokenKind::Line)
            .map(|(_, w)| w.as_str())
    }

    /// The neighbor named after the `neighbor` keyword: an address, or a peer-group name.
    pub fn peer(&self) -> Option<PeerRef> {
        let pos = self
            .words
            .iter()
            .position(|(k, _)| *k == TokenKind::Keyword("neighbor"))?;
        let (kind, word) = self.words.get(pos + 1)?;
        match kind {
            TokenKind::Ipv4 | TokenKind::Ipv6 => word.parse().ok().map(PeerRef::Address),
            TokenKind::Word(_) => Some(PeerRef::Group(word.clone())),
            _ => None,
        }
    }
}

fn is_keyword(kind: &TokenKind, word: &str) -> bool {
    matches!(kind, TokenKind::Keyword(k) if *k == word)
}

/// Why a line was refused, in FRR's words (vtysh prints the whole line after the colon).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CliError {
    /// No command matches a word of the line.
    #[error("% Unknown command: {0}")]
    Unknown(String),
    /// The line stops before a command is complete.
    #[error("% Command incomplete: {0}")]
    Incomplete(String),
    /// A word matches several tokens equally well.
    #[error("% Ambiguous command: {0}")]
    Ambiguous(String),
    /// The text after `|` is not `include REGEX` / `exclude REGEX`.
    #[error("% Unknown output filter: {0}")]
    Filter(String),
    /// The regular expression of an output filter does not compile.
    #[error("% Invalid regular expression: {0}")]
    Regex(String),
}

/// How the walk over the tree failed, before the line is attached.
enum WalkError {
    Unknown,
    Incomplete,
    Ambiguous,
}

/// Where a walk over complete words ended.
struct WalkEnd<'t> {
    /// The last node matched (None when no word was consumed).
    node: Option<&'t Node>,
    /// The nodes that may come next.
    children: &'t [Node],
    /// The words matched.
    args: Args,
}

/// The command trees of all modes.
pub struct Tree {
    enable: Vec<Node>,
    config: Vec<Node>,
    router: Vec<Node>,
    router_af: Vec<Node>,
    bfd: Vec<Node>,
    bfd_profile: Vec<Node>,
}

/// The root nodes of each mode, to assemble a [`Tree`].
#[derive(Debug, Clone, Default)]
pub struct Roots {
    /// Privileged exec mode.
    pub enable: Vec<Node>,
    /// Global configuration.
    pub config: Vec<Node>,
    /// `router bgp`.
    pub router: Vec<Node>,
    /// `address-family` inside `router bgp`.
    pub router_af: Vec<Node>,
    /// `bfd`.
    pub bfd: Vec<Node>,
    /// `profile NAME` inside `bfd`.
    pub bfd_profile: Vec<Node>,
}

/// Values known to the running router that `?` help lists under some tokens.
#[derive(Debug, Clone, Default)]
pub struct HelpContext {
    /// Configured neighbor addresses.
    pub neighbors: Vec<IpAddr>,
}

/// One line of `?` help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpItem {
    /// The token as shown (`summary`, `A.B.C.D`, `<cr>`).
    pub token: String,
    /// Its help string.
    pub help: String,
    /// Known values listed under it (may be empty).
    pub values: Vec<String>,
}

impl Tree {
    /// Assembles a tree from each mode's root nodes.
    pub fn new(roots: Roots) -> Tree {
        let Roots {
            enable,
            config,
            router,
            router_af,
            bfd,
            bfd_profile,
        } = roots;
        Tree {
            enable,
            config,
            router,
            router_af,
            bfd,
            bfd_profile,
        }
    }

    /// The root nodes of `mode`.
    pub fn roots(&self, mode: Mode) -> &[Node] {
        match mode {
            Mode::Enable => &self.enable,
            Mode::Config => &self.config,
            Mode::ConfigRouter => &self.router,
            Mode::ConfigRouterAf(_) => &self.router_af,
            Mode::ConfigBfd => &self.bfd,
            Mode::ConfigBfdProfile(_) => &self.bfd_profile,
        }
    }

    /// Parses `line` typed in `mode`. Like FRR, a configuration command unknown in a nested
    /// mode is tried in the parent modes; the returned mode is where it matched (the CLI
    /// moves there). Blank lines and `!` comments give `Ok(None)`.
    pub fn parse(&self, mode: Mode, line: &str) -> Result<Option<(Command, Mode)>, CliError> {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty()
            || words
                .first()
                .is_some_and(|w| w.starts_with('!') || w.starts_with('#'))
        {
            return Ok(None);
        }
        let first_error = match self.parse_in(mode, &words) {
            Ok(cmd) => return Ok(Some((cmd, mode))),
            Err(e) => e,
        };
        if matches!(first_error, WalkError::Unknown) {
            let mut parent = mode.parent();
            while let Some(m) = parent {
                if m == Mode::Enable {
                    break;
                }
                if let Ok(cmd) = self.parse_in(m, &words) {
                    return Ok(Some((cmd, m)));
                }
                parent = m.parent();
            }
        }
        let line = words.join(" ");
        Err(match first_error {
            WalkError::Unknown => CliError::Unknown(line),
            WalkError::Incomplete => CliError::Incomplete(line),
            WalkError::Ambiguous => CliError::Ambiguous(line),
        })
    }

    fn parse_in(&self, mode: Mode, words: &[&str]) -> Result<Command, WalkError> {
        let end = self.walk(mode, words)?;
        let node = end.node.ok_or(WalkError::Incomplete)?;
        let build = node.build.ok_or(WalkError::Incomplete)?;
        build(&end.args).ok_or(WalkError::Unknown)
    }

    /// Walks `words` (all complete) from the root of `mode`.
    fn walk(&self, mode: Mode, words: &[&str]) -> Result<WalkEnd<'_>, WalkError> {
        let mut children = self.roots(mode);
        let mut node: Option<&Node> = None;
        let mut args = Args::default();
        let mut i = 0;
        while let Some(word) = words.get(i) {
            let chosen = best_match(children, word)?;
            if chosen.kind == TokenKind::Line {
                let rest = words.get(i..).unwrap_or_default().join(" ");
                args.words.push((chosen.kind, rest));
                return Ok(WalkEnd {
                    node: Some(chosen),
                    children: &[],
                    args,
                });
            }
            args.words.push((chosen.kind, (*word).to_string()));
            node = Some(chosen);
            children = match chosen.redirect {
                Some(m) => self.roots(m),
                None => &chosen.children,
            };
            i += 1;
        }
        Ok(WalkEnd {
            node,
            children,
            args,
        })
    }

    /// The `?` help for the text typed so far: the tokens that may come next (or that the
    /// partial last word may become), with `<cr>` when the line is already a command.
    pub fn help(
        &self,
        mode: Mode,
        line: &str,
        ctx: &HelpContext,
    ) -> Result<Vec<HelpItem>, CliError> {
        let (complete, partial) = split_partial(line);
        let end = self.walk(mode, &complete).map_err(|e| {
            let line = complete.join(" ");
            match e {
                WalkError::Ambiguous => CliError::Ambiguous(line),
                _ => CliError::Unknown(line),
            }
        })?;
        let mut items = Vec::new();
        if let Some(node) = end.node
            && node.kind == TokenKind::Line
        {
            items.push(item(node, ctx));
            items.push(cr());
            return Ok(items);
        }
        for child in end.children.iter().filter(|c| !c.hidden) {
            let fits = partial.is_empty() || child.kind.matches(partial) >= MatchLevel::Incomplete;
            if fits {
                items.push(item(child, ctx));
            }
        }
        if partial.is_empty() && end.node.is_some_and(|n| n.build.is_some()) {
            items.push(cr());
        }
        if items.is_empty() {
            return Err(CliError::Unknown(line.trim().to_string()));
        }
        items.sort_by(|a, b| a.token.cmp(&b.token));
        items.dedup_by(|a, b| a.token == b.token);
        Ok(items)
    }

    /// TAB completion: the keywords the partial last word of `line` may become.
    pub fn complete(&self, mode: Mode, line: &str) -> Vec<String> {
        let (complete, partial) = split_partial(line);
        let Ok(end) = self.walk(mode, &complete) else {
            return Vec::new();
        };
        let mut out: Vec<String> = end
            .children
            .iter()
            .filter(|c| !c.hidden)
            .filter_map(|c| match c.kind {
                TokenKind::Keyword(k) if k.starts_with(partial) => Some(k.to_string()),
                _ => None,
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// Splits a line being typed into its complete words and the (possibly empty) word under
/// the cursor.
fn split_partial(line: &str) -> (Vec<&str>, &str) {
    let mut words: Vec<&str> = line.split_whitespace().collect();
    let ends_in_space = line.is_empty() || line.ends_with(char::is_whitespace);
    let partial = if ends_in_space {
        ""
    } else {
        words.pop().unwrap_or("")
    };
    (words, partial)
}

/// Picks the child that `word` matches best; ties at the best level are ambiguous.
fn best_match<'t>(children: &'t [Node], word: &str) -> Result<&'t Node, WalkError> {
    let mut best = MatchLevel::None;
    let mut chosen: Vec<&Node> = Vec::new();
    for child in children {
        let level = child.kind.matches(word);
        if level > best {
            best = level;
            chosen.clear();
            chosen.push(child);
        } else if level == best && level > MatchLevel::None {
            chosen.push(child);
        }
    }
    if best <= MatchLevel::Incomplete {
        return Err(WalkError::Unknown);
    }
    match chosen.as_slice() {
        [one] => Ok(one),
        _ => Err(WalkError::Ambiguous),
    }
}

fn item(node: &Node, ctx: &HelpContext) -> HelpItem {
    let values = match node.values {
        Some(ValueSource::NeighborsV4) => ctx
            .neighbors
            .iter()
            .filter(|a| a.is_ipv4())
            .map(|a| a.to_string())
            .collect(),
        Some(ValueSource::NeighborsV6) => ctx
            .neighbors
            .iter()
            .filter(|a| a.is_ipv6())
            .map(|a| a.to_string())
            .collect(),
        None => Vec::new(),
    };
    HelpItem {
        token: node.kind.display(),
        help: node.help.to_string(),
        values,
    }
}

fn cr() -> HelpItem {
    HelpItem {
        token: "<cr>".to_string(),
        help: String::new(),
        values: Vec::new(),
    }
}

/// Lays out help items the way vtysh does: two spaces, the token padded to the longest
/// one, two spaces, the help; known values on an extra line indented by five spaces.
pub fn format_help(items: &[HelpItem]) -> String {
    let width = items.iter().map(|i| i.token.len()).max().unwrap_or(0);
    let mut out = String::new();
    for i in items {
        out.push_str(&format!("  {:<width$}  {}\n", i.token, i.help));
        if !i.values.is_empty() {
            out.push_str("     ");
            for v in &i.values {
                out.push_str(v);
                out.push(' ');
            }
            out.push('\n');
        }
    }
    out
}
