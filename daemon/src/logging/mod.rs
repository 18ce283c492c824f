//! MetalLB's JSON log lines through tracing.
//!
//! MetalLB (v0.16, `internal/logging`) logs with go-kit's JSON logger to stdout: one JSON
//! object per line, keys sorted, with `caller` (`file.go:123`), `level` (`debug`, `info`,
//! `warn`, `error`), `ts` (RFC 3339, whole seconds) and the event's own keys — `msg`, `op`,
//! `event`, `service`, `ip`, `error`, …:
//!
//! ```text
//! {"caller":"main.rs:52","event":"ipAllocated","ip":["198.51.100.0"],"level":"info","msg":"IP address assigned by controller","service":"default/nginx","ts":"2026-12-04T18:00:00Z"}
//! ```
//!
//! Here a tracing event's message is `msg`, its fields are the other keys, `caller` is the
//! Rust file and line, and fields of enclosing spans are added as go-kit's `log.With` adds
//! context. Structured values go in through [`json`]. Events of libraries that use the `log`
//! crate are bridged in, as MetalLB bridges klog.

pub mod capture;
mod fields;
mod layer;
mod level;
mod line;

use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::{SubscriberInitExt, TryInitError};

pub use fields::{Json, json};
pub use layer::JsonLayer;
pub use level::LogLevel;

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// A global tracing subscriber (or `log` logger) was installed before.
    #[error("cannot install the JSON logger: {0}")]
    Install(#[from] TryInitError),
}

/// Installs the JSON logger for the whole process: lines at `level` and above go to stdout,
/// and `log` records are bridged into tracing. Call once, first thing in `main`.
pub fn init(level: LogLevel) -> Result<(), LoggingError> {
    tracing_subscriber::registry()
        .with(JsonLayer::new(std::io::stdout).with_filter(level.filter()))
        .try_init()?;
    Ok(())
}

#[cfg(test)]
mod tests;
