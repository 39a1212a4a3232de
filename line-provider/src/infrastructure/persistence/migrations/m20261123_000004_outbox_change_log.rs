use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261123_000004_outbox_change_log",
    up: r#"
        -- The outbox keeps every change after publishing it, so it is also
        -- the line's change log, read by gRPC WatchEvents. A log reader
        -- cannot page by id alone: an identity value can commit after a
        -- larger one, and "id > last seen" would skip it for good. Each row
        -- records the id of the transaction that wrote it instead; a reader
        -- takes only rows of transactions below the oldest one still running
        -- (pg_snapshot_xmin), which have all ended, so nothing can later
        -- appear below a position already read. Rows written before this
        -- migration all get its transaction's id, keeping their id order.
        ALTER TABLE outbox ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
        -- The reader's only question: what comes after (xid, id), in order.
        CREATE INDEX outbox_change_log ON outbox (xid, id);
    "#,
    down: r#"
        DROP INDEX outbox_change_log;
        ALTER TABLE outbox DROP COLUMN xid;
    "#,
};
