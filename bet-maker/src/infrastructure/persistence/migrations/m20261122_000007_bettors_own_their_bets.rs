use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261122_000007_bettors_own_their_bets",
    up: r#"
        -- Every bet belongs to the bettor who placed it (the `sub` of their
        -- token, 1 to 64 characters). Bets placed before bettors existed go
        -- to the bettor `legacy` (domain::LEGACY_BETTOR): none is lost, and
        -- nobody sees them without asking for that bettor on purpose. A
        -- constant default fills existing rows without rewriting the table;
        -- it is dropped at once, so a new bet always names its bettor.
        ALTER TABLE bets ADD COLUMN bettor_id TEXT NOT NULL DEFAULT 'legacy'
            CHECK (char_length(bettor_id) BETWEEN 1 AND 64);
        ALTER TABLE bets ALTER COLUMN bettor_id DROP DEFAULT;

        -- GET /bets lists one bettor's bets, newest first, optionally on one
        -- event or with one status. A bettor's status filter is applied on
        -- the way through (bettor_id, id): an index holding `status` would
        -- be rewritten for every bet a settlement touches, for a query that
        -- reads one bettor's few bets.
        DROP INDEX bets_by_event;
        DROP INDEX bets_by_status;
        CREATE INDEX bets_by_bettor ON bets (bettor_id, id);
        CREATE INDEX bets_by_bettor_and_event ON bets (bettor_id, event_id, id);

        -- An Idempotency-Key is its bettor's: two bettors may use the same
        -- one, and neither learns of the other's. Existing keys placed
        -- legacy bets, so they are legacy's.
        ALTER TABLE idempotency_keys ADD COLUMN bettor_id TEXT NOT NULL DEFAULT 'legacy';
        ALTER TABLE idempotency_keys ALTER COLUMN bettor_id DROP DEFAULT;
        ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
        ALTER TABLE idempotency_keys ADD PRIMARY KEY (bettor_id, key);
    "#,
    down: r#"
        -- Going back forgets who owns what; of a key several bettors used,
        -- the first use stays.
        ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
        DELETE FROM idempotency_keys a USING idempotency_keys b
            WHERE a.key = b.key AND a.created_at > b.created_at;
        ALTER TABLE idempotency_keys ADD PRIMARY KEY (key);
        ALTER TABLE idempotency_keys DROP COLUMN bettor_id;
        DROP INDEX bets_by_bettor_and_event;
        DROP INDEX bets_by_bettor;
        CREATE INDEX bets_by_status ON bets (status, id);
        CREATE INDEX bets_by_event ON bets (event_id, id);
        ALTER TABLE bets DROP COLUMN bettor_id;
    "#,
};
