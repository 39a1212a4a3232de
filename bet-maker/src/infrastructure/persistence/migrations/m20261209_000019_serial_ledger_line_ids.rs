use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261209_000019_serial_ledger_line_ids",
    up: r#"
        -- The ledger lines a settlement writes in SQL took their ids from
        -- uuid_v7(): 16 random bytes from the kernel for each line, 0.27 s
        -- of 100,000 lines' settlement. A line's id is now its
        -- transaction's (a UUIDv7 made in Rust) for the first 64 bits (the
        -- time in milliseconds, the version, 12 bits of the transaction's
        -- own), and a serial number for the last 62 (after the variant's
        -- two bits, 10), which RFC 9562 allows as rand_b (its "counter"
        -- method, section 6.2). Unique for ever whatever the time, because
        -- the serial never repeats; time-ordered as the transaction is; and
        -- within a transaction in the order the lines were made, which is
        -- the order a statement lists them in. One SELECT, inlined into the
        -- statement that calls it (0.12 s for 100,000).
        CREATE SEQUENCE ledger_line_serial AS bigint CACHE 1000;
        CREATE FUNCTION ledger_line_id(transaction_id uuid) RETURNS uuid LANGUAGE sql VOLATILE AS $$
            SELECT encode(
                overlay(uuid_send(transaction_id)
                    PLACING int8send(nextval('ledger_line_serial') | (-9223372036854775808))
                    FROM 9 FOR 8),
                'hex')::uuid
        $$;
        DROP FUNCTION uuid_v7();
    "#,
    down: r#"
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
        DROP FUNCTION ledger_line_id(uuid);
        DROP SEQUENCE ledger_line_serial;
    "#,
};
