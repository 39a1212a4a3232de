use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261208_000017_dead_letter_records",
    up: r#"
        -- Why bet-maker dead-lettered its latest messages, for staff
        -- (GET /admin/dead-letters): a record written as each goes to the
        -- dead-letter queue, so that every replica shows the same ones.
        -- The messages themselves stay in the queue; the repository keeps
        -- only the latest thousand records.
        CREATE TABLE dead_letter_records (
            id               UUID PRIMARY KEY,
            label            TEXT NOT NULL,
            reason           TEXT NOT NULL,
            routing_key      TEXT NOT NULL,
            message_id       TEXT,
            dead_lettered_at TIMESTAMPTZ NOT NULL
        );
    "#,
    down: "DROP TABLE dead_letter_records;",
};
