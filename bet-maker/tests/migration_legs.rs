//! Existing databases move forward without losing a bet: every bet placed
//! before accumulators becomes a bet of one leg, with its event, its
//! coefficient, and how it was settled, and reads back as it was; its
//! event's result still settles it, and a correction still re-settles it.

use bet_maker::application::ports::{BetFilter, BetRepository};
use bet_maker::domain::{BetStatus, BettorId, LegStatus, VoidReason};
use bet_maker::infrastructure::persistence::SeaOrmBetRepository;
use bet_maker::infrastructure::persistence::migrations::{Migrator, schema_fingerprint};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use shared_kernel::pagination::PageRequest;
use shared_kernel::testing::{TestDatabase, count};
use uuid::Uuid;

/// The migration that gave bets their legs.
const LEGS_MIGRATION: &str = "m20261207_000015_accumulators_and_cash_out";

/// bet-maker's schema as it was just before legs.
struct BeforeLegs;

impl MigratorTrait for BeforeLegs {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        Migrator::migrations()
            .into_iter()
            .take_while(|migration| migration.name() != LEGS_MIGRATION)
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

#[tokio::test]
async fn every_bet_before_accumulators_becomes_a_single_of_one_leg() {
    shared_kernel::testing::init_logs();
    assert!(
        Migrator::migrations()
            .iter()
            .any(|migration| migration.name() == LEGS_MIGRATION),
        "no migration {LEGS_MIGRATION}"
    );
    let db = TestDatabase::create::<BeforeLegs>("bet_maker_before_legs", schema_fingerprint())
        .await
        .unwrap_or_else(|e| panic!("a database at the schema before legs: {e}"));
    let (open, won, cancelled) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    execute(
        &db,
        "INSERT INTO events (id, coefficient, deadline, status, version, decided_at) VALUES
             ($1, 1.85, now() + interval '1 hour', 'NEW', 1, NULL),
             ($2, 2.10, now() - interval '1 hour', 'FINISHED_WIN', 3, now() - interval '30 minutes'),
             ($3, 3.00, now() + interval '1 hour', 'CANCELLED', 2, now() - interval '10 minutes')",
        vec![open.into(), won.into(), cancelled.into()],
    )
    .await;
    let (pending, paid, late, void) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    execute(
        &db,
        "INSERT INTO wallets (bettor_id, currency, balance) VALUES ('alice', 'EUR', 100.00)",
        vec![],
    )
    .await;
    execute(
        &db,
        "INSERT INTO bets (id, bettor_id, event_id, amount, coefficient, status, payout, placed_at,
                           settled_at, settled_coefficient, void_reason, settled_version, stake_posted)
         VALUES
             ($1, 'alice', $5, 10.50, 1.85, 'PENDING', NULL, now(), NULL, NULL, NULL, NULL, true),
             ($2, 'alice', $6, 10.00, 2.10, 'WON', 20.00, now() - interval '2 hours',
              now() - interval '29 minutes', 2.00, NULL, 3, true),
             ($3, 'alice', $6, 5.00, 2.10, 'VOID', 5.00, now() - interval '20 minutes',
              now() - interval '19 minutes', NULL, 'LATE', 3, true),
             ($4, 'alice', $7, 7.00, 3.00, 'VOID', 7.00, now() - interval '3 hours',
              now() - interval '9 minutes', NULL, 'CANCELLED', 2, true)",
        vec![
            pending.into(),
            paid.into(),
            late.into(),
            void.into(),
            open.into(),
            won.into(),
            cancelled.into(),
        ],
    )
    .await;

    Migrator::up(&db.connection, None)
        .await
        .unwrap_or_else(|e| panic!("migrating forward: {e}"));

    assert_eq!(count(&db.connection, "SELECT count(*) FROM bets").await, 4);
    assert_eq!(
        count(
            &db.connection,
            "SELECT count(*) FROM bet_legs WHERE leg = 1"
        )
        .await,
        4
    );
    let alice = BettorId::parse("alice").unwrap_or_else(|e| panic!("{e}"));
    let bets = SeaOrmBetRepository::new(db.connection.clone());
    let read = |id: Uuid| {
        let bets = bets.clone();
        let alice = alice.clone();
        async move {
            bets.get(&alice, id)
                .await
                .unwrap_or_else(|e| panic!("reading bet {id}: {e}"))
                .unwrap_or_else(|| panic!("bet {id} was lost"))
        }
    };

    let kept = read(pending).await;
    assert_eq!(kept.single_event(), Some(open));
    assert_eq!(kept.status(), BetStatus::Pending);
    assert_eq!(kept.price().to_string(), "1.85");
    assert_eq!(kept.potential_payout(), Decimal::new(1943, 2));
    assert_eq!(kept.legs()[0].status, LegStatus::Pending);

    let kept = read(paid).await;
    assert_eq!(kept.status(), BetStatus::Won);
    assert_eq!(kept.payout(), Some(Decimal::new(2000, 2)));
    assert_eq!(kept.legs()[0].status, LegStatus::Won);
    assert_eq!(
        kept.legs()[0].settled_coefficient,
        Some(Decimal::new(200, 2)),
        "settled at the cut it was placed after"
    );
    assert_eq!(
        kept.settled_price().map(|p| p.to_string()),
        Some("2.00".into())
    );

    let kept = read(late).await;
    assert_eq!(kept.status(), BetStatus::Void);
    assert_eq!(kept.void_reason(), Some(VoidReason::Late));
    assert_eq!(kept.legs()[0].status, LegStatus::Void);
    assert_eq!(kept.legs()[0].void_reason, Some(VoidReason::Late));

    let kept = read(void).await;
    assert_eq!(kept.void_reason(), Some(VoidReason::Cancelled));
    assert_eq!(kept.legs()[0].void_reason, Some(VoidReason::Cancelled));

    let page = PageRequest {
        limit: 50,
        after: None,
    };
    let on_the_won_event = bets
        .list(
            &alice,
            BetFilter {
                event_id: Some(won),
                ..BetFilter::default()
            },
            page,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut ids: Vec<Uuid> = on_the_won_event.iter().map(|bet| bet.id()).collect();
    ids.sort_unstable();
    let mut expected = vec![paid, late];
    expected.sort_unstable();
    assert_eq!(
        ids, expected,
        "GET /bets?event_id= finds them through their legs"
    );
    assert_eq!(
        count(
            &db.connection,
            "SELECT count(*) FROM bet_legs WHERE status <> 'PENDING' AND settled_version IS NULL"
        )
        .await,
        0,
        "every decided leg knows the version that decided it, so a correction re-settles it once"
    );
}
