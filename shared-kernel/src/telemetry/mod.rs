//! Logs and traces.
//!
//! Log lines go to stdout, pretty (control characters in fields escaped)
//! or as JSON lines (`LOG_FORMAT`), and
//! warnings and errors also, as JSON lines, to a file started afresh each
//! day (`LOG_ERROR_FILE`). A JSON line written inside a trace carries its
//! `trace_id` and `span_id`.
//!
//! One trace follows an operator's change from line-provider into
//! bet-maker: the HTTP request (continuing the caller's `traceparent`),
//! the outbox row (which stores the trace context), the relay's publish
//! (a child of the stored context, sent on as the message's `traceparent`
//! header), bet-maker's handling of the message and the settlement of its
//! bets. The context travels inside a process as the current OpenTelemetry
//! [`Context`](opentelemetry::Context), and between processes as a W3C
//! `traceparent` (see [`context_for`] and [`traceparent_of`]).
//!
//! The spans of that trace are `tracing` spans of target [`SPANS`]. With
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set they are recorded and exported over
//! OTLP/gRPC, in batches from a thread of the SDK's own. Without it nothing
//! listens for them: they are disabled at their call sites, no exporter
//! or thread exists, and the work only carries the context on, as it did
//! before there was an exporter, so that log lines still name their trace.

mod context;
mod error_file;
mod escape;
mod export;
mod json;
mod quiet;

use std::path::PathBuf;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Level;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::filter::{EnvFilter, FilterExt, Targets};
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::Filter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

pub use context::{SPANS, child_of, context_for, context_from_traceparent, traceparent_of};

/// How log lines are written (`LOG_FORMAT`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    #[default]
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The OTLP protocols the exporter speaks (`OTEL_EXPORTER_OTLP_PROTOCOL`).
/// Naming one not built in (`http/protobuf`) stops start-up, rather than
/// sending gRPC to an HTTP port and losing every span.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OtlpProtocol {
    /// OTLP over gRPC.
    #[default]
    Grpc,
}

/// The filter used when `RUST_LOG` is not set: sqlx logs every query at
/// INFO, which drowns everything else.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn";

/// How long stopping waits for the last spans to be exported: a collector
/// that is down must not hold a stopping service up.
const EXPORT_FLUSH_TIMEOUT: Duration = Duration::from_secs(3);

/// Where logs and traces go: the same variables for both services,
/// flattened into each one's `Config`. `Default` is pretty logs, no error
/// file, no export.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TelemetrySettings {
    /// How log lines are written to stdout.
    #[arg(
        long,
        env = "LOG_FORMAT",
        value_name = "LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Pretty
    )]
    pub log_format: LogFormat,
    /// Also write warnings and errors, as JSON lines, to this file: a new
    /// one each day (UTC), named `<stem>.<YYYY-MM-DD>.<extension>` in the
    /// file's directory (created if missing). Written by a thread of its
    /// own; lines beyond what it can keep up with are dropped rather than
    /// slowing the service. Off when unset.
    #[arg(long, env = "LOG_ERROR_FILE", value_name = "LOG_ERROR_FILE")]
    pub log_error_file: Option<PathBuf>,
    /// How many daily error files to keep, today's included: at start and
    /// at each new day, the oldest files beyond that in the file's
    /// directory whose names start with its stem and end with its
    /// extension are deleted. 0 keeps them all.
    #[arg(
        long,
        env = "LOG_ERROR_FILE_DAYS",
        value_name = "LOG_ERROR_FILE_DAYS",
        default_value_t = 14
    )]
    pub log_error_file_days: u16,
    /// The OTLP/gRPC endpoint traces are exported to
    /// (`http://127.0.0.1:4317`). When unset, traces are not recorded at
    /// all. The SDK's other standard variables apply
    /// (OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_MAX_QUEUE_SIZE,
    /// OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER...).
    #[arg(
        long = "otel-exporter-otlp-endpoint",
        env = "OTEL_EXPORTER_OTLP_ENDPOINT",
        value_name = "OTEL_EXPORTER_OTLP_ENDPOINT"
    )]
    pub otlp_endpoint: Option<String>,
    /// The protocol traces are exported with: only OTLP over gRPC (a
    /// collector's port 4317) is built in.
    #[arg(
        long = "otel-exporter-otlp-protocol",
        env = "OTEL_EXPORTER_OTLP_PROTOCOL",
        value_name = "OTEL_EXPORTER_OTLP_PROTOCOL",
        value_enum,
        default_value_t = OtlpProtocol::Grpc
    )]
    pub otlp_protocol: OtlpProtocol,
    /// The service name traces are exported under [default: the binary's name].
    #[arg(
        long = "otel-service-name",
        env = "OTEL_SERVICE_NAME",
        value_name = "OTEL_SERVICE_NAME"
    )]
    pub service_name: Option<String>,
}

/// Why logging or tracing could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The error log file cannot be opened.
    #[error("LOG_ERROR_FILE: cannot write {}", path.display())]
    ErrorFile {
        /// The configured path.
        path: PathBuf,
        /// Why.
        #[source]
        source: error_file::ErrorFileError,
    },
    /// The OTLP exporter refused its configuration (a malformed endpoint,
    /// `https` without TLS support).
    #[error("OTEL_EXPORTER_OTLP_ENDPOINT: cannot export traces to {endpoint}")]
    Exporter {
        /// The configured endpoint.
        endpoint: String,
        /// Why.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
}

