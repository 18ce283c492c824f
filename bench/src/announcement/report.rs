//! Medians of the runs and the Markdown table: one row per speaker with the median times of
//! the four phases (and when the apiserver had taken the last write of the Services'
//! phases), the peak RSS of the larger of the two speakers, the CPU per speaker, the
//! UPDATEs the router received per speaker, session resets, and the ratio of ferrolb's
//! speaker against each row of the same invocation (below 1: ours is faster or smaller).

use std::fmt::Write as _;

use super::contender::Contender;
use super::run::{Measurement, Phase};
use crate::ingest::report::{cell, median, ratio};

const MIB: f64 = 1024.0 * 1024.0;

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

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn max(values: impl Iterator<Item = u64>) -> Option<f64> {
    values.max().map(|v| v as f64)
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

    /// Median seconds until every Service was announced by both speakers.
    pub fn announce(&self) -> Option<f64> {
        self.med(|m| Some(m.announce.seconds))
    }

    /// Median seconds until the last create (or status, or EndpointSlice) write returned.
    pub fn writes(&self) -> Option<f64> {
        self.med(|m| Some(m.announce.writes_seconds))
    }

    /// Median seconds from the BGPAdvertisement's delete until nothing was announced.
    pub fn config_off(&self) -> Option<f64> {
        self.med(|m| m.config_off.as_ref().map(|p| p.seconds))
    }

    /// Median seconds from its create until everything was announced again.
    pub fn config_on(&self) -> Option<f64> {
        self.med(|m| m.config_on.as_ref().map(|p| p.seconds))
    }

    /// Median seconds until every Service was withdrawn by both speakers.
    pub fn withdraw(&self) -> Option<f64> {
        self.med(|m| Some(m.withdraw.seconds))
    }

    /// Median seconds until the last delete returned.
    pub fn deletes(&self) -> Option<f64> {
        self.med(|m| Some(m.withdraw.writes_seconds))
    }

    /// Median of the larger speaker's peak RSS, MiB.
    pub fn peak_rss_mib(&self) -> Option<f64> {
        self.med(|m| max(m.peak_rss.iter().copied()).map(|b| b / MIB))
    }

    /// Median of the larger speaker's RSS when the clock started, MiB.
    pub fn start_rss_mib(&self) -> Option<f64> {
        self.med(|m| max(m.start_rss.iter().copied()).map(|b| b / MIB))
    }

    /// Median CPU seconds per speaker over all four phases.
    pub fn cpu(&self) -> Option<f64> {
        self.med(|m| {
            [
                Some(&m.announce),
                m.config_off.as_ref(),
                m.config_on.as_ref(),
                Some(&m.withdraw),
            ]
            .iter()
            .map(|p| mean(&(*p)?.cpu))
            .sum()
        })
    }

    /// Median UPDATEs per speaker over the four phases.
    pub fn updates(&self) -> Option<f64> {
        self.med(|m| mean(&m.updates.iter().map(|&u| u as f64).collect::<Vec<_>>()))
    }

    /// Median session resets per run (both speakers; none without speakers).
    pub fn resets(&self) -> Option<f64> {
        self.med(|m| (!m.updates.is_empty()).then_some(f64::from(m.resets)))
    }
}

/// A phase's seconds, `–` for a phase that did not run.
fn seconds(phase: Option<&Phase>) -> String {
    phase.map_or("–".to_owned(), |p| format!("{:.2}", p.seconds))
}

/// One run in a line, for the progress output.
pub fn progress(m: &Measurement) -> String {
    let mib: Vec<String> = m
        .peak_rss
        .iter()
        .map(|b| format!("{:.1}", *b as f64 / MIB))
        .collect();
    let phases = [
        Some(&m.announce),
        m.config_off.as_ref(),
        m.config_on.as_ref(),
        Some(&m.withdraw),
    ];
    let cpu: Vec<String> = phases
        .iter()
        .flatten()
        .map(|p| {
            let each: Vec<String> = p.cpu.iter().map(|c| format!("{c:.2}")).collect();
            each.join("+")
        })
        .collect();
    format!(
        "created → announced {} s (writes {:.2} s), advertisement off → withdrawn {} s, \
         on → announced {} s, deleted → withdrawn {} s (deletes {:.2} s); peak RSS {} MiB, \
         CPU {} s, UPDATEs {:?}, resets {}, load {:.1}",
        seconds(phases[0]),
        m.announce.writes_seconds,
        seconds(phases[1]),
        seconds(phases[2]),
        seconds(phases[3]),
        m.withdraw.writes_seconds,
        mib.join(" / "),
        cpu.join(", "),
        m.updates,
        m.resets,
        m.load,
    )
}

