//! Watching the dead-letter queue fill: it is bounded
//! (`BET_MAKER_DLQ_MAX_LENGTH`) and drops its oldest messages beyond the
//! bound, so an operator must hear of it well before then.
//!
//! A task beside the consumer, on a connection of its own, reads the
//! queue's depth every interval (a passive declare) and publishes the
//! gauges `dead_letter_queue_messages{queue}` and
//! `dead_letter_queue_max_length{queue}`, and tells the back office
//! (`GET /admin/dead-letters`) the depth it read. When the depth reaches 80 % of
//! the bound it raises the alert `dead_letter_queue_filling` and counts
//! `dead_letter_queue_fill_alerts_total{queue}`: once per crossing, and
//! again only after the depth fell below and rose again.

use std::time::Duration;

use lapin::Connection;
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use shared_kernel::alerts::{Alarm, AlarmChange, Alert, Alerts};
use shared_kernel::amqp::{AmqpSession, BrokerStatus, close_channel, connection_lost, supervise};
use tokio_util::sync::CancellationToken;

use super::topology::Topology;
use crate::application::DeadLetterService;

/// The share of the bound, in percent, at which the alert is raised.
pub const FILL_ALERT_PERCENT: u32 = 80;

/// Whether the alert is raised, kept between readings so that a queue
/// staying full raises it once, not at every reading.
#[derive(Debug, Default)]
pub struct FillAlarm(Alarm);

/// What a reading changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillChange {
    /// The depth reached [`FILL_ALERT_PERCENT`] of the bound: alert.
    Crossed,
    /// The depth is below it again: the next crossing alerts anew.
    FellBack,
}

impl FillAlarm {
    /// Takes one reading of the queue's `depth` against its `max_length`.
    pub fn observe(&mut self, depth: u32, max_length: u32) -> Option<FillChange> {
        let full = u64::from(depth) * 100 >= u64::from(max_length) * u64::from(FILL_ALERT_PERCENT);
        self.0.observe(full).map(|change| match change {
            AlarmChange::Raised => FillChange::Crossed,
            AlarmChange::Cleared => FillChange::FellBack,
        })
    }
}

/// Reads the dead-letter queue's depth every interval until stopped,
/// reconnecting as needed.
#[derive(Debug)]
pub struct DeadLetterWatch {
    amqp_url: String,
    queue: String,
    max_length: u32,
    interval: Duration,
    alerts: Alerts,
    book: DeadLetterService,
}

impl DeadLetterWatch {
    /// Watches the dead-letter queue of `topology` every `interval`,
    /// alerting through `alerts`, and telling `book` each depth read (for
    /// staff: `GET /admin/dead-letters`).
    pub fn new(
        amqp_url: &str,
        topology: &Topology,
        interval: Duration,
        alerts: Alerts,
        book: DeadLetterService,
    ) -> Self {
        Self {
            amqp_url: amqp_url.to_owned(),
            queue: topology.dead_letter_queue.clone(),
            max_length: topology.dead_letter_max_length,
            interval,
            alerts,
            book,
        }
    }

    /// Watches until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        metrics::gauge!("dead_letter_queue_max_length", "queue" => self.queue.clone())
            .set(self.max_length);
        // Readiness is the consumer's: this status only feeds the supervisor.
        let status = BrokerStatus::default();
        let mut session = WatchSession {
            watch: &self,
            stop: &stop,
            alarm: FillAlarm::default(),
        };
        supervise(
            &self.amqp_url,
            "dead-letter-watch",
            &status,
            &stop,
            &mut session,
        )
        .await;
        tracing::info!("dead-letter watch stopped");
    }

    /// One reading. A failed declare (the consumer has not declared the
    /// queue yet) closes only its channel: logged, and read again next
    /// time. A failure to open a channel means the connection failed.
    async fn read_depth(
        &self,
        connection: &Connection,
        alarm: &mut FillAlarm,
    ) -> Result<(), lapin::Error> {
        let channel = connection.create_channel().await?;
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let declared = channel
            .queue_declare(self.queue.as_str().into(), passive, FieldTable::default())
            .await;
        let depth = match declared {
            Ok(queue) => queue.message_count(),
            Err(error) => {
                tracing::warn!(queue = %self.queue, %error, "cannot read the dead-letter queue's depth");
                return close_channel(&channel).await;
            }
        };
        close_channel(&channel).await?;
        metrics::gauge!("dead_letter_queue_messages", "queue" => self.queue.clone()).set(depth);
        self.book.observe_depth(depth, self.max_length);
        match alarm.observe(depth, self.max_length) {
            Some(FillChange::Crossed) => {
                self.alerts.raise(
                    Alert::new(
                        "dead_letter_queue_filling",
                        format!(
                            "the dead-letter queue is {FILL_ALERT_PERCENT} % full; beyond its bound \
                             the oldest dead letters are dropped: see them with `bet-maker dead-letters`"
                        ),
                    )
                    .with("queue", self.queue.as_str())
                    .with("depth", depth)
                    .with("max_length", self.max_length),
                );
                metrics::counter!("dead_letter_queue_fill_alerts_total", "queue" => self.queue.clone())
                    .increment(1);
            }
            Some(FillChange::FellBack) => {
                tracing::info!(queue = %self.queue, depth, max_length = self.max_length,
                    "the dead-letter queue is below {FILL_ALERT_PERCENT} % of its bound again");
            }
            None => {}
        }
        Ok(())
    }
}

/// The watch on one broker connection.
struct WatchSession<'a> {
    watch: &'a DeadLetterWatch,
    stop: &'a CancellationToken,
    alarm: FillAlarm,
}

impl AmqpSession for WatchSession<'_> {
    async fn run(&mut self, connection: &Connection) -> Result<(), lapin::Error> {
        // The first reading after one interval: by then the consumer has
        // usually declared the queue.
        let mut ticks = tokio::time::interval_at(
            tokio::time::Instant::now() + self.watch.interval,
            self.watch.interval,
        );
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return Ok(()),
                error = connection_lost(connection) => return Err(error),
                _ = ticks.tick() => {}
            }
            self.watch.read_depth(connection, &mut self.alarm).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alert_is_raised_once_per_crossing_of_80_percent() {
        let mut alarm = FillAlarm::default();
        let readings = [0, 79, 80, 95, 100, 80, 79, 50, 85, 85];
        let changes: Vec<Option<FillChange>> = readings
            .iter()
            .map(|depth| alarm.observe(*depth, 100))
            .collect();
        use FillChange::{Crossed, FellBack};
        assert_eq!(
            changes,
            [
                None,
                None,
                Some(Crossed),
                None,
                None,
                None,
                Some(FellBack),
                None,
                Some(Crossed),
                None
            ]
        );
    }

    #[test]
    fn eighty_percent_of_small_and_large_bounds() {
        assert_eq!(FillAlarm::default().observe(3, 5), None);
        assert_eq!(
            FillAlarm::default().observe(4, 5),
            Some(FillChange::Crossed)
        );
        assert_eq!(
            FillAlarm::default().observe(1, 1),
            Some(FillChange::Crossed)
        );
        assert_eq!(FillAlarm::default().observe(0, 1), None);
        assert_eq!(
            FillAlarm::default().observe(u32::MAX, u32::MAX),
            Some(FillChange::Crossed)
        );
        assert_eq!(FillAlarm::default().observe(79_999, 100_000), None);
    }
}
