//! How decided bets are written: the one statement that places a group of
//! bets ([`PLACE_BETS`]; a bet placed alone is a group of one), the
//! parameters of a bet owned ([`Placement`], so a bet can wait in a queue
//! for its group), what the statement says of each bet ([`Decided`]), and
//! the outcome that makes.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::{self, PgPool, Row};
use shared_kernel::storage::{StorageError, sqlx_storage};
use uuid::Uuid;

use super::wallet_repository::EntryColumns;
use crate::application::ports::{BetToPlace, PlaceOutcome, RepositoryError};
use crate::domain::{Account, Excluded, RiskLimits, check_funds, check_risk};

/// Places a group of bets in one statement (one round trip, and one
/// commit: no transaction to open or close), each decided alone, one after
/// the other in the group's order, as if each were placed by a statement
/// of its own once the ones before it had committed. Raw SQL because
/// SeaORM's builders cannot chain these writes; the entries come from
/// `domain::ledger::stake`, never from SQL, and `tests/rules_in_sql.rs`
/// holds the statement to `domain::check_funds` and `domain::check_risk`
/// (for a bet alone), `tests/placement_groups.rs` a group to its bets
/// placed one by one.
///
/// One element per bet in `$1`–`$11`: the bettor, the wallet's change (the
/// stake, negative), the bet's id, amount and time of placing, the key (if
/// any) claimed for the request, the stake's ledger transaction, the
/// potential payout, the payout cap, and the maximum liability of an event
/// without its own. One per leg in `$12`–`$15`: the bet it belongs to (its
/// 1-based place in the group), the event, the version the bet was decided
/// on, the coefficient locked on it. One per ledger entry in `$16`–`$19`:
/// the bet, the entry's id, account and amount.
///
/// Every lock comes first, in the one order every writer takes them
/// (placement, settlement, cash-out), each set in the order of its ids: the
/// events held at the versions asked `FOR SHARE` (`event`: a settlement,
/// which updates the event row first, either committed before, and moved
/// the version, or waits for this group and then settles its bets too),
/// then their `event_exposure` rows `FOR UPDATE` (`exposure`), then the
/// bettors' wallets `FOR UPDATE` (`wallet`); each set waits for the one
/// before (the `count(*)` in its condition is computed before its scan).
/// Rows are read as they are once locked, so concurrent groups on one
/// event or of one bettor are decided one after the other against the
/// exact liability and balance.
///
/// The decision (`decided`, bet after bet, carrying the liability of each
/// event and the balance of each wallet as the bets before left them, and
/// the keys they claimed), by the rules of `domain::check_risk` and
/// `domain::check_funds`: a bet is placed only if every leg's event is held
/// at its version; every leg's liability with the bet's potential net
/// payout stays within the event's maximum (its own, else the bet's
/// default), the potential payout within the payout cap, and the stake
/// within the bettor's cap (`bettor_limits`); the wallet stays at or above
/// zero; the bettor is not excluded when the bet was placed (a time-out or
/// self-exclusion that has begun and not ended: `domain::excluded_at`);
/// and the bettor's key was not claimed before (stored, or by a bet before
/// it in the group). A key claimed meanwhile by a transaction that commits
/// first breaks `idempotency_keys_pkey` and undoes the whole statement.
///
/// Then the writes, for the bets placed: each wallet debited once with the
/// sum of its bets' stakes (each bet's wallet line carries the balance after
/// its own stake), each event's exposure counting its bets (an
/// accumulator's potential net payout weighs on each of its events), the
/// bets and their legs, the keys, a ledger transaction per bet with its
/// entries (made in the group's order: their times run as the balances
/// do).
///
/// Returns one row per bet, in the group's order: whether every event was
/// held at its version, whether the key was claimed before, the balance
/// when the bet's turn came (0.00 without a wallet) and after the debit
/// (none when nothing was written), the exclusion that
/// lasts longest, if any (its end; none for ever), and the limits the bet
/// met (the bettor's cap; the liability, as the bets before it left it,
/// and maximum of the leg with the least room).
pub const PLACE_BETS: &str = "
    WITH RECURSIVE asked AS (
        SELECT * FROM UNNEST($1::text[], $2::numeric[], $3::uuid[], $4::numeric[],
                             $5::timestamptz[], $6::text[], $7::text[], $8::uuid[],
                             $9::numeric[], $10::numeric[], $11::numeric[])
            WITH ORDINALITY AS asked(bettor_id, wallet_change, bet_id, amount, placed_at, key,
                                     request, transaction_id, potential_payout, max_payout,
                                     default_max_liability, n)
    ),
    asked_leg AS (
        SELECT l.n, l.event_id, l.version, l.coefficient,
               row_number() OVER (PARTITION BY l.n ORDER BY l.ord) AS leg
        FROM UNNEST($12::bigint[], $13::uuid[], $14::bigint[], $15::numeric[]) WITH ORDINALITY
            AS l(n, event_id, version, coefficient, ord)
    ),
    asked_entry AS (
        SELECT * FROM UNNEST($16::bigint[], $17::uuid[], $18::text[], $19::numeric[])
            AS e(n, id, account, amount)
    ),
    event AS MATERIALIZED (
        SELECT events.id, events.version FROM events
        JOIN (SELECT DISTINCT event_id, version FROM asked_leg) AS wanted
            ON wanted.event_id = events.id AND wanted.version = events.version
        ORDER BY events.id
        FOR SHARE OF events
    ),
    exposure AS MATERIALIZED (
        SELECT x.event_id, x.potential_payout - x.stakes AS liability, x.max_liability
        FROM event_exposure x
        WHERE x.event_id IN (SELECT id FROM event) AND (SELECT count(*) FROM event) >= 0
        ORDER BY x.event_id
        FOR UPDATE OF x
    ),
    wallet AS MATERIALIZED (
        SELECT w.bettor_id, w.balance FROM wallets w
        WHERE w.bettor_id IN (SELECT bettor_id FROM asked) AND (SELECT count(*) FROM exposure) >= 0
        ORDER BY w.bettor_id
        FOR UPDATE OF w
    ),
    bet_events AS (
        SELECT l.n, array_agg(l.event_id) AS event_ids, count(*) AS legs,
               count(event.id) AS held_legs
        FROM asked_leg l
        LEFT JOIN event ON event.id = l.event_id AND event.version = l.version
        GROUP BY l.n
    ),
    slip AS MATERIALIZED (
        SELECT asked.*, bet_events.event_ids, bet_events.legs, bet_events.held_legs,
               excluded.found IS NOT NULL AS excluded,
               excluded.until AS excluded_until,
               (SELECT max_stake FROM bettor_limits WHERE bettor_id = asked.bettor_id)
                   AS bettor_max_stake,
               EXISTS (SELECT 1 FROM idempotency_keys k
                       WHERE k.bettor_id = asked.bettor_id AND k.key = asked.key) AS key_claimed
        FROM asked JOIN bet_events ON bet_events.n = asked.n
        LEFT JOIN LATERAL (
            SELECT true AS found, until FROM exclusions
            WHERE bettor_id = asked.bettor_id AND starts_at <= asked.placed_at
              AND (until IS NULL OR until > asked.placed_at)
            ORDER BY until DESC NULLS FIRST
            LIMIT 1
        ) AS excluded ON true
    ),
    maxima AS MATERIALIZED (
        SELECT coalesce(jsonb_object_agg(event_id, max_liability), '{}') AS own FROM exposure
    ),
    decided (n, liabilities, balances, claims, placed, key_taken, balance_before, balance,
             liability, max_liability) AS (
        SELECT 0::bigint,
               coalesce((SELECT jsonb_object_agg(event_id, liability) FROM exposure), '{}'),
               coalesce((SELECT jsonb_object_agg(bettor_id, balance) FROM wallet), '{}'),
               '[]'::jsonb, false, false, NULL::numeric, NULL::numeric, NULL::numeric,
               NULL::numeric
        UNION ALL
        SELECT s.n,
               CASE WHEN verdict.placed
                    THEN d.liabilities || room.liabilities_after ELSE d.liabilities END,
               CASE WHEN verdict.placed
                    THEN d.balances || jsonb_build_object(s.bettor_id, turn.balance_after)
                    ELSE d.balances END,
               CASE WHEN verdict.placed AND s.key IS NOT NULL
                    THEN d.claims || jsonb_build_array(jsonb_build_array(s.bettor_id, s.key))
                    ELSE d.claims END,
               verdict.placed, turn.key_taken, turn.balance_before,
               CASE WHEN verdict.placed THEN turn.balance_after END,
               room.liability, room.max_liability
        FROM decided d JOIN slip s ON s.n = d.n + 1 CROSS JOIN maxima
        CROSS JOIN LATERAL (
            SELECT count(*) AS exposed_legs,
                   coalesce(bool_and(leg.liability + (s.potential_payout - s.amount)
                                     <= leg.max_liability), false) AS fits,
                   (array_agg(leg.liability ORDER BY leg.max_liability - leg.liability,
                              leg.event_id))[1] AS liability,
                   (array_agg(leg.max_liability ORDER BY leg.max_liability - leg.liability,
                              leg.event_id))[1] AS max_liability,
                   coalesce(jsonb_object_agg(leg.event_id,
                                             leg.liability + (s.potential_payout - s.amount)),
                            '{}') AS liabilities_after
            FROM (
                SELECT e.event_id, (d.liabilities ->> e.event_id::text)::numeric AS liability,
                       coalesce((maxima.own ->> e.event_id::text)::numeric,
                                s.default_max_liability) AS max_liability
                FROM unnest(s.event_ids) AS e(event_id)
                WHERE s.held_legs = s.legs AND d.liabilities ? e.event_id::text
            ) AS leg
        ) AS room
        CROSS JOIN LATERAL (
            SELECT (d.balances ->> s.bettor_id)::numeric AS balance_before,
                   (d.balances ->> s.bettor_id)::numeric + s.wallet_change AS balance_after,
                   s.key_claimed
                       OR d.claims @> jsonb_build_array(jsonb_build_array(s.bettor_id, s.key))
                       AS key_taken
        ) AS turn
        CROSS JOIN LATERAL (
            SELECT coalesce(s.held_legs = s.legs AND room.exposed_legs = s.legs AND room.fits
                            AND turn.balance_after >= 0 AND NOT s.excluded
                            AND NOT coalesce(s.bettor_max_stake < s.amount, false)
                            AND s.potential_payout <= s.max_payout
                            AND NOT turn.key_taken, false) AS placed
        ) AS verdict
    ),
    placed AS MATERIALIZED (
        SELECT s.*, d.balance FROM decided d JOIN slip s ON s.n = d.n WHERE d.placed
    ),
    debited AS (
        UPDATE wallets w SET balance = w.balance + moved.total
        FROM (SELECT bettor_id, sum(wallet_change) AS total FROM placed GROUP BY bettor_id)
            AS moved
        WHERE w.bettor_id = moved.bettor_id
    ),
    exposed AS (
        UPDATE event_exposure x SET pending_bets = x.pending_bets + moved.bets,
                                    stakes = x.stakes + moved.stakes,
                                    potential_payout = x.potential_payout + moved.potential_payout
        FROM (SELECT l.event_id, count(*) AS bets, sum(p.amount) AS stakes,
                     sum(p.potential_payout) AS potential_payout
              FROM placed p JOIN asked_leg l ON l.n = p.n
              GROUP BY l.event_id) AS moved
        WHERE x.event_id = moved.event_id
    ),
    bet AS (
        INSERT INTO bets
            (id, bettor_id, amount, status, placed_at, stake_posted, leg_count, potential_payout)
        SELECT bet_id, bettor_id, amount, 'PENDING', placed_at, true, legs, potential_payout
        FROM placed ORDER BY n
    ),
    legs AS (
        INSERT INTO bet_legs (bet_id, leg, event_id, coefficient)
        SELECT p.bet_id, l.leg, l.event_id, l.coefficient
        FROM placed p JOIN asked_leg l ON l.n = p.n
    ),
    claimed AS (
        INSERT INTO idempotency_keys (bettor_id, key, request, bet_id)
        SELECT bettor_id, key, request, bet_id FROM placed WHERE key IS NOT NULL
    ),
    txn AS (
        INSERT INTO ledger_transactions (id, kind)
        SELECT transaction_id, 'STAKE' FROM placed ORDER BY n
        RETURNING id, created_at
    ),
    entries AS (
        INSERT INTO ledger_entries
            (id, transaction_id, account, amount, bettor_id, line, balance_after, bet_id,
             created_at)
        SELECT e.id, txn.id, e.account, e.amount,
               CASE WHEN e.account = 'WALLET' THEN p.bettor_id END,
               CASE WHEN e.account = 'WALLET' THEN 'STAKE' END,
               CASE WHEN e.account = 'WALLET' THEN p.balance END,
               p.bet_id, txn.created_at
        FROM placed p JOIN txn ON txn.id = p.transaction_id JOIN asked_entry e ON e.n = p.n
    )
    SELECT s.held_legs = s.legs AS event_held, d.key_taken,
           coalesce(d.balance_before, 0.00) AS balance_before, d.balance, s.excluded,
           s.excluded_until, s.bettor_max_stake, d.liability, d.max_liability
    FROM decided d JOIN slip s ON s.n = d.n
    ORDER BY d.n";

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

    /// The id of its first ledger entry: ids are made in time order, and a
    /// group placed in their order writes a bettor's lines in the order of
    /// their ids too (how a statement lists lines of the same moment).
    pub fn first_entry(&self) -> Option<Uuid> {
        self.entries.ids.first().copied()
    }
}

