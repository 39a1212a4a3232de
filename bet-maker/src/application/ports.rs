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

use crate::domain::{
    Adjustment, Announced, Bet, BetStatus, BetSum, BettorId, CashOutOffer, CashOutRefused,
    ContradictsFinal, DepositLimitReached, Excluded, ExclusionKind, ExclusionRequest, Exposure,
    InsufficientFunds, Limit, LimitKind, LimitPeriod, LineEvent, LineEventStatus, PaymentKind,
    PaymentStatus, Posting, ProviderOutcome, Refusal, RiskLimits, WalletLine,
};

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
    /// The request, written canonically: `<event_id>:<amount>` for a single
    /// (`acc:<amount>:<accept>` then `:<event_id>[=<seen>]` per leg for an
    /// accumulator),
    /// `deposit:<amount>` or `withdrawal:<amount>` for a payment.
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

/// A bet decided on one version of each of its legs' events, with the
/// stake it takes from its bettor's wallet: what [`BetRepository::place`]
/// writes.
#[derive(Debug, Clone, Copy)]
pub struct BetToPlace<'a> {
    /// The bet, as the domain placed it.
    pub bet: &'a Bet,
    /// The version of each leg's event it was decided on, in the legs'
    /// order.
    pub event_versions: &'a [i64],
    /// The stake's posting ([`crate::domain::stake`]).
    pub stake: &'a Posting,
    /// The bettor's idempotency key, if sent, claimed for the bet.
    pub claim: Option<&'a IdempotencyClaim>,
    /// What the risk limits need to know of it ([`crate::domain::check_risk`]).
    pub risk: BetRisk,
}

/// A bet's side of the risk rules, decided with the bet and checked where
/// it is written: its potential payout, the payout cap, and the maximum
/// liability of an event no trader set one for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BetRisk {
    /// round(stake × price, 2) ([`crate::domain::Bet::potential_payout`]).
    pub potential_payout: Decimal,
    /// `BET_MAKER_MAX_PAYOUT`.
    pub max_payout: Decimal,
    /// `BET_MAKER_MAX_LIABILITY_PER_EVENT`.
    pub default_max_liability: Decimal,
}

