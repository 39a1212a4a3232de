use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261207_000015_accumulators_and_cash_out",
    up: r#"
        -- A bet has 1 to 20 legs on distinct events, each with the
        -- coefficient locked on it and its own status: a single is a bet of
        -- one leg. Settlement decides every leg of an event in one
        -- statement (`bet_legs_one_per_event` serves it), then the bets
        -- whose outcome that makes known.
        CREATE TABLE bet_legs (
            bet_id              UUID NOT NULL REFERENCES bets (id),
            leg                 SMALLINT NOT NULL CHECK (leg BETWEEN 1 AND 20),
            event_id            UUID NOT NULL REFERENCES events (id),
            coefficient         NUMERIC(6, 2) NOT NULL CHECK (coefficient > 1),
            status              TEXT NOT NULL DEFAULT 'PENDING'
                                CHECK (status IN ('PENDING', 'WON', 'LOST', 'VOID')),
            -- When won or lost: its own coefficient, or the lower one
            -- line-provider already offered when the bet was placed.
            settled_coefficient NUMERIC(6, 2),
            void_reason         TEXT CHECK (void_reason IN ('CANCELLED', 'LATE')),
            -- The version of the event's result that decided it, so that a
            -- correction decides it again exactly once per version.
            settled_version     BIGINT,
            PRIMARY KEY (bet_id, leg),
            CONSTRAINT bet_legs_one_per_event UNIQUE (event_id, bet_id),
            CHECK ((status = 'VOID') = (void_reason IS NOT NULL)),
            CHECK ((status IN ('WON', 'LOST')) = (settled_coefficient IS NOT NULL)),
            CHECK ((status = 'PENDING') = (settled_version IS NULL))
        );
        -- Every bet so far is a single: its one leg is the bet as it was.
        INSERT INTO bet_legs
            (bet_id, leg, event_id, coefficient, status, settled_coefficient, void_reason,
             settled_version)
        SELECT b.id, 1, b.event_id, b.coefficient, b.status,
               CASE WHEN b.status IN ('WON', 'LOST')
                    THEN coalesce(b.settled_coefficient, b.coefficient) END,
               CASE WHEN b.status = 'VOID' THEN coalesce(b.void_reason, 'CANCELLED') END,
               CASE WHEN b.status <> 'PENDING' THEN coalesce(b.settled_version, e.version) END
        FROM bets b JOIN events e ON e.id = b.event_id;

        -- The bet keeps what is its own: the stake, how many legs, what it
        -- would pay were every open leg to win (what each open leg's
        -- event exposure counts), its status and payout. Its odds are the
        -- exact product of its legs' coefficients, derived where read.
        ALTER TABLE bets
            ADD COLUMN leg_count SMALLINT NOT NULL DEFAULT 1 CHECK (leg_count BETWEEN 1 AND 20),
            ADD COLUMN potential_payout NUMERIC(28, 2);
        UPDATE bets SET potential_payout = round(amount * coefficient, 2);
        ALTER TABLE bets ALTER COLUMN potential_payout SET NOT NULL,
                         ALTER COLUMN leg_count DROP DEFAULT;
        DROP INDEX bets_pending_by_event;
        DROP INDEX bets_by_bettor_and_event;
        ALTER TABLE bets DROP COLUMN event_id, DROP COLUMN coefficient,
                         DROP COLUMN settled_coefficient, DROP COLUMN settled_version;

        -- A bet may be cashed out: it paid the quote, and its events never
        -- settle it again.
        ALTER TABLE bets DROP CONSTRAINT bets_status_check;
        ALTER TABLE bets ADD CONSTRAINT bets_status_check
            CHECK (status IN ('PENDING', 'WON', 'LOST', 'VOID', 'CASHED_OUT'));

        -- Cash-out quotes: what the bet would be paid now, valid until
        -- `expires_at`, for the open legs as they were quoted (`legs`:
        -- their events' coefficients and statuses). At most one is
        -- accepted per bet.
        CREATE TABLE cash_out_quotes (
            id          UUID PRIMARY KEY,
            bet_id      UUID NOT NULL REFERENCES bets (id),
            amount      NUMERIC(28, 2) NOT NULL CHECK (amount >= 0),
            legs        JSONB NOT NULL,
            quoted_at   TIMESTAMPTZ NOT NULL,
            expires_at  TIMESTAMPTZ NOT NULL,
            accepted_at TIMESTAMPTZ,
            CHECK (expires_at > quoted_at)
        );
        CREATE INDEX cash_out_quotes_by_bet ON cash_out_quotes (bet_id);
        CREATE UNIQUE INDEX cash_out_quotes_one_accepted ON cash_out_quotes (bet_id)
            WHERE accepted_at IS NOT NULL;

        ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
        ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check
            CHECK (kind IN ('DEPOSIT', 'WITHDRAWAL', 'STAKE', 'SETTLEMENT', 'WITHDRAWAL_PAID',
                            'WITHDRAWAL_RETURNED', 'ADJUSTMENT', 'CORRECTION', 'CASH_OUT'));
        ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_line_check;
        ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_line_check
            CHECK (line IN ('DEPOSIT', 'WITHDRAWAL', 'STAKE', 'PAYOUT', 'REFUND',
                            'WITHDRAWAL_RETURNED', 'ADJUSTMENT', 'CORRECTION', 'CASH_OUT'));

        -- The exact product of coefficients (numeric multiplication is
        -- exact in PostgreSQL): a bet's settled odds.
        CREATE AGGREGATE product (numeric) (SFUNC = numeric_mul, STYPE = numeric, INITCOND = '1');

        -- A bet as the streams and the repositories read it: its row and its
        -- legs, in order. Placement inserts the legs in the statement that
        -- inserts the bet, and AFTER triggers run when that statement is
        -- done, so the feed sees them.
        CREATE FUNCTION bet_document(bet bets) RETURNS jsonb LANGUAGE sql STABLE AS $$
            SELECT to_jsonb(bet) || jsonb_build_object('legs', coalesce(
                (SELECT jsonb_agg(to_jsonb(l) - 'bet_id' ORDER BY l.leg)
                 FROM bet_legs l WHERE l.bet_id = bet.id), '[]'::jsonb))
        $$;
        CREATE OR REPLACE FUNCTION feed_bets() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO change_feed (bettor_id, kind, snapshot)
            SELECT changed.bettor_id, 'bet', bet_document(changed::bets)
            FROM changed ORDER BY changed.id;
            RETURN NULL;
        END;
        $$;
    "#,
    down: r#"
        -- Going back is possible only while every bet is a single and none
        -- was cashed out.
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM bets WHERE leg_count > 1 OR status = 'CASHED_OUT') THEN
                RAISE EXCEPTION 'the database holds accumulators or cashed-out bets the old schema cannot represent';
            END IF;
        END $$;
        CREATE OR REPLACE FUNCTION feed_bets() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO change_feed (bettor_id, kind, snapshot)
            SELECT changed.bettor_id, 'bet', to_jsonb(changed) FROM changed ORDER BY changed.id;
            RETURN NULL;
        END;
        $$;
        ALTER TABLE bets
            ADD COLUMN event_id UUID REFERENCES events (id),
            ADD COLUMN coefficient NUMERIC(6, 2) CHECK (coefficient > 1),
            ADD COLUMN settled_coefficient NUMERIC(6, 2),
            ADD COLUMN settled_version BIGINT;
        UPDATE bets SET event_id = l.event_id, coefficient = l.coefficient,
                        settled_coefficient = l.settled_coefficient,
                        settled_version = l.settled_version
        FROM bet_legs l WHERE l.bet_id = bets.id;
        ALTER TABLE bets ALTER COLUMN event_id SET NOT NULL,
                         ALTER COLUMN coefficient SET NOT NULL;
        CREATE INDEX bets_pending_by_event ON bets (event_id) WHERE status = 'PENDING';
        CREATE INDEX bets_by_bettor_and_event ON bets (bettor_id, event_id, id);
        DROP FUNCTION bet_document(bets);
        DROP AGGREGATE product (numeric);
        ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_line_check;
        ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_line_check
            CHECK (line IN ('DEPOSIT', 'WITHDRAWAL', 'STAKE', 'PAYOUT', 'REFUND',
                            'WITHDRAWAL_RETURNED', 'ADJUSTMENT', 'CORRECTION'));
        ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
        ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check
            CHECK (kind IN ('DEPOSIT', 'WITHDRAWAL', 'STAKE', 'SETTLEMENT', 'WITHDRAWAL_PAID',
                            'WITHDRAWAL_RETURNED', 'ADJUSTMENT', 'CORRECTION'));
        DROP TABLE cash_out_quotes;
        ALTER TABLE bets DROP CONSTRAINT bets_status_check;
        ALTER TABLE bets ADD CONSTRAINT bets_status_check
            CHECK (status IN ('PENDING', 'WON', 'LOST', 'VOID'));
        ALTER TABLE bets DROP COLUMN leg_count, DROP COLUMN potential_payout;
        DROP TABLE bet_legs;
    "#,
};
