//! How a decided bet is written: the statements that place one bet
//! ([`PLACE_BET`]) or a group of them ([`PLACE_BETS`]), the parameters of a
//! bet owned ([`Placement`], so a bet can wait in a queue), what the
//! statements say of each bet ([`Decided`]), and the outcome that makes.
//!
//! Both statements call the database function `place_bet` (migration
//! `m20261207_000017_grouped_placement`), the one definition of how a bet
//! is decided and written: its steps, locks and limits are documented
//! there. `tests/rules_in_sql.rs` holds it to `domain::check_funds` and
//! `domain::check_risk`; the stake's entries come from
//! `domain::ledger::stake`, never from SQL.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::{self, PgPool, Row};
use shared_kernel::storage::{StorageError, sqlx_storage};
use uuid::Uuid;

use super::wallet_repository::{EntryColumns, read_balance};
use crate::application::ports::{BetToPlace, PlaceOutcome, RepositoryError};
use crate::domain::{Account, Excluded, RiskLimits, check_funds, check_risk};

/// Places one bet: its legs' events `$1` at versions `$2` with the
/// coefficients `$7` locked on them, the wallet of `$3` changed by `$4`,
/// bet `$5` (amount `$6`, placed at `$8`), the key `$9` (if any) claimed
/// for request `$10`, ledger transaction `$11` with the entries `$12`–`$14`,
/// the potential payout `$15`, the payout cap `$16`, and the maximum
/// liability `$17` of an event without its own. One statement, one round
/// trip: all of it or nothing (see `place_bet` for the rules). A key the
/// bettor claims concurrently breaks `idempotency_keys_pkey` and undoes it.
pub const PLACE_BET: &str = "SELECT * FROM place_bet(\
    $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)";

/// Places a group of bets in one transaction, each decided alone by
/// `place_bet` in the group's order, after every lock the group needs is
/// taken in the global order (events, exposure rows, wallets): see
/// `place_bets`. One row per bet, in the group's order. Any error undoes
/// the whole group.
pub const PLACE_BETS: &str = "SELECT * FROM place_bets(\
    $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)";

/// The constraint a second claim of a bettor's key breaks.
const KEY_CONSTRAINT: &str = "idempotency_keys_pkey";

/// A decided bet as the statements take it: every parameter owned, so it
/// can wait in a queue for its group.
#[derive(Debug, Clone)]
pub(super) struct Placement {
    bet_id: Uuid,
    bettor_id: String,
    event_ids: Vec<Uuid>,
    versions: Vec<i64>,
    coefficients: Vec<Decimal>,
    wallet_change: Decimal,
    amount: Decimal,
    placed_at: DateTime<Utc>,
    key: Option<String>,
    request: Option<String>,
    transaction_id: Uuid,
    entries: EntryColumns,
    potential_payout: Decimal,
    max_payout: Decimal,
    default_max_liability: Decimal,
}

impl Placement {
    /// The parameters of `to_place`, with a new id for its stake's ledger
    /// transaction and for each entry.
    pub fn of(to_place: &BetToPlace<'_>) -> Self {
        let bet = to_place.bet;
        Self {
            bet_id: bet.id(),
            bettor_id: bet.bettor_id().as_str().to_owned(),
            event_ids: bet.legs().iter().map(|leg| leg.event_id).collect(),
            versions: to_place.event_versions.to_vec(),
            coefficients: bet.legs().iter().map(|leg| leg.coefficient).collect(),
            wallet_change: to_place.stake.on(Account::Wallet),
            amount: bet.amount().value(),
            placed_at: bet.placed_at(),
            key: to_place.claim.map(|claim| claim.key.clone()),
            request: to_place.claim.map(|claim| claim.request.clone()),
            transaction_id: Uuid::now_v7(),
            entries: EntryColumns::of(to_place.stake),
            potential_payout: to_place.risk.potential_payout,
            max_payout: to_place.risk.max_payout,
            default_max_liability: to_place.risk.default_max_liability,
        }
    }

    /// The bet's id.
    pub fn bet_id(&self) -> Uuid {
        self.bet_id
    }
}

/// What the statement said of one bet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Decided {
    /// The row `place_bet` returned.
    Returned(Returned),
    /// A concurrent claim of the bettor's key committed first and broke
    /// `idempotency_keys_pkey`: nothing was written.
    KeyClaimedConcurrently,
}

/// A `placed_bet` row: whether every event was held at its version,
/// whether the key was claimed before, the balance after the debit (none
/// when nothing was written), the longest exclusion, and the limits the
/// bet met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Returned {
    event_held: bool,
    key_taken: bool,
    balance: Option<Decimal>,
    excluded: bool,
    excluded_until: Option<DateTime<Utc>>,
    bettor_max_stake: Option<Decimal>,
    liability: Option<Decimal>,
    max_liability: Option<Decimal>,
}

impl Returned {
    fn read(row: &PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            event_held: row.try_get("event_held")?,
            key_taken: row.try_get("key_taken")?,
            balance: row.try_get("balance")?,
            excluded: row.try_get("excluded")?,
            excluded_until: row.try_get("excluded_until")?,
            bettor_max_stake: row.try_get("bettor_max_stake")?,
            liability: row.try_get("liability")?,
            max_liability: row.try_get("max_liability")?,
        })
    }
}