/// What writing a decided bet came to. Anything but `Placed` wrote
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceOutcome {
    /// The bet, its stake's ledger transaction and the debit of the wallet
    /// are committed, with the key if there was one.
    Placed,
    /// The copy no longer holds an event at the version the bet was
    /// decided on (or not at all): decide again on the events as they are.
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
    /// The bettor has excluded themselves from betting until then.
    Excluded(Excluded),
    /// A risk limit refuses the bet ([`crate::domain::check_risk`] on the
    /// limits the statement saw, every leg's event exposure locked: the
    /// tightest of them), and the
    /// balance then, for the refusal's `max_stake`.
    OverLimit {
        /// The limit broken.
        refused: LimitKind,
        /// The limits as they were.
        limits: RiskLimits,
        /// The wallet's balance.
        balance: Decimal,
    },
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
    /// [`Refusal::MessageIdReused`]), keeps the coefficient it offered and
    /// from when ([`crate::domain::Offered`]), replaces the copy if the copy
    /// accepts it ([`LineEvent::accepts`]; a conflict is
    /// [`ApplyOutcome::Refused`] and rolls everything back), and, if the
    /// event is then decided, settles its bets ([`crate::domain::settle`]):
    /// the pending ones, and on a correction the settled ones again.
    async fn apply_message(
        &self,
        message_id: Uuid,
        change: &Announced,
    ) -> Result<ApplyOutcome, RepositoryError>;

    /// The same without a message (resync, or seeding), as a change made
    /// now and not a correction: replace if the copy accepts it, settle if
    /// decided.
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

    /// While the open events [`Self::list_open`] answers from are held in
    /// memory and due no reload, a number that changes whenever they do;
    /// `None` otherwise. An answer made from them is the answer again while
    /// this stays the same and no deadline on it has passed.
    fn open_events_version(&self) -> Option<u64> {
        None
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
    /// The deposit or withdrawal it was for, if any.
    pub payment_id: Option<Uuid>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Bettors' wallets and the ledger behind them.
#[async_trait]
pub trait WalletRepository: Send + Sync {
    /// The bettor's balance: 0.00 before their first deposit.
    async fn balance(&self, bettor: &BettorId) -> Result<Decimal, RepositoryError>;

    /// A page of the bettor's statement, newest first (one extra when
    /// there are more).
    async fn statement(
        &self,
        bettor: &BettorId,
        page: PageRequest,
    ) -> Result<Vec<StatementLine>, RepositoryError>;
}

/// A deposit or a withdrawal, as bet-maker keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// Our id: the `reference` the provider's notices carry.
    pub id: Uuid,
    /// Deposit or withdrawal.
    pub kind: PaymentKind,
    /// Whose.
    pub bettor_id: BettorId,
    /// How much, two decimals.
    pub amount: Decimal,
    /// In the wallet's currency.
    pub currency: String,
    /// Where it stands.
    pub status: PaymentStatus,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    /// When the provider's word came (`None` while pending).
    pub decided_at: Option<DateTime<Utc>>,
}

/// A deposit or withdrawal to record, as the bettor asked for it.
#[derive(Debug, Clone, Copy)]
pub struct PaymentRequest<'a> {
    /// Its id, new.
    pub id: Uuid,
    /// Deposit or withdrawal.
    pub kind: PaymentKind,
    /// Whose wallet.
    pub bettor_id: &'a BettorId,
    /// How much.
    pub amount: BetSum,
    /// Now, by the application's clock: the moment the limits and
    /// exclusions are read at, and the request's `created_at`.
    pub now: DateTime<Utc>,
    /// The bettor's idempotency key, if sent, claimed for the request.
    pub claim: Option<&'a IdempotencyClaim>,
}

/// What recording a payment request came to. Anything but `Requested`
/// wrote nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestOutcome {
    /// Recorded (a withdrawal's money reserved, in the same transaction).
    Requested(Payment),
    /// A deposit while the bettor is excluded ([`crate::domain::excluded_at`]).
    Excluded(Excluded),
    /// A deposit past a limit ([`crate::domain::check_deposit`]).
    DepositLimit(DepositLimitReached),
    /// A withdrawal the balance does not cover.
    InsufficientFunds(InsufficientFunds),
    /// Another request of the bettor holds the key.
    KeyTaken,
}

/// What a bettor's idempotency key was used for before, as a payment
/// request sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EarlierPayment {
    /// The same request: the payment it made, as it is now.
    Same(Payment),
    /// Another request.
    Different,
}

/// The provider's word on one of our payments: a verified webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderNotice {
    /// The provider's event id: applied once, whatever it retries.
    pub event_id: String,
    /// What happened.
    pub outcome: ProviderOutcome,
    /// Our payment's id.
    pub reference: Uuid,
    /// The amount the provider moved.
    pub amount: Decimal,
    /// In this currency.
    pub currency: String,
}

/// What applying a provider's notice came to. Only `Applied` and
/// `AlreadyThere` record it; the refusals write nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeOutcome {
    /// The payment took the notice's status (and its money moved).
    Applied(Payment),
    /// This event id was applied before, with the same content.
    Duplicate,
    /// Another event id said the same before: the payment is there already.
    AlreadyThere(Payment),
    /// This event id came before with other content.
    EventIdReused,
    /// No payment of the notice's kind has this id.
    UnknownReference,
    /// The amount or currency is not the payment's.
    Mismatch {
        /// The payment's amount.
        amount: Decimal,
        /// The payment's currency.
        currency: String,
    },
    /// The payment is final the other way.
    Contradicts(ContradictsFinal),
    /// Crediting it would take the wallet past what it can hold.
    BalanceLimit,
}

