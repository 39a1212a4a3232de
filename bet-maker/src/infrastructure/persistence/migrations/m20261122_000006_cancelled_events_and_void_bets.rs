use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261122_000006_cancelled_events_and_void_bets",
    up: r#"
        -- line-provider may cancel an event (a final status, like a result),
        -- and the bets on it become void: settled, paying back the stake.
        -- Existing rows keep their statuses; only the allowed set grows.
        ALTER TABLE events
            DROP CONSTRAINT events_status_check,
            ADD CONSTRAINT events_status_check
                CHECK (status IN ('NEW', 'FINISHED_WIN', 'FINISHED_LOSE', 'CANCELLED'));
        ALTER TABLE bets
            DROP CONSTRAINT bets_status_check,
            ADD CONSTRAINT bets_status_check
                CHECK (status IN ('PENDING', 'WON', 'LOST', 'VOID'));
    "#,
    down: r#"
        ALTER TABLE bets
            DROP CONSTRAINT bets_status_check,
            ADD CONSTRAINT bets_status_check
                CHECK (status IN ('PENDING', 'WON', 'LOST'));
        ALTER TABLE events
            DROP CONSTRAINT events_status_check,
            ADD CONSTRAINT events_status_check
                CHECK (status IN ('NEW', 'FINISHED_WIN', 'FINISHED_LOSE'));
    "#,
};
