//! What bet-maker's use cases need from the outside world.
//!
//! Each port states its error contract in its own types: storage failures
//! arrive as a [`StorageError`] (which operation, whether the database was
//! unreachable, and the driver's error as the cause), so no port mentions
//! the database library and no caller reads error messages.

use std::error::Error;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shared_kernel::pagination::PageRequest;
use shared_kernel::storage::StorageError;
use uuid::Uuid;

use rust_decimal::Decimal;

use crate::domain::{Bet, BetStatus, BettorId, LineEvent, Posting, Refusal, WalletLine};

/// Why storage could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// A database operation failed; the error names it and says whether
    /// the database was unreachable (worth retrying later).
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl RepositoryError {
    /// Whether the database was unreachable: retry later (503), rather
    /// than a fault (500).
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Storage(storage) => storage.is_unavailable(),
        }
    }
}

/// A bettor's claim on an `Idempotency-Key`: whose key, the key, and what
/// the request asked for, so a reuse of the key for something else can be
/// told apart. Keys belong to their bettor: two bettors sending the same
/// key hold two different keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    /// The bettor the key belongs to.
    pub bettor_id: BettorId,
    /// The header's value.
    pub key: String,
    /// The request, written canonically: `<event_id>:<amount>` for a bet,
    /// `deposit:<amount>` or `withdrawal:<amount>` for a wallet movement.
    pub request: String,
}

/// The bet a placement came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlacedBet {
    /// A new bet, placed now.
    New(Bet),
    /// The key was used before for the same request: the bet it placed,
    /// as it is now (maybe settled since).
    Replayed(Bet),
}

impl PlacedBet {
    /// The bet, new or replayed.
    pub fn into_bet(self) -> Bet {
        match self {
            Self::New(bet) | Self::Replayed(bet) => bet,
        }
    }
}

/// A bet decided on one version of its event, with the stake it takes
/// from its bettor's wallet: what [`BetRepository::place`] writes.
#[derive(Debug, Clone, Copy)]
pub struct BetToPlace<'a> {
    /// The bet, as the domain placed it.
    pub bet: &'a Bet,
    /// The version of the event it was decided on.
    pub event_version: i64,
    /// The stake's posting ([`crate::domain::stake`]).
    pub stake: &'a Posting,
    /// The bettor's idempotency key, if sent, claimed for the bet.
    pub claim: Option<&'a IdempotencyClaim>,
}

/// What writing a decided bet came to. Anything but `Placed` wrote
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceOutcome {
    /// The bet, its stake's ledger transaction and the debit of the wallet
    /// are committed, with the key if there was one.
    Placed,
    /// The copy no longer holds the event at the version the bet was
    /// decided on (or not at all): decide again on the event as it is.
    EventChanged,
    /// The wallet does not cover the stake ([`crate::domain::check_funds`]);
    /// its balance (0.00 when the bettor has no wallet yet).
    InsufficientFunds {
        /// The balance found.
        balance: Decimal,
    },
    /// The bettor's key was claimed before (by an earlier request, or a
    /// concurrent one that committed first).
    KeyTaken,
}

/// What a bettor's idempotency key was used for before, as a bet request
/// sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EarlierBet {
    /// The same request: the bet it placed, as it is now.
    Same(Bet),
    /// Another request (another event, amount, odds, or a wallet
    /// movement).
    Different,
}

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
    /// In one statement: locks the event against a concurrent settlement
    /// if the copy still holds it open at `to_place.event_version`, debits
    /// the stake from the bettor's wallet if it covers it, stores the bet
    /// and the stake's ledger transaction, and claims the key (if any); all
    /// of it or nothing. A settlement that commits first moves the version
    /// ([`PlaceOutcome::EventChanged`]); one that comes later settles this
    /// bet too. Either way no bet on a finished event stays pending.
    ///
    /// Errors: storage only; the rest are outcomes.
    async fn place(&self, to_place: BetToPlace<'_>) -> Result<PlaceOutcome, RepositoryError>;

    /// What the claim's bettor used the claim's key for before, if
    /// anything; only that bettor's keys are looked at.
    async fn earlier_use(
        &self,
        claim: &IdempotencyClaim,
    ) -> Result<Option<EarlierBet>, RepositoryError>;

    /// The bet with this id, if it is `bettor_id`'s (another bettor's is
    /// `None`, as if it did not exist).
    async fn get(&self, bettor_id: &BettorId, id: Uuid) -> Result<Option<Bet>, RepositoryError>;

    /// Up to `page.limit + 1` of `bettor_id`'s bets before `page.after`,
    /// newest first.
    async fn list(
        &self,
        bettor_id: &BettorId,
        filter: BetFilter,
        page: PageRequest,
    ) -> Result<Vec<Bet>, RepositoryError>;
}

/// What applying news of an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// This message was applied before (a redelivery): nothing changed.
    AlreadyApplied,
    /// The copy holds this very version already: nothing changed.
    Unchanged,
    /// The copy holds a newer version, consistent with this one: nothing
    /// changed.
    Outdated {
        /// The version the copy holds.
        held_version: i64,
    },
    /// The copy now holds this version.
    Applied {
        /// Pending bets settled (moved to WON or LOST) because of it.
        bets_settled: u64,
    },
    /// Refused by the rules of the line ([`LineEvent::accepts`]) or
    /// because its `message_id` came before with other content: nothing
    /// changed, nothing recorded.
    Refused(Refusal),
}

