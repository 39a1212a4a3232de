use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261121_000001_create_events",
    up: r#"
        -- bet-maker's copy of line-provider's events, each at the newest
        -- version heard of.
        CREATE TABLE events (
            id          UUID PRIMARY KEY,
            coefficient NUMERIC(6, 2) NOT NULL CHECK (coefficient > 1),
            deadline    TIMESTAMPTZ NOT NULL,
            status      TEXT NOT NULL CHECK (status IN ('NEW', 'FINISHED_WIN', 'FINISHED_LOSE')),
            version     BIGINT NOT NULL CHECK (version >= 1),
            updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        -- GET /events: the open ones, in id order.
        CREATE INDEX events_open ON events (id) INCLUDE (deadline) WHERE status = 'NEW';
    "#,
    down: "DROP TABLE events;",
};
