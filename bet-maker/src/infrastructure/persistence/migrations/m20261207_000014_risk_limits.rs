use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261207_000014_risk_limits",
    up: r#"
        -- Every money column a bettor can make grow holds NUMERIC(28, 2)
        -- (about 10^26, inside rust_decimal at scale 2): with every limit
        -- at most 10^15 per bet (domain::MAX_LIMIT), no stake, payout,
        -- balance or number of bets can overflow a write, so none can make
        -- a settlement fail. Raising a numeric's precision at the same
        -- scale changes no stored value: PostgreSQL does not rewrite the
        -- tables.
        ALTER TABLE wallets ALTER COLUMN balance TYPE NUMERIC(28, 2);
        ALTER TABLE ledger_entries
            ALTER COLUMN amount TYPE NUMERIC(28, 2),
            ALTER COLUMN balance_after TYPE NUMERIC(28, 2);
        ALTER TABLE bets
            ALTER COLUMN amount TYPE NUMERIC(28, 2),
            ALTER COLUMN payout TYPE NUMERIC(28, 2);
        ALTER TABLE deposits ALTER COLUMN amount TYPE NUMERIC(28, 2);
        ALTER TABLE withdrawals ALTER COLUMN amount TYPE NUMERIC(28, 2);
        ALTER TABLE payment_inbox ALTER COLUMN amount TYPE NUMERIC(28, 2);
        ALTER TABLE deposit_limits
            ALTER COLUMN amount TYPE NUMERIC(28, 2),
            ALTER COLUMN pending_amount TYPE NUMERIC(28, 2);

        -- One row per event: its pending bets, their stakes and potential
        -- payouts (domain::Exposure), and the trader's maximum liability
        -- (NULL: BET_MAKER_MAX_LIABILITY_PER_EVENT). Placing a bet locks
        -- and moves it in the statement that takes the stake, so bets on
        -- one event are decided one at a time against the exact liability;
        -- settling the event zeroes it. Made with the event (a trigger, so
        -- every way an event arrives makes it), and now for every event
        -- there is, from its pending bets.
        CREATE TABLE event_exposure (
            event_id         UUID PRIMARY KEY REFERENCES events (id),
            pending_bets     BIGINT NOT NULL DEFAULT 0 CHECK (pending_bets >= 0),
            stakes           NUMERIC(28, 2) NOT NULL DEFAULT 0.00 CHECK (stakes >= 0),
            potential_payout NUMERIC(28, 2) NOT NULL DEFAULT 0.00 CHECK (potential_payout >= 0),
            max_liability    NUMERIC(28, 2) CHECK (max_liability >= 0)
        );
        INSERT INTO event_exposure (event_id, pending_bets, stakes, potential_payout)
        SELECT e.id, count(b.id), coalesce(sum(b.amount), 0.00),
               coalesce(sum(round(b.amount * b.coefficient, 2)), 0.00)
        FROM events e LEFT JOIN bets b ON b.event_id = e.id AND b.status = 'PENDING'
        GROUP BY e.id;
        CREATE FUNCTION event_exposure_made() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO event_exposure (event_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
            RETURN NULL;
        END $$;
        CREATE TRIGGER events_have_exposure AFTER INSERT ON events
            FOR EACH ROW EXECUTE FUNCTION event_exposure_made();

        -- A trader's cap on one bettor's stakes.
        CREATE TABLE bettor_limits (
            bettor_id TEXT PRIMARY KEY CHECK (char_length(bettor_id) BETWEEN 1 AND 64),
            max_stake NUMERIC(28, 2) NOT NULL CHECK (max_stake >= 0)
        );
    "#,
    down: r#"
        DROP TABLE bettor_limits;
        DROP TRIGGER events_have_exposure ON events;
        DROP FUNCTION event_exposure_made();
        DROP TABLE event_exposure;
        -- Narrowing fails, and changes nothing, while a value does not fit.
        ALTER TABLE deposit_limits
            ALTER COLUMN amount TYPE NUMERIC(16, 2),
            ALTER COLUMN pending_amount TYPE NUMERIC(16, 2);
        ALTER TABLE payment_inbox ALTER COLUMN amount TYPE NUMERIC(16, 2);
        ALTER TABLE withdrawals ALTER COLUMN amount TYPE NUMERIC(16, 2);
        ALTER TABLE deposits ALTER COLUMN amount TYPE NUMERIC(16, 2);
        ALTER TABLE bets
            ALTER COLUMN amount TYPE NUMERIC(12, 2),
            ALTER COLUMN payout TYPE NUMERIC(16, 2);
        ALTER TABLE ledger_entries
            ALTER COLUMN amount TYPE NUMERIC(16, 2),
            ALTER COLUMN balance_after TYPE NUMERIC(16, 2);
        ALTER TABLE wallets ALTER COLUMN balance TYPE NUMERIC(16, 2);
    "#,
};
