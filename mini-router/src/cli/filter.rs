//! Output filters after `|` (`show ip bgp | include 198.51`), as vtysh offers them: the
//! command's output is kept or dropped line by line by a regular expression.

use regex::Regex;

use super::tree::CliError;

/// What an output filter does with the lines its regular expression matches.
#[derive(Debug, Clone)]
pub enum OutputFilter {
    /// `| include REGEX`: keep only matching lines.
    Include(Regex),
    /// `| exclude REGEX`: drop matching lines.
    Exclude(Regex),
    /// `| begin REGEX`: drop lines before the first match.
    Begin(Regex),
}

impl PartialEq for OutputFilter {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (OutputFilter::Include(a), OutputFilter::Include(b))
            | (OutputFilter::Exclude(a), OutputFilter::Exclude(b))
            | (OutputFilter::Begin(a), OutputFilter::Begin(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

impl OutputFilter {
    /// Applies the filter to a command's whole output.
    pub fn apply(&self, output: &str) -> String {
        let mut out = String::new();
        let mut begun = false;
        for line in output.lines() {
            let keep = match self {
                OutputFilter::Include(r) => r.is_match(line),
                OutputFilter::Exclude(r) => !r.is_match(line),
                OutputFilter::Begin(r) => {
                    begun = begun || r.is_match(line);
                    begun
                }
            };
            if keep {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

/// Splits `line` at the first `|` into the command and its output filter.
pub fn split_filter(line: &str) -> Result<(&str, Option<OutputFilter>), CliError> {
    let Some((command, filter)) = line.split_once('|') else {
        return Ok((line, None));
    };
    let filter = filter.trim();
    let (action, pattern) = filter
        .split_once(char::is_whitespace)
        .unwrap_or((filter, ""));
    let pattern = pattern.trim();
    if pattern.is_empty() {
        return Err(CliError::Filter(filter.to_string()));
    }
    let regex = Regex::new(pattern).map_err(|e| CliError::Regex(format!("{pattern}: {e}")))?;
    let f = match action {
        a if !a.is_empty() && "include".starts_with(a) => OutputFilter::Include(regex),
        a if !a.is_empty() && "exclude".starts_with(a) => OutputFilter::Exclude(regex),
        a if !a.is_empty() && "begin".starts_with(a) => OutputFilter::Begin(regex),
        _ => return Err(CliError::Filter(filter.to_string())),
    };
    Ok((command, Some(f)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn include_keeps_only_matching_lines() {
        let (cmd, f) = split_filter("show ip bgp | include 198\\.51").unwrap();
        assert_eq!(cmd.trim(), "show ip bgp");
        assert_eq!(
            f.unwrap().apply("a\n*>i198.51.100.0/32\nb\n"),
            "*>i198.51.100.0/32\n"
        );
    }

    #[test]
    fn exclude_drops_matching_lines() {
        let (_, f) = split_filter("show x | exclude ^b").unwrap();
        assert_eq!(f.unwrap().apply("a\nb\nc\n"), "a\nc\n");
    }

    #[test]
    fn unknown_filter_and_bad_regex_are_refused() {
        assert_eq!(
            split_filter("show x | grep a").unwrap_err(),
            CliError::Filter("grep a".into())
        );
        assert!(matches!(
            split_filter("show x | include (").unwrap_err(),
            CliError::Regex(_)
        ));
        assert_eq!(
            split_filter("show x | include").unwrap_err(),
            CliError::Filter("include".into())
        );
    }
}
