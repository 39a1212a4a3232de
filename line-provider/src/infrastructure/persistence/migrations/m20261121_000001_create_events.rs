use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261121_000001_create_events",
    up: r#"
        CREATE TABLE events (
            id          UUID PRIMARY KEY,
            coefficient NUMERIC(6, 2) NOT NULL CHECK (coefficient > 1 AND coefficient <= 1000),
            deadline    TIMESTAMPTZ NOT NULL,
            status      TEXT NOT NULL CHECK (status IN ('NEW', 'FINISHED_WIN', 'FINISHED_LOSE')),
            version     BIGINT NOT NULL CHECK (version >= 1),
            created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        -- GET /events?status=NEW pages through one status in id order.
        CREATE INDEX events_status_id ON events (status, id);
    "#,
    down: "DROP TABLE events;",
};
