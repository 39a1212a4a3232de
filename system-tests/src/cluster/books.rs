//! The books a fault test checks once every fault is healed: nothing lost,
//! nothing twice, every bet (single or accumulator) settled leg by leg as
//! the domain's rule says (won, lost, or void with its stake paid back when
//! every leg's event was cancelled), every event's exposure its pending
//! bets'.

use std::collections::{BTreeMap, HashMap};

use bet_maker::domain::{
    BetSum, Leg, LegStatus, LineEventStatus, Offered, ToSettle, VoidReason, offered_at,
    potential_payout_of, settle, settle_bet,
};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use shared_kernel::testing::{TestDatabase, count, eventually};
use uuid::Uuid;

use super::Cluster;
use crate::{MAX_STAKE, PATIENCE, decimal, status_text};

impl Cluster {
    /// The books, once every fault is healed: nothing lost, nothing twice.
    ///
    /// - every message line-provider committed is published, and applied
    ///   by bet-maker exactly once (its inbox holds every message id);
    /// - bet-maker's copy of every event matches line-provider's;
    /// - every bet in `accepted` exists; every leg of every bet (singles
    ///   and accumulators, `bets` + `bet_legs`) is in the state
    ///   `bet_maker::domain::settle` gives for its event's result as
    ///   line-provider announced it (the result, when it was decided, the
    ///   odds on offer when the bet was placed; pending on open events), and
    ///   every bet in the state `bet_maker::domain::settle_bet` gives for
    ///   those legs, with its payout (a pending one with its
    ///   `potential_payout_of`); every void bet pays back exactly its
    ///   stake; every settlement of a bet but its last was undone by a
    ///   correction that reopened it;
    /// - every event's exposure counts exactly the pending bets with an
    ///   open leg on it, each at its stake and potential payout;
    /// - the money ([`money_is_where_the_bets_say`]): the ledger balances,
    ///   every wallet equals its entries and is not negative, every staked
    ///   bet was debited once, every WON one paid once, every VOID one
    ///   refunded once, every succeeded deposit credited once (and no
    ///   other), and deposits + adjustments − withdrawals paid = wallets +
    ///   stakes held + withdrawals pending + the house's result;
    /// - the dead-letter queue is empty.
    pub async fn check_the_books(&self, accepted: &[Uuid]) {
        self.every_message_applied_once().await;
        let line = events(&self.line_provider_db.connection).await;
        let copy = events(&self.bet_maker_db.connection).await;
        assert_eq!(
            copy, line,
            "bet-maker's copy of the line differs from line-provider's"
        );
        let bet_maker = &self.bet_maker_db.connection;
        for bet in accepted {
            let sql = format!("SELECT count(*) FROM bets WHERE id = '{bet}'");
            assert_eq!(
                count(bet_maker, &sql).await,
                1,
                "accepted bet {bet} was lost"
            );
        }
        let bets = stored_bets(bet_maker).await;
        let legs = every_bet_settled_by_the_rule(&bets, &self.line_provider_db.connection).await;
        every_exposure_counts_the_pending_bets(bet_maker, &bets, &legs).await;
        let void_not_refunded = "SELECT count(*) FROM bets
                                 WHERE status = 'VOID' AND payout IS DISTINCT FROM amount";
        assert_eq!(
            count(bet_maker, void_not_refunded).await,
            0,
            "void bets that do not pay back their stake"
        );
        every_bet_settled_once(bet_maker).await;
        money_is_where_the_bets_say(&self.bet_maker_db).await;
        assert_eq!(
            self.depth(&self.dead_letter_queue).await,
            0,
            "messages in the dead-letter queue"
        );
    }

    /// Waits until line-provider has published every message and bet-maker
    /// has applied each (its inbox holds as many ids as the outbox rows).
    async fn every_message_applied_once(&self) {
        let line_provider = &self.line_provider_db.connection;
        let bet_maker = &self.bet_maker_db.connection;
        let unpublished = "SELECT count(*) FROM outbox WHERE published_at IS NULL";
        eventually("every outbox message published", PATIENCE, || async {
            (count(line_provider, unpublished).await == 0).then_some(())
        })
        .await;
        let messages = count(line_provider, "SELECT count(*) FROM outbox").await;
        eventually(
            "bet-maker to apply every message once",
            PATIENCE,
            || async {
                (count(bet_maker, "SELECT count(*) FROM inbox").await == messages).then_some(())
            },
        )
        .await;
    }
}

