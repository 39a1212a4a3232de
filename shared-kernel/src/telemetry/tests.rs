//! The subscriber's layers, run on a dispatcher of the test's own (never
//! the global one, which the other tests of this binary share).

use std::sync::{Arc, Mutex};

use opentelemetry::Context;
use opentelemetry::trace::SpanKind;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use serde_json::Value;
use tracing::Instrument;

use super::*;

const HEADER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// A directory of the test's own under the system's temporary directory.
fn scratch_directory() -> PathBuf {
    let directory = std::env::temp_dir().join(format!("telemetry-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&directory)
        .unwrap_or_else(|e| panic!("creating {}: {e}", directory.display()));
    directory
}

/// Every JSON line of every file in `directory`.
fn json_lines(directory: &std::path::Path) -> Vec<Value> {
    let mut lines = Vec::new();
    let entries = std::fs::read_dir(directory)
        .unwrap_or_else(|e| panic!("reading {}: {e}", directory.display()));
    for entry in entries.flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for line in text.lines() {
            let value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            lines.push(value);
        }
    }
    lines
}

#[test]
fn warnings_and_errors_go_to_the_error_file_as_json_lines_with_their_trace() {
    let directory = scratch_directory();
    let settings = TelemetrySettings {
        log_error_file: Some(directory.join("errors.log")),
        ..TelemetrySettings::default()
    };
    let (layers, telemetry) =
        layers("test", &settings).unwrap_or_else(|e| panic!("setting up: {e}"));
    let subscriber = Registry::default().with(layers);
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(noise = true, "an info line");
        tracing::debug!(noise = true, "a debug line");
        let _in_trace = child_of(&context_from_traceparent(Some(HEADER))).attach();
        tracing::warn!(bet_id = 7, reason = "odd", "a warning");
        tracing::error!(message_id = "m-1", "an error");
    });
    // Dropping it flushes the writer thread's queue into the file.
    drop(telemetry);

    let lines = json_lines(&directory);
    let _ = std::fs::remove_dir_all(&directory);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["level"], "WARN");
    assert_eq!(lines[0]["message"], "a warning");
    assert_eq!(lines[0]["bet_id"], 7);
    assert_eq!(lines[0]["reason"], "odd");
    assert_eq!(lines[0]["trace_id"], TRACE_ID);
    assert_eq!(lines[0]["span_id"].as_str().map(str::len), Some(16));
    assert_eq!(lines[1]["level"], "ERROR");
    assert_eq!(lines[1]["message_id"], "m-1");
    assert!(lines.iter().all(|line| line.get("noise").is_none()));
}

#[test]
fn the_error_file_is_named_after_the_day() {
    let directory = scratch_directory();
    let settings = TelemetrySettings {
        log_error_file: Some(directory.join("nested").join("errors.log")),
        ..TelemetrySettings::default()
    };
    let (layers, telemetry) =
        layers("test", &settings).unwrap_or_else(|e| panic!("setting up: {e}"));
    tracing::subscriber::with_default(Registry::default().with(layers), || {
        tracing::error!("an error");
    });
    drop(telemetry);
    let names: Vec<String> = std::fs::read_dir(directory.join("nested"))
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let _ = std::fs::remove_dir_all(&directory);
    let today = chrono::Utc::now().format("%Y-%m-%d");
    assert_eq!(names, vec![format!("errors.{today}.log")]);
}

#[test]
fn an_error_file_that_cannot_be_written_is_a_configuration_error() {
    let settings = TelemetrySettings {
        log_error_file: Some(PathBuf::from("/proc/no-such-place/errors.log")),
        ..TelemetrySettings::default()
    };
    let error = layers("test", &settings).err().map(|e| e.to_string());
    assert_eq!(
        error.as_deref(),
        Some("LOG_ERROR_FILE: cannot write /proc/no-such-place/errors.log")
    );
}