/// Places one bet with [`PLACE_BET`].
pub(super) async fn place_one(pool: &PgPool, placement: &Placement) -> Result<Decided, StorageError> {
    let p = placement;
    let operation = format!("placing bet {}", p.bet_id);
    let placed = sqlx::query(PLACE_BET)
        .bind(&p.event_ids)
        .bind(&p.versions)
        .bind(&p.bettor_id)
        .bind(p.wallet_change)
        .bind(p.bet_id)
        .bind(p.amount)
        .bind(&p.coefficients)
        .bind(p.placed_at)
        .bind(p.key.as_deref())
        .bind(p.request.as_deref())
        .bind(p.transaction_id)
        .bind(&p.entries.ids)
        .bind(&p.entries.accounts)
        .bind(&p.entries.amounts)
        .bind(p.potential_payout)
        .bind(p.max_payout)
        .bind(p.default_max_liability)
        .fetch_one(pool)
        .await;
    match placed {
        Ok(row) => Returned::read(&row)
            .map(Decided::Returned)
            .map_err(sqlx_storage(operation)),
        Err(sqlx::Error::Database(error)) if error.constraint() == Some(KEY_CONSTRAINT) => {
            Ok(Decided::KeyClaimedConcurrently)
        }
        Err(error) => Err(sqlx_storage(operation)(error)),
    }
}

/// Places `group` with [`PLACE_BETS`]: what each bet came to, in the
/// group's order, or the error that undid the whole group.
pub(super) async fn place_group(
    pool: &PgPool,
    group: &[&Placement],
) -> Result<Vec<Decided>, sqlx::Error> {
    // At most 20 legs and a few entries a bet: the counts always fit.
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let rows = sqlx::query(PLACE_BETS)
        .bind(column(group, |p| p.bettor_id.as_str()))
        .bind(column(group, |p| p.wallet_change))
        .bind(column(group, |p| p.bet_id))
        .bind(column(group, |p| p.amount))
        .bind(column(group, |p| p.placed_at))
        .bind(column(group, |p| p.key.as_deref()))
        .bind(column(group, |p| p.request.as_deref()))
        .bind(column(group, |p| p.transaction_id))
        .bind(column(group, |p| p.potential_payout))
        .bind(column(group, |p| p.max_payout))
        .bind(column(group, |p| p.default_max_liability))
        .bind(column(group, |p| count(p.event_ids.len())))
        .bind(flattened(group, |p| &p.event_ids))
        .bind(flattened(group, |p| &p.versions))
        .bind(flattened(group, |p| &p.coefficients))
        .bind(column(group, |p| count(p.entries.ids.len())))
        .bind(flattened(group, |p| &p.entries.ids))
        .bind(flattened(group, |p| &p.entries.accounts))
        .bind(flattened(group, |p| &p.entries.amounts))
        .fetch_all(pool)
        .await?;
    if rows.len() != group.len() {
        return Err(sqlx::Error::Protocol(format!(
            "place_bets returned {} rows for {} bets",
            rows.len(),
            group.len()
        )));
    }
    rows.iter()
        .map(|row| Ok(Decided::Returned(Returned::read(row)?)))
        .collect()
}

/// One parameter of every bet of `group`, in its order.
fn column<'a, T>(group: &[&'a Placement], field: impl Fn(&'a Placement) -> T) -> Vec<T> {
    group.iter().map(|placement| field(placement)).collect()
}

/// One parameter of every leg (or entry) of every bet of `group`, bet
/// after bet.
fn flattened<'a, T: Copy + 'a>(
    group: &[&'a Placement],
    field: impl Fn(&'a Placement) -> &'a Vec<T>,
) -> Vec<T> {
    group
        .iter()
        .flat_map(|placement| field(placement).iter().copied())
        .collect()
}

/// What `decided` means for `to_place`. A bet refused by its wallet or
/// its limits reads the balance (the refusal says what the bettor could
/// stake); which limit refused it is `domain::check_risk`'s answer on the
/// limits the statement saw. A key claimed before counts only where the
/// bet would otherwise have been written (where the claim broke the
/// statement, before the key was checked in it).
pub(super) async fn outcome(
    pool: &PgPool,
    decided: Decided,
    to_place: &BetToPlace<'_>,
) -> Result<PlaceOutcome, RepositoryError> {
    let bet = to_place.bet;
    let returned = match decided {
        Decided::KeyClaimedConcurrently => return Ok(PlaceOutcome::KeyTaken),
        Decided::Returned(returned) => returned,
    };
    if !returned.event_held {
        return Ok(PlaceOutcome::EventChanged);
    }
    if returned.balance.is_some() {
        return Ok(PlaceOutcome::Placed);
    }
    if returned.excluded {
        return Ok(PlaceOutcome::Excluded(
            returned
                .excluded_until
                .map_or(Excluded::Permanently, Excluded::Until),
        ));
    }
    let operation = format!("placing bet {}", bet.id());
    let balance = read_balance(pool, bet.bettor_id()).await?;
    let Some((liability, max_liability)) = returned.liability.zip(returned.max_liability) else {
        return Err(StorageError::corrupt(
            operation,
            "the event is held but has no exposure row",
        )
        .into());
    };
    let limits = RiskLimits {
        bettor_max_stake: returned.bettor_max_stake,
        max_payout: to_place.risk.max_payout,
        liability,
        max_liability,
    };
    Ok(match check_risk(bet.amount(), &bet.price(), &limits) {
        Err(refused) => PlaceOutcome::OverLimit {
            refused,
            limits,
            balance,
        },
        Ok(()) if returned.key_taken && check_funds(to_place.stake, balance).is_ok() => {
            PlaceOutcome::KeyTaken
        }
        Ok(()) => PlaceOutcome::InsufficientFunds { balance },
    })
}
