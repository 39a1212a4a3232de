use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261205_000011_change_feed",
    up: r#"
        -- Every change a live stream shows (GET /events/stream, GET
        -- /bets/stream), written by triggers in the transaction that makes
        -- it, whichever replica and whichever statement that is: a change
        -- to the copy of the line (bettor_id NULL), a bet placed or
        -- settled, a wallet's balance moved (bettor_id its owner). The
        -- snapshot is the row as it was right after the change.
        --
        -- Readers go in (xid, position) order and only below the oldest
        -- transaction still running (pg_snapshot_xmin): a position is
        -- taken at insert but may commit after a larger one, and a reader
        -- going by position alone would skip it for good. Below that
        -- horizon no row can appear any more, so a reader that resumes
        -- after the last (xid, position) it read misses nothing.
        CREATE TABLE change_feed (
            position   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            xid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
            bettor_id  TEXT,
            kind       TEXT NOT NULL CHECK (kind IN ('line', 'bet', 'wallet')),
            snapshot   JSONB NOT NULL,
            -- When the change was written, just before its commit: the
            -- benchmark measures delivery from here.
            created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
            CHECK ((kind = 'line') = (bettor_id IS NULL))
        );
        CREATE INDEX change_feed_order ON change_feed (xid, position);
        CREATE INDEX change_feed_line ON change_feed (xid, position) WHERE bettor_id IS NULL;
        CREATE INDEX change_feed_bettor ON change_feed (bettor_id, xid, position)
            WHERE bettor_id IS NOT NULL;

        -- One trigger per table and operation, each a statement-level
        -- INSERT ... SELECT over the statement's changed rows, so that a
        -- settlement of 100,000 bets writes its feed in one statement too.
        CREATE FUNCTION feed_line() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO change_feed (kind, snapshot)
            SELECT 'line', to_jsonb(changed) FROM changed ORDER BY changed.id;
            RETURN NULL;
        END;
        $$;
        CREATE TRIGGER events_inserted_feed AFTER INSERT ON events
            REFERENCING NEW TABLE AS changed
            FOR EACH STATEMENT EXECUTE FUNCTION feed_line();
        CREATE TRIGGER events_updated_feed AFTER UPDATE ON events
            REFERENCING NEW TABLE AS changed
            FOR EACH STATEMENT EXECUTE FUNCTION feed_line();

        CREATE FUNCTION feed_bets() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO change_feed (bettor_id, kind, snapshot)
            SELECT changed.bettor_id, 'bet', to_jsonb(changed) FROM changed ORDER BY changed.id;
            RETURN NULL;
        END;
        $$;
        CREATE TRIGGER bets_inserted_feed AFTER INSERT ON bets
            REFERENCING NEW TABLE AS changed
            FOR EACH STATEMENT EXECUTE FUNCTION feed_bets();
        CREATE TRIGGER bets_updated_feed AFTER UPDATE ON bets
            REFERENCING NEW TABLE AS changed
            FOR EACH STATEMENT EXECUTE FUNCTION feed_bets();

        -- A wallet shows when its balance moves: made with money in it, or
        -- changed (a wallet made empty, or a row rewritten to the same
        -- balance, is no movement).
        CREATE FUNCTION feed_new_wallets() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO change_feed (bettor_id, kind, snapshot)
            SELECT made.bettor_id, 'wallet', to_jsonb(made) FROM made
            WHERE made.balance <> 0 ORDER BY made.bettor_id;
            RETURN NULL;
        END;
        $$;
        CREATE TRIGGER wallets_inserted_feed AFTER INSERT ON wallets
            REFERENCING NEW TABLE AS made
            FOR EACH STATEMENT EXECUTE FUNCTION feed_new_wallets();

        CREATE FUNCTION feed_moved_wallets() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO change_feed (bettor_id, kind, snapshot)
            SELECT after.bettor_id, 'wallet', to_jsonb(after)
            FROM after JOIN before USING (bettor_id)
            WHERE after.balance <> before.balance ORDER BY after.bettor_id;
            RETURN NULL;
        END;
        $$;
        CREATE TRIGGER wallets_updated_feed AFTER UPDATE ON wallets
            REFERENCING OLD TABLE AS before NEW TABLE AS after
            FOR EACH STATEMENT EXECUTE FUNCTION feed_moved_wallets();

        -- No NOTIFY per change: a notification takes a lock at commit that
        -- every notifying transaction waits for, which halved the rate of
        -- bets. Readers look every few milliseconds instead, and are woken
        -- at once by the line's own notification (line_changed).
    "#,
    down: r#"
        DROP TRIGGER events_inserted_feed ON events;
        DROP TRIGGER events_updated_feed ON events;
        DROP TRIGGER bets_inserted_feed ON bets;
        DROP TRIGGER bets_updated_feed ON bets;
        DROP TRIGGER wallets_inserted_feed ON wallets;
        DROP TRIGGER wallets_updated_feed ON wallets;
        DROP TABLE change_feed;
        DROP FUNCTION feed_line();
        DROP FUNCTION feed_bets();
        DROP FUNCTION feed_new_wallets();
        DROP FUNCTION feed_moved_wallets();
    "#,
};
