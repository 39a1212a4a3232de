//! Changes to one event take turns in this process before they ask the
//! pool for a connection.
//!
//! The row lock (`SELECT ... FOR UPDATE`) already makes changes to one
//! event wait for each other, across replicas too. But a change waiting
//! for a row lock holds a pooled connection while it waits: a burst of
//! changes to one event would hold every connection of the pool, starving
//! the requests on other events and timing out in the pool's queue. Here
//! the burst queues in memory instead (fairly, first come first served),
//! so each process holds at most one connection per event being changed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use uuid::Uuid;

/// One queue per event with changes in flight; an event's entry goes away
/// with its last waiting change, so the map holds no more entries than
/// there are changes in flight.
#[derive(Debug, Default)]
pub(super) struct Turns {
    queues: Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>>,
}

impl Turns {
    /// A place in the queue of event `id`; [`Ticket::wait`] waits for its
    /// turn.
    pub(super) fn ticket(&self, id: Uuid) -> Ticket<'_> {
        let queue = self.queues().entry(id).or_default().clone();
        Ticket {
            turns: self,
            id,
            queue,
        }
    }

    /// The map stays consistent even if a holder panicked: every change to
    /// it is a single insert or remove.
    fn queues(&self) -> MutexGuard<'_, HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.queues().len()
    }
}

/// A change's place in its event's queue. Dropping it (done, or cancelled
/// while waiting because the client went away) leaves the queue, and
/// removes the queue when it was the last one in it.
#[derive(Debug)]
pub(super) struct Ticket<'a> {
    turns: &'a Turns,
    id: Uuid,
    queue: Arc<tokio::sync::Mutex<()>>,
}

impl Ticket<'_> {
    /// Waits until every change queued before this one is done; the turn
    /// lasts as long as the returned guard.
    pub(super) async fn wait(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.queue.lock().await
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        // Under the map's lock, so that no new ticket clones the queue
        // between the count and the removal. Two holders left: the map and
        // this ticket.
        let mut queues = self.turns.queues();
        if Arc::strong_count(&self.queue) == 2 {
            queues.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_second_change_waits_until_the_first_is_done() {
        let turns = Turns::default();
        let id = Uuid::now_v7();
        let first = turns.ticket(id);
        let turn = first.wait().await;
        let second = turns.ticket(id);

        let waited = tokio::time::timeout(Duration::from_millis(50), second.wait()).await;
        assert!(waited.is_err(), "the second change got a turn too early");

        drop(turn);
        drop(first);
        let waited = tokio::time::timeout(Duration::from_secs(5), second.wait()).await;
        assert!(waited.is_ok(), "the second change never got its turn");
    }

    #[tokio::test]
    async fn changes_to_other_events_do_not_wait() {
        let turns = Turns::default();
        let first = turns.ticket(Uuid::now_v7());
        let _turn = first.wait().await;

        let other = turns.ticket(Uuid::now_v7());

        let waited = tokio::time::timeout(Duration::from_secs(5), other.wait()).await;
        assert!(waited.is_ok(), "a change to another event waited");
    }

    #[tokio::test]
    async fn the_queue_goes_away_with_its_last_ticket_even_a_cancelled_one() {
        let turns = Turns::default();
        let id = Uuid::now_v7();
        let first = turns.ticket(id);
        let turn = first.wait().await;
        {
            let cancelled = turns.ticket(id);
            let waited = tokio::time::timeout(Duration::from_millis(10), cancelled.wait()).await;
            assert!(waited.is_err());
        }
        assert_eq!(turns.len(), 1, "the queue is still in use");

        drop(turn);
        drop(first);

        assert_eq!(turns.len(), 0, "nothing left behind");
    }
}
