//! Existing databases migrate forward: a database at the schema from before
//! cancellations keeps its events, and then takes a cancelled one.

use line_provider::infrastructure::persistence::migrations::{Migrator, schema_fingerprint};
use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::MigratorTrait;
use shared_kernel::testing::TestDatabase;
use uuid::Uuid;

#[tokio::test]
async fn a_database_from_before_cancellations_keeps_its_events_and_then_takes_cancelled() {
    let db = TestDatabase::create::<Migrator>("line_provider_migrations", schema_fingerprint())
        .await
        .unwrap_or_else(|e| panic!("test database: {e}"));
    let connection = &db.connection;
    Migrator::down(connection, Some(1))
        .await
        .unwrap_or_else(|e| panic!("back to the schema before cancellations: {e}"));
    let (open, won) = (Uuid::now_v7(), Uuid::now_v7());
    connection
        .execute_unprepared(&format!(
            "INSERT INTO events (id, coefficient, deadline, status, version) VALUES
                 ('{open}', 1.85, now() + interval '1 hour', 'NEW', 1),
                 ('{won}', 2.00, now() + interval '1 hour', 'FINISHED_WIN', 2)"
        ))
        .await
        .unwrap_or_else(|e| panic!("rows of the old schema: {e}"));
    let cancel = format!("UPDATE events SET status = 'CANCELLED', version = 2 WHERE id = '{open}'");
    assert!(
        connection.execute_unprepared(&cancel).await.is_err(),
        "the old schema knows no CANCELLED"
    );

    Migrator::up(connection, None)
        .await
        .unwrap_or_else(|e| panic!("migrating forward: {e}"));
    connection
        .execute_unprepared(&cancel)
        .await
        .unwrap_or_else(|e| panic!("cancelling after the migration: {e}"));

    let rows = connection
        .query_all_raw(Statement::from_string(
            connection.get_database_backend(),
            "SELECT id, status, version FROM events ORDER BY id",
        ))
        .await
        .unwrap_or_else(|e| panic!("reading events: {e}"));
    let events: Vec<(Uuid, String, i64)> = rows
        .iter()
        .map(|row| {
            (
                row.try_get("", "id").unwrap_or_else(|e| panic!("{e}")),
                row.try_get("", "status").unwrap_or_else(|e| panic!("{e}")),
                row.try_get("", "version").unwrap_or_else(|e| panic!("{e}")),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            (open, "CANCELLED".to_owned(), 2),
            (won, "FINISHED_WIN".to_owned(), 2)
        ]
    );
}
