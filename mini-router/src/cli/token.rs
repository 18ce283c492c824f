//! The kinds of words a command tree node accepts (keywords and typed arguments, as FRR's
//! `A.B.C.D`, `(1-4294967295)`, `WORD`, `LINE`), how a typed word matches each kind and how
//! each kind is shown in `?` help.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

/// What one node of the command tree accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A fixed word; unique prefixes of it are accepted (`sh` for `show`).
    Keyword(&'static str),
    /// An IPv4 address, shown as `A.B.C.D`.
    Ipv4,
    /// An IPv4 prefix, shown as `A.B.C.D/M`.
    Ipv4Prefix,
    /// An IPv6 address, shown as `X:X::X:X`.
    Ipv6,
    /// An IPv6 prefix, shown as `X:X::X:X/M`.
    Ipv6Prefix,
    /// A decimal number within an inclusive range, shown as `(MIN-MAX)`.
    Range(u64, u64),
    /// Any single word, shown as `WORD` (or a custom name such as `PGNAME`).
    Word(&'static str),
    /// The rest of the line, however many words, shown as `LINE`.
    Line,
}

/// How well one typed word matches a token. Higher is better; the parser picks the children
/// with the best level and reports an ambiguity when several share it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MatchLevel {
    /// The word cannot be this token.
    None,
    /// The word could still become this token if typed further (`10.1` for `A.B.C.D`):
    /// enough for `?` help, not for running a command.
    Incomplete,
    /// A free-form argument (`WORD`, `LINE`) accepts the word.
    Free,
    /// The word is a strict prefix of a keyword.
    Partial,
    /// The word is a well-formed value of a typed argument (address, prefix, number).
    Typed,
    /// The word is exactly the keyword.
    Exact,
}

impl TokenKind {
    /// The text shown for this token in `?` help (`show`, `A.B.C.D`, `(1-255)`, `WORD`).
    pub fn display(&self) -> String {
        match self {
            TokenKind::Keyword(k) => (*k).to_string(),
            TokenKind::Ipv4 => "A.B.C.D".to_string(),
            TokenKind::Ipv4Prefix => "A.B.C.D/M".to_string(),
            TokenKind::Ipv6 => "X:X::X:X".to_string(),
            TokenKind::Ipv6Prefix => "X:X::X:X/M".to_string(),
            TokenKind::Range(lo, hi) => format!("({lo}-{hi})"),
            TokenKind::Word(name) => (*name).to_string(),
            TokenKind::Line => "LINE".to_string(),
        }
    }

    /// Whether this token is a fixed keyword.
    pub fn is_keyword(&self) -> bool {
        matches!(self, TokenKind::Keyword(_))
    }

    /// How well `word` (non-empty, no spaces) matches this token.
    pub fn matches(&self, word: &str) -> MatchLevel {
        match self {
            TokenKind::Keyword(k) => {
                if *k == word {
                    MatchLevel::Exact
                } else if k.starts_with(word) {
                    MatchLevel::Partial
                } else {
                    MatchLevel::None
                }
            }
            TokenKind::Ipv4 => typed(
                word.parse::<Ipv4Addr>().is_ok(),
                word.chars().all(|c| c.is_ascii_digit() || c == '.'),
            ),
            TokenKind::Ipv4Prefix => typed(
                word.contains('/') && word.parse::<Ipv4Net>().is_ok(),
                word.chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == '/'),
            ),
            TokenKind::Ipv6 => typed(
                word.parse::<Ipv6Addr>().is_ok(),
                word.chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.'),
            ),
            TokenKind::Ipv6Prefix => typed(
                word.contains('/') && word.parse::<Ipv6Net>().is_ok(),
                word.chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.' || c == '/'),
            ),
            TokenKind::Range(lo, hi) => {
                if !word.chars().all(|c| c.is_ascii_digit()) {
                    return MatchLevel::None;
                }
                match word.parse::<u64>() {
                    Ok(n) if n >= *lo && n <= *hi => MatchLevel::Typed,
                    _ => MatchLevel::None,
                }
            }
            TokenKind::Word(_) | TokenKind::Line => MatchLevel::Free,
        }
    }
}

/// The level of a typed argument: well-formed, or still made only of characters it allows.
fn typed(valid: bool, could_become: bool) -> MatchLevel {
    if valid {
        MatchLevel::Typed
    } else if could_become {
        MatchLevel::Incomplete
    } else {
        MatchLevel::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_prefix_is_partial_and_whole_word_exact() {
        let k = TokenKind::Keyword("summary");
        assert_eq!(k.matches("su"), MatchLevel::Partial);
        assert_eq!(k.matches("summary"), MatchLevel::Exact);
        assert_eq!(k.matches("summaryx"), MatchLevel::None);
    }

    #[test]
    fn typed_arguments_accept_only_well_formed_values() {
        assert_eq!(TokenKind::Ipv4.matches("10.192.0.3"), MatchLevel::Typed);
        assert_eq!(TokenKind::Ipv4.matches("10.192"), MatchLevel::Incomplete);
        assert_eq!(TokenKind::Ipv4.matches("peer"), MatchLevel::None);
        assert_eq!(
            TokenKind::Ipv4Prefix.matches("10.0.0.0/8"),
            MatchLevel::Typed
        );
        assert_eq!(
            TokenKind::Ipv4Prefix.matches("10.0.0.0"),
            MatchLevel::Incomplete
        );
        assert_eq!(TokenKind::Ipv6.matches("2001:db8::1"), MatchLevel::Typed);
        assert_eq!(
            TokenKind::Ipv6Prefix.matches("2001:db8::/32"),
            MatchLevel::Typed
        );
        assert_eq!(TokenKind::Range(1, 255).matches("255"), MatchLevel::Typed);
        assert_eq!(TokenKind::Range(1, 255).matches("256"), MatchLevel::None);
        assert_eq!(TokenKind::Range(1, 255).matches("0"), MatchLevel::None);
        assert_eq!(
            TokenKind::Word("WORD").matches("anything"),
            MatchLevel::Free
        );
    }

    #[test]
    fn help_names_follow_frr() {
        assert_eq!(TokenKind::Range(1, 4294967295).display(), "(1-4294967295)");
        assert_eq!(TokenKind::Ipv6Prefix.display(), "X:X::X:X/M");
        assert_eq!(TokenKind::Word("PGNAME").display(), "PGNAME");
    }
}
