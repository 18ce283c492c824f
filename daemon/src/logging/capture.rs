//! Capturing the JSON lines of a closure's events, for tests of log events (ours and the
//! daemons'): the real layer, writing into memory instead of stdout, at a fixed time.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use jiff::Timestamp;
use serde_json::Value;
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

use super::{JsonLayer, LogLevel};

/// The `ts` of every captured line: 2026-12-04T18:00:00Z.
pub const CAPTURE_TIME: &str = "2026-12-04T18:00:00Z";

fn capture_time() -> Timestamp {
    Timestamp::from_second(1_796_407_200).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// An in-memory stdout for the JSON layer.
#[derive(Clone, Debug, Default)]
pub struct Buffer(Arc<Mutex<Vec<u8>>>);

/// The writer a [`Buffer`] hands out per event.
#[derive(Debug)]
pub struct BufferWriter(Arc<Mutex<Vec<u8>>>);

impl io::Write for BufferWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = BufferWriter;

    fn make_writer(&'a self) -> BufferWriter {
        BufferWriter(self.0.clone())
    }
}

impl Buffer {
    /// Everything written so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Runs `f` with the JSON layer at `level` as this thread's subscriber and returns the
/// output, byte for byte.
pub fn capture_text(level: LogLevel, f: impl FnOnce()) -> String {
    let buffer = Buffer::default();
    let layer = JsonLayer::new(buffer.clone())
        .with_clock(capture_time)
        .with_filter(level.filter());
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
    buffer.text()
}

/// Like [`capture_text`], each line parsed. A line that is not JSON is returned as a JSON
/// string holding it, so the caller's assertion shows it.
pub fn capture(level: LogLevel, f: impl FnOnce()) -> Vec<Value> {
    capture_text(level, f)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| Value::String(l.to_owned())))
        .collect()
}
