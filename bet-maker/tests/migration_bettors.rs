//! Existing databases move forward without losing a bet: bets placed
//! before bettors existed become the `legacy` bettor's, with their
//! idempotency keys, and nobody else sees them.

use bet_maker::application::ports::{BetFilter, BetRepository};
use bet_maker::domain::{BettorId, LEGACY_BETTOR};
use bet_maker::infrastructure::persistence::SeaOrmBetRepository;
use bet_maker::infrastructure::persistence::migrations::{Migrator, schema_fingerprint};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use shared_kernel::pagination::PageRequest;
use shared_kernel::testing::{TestDatabase, count};
use uuid::Uuid;

/// The migration that gave bets their bettor.
const BETTORS_MIGRATION: &str = "m20261122_000007_bettors_own_their_bets";

/// bet-maker's schema as it was just before bettors: every migration
/// before [`BETTORS_MIGRATION`].
struct BeforeBettors;

impl MigratorTrait for BeforeBettors {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        Migrator::migrations()
            .into_iter()
            .take_while(|migration| migration.name() != BETTORS_MIGRATION)
            .collect()
    }
}

async fn execute(db: &TestDatabase, sql: &str, values: Vec<sea_orm::Value>) {
    let connection = &db.connection;
    connection
        .execute_raw(Statement::from_sql_and_values(
            connection.get_database_backend(),
            sql,
            values,
        ))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn bettor(id: &str) -> BettorId {
    BettorId::parse(id).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn bets_placed_before_bettors_become_the_legacy_bettors_and_only_theirs() {
    shared_kernel::testing::init_logs();
    assert!(
        Migrator::migrations()
            .iter()
            .any(|migration| migration.name() == BETTORS_MIGRATION),
        "no migration {BETTORS_MIGRATION}"
    );
    // A template of its own (another prefix), so the usual template of the
    // current schema is left alone.
    let db =
        TestDatabase::create::<BeforeBettors>("bet_maker_before_bettors", schema_fingerprint())
            .await
            .unwrap_or_else(|e| panic!("a database at the schema before bettors: {e}"));
    let (event, bet) = (Uuid::now_v7(), Uuid::now_v7());
    execute(
        &db,
        "INSERT INTO events (id, coefficient, deadline, status, version)
         VALUES ($1, 1.85, now() + interval '1 hour', 'NEW', 1)",
        vec![event.into()],
    )
    .await;
    execute(
        &db,
        "INSERT INTO bets (id, event_id, amount, coefficient, status, placed_at)
         VALUES ($1, $2, 10.50, 1.85, 'PENDING', now())",
        vec![bet.into(), event.into()],
    )
    .await;
    execute(
        &db,
        "INSERT INTO idempotency_keys (key, request, bet_id) VALUES ('old-key', $1, $2)",
        vec![format!("{event}:10.50").into(), bet.into()],
    )
    .await;

    Migrator::up(&db.connection, None)
        .await
        .unwrap_or_else(|e| panic!("migrating forward: {e}"));

    let bets = SeaOrmBetRepository::new(db.connection.clone());
    let legacy = bettor(LEGACY_BETTOR);
    let kept = bets
        .get(&legacy, bet)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("bet {bet} is not the legacy bettor's"));
    assert_eq!(kept.bettor_id(), &BettorId::legacy());
    assert_eq!(kept.amount().value(), Decimal::new(1050, 2));
    assert_eq!(kept.single_event(), Some(event));
    let page = PageRequest {
        limit: 50,
        after: None,
    };
    let listed = bets
        .list(&legacy, BetFilter::default(), page)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(listed, vec![kept]);
    let someone = bettor("alice");
    assert_eq!(bets.get(&someone, bet).await.ok().flatten(), None);
    assert_eq!(
        bets.list(&someone, BetFilter::default(), page)
            .await
            .map(|listed| listed.len())
            .ok(),
        Some(0)
    );
    let legacy_keys = count(
        &db.connection,
        "SELECT count(*) FROM idempotency_keys WHERE bettor_id = 'legacy' AND key = 'old-key'",
    )
    .await;
    assert_eq!(legacy_keys, 1, "the old key is the legacy bettor's");
    execute(
        &db,
        "INSERT INTO idempotency_keys (bettor_id, key, request, bet_id) VALUES ('alice', 'old-key', 'x', $1)",
        vec![bet.into()],
    )
    .await;
}
