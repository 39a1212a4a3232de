//! The ledger's references, checked once per statement rather than by
//! foreign keys row by row: a line naming a transaction or a wallet that
//! does not exist is refused with the whole statement, and neither a
//! wallet nor a ledger transaction can be deleted or re-keyed.

use bet_maker::infrastructure::persistence::migrations::{Migrator, schema_fingerprint};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use shared_kernel::testing::TestDatabase;

async fn database() -> TestDatabase {
    TestDatabase::create::<Migrator>("bet_maker_ledger_integrity", schema_fingerprint())
        .await
        .unwrap_or_else(|e| panic!("test database: {e}"))
}

async fn run(db: &DatabaseConnection, sql: &str) -> Result<(), DbErr> {
    db.execute_unprepared(sql).await.map(|_| ())
}

/// The error of `sql`, which must fail.
async fn refused(db: &DatabaseConnection, sql: &str) -> String {
    match run(db, sql).await {
        Ok(()) => panic!("accepted: {sql}"),
        Err(error) => error.to_string(),
    }
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql,
        ))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: no row"));
    row.try_get_by_index(0)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

const WALLET: &str =
    "INSERT INTO wallets (bettor_id, currency, balance) VALUES ('alice', 'EUR', 0)";
const TRANSACTION: &str = "INSERT INTO ledger_transactions (id, kind)
    VALUES ('00000000-0000-0000-0000-00000000000a', 'ADJUSTMENT')";

/// Two balanced lines of transaction `transaction`, the first on
/// `bettor`'s wallet, in one statement.
fn lines(transaction: &str, bettor: &str) -> String {
    format!(
        "INSERT INTO ledger_entries
             (id, transaction_id, account, amount, bettor_id, line, balance_after, created_at)
         VALUES (gen_random_uuid(), '{transaction}', 'WALLET', 5, '{bettor}', 'ADJUSTMENT', 5, now()),
                (gen_random_uuid(), '{transaction}', 'HOUSE_CASH', -5, NULL, NULL, NULL, now())"
    )
}

const KNOWN: &str = "00000000-0000-0000-0000-00000000000a";

#[tokio::test]
async fn lines_must_name_an_existing_transaction_and_wallet() {
    let db = database().await;
    let db = &db.connection;
    run(db, WALLET).await.unwrap_or_else(|e| panic!("{e}"));
    run(db, TRANSACTION).await.unwrap_or_else(|e| panic!("{e}"));

    let unknown_transaction =
        refused(db, &lines("00000000-0000-0000-0000-00000000000b", "alice")).await;
    assert!(
        unknown_transaction
            .contains("ledger transaction 00000000-0000-0000-0000-00000000000b does not exist"),
        "{unknown_transaction}"
    );
    let unknown_wallet = refused(db, &lines(KNOWN, "mallory")).await;
    assert!(
        unknown_wallet.contains("the wallet of mallory does not exist"),
        "{unknown_wallet}"
    );
    assert_eq!(
        count(db, "SELECT count(*) FROM ledger_entries").await,
        0,
        "a refused statement writes no line, not even its valid ones"
    );

    run(db, &lines(KNOWN, "alice"))
        .await
        .unwrap_or_else(|e| panic!("lines naming what exists: {e}"));
    assert_eq!(count(db, "SELECT count(*) FROM ledger_entries").await, 2);
}

#[tokio::test]
async fn wallets_and_transactions_are_never_deleted_nor_re_keyed() {
    let db = database().await;
    let db = &db.connection;
    run(db, WALLET).await.unwrap_or_else(|e| panic!("{e}"));
    run(db, TRANSACTION).await.unwrap_or_else(|e| panic!("{e}"));
    run(db, &lines(KNOWN, "alice"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    for sql in [
        "DELETE FROM wallets WHERE bettor_id = 'alice'",
        "UPDATE wallets SET bettor_id = 'alicia' WHERE bettor_id = 'alice'",
        "TRUNCATE wallets CASCADE",
        "DELETE FROM ledger_transactions",
        "UPDATE ledger_transactions SET id = gen_random_uuid()",
        "TRUNCATE ledger_transactions CASCADE",
    ] {
        let error = refused(db, sql).await;
        assert!(error.contains("are never deleted"), "{sql}: {error}");
    }
    assert_eq!(count(db, "SELECT count(*) FROM wallets").await, 1);
    assert_eq!(
        count(db, "SELECT count(*) FROM ledger_transactions").await,
        1
    );
    // A balance still moves.
    run(
        db,
        "UPDATE wallets SET balance = 5 WHERE bettor_id = 'alice'",
    )
    .await
    .unwrap_or_else(|e| panic!("moving a balance: {e}"));
}