/// What the statement said of one bet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Decided {
    /// The bet's row of [`PLACE_BETS`].
    Returned(Returned),
    /// A concurrent claim of the bettor's key committed first and broke
    /// `idempotency_keys_pkey`: nothing was written.
    KeyClaimedConcurrently,
}

/// A bet's row of [`PLACE_BETS`]: whether every event was held at its version,
/// whether the key was claimed before, the balance it found and the one
/// after the debit (none when nothing was written), the longest exclusion,
/// and the limits the bet met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Returned {
    event_held: bool,
    key_taken: bool,
    balance_before: Decimal,
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
            balance_before: row.try_get("balance_before")?,
            balance: row.try_get("balance")?,
            excluded: row.try_get("excluded")?,
            excluded_until: row.try_get("excluded_until")?,
            bettor_max_stake: row.try_get("bettor_max_stake")?,
            liability: row.try_get("liability")?,
            max_liability: row.try_get("max_liability")?,
        })
    }
}

/// Places one bet alone: a group of one, whose key claimed concurrently
/// is its outcome rather than an error.
pub(super) async fn place_one(
    pool: &PgPool,
    placement: &Placement,
) -> Result<Decided, StorageError> {
    match place_group(pool, &[placement]).await {
        Ok(mut decided) => decided.pop().ok_or_else(|| {
            StorageError::corrupt(
                format!("placing bet {}", placement.bet_id),
                "the statement returned no row",
            )
        }),
        Err(sqlx::Error::Database(error)) if error.constraint() == Some(KEY_CONSTRAINT) => {
            Ok(Decided::KeyClaimedConcurrently)
        }
        Err(error) => Err(sqlx_storage(format!("placing bet {}", placement.bet_id))(
            error,
        )),
    }
}

