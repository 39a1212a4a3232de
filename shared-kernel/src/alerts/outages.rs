//! Watching for the database or the broker being unreachable for longer
//! than a threshold: a blip is normal (the service retries and recovers on
//! its own), an outage that lasts needs an operator.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Alarm, AlarmChange, Alert, Alerts};
use crate::http::Readiness;

/// Reads what `/health/ready` reads, a few times per threshold, and raises
/// `database_unreachable` or `broker_unreachable` once per outage that
/// lasts `threshold`.
#[derive(Debug)]
pub struct OutageWatch {
    readiness: Readiness,
    alerts: Alerts,
    threshold: Duration,
}

impl OutageWatch {
    /// Watches `readiness`, alerting through `alerts`.
    pub fn new(readiness: Readiness, alerts: Alerts, threshold: Duration) -> Self {
        Self {
            readiness,
            alerts,
            threshold,
        }
    }

    /// Watches until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        let period = (self.threshold / 5).clamp(Duration::from_millis(200), Duration::from_secs(5));
        let mut database = Outage::new("database_unreachable", "the database");
        let mut broker = Outage::new("broker_unreachable", "the broker");
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(period) => {}
            }
            let now = Instant::now();
            let database_down = self.readiness.database_down_reason().await;
            database.observe(database_down, now, self.threshold, &self.alerts);
            broker.observe(
                self.readiness.broker.down_reason(),
                now,
                self.threshold,
                &self.alerts,
            );
        }
    }
}

/// One dependency's outage: since when it is down, and whether that was
/// alerted.
#[derive(Debug)]
struct Outage {
    kind: &'static str,
    what: &'static str,
    down_since: Option<Instant>,
    alarm: Alarm,
}

impl Outage {
    fn new(kind: &'static str, what: &'static str) -> Self {
        Self {
            kind,
            what,
            down_since: None,
            alarm: Alarm::default(),
        }
    }

    /// One reading: `down` is why it is down, `None` when it answers.
    fn observe(
        &mut self,
        down: Option<String>,
        now: Instant,
        threshold: Duration,
        alerts: &Alerts,
    ) {
        let down_for = match &down {
            Some(_) => now.duration_since(*self.down_since.get_or_insert(now)),
            None => self
                .down_since
                .take()
                .map_or(Duration::ZERO, |since| now.duration_since(since)),
        };
        let lasting = down.is_some() && down_for >= threshold;
        match (self.alarm.observe(lasting), down) {
            (Some(AlarmChange::Raised), Some(reason)) => alerts.raise(
                Alert::new(
                    self.kind,
                    format!(
                        "{} has been unreachable for {} s",
                        self.what,
                        down_for.as_secs()
                    ),
                )
                .with("reason", reason)
                .with("down_for_secs", down_for.as_secs()),
            ),
            (Some(AlarmChange::Cleared), _) => tracing::info!(
                kind = self.kind,
                down_for_secs = down_for.as_secs(),
                "{} is reachable again",
                self.what
            ),
            _ => {}
        }
    }
}
