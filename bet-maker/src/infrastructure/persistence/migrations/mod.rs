//! The bet-maker schema, one file per change, applied in order by
//! `bet-maker migrate`.

mod m20261121_000001_create_events;
mod m20261121_000002_create_bets;
mod m20261121_000003_create_inbox_and_idempotency_keys;
mod m20261121_000004_notify_line_changes;
mod m20261122_000005_inbox_digest;
mod m20261122_000006_cancelled_events_and_void_bets;
mod m20261122_000007_bettors_own_their_bets;
mod m20261122_000008_wallets_and_ledger;
mod m20261122_000009_wallet_idempotency_keys;
mod m20261122_000010_stakes_in_the_ledger;
mod m20261205_000011_change_feed;
mod m20261206_000012_payments;
mod m20261207_000013_suspension_late_bets_and_corrections;
mod m20261207_000014_risk_limits;
mod m20261207_000015_accumulators_and_cash_out;
mod m20261207_000016_settlement_at_the_cost_of_the_work;
mod m20261208_000017_dead_letter_records;
mod m20261208_000018_time_ordered_ledger_ids;
mod m20261209_000019_serial_ledger_line_ids;
mod m20261209_000020_bettor_ids_compared_as_bytes;
mod m20261209_000021_placement_checks_once_per_statement;
mod m20261210_000022_rows_updated_in_place;
mod m20261211_000023_ledger_lines_found_by_range;
mod m20261211_000024_references_checked_by_their_keys;

use sea_orm_migration::{MigrationTrait, MigratorTrait};
use shared_kernel::migrations::{SqlMigration, boxed, fingerprint};

const ALL: &[SqlMigration] = &[
    m20261121_000001_create_events::MIGRATION,
    m20261121_000002_create_bets::MIGRATION,
    m20261121_000003_create_inbox_and_idempotency_keys::MIGRATION,
    m20261121_000004_notify_line_changes::MIGRATION,
    m20261122_000005_inbox_digest::MIGRATION,
    m20261122_000006_cancelled_events_and_void_bets::MIGRATION,
    m20261122_000007_bettors_own_their_bets::MIGRATION,
    m20261122_000008_wallets_and_ledger::MIGRATION,
    m20261122_000009_wallet_idempotency_keys::MIGRATION,
    m20261122_000010_stakes_in_the_ledger::MIGRATION,
    m20261205_000011_change_feed::MIGRATION,
    m20261206_000012_payments::MIGRATION,
    m20261207_000013_suspension_late_bets_and_corrections::MIGRATION,
    m20261207_000014_risk_limits::MIGRATION,
    m20261207_000015_accumulators_and_cash_out::MIGRATION,
    m20261207_000016_settlement_at_the_cost_of_the_work::MIGRATION,
    m20261208_000017_dead_letter_records::MIGRATION,
    m20261208_000018_time_ordered_ledger_ids::MIGRATION,
    m20261209_000019_serial_ledger_line_ids::MIGRATION,
    m20261209_000020_bettor_ids_compared_as_bytes::MIGRATION,
    m20261209_000021_placement_checks_once_per_statement::MIGRATION,
    m20261210_000022_rows_updated_in_place::MIGRATION,
    m20261211_000023_ledger_lines_found_by_range::MIGRATION,
    m20261211_000024_references_checked_by_their_keys::MIGRATION,
];

/// Applies bet-maker's migrations.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        boxed(ALL)
    }
}

/// Changes whenever the schema does (tests key template databases on it).
pub fn schema_fingerprint() -> u64 {
    fingerprint(ALL)
}
