//! Resource use of a receiver from `/proc`: peak and current resident set (`VmHWM`, `VmRSS`
//! in `/proc/PID/status`) and CPU time (`utime + stime`, fields 14 and 15 of `/proc/PID/stat`,
//! which cover every thread of the process).

use std::process::Command;
use std::sync::OnceLock;

use super::{Result, io_err, parse_err};

/// Peak RSS of a process in bytes (`VmHWM`).
pub fn peak_rss(pid: u32) -> Result<u64> {
    status_bytes(pid, "VmHWM")
}

/// Current RSS of a process in bytes (`VmRSS`).
pub fn rss(pid: u32) -> Result<u64> {
    status_bytes(pid, "VmRSS")
}

/// A `kB` field of `/proc/PID/status`, in bytes.
fn status_bytes(pid: u32, field: &str) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(io_err(format!("read {path}")))?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(field).and_then(|l| l.strip_prefix(':')))
        .ok_or_else(|| parse_err(field, &text))?;
    let kib: u64 = line
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .map_err(|_| parse_err(format!("{field} kB"), line))?;
    Ok(kib * 1024)
}

/// CPU seconds (user + system) a process has used so far.
pub fn cpu_seconds(pid: u32) -> Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).map_err(io_err(format!("read {path}")))?;
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    let rest = text
        .rfind(')')
        .and_then(|i| text.get(i + 1..))
        .ok_or_else(|| parse_err("stat fields", &text))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state), so utime (14) and stime (15) are at 11 and 12.
    let ticks = |i: usize| -> Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| parse_err("utime/stime", &text))
    };
    Ok((ticks(11)? + ticks(12)?) as f64 / clock_ticks() as f64)
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 when that fails).
fn clock_ticks() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .filter(|&t| t > 0)
            .unwrap_or(100)
    })
}

/// Peak RSS and CPU seconds summed over several processes (bgpd and zebra).
pub fn sample(pids: &[u32]) -> Result<(u64, f64)> {
    let mut rss = 0;
    let mut cpu = 0.0;
    for &pid in pids {
        rss += peak_rss(pid)?;
        cpu += cpu_seconds(pid)?;
    }
    Ok((rss, cpu))
}
