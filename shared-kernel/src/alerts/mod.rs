//! Alerts: the conditions an operator must hear of at once (a forged or
//! refused line message, a conflicting result, the dead-letter queue
//! filling, the database or the broker unreachable for too long, the outbox
//! falling behind), published as small JSON documents to a fanout exchange
//! (`OPS_ALERTS_EXCHANGE`, `ops.alerts`) that anyone may bind a queue to.
//!
//! Raising an alert never holds up the work that raised it:
//! [`Alerts::raise`] logs it (ERROR, `alert = true`), counts it, and hands
//! it to a bounded queue without waiting; [`AlertPublisher`], a worker on a
//! broker connection of its own, publishes from that queue. While the
//! broker is away, alerts wait in the queue (up to [`PENDING_ALERTS`]; the
//! ones beyond are dropped and counted) and go out once it is back.
//!
//! Each kind of alert is rate-limited (`ALERTS_PER_MINUTE`): a flood of
//! forged messages makes a few alerts a minute, and the next alert of that
//! kind says how many were held back (`suppressed`), so nothing is hidden,
//! only summarised. The log line and the metric are never limited.
//!
//! An alert, as published (AMQP `type` is the kind, `app_id` the service):
//!
//! ```json
//! {"kind": "forged_message", "service": "bet-maker", "instance": "bet-maker-2",
//!  "summary": "line message refused; dead-lettered",
//!  "details": {"reason": "bad_signature", "routing_key": "event.created"},
//!  "raised_at": "2026-12-05T10:00:00.123Z", "suppressed": 0}
//! ```

mod outages;
mod publisher;

pub use outages::OutageWatch;
pub use publisher::{AlertPublisher, declare_alerts_exchange};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Alerts waiting to be published while the broker is slow or away; the
/// ones raised beyond this are dropped (and counted in
/// `alerts_dropped_total`), so an outage cannot grow memory.
pub const PENDING_ALERTS: usize = 1_024;

/// The window each kind's rate limit counts in.
const RATE_WINDOW: Duration = Duration::from_secs(60);

/// Where alerts go and how often, and when an outage becomes one.
#[derive(Debug, Clone, clap::Args)]
pub struct AlertSettings {
    /// The fanout exchange alerts are published to (declared durable by the
    /// service; bind a queue to it to receive them). Empty turns publishing
    /// off: alerts are then only logged and counted.
    #[arg(
        id = "ops_alerts_exchange",
        long = "ops-alerts-exchange",
        env = "OPS_ALERTS_EXCHANGE",
        value_name = "OPS_ALERTS_EXCHANGE",
        default_value = "ops.alerts"
    )]
    pub exchange: String,
    /// Alerts of one kind published per minute at most; the rest are
    /// counted into the next one's `suppressed`.
    #[arg(
        long = "alerts-per-minute",
        env = "ALERTS_PER_MINUTE",
        value_name = "ALERTS_PER_MINUTE",
        default_value_t = 6,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub per_minute: u32,
    /// How long, in seconds, the database or the broker may be unreachable
    /// before it is an alert (and, in line-provider, how old the oldest
    /// unpublished outbox row may grow).
    #[arg(
        long = "alert-after-secs",
        env = "ALERT_AFTER_SECS",
        value_name = "ALERT_AFTER_SECS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub after_secs: u64,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            exchange: "ops.alerts".to_owned(),
            per_minute: 6,
            after_secs: 30,
        }
    }
}

impl AlertSettings {
    /// How long an outage or a backlog may last before it is an alert.
    pub fn threshold(&self) -> Duration {
        Duration::from_secs(self.after_secs)
    }
}

/// One alert, before it is raised: a kind from a fixed set, a one-line
/// summary, and details for whoever investigates.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    kind: &'static str,
    summary: String,
    details: Map<String, Value>,
}

impl Alert {
    /// An alert of `kind` (a stable snake_case name operators filter on).
    pub fn new(kind: &'static str, summary: impl Into<String>) -> Self {
        Self {
            kind,
            summary: summary.into(),
            details: Map::new(),
        }
    }

    /// Adds one detail.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// The kind.
    pub fn kind(&self) -> &'static str {
        self.kind
    }
}

/// An alert as published.
#[derive(Debug, Clone, Serialize)]
pub struct AlertMessage {
    /// What happened, e.g. `forged_message`.
    pub kind: &'static str,
    /// Which service raised it.
    pub service: &'static str,
    /// Which replica: the host name (a container's name or id).
    pub instance: String,
    /// One line for a human.
    pub summary: String,
    /// Whatever helps investigate.
    pub details: Map<String, Value>,
    /// When it was raised.
    pub raised_at: DateTime<Utc>,
    /// Alerts of this kind held back by the rate limit since the last one
    /// published.
    pub suppressed: u64,
}

/// A service's way to raise alerts: cheap to clone, shared by every part
/// that can raise one.
#[derive(Debug, Clone)]
pub struct Alerts {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    service: &'static str,
    instance: String,
    /// `None` when publishing is off.
    queue: Option<mpsc::Sender<AlertMessage>>,
    limit: Mutex<RateLimit>,
}