/// What logging and tracing hold while the service runs: the error file's
/// writer thread and the trace exporter. [`shutdown`](Self::shutdown)
/// flushes both.
#[derive(Debug, Default)]
#[must_use = "dropping it stops the error file's writer and the trace export at once"]
pub struct Telemetry {
    error_file: Option<WorkerGuard>,
    tracer_provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still queued (waiting at most a few seconds for
    /// the collector), then writes out the error file's last lines.
    pub async fn shutdown(self) {
        let Self {
            error_file,
            tracer_provider,
        } = self;
        // Both wait on threads of their own: not on a runtime worker.
        let flushed = tokio::task::spawn_blocking(move || {
            if let Some(provider) = tracer_provider
                && let Err(error) = provider.shutdown_with_timeout(EXPORT_FLUSH_TIMEOUT)
            {
                tracing::warn!(%error, "the last spans were not all exported");
            }
            drop(error_file);
        })
        .await;
        if let Err(error) = flushed {
            eprintln!("flushing logs and traces failed: {error}");
        }
    }
}

/// Installs the global subscriber for `service` (the binary's name). Call
/// once, at the start of `main`, inside the Tokio runtime (the exporter's
/// connection runs on it).
pub fn init(service: &str, settings: &TelemetrySettings) -> Result<Telemetry, TelemetryError> {
    let (layers, telemetry) = layers(service, settings)?;
    if let Err(error) = Registry::default().with(layers).try_init() {
        eprintln!("logging was already set up: {error}");
        return Ok(Telemetry::default());
    }
    Ok(telemetry)
}

/// A layer of the service's subscriber.
type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// The layers `settings` ask for, and what keeps them running.
fn layers(
    service: &str,
    settings: &TelemetrySettings,
) -> Result<(Vec<BoxedLayer>, Telemetry), TelemetryError> {
    let mut layers = vec![stdout_layer(settings.log_format)];
    let mut telemetry = Telemetry::default();
    if let Some(path) = &settings.log_error_file {
        let (writer, guard) =
            error_file::open(path, settings.log_error_file_days).map_err(|source| {
                TelemetryError::ErrorFile {
                    path: path.clone(),
                    source,
                }
            })?;
        layers.push(error_file::layer(writer));
        telemetry.error_file = Some(guard);
    }
    let endpoint = settings.otlp_endpoint.as_deref().map(str::trim);
    if let Some(endpoint) = endpoint.filter(|endpoint| !endpoint.is_empty()) {
        let name = settings.service_name.as_deref().unwrap_or(service);
        let built = match settings.otlp_protocol {
            OtlpProtocol::Grpc => export::tracer_provider(name, endpoint),
        };
        let provider = built.map_err(|source| TelemetryError::Exporter {
            endpoint: endpoint.to_owned(),
            source,
        })?;
        layers.push(exporter_layer(&provider, name));
        telemetry.tracer_provider = Some(provider);
    }
    Ok((layers, telemetry))
}

/// The layer recording the [`SPANS`] (and warnings and errors, as events
/// of the span they happen in) into `provider`. Entering a recorded span
/// makes its context the current OpenTelemetry context (the layer's
/// default), which is what [`context_for`] and the JSON lines read.
fn exporter_layer(provider: &SdkTracerProvider, service: &str) -> BoxedLayer {
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer(service.to_owned()))
        .with_threads(false)
        .with_target(false)
        .with_filter(exported())
        .boxed()
}

/// Log lines to stdout, as `RUST_LOG` (or [`DEFAULT_FILTER`]) allows.
fn stdout_layer(format: LogFormat) -> BoxedLayer {
    match format {
        LogFormat::Pretty => pretty_layer(std::io::stdout).boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_span_events(FmtSpan::NONE)
            .json()
            .event_format(json::JsonWithTrace::new())
            .with_filter(log_filter())
            .boxed(),
    }
}

/// Pretty log lines to `writer`, every field value and message with its
/// control characters escaped (see [`escape`]): one event, one line,
/// whatever a client put in a field.
fn pretty_layer<W>(writer: W) -> impl Layer<Registry> + Send + Sync + 'static
where
    W: for<'writer> tracing_subscriber::fmt::MakeWriter<'writer> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .with_span_events(FmtSpan::NONE)
        .fmt_fields(escape::EscapedFields)
        .with_writer(writer)
        .with_filter(log_filter())
}

/// What `RUST_LOG` (or [`DEFAULT_FILTER`]) lets into the logs, less the
/// [`SPANS`] (those are for the exporter, and formatting their fields for
/// every request and message would cost the logs for nothing: a line
/// written inside them carries their ids instead), less lapin's own lines
/// unless `RUST_LOG` names lapin, and less the SDK's repeated complaints
/// about a collector that is down (see [`quiet`]).
fn log_filter() -> impl Filter<Registry> + Send + Sync + 'static {
    log_filter_for(std::env::var("RUST_LOG").ok().as_deref())
}

/// [`log_filter`] for `RUST_LOG` set to `rust_log` (`None`: unset). One
/// that does not parse is ignored, as unset.
fn log_filter_for(rust_log: Option<&str>) -> impl Filter<Registry> + Send + Sync + use<> {
    let parsed = rust_log.and_then(|directives| {
        let filter = EnvFilter::builder().parse(directives).ok()?;
        Some((filter, Some(directives)))
    });
    let (filter, rust_log) = parsed.unwrap_or_else(|| (EnvFilter::new(DEFAULT_FILTER), None));
    let filter = match format!("{SPANS}=off").parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    };
    quiet::without_lapin_unless_named(filter, rust_log).and(quiet::SdkComplaints::default())
}

/// What the exporter records: the [`SPANS`], and warnings and errors from
/// anywhere as events on the span they happen in.
fn exported() -> Targets {
    Targets::new()
        .with_default(Level::WARN)
        .with_target(SPANS, Level::INFO)
}

#[cfg(test)]
mod tests;
