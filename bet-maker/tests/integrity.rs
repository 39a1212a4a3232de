//! The references of the ledger's lines and of the bets' legs, checked
//! once per statement rather than by foreign keys row by row: a line
//! naming a transaction or a wallet that does not exist, or a leg naming a
//! bet or an event that does not, is refused with the whole statement; and
//! no wallet, ledger transaction, bet, event or leg can be deleted or
//! re-keyed. And the feed's document of a bet, built set-based by the
//! bets' trigger, is the one `bet_document` makes; and a settlement
//! updates its bets, legs and wallets in place, touching no index; and a
//! ledger transaction's lines are found by reading a few pages; and the
//! references a statement writes are looked up by key, whatever the
//! statistics say, never by reading a whole table.

use bet_maker::infrastructure::persistence::SETTLE_BETS;
use bet_maker::infrastructure::persistence::migrations::{Migrator, schema_fingerprint};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement, TransactionTrait};
use shared_kernel::testing::TestDatabase;
use uuid::Uuid;

async fn database() -> TestDatabase {
    TestDatabase::create::<Migrator>("bet_maker_integrity", schema_fingerprint())
        .await
        .unwrap_or_else(|e| panic!("test database: {e}"))
}

async fn run(db: &impl ConnectionTrait, sql: &str) -> Result<(), DbErr> {
    db.execute_unprepared(sql).await.map(|_| ())
}

