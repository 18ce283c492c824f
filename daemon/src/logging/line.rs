//! One log line in go-kit's JSON shape, from plain data: no tracing, no clock, no I/O.

use jiff::Timestamp;
use serde_json::Value;
use tracing::Level;

use super::fields::Fields;

/// go-kit's name for a level. go-kit has no trace level; trace events (shown with
/// `--log-level=all`) are printed as `debug`.
pub(crate) fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG | Level::TRACE => "debug",
    }
}

/// go-kit's `DefaultCaller`: the source file's base name and the line, `main.go:42`.
pub(crate) fn caller(file: &str, line: u32) -> String {
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    format!("{base}:{line}")
}

/// The time as MetalLB writes it: RFC 3339 in whole seconds (Go's `time.RFC3339`), in UTC as in
/// a container, e.g. `2026-12-04T18:00:00Z`.
pub(crate) fn timestamp(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The bytes of one line, newline included: `fields` plus `caller`, `level` and `ts`, keys
/// sorted. The three fixed keys win over fields of the same name.
pub(crate) fn render(
    mut fields: Fields,
    level: Level,
    caller_at: Option<(&str, u32)>,
    ts: Timestamp,
) -> Vec<u8> {
    if let Some((file, line)) = caller_at {
        fields.insert("caller".to_owned(), Value::String(caller(file, line)));
    }
    fields.insert(
        "level".to_owned(),
        Value::String(level_name(level).to_owned()),
    );
    fields.insert("ts".to_owned(), Value::String(timestamp(ts)));
    // Writing a map of strings to JSON values into a Vec cannot fail.
    let mut out = serde_json::to_vec(&fields).unwrap_or_default();
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> Timestamp {
        match Timestamp::from_second(second) {
            Ok(t) => t,
            Err(e) => panic!("test timestamp {second}: {e}"),
        }
    }

    #[test]
    fn timestamp_is_rfc3339_seconds_in_utc_truncated() {
        assert_eq!(timestamp(at(1_796_407_200)), "2026-12-04T18:00:00Z");
        let later = at(1_796_407_200)
            .checked_add(jiff::SignedDuration::from_millis(999))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(timestamp(later), "2026-12-04T18:00:00Z");
    }

    #[test]
    fn caller_is_base_name_and_line() {
        assert_eq!(caller("speaker/src/main.rs", 42), "main.rs:42");
        assert_eq!(caller("main.rs", 7), "main.rs:7");
        assert_eq!(
            caller("/root/.cargo/registry/src/x/kube-runtime/src/watcher.rs", 9),
            "watcher.rs:9"
        );
    }

    #[test]
    fn line_has_sorted_keys_and_fixed_keys_win() {
        let mut fields = Fields::new();
        fields.insert("op".into(), Value::String("allocateIP".into()));
        fields.insert("msg".into(), Value::String("hello".into()));
        fields.insert("level".into(), Value::String("bogus".into()));
        let line = render(fields, Level::WARN, Some(("src/a.rs", 3)), at(0));
        assert_eq!(
            String::from_utf8_lossy(&line),
            "{\"caller\":\"a.rs:3\",\"level\":\"warn\",\"msg\":\"hello\",\"op\":\"allocateIP\",\
             \"ts\":\"1970-01-01T00:00:00Z\"}\n"
        );
    }

    #[test]
    fn trace_prints_as_debug() {
        assert_eq!(level_name(Level::TRACE), "debug");
        assert_eq!(level_name(Level::ERROR), "error");
    }
}