/// Places `group` with [`PLACE_BETS`]: what each bet came to, in the
/// group's order, or the error that undid the whole group.
pub(super) async fn place_group(
    pool: &PgPool,
    group: &[&Placement],
) -> Result<Vec<Decided>, sqlx::Error> {
    // The bets' places in the group, as the statement numbers them.
    let places: Vec<i64> = (1..).take(group.len()).collect();
    let of_each = |count: fn(&Placement) -> usize| -> Vec<i64> {
        group
            .iter()
            .zip(&places)
            .flat_map(|(placement, place)| std::iter::repeat_n(*place, count(placement)))
            .collect()
    };
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
        .bind(of_each(|p| p.event_ids.len()))
        .bind(flattened(group, |p| &p.event_ids))
        .bind(flattened(group, |p| &p.versions))
        .bind(flattened(group, |p| &p.coefficients))
        .bind(of_each(|p| p.entries.ids.len()))
        .bind(flattened(group, |p| &p.entries.ids))
        .bind(flattened(group, |p| &p.entries.accounts))
        .bind(flattened(group, |p| &p.entries.amounts))
        .fetch_all(pool)
        .await?;
    if rows.len() != group.len() {
        return Err(sqlx::Error::Protocol(format!(
            "the placement statement returned {} rows for {} bets",
            rows.len(),
            group.len()
        )));
    }
    rows.iter()
        .map(|row| Returned::read(row).map(Decided::Returned))
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
/// its limits says the balance it found (the refusal says what the bettor
/// could stake); which limit refused it is `domain::check_risk`'s answer on
/// the limits the statement saw. A key claimed before counts only where
/// the bet would otherwise have been written (as when the claim breaks the
/// statement).
pub(super) fn outcome(
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
    let Some((liability, max_liability)) = returned.liability.zip(returned.max_liability) else {
        return Err(StorageError::corrupt(
            format!("placing bet {}", bet.id()),
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
    let balance = returned.balance_before;
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