/// Deposits and withdrawals, and the provider's notices about them.
#[async_trait]
pub trait PaymentRepository: Send + Sync {
    /// In one transaction that holds the bettor's wallet (made, empty, if
    /// it is the first use): for a deposit, refuses it if the bettor is
    /// excluded or a limit would be passed (the deposits of each window
    /// counted under that lock, so concurrent deposits cannot both slip
    /// under a limit); for a withdrawal, refuses it if the balance does not
    /// cover it, else reserves the money ([`crate::domain::withdrawal`]);
    /// then records the request and claims the key.
    async fn request(&self, request: PaymentRequest<'_>)
    -> Result<RequestOutcome, RepositoryError>;

    /// What the claim's bettor used the claim's key for before, if
    /// anything, seen by a request for `kind`.
    async fn earlier_use(
        &self,
        claim: &IdempotencyClaim,
        kind: PaymentKind,
    ) -> Result<Option<EarlierPayment>, RepositoryError>;

    /// The bettor's payment of `kind` with this id (another bettor's is
    /// `None`).
    async fn get(
        &self,
        bettor_id: &BettorId,
        kind: PaymentKind,
        id: Uuid,
    ) -> Result<Option<Payment>, RepositoryError>;

    /// Up to `page.limit + 1` of the bettor's payments of `kind`, newest
    /// first.
    async fn list(
        &self,
        bettor_id: &BettorId,
        kind: PaymentKind,
        page: PageRequest,
    ) -> Result<Vec<Payment>, RepositoryError>;

    /// In one transaction: records the notice's event id (a second time
    /// is [`NoticeOutcome::Duplicate`], however concurrently), holds its
    /// payment, and applies the provider's word to it
    /// ([`crate::domain::decide`]): its status, and the posting that goes
    /// with it. Every refusal rolls everything back.
    async fn apply(
        &self,
        notice: &ProviderNotice,
        now: DateTime<Utc>,
    ) -> Result<NoticeOutcome, RepositoryError>;
}

/// The payment provider, told of each request. The production adapter
/// does nothing: the provider learns of a deposit from the bettor's own
/// payment page and answers with its webhook. The sandbox answers
/// itself.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// A payment was asked for (once: a replayed key does not ask again).
    async fn requested(&self, payment: &Payment);
}

/// A cashier's adjustment to make.
#[derive(Debug, Clone, Copy)]
pub struct AdjustmentRequest<'a> {
    /// The staff member.
    pub actor: &'a BettorId,
    /// Whose wallet.
    pub bettor_id: &'a BettorId,
    /// How much, signed.
    pub amount: Adjustment,
    /// Why (1 to 500 characters).
    pub reason: &'a str,
}

/// One staff action, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Its id (time-ordered).
    pub id: Uuid,
    /// The staff member (their token's `sub`).
    pub actor: String,
    /// What they did (`wallet.adjust`).
    pub action: String,
    /// On what (`wallet:<bettor>`).
    pub subject: String,
    /// Why.
    pub reason: String,
    /// The subject before.
    pub before: Option<serde_json::Value>,
    /// The subject after.
    pub after: Option<serde_json::Value>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// What an adjustment came to. Anything but `Adjusted` wrote nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum AdjustOutcome {
    /// Posted, with its audit entry, in one transaction (boxed: the
    /// refusals are small).
    Adjusted(Box<(StatementLine, AuditEntry)>),
    /// It would take the wallet below zero.
    InsufficientFunds(InsufficientFunds),
    /// It would take the wallet past what it can hold.
    BalanceLimit,
}

/// The staff's actions and their audit log.
#[async_trait]
pub trait StaffRepository: Send + Sync {
    /// In one transaction holding the wallet (made, empty, at first use):
    /// the adjustment's posting ([`crate::domain::adjustment`]) and its
    /// audit entry.
    async fn adjust(
        &self,
        request: AdjustmentRequest<'_>,
    ) -> Result<AdjustOutcome, RepositoryError>;

