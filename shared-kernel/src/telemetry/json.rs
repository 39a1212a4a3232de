//! JSON log lines that name their trace.
//!
//! `tracing-subscriber`'s JSON format knows nothing of OpenTelemetry, so a
//! line written inside a trace gets `trace_id` and `span_id` added here,
//! from the current OpenTelemetry context: the span being recorded when
//! traces are exported, else the context the work carries (see
//! [`super::context_for`]). A log collector can then join a line to its
//! trace in the trace viewer.

use std::fmt;

use opentelemetry::Context;
use opentelemetry::trace::{SpanId, TraceContextExt, TraceId};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{Format, Json, JsonFields, Writer};
use tracing_subscriber::fmt::time::SystemTime;
use tracing_subscriber::fmt::{FmtContext, FormatEvent};
use tracing_subscriber::registry::LookupSpan;

/// The JSON format (fields flattened into the line's object), plus the
/// ids of the trace the line was written in, if any.
#[derive(Debug)]
pub(super) struct JsonWithTrace {
    json: Format<Json, SystemTime>,
}

impl JsonWithTrace {
    pub(super) fn new() -> Self {
        Self {
            json: tracing_subscriber::fmt::format().json().flatten_event(true),
        }
    }
}

impl<S> FormatEvent<S, JsonFields> for JsonWithTrace
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let Some((trace_id, span_id)) = current_ids() else {
            return self.json.format_event(ctx, writer, event);
        };
        // The JSON format writes one object and a newline; the ids go in
        // before its closing brace. A copy of the line, but only for lines
        // inside a trace, and far cheaper than serializing twice.
        let mut line = String::with_capacity(256);
        self.json.format_event(ctx, Writer::new(&mut line), event)?;
        match line.rfind('}') {
            Some(end) => {
                writer.write_str(&line[..end])?;
                write!(writer, r#","trace_id":"{trace_id}","span_id":"{span_id}""#)?;
                writer.write_str(&line[end..])
            }
            None => writer.write_str(&line),
        }
    }
}

/// The trace and span of the current context, when it has a valid one.
fn current_ids() -> Option<(TraceId, SpanId)> {
    Context::map_current(|context| {
        let span = context.span();
        let span_context = span.span_context();
        span_context
            .is_valid()
            .then(|| (span_context.trace_id(), span_context.span_id()))
    })
}
