//! In-memory fakes of the ports, for the use cases' unit tests. They keep
//! the ports' contracts with the domain's own rules (the copy's `accepts`,
//! settlement pays by `payout`), so a use case tested against them behaves
//! as against PostgreSQL.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shared_kernel::pagination::PageRequest;
use uuid::Uuid;

use rust_decimal::Decimal;

use super::ports::{
    ApplyOutcome, BetFilter, BetRepository, BetToPlace, Clock, EarlierBet, IdempotencyClaim,
    LinePage, LineProvider, LineProviderError, LineRepository, PlaceOutcome, RepositoryError,
};
use crate::domain::{
    Acceptance, Announced, Bet, BetStatus, BettorId, Leg, LineEvent, Refusal, StoredBet, ToSettle,
    check_funds, settle, settle_bet,
};

/// A clock that says what it is told.
#[derive(Debug)]
pub struct FixedClock(pub Mutex<DateTime<Utc>>);

impl FixedClock {
    pub fn at(now: DateTime<Utc>) -> Self {
        Self(Mutex::new(now))
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Debug, Default)]
struct Tables {
    events: BTreeMap<Uuid, LineEvent>,
    bets: BTreeMap<Uuid, Bet>,
    inbox: HashMap<Uuid, String>,
    /// (bettor, key) to (request, bet).
    keys: HashMap<(BettorId, String), (String, Uuid)>,
    wallets: HashMap<BettorId, Decimal>,
    /// What `recent_event` answers instead of the copy, as a replica's
    /// memory that has not yet heard of a change.
    remembered: HashMap<Uuid, LineEvent>,
    /// When each decided event was first decided.
    decided: HashMap<Uuid, DateTime<Utc>>,
}

/// One in-memory "database" behind both repositories, so settling an
/// event settles the bets placed on it.
#[derive(Debug, Default)]
pub struct InMemoryStore(Mutex<Tables>);

impl InMemoryStore {
    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pays `amount` into the bettor's wallet.
    pub fn fund(&self, bettor: &BettorId, amount: Decimal) {
        *self.tables().wallets.entry(bettor.clone()).or_default() += amount;
    }

    /// The bettor's balance.
    pub fn balance(&self, bettor: &BettorId) -> Decimal {
        self.tables()
            .wallets
            .get(bettor)
            .copied()
            .unwrap_or_default()
    }

    /// Makes `recent_event` answer `event` for its id, whatever the copy
    /// holds.
    pub fn remember(&self, event: LineEvent) {
        self.tables().remembered.insert(event.id, event);
    }

    /// Every bet stored.
    pub fn bets(&self) -> Vec<Bet> {
        self.tables().bets.values().cloned().collect()
    }

    /// The copy of an event.
    pub fn event(&self, id: Uuid) -> Option<LineEvent> {
        self.tables().events.get(&id).cloned()
    }
}

