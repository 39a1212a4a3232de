//! The house's risk: the largest stake a bettor may place now, an event's
//! exposure, and the traders' limits on events and bettors.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use shared_kernel::pagination::PageRequest;
use uuid::Uuid;

use super::cashier::MAX_REASON_CHARS;
use super::ports::{
    AuditEntry, Clock, LimitChange, LineRepository, OpenEventExposure, RepositoryError,
    RiskRepository, RiskState,
};
use super::{BetError, BetService};
use crate::domain::{
    Bet, BetSum, BettorId, Exposure, LineEventStatus, Price, RiskLimitError, RiskLimits, StakeRoom,
    max_stake, risk_limit,
};

/// The house's risk settings: `BET_MAKER_MAX_PAYOUT` and
/// `BET_MAKER_MAX_LIABILITY_PER_EVENT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskSettings {
    /// The most one bet may pay.
    pub max_payout: Decimal,
    /// An event's maximum liability unless a trader set its own.
    pub max_liability_per_event: Decimal,
}

impl Default for RiskSettings {
    /// The configuration's defaults: 10,000,000.00 and 1,000,000.00.
    fn default() -> Self {
        Self {
            max_payout: Decimal::new(1_000_000_000, 2),
            max_liability_per_event: Decimal::new(100_000_000, 2),
        }
    }
}

impl RiskSettings {
    /// The limits a bet meets given what storage holds.
    pub fn limits(&self, state: &RiskState) -> RiskLimits {
        RiskLimits {
            bettor_max_stake: state.bettor_max_stake,
            max_payout: self.max_payout,
            liability: state.exposure.liability(),
            max_liability: state
                .event_max_liability
                .unwrap_or(self.max_liability_per_event),
        }
    }
}

/// Why a trader's call failed.
#[derive(Debug, thiserror::Error)]
pub enum RiskError {
    /// The limit breaks a rule (422).
    #[error("{0}")]
    InvalidLimit(#[from] RiskLimitError),
    /// The reason is empty or too long (422).
    #[error("reason must be 1 to {MAX_REASON_CHARS} characters, not only spaces")]
    InvalidReason,
    /// bet-maker knows no such event (404).
    #[error("no event with id {0}")]
    UnknownEvent(Uuid),
    /// Storage failed: 503 when the database is unreachable, 500 otherwise.
    #[error(transparent)]
    Storage(#[from] RepositoryError),
}

/// An event's exposure and the maximum liability that applies to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventExposure {
    /// The event.
    pub event_id: Uuid,
    /// Its pending bets, stakes and potential payouts.
    pub exposure: Exposure,
    /// The maximum that applies: the event's own, else the default.
    pub max_liability: Decimal,
    /// The event's own maximum, if a trader set one.
    pub own_max_liability: Option<Decimal>,
}

/// An event not yet decided, as the traders' exposure list shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenExposure {
    /// `New` or `Suspended`.
    pub status: LineEventStatus,
    /// Its coefficient now.
    pub coefficient: Decimal,
    /// When it closes for bets.
    pub deadline: DateTime<Utc>,
    /// Its exposure and the maximum liability that applies.
    pub exposure: EventExposure,
}

/// The largest stake a bettor may place on an event now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StakeQuote {
    /// The event.
    pub event_id: Uuid,
    /// Its coefficient now.
    pub coefficient: Decimal,
    /// The largest stake (0.00: none).
    pub max_stake: Decimal,
    /// The bounds it is the smallest of.
    pub room: StakeRoom,
}

/// The reason an audit entry gives when the trader gave none.
pub const DEFAULT_REASON: &str = "set by a trader";

/// The use cases on the house's risk.
#[derive(Clone)]
pub struct RiskService {
    risk: Arc<dyn RiskRepository>,
    line: Arc<dyn LineRepository>,
    clock: Arc<dyn Clock>,
    settings: RiskSettings,
    house_max_stake: Decimal,
}