/// bet-maker's copy of the line: the newest version heard of each event,
/// and the settlement of its bets when it finishes.
#[async_trait]
pub trait LineRepository: Send + Sync {
    /// In one transaction: records `message_id` with a digest of the
    /// event's content (a second time with the same content is
    /// [`ApplyOutcome::AlreadyApplied`], with other content
    /// [`Refusal::MessageIdReused`]), replaces the copy if the copy
    /// accepts it ([`LineEvent::accepts`]; a conflict is
    /// [`ApplyOutcome::Refused`] and rolls everything back), and, if the
    /// event is then finished, settles all its pending bets
    /// ([`crate::domain::payout`]).
    async fn apply_message(
        &self,
        message_id: Uuid,
        event: &LineEvent,
    ) -> Result<ApplyOutcome, RepositoryError>;

    /// The same without a message (resync, or seeding): replace if the copy
    /// accepts it, settle if finished.
    async fn apply_snapshot(&self, event: &LineEvent) -> Result<ApplyOutcome, RepositoryError>;

    /// The event as the copy holds it now.
    async fn event(&self, id: Uuid) -> Result<Option<LineEvent>, RepositoryError>;

    /// The event as the copy held it a moment ago (from memory, where a
    /// replica keeps the open events): good enough to decide a bet on,
    /// since the bet is written only if the copy still holds that version.
    async fn recent_event(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<LineEvent>, RepositoryError> {
        let _ = now;
        self.event(id).await
    }

    /// Up to `page.limit + 1` events open at `now`, after `page.after`, in
    /// id order.
    async fn list_open(
        &self,
        now: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Vec<LineEvent>, RepositoryError>;
}

/// One page of line-provider's events, and the cursor of the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinePage {
    /// The events on this page.
    pub events: Vec<LineEvent>,
    /// Pass to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Why line-provider's events could not be read. Each says what was asked
/// for and keeps the client's error as its cause.
#[derive(Debug, thiserror::Error)]
pub enum LineProviderError {
    /// No answer: refused, timed out, cut, or line-provider unavailable
    /// (worth retrying later).
    #[error("requesting {what} from line-provider")]
    Unreachable {
        /// What was asked for (`ListEvents`).
        what: String,
        /// The client's error.
        #[source]
        source: Box<dyn Error + Send + Sync>,
    },
    /// line-provider answered with an error (a bad request, an internal
    /// error): retrying the same request will not help.
    #[error("line-provider refused {what}")]
    Refused {
        /// What was asked for.
        what: String,
        /// The error it answered with.
        #[source]
        source: Box<dyn Error + Send + Sync>,
    },
    /// The answer was not a page of events.
    #[error("reading line-provider's answer to {what}")]
    UnreadablePage {
        /// What was asked for.
        what: String,
        /// Why it could not be read.
        #[source]
        source: Box<dyn Error + Send + Sync>,
    },
}

/// Reads line-provider's events, page by page (for resync).
#[async_trait]
pub trait LineProvider: Send + Sync {
    /// The page after `cursor` (the first page without one).
    async fn events_page(&self, cursor: Option<String>) -> Result<LinePage, LineProviderError>;
}

/// The current time: the same port in both services.
pub use shared_kernel::clock::{Clock, SystemClock};

/// One line of a bettor's wallet statement: one movement of their money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    /// The line's id (time-ordered).
    pub id: Uuid,
    /// What happened.
    pub kind: WalletLine,
    /// How the balance changed: positive in, negative out.
    pub amount: Decimal,
    /// The balance right after.
    pub balance_after: Decimal,
    /// The bet it was for, if any.
    pub bet_id: Option<Uuid>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// What posting a wallet movement came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostOutcome {
    /// Posted: its wallet line.
    Posted(StatementLine),
    /// The balance would have gone below zero (it changed since the
    /// posting was decided): nothing was written.
    BalanceChanged,
    /// The balance would exceed the most a wallet can hold
    /// ([`crate::domain::MAX_BALANCE`]): nothing was written.
    BalanceLimit,
    /// Another request of the bettor holds the idempotency key already (a
    /// concurrent duplicate committed first): nothing was written.
    KeyTaken,
}

/// What a bettor's idempotency key was used for before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EarlierUse {
    /// The same request: the wallet line it posted.
    Same(StatementLine),
    /// Another request (another amount, operation, or a bet).
    Different,
}

/// Bettors' wallets and the ledger behind them.
#[async_trait]
pub trait WalletRepository: Send + Sync {
    /// The bettor's balance: 0.00 before their first deposit.
    async fn balance(&self, bettor: &BettorId) -> Result<Decimal, RepositoryError>;

    /// Posts `posting` as one ledger transaction and changes the wallet's
    /// balance by its wallet entries, and claims the bettor's idempotency
    /// key (if any) for the posted line: all of it or nothing.
    ///
    /// Errors: storage only; a balance that would go negative and a key
    /// already held are outcomes, [`PostOutcome::BalanceChanged`] and
    /// [`PostOutcome::KeyTaken`], with nothing written.
    async fn post(
        &self,
        bettor: &BettorId,
        posting: &Posting,
        claim: Option<&IdempotencyClaim>,
    ) -> Result<PostOutcome, RepositoryError>;

    /// What the claim's bettor used the claim's key for before, if
    /// anything; only that bettor's keys are looked at.
    async fn earlier_use(
        &self,
        claim: &IdempotencyClaim,
    ) -> Result<Option<EarlierUse>, RepositoryError>;

    /// A page of the bettor's statement, newest first (one extra when
    /// there are more).
    async fn statement(
        &self,
        bettor: &BettorId,
        page: PageRequest,
    ) -> Result<Vec<StatementLine>, RepositoryError>;
}