impl Tables {
    /// The copy takes `event` by `accepts`; once decided, its bets are
    /// settled by `domain::settle` (the pending ones, and on a correction
    /// the settled ones again), as late when placed at or after the first
    /// decision. The fake keeps no history of offers.
    fn upsert_and_settle(
        &mut self,
        event: &LineEvent,
        correction: bool,
        occurred_at: DateTime<Utc>,
    ) -> ApplyOutcome {
        let mut decided_at = occurred_at;
        if let Some(held) = self.events.get(&event.id) {
            match held.accepts(event, correction) {
                Ok(Acceptance::Replace) => {}
                Ok(Acceptance::Duplicate) => return ApplyOutcome::Unchanged,
                Ok(Acceptance::Stale) => {
                    return ApplyOutcome::Outdated {
                        held_version: held.version,
                    };
                }
                Err(conflict) => return ApplyOutcome::Refused(conflict.into()),
            }
            if let Some(first) = self.decided.get(&event.id) {
                decided_at = *first;
            }
        }
        self.events.insert(event.id, event.clone());
        if !event.status.is_final() {
            return ApplyOutcome::Applied { bets_settled: 0 };
        }
        self.decided.entry(event.id).or_insert(decided_at);
        let mut bets_settled = 0;
        for bet in self.bets.values_mut() {
            let Some(at) = bet.legs().iter().position(|leg| leg.event_id == event.id) else {
                continue;
            };
            let mut legs = bet.legs().to_vec();
            let to_settle = ToSettle {
                amount: bet.amount(),
                coefficient: legs[at].coefficient,
                placed_at: bet.placed_at(),
                offered: None,
            };
            let Some(leg) = settle(to_settle, event.status, decided_at) else {
                continue;
            };
            legs[at] = Leg {
                status: leg.leg_status(),
                settled_coefficient: leg.coefficient,
                void_reason: leg.void_reason,
                ..legs[at].clone()
            };
            let settled = if bet.status() == BetStatus::CashedOut {
                None
            } else {
                Some(settle_bet(bet.amount(), &legs))
            };
            let (status, payout, void_reason, settled_at) = match settled {
                None => (
                    bet.status(),
                    bet.payout(),
                    bet.void_reason(),
                    bet.settled_at(),
                ),
                Some(None) => (BetStatus::Pending, None, None, None),
                Some(Some(settled)) => (
                    settled.status,
                    Some(settled.payout),
                    settled.void_reason,
                    Some(Utc::now()),
                ),
            };
            *bet = Bet::restore(StoredBet {
                id: bet.id(),
                bettor_id: bet.bettor_id().clone(),
                amount: bet.amount().value(),
                legs,
                status,
                payout,
                void_reason,
                placed_at: bet.placed_at(),
                settled_at,
            });
            bets_settled += 1;
        }
        ApplyOutcome::Applied { bets_settled }
    }
}

#[async_trait]
impl LineRepository for InMemoryStore {
    async fn apply_message(
        &self,
        message_id: Uuid,
        change: &Announced,
    ) -> Result<ApplyOutcome, RepositoryError> {
        let event = &change.event;
        let mut tables = self.tables();
        let content = event.canonical_content();
        if let Some(recorded) = tables.inbox.get(&message_id) {
            return Ok(if *recorded == content {
                ApplyOutcome::AlreadyApplied
            } else {
                ApplyOutcome::Refused(Refusal::MessageIdReused(message_id))
            });
        }
        let outcome = tables.upsert_and_settle(event, change.is_correction(), change.occurred_at);
        if !matches!(outcome, ApplyOutcome::Refused(_)) {
            tables.inbox.insert(message_id, content);
        }
        Ok(outcome)
    }

    async fn apply_snapshot(&self, event: &LineEvent) -> Result<ApplyOutcome, RepositoryError> {
        Ok(self.tables().upsert_and_settle(event, false, Utc::now()))
    }

    async fn event(&self, id: Uuid) -> Result<Option<LineEvent>, RepositoryError> {
        Ok(self.tables().events.get(&id).cloned())
    }

    async fn recent_event(
        &self,
        id: Uuid,
        _now: DateTime<Utc>,
    ) -> Result<Option<LineEvent>, RepositoryError> {
        let tables = self.tables();
        Ok(tables
            .remembered
            .get(&id)
            .or_else(|| tables.events.get(&id))
            .cloned())
    }

