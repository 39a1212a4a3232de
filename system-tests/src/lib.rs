//! The whole platform in one test: line-provider and bet-maker running
//! in-process on port 0 ([`System`]) or as real processes behind proxies a
//! test can cut ([`cluster::Cluster`]), each on a database of its own,
//! talking through the machine's real RabbitMQ on an exchange and queues of
//! the test's own.
//!
//! A [`System`] is started per test and stopped gracefully at its end; what
//! it ran on (databases, exchange, queues) is removed when it is dropped, so
//! tests run in parallel and leave nothing behind. Nothing here sleeps:
//! every wait polls with a deadline ([`PATIENCE`]) and fails naming what did
//! not happen.
//!
//! How a test configures each service is said once, in that service's own
//! test support, which this crate includes rather than copies.

pub mod bench;
pub mod cluster;
pub mod deploy;
pub mod process;
pub mod proxy;
mod system;
pub mod walkthrough;

#[path = "../../bet-maker/tests/support/mod.rs"]
mod bet_maker_support;
#[path = "../../line-provider/tests/support/mod.rs"]
mod line_provider_support;

use bet_maker::domain::{BetStatus, BetSum, LineEventStatus, payout};
use rust_decimal::Decimal;
use serde_json::Value;
use shared_kernel::testing::TestDatabase;
pub use shared_kernel::testing::{PATIENCE, expect_json};
pub use system::{FUNDS, Messaging, OPERATOR_TOKEN, System};
use uuid::Uuid;

/// bet-maker's house limit on a stake, as the services run in tests.
pub use bet_maker_support::MAX_STAKE;
/// The ledger's own consistency: every transaction sums to zero, every
/// wallet equals its entries and is not negative, balances run.
pub use bet_maker_support::assert_books_balance;
/// A bettor's token, signed with the secret the services run with in tests
/// ([`JWT_SECRET`]).
pub use bet_maker_support::{JWT_SECRET, token_for};
/// The payment provider's notice (`deposit.succeeded`, ...) about a
/// deposit or withdrawal as the API returned it, with a fresh event id;
/// the services run in tests verify it with [`WEBHOOK_SECRET`].
pub use bet_maker_support::{WEBHOOK_SECRET, notice_about};

/// The first number of a query's first row (`SELECT count(*) ...`).
pub async fn count(db: &TestDatabase, sql: &str) -> i64 {
    shared_kernel::testing::count(&db.connection, sql).await
}

/// The `id` of an event or bet as JSON.
pub fn id_of(item: &Value) -> Uuid {
    uuid_field(item, "id")
}

/// A UUID field of a JSON object.
pub fn uuid_field(item: &Value, field: &str) -> Uuid {
    item[field]
        .as_str()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no UUID `{field}` in {item}"))
}

/// An exact decimal from its text.
pub fn decimal(text: &str) -> Decimal {
    text.parse()
        .unwrap_or_else(|e| panic!("{text} is not a decimal: {e}"))
}

/// What a bet of `amount` at `coefficient` pays when its event finishes
/// with `result`, by the domain's rule (`bet_maker::domain::payout`), and
/// the status it ends in: what bet-maker must have written.
pub fn expected_settlement(
    amount: Decimal,
    coefficient: Decimal,
    result: LineEventStatus,
) -> (bet_maker::domain::BetStatus, Decimal) {
    let stake = BetSum::new(amount, decimal(MAX_STAKE))
        .unwrap_or_else(|e| panic!("{amount} is not a stake: {e}"));
    payout(stake, coefficient, result)
        .unwrap_or_else(|| panic!("an event finishing as {result:?} settles no bet"))
}

/// A bet's status as bet-maker's `bets.status` spells it.
pub fn status_text(status: BetStatus) -> &'static str {
    match status {
        BetStatus::Pending => "PENDING",
        BetStatus::Won => "WON",
        BetStatus::Lost => "LOST",
        BetStatus::Void => "VOID",
        BetStatus::CashedOut => "CASHED_OUT",
    }
}

/// What a won bet pays, as the API writes it (two decimals), by the
/// domain's rule.
pub fn expected_payout(amount: &str, coefficient: &str) -> String {
    let (_, paid) = expected_settlement(
        decimal(amount),
        decimal(coefficient),
        LineEventStatus::FinishedWin,
    );
    paid.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payouts_are_the_domain_rule_written_with_two_decimals() {
        assert_eq!(expected_payout("10.50", "1.85"), "19.43");
        assert_eq!(expected_payout("0.01", "1.85"), "0.02");
        assert_eq!(expected_payout("0.01", "1.01"), "0.01");
        assert_eq!(expected_payout("1000000.00", "1.85"), "1850000.00");
        assert_eq!(expected_payout("10", "2"), "20.00");
    }
}
