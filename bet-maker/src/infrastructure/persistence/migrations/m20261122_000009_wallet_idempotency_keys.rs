use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261122_000009_wallet_idempotency_keys",
    up: r#"
        -- An Idempotency-Key now also makes deposits and withdrawals safe to
        -- retry: a key names either the bet its request placed or the
        -- wallet line (ledger entry) its request posted, never both. One
        -- namespace per bettor: a key used for a bet and then for a deposit
        -- is a reuse for another request (its `request` says which
        -- operation: `<event_id>:<amount>`, `deposit:<amount>`,
        -- `withdrawal:<amount>`). Existing keys all name bets, so the CHECK
        -- holds for every row already there.
        ALTER TABLE idempotency_keys ALTER COLUMN bet_id DROP NOT NULL;
        ALTER TABLE idempotency_keys
            ADD COLUMN ledger_entry_id UUID REFERENCES ledger_entries (id);
        ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_name_one_thing
            CHECK ((bet_id IS NULL) <> (ledger_entry_id IS NULL));
    "#,
    down: r#"
        -- Going back forgets the keys of wallet movements (the movements
        -- stay in the ledger).
        ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_name_one_thing;
        DELETE FROM idempotency_keys WHERE bet_id IS NULL;
        ALTER TABLE idempotency_keys DROP COLUMN ledger_entry_id;
        ALTER TABLE idempotency_keys ALTER COLUMN bet_id SET NOT NULL;
    "#,
};
