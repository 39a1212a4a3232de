use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261122_000010_stakes_in_the_ledger",
    up: r#"
        -- Whether the bet's stake was taken from its bettor's wallet into
        -- the ledger (a STAKE transaction). Only such a bet moves money when
        -- it is settled: its payout or refund is credited to the wallet.
        -- Bets placed before stakes were taken have none: they settle as
        -- they always did (status and payout), moving no money, since none
        -- was taken. The constant default fills existing rows without
        -- rewriting the table.
        ALTER TABLE bets ADD COLUMN stake_posted BOOLEAN NOT NULL DEFAULT false;

        -- The event a settlement transaction settled (none for the others).
        ALTER TABLE ledger_transactions ADD COLUMN event_id UUID;
        CREATE INDEX ledger_transactions_by_event ON ledger_transactions (event_id)
            WHERE event_id IS NOT NULL;
    "#,
    down: r#"
        ALTER TABLE ledger_transactions DROP COLUMN event_id;
        ALTER TABLE bets DROP COLUMN stake_posted;
    "#,
};
