use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261206_000005_suspended_events",
    up: r#"
        -- An operator may suspend an open event (no bets until it is resumed
        -- to NEW, or decided): a status that is not final.
        ALTER TABLE events
            DROP CONSTRAINT events_status_check,
            ADD CONSTRAINT events_status_check
                CHECK (status IN ('NEW', 'SUSPENDED', 'FINISHED_WIN', 'FINISHED_LOSE', 'CANCELLED'));
    "#,
    // A suspended event goes back to NEW first: the older schema knows no
    // SUSPENDED, and NEW is what it was before it was suspended.
    down: r#"
        UPDATE events SET status = 'NEW' WHERE status = 'SUSPENDED';
        ALTER TABLE events
            DROP CONSTRAINT events_status_check,
            ADD CONSTRAINT events_status_check
                CHECK (status IN ('NEW', 'FINISHED_WIN', 'FINISHED_LOSE', 'CANCELLED'));
    "#,
};
