//! Turning tracing field values into JSON values, as go-kit's JSON logger turns Go values:
//! strings stay strings, numbers and booleans stay numbers and booleans, errors become their
//! message, and anything else its formatted text. A structured value (a list of IPs, say)
//! goes in as [`json`].

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt;

use serde::Serialize;
use serde_json::{Number, Value};
use tracing::field::{Field, Visit};

/// The fields of one log line, by key. A `BTreeMap` because go-kit's JSON logger encodes a Go
/// map, whose keys `encoding/json` writes sorted; this gives the same order.
pub(crate) type Fields = BTreeMap<String, Value>;

/// A structured field value that appears in the log line as JSON (an array, an object, …)
/// rather than as text, e.g. MetalLB's `"ip":["198.51.100.0"]`:
///
/// ```
/// use lb_daemon::logging::json;
/// let ips = ["198.51.100.0"];
/// tracing::info!(event = "ipAllocated", ip = json(&ips).as_field(), "IP address assigned by controller");
/// ```
///
/// tracing has no stable way to pass a structured value through a field, but it does pass
/// `dyn Error + 'static` values as themselves, so the JSON layer can recognise this type; that
/// is the only reason it implements [`Error`]. Other layers see its [`fmt::Display`]: the JSON
/// text.
#[derive(Debug, Clone, PartialEq)]
pub struct Json(Value);

/// Wraps `value` for a log field, serialized with serde. A value serde cannot represent (a map
/// with non-string keys) becomes a string saying so, so logging never fails.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Json {
    match serde_json::to_value(value) {
        Ok(v) => Json(v),
        Err(e) => Json(Value::String(format!("unserializable log value: {e}"))),
    }
}

impl Json {
    /// The field value to hand to a tracing macro: `ip = json(&ips).as_field()`.
    pub fn as_field(&self) -> &(dyn Error + 'static) {
        self
    }

    /// The JSON value.
    pub fn value(&self) -> &Value {
        &self.0
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Error for Json {}

/// Records the fields of an event or span into [`Fields`].
pub(crate) struct Recorder<'a> {
    fields: &'a mut Fields,
    /// Events that come from the `log` crate carry their metadata as `log.*` fields; that
    /// metadata is used for `caller`, the fields themselves are not printed.
    skip_log_metadata: bool,
}

impl<'a> Recorder<'a> {
    /// A recorder writing into `fields`; `from_log` for events bridged from the `log` crate.
    pub(crate) fn new(fields: &'a mut Fields, from_log: bool) -> Self {
        Recorder {
            fields,
            skip_log_metadata: from_log,
        }
    }

    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        if self.skip_log_metadata && name.starts_with("log.") {
            return;
        }
        // tracing's implicit message field is MetalLB's `msg`.
        let key = if name == "message" { "msg" } else { name };
        self.fields.insert(key.to_owned(), value);
    }
}

impl Visit for Recorder<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_owned()));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::Number(value.into()));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::Number(value.into()));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        let v = i64::try_from(value)
            .map(|n| Value::Number(n.into()))
            .or_else(|_| u64::try_from(value).map(|n| Value::Number(n.into())))
            .unwrap_or_else(|_| Value::String(value.to_string()));
        self.put(field, v);
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        let v = u64::try_from(value)
            .map(|n| Value::Number(n.into()))
            .unwrap_or_else(|_| Value::String(value.to_string()));
        self.put(field, v);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity; their text is the most useful thing to print.
        let v = Number::from_f64(value)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(value.to_string()));
        self.put(field, v);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn Error + 'static)) {
        let v = match value.downcast_ref::<Json>() {
            Some(Json(v)) => v.clone(),
            None => Value::String(value.to_string()),
        };
        self.put(field, v);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
}
