use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261209_000021_placement_checks_once_per_statement",
    up: r#"
        -- What a group of placements paid per bet beside its own writes
        -- (measured inserting 4,800 bets, 16 to a statement): the feed's
        -- document of each bet, 40 us, most of it bet_document() called
        -- once per bet (a SQL function with a sub-select is not inlined,
        -- so each call starts an executor of its own); and the two foreign
        -- keys of each leg, checked row by row, 15 us a leg.
        --
        -- The feed's documents of a few changed bets are built in the
        -- trigger's one statement, each bet's legs joined to it: the same
        -- document bet_document() makes (tests/streams.rs holds the two
        -- to each other), which the feed's reader still uses for the bets
        -- a `bets` row names.
        CREATE OR REPLACE FUNCTION feed_bets() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM changed OFFSET 100) THEN
                INSERT INTO change_feed (bettor_id, kind, snapshot)
                SELECT changed.bettor_id, 'bet',
                       to_jsonb(changed)
                           || jsonb_build_object('legs', coalesce(legs.legs, '[]'::jsonb))
                FROM changed
                LEFT JOIN LATERAL (
                    SELECT jsonb_agg(to_jsonb(l) - 'bet_id' ORDER BY l.leg) AS legs
                    FROM bet_legs l WHERE l.bet_id = changed.id
                ) AS legs ON true
                ORDER BY changed.id;
            ELSE
                INSERT INTO change_feed (bettor_id, kind, snapshot)
                SELECT named.bettor_id, 'bets', to_jsonb(array_agg(named.id ORDER BY named.id))
                FROM (SELECT changed.bettor_id, changed.id,
                             (row_number() OVER (PARTITION BY changed.bettor_id
                                                 ORDER BY changed.id) - 1) / 32 AS part
                      FROM changed) AS named
                GROUP BY named.bettor_id, named.part
                ORDER BY named.bettor_id, named.part;
            END IF;
            RETURN NULL;
        END;
        $$;

        -- A leg's bet and event are checked once for the statement, over
        -- its new legs, as the ledger's lines are (migration 16), with the
        -- same constraint names and SQLSTATE as the keys had. A foreign key
        -- also held the rows it names against deletion: a leg's keys, its
        -- bet and its event are for ever (the exposure row every event has
        -- already holds an event, and this holds it whatever it has).
        ALTER TABLE bet_legs DROP CONSTRAINT bet_legs_bet_id_fkey,
                             DROP CONSTRAINT bet_legs_event_id_fkey;
        CREATE FUNCTION bet_legs_refer() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            missing TEXT;
        BEGIN
            SELECT added.bet_id::text INTO missing
            FROM added
            WHERE NOT EXISTS (SELECT 1 FROM bets WHERE bets.id = added.bet_id)
            LIMIT 1;
            IF FOUND THEN
                RAISE foreign_key_violation USING
                    MESSAGE = format('bet %s does not exist', missing),
                    CONSTRAINT = 'bet_legs_bet_id_fkey', TABLE = 'bet_legs';
            END IF;
            SELECT added.event_id::text INTO missing
            FROM (SELECT DISTINCT event_id FROM added) AS added
            WHERE NOT EXISTS (SELECT 1 FROM events WHERE events.id = added.event_id)
            LIMIT 1;
            IF FOUND THEN
                RAISE foreign_key_violation USING
                    MESSAGE = format('event %s does not exist', missing),
                    CONSTRAINT = 'bet_legs_event_id_fkey', TABLE = 'bet_legs';
            END IF;
            RETURN NULL;
        END;
        $$;
        CREATE TRIGGER bet_legs_refer AFTER INSERT ON bet_legs
            REFERENCING NEW TABLE AS added
            FOR EACH STATEMENT EXECUTE FUNCTION bet_legs_refer();
        CREATE TRIGGER bet_legs_for_ever BEFORE DELETE OR UPDATE OF bet_id, event_id OR TRUNCATE
            ON bet_legs FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_for_ever();
        CREATE TRIGGER bets_for_ever BEFORE DELETE OR UPDATE OF id OR TRUNCATE
            ON bets FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_for_ever();
        CREATE TRIGGER events_for_ever BEFORE DELETE OR UPDATE OF id OR TRUNCATE
            ON events FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_for_ever();
    "#,
    down: r#"
        DROP TRIGGER events_for_ever ON events;
        DROP TRIGGER bets_for_ever ON bets;
        DROP TRIGGER bet_legs_for_ever ON bet_legs;
        DROP TRIGGER bet_legs_refer ON bet_legs;
        DROP FUNCTION bet_legs_refer();
        ALTER TABLE bet_legs
            ADD CONSTRAINT bet_legs_bet_id_fkey FOREIGN KEY (bet_id) REFERENCES bets (id),
            ADD CONSTRAINT bet_legs_event_id_fkey FOREIGN KEY (event_id) REFERENCES events (id);
        CREATE OR REPLACE FUNCTION feed_bets() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM changed OFFSET 100) THEN
                INSERT INTO change_feed (bettor_id, kind, snapshot)
                SELECT changed.bettor_id, 'bet', bet_document(changed::bets)
                FROM changed ORDER BY changed.id;
            ELSE
                INSERT INTO change_feed (bettor_id, kind, snapshot)
                SELECT named.bettor_id, 'bets', to_jsonb(array_agg(named.id ORDER BY named.id))
                FROM (SELECT changed.bettor_id, changed.id,
                             (row_number() OVER (PARTITION BY changed.bettor_id
                                                 ORDER BY changed.id) - 1) / 32 AS part
                      FROM changed) AS named
                GROUP BY named.bettor_id, named.part
                ORDER BY named.bettor_id, named.part;
            END IF;
            RETURN NULL;
        END;
        $$;
    "#,
};