/// What line-provider announced of each event, from its outbox (not from
/// what bet-maker recorded of it): every version's coefficient from when
/// it was made, and when the event was first decided.
#[derive(Debug, Default)]
struct Announced {
    offers: Vec<Offered>,
    decided_at: Option<DateTime<Utc>>,
}

async fn announced(line_provider: &DatabaseConnection) -> HashMap<Uuid, Announced> {
    let rows = line_provider
        .query_all_raw(Statement::from_string(
            line_provider.get_database_backend(),
            "SELECT payload->'data'->>'id' AS id, (payload->'data'->>'version')::bigint AS version,
                    payload->'data'->>'coefficient' AS coefficient,
                    payload->'data'->>'status' NOT IN ('NEW', 'SUSPENDED') AS decided,
                    occurred_at
             FROM outbox ORDER BY id",
        ))
        .await
        .unwrap_or_else(|e| panic!("reading the outbox: {e}"));
    let mut events: HashMap<Uuid, Announced> = HashMap::new();
    for row in &rows {
        let get = |column: &str| -> String {
            row.try_get::<String>("", column)
                .unwrap_or_else(|e| panic!("outbox.{column}: {e}"))
        };
        let since: DateTime<Utc> = row
            .try_get("", "occurred_at")
            .unwrap_or_else(|e| panic!("outbox.occurred_at: {e}"));
        let version: i64 = row
            .try_get("", "version")
            .unwrap_or_else(|e| panic!("outbox version: {e}"));
        let decided: bool = row
            .try_get("", "decided")
            .unwrap_or_else(|e| panic!("outbox status: {e}"));
        let id: Uuid = get("id")
            .parse()
            .unwrap_or_else(|e| panic!("outbox event id: {e}"));
        let event = events.entry(id).or_default();
        event.offers.push(Offered {
            version,
            coefficient: decimal(&get("coefficient")),
            since,
        });
        if decided {
            event.decided_at = Some(event.decided_at.map_or(since, |at| at.min(since)));
        }
    }
    events
}

/// A leg as stored, beside its event's result as bet-maker's copy holds it
/// (the copy equals line-provider's line: checked before).
#[derive(Debug)]
struct StoredLeg {
    event_id: Uuid,
    coefficient: Decimal,
    status: String,
    settled_coefficient: Option<Decimal>,
    void_reason: Option<String>,
    result: LineEventStatus,
}

/// A bet as stored, with its legs in order.
#[derive(Debug)]
struct StoredBet {
    id: Uuid,
    amount: BetSum,
    placed_at: DateTime<Utc>,
    status: String,
    payout: Option<Decimal>,
    void_reason: Option<String>,
    potential_payout: Decimal,
    leg_count: i16,
    legs: Vec<StoredLeg>,
}

