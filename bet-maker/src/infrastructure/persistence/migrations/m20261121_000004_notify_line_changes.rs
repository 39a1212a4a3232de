use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261121_000004_notify_line_changes",
    up: r#"
        -- Tell every bet-maker replica that its in-memory list of open events
        -- is stale (delivered at commit, never for a rollback).
        CREATE FUNCTION line_changed_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('line_changed', '');
            RETURN NULL;
        END;
        $$;
        CREATE TRIGGER line_changed AFTER INSERT OR UPDATE OR DELETE ON events
            FOR EACH STATEMENT EXECUTE FUNCTION line_changed_notify();
    "#,
    down: r#"
        DROP TRIGGER line_changed ON events;
        DROP FUNCTION line_changed_notify();
    "#,
};
