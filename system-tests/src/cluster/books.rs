//! The books a fault test checks once every fault is healed: nothing lost,
//! nothing twice, every bet settled as the domain's rule says (won, lost,
//! or void with its stake paid back when the event was cancelled).

use std::collections::{BTreeMap, HashMap};

use bet_maker::domain::{BetSum, LineEventStatus, Offered, ToSettle, offered_at, settle};
use chrono::{DateTime, Utc};
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
    /// - every bet in `accepted` exists; every bet is in the state
    ///   `bet_maker::domain::settle` gives for its event's result as
    ///   line-provider announced it (the result, when it was decided, the
    ///   odds on offer when the bet was placed), with the payout it gives
    ///   (pending on open events); every void bet pays back exactly its
    ///   stake; no bet left PENDING twice;
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
        every_bet_settled_by_the_rule(bet_maker, &self.line_provider_db.connection).await;
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

async fn announced(line_provider: &DatabaseConnection) -> HashMap<String, Announced> {
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
    let mut events: HashMap<String, Announced> = HashMap::new();
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
        let event = events.entry(get("id")).or_default();
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

/// Every bet as stored, beside its event's result, compared with what the
/// domain's rule (`bet_maker::domain::settle`) says it must be, given what
/// line-provider announced: void when placed at or after the result was
/// decided, else at the lower of its odds and those on offer when it was
/// placed. The expectation is computed here, in Rust, not by the SQL
/// formula the settlement itself runs.
async fn every_bet_settled_by_the_rule(
    db: &DatabaseConnection,
    line_provider: &DatabaseConnection,
) {
    let announced = announced(line_provider).await;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT b.id::text AS id, b.event_id::text AS event_id, b.amount::text AS amount,
                    b.coefficient::text AS coefficient, b.placed_at,
                    b.status AS status, b.payout::text AS payout, e.status AS result
             FROM bets b JOIN events e ON e.id = b.event_id",
        ))
        .await
        .unwrap_or_else(|e| panic!("reading the bets: {e}"));
    let none = Announced::default();
    let mut wrong = Vec::new();
    for row in &rows {
        let text = |column: &str| -> Option<String> {
            row.try_get::<Option<String>>("", column)
                .unwrap_or_else(|e| panic!("bets.{column}: {e}"))
        };
        let field = |column: &str| text(column).unwrap_or_else(|| panic!("bets.{column} is null"));
        let placed_at: DateTime<Utc> = row
            .try_get("", "placed_at")
            .unwrap_or_else(|e| panic!("bets.placed_at: {e}"));
        let stored = (field("status"), text("payout").as_deref().map(decimal));
        let event = announced.get(&field("event_id")).unwrap_or(&none);
        let expected = match result(&field("result")) {
            LineEventStatus::New | LineEventStatus::Suspended => ("PENDING".to_owned(), None),
            decided => {
                let bet = ToSettle {
                    amount: BetSum::new(decimal(&field("amount")), decimal(MAX_STAKE))
                        .unwrap_or_else(|e| panic!("not a stake: {e}")),
                    coefficient: decimal(&field("coefficient")),
                    placed_at,
                    offered: offered_at(&event.offers, placed_at),
                };
                let decided_at = event.decided_at.unwrap_or_else(|| {
                    panic!("{decided:?}, yet line-provider announced no result")
                });
                let settled = settle(bet, decided, decided_at)
                    .unwrap_or_else(|| panic!("{decided:?} settles nothing"));
                (status_text(settled.status).to_owned(), Some(settled.payout))
            }
        };
        if stored != expected {
            wrong.push(format!(
                "{}: {stored:?}, expected {expected:?}",
                field("id")
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} bets settled with the wrong status or payout, e.g. {:?}",
        wrong.len(),
        rows.len(),
        &wrong[..wrong.len().min(5)]
    );
}

/// Every settled bet was settled exactly once (the trigger of
/// `RECORD_SETTLEMENTS` logs each PENDING → WON/LOST/VOID).
async fn every_bet_settled_once(db: &DatabaseConnection) {
    let settled_twice = count(
        db,
        "SELECT count(*) FROM (SELECT bet_id FROM test_settlements GROUP BY bet_id HAVING count(*) > 1) AS twice",
    )
    .await;
    assert_eq!(settled_twice, 0, "bets settled more than once");
    let settled = count(db, "SELECT count(*) FROM bets WHERE status <> 'PENDING'").await;
    let settlements = count(db, "SELECT count(*) FROM test_settlements").await;
    assert_eq!(
        settlements, settled,
        "every settled bet was settled exactly once"
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