/// Every bet of bet-maker with its legs (`bets` + `bet_legs`), singles and
/// accumulators alike, each leg beside its event's result.
async fn stored_bets(db: &DatabaseConnection) -> Vec<StoredBet> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT b.id, b.amount::text AS amount, b.placed_at, b.status, b.payout::text AS payout,
                    b.void_reason, b.potential_payout::text AS potential_payout, b.leg_count,
                    l.event_id, l.coefficient::text AS coefficient, l.status AS leg_status,
                    l.settled_coefficient::text AS settled_coefficient,
                    l.void_reason AS leg_void_reason, e.status AS result
             FROM bets b
             JOIN bet_legs l ON l.bet_id = b.id
             JOIN events e ON e.id = l.event_id
             ORDER BY b.id, l.leg",
        ))
        .await
        .unwrap_or_else(|e| panic!("reading the bets and their legs: {e}"));
    let mut bets: Vec<StoredBet> = Vec::new();
    for row in &rows {
        let get = |column: &str| -> Option<String> {
            row.try_get::<Option<String>>("", column)
                .unwrap_or_else(|e| panic!("{column}: {e}"))
        };
        let field = |column: &str| get(column).unwrap_or_else(|| panic!("{column} is null"));
        let id: Uuid = row
            .try_get("", "id")
            .unwrap_or_else(|e| panic!("bets.id: {e}"));
        if bets.last().is_none_or(|bet| bet.id != id) {
            bets.push(StoredBet {
                id,
                amount: BetSum::new(decimal(&field("amount")), decimal(MAX_STAKE))
                    .unwrap_or_else(|e| panic!("bet {id}: not a stake: {e}")),
                placed_at: row
                    .try_get("", "placed_at")
                    .unwrap_or_else(|e| panic!("bets.placed_at: {e}")),
                status: field("status"),
                payout: get("payout").as_deref().map(decimal),
                void_reason: get("void_reason"),
                potential_payout: decimal(&field("potential_payout")),
                leg_count: row
                    .try_get("", "leg_count")
                    .unwrap_or_else(|e| panic!("bets.leg_count: {e}")),
                legs: Vec::new(),
            });
        }
        let leg = StoredLeg {
            event_id: row
                .try_get("", "event_id")
                .unwrap_or_else(|e| panic!("bet_legs.event_id: {e}")),
            coefficient: decimal(&field("coefficient")),
            status: field("leg_status"),
            settled_coefficient: get("settled_coefficient").as_deref().map(decimal),
            void_reason: get("leg_void_reason"),
            result: result(&field("result")),
        };
        if let Some(bet) = bets.last_mut() {
            bet.legs.push(leg);
        }
    }
    bets
}

/// How the domain decides each leg of `bet` (`bet_maker::domain::settle`
/// on its event's result as line-provider announced it: when the result
/// was decided, the odds on offer when the bet was placed); open legs on
/// open events.
fn legs_by_the_rule(bet: &StoredBet, announced: &HashMap<Uuid, Announced>) -> Vec<Leg> {
    let none = Announced::default();
    bet.legs
        .iter()
        .map(|stored| {
            let open = Leg::open(stored.event_id, stored.coefficient);
            if !stored.result.is_final() {
                return open;
            }
            let event = announced.get(&stored.event_id).unwrap_or(&none);
            let decided_at = event.decided_at.unwrap_or_else(|| {
                panic!(
                    "event {} is {:?}, yet line-provider announced no result",
                    stored.event_id, stored.result
                )
            });
            let to_settle = ToSettle {
                amount: bet.amount,
                coefficient: stored.coefficient,
                placed_at: bet.placed_at,
                offered: offered_at(&event.offers, bet.placed_at),
            };
            let settled = settle(to_settle, stored.result, decided_at)
                .unwrap_or_else(|| panic!("{:?} settles nothing", stored.result));
            Leg {
                status: settled.leg_status(),
                settled_coefficient: settled.coefficient,
                void_reason: settled.void_reason,
                ..open
            }
        })
        .collect()
}

fn leg_text(status: LegStatus) -> &'static str {
    match status {
        LegStatus::Pending => "PENDING",
        LegStatus::Won => "WON",
        LegStatus::Lost => "LOST",
        LegStatus::Void => "VOID",
    }
}

fn reason_text(reason: Option<VoidReason>) -> Option<String> {
    reason.map(|reason| reason.as_str().to_uppercase())
}

