//! Time as FRR prints it: peer uptimes (`00:00:04`, `1d02h03m`, `02w3d04h`) and ctime-style
//! dates (`Wed Nov 25 20:26:18 2026`, UTC).

use std::time::Duration;

/// FRR's `peer_uptime` format: `HH:MM:SS` under a day, `DdHHhMMm` under a week, then
/// `WWwDdHHh`.
pub fn uptime(d: Duration) -> String {
    let s = d.as_secs();
    let (days, hours, mins, secs) = (s / 86400, (s / 3600) % 24, (s / 60) % 60, s % 60);
    if days == 0 {
        format!("{hours:02}:{mins:02}:{secs:02}")
    } else if days < 7 {
        format!("{days}d{hours:02}h{mins:02}m")
    } else {
        format!("{:02}w{}d{hours:02}h", days / 7, days % 7)
    }
}

/// `ctime(3)` without the newline, in UTC: `Wed Nov 25 20:26:18 2026`.
pub fn ctime(epoch: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = epoch / 86400;
    let secs = epoch % 86400;
    let (y, m, d) = civil_from_days(days);
    let weekday = DAYS.get((days % 7) as usize).copied().unwrap_or("???");
    let month = MONTHS
        .get(m.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("???");
    format!(
        "{weekday} {month} {d:>2} {:02}:{:02}:{:02} {y}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31) in the proleptic Gregorian
/// calendar (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_switches_format_at_a_day_and_a_week() {
        assert_eq!(uptime(Duration::from_secs(4)), "00:00:04");
        assert_eq!(
            uptime(Duration::from_secs(86400 + 2 * 3600 + 3 * 60)),
            "1d02h03m"
        );
        assert_eq!(
            uptime(Duration::from_secs(17 * 86400 + 4 * 3600)),
            "02w3d04h"
        );
    }

    #[test]
    fn ctime_matches_the_reference_capture() {
        // "lastUpdate":{"epoch":1795638378,"string":"Wed Nov 25 20:26:18 2026\n"}
        assert_eq!(ctime(1795638378), "Wed Nov 25 20:26:18 2026");
        assert_eq!(ctime(0), "Thu Jan  1 00:00:00 1970");
    }
}
