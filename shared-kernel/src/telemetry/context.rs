//! The trace context work runs in, and its W3C `traceparent` form.
//!
//! Inside a process the context is OpenTelemetry's current
//! [`Context`]: work runs in the span that records it (when traces are
//! exported) or in a context that only carries the trace on (when they are
//! not), attached with `opentelemetry::context::FutureExt::with_context`.
//! Between processes it is a `traceparent`: the HTTP header, the outbox
//! row's column, the AMQP message header.

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The target of the spans that make up a trace (an HTTP request, an
/// outbox row, a publish, a message handled, a settlement):
/// `tracing::info_span!(target: SPANS, ...)`. They are recorded only when
/// traces are exported, and never formatted into log lines.
pub const SPANS: &str = "otel";

/// The name of the W3C header (and of the AMQP header) carrying the context.
const TRACEPARENT: &str = "traceparent";

/// The context a `traceparent` value names, or an empty one when there is
/// none or it is malformed (then the work starts a new trace).
pub fn context_from_traceparent(traceparent: Option<&str>) -> Context {
    match traceparent.map(str::trim) {
        Some(value) if ids_have_their_lengths(value) => {
            TraceContextPropagator::new().extract(&Traceparent(Some(value)))
        }
        _ => Context::new(),
    }
}

/// Whether the trace id has its 32 hex digits and the parent id its 16:
/// the propagator pads shorter ones with zeros, which would take a
/// truncated header for another trace.
fn ids_have_their_lengths(traceparent: &str) -> bool {
    let mut parts = traceparent.split('-').skip(1);
    parts.next().map(str::len) == Some(32) && parts.next().map(str::len) == Some(16)
}

/// The `traceparent` of the span in `context`, if it has a valid one.
pub fn traceparent_of(context: &Context) -> Option<String> {
    let mut written = None;
    TraceContextPropagator::new().inject_context(context, &mut Injected(&mut written));
    written
}

/// The context to do the work of `span` in, continuing `parent` (a
/// context read from a `traceparent`, or [`Context::current`]).
///
/// When traces are exported, `span` is recorded as a child of `parent` and
/// its context is returned. When they are not, `span` is disabled, and the
/// work gets a context of its own in the same trace ([`child_of`]), so its
/// log lines and the messages it sends still name the trace.
pub fn context_for(span: &tracing::Span, parent: Context) -> Context {
    if span.is_disabled() {
        return child_of(&parent);
    }
    // Fails only for a span already started, or one the exporter's layer
    // does not see; its context is then not valid, and the work carries
    // the trace on as when nothing is exported.
    let _ = span.set_parent(parent.clone());
    let context = span.context();
    if context.span().span_context().is_valid() {
        context
    } else {
        child_of(&parent)
    }
}

/// A new span id in the trace of `parent`, or a new trace when `parent`
/// has none: the context of work that is not recorded as a span.
pub fn child_of(parent: &Context) -> Context {
    let span = parent.span();
    let parent = span.span_context();
    let span_id = SpanId::from(rand::random::<u64>().max(1));
    let child = if parent.is_valid() {
        SpanContext::new(
            parent.trace_id(),
            span_id,
            parent.trace_flags(),
            false,
            parent.trace_state().clone(),
        )
    } else {
        SpanContext::new(
            TraceId::from(rand::random::<u128>().max(1)),
            span_id,
            TraceFlags::SAMPLED,
            false,
            Default::default(),
        )
    };
    Context::new().with_remote_span_context(child)
}

/// A carrier holding at most a `traceparent`.
struct Traceparent<'a>(Option<&'a str>);

impl Extractor for Traceparent<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        if key == TRACEPARENT { self.0 } else { None }
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT]
    }
}

/// A carrier keeping only the `traceparent` written into it.
struct Injected<'a>(&'a mut Option<String>);

impl Injector for Injected<'_> {
    fn set(&mut self, key: &str, value: String) {
        if key == TRACEPARENT {
            *self.0 = Some(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_traceparent_round_trips() {
        let context = context_from_traceparent(Some(HEADER));
        assert_eq!(traceparent_of(&context).as_deref(), Some(HEADER));
    }

    #[test]
    fn a_child_keeps_the_trace_and_changes_the_span() {
        let parent = context_from_traceparent(Some(HEADER));
        let child = traceparent_of(&child_of(&parent)).unwrap_or_default();
        assert!(
            child.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
            "{child}"
        );
        assert!(child.ends_with("-01"), "{child}");
        assert_ne!(child, HEADER);
    }

    #[test]
    fn without_a_parent_a_new_trace_begins() {
        let first = traceparent_of(&child_of(&Context::new())).unwrap_or_default();
        let second = traceparent_of(&child_of(&Context::new())).unwrap_or_default();
        assert_eq!(first.len(), HEADER.len(), "{first}");
        assert_ne!(first[3..35], second[3..35]);
    }

    #[test]
    fn malformed_headers_are_ignored() {
        for bad in [
            "",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-zzzzzzzzzzzzzzzz-01",
            "00-4bf92f35-00f067aa0ba902b7-01",
        ] {
            assert_eq!(
                traceparent_of(&context_from_traceparent(Some(bad))),
                None,
                "{bad}"
            );
        }
    }

    #[test]
    fn a_disabled_span_gets_a_context_of_its_own_in_the_trace() {
        let span = tracing::Span::none();
        let context = context_for(&span, context_from_traceparent(Some(HEADER)));
        let traceparent = traceparent_of(&context).unwrap_or_default();
        assert!(
            traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
            "{traceparent}"
        );
    }
}
