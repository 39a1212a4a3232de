use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261122_000003_cancelled_events",
    up: r#"
        -- An operator may cancel an open event: a final status, like a result.
        ALTER TABLE events
            DROP CONSTRAINT events_status_check,
            ADD CONSTRAINT events_status_check
                CHECK (status IN ('NEW', 'FINISHED_WIN', 'FINISHED_LOSE', 'CANCELLED'));
    "#,
    down: r#"
        ALTER TABLE events
            DROP CONSTRAINT events_status_check,
            ADD CONSTRAINT events_status_check
                CHECK (status IN ('NEW', 'FINISHED_WIN', 'FINISHED_LOSE'));
    "#,
};
