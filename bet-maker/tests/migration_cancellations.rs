//! Existing databases migrate forward: a database at the schema from before
//! cancelled events keeps every row through the migration, and then takes
//! a cancellation and the void bets it makes.

use bet_maker::application::ports::{ApplyOutcome, LineRepository};
use bet_maker::domain::{LineEvent, LineEventStatus};
use bet_maker::infrastructure::persistence::SeaOrmLineRepository;
use bet_maker::infrastructure::persistence::migrations::{Migrator, schema_fingerprint};
use chrono::{Duration, SubsecRound, Utc};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use sea_orm_migration::MigratorTrait;
use shared_kernel::testing::TestDatabase;
use uuid::Uuid;

/// The migration that brought cancelled events and void bets.
const CANCELLATIONS: &str = "m20261122_000006_cancelled_events_and_void_bets";

/// Every bet: (id, status, payout), ordered by id.
async fn bets(db: &DatabaseConnection) -> Vec<(Uuid, String, Option<String>)> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id, status, payout::text AS payout FROM bets ORDER BY id",
        ))
        .await
        .unwrap_or_else(|e| panic!("reading bets: {e}"));
    rows.iter()
        .map(|row| {
            (
                row.try_get("", "id").unwrap_or_else(|e| panic!("{e}")),
                row.try_get("", "status").unwrap_or_else(|e| panic!("{e}")),
                row.try_get("", "payout").unwrap_or_else(|e| panic!("{e}")),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_database_from_before_cancellations_keeps_its_rows_and_then_voids_bets() {
    let db = TestDatabase::create::<Migrator>("bet_maker_migrations", schema_fingerprint())
        .await
        .unwrap_or_else(|e| panic!("test database: {e}"));
    let connection = &db.connection;
    // Undo the cancellations migration and every one after it.
    let undo = Migrator::migrations()
        .iter()
        .rev()
        .position(|migration| migration.name() == CANCELLATIONS)
        .map(|later| later + 1)
        .unwrap_or_else(|| panic!("no migration {CANCELLATIONS}"));
    Migrator::down(connection, u32::try_from(undo).ok())
        .await
        .unwrap_or_else(|e| panic!("back to the schema before cancellations: {e}"));
    let open = LineEvent {
        id: Uuid::now_v7(),
        coefficient: Decimal::new(185, 2),
        deadline: (Utc::now() + Duration::hours(1)).trunc_subsecs(6),
        status: LineEventStatus::New,
        version: 1,
    };
    let (pending, won) = (Uuid::now_v7(), Uuid::now_v7());
    let finished = Uuid::now_v7();
    connection
        .execute_unprepared(&format!(
            "INSERT INTO events (id, coefficient, deadline, status, version) VALUES
                 ('{}', 1.85, now() + interval '1 hour', 'NEW', 1),
                 ('{finished}', 2.00, now() + interval '1 hour', 'FINISHED_WIN', 2);
             INSERT INTO bets (id, event_id, amount, coefficient, status, payout, placed_at, settled_at) VALUES
                 ('{pending}', '{}', 10.50, 1.85, 'PENDING', NULL, now(), NULL),
                 ('{won}', '{finished}', 3.00, 2.00, 'WON', 6.00, now(), now());",
            open.id, open.id
        ))
        .await
        .unwrap_or_else(|e| panic!("rows of the old schema: {e}"));
    let refused = connection
        .execute_unprepared(&format!(
            "UPDATE events SET status = 'CANCELLED' WHERE id = '{}'",
            open.id
        ))
        .await;
    assert!(refused.is_err(), "the old schema knows no CANCELLED");
    let before = bets(connection).await;

    Migrator::up(connection, None)
        .await
        .unwrap_or_else(|e| panic!("migrating forward: {e}"));

    assert_eq!(bets(connection).await, before, "every row kept as it was");
    let cancelled = LineEvent {
        status: LineEventStatus::Cancelled,
        version: 2,
        ..open.clone()
    };
    let outcome = SeaOrmLineRepository::new(connection.clone())
        .apply_snapshot(&cancelled)
        .await
        .unwrap_or_else(|e| panic!("cancelling: {e}"));
    assert_eq!(outcome, ApplyOutcome::Applied { bets_settled: 1 });
    let after = bets(connection).await;
    let void = after.iter().find(|(id, _, _)| *id == pending);
    assert_eq!(
        void,
        Some(&(pending, "VOID".to_owned(), Some("10.50".to_owned())))
    );
    let untouched = after.iter().find(|(id, _, _)| *id == won);
    assert_eq!(
        untouched,
        Some(&(won, "WON".to_owned(), Some("6.00".to_owned())))
    );
}