/// Every bet as stored (singles and accumulators, over `bets` and
/// `bet_legs`), compared with what the domain's rule says it must be,
/// given what line-provider announced: each leg by
/// `bet_maker::domain::settle` (void when placed at or after its event's
/// result was decided, else at the lower of its odds and those on offer
/// when it was placed), the bet by `bet_maker::domain::settle_bet` (lost
/// as soon as a leg lost, pending while a leg is open, void when every leg
/// is, else won at the product of its legs), and a pending bet's potential
/// payout by `potential_payout_of`. The expectation is computed here, in
/// Rust, not by the SQL formula the settlement itself runs. A cashed-out
/// bet keeps what its bettor took; its legs are still decided by the rule.
async fn every_bet_settled_by_the_rule(
    bets: &[StoredBet],
    line_provider: &DatabaseConnection,
) -> HashMap<Uuid, Vec<Leg>> {
    let announced = announced(line_provider).await;
    let mut wrong = Vec::new();
    let mut decided = HashMap::new();
    for bet in bets {
        let legs = legs_by_the_rule(bet, &announced);
        let stored_legs: Vec<(&str, Option<Decimal>, Option<&str>)> = bet
            .legs
            .iter()
            .map(|leg| {
                (
                    leg.status.as_str(),
                    leg.settled_coefficient,
                    leg.void_reason.as_deref(),
                )
            })
            .collect();
        let reasons: Vec<Option<String>> = legs
            .iter()
            .map(|leg| reason_text(leg.void_reason))
            .collect();
        let expected_legs: Vec<(&str, Option<Decimal>, Option<&str>)> = legs
            .iter()
            .zip(&reasons)
            .map(|(leg, reason)| {
                (
                    leg_text(leg.status),
                    leg.settled_coefficient,
                    reason.as_deref(),
                )
            })
            .collect();
        if stored_legs != expected_legs {
            wrong.push(format!(
                "bet {}'s legs: {stored_legs:?}, expected {expected_legs:?}",
                bet.id
            ));
        }
        if usize::try_from(bet.leg_count).ok() != Some(bet.legs.len()) {
            wrong.push(format!(
                "bet {} has {} legs, its leg_count says {}",
                bet.id,
                bet.legs.len(),
                bet.leg_count
            ));
        }
        let stored = (bet.status.clone(), bet.payout, bet.void_reason.clone());
        let expected = if bet.status == "CASHED_OUT" {
            stored.clone()
        } else {
            match settle_bet(bet.amount, &legs) {
                Some(settled) => (
                    status_text(settled.status).to_owned(),
                    Some(settled.payout),
                    reason_text(settled.void_reason),
                ),
                None => ("PENDING".to_owned(), None, None),
            }
        };
        if stored != expected {
            wrong.push(format!(
                "bet {} ({} legs): {stored:?}, expected {expected:?}",
                bet.id,
                bet.legs.len()
            ));
        }
        if expected.0 == "PENDING" && bet.potential_payout != potential_payout_of(bet.amount, &legs)
        {
            wrong.push(format!(
                "pending bet {}: potential payout {}, expected {}",
                bet.id,
                bet.potential_payout,
                potential_payout_of(bet.amount, &legs)
            ));
        }
        decided.insert(bet.id, legs);
    }
    let accumulators = bets.iter().filter(|bet| bet.legs.len() > 1).count();
    assert!(
        wrong.is_empty(),
        "{} wrong of {} bets ({accumulators} accumulators), e.g. {:?}",
        wrong.len(),
        bets.len(),
        &wrong[..wrong.len().min(5)]
    );
    decided
}

/// Every event's exposure is what the domain counts: over the pending bets
/// with an open leg on it, (1, the stake, `potential_payout_of` the bet's
/// legs): an accumulator counts on every open leg's event.
async fn every_exposure_counts_the_pending_bets(
    db: &DatabaseConnection,
    bets: &[StoredBet],
    legs: &HashMap<Uuid, Vec<Leg>>,
) {
    let mut expected: BTreeMap<Uuid, (i64, Decimal, Decimal)> = BTreeMap::new();
    for bet in bets.iter().filter(|bet| bet.status == "PENDING") {
        let legs = &legs[&bet.id];
        let potential = potential_payout_of(bet.amount, legs);
        for leg in legs.iter().filter(|leg| leg.status == LegStatus::Pending) {
            let counted = expected.entry(leg.event_id).or_default();
            counted.0 += 1;
            counted.1 += bet.amount.value();
            counted.2 += potential;
        }
    }
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT event_id, pending_bets, stakes::text AS stakes,
                    potential_payout::text AS potential_payout
             FROM event_exposure",
        ))
        .await
        .unwrap_or_else(|e| panic!("reading the exposure: {e}"));
    let mut wrong = Vec::new();
    for row in &rows {
        let event: Uuid = row
            .try_get("", "event_id")
            .unwrap_or_else(|e| panic!("event_exposure.event_id: {e}"));
        let text = |column: &str| -> Decimal {
            decimal(
                &row.try_get::<String>("", column)
                    .unwrap_or_else(|e| panic!("event_exposure.{column}: {e}")),
            )
        };
        let stored = (
            row.try_get::<i64>("", "pending_bets")
                .unwrap_or_else(|e| panic!("event_exposure.pending_bets: {e}")),
            text("stakes"),
            text("potential_payout"),
        );
        let counted = expected.remove(&event).unwrap_or_default();
        if stored != counted {
            wrong.push(format!("event {event}: {stored:?}, expected {counted:?}"));
        }
    }
    wrong.extend(
        expected
            .keys()
            .map(|event| format!("event {event} has pending bets but no exposure row")),
    );
    assert!(
        wrong.is_empty(),
        "{} events whose exposure is not their pending bets', e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
}

