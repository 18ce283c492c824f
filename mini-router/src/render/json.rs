//! JSON text the way FRR prints it with json-c: "pretty" (two-space indent, `"key":value`
//! with no space, empty containers opened and closed on two lines) and "plain" (no
//! whitespace at all); `/` is not escaped. serde_json's own pretty printer differs in
//! spacing, and FRR users diff these outputs, so the layout is reproduced here.

use std::fmt::Write as _;

use serde_json::Value;

/// json-c's `JSON_C_TO_STRING_PRETTY`, without a trailing newline.
pub fn pretty(value: &Value) -> String {
    let mut out = String::new();
    write_pretty(&mut out, value, 0);
    out
}

/// json-c's plain form: no whitespace.
pub fn plain(value: &Value) -> String {
    let mut out = String::new();
    write_plain(&mut out, value);
    out
}

fn write_pretty(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) => {
            out.push_str("{\n");
            let mut first = true;
            for (k, v) in map {
                if !first {
                    out.push_str(",\n");
                }
                first = false;
                pad(out, indent + 2);
                write_string(out, k);
                out.push(':');
                write_pretty(out, v, indent + 2);
            }
            if !map.is_empty() {
                out.push('\n');
            }
            pad(out, indent);
            out.push('}');
        }
        Value::Array(items) => {
            out.push_str("[\n");
            let mut first = true;
            for v in items {
                if !first {
                    out.push_str(",\n");
                }
                first = false;
                pad(out, indent + 2);
                write_pretty(out, v, indent + 2);
            }
            if !items.is_empty() {
                out.push('\n');
            }
            pad(out, indent);
            out.push(']');
        }
        other => write_plain(out, other),
    }
}

fn write_plain(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_plain(out, v);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_plain(out, v);
            }
            out.push('}');
        }
    }
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pretty_matches_json_c_layout() {
        let v = json!({"a": 1, "b": {"c": "x/y\n"}, "e": [], "f": [true]});
        assert_eq!(
            pretty(&v),
            "{\n  \"a\":1,\n  \"b\":{\n    \"c\":\"x/y\\n\"\n  },\n  \"e\":[\n  ],\n  \"f\":[\n    true\n  ]\n}"
        );
        assert_eq!(pretty(&json!({})), "{\n}");
    }

    #[test]
    fn plain_has_no_whitespace() {
        assert_eq!(
            plain(&json!({"a": [1, {"b": false}]})),
            "{\"a\":[1,{\"b\":false}]}"
        );
    }
}