/// Keeps every span it is given.
#[derive(Debug, Clone, Default)]
struct Collected(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Collected {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        if let Ok(mut spans) = self.0.lock() {
            spans.extend(batch);
        }
        std::future::ready(Ok(()))
    }
}

impl Collected {
    fn named(&self, name: &str) -> SpanData {
        let spans = self.0.lock().map(|spans| spans.clone()).unwrap_or_default();
        spans
            .into_iter()
            .find(|span| span.name == name)
            .unwrap_or_else(|| panic!("no span {name} was exported"))
    }
}

#[tokio::test]
async fn recorded_spans_continue_the_trace_and_nest() {
    let collected = Collected::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(collected.clone())
        .build();
    let subscriber = Registry::default().with(vec![exporter_layer(&provider, "test")]);
    let dispatch = tracing::Dispatch::new(subscriber);
    let _default = tracing::dispatcher::set_default(&dispatch);

    let request = tracing::info_span!(target: SPANS, "request", otel.kind = "server");
    let context = context_for(&request, context_from_traceparent(Some(HEADER)));
    let traceparent = traceparent_of(&context).unwrap_or_default();
    let current = async {
        let inner = tracing::info_span!(target: SPANS, "inner");
        async { traceparent_of(&Context::current()) }
            .instrument(inner)
            .await
    }
    .instrument(request)
    .await;
    let _ = provider.force_flush();

    let request = collected.named("request");
    let inner = collected.named("inner");
    assert_eq!(request.span_context.trace_id().to_string(), TRACE_ID);
    assert_eq!(request.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert_eq!(request.span_kind, SpanKind::Server);
    assert_eq!(
        traceparent,
        format!("00-{TRACE_ID}-{}-01", request.span_context.span_id())
    );
    assert_eq!(inner.span_context.trace_id().to_string(), TRACE_ID);
    assert_eq!(inner.parent_span_id, request.span_context.span_id());
    assert_eq!(
        current,
        Some(format!("00-{TRACE_ID}-{}-01", inner.span_context.span_id()))
    );
}

#[test]
fn without_an_exporter_no_layer_takes_the_spans_of_the_trace() {
    let (layers, _telemetry) =
        layers("test", &TelemetrySettings::default()).unwrap_or_else(|e| panic!("setting up: {e}"));
    let subscriber = Registry::default().with(layers);
    // Made outside any subscriber: disabled, but it keeps its call site's
    // metadata, which the subscriber is asked about as at start-up (other
    // tests' subscribers in this process do not interfere with that).
    let span = tracing::info_span!(target: SPANS, "request");
    let metadata = span
        .metadata()
        .unwrap_or_else(|| panic!("a disabled span keeps its metadata"));
    assert!(
        tracing::Subscriber::register_callsite(&subscriber, metadata).is_never(),
        "the span would cost every request its fields"
    );
    let provider = SdkTracerProvider::builder().build();
    let exporting = Registry::default().with(vec![exporter_layer(&provider, "test")]);
    assert!(!tracing::Subscriber::register_callsite(&exporting, metadata).is_never());
}

#[test]
fn only_the_last_days_of_error_files_are_kept() {
    let directory = scratch_directory();
    // Five earlier days, written one after another (oldest first), and a
    // file of someone else's in the same directory.
    for day in 1..=5 {
        let old = directory.join(format!("errors.2026-11-0{day}.log"));
        std::fs::write(&old, "{}\n").unwrap_or_else(|e| panic!("writing {}: {e}", old.display()));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let other = directory.join("access.log");
    std::fs::write(&other, "kept\n").unwrap_or_else(|e| panic!("writing {}: {e}", other.display()));
    let settings = TelemetrySettings {
        log_error_file: Some(directory.join("errors.log")),
        log_error_file_days: 3,
        ..TelemetrySettings::default()
    };
    let (_layers, telemetry) =
        layers("test", &settings).unwrap_or_else(|e| panic!("setting up: {e}"));
    drop(telemetry);

    let mut names: Vec<String> = std::fs::read_dir(&directory)
        .unwrap_or_else(|e| panic!("reading {}: {e}", directory.display()))
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let _ = std::fs::remove_dir_all(&directory);
    let today = chrono::Utc::now().format("errors.%Y-%m-%d.log").to_string();
    assert_eq!(
        names,
        vec![
            "access.log".to_owned(),
            "errors.2026-11-04.log".to_owned(),
            "errors.2026-11-05.log".to_owned(),
            today
        ]
    );
}

/// What a layer writes, kept in memory.
#[derive(Debug, Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("the buffer's lock is poisoned"))?
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn text(&self) -> String {
        let bytes = self.0.lock().map(|bytes| bytes.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// An error quoting what a client sent.
#[derive(Debug, thiserror::Error)]
#[error("no route for {0}")]
struct QuotingError(String);

#[test]
fn the_pretty_format_writes_one_line_per_event_whatever_its_fields_hold() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = Registry::default().with(pretty_layer(move || writer.clone()));
    let forged = "a\nERROR forged";
    let escape = "\u{1b}[31mred\u{1b}[0m";
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("request", path = %"/x\r\nINFO forged");
        let _entered = span.enter();
        let error = QuotingError(forged.to_owned());
        tracing::warn!(
            display = %forged,
            debug = ?forged,
            text = forged,
            escape = %escape,
            nul = %"a\u{0}b",
            error = &error as &(dyn std::error::Error + 'static),
            "a message quoting {forged} and {escape}"
        );
    });

    let text = buffer.text();
    assert_eq!(text.matches('\n').count(), 1, "not one line:\n{text}");
    assert!(!text.contains('\r'), "{text:?}");
    assert!(!text.contains('\u{0}'), "{text:?}");
    assert!(!text.contains(escape), "a raw escape sequence: {text:?}");
    assert!(!text.contains("\nERROR forged"), "{text:?}");
    for expected in [
        "display=a\\nERROR forged",
        "text=\"a\\nERROR forged\"",
        "escape=\\u{1b}[31mred\\u{1b}[0m",
        "nul=a\\u{0}b",
        "error=no route for a\\nERROR forged",
        "a message quoting a\\nERROR forged and \\u{1b}[31mred",
        "path=/x\\r\\nINFO forged",
    ] {
        assert!(text.contains(expected), "no `{expected}` in {text:?}");
    }
}

/// What the log layer writes for a drop of the broker, with `RUST_LOG`
/// set to `rust_log`: lapin's own line (as its I/O thread logs it) and the
/// supervisor's.
fn logged_for_a_drop(rust_log: Option<&str>) -> String {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .with_filter(log_filter_for(rust_log));
    tracing::subscriber::with_default(Registry::default().with(layer), || {
        tracing::error!(target: "lapin::io_loop", "Socket was readable but we read 0");
        tracing::warn!(target: "shared_kernel::amqp", "lost the broker; reconnecting");
    });
    buffer.text()
}

#[test]
fn lapins_own_lines_are_off_unless_rust_log_names_lapin() {
    for quiet in [
        None,
        Some("info"),
        Some("info,sqlx=warn,sea_orm=warn"),
        Some("trace"),
        Some("info,lapinous=debug"),
        // Not a filter: ignored, as if unset.
        Some("lapin=loud"),
    ] {
        let text = logged_for_a_drop(quiet);
        assert!(!text.contains("read 0"), "RUST_LOG={quiet:?}: {text}");
        assert!(
            text.contains("lost the broker"),
            "RUST_LOG={quiet:?}: {text}"
        );
    }
    for named in [
        Some("lapin=debug"),
        Some("info,lapin=error"),
        Some("warn,lapin::io_loop=error"),
        Some("info,lapin"),
    ] {
        let text = logged_for_a_drop(named);
        assert!(
            text.contains("ERROR lapin::io_loop: Socket was readable but we read 0"),
            "RUST_LOG={named:?}: {text}"
        );
    }
}