impl std::fmt::Debug for RiskService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RiskService")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl RiskService {
    /// The use cases over these ports, with the house's limits.
    pub fn new(
        risk: Arc<dyn RiskRepository>,
        line: Arc<dyn LineRepository>,
        clock: Arc<dyn Clock>,
        settings: RiskSettings,
        house_max_stake: Decimal,
    ) -> Self {
        Self {
            risk,
            line,
            clock,
            settings,
            house_max_stake,
        }
    }

    /// The largest stake `bettor_id` may place on `event_id` now: the
    /// smallest of the balance, the house's and the bettor's maximum
    /// stake, the payout cap and the event's liability room
    /// ([`max_stake`], as a refusal's `max_stake` says). An event closed
    /// for betting is refused as a bet on it would be.
    pub async fn max_stake(
        &self,
        bettor_id: &BettorId,
        event_id: Uuid,
    ) -> Result<StakeQuote, BetError> {
        let now = self.clock.now();
        let event = self
            .line
            .recent_event(event_id, now)
            .await?
            .ok_or(BetError::UnknownEvent(event_id))?;
        // The very rule a bet meets, with a one-cent probe: whatever closes
        // an event to bets closes it to quotes, with the same refusal.
        let probe = BetSum::restore(Decimal::new(1, 2));
        Bet::place(Uuid::nil(), bettor_id.clone(), &[&event], probe, now)?;
        let state = self
            .risk
            .state(bettor_id, event_id)
            .await?
            .ok_or(BetError::UnknownEvent(event_id))?;
        let room = StakeRoom {
            balance: state.balance,
            house_max_stake: self.house_max_stake,
            limits: self.settings.limits(&state),
        };
        Ok(StakeQuote {
            event_id,
            coefficient: event.coefficient,
            max_stake: max_stake(&Price::of([event.coefficient]), &room),
            room,
        })
    }

    /// The event's exposure now.
    pub async fn exposure(&self, event_id: Uuid) -> Result<EventExposure, RiskError> {
        let (exposure, own) = self
            .risk
            .exposure(event_id)
            .await?
            .ok_or(RiskError::UnknownEvent(event_id))?;
        Ok(self.with_maximum(event_id, exposure, own))
    }

    /// Every event not yet decided (`NEW` or `SUSPENDED`) with its
    /// exposure now, newest first: a page, with one row more than
    /// `page.limit` when more follow.
    pub async fn open_exposures(&self, page: PageRequest) -> Result<Vec<OpenExposure>, RiskError> {
        let rows = self.risk.open_exposures(page).await?;
        Ok(rows
            .into_iter()
            .map(|row: OpenEventExposure| OpenExposure {
                status: row.status,
                coefficient: row.coefficient,
                deadline: row.deadline,
                exposure: self.with_maximum(row.event_id, row.exposure, row.own_max_liability),
            })
            .collect())
    }

    /// The exposure with the maximum that applies: the event's own, else
    /// the default.
    fn with_maximum(
        &self,
        event_id: Uuid,
        exposure: Exposure,
        own: Option<Decimal>,
    ) -> EventExposure {
        EventExposure {
            event_id,
            exposure,
            max_liability: own.unwrap_or(self.settings.max_liability_per_event),
            own_max_liability: own,
        }
    }

    /// Sets the event's maximum liability (`None`: the default applies
    /// again), audited; the exposure after it. Lowering it below the
    /// liability already taken refuses further bets that add to it; it
    /// voids none.
    pub async fn set_event_limit(
        &self,
        change: LimitChange<Uuid>,
    ) -> Result<(EventExposure, AuditEntry), RiskError> {
        let event_id = change.subject;
        let change = checked(change)?;
        let entry = self
            .risk
            .set_event_limit(change)
            .await?
            .ok_or(RiskError::UnknownEvent(event_id))?;
        tracing::info!(event_id = %event_id, actor = %entry.actor, "event limit set");
        Ok((self.exposure(event_id).await?, entry))
    }

    /// Sets the bettor's stake cap (`None` removes it), audited.
    pub async fn set_bettor_limit(
        &self,
        change: LimitChange<BettorId>,
    ) -> Result<(Option<Decimal>, AuditEntry), RiskError> {
        let change = checked(change)?;
        let limit = change.limit;
        let entry = self.risk.set_bettor_limit(change).await?;
        tracing::info!(bettor_id = %entry.subject, actor = %entry.actor, "bettor limit set");
        Ok((limit, entry))
    }
}

/// The change with its limit checked and two decimals, and a reason.
fn checked<T>(change: LimitChange<T>) -> Result<LimitChange<T>, RiskError> {
    let limit = change.limit.map(risk_limit).transpose()?;
    let reason = match change.reason.trim() {
        "" => DEFAULT_REASON.to_owned(),
        reason if reason.chars().count() > MAX_REASON_CHARS => {
            return Err(RiskError::InvalidReason);
        }
        reason => reason.to_owned(),
    };
    Ok(LimitChange {
        limit,
        reason,
        ..change
    })
}

impl BetService {
    /// The same use cases with the house's risk settings (the defaults
    /// until this is called).
    pub fn with_risk(mut self, settings: RiskSettings) -> Self {
        self.risk = settings;
        self
    }
}
