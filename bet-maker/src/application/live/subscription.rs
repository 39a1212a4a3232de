//! One subscriber's view of the feed: what it missed first (from the
//! database, a page at a time, as fast as it takes them), then the live
//! fan-out, without a gap between the two and without a change twice.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use super::feed::{Fanned, Inner, PAGE};
use super::{FeedChange, FeedKey, Topic};
use crate::application::ports::RepositoryError;

/// Why a subscriber must reload what it shows rather than go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetReason {
    /// The change it resumed from is no longer kept (or never was its):
    /// what it missed cannot be replayed. Live changes follow the reset.
    TooOld,
    /// It fell further behind than the feed holds for it; the
    /// subscription ends after the reset.
    TooSlow,
}

/// What a subscriber is sent next.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// A change, in order.
    Change(Arc<FeedChange>),
    /// Reload, then go on (see [`ResetReason`]).
    Reset(ResetReason),
    /// Nothing happened: tell the client the stream is alive.
    KeepAlive,
}

/// Where a subscription is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Replaying what was missed from the database.
    CatchingUp,
    /// Taking changes from the fan-out.
    Live,
    /// Over: told to reset for being too slow.
    Ended,
}

/// A subscriber's changes, in order: [`next`](Self::next) until `None`
/// (the service stops, or the subscriber fell too far behind).
pub struct Subscription {
    feed: Arc<Inner>,
    topic: Topic,
    phase: Phase,
    /// The last change delivered (or resumed from).
    last: Option<FeedKey>,
    /// Read from the database, not yet delivered.
    pending: VecDeque<Arc<FeedChange>>,
    /// The fan-out, joined once the replay has caught up.
    live: Option<broadcast::Receiver<Fanned>>,
    reset: Option<ResetReason>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("topic", &self.topic)
            .field("phase", &self.phase)
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

impl Subscription {
    pub(super) async fn start(
        feed: Arc<Inner>,
        topic: Topic,
        resume: Option<i64>,
    ) -> Result<Self, RepositoryError> {
        let resumed_from = match resume {
            Some(position) => Some(feed.log.locate(&topic, position).await?),
            None => None,
        };
        let mut subscription = Self {
            feed,
            topic,
            phase: Phase::Live,
            last: None,
            pending: VecDeque::new(),
            live: None,
            reset: None,
        };
        match resumed_from {
            // From now: join the fan-out before answering, so that every
            // change committed after the answer reaches the subscriber.
            None => subscription.join_live(),
            // Too old: reset, then live from now.
            Some(None) => {
                subscription.join_live();
                subscription.reset = Some(ResetReason::TooOld);
            }
            Some(Some(key)) => {
                subscription.last = Some(key);
                subscription.phase = Phase::CatchingUp;
            }
        }
        Ok(subscription)
    }

    fn join_live(&mut self) {
        self.live = Some(self.feed.receiver(&self.topic));
    }

    /// The next delivery; `None` when the subscription is over. A failed
    /// read of what was missed ends it with the error (the subscriber
    /// resumes later from the last change it got).
    pub async fn next(&mut self) -> Option<Result<Delivery, RepositoryError>> {
        loop {
            if let Some(reason) = self.reset.take() {
                return Some(Ok(Delivery::Reset(reason)));
            }
            if let Some(change) = self.pending.pop_front() {
                self.last = Some(change.key);
                return Some(Ok(Delivery::Change(change)));
            }
            match self.phase {
                Phase::Ended => return None,
                Phase::CatchingUp => {
                    if let Err(error) = self.catch_up().await {
                        self.phase = Phase::Ended;
                        return Some(Err(error));
                    }
                }
                Phase::Live => match self.receive().await? {
                    Some(Fanned::Change(change)) => {
                        self.last = Some(change.key);
                        return Some(Ok(Delivery::Change(change)));
                    }
                    Some(Fanned::KeepAlive) => return Some(Ok(Delivery::KeepAlive)),
                    None => {
                        self.phase = Phase::Ended;
                        return Some(Ok(Delivery::Reset(ResetReason::TooSlow)));
                    }
                },
            }
        }
    }

    /// Reads the next page of what was missed. Once a page comes back
    /// short, joins the fan-out and reads once more: whatever the reader
    /// fanned out before the join is below the horizon of that last read.
    async fn catch_up(&mut self) -> Result<(), RepositoryError> {
        let Some(after) = self.last else {
            self.phase = Phase::Live;
            return Ok(());
        };
        let page = self.feed.log.read_topic(&self.topic, after, PAGE).await?;
        let complete = page.len() < PAGE as usize;
        self.pending.extend(page.into_iter().map(Arc::new));
        if complete {
            if self.live.is_some() {
                self.phase = Phase::Live;
            } else {
                self.join_live();
            }
        }
        Ok(())
    }

    /// The next live change not yet delivered (or a keep-alive);
    /// `Some(None)` when the subscriber fell too far behind, `None` when
    /// the feed stopped.
    async fn receive(&mut self) -> Option<Option<Fanned>> {
        let live = self.live.as_mut()?;
        loop {
            match live.recv().await {
                // Already replayed from the database, or read by the
                // reader before this bettor was followed (and so replayed).
                Ok(Fanned::Change(change))
                    if Some(change.key) <= self.last || change.change.is_none() => {}
                Ok(fanned) => return Some(Some(fanned)),
                Err(RecvError::Lagged(_)) => return Some(None),
                Err(RecvError::Closed) => return None,
            }
        }
    }
}