    /// Up to `page.limit + 1` audit entries, newest first.
    async fn audit(&self, page: PageRequest) -> Result<Vec<AuditEntry>, RepositoryError>;
}

/// An exclusion a bettor set on themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exclusion {
    /// Its id.
    pub id: Uuid,
    /// Time-out or self-exclusion.
    pub kind: ExclusionKind,
    /// When it began.
    pub starts_at: DateTime<Utc>,
    /// When it ends; `None`: never.
    pub until: Option<DateTime<Utc>>,
}

/// A bettor's own limits and exclusions.
#[async_trait]
pub trait AccountRepository: Send + Sync {
    /// The bettor's deposit limits as stored (a pending change may be due:
    /// [`Limit::at`]).
    async fn limits(
        &self,
        bettor_id: &BettorId,
    ) -> Result<Vec<(LimitPeriod, Limit)>, RepositoryError>;

    /// In one transaction holding the bettor's wallet (as a deposit does,
    /// so a deposit sees the limits before or after, never between):
    /// applies each change ([`Limit::change`] at `now`); returns every
    /// limit after.
    async fn change_limits(
        &self,
        bettor_id: &BettorId,
        changes: &[(LimitPeriod, Option<Decimal>)],
        now: DateTime<Utc>,
    ) -> Result<Vec<(LimitPeriod, Limit)>, RepositoryError>;

    /// Records an exclusion from `now`.
    async fn exclude(
        &self,
        bettor_id: &BettorId,
        request: ExclusionRequest,
        now: DateTime<Utc>,
    ) -> Result<Exclusion, RepositoryError>;

    /// The bettor's exclusions that still last at `now`.
    async fn exclusions(
        &self,
        bettor_id: &BettorId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Exclusion>, RepositoryError>;
}

/// What bounds one bettor's stakes on one event, as storage holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskState {
    /// The bettor's balance (0.00 without a wallet).
    pub balance: Decimal,
    /// The bettor's cap, if a trader set one.
    pub bettor_max_stake: Option<Decimal>,
    /// The event's exposure.
    pub exposure: Exposure,
    /// The event's maximum liability, if a trader set one.
    pub event_max_liability: Option<Decimal>,
}

/// An event not yet decided (`NEW` or `SUSPENDED`) and its exposure, as
/// storage holds them: a row of the traders' exposure list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenEventExposure {
    /// The event.
    pub event_id: Uuid,
    /// `New` or `Suspended`.
    pub status: LineEventStatus,
    /// Its coefficient now.
    pub coefficient: Decimal,
    /// When it closes for bets.
    pub deadline: DateTime<Utc>,
    /// Its pending bets, stakes and potential payouts.
    pub exposure: Exposure,
    /// Its own maximum liability, if a trader set one.
    pub own_max_liability: Option<Decimal>,
}

/// A trader's change of a limit, audited with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitChange<T> {
    /// The trader (their token's `sub`).
    pub actor: BettorId,
    /// What the limit is on.
    pub subject: T,
    /// The new limit; `None` removes it.
    pub limit: Option<Decimal>,
    /// Why (the audit entry's reason).
    pub reason: String,
}

/// The house's risk: exposures and the traders' limits.
#[async_trait]
pub trait RiskRepository: Send + Sync {
    /// What bounds `bettor_id`'s stakes on `event_id`; `None` when no such
    /// event is stored.
    ///
    /// Errors: storage only.
    async fn state(
        &self,
        bettor_id: &BettorId,
        event_id: Uuid,
    ) -> Result<Option<RiskState>, RepositoryError>;

    /// The event's exposure and its own maximum liability, if any; `None`
    /// for an unknown event.
    ///
    /// Errors: storage only.
    async fn exposure(
        &self,
        event_id: Uuid,
    ) -> Result<Option<(Exposure, Option<Decimal>)>, RepositoryError>;

