use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261211_000024_references_checked_by_their_keys",
    up: r#"
        -- The checks of migrations 16 and 21 (a statement's new ledger
        -- lines name a transaction and wallets that exist; its new legs a
        -- bet and events that do) are planned once per session, when the
        -- function first runs, on what the statistics say of the tables
        -- then. Planned on a small table (or on statistics that have not
        -- seen it grow: 73 rows estimated for 9,873), each check hashed
        -- the whole table it looks in, and went on doing so as the table
        -- grew: every group of placements read every ledger transaction
        -- ever made (7.3 ms a group of 16 bets at 15,000 transactions,
        -- against 5.4 ms), every wallet and every event. A check costs
        -- the statement's rows, not the history: each of them is looked
        -- up by its key, whatever the statistics say (a nested loop over
        -- the statement's distinct ids, an index probe each; a settlement
        -- of 100,000 lines from 10,000 bettors probes 10,000 wallets).
        ALTER FUNCTION ledger_entries_refer()
            SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;
        ALTER FUNCTION bet_legs_refer()
            SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off;
    "#,
    down: r#"
        ALTER FUNCTION bet_legs_refer() RESET ALL;
        ALTER FUNCTION ledger_entries_refer() RESET ALL;
    "#,
};
