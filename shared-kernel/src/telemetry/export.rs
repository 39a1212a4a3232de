//! The OTLP/gRPC export of spans, built only when an endpoint is set.
//!
//! Spans go through the SDK's batch processor: a bounded queue
//! (`OTEL_BSP_MAX_QUEUE_SIZE`, 2,048 by default) that a thread of its own
//! empties every `OTEL_BSP_SCHEDULE_DELAY` (5 s) or every 512 spans. Ending
//! a span only tries to queue it: when the queue is full the span is
//! dropped (and counted by the SDK), so a slow or absent collector never
//! holds up a request or a message. The connection is opened lazily and
//! again after a failure; an export that fails is logged by the SDK.

use opentelemetry::KeyValue;
use opentelemetry_otlp::{ExporterBuildError, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;

/// A provider exporting `service`'s spans to the OTLP/gRPC `endpoint`.
pub(super) fn tracer_provider(
    service: &str,
    endpoint: &str,
) -> Result<SdkTracerProvider, ExporterBuildError> {
    let exporter = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource(service))
        .build())
}

/// Who exports: the service's name, and which replica of it (a new id per
/// process; the host's name, which in a container is the container's).
/// `OTEL_RESOURCE_ATTRIBUTES` adds to it.
fn resource(service: &str) -> Resource {
    let mut attributes = vec![KeyValue::new(
        "service.instance.id",
        uuid::Uuid::now_v7().to_string(),
    )];
    if let Some(host) = host_name() {
        attributes.push(KeyValue::new("host.name", host));
    }
    Resource::builder()
        .with_service_name(service.to_owned())
        .with_attributes(attributes)
        .build()
}

/// The host's name, from the kernel (no extra dependency, no system call
/// wrapper): `None` where it cannot be read.
fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_owned())
}
