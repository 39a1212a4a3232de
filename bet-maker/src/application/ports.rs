//! What bet-maker's use cases need from the outside world.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shared_kernel::pagination::PageRequest;
use uuid::Uuid;

use crate::domain::{Bet, BetStatus, LineEvent, PlaceBetError};

/// Why storage could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// The database cannot be reached right now; worth retrying later.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug, or data that breaks an invariant.
    #[error("storage failed: {0}")]
    Failed(String),
}

/// A client's claim on an `Idempotency-Key`: the key, and what the request
/// asked for, so a reuse of the key for something else can be told apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    /// The header's value.
    pub key: String,
    /// The request, written canonically (`<event_id>:<amount>`).
    pub request: String,
}

/// What placing a bet came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// A new bet.
    Placed(Bet),
    /// The key was used before for the same request: the bet it made.
    Replayed(Bet),
}

/// Why a bet was not placed.
#[derive(Debug, thiserror::Error)]
pub enum PlacementError {
    /// bet-maker knows no event with this id.
    #[error("no event with id {0}")]
    UnknownEvent(Uuid),
    /// The domain refused the bet.
    #[error(transparent)]
    Refused(#[from] PlaceBetError),
    /// The idempotency key was used before for a different request.
    #[error("the Idempotency-Key was already used for a different request")]
    KeyReused,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] RepositoryError),
}

/// Decides whether a bet may be placed on the event as it is at that moment.
pub type PlaceDecision<'a> = &'a (dyn Fn(&LineEvent) -> Result<Bet, PlaceBetError> + Send + Sync);

/// Filters for listing bets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BetFilter {
    /// Only bets with this status.
    pub status: Option<BetStatus>,
    /// Only bets on this event.
    pub event_id: Option<Uuid>,
}

/// Stores bets.
#[async_trait]
pub trait BetRepository: Send + Sync {
    /// In one transaction: claims the idempotency key (if any), locks the
    /// event against a concurrent settlement, asks `decide` for the bet on
    /// the event as it is now, and stores it. A settlement that commits
    /// first makes `decide` see the result; one that comes later settles
    /// this bet too. Either way no bet on a finished event stays pending.
    async fn place(
        &self,
        event_id: Uuid,
        claim: Option<IdempotencyClaim>,
        decide: PlaceDecision<'_>,
    ) -> Result<Placement, PlacementError>;

    /// The bet with this id, if any.
    async fn get(&self, id: Uuid) -> Result<Option<Bet>, RepositoryError>;

    /// Up to `page.limit + 1` bets before `page.after`, newest first.
    async fn list(&self, filter: BetFilter, page: PageRequest)
    -> Result<Vec<Bet>, RepositoryError>;
}

/// What applying news of an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// This message was applied before (redelivery): nothing changed.
    Duplicate,
    /// The copy already held this version or a newer one: nothing changed.
    Stale,
    /// The copy now holds this version; `settled` pending bets were settled.
    Updated {
        /// Bets moved from PENDING to WON or LOST.
        settled: u64,
    },
}

/// bet-maker's copy of the line, and settlement.
#[async_trait]
pub trait LineEventStore: Send + Sync {
    /// In one transaction: records `message_id` (a second time is a
    /// [`Applied::Duplicate`]), replaces the copy if `event` is newer, and,
    /// if the event is finished, settles all its pending bets at once.
    async fn apply_message(
        &self,
        message_id: Uuid,
        event: &LineEvent,
    ) -> Result<Applied, RepositoryError>;

    /// The same without a message (resync): replace if newer, settle if
    /// finished.
    async fn apply_snapshot(&self, event: &LineEvent) -> Result<Applied, RepositoryError>;

    /// Up to `page.limit + 1` events open at `now`, after `page.after`, in
    /// id order.
    async fn list_open(
        &self,
        now: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Vec<LineEvent>, RepositoryError>;
}

/// Reads line-provider's events, page by page (for resync).
#[async_trait]
pub trait LineProvider: Send + Sync {
    /// One page of events and the cursor of the next page.
    async fn events_page(
        &self,
        cursor: Option<String>,
    ) -> Result<(Vec<LineEvent>, Option<String>), String>;
}

/// The current time, replaceable in tests.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
