use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261121_000003_create_inbox_and_idempotency_keys",
    up: r#"
        -- Every message applied, recorded in the transaction that applied
        -- it: a redelivered message finds its id here and changes nothing.
        CREATE TABLE inbox (
            message_id  UUID PRIMARY KEY,
            received_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );

        -- Idempotency-Key of POST /bets: the request it was first used for,
        -- and the bet that request made (committed together with the bet).
        CREATE TABLE idempotency_keys (
            key        TEXT PRIMARY KEY,
            request    TEXT NOT NULL,
            bet_id     UUID NOT NULL REFERENCES bets (id),
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
    "#,
    down: r#"
        DROP TABLE idempotency_keys;
        DROP TABLE inbox;
    "#,
};
