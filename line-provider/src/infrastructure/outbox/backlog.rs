//! Watching the outbox's backlog: how many rows wait and how old the
//! oldest is (the gauges `outbox_waiting` and
//! `outbox_oldest_waiting_seconds`), and an `outbox_backlog` alert when the
//! oldest has waited longer than the threshold: the relay is then failing
//! to publish (broker away or refusing, rows unroutable) or falling behind.
//!
//! A worker of its own rather than a step of the relay: it keeps reading
//! while the relay is disconnected, which is exactly when the backlog grows,
//! and the relay's hot path runs no aggregate query.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sqlx::{self, PgPool, Row as _};
use shared_kernel::alerts::{Alarm, AlarmChange, Alert, Alerts};
use shared_kernel::storage::chain;
use tokio_util::sync::CancellationToken;

/// What is waiting: an aggregate, which SeaORM would only express as raw
/// SQL too.
const BACKLOG: &str = "
    SELECT count(*) AS waiting, min(created_at) AS oldest
    FROM outbox WHERE published_at IS NULL";

/// Reads the backlog every interval until stopped.
#[derive(Debug)]
pub struct BacklogWatch {
    pool: PgPool,
    alerts: Alerts,
    threshold: Duration,
}

impl BacklogWatch {
    /// Alerts through `alerts` when the oldest waiting row is older than
    /// `threshold`.
    pub fn new(pool: PgPool, alerts: Alerts, threshold: Duration) -> Self {
        Self {
            pool,
            alerts,
            threshold,
        }
    }

    /// Reads at once, then a few times per threshold (every 1 to 5 s).
    pub async fn run(self, stop: CancellationToken) {
        let period = (self.threshold / 5).clamp(Duration::from_secs(1), Duration::from_secs(5));
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut alarm = Alarm::default();
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = ticks.tick() => {}
            }
            self.read(&mut alarm).await;
        }
    }

    /// One reading. A failure costs a stale gauge (the database being away
    /// is alerted by the outage watch).
    async fn read(&self, alarm: &mut Alarm) {
        let row = match sqlx::query(BACKLOG).fetch_one(&self.pool).await {
            Ok(row) => row,
            Err(error) => {
                tracing::debug!(error = %chain(&error), "cannot read the outbox backlog");
                return;
            }
        };
        let waiting: i64 = row.try_get("waiting").unwrap_or_default();
        let oldest: Option<DateTime<Utc>> = row.try_get("oldest").unwrap_or_default();
        let age = oldest.map_or(Duration::ZERO, |oldest| {
            (Utc::now() - oldest).to_std().unwrap_or_default()
        });
        metrics::gauge!("outbox_waiting").set(u32::try_from(waiting).unwrap_or(u32::MAX));
        metrics::gauge!("outbox_oldest_waiting_seconds").set(age);
        match alarm.observe(age >= self.threshold) {
            Some(AlarmChange::Raised) => self.alerts.raise(
                Alert::new(
                    "outbox_backlog",
                    format!(
                        "the oldest unpublished outbox row has waited {} s",
                        age.as_secs()
                    ),
                )
                .with("waiting", waiting)
                .with("oldest_waiting_secs", age.as_secs()),
            ),
            Some(AlarmChange::Cleared) => {
                tracing::info!(waiting, "the outbox backlog is back under the threshold");
            }
            None => {}
        }
    }
}
