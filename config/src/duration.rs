//! Go's duration syntax (`time.ParseDuration`), which MetalLB's `metav1.Duration` fields and
//! the legacy `hold-time` use: an optional sign, then numbers with units (`90s`, `1m30s`,
//! `1.5h`, `300ms`), or a plain `0`.

use std::time::Duration;

/// A duration as Go reads it: nanoseconds, possibly negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct GoDuration(pub(crate) i128);

impl GoDuration {
    /// Whole seconds, truncated toward zero, as MetalLB rounds hold times.
    pub(crate) fn whole_seconds(self) -> i128 {
        self.0 / 1_000_000_000
    }

    /// The duration, if not negative.
    pub(crate) fn to_std(self) -> Option<Duration> {
        u64::try_from(self.0).ok().map(Duration::from_nanos)
    }

    /// A third of the duration, as MetalLB derives a keepalive from a hold time.
    pub(crate) fn third(self) -> Self {
        GoDuration(self.0 / 3)
    }

    /// Three times the duration, as MetalLB derives a hold time from a keepalive.
    pub(crate) fn times_three(self) -> Self {
        GoDuration(self.0.saturating_mul(3))
    }
}

/// Parses `text` as Go's `time.ParseDuration` does, within Go's range (about 292 years).
pub(crate) fn parse(text: &str) -> Option<GoDuration> {
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(GoDuration(0));
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(digits);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let nanos_per_unit: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        total = total.checked_add(scaled(number, nanos_per_unit)?)?;
        rest = after;
    }
    if total > i128::from(i64::MAX) {
        return None;
    }
    Some(GoDuration(if negative { -total } else { total }))
}

/// `number` (digits with an optional fraction) times `unit` nanoseconds, truncated.
fn scaled(number: &str, unit: i128) -> Option<i128> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if fraction.contains('.') {
        return None;
    }
    let whole_value: i128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut value = whole_value.checked_mul(unit)?;
    let mut scale = unit;
    for digit in fraction.bytes() {
        scale /= 10;
        if scale == 0 {
            break;
        }
        value = value.checked_add(i128::from(digit - b'0') * scale)?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i128 = 1_000_000_000;

    #[test]
    fn go_durations_parse() {
        let cases: &[(&str, i128)] = &[
            ("0", 0),
            ("90s", 90 * S),
            ("1m30s", 90 * S),
            ("1.5h", 5400 * S),
            ("300ms", 300_000_000),
            ("2.5s", 2 * S + S / 2),
            (".5s", S / 2),
            ("1h2m3s4ms5us6ns", 3723 * S + 4_005_006),
            ("3µs", 3000),
            ("-5s", -5 * S),
            ("+5s", 5 * S),
        ];
        for (text, nanos) in cases {
            assert_eq!(parse(text), Some(GoDuration(*nanos)), "{text}");
        }
    }

    #[test]
    fn what_go_refuses_does_not_parse() {
        for text in [
            "",
            "90",
            "s",
            "1d",
            "1.2.3s",
            "ten seconds",
            "-",
            "1s 2s",
            "3000000h",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn whole_seconds_truncate_toward_zero() {
        assert_eq!(parse("2.9s").map(GoDuration::whole_seconds), Some(2));
        assert_eq!(parse("0.5s").map(GoDuration::whole_seconds), Some(0));
        assert_eq!(parse("-2.9s").map(GoDuration::whole_seconds), Some(-2));
    }
}
