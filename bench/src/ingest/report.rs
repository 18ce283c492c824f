//! Medians of the runs and the Markdown tables: one row per receiver with the median time,
//! peak RSS and CPU seconds, and the ratio of ours (the engine's receiver, else mini-router)
//! against that receiver measured in the same invocation (below 1 means ours is faster or
//! smaller).

use std::fmt::Write as _;

use super::receivers::Kind;

/// One run against one receiver.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    /// Seconds from Established until the receiver held all prefixes (in its RIB, or in the
    /// kernel for the kernel variant).
    pub seconds: f64,
    /// Seconds until its RIB held them (equal to `seconds` for the RIB-only variant).
    pub rib_seconds: f64,
    /// Peak resident set of the receiver's processes, bytes.
    pub peak_rss: u64,
    /// CPU seconds (user + system) its processes used from Established until done.
    pub cpu_seconds: f64,
}

/// The runs of one receiver.
#[derive(Debug, Clone)]
pub struct Row {
    /// The receiver.
    pub kind: Kind,
    /// Its successful runs.
    pub runs: Vec<Measurement>,
    /// Why runs failed, if any did.
    pub failures: Vec<String>,
}

/// The median of a list (the mean of the middle two for an even length); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v.get(mid).copied()
    } else {
        Some((v.get(mid - 1)? + v.get(mid)?) / 2.0)
    }
}

impl Row {
    fn med(&self, f: impl Fn(&Measurement) -> f64) -> Option<f64> {
        median(&self.runs.iter().map(f).collect::<Vec<_>>())
    }

    /// Median seconds.
    pub fn seconds(&self) -> Option<f64> {
        self.med(|m| m.seconds)
    }

    /// Median RIB seconds.
    pub fn rib_seconds(&self) -> Option<f64> {
        self.med(|m| m.rib_seconds)
    }

    /// Median peak RSS in MiB.
    pub fn rss_mib(&self) -> Option<f64> {
        self.med(|m| m.peak_rss as f64 / (1024.0 * 1024.0))
    }

    /// Median CPU seconds.
    pub fn cpu(&self) -> Option<f64> {
        self.med(|m| m.cpu_seconds)
    }
}

/// A table cell: the value with `decimals` decimals, `–` when there is none.
pub fn cell(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "–".to_string(), |v| format!("{v:.decimals$}"))
}

/// A ratio cell: `ours ÷ theirs` with two decimals, `–` when either is missing or zero.
pub fn ratio(ours: Option<f64>, theirs: Option<f64>) -> String {
    match (ours, theirs) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "–".to_string(),
    }
}

/// The Markdown table of one variant.
pub fn table(title: &str, prefixes: u64, rows: &[Row], kernel: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "### {title} ({prefixes} prefixes, median of the runs)\n");
    let time_head = if kernel {
        "time to kernel (s)"
    } else {
        "time to RIB (s)"
    };
    let _ = write!(s, "| receiver | {time_head} |");
    if kernel {
        s.push_str(" time to RIB (s) |");
    }
    s.push_str(
        " peak RSS (MiB) | CPU (s) | ours ÷ this: time | RSS | CPU | runs (s) |\n|---|---:|",
    );
    if kernel {
        s.push_str("---:|");
    }
    s.push_str("---:|---:|---:|---:|---:|---|\n");
    // Ours is the engine's receiver, or mini-router where the engine has no row (the
    // kernel-install table).
    let ours = rows
        .iter()
        .find(|r| r.kind == Kind::Ours)
        .or_else(|| rows.iter().find(|r| r.kind == Kind::MiniRouter));
    for row in rows {
        let runs: Vec<String> = row
            .runs
            .iter()
            .map(|m| format!("{:.3}", m.seconds))
            .collect();
        let mut runs = runs.join(" / ");
        if !row.failures.is_empty() {
            let _ = write!(runs, " ({} failed)", row.failures.len());
        }
        let _ = write!(s, "| {} | {} |", row.kind.name(), cell(row.seconds(), 3));
        if kernel {
            let _ = write!(s, " {} |", cell(row.rib_seconds(), 3));
        }
        let _ = writeln!(
            s,
            " {} | {} | {} | {} | {} | {} |",
            cell(row.rss_mib(), 1),
            cell(row.cpu(), 2),
            ratio(ours.and_then(Row::seconds), row.seconds()),
            ratio(ours.and_then(Row::rss_mib), row.rss_mib()),
            ratio(ours.and_then(Row::cpu), row.cpu()),
            runs
        );
    }
    for row in rows {
        for failure in &row.failures {
            let _ = writeln!(
                s,
                "\n- {} failed: {}",
                row.kind.name(),
                failure.replace('\n', " ")
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_three_is_the_middle_value() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
    }

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn median_of_nothing_is_none() {
        assert_eq!(median(&[]), None);
    }
}
