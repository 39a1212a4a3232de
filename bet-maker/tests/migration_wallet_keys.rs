//! Existing databases move forward when idempotency keys start naming
//! wallet lines: every key of a bet stays and still replays its bet, and a
//! key names exactly one thing.

use bet_maker::application::ports::{BetRepository, EarlierBet, IdempotencyClaim};
use bet_maker::domain::BettorId;
use bet_maker::infrastructure::persistence::SeaOrmBetRepository;
use bet_maker::infrastructure::persistence::migrations::{Migrator, schema_fingerprint};
use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use shared_kernel::testing::TestDatabase;
use uuid::Uuid;

/// The migration that let keys name wallet lines.
const WALLET_KEYS_MIGRATION: &str = "m20261122_000009_wallet_idempotency_keys";

/// bet-maker's schema just before [`WALLET_KEYS_MIGRATION`].
struct BeforeWalletKeys;

impl MigratorTrait for BeforeWalletKeys {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        Migrator::migrations()
            .into_iter()
            .take_while(|migration| migration.name() != WALLET_KEYS_MIGRATION)
            .collect()
    }
}

async fn execute(db: &TestDatabase, sql: &str, values: Vec<sea_orm::Value>) -> Result<(), String> {
    let connection = &db.connection;
    connection
        .execute_raw(Statement::from_sql_and_values(
            connection.get_database_backend(),
            sql,
            values,
        ))
        .await
        .map(|_| ())
        .map_err(|e| format!("{sql}: {e}"))
}

#[tokio::test]
async fn keys_of_bets_stay_and_replay_and_a_key_names_exactly_one_thing() {
    shared_kernel::testing::init_logs();
    assert!(
        Migrator::migrations()
            .iter()
            .any(|migration| migration.name() == WALLET_KEYS_MIGRATION),
        "no migration {WALLET_KEYS_MIGRATION}"
    );
    let db = TestDatabase::create::<BeforeWalletKeys>(
        "bet_maker_before_wallet_keys",
        schema_fingerprint(),
    )
    .await
    .unwrap_or_else(|e| panic!("a database at the schema before wallet keys: {e}"));
    let (event, bet) = (Uuid::now_v7(), Uuid::now_v7());
    let request = format!("{event}:10.50");
    for (sql, values) in [
        (
            "INSERT INTO events (id, coefficient, deadline, status, version)
             VALUES ($1, 1.85, now() + interval '1 hour', 'NEW', 1)",
            vec![event.into()],
        ),
        (
            "INSERT INTO bets (id, event_id, amount, coefficient, status, placed_at, bettor_id)
             VALUES ($1, $2, 10.50, 1.85, 'PENDING', now(), 'alice')",
            vec![bet.into(), event.into()],
        ),
        (
            "INSERT INTO idempotency_keys (bettor_id, key, request, bet_id)
             VALUES ('alice', 'old-key', $1, $2)",
            vec![request.clone().into(), bet.into()],
        ),
    ] {
        execute(&db, sql, values).await.unwrap();
    }

    Migrator::up(&db.connection, None)
        .await
        .unwrap_or_else(|e| panic!("migrating forward: {e}"));

    let claim = IdempotencyClaim {
        bettor_id: BettorId::parse("alice").unwrap(),
        key: "old-key".to_owned(),
        request,
    };
    let replayed = SeaOrmBetRepository::new(db.connection.clone())
        .earlier_use(&claim)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    match replayed {
        Some(EarlierBet::Same(replayed)) => assert_eq!(replayed.id(), bet),
        other => panic!("{other:?}"),
    }
    let names_nothing = execute(
        &db,
        "INSERT INTO idempotency_keys (bettor_id, key, request) VALUES ('alice', 'k', 'x')",
        vec![],
    )
    .await;
    assert!(names_nothing.is_err(), "a key must name a bet or a line");
}
