//! Existing databases migrate forward: a database at the schema from before
//! cancellations keeps its events, and then takes a cancelled one; an outbox
//! from before the change log keeps its rows, in their order; a database
//! from before suspensions takes a suspended event.

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
    // The suspensions', the change log's, then the cancellations'.
    Migrator::down(connection, Some(3))
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

#[tokio::test]
async fn outbox_rows_from_before_the_change_log_keep_their_order_in_it() {
    let db = TestDatabase::create::<Migrator>("line_provider_migrations", schema_fingerprint())
        .await
        .unwrap_or_else(|e| panic!("test database: {e}"));
    let connection = &db.connection;
    // The suspensions' migration, then the change log's.
    Migrator::down(connection, Some(2))
        .await
        .unwrap_or_else(|e| panic!("back to the schema before the change log: {e}"));
    connection
        .execute_unprepared(
            "INSERT INTO outbox (message_id, routing_key, payload, occurred_at)
             SELECT gen_random_uuid(), 'event.created', '{}', now() FROM generate_series(1, 3)",
        )
        .await
        .unwrap_or_else(|e| panic!("rows of the old schema: {e}"));

    Migrator::up(connection, None)
        .await
        .unwrap_or_else(|e| panic!("migrating forward: {e}"));

    let rows = connection
        .query_all_raw(Statement::from_string(
            connection.get_database_backend(),
            "SELECT id FROM outbox ORDER BY xid, id",
        ))
        .await
        .unwrap_or_else(|e| panic!("reading the outbox in log order: {e}"));
    let ids: Vec<i64> = rows
        .iter()
        .map(|row| row.try_get("", "id").unwrap_or_else(|e| panic!("{e}")))
        .collect();
    assert_eq!(ids, [1, 2, 3], "log order is the old id order");
}

#[tokio::test]
async fn a_database_from_before_suspensions_takes_a_suspended_event() {
    let db = TestDatabase::create::<Migrator>("line_provider_migrations", schema_fingerprint())
        .await
        .unwrap_or_else(|e| panic!("test database: {e}"));
    let connection = &db.connection;
    Migrator::down(connection, Some(1))
        .await
        .unwrap_or_else(|e| panic!("back to the schema before suspensions: {e}"));
    let open = Uuid::now_v7();
    connection
        .execute_unprepared(&format!(
            "INSERT INTO events (id, coefficient, deadline, status, version) VALUES
                 ('{open}', 1.85, now() + interval '1 hour', 'NEW', 1)"
        ))
        .await
        .unwrap_or_else(|e| panic!("a row of the old schema: {e}"));
    let suspend =
        format!("UPDATE events SET status = 'SUSPENDED', version = 2 WHERE id = '{open}'");
    assert!(
        connection.execute_unprepared(&suspend).await.is_err(),
        "the old schema knows no SUSPENDED"
    );

    Migrator::up(connection, None)
        .await
        .unwrap_or_else(|e| panic!("migrating forward: {e}"));

    connection
        .execute_unprepared(&suspend)
        .await
        .unwrap_or_else(|e| panic!("suspending after the migration: {e}"));
    let bogus = format!("UPDATE events SET status = 'PAUSED' WHERE id = '{open}'");
    assert!(
        connection.execute_unprepared(&bogus).await.is_err(),
        "the check still refuses what is no status"
    );
}
