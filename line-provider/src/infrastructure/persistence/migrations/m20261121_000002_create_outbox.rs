use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261121_000002_create_outbox",
    up: r#"
        -- Messages to publish, written in the same transaction as the change
        -- they announce. The relay marks a row published only after the
        -- broker confirmed it; until then it stays here, however long.
        CREATE TABLE outbox (
            id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            message_id      UUID NOT NULL UNIQUE,
            routing_key     TEXT NOT NULL,
            payload         JSONB NOT NULL,
            traceparent     TEXT,
            occurred_at     TIMESTAMPTZ NOT NULL,
            created_at      TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
            published_at    TIMESTAMPTZ,
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            last_error      TEXT
        );
        -- The relay's only question: what is waiting and due, oldest first.
        CREATE INDEX outbox_waiting ON outbox (id) WHERE published_at IS NULL;

        -- Wake the relay as soon as a transaction with new messages commits
        -- (NOTIFY is delivered at commit, and never for a rollback).
        CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('outbox', '');
            RETURN NULL;
        END;
        $$;
        CREATE TRIGGER outbox_inserted AFTER INSERT ON outbox
            FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
    "#,
    down: r#"
        DROP TABLE outbox;
        DROP FUNCTION outbox_notify();
    "#,
};