/// Runs `sql`, which must succeed.
async fn must_run(db: &impl ConnectionTrait, sql: &str) {
    run(db, sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Each of `statements` must be refused as the for-ever triggers refuse.
async fn refused_as_for_ever(db: &DatabaseConnection, statements: &[&str]) {
    for sql in statements {
        let error = refused(db, sql).await;
        assert!(error.contains("are never deleted"), "{sql}: {error}");
    }
}

/// The error of `sql`, which must fail.
async fn refused(db: &DatabaseConnection, sql: &str) -> String {
    match run(db, sql).await {
        Ok(()) => panic!("accepted: {sql}"),
        Err(error) => error.to_string(),
    }
}

/// The first column of the one row `sql` returns.
async fn first<T: sea_orm::TryGetable>(db: &impl ConnectionTrait, sql: &str) -> T {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: no row"));
    row.try_get_by_index(0)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn count(db: &impl ConnectionTrait, sql: &str) -> i64 {
    first(db, sql).await
}

/// `column` of `pg_stat_xact_user_tables` for `table`: what this
/// transaction did to it so far.
async fn table_stat(txn: &impl ConnectionTrait, table: &str, column: &str) -> i64 {
    count(
        txn,
        &format!("SELECT {column} FROM pg_stat_xact_user_tables WHERE relname = '{table}'"),
    )
    .await
}

/// `bettor-1` to `bettor-{n}`, each with an empty wallet.
async fn empty_wallets(db: &impl ConnectionTrait, n: u32) {
    must_run(
        db,
        &format!(
            "INSERT INTO wallets (bettor_id, currency, balance)
             SELECT 'bettor-' || n, 'EUR', 0 FROM generate_series(1, {n}) AS n"
        ),
    )
    .await;
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
    must_run(db, WALLET).await;
    must_run(db, TRANSACTION).await;

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
    must_run(db, WALLET).await;
    must_run(db, TRANSACTION).await;
    must_run(db, &lines(KNOWN, "alice")).await;

    refused_as_for_ever(
        db,
        &[
            "DELETE FROM wallets WHERE bettor_id = 'alice'",
            "UPDATE wallets SET bettor_id = 'alicia' WHERE bettor_id = 'alice'",
            "TRUNCATE wallets CASCADE",
            "DELETE FROM ledger_transactions",
            "UPDATE ledger_transactions SET id = gen_random_uuid()",
            "TRUNCATE ledger_transactions CASCADE",
        ],
    )
    .await;
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

const EVENTS: &str = "INSERT INTO events (id, coefficient, deadline, status, version) VALUES
    ('00000000-0000-0000-0000-0000000000e1', 2.00, now() + interval '1 day', 'NEW', 1),
    ('00000000-0000-0000-0000-0000000000e2', 3.00, now() + interval '1 day', 'NEW', 1)";
const BET: &str = "00000000-0000-0000-0000-0000000000b1";

/// Bet `bet` of alice's, an accumulator of two legs on `first` and
/// `second`: the bet, then its legs, in one statement.
fn accumulator(bet: &str, first: &str, second: &str) -> String {
    format!(
        "WITH bet AS (
             INSERT INTO bets (id, bettor_id, amount, status, placed_at, stake_posted, leg_count,
                               potential_payout)
             VALUES ('{bet}', 'alice', 10, 'PENDING', now(), false, 2, 60))
         INSERT INTO bet_legs (bet_id, leg, event_id, coefficient)
         VALUES ('{bet}', 1, '{first}', 2.00), ('{bet}', 2, '{second}', 3.00)"
    )
}

const FIRST: &str = "00000000-0000-0000-0000-0000000000e1";
const SECOND: &str = "00000000-0000-0000-0000-0000000000e2";

#[tokio::test]
async fn legs_must_name_an_existing_bet_and_event() {
    let db = database().await;
    let db = &db.connection;
    must_run(db, EVENTS).await;

    let unknown_bet = refused(
        db,
        &format!(
            "INSERT INTO bet_legs (bet_id, leg, event_id, coefficient)
             VALUES ('{BET}', 1, '{FIRST}', 2.00)"
        ),
    )
    .await;
    assert!(
        unknown_bet.contains(&format!("bet {BET} does not exist")),
        "{unknown_bet}"
    );
    let unknown_event = refused(
        db,
        &accumulator(BET, FIRST, "00000000-0000-0000-0000-0000000000e9"),
    )
    .await;
    assert!(
        unknown_event.contains("event 00000000-0000-0000-0000-0000000000e9 does not exist"),
        "{unknown_event}"
    );
    assert_eq!(
        count(db, "SELECT count(*) FROM bets").await
            + count(db, "SELECT count(*) FROM bet_legs").await,
        0,
        "a refused statement writes neither the bet nor any leg"
    );

    run(db, &accumulator(BET, FIRST, SECOND))
        .await
        .unwrap_or_else(|e| panic!("legs naming what exists: {e}"));
    assert_eq!(count(db, "SELECT count(*) FROM bet_legs").await, 2);
}

#[tokio::test]
async fn bets_events_and_legs_are_never_deleted_nor_re_keyed() {
    let db = database().await;
    let db = &db.connection;
    must_run(db, EVENTS).await;
    must_run(db, &accumulator(BET, FIRST, SECOND)).await;

    refused_as_for_ever(
        db,
        &[
            "DELETE FROM bets",
            "UPDATE bets SET id = gen_random_uuid()",
            "TRUNCATE bets CASCADE",
            "DELETE FROM events",
            "UPDATE events SET id = gen_random_uuid()",
            "TRUNCATE events CASCADE",
            "DELETE FROM bet_legs",
            "UPDATE bet_legs SET bet_id = gen_random_uuid()",
            &format!("UPDATE bet_legs SET event_id = '{SECOND}' WHERE leg = 1"),
            "TRUNCATE bet_legs",
        ],
    )
    .await;
    assert_eq!(count(db, "SELECT count(*) FROM bet_legs").await, 2);
    // A leg is still decided, and a bet settled.
    run(
        db,
        "UPDATE bet_legs SET status = 'VOID', void_reason = 'CANCELLED', settled_version = 2",
    )
    .await
    .unwrap_or_else(|e| panic!("deciding the legs: {e}"));
}

#[tokio::test]
async fn the_feeds_document_of_a_bet_is_bet_document() {
    let db = database().await;
    let db = &db.connection;
    must_run(db, EVENTS).await;
    must_run(db, &accumulator(BET, FIRST, SECOND)).await;
    run(
        db,
        &format!("UPDATE bets SET potential_payout = 61 WHERE id = '{BET}'"),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    // Placed, then changed: each written as a document of the bet, its
    // legs in order, as `bet_document` makes it now (nothing else changed
    // the legs between the two).
    let documents = count(
        db,
        &format!(
            "SELECT count(*) FROM change_feed WHERE kind = 'bet' AND bettor_id = 'alice'
               AND snapshot->'legs' = (SELECT bet_document(bets)->'legs' FROM bets WHERE id = '{BET}')
               AND jsonb_array_length(snapshot->'legs') = 2"
        ),
    )
    .await;
    assert_eq!(
        documents, 2,
        "both documents carry the bet's two legs as bet_document does"
    );
    let latest = count(
        db,
        &format!(
            "SELECT count(*) FROM change_feed
             WHERE position = (SELECT max(position) FROM change_feed WHERE kind = 'bet')
               AND snapshot = (SELECT bet_document(bets) FROM bets WHERE id = '{BET}')"
        ),
    )
    .await;
    assert_eq!(latest, 1, "the latest document is bet_document's, whole");
}

/// How many of the rows of `table` this transaction updated, and how many
/// of those updates were heap-only (the new version on the old one's page,
/// no index entry written).
async fn updates(txn: &impl ConnectionTrait, table: &str) -> (i64, i64) {
    (
        table_stat(txn, table, "n_tup_upd").await,
        table_stat(txn, table, "n_tup_hot_upd").await,
    )
}

#[tokio::test]
async fn a_settlement_updates_its_bets_legs_and_wallets_in_place() {
    let db = database().await;
    let db = &db.connection;
    // 2,000 staked singles of 20 bettors on an event won, over enough
    // pages that a page without room for its rows' settled versions would
    // show (with half of each page left, migration 16's, 100 of the 2,000
    // bets went to another page, and into every index).
    must_run(
        db,
        &format!(
            "INSERT INTO events (id, coefficient, deadline, status, version, decided_at)
             VALUES ('{FIRST}', 2.00, now() + interval '1 day',
                     'FINISHED_WIN', 2, now() + interval '1 hour')"
        ),
    )
    .await;
    empty_wallets(db, 20).await;
    must_run(
        db,
        &format!(
            "WITH fresh AS MATERIALIZED (
                 SELECT gen_random_uuid() AS id, 'bettor-' || (1 + n % 20) AS bettor_id
                 FROM generate_series(1, 2000) AS n),
             placed AS (
                 INSERT INTO bets (id, bettor_id, amount, status, placed_at, stake_posted,
                                   leg_count, potential_payout)
                 SELECT id, bettor_id, 10, 'PENDING', now(), true, 1, 20 FROM fresh)
             INSERT INTO bet_legs (bet_id, leg, event_id, coefficient)
             SELECT id, 1, '{FIRST}', 2.00 FROM fresh"
        ),
    )
    .await;

    let txn = db.begin().await.unwrap_or_else(|e| panic!("begin: {e}"));
    let event: Uuid = FIRST.parse().unwrap_or_else(|e| panic!("{FIRST}: {e}"));
    txn.query_one_raw(Statement::from_sql_and_values(
        txn.get_database_backend(),
        SETTLE_BETS,
        [
            event.into(),
            "FINISHED_WIN".into(),
            Uuid::now_v7().into(),
            2i64.into(),
        ],
    ))
    .await
    .unwrap_or_else(|e| panic!("settling: {e}"));
    assert_eq!(
        count(&txn, "SELECT count(*) FROM bets WHERE status = 'WON'").await,
        2000,
        "every bet settled"
    );
    for (table, rows) in [("bets", 2000), ("bet_legs", 2000), ("wallets", 20)] {
        assert_eq!(
            updates(&txn, table).await,
            (rows, rows),
            "{table}: every row updated once, each update heap-only"
        );
    }
    txn.commit().await.unwrap_or_else(|e| panic!("commit: {e}"));
}

/// What `EXPLAIN (ANALYZE, FORMAT JSON)` of `sql` says of its plan: the
/// index each node used and the heap pages each read, over the tree.
fn plan_nodes(node: &serde_json::Value, found: &mut Vec<(Option<String>, i64)>) {
    let index = node["Index Name"].as_str().map(str::to_owned);
    let pages = ["Exact Heap Blocks", "Lossy Heap Blocks"]
        .iter()
        .filter_map(|key| node[*key].as_i64())
        .sum();
    found.push((index, pages));
    for child in node["Plans"].as_array().into_iter().flatten() {
        plan_nodes(child, found);
    }
}

#[tokio::test]
async fn a_transactions_lines_are_found_by_reading_a_few_pages() {
    let db = database().await;
    let db = &db.connection;
    empty_wallets(db, 50).await;
    // 400 transactions of 100 lines each, one after the other, each with
    // a time-ordered id made as it starts (as every posting's is): some
    // 40,000 lines over hundreds of pages.
    let transactions: Vec<Uuid> = (0..400).map(|_| Uuid::now_v7()).collect();
    for transaction in &transactions {
        must_run(
            db,
            &format!(
                "INSERT INTO ledger_transactions (id, kind) VALUES ('{transaction}', 'ADJUSTMENT');
                 INSERT INTO ledger_entries
                     (id, transaction_id, account, amount, bettor_id, line, balance_after,
                      created_at)
                 SELECT gen_random_uuid(), '{transaction}', 'WALLET', 5, 'bettor-' || (1 + n % 50),
                        'ADJUSTMENT', 5, now()
                 FROM generate_series(1, 100) AS n"
            ),
        )
        .await;
    }
    // What autovacuum does for a table that grew (autosummarize).
    must_run(
        db,
        "SELECT brin_summarize_new_values('ledger_entries_by_transaction'); ANALYZE ledger_entries",
    )
    .await;
    let pages = count(
        db,
        "SELECT relpages::bigint FROM pg_class WHERE relname = 'ledger_entries'",
    )
    .await;
    assert!(pages >= 500, "the lines span {pages} pages");

    let txn = db.begin().await.unwrap_or_else(|e| panic!("begin: {e}"));
    must_run(&txn, "SET LOCAL enable_seqscan = off").await;
    let wanted = transactions[200];
    let sql = format!(
        "EXPLAIN (ANALYZE, FORMAT JSON)
         SELECT * FROM ledger_entries WHERE transaction_id = '{wanted}'"
    );
    let plan: serde_json::Value = first(&txn, &sql).await;
    let mut nodes = Vec::new();
    plan_nodes(&plan[0]["Plan"], &mut nodes);
    assert_eq!(plan[0]["Plan"]["Actual Rows"].as_i64(), Some(100), "{plan}");
    assert!(
        nodes
            .iter()
            .any(|(index, _)| index.as_deref() == Some("ledger_entries_by_transaction")),
        "found through the index: {plan}"
    );
    // The ranges (32 pages each) that hold its lines, at most two, and the
    // table's last range should it not be summarized yet.
    let read: i64 = nodes.iter().map(|(_, pages)| pages).sum();
    assert!(
        read <= 3 * 32,
        "{read} of {pages} pages read for one transaction's lines: {plan}"
    );
}

#[tokio::test]
async fn a_statements_references_are_looked_up_by_key_not_scanned() {
    let db = database().await;
    let db = &db.connection;
    must_run(db, WALLET).await;
    must_run(db, EVENTS).await;
    // Statistics taken while the tables were small, then the tables grown
    // past them (as between two runs of autovacuum, or without it): a
    // check planned on them hashed the whole table it looked in.
    must_run(
        db,
        "ANALYZE ledger_transactions, wallets, events, bets;
         INSERT INTO ledger_transactions (id, kind)
         SELECT gen_random_uuid(), 'ADJUSTMENT' FROM generate_series(1, 5000);
         INSERT INTO events (id, coefficient, deadline, status, version)
         SELECT gen_random_uuid(), 2.00, now() + interval '1 day', 'NEW', 1
         FROM generate_series(1, 2000)",
    )
    .await;
    empty_wallets(db, 2000).await;

    let txn = db.begin().await.unwrap_or_else(|e| panic!("begin: {e}"));
    must_run(&txn, TRANSACTION).await;
    must_run(&txn, &lines(KNOWN, "alice")).await;
    must_run(&txn, &accumulator(BET, FIRST, SECOND)).await;
    for table in ["ledger_transactions", "wallets", "events", "bets"] {
        let read = table_stat(&txn, table, "seq_tup_read").await;
        assert_eq!(read, 0, "{table}: rows read by scanning the table");
    }
    txn.commit().await.unwrap_or_else(|e| panic!("commit: {e}"));
}