/// The Markdown table of all rows for `services` Services.
pub fn table(services: usize, rows: &[Row]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "### {services} LoadBalancer Services, 2 nodes (median of the runs)\n\n\
         | speaker | Services created → all announced (s) | writes done (s) | \
         BGPAdvertisement deleted → all withdrawn (s) | re-created → all announced (s) | \
         Services deleted → all withdrawn (s) | deletes done (s) | \
         peak RSS per speaker (MiB) | RSS at start (MiB) | CPU per speaker (s) | \
         UPDATEs per speaker | session resets | \
         ours ÷ this: create | adv. off | adv. on | delete | RSS | CPU | \
         runs: create / off / on / delete (s) | load (1 min) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
    );
    let ours = rows.iter().find(|r| r.contender == Contender::Ours);
    let versus = |f: fn(&Row) -> Option<f64>, row: &Row| ratio(ours.and_then(f), f(row));
    for row in rows {
        let runs: Vec<String> = row
            .runs
            .iter()
            .map(|m| {
                format!(
                    "{} / {} / {} / {}",
                    seconds(Some(&m.announce)),
                    seconds(m.config_off.as_ref()),
                    seconds(m.config_on.as_ref()),
                    seconds(Some(&m.withdraw)),
                )
            })
            .collect();
        let mut runs = runs.join(", ");
        if !row.failures.is_empty() {
            let _ = write!(runs, " ({} failed)", row.failures.len());
        }
        let loads: Vec<String> = row.runs.iter().map(|m| format!("{:.1}", m.load)).collect();
        let cells = [
            row.contender.title().to_owned(),
            cell(row.announce(), 2),
            cell(row.writes(), 2),
            cell(row.config_off(), 2),
            cell(row.config_on(), 2),
            cell(row.withdraw(), 2),
            cell(row.deletes(), 2),
            cell(row.peak_rss_mib(), 1),
            cell(row.start_rss_mib(), 1),
            cell(row.cpu(), 2),
            cell(row.updates(), 0),
            cell(row.resets(), 0),
            versus(Row::announce, row),
            versus(Row::config_off, row),
            versus(Row::config_on, row),
            versus(Row::withdraw, row),
            versus(Row::peak_rss_mib, row),
            versus(Row::cpu, row),
            runs,
            loads.join(" / "),
        ];
        let _ = writeln!(s, "| {} |", cells.join(" | "));
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

    fn run(announce: f64, withdraw: f64, rss_mib: u64, cpu: f64) -> Measurement {
        let phase = |seconds: f64| Phase {
            seconds,
            writes_seconds: seconds / 2.0,
            cpu: vec![cpu / 2.0, cpu / 2.0],
        };
        Measurement {
            announce: phase(announce),
            config_off: Some(phase(withdraw / 2.0)),
            config_on: Some(phase(announce / 2.0)),
            withdraw: phase(withdraw),
            start_rss: vec![rss_mib << 19, rss_mib << 19],
            peak_rss: vec![rss_mib << 20, (rss_mib << 20) / 2],
            updates: vec![10, 30],
            resets: 0,
            load: 1.0,
        }
    }

    #[test]
    fn rss_is_the_larger_speaker_and_cpu_the_mean_summed_over_the_phases() {
        let mut row = Row::new(Contender::Ours);
        row.runs = vec![run(2.0, 1.0, 20, 4.0)];
        assert_eq!(row.peak_rss_mib(), Some(20.0));
        assert_eq!(row.start_rss_mib(), Some(10.0));
        // 2 s per speaker in each of the four phases.
        assert_eq!(row.cpu(), Some(8.0));
        assert_eq!(row.updates(), Some(20.0));
    }

    #[test]
    fn the_ceiling_row_has_no_speaker_figures() {
        let mut row = Row::new(Contender::Apiserver);
        let mut m = run(3.0, 1.0, 0, 0.0);
        m.config_off = None;
        m.config_on = None;
        m.announce.cpu.clear();
        m.withdraw.cpu.clear();
        m.peak_rss.clear();
        m.start_rss.clear();
        m.updates.clear();
        row.runs = vec![m];
        assert_eq!(row.announce(), Some(3.0));
        assert_eq!(
            (
                row.config_off(),
                row.peak_rss_mib(),
                row.cpu(),
                row.resets()
            ),
            (None, None, None, None)
        );
        let text = table(1000, &[row]);
        assert!(text.contains("3.00 / – / – / 1.00"), "{text}");
    }

    #[test]
    fn table_shows_ours_against_metallb_as_ratios() {
        let mut ours = Row::new(Contender::Ours);
        ours.runs = vec![run(1.0, 2.0, 10, 1.0)];
        let mut metallb = Row::new(Contender::Metallb);
        metallb.runs = vec![run(4.0, 8.0, 40, 4.0)];
        let text = table(1000, &[ours, metallb]);
        let line = text
            .lines()
            .find(|l| l.starts_with("| MetalLB"))
            .unwrap_or_default();
        // The four times, RSS and CPU: ours is a quarter of MetalLB on each.
        assert!(
            line.contains("| 0.25 | 0.25 | 0.25 | 0.25 | 0.25 | 0.25 |"),
            "{line}"
        );
        assert!(line.contains("4.00 / 4.00 / 2.00 / 8.00"), "{line}");
    }
}
