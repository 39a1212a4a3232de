//! Keeps libraries' own complaints about what the service already
//! reports out of the logs.
//!
//! While the collector is unreachable, every batch fails, and the
//! OpenTelemetry SDK logs each failure (a warning and an error every
//! `OTEL_BSP_SCHEDULE_DELAY`, 5 s by default) for as long as the outage
//! lasts. One line of each kind a minute says as much.
//!
//! Each time the broker goes away, lapin logs two or more ERROR lines of
//! its own ("Socket was readable but we read 0", "Connection error", "error
//! doing IO", a missing heartbeat) from its I/O thread, beside the one
//! warning of the service's supervisor ("lost the broker; reconnecting",
//! with the reason and the connection's name), which is all an operator
//! needs: the service reconnects by itself. What lapin logs at ERROR also
//! reaches the service as the `lapin::Error` of the call or connection it
//! broke, which the service logs with its own context; lapin's other
//! line, its WARN dump of a returned message byte by byte, repeats the
//! relay's "message unroutable" warning. So lapin's own lines are off
//! unless `RUST_LOG` names lapin (`lapin=debug`, `lapin::io_loop=trace`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::Metadata;
use tracing::callsite::Identifier;
use tracing::subscriber::Interest;
use tracing_subscriber::filter::EnvFilter;
use tracing_subscriber::layer::{Context, Filter};

/// The target lapin logs under: its modules' paths (`lapin::io_loop`,
/// `lapin::channels`, `lapin::heartbeat`...).
const LAPIN: &str = "lapin";

/// `filter` (parsed from `rust_log`, the `RUST_LOG` set, if any) with
/// lapin's own lines turned off, unless `rust_log` names lapin or one of
/// its modules. Turned off, not lowered: its lines that matter are at
/// ERROR, and no directive can keep an ERROR line out but `off`.
pub(super) fn without_lapin_unless_named(filter: EnvFilter, rust_log: Option<&str>) -> EnvFilter {
    if rust_log.is_some_and(names_lapin) {
        return filter;
    }
    match format!("{LAPIN}=off").parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}

/// Whether one of `rust_log`'s directives (`target[span{field}]=level`,
/// comma-separated) is about lapin or one of its modules.
fn names_lapin(rust_log: &str) -> bool {
    rust_log.split(',').any(|directive| {
        let target = directive
            .split(['[', '='])
            .next()
            .unwrap_or_default()
            .trim();
        target == LAPIN || target.starts_with("lapin::")
    })
}

/// How long one of the SDK's log lines keeps the same line out.
const QUIET_FOR: Duration = Duration::from_secs(60);

/// Lets each of the SDK's log lines through at most once a [`QUIET_FOR`];
/// everything else passes untouched (its interest is cached as always).
#[derive(Debug, Default)]
pub(super) struct SdkComplaints {
    last_let_through: Mutex<HashMap<Identifier, Instant>>,
}

/// The SDK's crates log under their own names (`opentelemetry_sdk`,
/// `opentelemetry-otlp`).
fn from_the_sdk(metadata: &Metadata<'_>) -> bool {
    metadata.target().starts_with("opentelemetry")
}

impl<S> Filter<S> for SdkComplaints {
    fn enabled(&self, metadata: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        if !from_the_sdk(metadata) {
            return true;
        }
        let now = Instant::now();
        let Ok(mut last) = self.last_let_through.lock() else {
            return true;
        };
        match last.get(&metadata.callsite()) {
            Some(at) if now.duration_since(*at) < QUIET_FOR => false,
            _ => {
                last.insert(metadata.callsite(), now);
                true
            }
        }
    }

    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> Interest {
        if from_the_sdk(metadata) {
            Interest::sometimes()
        } else {
            Interest::always()
        }
    }
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::{Layer, Registry};

    use super::*;

    #[test]
    fn an_sdk_line_is_let_through_once_a_minute_and_others_always() {
        let lines = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = std::sync::Arc::clone(&lines);
        let counter = tracing_subscriber::fmt::layer()
            .with_writer(move || {
                counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                std::io::sink()
            })
            .with_filter(SdkComplaints::default());
        tracing::subscriber::with_default(Registry::default().with(counter), || {
            for _ in 0..5 {
                tracing::error!(target: "opentelemetry_sdk", "export failed");
                tracing::error!(target: "bet_maker", "something else");
            }
        });
        assert_eq!(lines.load(std::sync::atomic::Ordering::Relaxed), 6);
    }
}