/// Every settled bet was settled exactly once, but for the settlements a
/// correction undid by reopening the bet (the trigger of
/// `RECORD_SETTLEMENTS` logs each PENDING → WON/LOST/VOID and each
/// reopening back to PENDING): a bet's settlements are its reopenings,
/// plus one if it is settled now.
async fn every_bet_settled_once(db: &DatabaseConnection) {
    let settled_twice = count(
        db,
        "SELECT count(*) FROM (SELECT bet_id FROM test_settlements GROUP BY bet_id
           HAVING count(*) FILTER (WHERE NOT reopened) > count(*) FILTER (WHERE reopened) + 1)
           AS twice",
    )
    .await;
    assert_eq!(settled_twice, 0, "bets settled more than once");
    let miscounted = count(
        db,
        "SELECT count(*) FROM bets b WHERE
           (SELECT count(*) FILTER (WHERE NOT s.reopened) - count(*) FILTER (WHERE s.reopened)
            FROM test_settlements s WHERE s.bet_id = b.id)
           <> CASE WHEN b.status = 'PENDING' THEN 0 ELSE 1 END",
    )
    .await;
    assert_eq!(
        miscounted, 0,
        "bets whose settlements less reopenings are not one if settled, none if pending"
    );
}

/// The money, after the faults. The ledger's own consistency first (every
/// transaction sums to zero, every wallet equals its entries and is not
/// negative unless a correction took it there, balances run), then the money each bet moved, checked against
/// the bets rather than the SQL that moved it:
/// - every bet whose stake is in the ledger has exactly one STAKE line of
///   minus its amount, and no bet has a stake line without being staked;
/// - a staked settled bet's PAYOUT, REFUND and CORRECTION lines add up to
///   its payout (a correction re-settles by compensating lines), no bet
///   has more than one PAYOUT or REFUND line, and no pending or unstaked
///   bet has any;
/// - the stakes held are the stakes of the pending staked bets;
/// - every SUCCEEDED deposit has exactly one DEPOSIT line of its amount on
///   its bettor's wallet, no other deposit has one, and every DEPOSIT
///   line is a deposit's (a notice delivered again credits nothing);
/// - deposits + adjustments − withdrawals paid = wallets + stakes held +
///   withdrawals pending + the house's result (`bet_maker::domain::ledger`).
async fn money_is_where_the_bets_say(db: &TestDatabase) {
    crate::bet_maker_support::assert_books_balance(db).await;
    let checks = [
        (
            "staked bets without exactly one STAKE line of minus their amount",
            "SELECT count(*) FROM bets b WHERE b.stake_posted AND
               (SELECT count(*) FILTER (WHERE e.amount = -b.amount) || '/' || count(*)
                FROM ledger_entries e WHERE e.bet_id = b.id AND e.line = 'STAKE') <> '1/1'",
        ),
        (
            "STAKE lines of bets that are not staked",
            "SELECT count(*) FROM ledger_entries e JOIN bets b ON b.id = e.bet_id
             WHERE e.line = 'STAKE' AND NOT b.stake_posted",
        ),
        (
            "staked settled bets whose PAYOUT, REFUND and CORRECTION lines do not add up to their payout",
            "SELECT count(*) FROM bets b WHERE b.stake_posted AND b.status <> 'PENDING' AND
               (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e
                WHERE e.bet_id = b.id AND e.account = 'WALLET'
                  AND e.line IN ('PAYOUT', 'REFUND', 'CORRECTION')) <> b.payout",
        ),
        (
            "bets paid or refunded more than once (a correction pays by CORRECTION lines)",
            "SELECT count(*) FROM (SELECT bet_id FROM ledger_entries
               WHERE line IN ('PAYOUT', 'REFUND') GROUP BY bet_id HAVING count(*) > 1) AS twice",
        ),
        (
            "payouts, refunds or corrections to bets that are not staked and settled",
            "SELECT count(*) FROM ledger_entries e JOIN bets b ON b.id = e.bet_id
             WHERE e.line IN ('PAYOUT', 'REFUND', 'CORRECTION')
               AND NOT (b.stake_posted AND b.status <> 'PENDING')",
        ),
        (
            "stakes held other than the pending staked bets' stakes",
            "SELECT count(*) FROM (SELECT
               (SELECT coalesce(sum(amount), 0) FROM ledger_entries WHERE account = 'STAKES_HELD')
               - (SELECT coalesce(sum(amount), 0) FROM bets WHERE stake_posted AND status = 'PENDING')
               AS difference) AS held WHERE difference <> 0",
        ),
        (
            "deposits not credited exactly once if SUCCEEDED, or credited otherwise",
            "SELECT count(*) FROM deposits d WHERE
               (SELECT count(*) FILTER (WHERE e.amount = d.amount AND e.bettor_id = d.bettor_id)
                       || '/' || count(*)
                FROM ledger_entries e
                WHERE e.payment_id = d.id AND e.account = 'WALLET' AND e.line = 'DEPOSIT')
               <> CASE d.status WHEN 'SUCCEEDED' THEN '1/1' ELSE '0/0' END",
        ),
        (
            "DEPOSIT lines that credit no deposit",
            "SELECT count(*) FROM ledger_entries e
             WHERE e.account = 'WALLET' AND e.line = 'DEPOSIT'
               AND NOT EXISTS (SELECT 1 FROM deposits d WHERE d.id = e.payment_id)",
        ),
        (
            "deposits + adjustments − withdrawals paid other than wallets + stakes held + withdrawals pending + the house's result",
            "SELECT count(*) FROM (SELECT
               (SELECT coalesce(sum(amount), 0) FROM ledger_entries
                WHERE account = 'WALLET' AND line IN ('DEPOSIT', 'ADJUSTMENT'))
               - (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e
                  JOIN ledger_transactions t ON t.id = e.transaction_id
                  WHERE t.kind = 'WITHDRAWAL_PAID' AND e.account = 'HOUSE_CASH')
               - (SELECT coalesce(sum(balance), 0) FROM wallets)
               - (SELECT coalesce(sum(amount), 0) FROM ledger_entries
                  WHERE account IN ('STAKES_HELD', 'WITHDRAWALS_PENDING', 'HOUSE_RESULT'))
               AS difference) AS money
             WHERE difference <> 0",
        ),
    ];
    for (what, sql) in checks {
        assert_eq!(count(&db.connection, sql).await, 0, "{what}");
    }
}

/// An event's status as bet-maker's `events.status` spells it.
fn result(status: &str) -> LineEventStatus {
    match status {
        "NEW" => LineEventStatus::New,
        "SUSPENDED" => LineEventStatus::Suspended,
        "FINISHED_WIN" => LineEventStatus::FinishedWin,
        "FINISHED_LOSE" => LineEventStatus::FinishedLose,
        "CANCELLED" => LineEventStatus::Cancelled,
        other => panic!("an event status bet-maker does not write: {other}"),
    }
}

/// Every event: id → (coefficient, deadline, status, version), as text.
async fn events(db: &DatabaseConnection) -> BTreeMap<String, String> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id::text AS id, concat_ws(' ', coefficient, deadline, status, version) AS state FROM events",
        ))
        .await
        .unwrap_or_else(|e| panic!("events: {e}"));
    rows.into_iter()
        .map(|row| {
            (
                row.try_get::<String>("", "id").unwrap_or_default(),
                row.try_get::<String>("", "state").unwrap_or_default(),
            )
        })
        .collect()
}