    async fn list_open(
        &self,
        now: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Vec<LineEvent>, RepositoryError> {
        Ok(self
            .tables()
            .events
            .values()
            .filter(|event| event.is_open_at(now) && page.after.is_none_or(|a| event.id > a))
            .take(page.limit as usize + 1)
            .cloned()
            .collect())
    }
}

#[async_trait]
impl BetRepository for InMemoryStore {
    async fn place(&self, to_place: BetToPlace<'_>) -> Result<PlaceOutcome, RepositoryError> {
        let BetToPlace {
            bet,
            event_versions,
            stake,
            claim,
            // The risk limits hold in SQL (tests/rules_in_sql.rs); the
            // use cases' tests need none.
            risk: _,
        } = to_place;
        let mut tables = self.tables();
        let held = bet.legs().iter().zip(event_versions).all(|(leg, version)| {
            tables.events.get(&leg.event_id).map(|event| event.version) == Some(*version)
        });
        if !held {
            return Ok(PlaceOutcome::EventChanged);
        }
        let balance = tables
            .wallets
            .get(bet.bettor_id())
            .copied()
            .unwrap_or_default();
        if check_funds(stake, balance).is_err() {
            return Ok(PlaceOutcome::InsufficientFunds { balance });
        }
        if let Some(claim) = claim {
            let key = (claim.bettor_id.clone(), claim.key.clone());
            if tables.keys.contains_key(&key) {
                return Ok(PlaceOutcome::KeyTaken);
            }
            tables.keys.insert(key, (claim.request.clone(), bet.id()));
        }
        tables
            .wallets
            .insert(bet.bettor_id().clone(), balance + stake.wallet_change());
        tables.bets.insert(bet.id(), bet.clone());
        Ok(PlaceOutcome::Placed)
    }

    async fn earlier_use(
        &self,
        claim: &IdempotencyClaim,
    ) -> Result<Option<EarlierBet>, RepositoryError> {
        let tables = self.tables();
        let Some((request, bet_id)) = tables
            .keys
            .get(&(claim.bettor_id.clone(), claim.key.clone()))
        else {
            return Ok(None);
        };
        if *request != claim.request {
            return Ok(Some(EarlierBet::Different));
        }
        let bet =
            tables.bets.get(bet_id).cloned().ok_or_else(|| {
                shared_kernel::storage::StorageError::corrupt("replaying", "no bet")
            })?;
        Ok(Some(EarlierBet::Same(bet)))
    }

    async fn get(&self, bettor_id: &BettorId, id: Uuid) -> Result<Option<Bet>, RepositoryError> {
        Ok(self
            .tables()
            .bets
            .get(&id)
            .filter(|bet| bet.bettor_id() == bettor_id)
            .cloned())
    }

    async fn list(
        &self,
        bettor_id: &BettorId,
        filter: BetFilter,
        page: PageRequest,
    ) -> Result<Vec<Bet>, RepositoryError> {
        Ok(self
            .tables()
            .bets
            .values()
            .rev()
            .filter(|bet| bet.bettor_id() == bettor_id)
            .filter(|bet| filter.status.is_none_or(|s| bet.status() == s))
            .filter(|bet| {
                filter
                    .event_id
                    .is_none_or(|e| bet.legs().iter().any(|leg| leg.event_id == e))
            })
            .filter(|bet| page.after.is_none_or(|before| bet.id() < before))
            .take(page.limit as usize + 1)
            .cloned()
            .collect())
    }
}

/// line-provider serving fixed pages: page `n` is asked for with cursor
/// `page-n` (the first without one). Records the cursors it was given.
#[derive(Debug, Default)]
pub struct PagedLineProvider {
    pub pages: Vec<Vec<LineEvent>>,
    pub cursors_seen: Mutex<Vec<Option<String>>>,
}

#[async_trait]
impl LineProvider for PagedLineProvider {
    async fn events_page(&self, cursor: Option<String>) -> Result<LinePage, LineProviderError> {
        self.cursors_seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(cursor.clone());
        let index = match cursor.as_deref() {
            None => 0,
            Some(cursor) => cursor
                .strip_prefix("page-")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| LineProviderError::Refused {
                    what: format!("ListEvents after cursor {cursor}"),
                    source: "no such cursor".into(),
                })?,
        };
        let events = self.pages.get(index).cloned().unwrap_or_default();
        let next_cursor = (index + 1 < self.pages.len()).then(|| format!("page-{}", index + 1));
        Ok(LinePage {
            events,
            next_cursor,
        })
    }
}