    /// The events not yet decided (`NEW` or `SUSPENDED`, past their
    /// deadline or not) with their exposure, newest first: up to
    /// `page.limit + 1` of them after `page.after`, so that the caller
    /// can tell whether more follow.
    ///
    /// Errors: storage only.
    async fn open_exposures(
        &self,
        page: PageRequest,
    ) -> Result<Vec<OpenEventExposure>, RepositoryError>;

    /// Sets (or removes) an event's maximum liability, with its audit
    /// entry, in one transaction; `None` for an unknown event, writing
    /// nothing.
    ///
    /// Errors: storage only.
    async fn set_event_limit(
        &self,
        change: LimitChange<Uuid>,
    ) -> Result<Option<AuditEntry>, RepositoryError>;

    /// Sets (or removes) a bettor's stake cap, with its audit entry, in
    /// one transaction.
    ///
    /// Errors: storage only.
    async fn set_bettor_limit(
        &self,
        change: LimitChange<BettorId>,
    ) -> Result<AuditEntry, RepositoryError>;
}

/// A cash-out quote as stored: the offer, for whom, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashOutQuote {
    /// The quote's id (UUID v7).
    pub id: Uuid,
    /// The bet it is for.
    pub bet_id: Uuid,
    /// What the bet is paid if it is taken, and the open legs' events as
    /// they were ([`crate::domain::cash_out_offer`]).
    pub offer: CashOutOffer,
    /// When it was made.
    pub quoted_at: DateTime<Utc>,
    /// When it stops being valid.
    pub expires_at: DateTime<Utc>,
}

/// What accepting a quote came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptOutcome {
    /// The bet is cashed out at the quote: now, or by an earlier accept of
    /// this very quote (the same bet, paid once).
    CashedOut(Bet),
    /// No such bet of this bettor.
    UnknownBet,
    /// No such quote for this bet.
    UnknownQuote,
    /// The rules refuse it now; nothing was written.
    Refused(CashOutRefused),
}

/// Stores cash-out quotes, and takes them.
#[async_trait]
pub trait CashOutRepository: Send + Sync {
    /// Keeps `quote`.
    async fn save_quote(&self, quote: &CashOutQuote) -> Result<(), RepositoryError>;

    /// Accepts quote `quote_id` of `bettor_id`'s bet `bet_id` at `now`, in
    /// one transaction and exactly once however often it is sent: the
    /// quoted events locked (`FOR SHARE`) and held to the quote by
    /// [`crate::domain::check_quote_holds`], then the bet (`FOR UPDATE`);
    /// the bet `CASHED_OUT` at the quote, its stake and payout posted by
    /// [`crate::domain::settlement`], the wallet credited, and the bet's
    /// weight taken off its open legs' event exposures.
    async fn accept(
        &self,
        bettor_id: &BettorId,
        bet_id: Uuid,
        quote_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<AcceptOutcome, RepositoryError>;
}

/// A message bet-maker dead-lettered, and why, as kept for staff (the
/// message itself is in the dead-letter queue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterRecord {
    /// The record's id (UUID v7: newer ones are greater).
    pub id: Uuid,
    /// Why, as a label from a fixed set (`malformed`, `bad_signature`,
    /// `failed_repeatedly`, ...).
    pub label: String,
    /// Why, in words.
    pub reason: String,
    /// The routing key it was published with.
    pub routing_key: String,
    /// Its AMQP `message_id`, if it had one.
    pub message_id: Option<String>,
    /// When it was dead-lettered.
    pub dead_lettered_at: DateTime<Utc>,
}

/// Keeps the latest dead letters' records, whichever replica made them.
#[async_trait]
pub trait DeadLetterLog: Send + Sync {
    /// Keeps `record`; older records beyond a bound (about a thousand)
    /// are dropped.
    ///
    /// Errors: storage only.
    async fn record(&self, record: &DeadLetterRecord) -> Result<(), RepositoryError>;

    /// The latest `limit` records, newest first.
    ///
    /// Errors: storage only.
    async fn latest(&self, limit: u32) -> Result<Vec<DeadLetterRecord>, RepositoryError>;
}
