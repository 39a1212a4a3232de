use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261207_000016_settlement_at_the_cost_of_the_work",
    up: r#"
        -- A settlement writes a ledger line per bet: the two foreign keys
        -- of ledger_entries, checked row by row, were 200,000 trigger calls
        -- (0.9 s) for 100,000 bets. They are checked once per statement
        -- instead, over the statement's new lines. A foreign key also
        -- holds the referenced row against deletion, so neither a wallet
        -- nor a ledger transaction can be deleted, nor its key changed:
        -- both are for ever, as the ledger is.
        ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_transaction_id_fkey,
                                   DROP CONSTRAINT ledger_entries_bettor_id_fkey;
        CREATE FUNCTION ledger_entries_refer() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            missing TEXT;
        BEGIN
            SELECT added.transaction_id::text INTO missing
            FROM (SELECT DISTINCT transaction_id FROM added) AS added
            WHERE NOT EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.id = added.transaction_id)
            LIMIT 1;
            IF FOUND THEN
                RAISE foreign_key_violation USING
                    MESSAGE = format('ledger transaction %s does not exist', missing),
                    CONSTRAINT = 'ledger_entries_transaction_id_fkey', TABLE = 'ledger_entries';
            END IF;
            SELECT added.bettor_id INTO missing
            FROM (SELECT DISTINCT bettor_id FROM added WHERE bettor_id IS NOT NULL) AS added
            WHERE NOT EXISTS (SELECT 1 FROM wallets w WHERE w.bettor_id = added.bettor_id)
            LIMIT 1;
            IF FOUND THEN
                RAISE foreign_key_violation USING
                    MESSAGE = format('the wallet of %s does not exist', missing),
                    CONSTRAINT = 'ledger_entries_bettor_id_fkey', TABLE = 'ledger_entries';
            END IF;
            RETURN NULL;
        END;
        $$;
        CREATE TRIGGER ledger_entries_refer AFTER INSERT ON ledger_entries
            REFERENCING NEW TABLE AS added
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_refer();
        CREATE FUNCTION ledger_is_for_ever() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE restrict_violation USING
                MESSAGE = format('%s rows are never deleted, nor their keys changed', TG_TABLE_NAME),
                TABLE = TG_TABLE_NAME;
        END;
        $$;
        CREATE TRIGGER ledger_transactions_for_ever BEFORE DELETE OR UPDATE OF id OR TRUNCATE
            ON ledger_transactions FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_for_ever();
        CREATE TRIGGER wallets_for_ever BEFORE DELETE OR UPDATE OF bettor_id OR TRUNCATE
            ON wallets FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_for_ever();

        -- Settlement updates every pending bet and leg of the event. With
        -- room left on their pages, and no index on a column it writes, the
        -- new versions stay on the page (HOT) and no index is written.
        -- (New pages only: the rows already stored keep their pages.)
        ALTER TABLE bets SET (fillfactor = 50);
        ALTER TABLE bet_legs SET (fillfactor = 50);

        -- The bets feed of a statement that changes many bets (a
        -- settlement): a document per bet (its row and legs, 28 µs to build
        -- and write) was 2.8 s of a 100,000-bet settlement's 5.6 s. Past
        -- 100 bets, each bettor's changed bets are named instead, by id, at
        -- most 32 to a row (`bets`, a JSON array of ids), and the reader
        -- reads those bets as they are when it reads them (for the bettors
        -- someone follows, and only them): what a stream shows is then the
        -- bet as it is, at least as new as the change. A statement that
        -- changes a few bets (a placement, a cash-out) still writes each
        -- one's document (`bet`), its snapshot right after the change.
        ALTER TABLE change_feed DROP CONSTRAINT change_feed_kind_check;
        ALTER TABLE change_feed ADD CONSTRAINT change_feed_kind_check
            CHECK (kind IN ('line', 'bet', 'bets', 'wallet'));
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
    down: r#"
        CREATE OR REPLACE FUNCTION feed_bets() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO change_feed (bettor_id, kind, snapshot)
            SELECT changed.bettor_id, 'bet', bet_document(changed::bets)
            FROM changed ORDER BY changed.id;
            RETURN NULL;
        END;
        $$;
        DELETE FROM change_feed WHERE kind = 'bets';
        ALTER TABLE change_feed DROP CONSTRAINT change_feed_kind_check;
        ALTER TABLE change_feed ADD CONSTRAINT change_feed_kind_check
            CHECK (kind IN ('line', 'bet', 'wallet'));
        ALTER TABLE bets RESET (fillfactor);
        ALTER TABLE bet_legs RESET (fillfactor);
        DROP TRIGGER wallets_for_ever ON wallets;
        DROP TRIGGER ledger_transactions_for_ever ON ledger_transactions;
        DROP FUNCTION ledger_is_for_ever();
        DROP TRIGGER ledger_entries_refer ON ledger_entries;
        DROP FUNCTION ledger_entries_refer();
        ALTER TABLE ledger_entries
            ADD CONSTRAINT ledger_entries_transaction_id_fkey
                FOREIGN KEY (transaction_id) REFERENCES ledger_transactions (id),
            ADD CONSTRAINT ledger_entries_bettor_id_fkey
                FOREIGN KEY (bettor_id) REFERENCES wallets (bettor_id);
    "#,
};
