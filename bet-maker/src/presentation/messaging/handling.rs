//! How the handling of a delivery shows in a trace: a consumer span
//! continuing the trace the message was published in (see
//! `shared_kernel::telemetry`), and how the broker was answered.

use lapin::message::Delivery;
use shared_kernel::telemetry::SPANS;

/// How a delivery was answered.
pub(super) enum Handled {
    /// Applied (or applied before) and acked.
    Acked,
    /// Dead-lettered, then acked.
    DeadLettered,
    /// Rejected back to the queue.
    Requeued,
    /// Left unacked: the consumer is stopping.
    Released,
}

impl Handled {
    /// As the span's `messaging.outcome` says it.
    pub(super) fn label(&self) -> &'static str {
        match self {
            Self::Acked => "acked",
            Self::DeadLettered => "dead-lettered",
            Self::Requeued => "requeued",
            Self::Released => "released",
        }
    }
}

/// The span of one delivery's handling, named as OpenTelemetry's
/// messaging conventions have it. Its fields are only evaluated when
/// traces are exported.
pub(super) fn handling_span(delivery: &Delivery, queue: &str) -> tracing::Span {
    tracing::info_span!(
        target: SPANS,
        "handle message",
        otel.name = %format!("{queue} process"),
        otel.kind = "consumer",
        messaging.system = "rabbitmq",
        messaging.operation.type = "process",
        messaging.destination.name = queue,
        messaging.rabbitmq.destination.routing_key = %delivery.routing_key,
        messaging.message.id = delivery.properties.message_id().as_ref().map(|id| id.as_str()),
        messaging.rabbitmq.redelivered = delivery.redelivered,
        messaging.outcome = tracing::field::Empty,
    )
}
