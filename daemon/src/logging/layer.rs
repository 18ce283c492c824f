//! The tracing layer that writes each event as one JSON line (see [`super::line`]), with the
//! fields of the spans it happened in, the way go-kit's `log.With` context works.

use std::io::Write;

use jiff::Timestamp;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::fields::{Fields, Recorder};
use super::line;

/// The fields a span was created or updated with, kept in the span's extensions.
struct SpanFields(Fields);

/// Writes MetalLB's JSON log lines to `W` (stdout in the daemons, as MetalLB).
pub struct JsonLayer<W> {
    make_writer: W,
    clock: fn() -> Timestamp,
}

impl<W> JsonLayer<W>
where
    W: for<'w> MakeWriter<'w> + 'static,
{
    /// A layer writing to `make_writer`, stamping lines with the current time.
    pub fn new(make_writer: W) -> Self {
        JsonLayer {
            make_writer,
            clock: Timestamp::now,
        }
    }

    /// The same layer reading the time from `clock` (tests use a fixed one).
    pub fn with_clock(self, clock: fn() -> Timestamp) -> Self {
        JsonLayer { clock, ..self }
    }
}

impl<S, W> Layer<S> for JsonLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::new();
        attrs.record(&mut Recorder::new(&mut fields, false));
        span.extensions_mut().insert(SpanFields(fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(SpanFields(fields)) = extensions.get_mut::<SpanFields>() {
            values.record(&mut Recorder::new(fields, false));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let normalized = event.normalized_metadata();
        let metadata = normalized.as_ref().unwrap_or_else(|| event.metadata());

        // Outer spans first, so inner spans and then the event override a repeated key.
        let mut fields = Fields::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(SpanFields(f)) = span.extensions().get::<SpanFields>() {
                    fields.extend(f.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        event.record(&mut Recorder::new(&mut fields, normalized.is_some()));

        let caller = metadata.file().zip(metadata.line());
        let bytes = line::render(fields, *metadata.level(), caller, (self.clock)());
        // One write per line keeps lines whole when threads log at once. A logger has nowhere
        // to report its own write error, so it is dropped, as go-kit does.
        let _ = self.make_writer.make_writer_for(metadata).write_all(&bytes);
    }
}
