//! A small OTLP/gRPC receiver: the collector's trace service, as the
//! services' exporter speaks it, keeping what it receives as flat
//! [`ReceivedSpan`]s. Tests start one on port 0 and point the services'
//! `OTEL_EXPORTER_OTLP_ENDPOINT` at it; `system-tests`' `otlp_receiver`
//! binary runs one for the deployment test.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

/// One span as received, its ids in lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReceivedSpan {
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// 16 hex digits; `None` for the root of a trace.
    pub parent_span_id: Option<String>,
    /// The span's name (`POST /events`, `bet-maker.line-events process`).
    pub name: String,
    /// The `service.name` of the resource that sent it.
    pub service_name: String,
    /// `server`, `client`, `producer`, `consumer` or `internal`.
    pub kind: String,
    /// Its attributes, each value written as text.
    pub attributes: BTreeMap<String, String>,
}

/// What to do with each span received.
type Sink = Arc<dyn Fn(ReceivedSpan) + Send + Sync>;

/// A running receiver; it stops when dropped.
#[derive(Debug)]
pub struct OtlpReceiver {
    address: SocketAddr,
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    stop: CancellationToken,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl OtlpReceiver {
    /// Listens on `address` (port 0 picks a free one) and keeps every span.
    pub async fn start(address: SocketAddr) -> std::io::Result<Self> {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&spans);
        let sink = move |span| {
            if let Ok(mut spans) = kept.lock() {
                spans.push(span);
            }
        };
        Self::listen(address, Arc::new(sink), spans).await
    }

    /// Listens on `address` and hands every span to `sink`, keeping none.
    pub async fn start_with(
        address: SocketAddr,
        sink: impl Fn(ReceivedSpan) + Send + Sync + 'static,
    ) -> std::io::Result<Self> {
        Self::listen(address, Arc::new(sink), Arc::default()).await
    }

    async fn listen(
        address: SocketAddr,
        sink: Sink,
        spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let stop = CancellationToken::new();
        let server = tokio::spawn(
            Server::builder()
                .add_service(TraceServiceServer::new(Collector { sink }))
                .serve_with_incoming_shutdown(
                    TcpIncoming::from(listener),
                    stop.clone().cancelled_owned(),
                ),
        );
        Ok(Self {
            address,
            spans,
            stop,
            server,
        })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The value for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The spans received so far (by [`start`](Self::start)'s receiver).
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans
            .lock()
            .map(|spans| spans.clone())
            .unwrap_or_default()
    }

    /// Stops listening, and waits until it has.
    pub async fn stop(mut self) -> Result<(), tonic::transport::Error> {
        self.stop.cancel();
        self.wait().await
    }

    /// Resolves when the server ends: after [`stop`](Self::stop), or with
    /// the error that ended it.
    pub async fn wait(&mut self) -> Result<(), tonic::transport::Error> {
        match (&mut self.server).await {
            Ok(served) => served,
            // Only a panic ends the task otherwise; the server is gone.
            Err(_) => Ok(()),
        }
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The trace service: flattens each request into spans for the sink.
struct Collector {
    sink: Sink,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        for resource_spans in request.into_inner().resource_spans {
            let service_name = resource_spans
                .resource
                .iter()
                .flat_map(|resource| &resource.attributes)
                .find(|attribute| attribute.key == "service.name")
                .and_then(|attribute| attribute.value.as_ref())
                .map(text)
                .unwrap_or_default();
            for span in resource_spans
                .scope_spans
                .into_iter()
                .flat_map(|scope| scope.spans)
            {
                (self.sink)(ReceivedSpan {
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: (!span.parent_span_id.is_empty())
                        .then(|| hex(&span.parent_span_id)),
                    name: span.name,
                    service_name: service_name.clone(),
                    kind: kind(span.kind).to_owned(),
                    attributes: attributes(&span.attributes),
                });
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn kind(kind: i32) -> &'static str {
    match SpanKind::try_from(kind) {
        Ok(SpanKind::Server) => "server",
        Ok(SpanKind::Client) => "client",
        Ok(SpanKind::Producer) => "producer",
        Ok(SpanKind::Consumer) => "consumer",
        Ok(SpanKind::Internal) => "internal",
        _ => "unspecified",
    }
}

fn attributes(attributes: &[KeyValue]) -> BTreeMap<String, String> {
    attributes
        .iter()
        .filter_map(|attribute| Some((attribute.key.clone(), text(attribute.value.as_ref()?))))
        .collect()
}

/// A value as text: strings as they are, anything else as written.
fn text(value: &AnyValue) -> String {
    match &value.value {
        Some(Value::StringValue(text)) => text.clone(),
        Some(Value::BoolValue(flag)) => flag.to_string(),
        Some(Value::IntValue(number)) => number.to_string(),
        Some(Value::DoubleValue(number)) => number.to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}