impl Alerts {
    /// Alerts raised by `service`, and the worker that publishes them to
    /// `settings.exchange` on `amqp_url` (`None` when the exchange is empty:
    /// alerts are then only logged and counted).
    pub fn new(
        service: &'static str,
        amqp_url: &str,
        settings: &AlertSettings,
    ) -> (Self, Option<AlertPublisher>) {
        if settings.exchange.is_empty() {
            return (Self::log_only(service, settings.per_minute), None);
        }
        let (sender, receiver) = mpsc::channel(PENDING_ALERTS);
        let alerts = Self::with_queue(service, settings.per_minute, Some(sender));
        let publisher = AlertPublisher::new(amqp_url, &settings.exchange, service, receiver);
        (alerts, Some(publisher))
    }

    /// Alerts that are only logged and counted: for tools and tests that
    /// publish nothing.
    pub fn log_only(service: &'static str, per_minute: u32) -> Self {
        Self::with_queue(service, per_minute, None)
    }

    fn with_queue(
        service: &'static str,
        per_minute: u32,
        queue: Option<mpsc::Sender<AlertMessage>>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                service,
                instance: instance_name(),
                queue,
                limit: Mutex::new(RateLimit::new(per_minute)),
            }),
        }
    }

    /// Logs the alert at ERROR (`alert = true`), counts it
    /// (`alerts_raised_total{kind}`), and, unless its kind is over its rate
    /// limit, queues it for publishing. Never waits.
    pub fn raise(&self, alert: Alert) {
        let Alert {
            kind,
            summary,
            details,
        } = alert;
        let logged = serde_json::Value::Object(details.clone());
        tracing::error!(alert = true, kind, details = %logged, "{summary}");
        metrics::counter!("alerts_raised_total", "kind" => kind).increment(1);
        let Some(queue) = &self.inner.queue else {
            return;
        };
        let admitted = match self.inner.limit.lock() {
            Ok(mut limit) => limit.admit(kind, Instant::now()),
            Err(poisoned) => poisoned.into_inner().admit(kind, Instant::now()),
        };
        let Some(suppressed) = admitted else {
            metrics::counter!("alerts_suppressed_total", "kind" => kind).increment(1);
            return;
        };
        let message = AlertMessage {
            kind,
            service: self.inner.service,
            instance: self.inner.instance.clone(),
            summary,
            details,
            raised_at: Utc::now(),
            suppressed,
        };
        if let Err(error) = queue.try_send(message) {
            metrics::counter!("alerts_dropped_total").increment(1);
            let why = match error {
                mpsc::error::TrySendError::Full(_) => "too many alerts wait for the broker",
                mpsc::error::TrySendError::Closed(_) => "the alert publisher has stopped",
            };
            tracing::warn!(kind, "alert not published: {why}");
        }
    }
}

/// The replica's name: `HOSTNAME` (a container's name or id), else the
/// kernel's host name.
fn instance_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|name| !name.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|name| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Per kind, at most `per_minute` alerts in each window of a minute; the
/// ones over it are counted and reported with the next one admitted.
#[derive(Debug)]
struct RateLimit {
    per_minute: u32,
    kinds: HashMap<&'static str, Window>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    admitted: u32,
    suppressed: u64,
}

impl RateLimit {
    fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            kinds: HashMap::new(),
        }
    }

    /// `Some(suppressed since the last admitted)` when an alert of `kind`
    /// may go out at `now`; `None` when it is held back.
    fn admit(&mut self, kind: &'static str, now: Instant) -> Option<u64> {
        let window = self.kinds.entry(kind).or_insert(Window {
            started: now,
            admitted: 0,
            suppressed: 0,
        });
        if now.duration_since(window.started) >= RATE_WINDOW {
            window.started = now;
            window.admitted = 0;
        }
        if window.admitted < self.per_minute {
            window.admitted += 1;
            Some(std::mem::take(&mut window.suppressed))
        } else {
            window.suppressed += 1;
            None
        }
    }
}

/// A condition that is raised once when it starts and again only after it
/// has ended and started anew, so a condition that lasts alerts once.
#[derive(Debug, Default)]
pub struct Alarm {
    raised: bool,
}

/// What one observation of an [`Alarm`]'s condition changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmChange {
    /// The condition began: raise the alert.
    Raised,
    /// It ended: the next beginning alerts anew.
    Cleared,
}

impl Alarm {
    /// Takes one observation: whether the condition holds now.
    pub fn observe(&mut self, holds: bool) -> Option<AlarmChange> {
        match (holds, self.raised) {
            (true, false) => {
                self.raised = true;
                Some(AlarmChange::Raised)
            }
            (false, true) => {
                self.raised = false;
                Some(AlarmChange::Cleared)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;

/// Sets up a service's alerting: the [`Alerts`] its parts raise through,
/// the worker publishing them (unless the exchange is empty), and the
/// [`OutageWatch`] on what `readiness` checks.
pub fn start(
    service: &mut crate::lifecycle::RunningService,
    name: &'static str,
    amqp_url: &str,
    settings: &AlertSettings,
    readiness: crate::http::Readiness,
) -> Alerts {
    let (alerts, publisher) = Alerts::new(name, amqp_url, settings);
    if let Some(publisher) = publisher {
        service.spawn_worker("alert publisher", |stop| publisher.run(stop));
    }
    let outages = OutageWatch::new(readiness, alerts.clone(), settings.threshold());
    service.spawn_worker("outage watch", |stop| outages.run(stop));
    alerts
}
