//! Medians of the runs and the Markdown table: one row per contender with the median time
//! until every address was in, the allocation rate it means, the controller's peak RSS and
//! CPU, and the ratio of ferrolb's controller (the IPAddressPool row) against each row
//! measured in the same invocation (below 1 means ours is faster or smaller).

use std::fmt::Write as _;

use super::contender::Contender;
use super::run::Measurement;
use crate::ingest::report::{cell, median, ratio};

/// The runs of one contender.
#[derive(Debug, Clone)]
pub struct Row {
    /// The contender.
    pub contender: Contender,
    /// Its successful runs.
    pub runs: Vec<Measurement>,
    /// Why runs failed, if any did.
    pub failures: Vec<String>,
}

impl Row {
    /// A row without runs yet.
    pub fn new(contender: Contender) -> Row {
        Row {
            contender,
            runs: Vec::new(),
            failures: Vec::new(),
        }
    }

    fn med(&self, f: impl Fn(&Measurement) -> Option<f64>) -> Option<f64> {
        median(&self.runs.iter().filter_map(f).collect::<Vec<_>>())
    }

    /// Median seconds until every address was in.
    pub fn seconds(&self) -> Option<f64> {
        self.med(|m| Some(m.seconds))
    }

    /// Median allocations (for the apiserver alone: Services seen) per second.
    pub fn rate(&self, services: usize) -> Option<f64> {
        self.med(|m| (m.seconds > 0.0).then(|| services as f64 / m.seconds))
    }

    /// Median seconds until the last create returned.
    pub fn create_seconds(&self) -> Option<f64> {
        self.med(|m| Some(m.create_seconds))
    }

    /// Median peak RSS of the controller, MiB.
    pub fn rss_mib(&self) -> Option<f64> {
        self.med(|m| m.peak_rss.map(|b| b as f64 / (1024.0 * 1024.0)))
    }

    /// Median CPU seconds of the controller.
    pub fn cpu(&self) -> Option<f64> {
        self.med(|m| m.cpu_seconds)
    }

    /// Median CPU seconds of kube-apiserver and etcd.
    pub fn control_plane_cpu(&self) -> Option<f64> {
        self.med(|m| Some(m.control_plane_cpu))
    }

    /// Median CPU seconds of the benchmark's own client.
    pub fn client_cpu(&self) -> Option<f64> {
        self.med(|m| Some(m.client_cpu))
    }
}

/// The Markdown table of all rows for `services` Services.
pub fn table(services: usize, rows: &[Row]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "### {services} LoadBalancer Services (median of the runs)\n\n\
         | contender | all addresses in (s) | allocations/s | creates done (s) | \
         peak RSS (MiB) | CPU (s) | apiserver+etcd CPU (s) | bench client CPU (s) | \
         ours ÷ this: time | RSS | CPU | runs (s) | load (1 min) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
    );
    let ours = rows.iter().find(|r| r.contender == Contender::Ours);
    for row in rows {
        let runs: Vec<String> = row
            .runs
            .iter()
            .map(|m| format!("{:.2}", m.seconds))
            .collect();
        let mut runs = runs.join(" / ");
        if !row.failures.is_empty() {
            let _ = write!(runs, " ({} failed)", row.failures.len());
        }
        let loads: Vec<String> = row.runs.iter().map(|m| format!("{:.1}", m.load)).collect();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.contender.title(),
            cell(row.seconds(), 2),
            cell(row.rate(services), 0),
            cell(row.create_seconds(), 2),
            cell(row.rss_mib(), 1),
            cell(row.cpu(), 2),
            cell(row.control_plane_cpu(), 1),
            cell(row.client_cpu(), 1),
            ratio(ours.and_then(Row::seconds), row.seconds()),
            ratio(ours.and_then(Row::rss_mib), row.rss_mib()),
            ratio(ours.and_then(Row::cpu), row.cpu()),
            runs,
            loads.join(" / "),
        );
    }
    for row in rows {
        for failure in &row.failures {
            let _ = writeln!(
                s,
                "\n- {} failed: {}",
                row.contender.key(),
                failure.replace('\n', " ")
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seconds: f64, rss_mib: u64, cpu: f64) -> Measurement {
        Measurement {
            seconds,
            create_seconds: seconds / 2.0,
            peak_rss: Some(rss_mib * 1024 * 1024),
            cpu_seconds: Some(cpu),
            control_plane_cpu: 1.0,
            client_cpu: 0.5,
            load: 1.0,
        }
    }

    #[test]
    fn rate_is_the_median_of_the_per_run_rates() {
        let mut row = Row::new(Contender::Ours);
        row.runs = vec![run(10.0, 20, 1.0), run(5.0, 20, 1.0), run(20.0, 20, 1.0)];
        assert_eq!(row.rate(1000), Some(100.0));
        assert_eq!(row.seconds(), Some(10.0));
    }

    #[test]
    fn table_shows_ours_against_metallb_as_ratios() {
        let mut ours = Row::new(Contender::Ours);
        ours.runs = vec![run(10.0, 20, 2.0)];
        let mut metallb = Row::new(Contender::Metallb);
        metallb.runs = vec![run(40.0, 80, 8.0)];
        let text = table(1000, &[ours, metallb]);
        let line = text
            .lines()
            .find(|l| l.starts_with("| MetalLB"))
            .unwrap_or_default();
        // time, RSS and CPU ratios: ours is a quarter of MetalLB on each.
        assert!(line.contains("| 0.25 | 0.25 | 0.25 |"), "{line}");
        assert!(line.contains("| 25 |"), "allocations/s: {line}");
    }

    #[test]
    fn the_ceiling_row_has_no_controller_figures() {
        let mut row = Row::new(Contender::Apiserver);
        let mut m = run(4.0, 0, 0.0);
        m.peak_rss = None;
        m.cpu_seconds = None;
        row.runs = vec![m];
        assert_eq!(row.rss_mib(), None);
        assert_eq!(row.cpu(), None);
        assert_eq!(row.rate(1000), Some(250.0));
    }
}
