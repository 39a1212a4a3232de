use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261208_000018_time_ordered_ledger_ids",
    up: r#"
        -- Every id the service makes is a UUIDv7 (time-ordered), made in
        -- Rust; the ledger lines a settlement writes in SQL were v4
        -- (gen_random_uuid()), the only ids of a statement that were not.
        -- PostgreSQL 15 has no uuidv7() (18 has): this one follows RFC
        -- 9562, a v4's random bytes with the Unix time in milliseconds
        -- (clock_timestamp(), the moment the row is made) over the first
        -- 48 bits, and the version nibble's two low bits set (0100 -> 0111;
        -- the variant bits are already 10). One SELECT, so the planner
        -- inlines it into the statement that calls it; date_part is a
        -- double (extract's numeric costs twice as much), exact to the
        -- microsecond at this magnitude.
        CREATE FUNCTION uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
            SELECT encode(
                set_bit(set_bit(
                    overlay(uuid_send(gen_random_uuid())
                        PLACING substring(
                            int8send(floor(date_part('epoch', clock_timestamp()) * 1000)::bigint)
                            FROM 3)
                        FROM 1 FOR 6),
                    52, 1), 53, 1),
                'hex')::uuid
        $$;
    "#,
    down: r#"
        DROP FUNCTION uuid_v7();
    "#,
};
