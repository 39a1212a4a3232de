use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261122_000005_inbox_digest",
    up: r#"
        -- A digest of what each message said, so a message_id that comes
        -- again with other content is told apart from a redelivery. Rows
        -- from before have none, and count as redeliveries.
        ALTER TABLE inbox ADD COLUMN digest TEXT;
    "#,
    down: r#"
        ALTER TABLE inbox DROP COLUMN digest;
    "#,
};
