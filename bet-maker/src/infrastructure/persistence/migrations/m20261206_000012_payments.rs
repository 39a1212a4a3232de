use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261206_000012_payments",
    up: r#"
        -- Money now enters only through a payment provider or a cashier.
        -- A withdrawal waits in the house's WITHDRAWALS_PENDING account
        -- until the provider pays it (WITHDRAWAL_PAID) or not (its money
        -- back: WITHDRAWAL_RETURNED); a cashier's ADJUSTMENT moves money
        -- between a wallet and the house's cash. The new checks are added
        -- NOT VALID and then validated, so the ledger is read once without
        -- blocking writes to it.
        ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_account_check;
        ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_account_check
            CHECK (account IN ('WALLET', 'HOUSE_CASH', 'STAKES_HELD', 'HOUSE_RESULT',
                               'WITHDRAWALS_PENDING')) NOT VALID;
        ALTER TABLE ledger_entries VALIDATE CONSTRAINT ledger_entries_account_check;
        ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_line_check;
        ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_line_check
            CHECK (line IN ('DEPOSIT', 'WITHDRAWAL', 'STAKE', 'PAYOUT', 'REFUND',
                            'WITHDRAWAL_RETURNED', 'ADJUSTMENT')) NOT VALID;
        ALTER TABLE ledger_entries VALIDATE CONSTRAINT ledger_entries_line_check;
        ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
        ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check
            CHECK (kind IN ('DEPOSIT', 'WITHDRAWAL', 'STAKE', 'SETTLEMENT', 'WITHDRAWAL_PAID',
                            'WITHDRAWAL_RETURNED', 'ADJUSTMENT')) NOT VALID;
        ALTER TABLE ledger_transactions VALIDATE CONSTRAINT ledger_transactions_kind_check;

        -- A deposit or withdrawal as the bettor asked for it, and what the
        -- provider made of it. Ids are UUID v7 (time-ordered): a bettor's
        -- list, newest first, reads its index backwards.
        CREATE TABLE deposits (
            id         UUID PRIMARY KEY,
            bettor_id  TEXT NOT NULL REFERENCES wallets (bettor_id),
            amount     NUMERIC(16, 2) NOT NULL CHECK (amount > 0),
            currency   TEXT NOT NULL,
            status     TEXT NOT NULL CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED')),
            created_at TIMESTAMPTZ NOT NULL,
            decided_at TIMESTAMPTZ,
            CHECK ((status = 'PENDING') = (decided_at IS NULL))
        );
        CREATE INDEX deposits_of_bettor ON deposits (bettor_id, id);
        CREATE TABLE withdrawals (
            id         UUID PRIMARY KEY,
            bettor_id  TEXT NOT NULL REFERENCES wallets (bettor_id),
            amount     NUMERIC(16, 2) NOT NULL CHECK (amount > 0),
            currency   TEXT NOT NULL,
            status     TEXT NOT NULL CHECK (status IN ('PENDING', 'PAID', 'FAILED')),
            created_at TIMESTAMPTZ NOT NULL,
            decided_at TIMESTAMPTZ,
            CHECK ((status = 'PENDING') = (decided_at IS NULL))
        );
        CREATE INDEX withdrawals_of_bettor ON withdrawals (bettor_id, id);

        -- The deposit or withdrawal a ledger entry is for.
        ALTER TABLE ledger_entries ADD COLUMN payment_id UUID;

        -- Earlier deposits and withdrawals were instant: each becomes a
        -- SUCCEEDED deposit or a PAID withdrawal, decided when it was
        -- made, with the id of its statement line, so its history reads as
        -- before and its Idempotency-Key still answers.
        INSERT INTO deposits (id, bettor_id, amount, currency, status, created_at, decided_at)
        SELECT e.id, e.bettor_id, e.amount, w.currency, 'SUCCEEDED', e.created_at, e.created_at
        FROM ledger_entries e JOIN wallets w USING (bettor_id)
        WHERE e.account = 'WALLET' AND e.line = 'DEPOSIT';
        INSERT INTO withdrawals (id, bettor_id, amount, currency, status, created_at, decided_at)
        SELECT e.id, e.bettor_id, -e.amount, w.currency, 'PAID', e.created_at, e.created_at
        FROM ledger_entries e JOIN wallets w USING (bettor_id)
        WHERE e.account = 'WALLET' AND e.line = 'WITHDRAWAL';
        UPDATE ledger_entries SET payment_id = id
        WHERE account = 'WALLET' AND line IN ('DEPOSIT', 'WITHDRAWAL');

        -- A key now names a bet, a deposit or a withdrawal. Keys are
        -- remembered for BET_MAKER_IDEMPOTENCY_TTL_HOURS from created_at,
        -- then swept (a BRIN index: keys are written in time order).
        ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_name_one_thing;
        ALTER TABLE idempotency_keys
            ADD COLUMN deposit_id UUID REFERENCES deposits (id),
            ADD COLUMN withdrawal_id UUID REFERENCES withdrawals (id);
        UPDATE idempotency_keys SET deposit_id = ledger_entry_id
        WHERE ledger_entry_id IS NOT NULL AND request LIKE 'deposit:%';
        UPDATE idempotency_keys SET withdrawal_id = ledger_entry_id
        WHERE ledger_entry_id IS NOT NULL AND request LIKE 'withdrawal:%';
        ALTER TABLE idempotency_keys DROP COLUMN ledger_entry_id;
        ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_name_one_thing
            CHECK (num_nonnulls(bet_id, deposit_id, withdrawal_id) = 1);
        CREATE INDEX idempotency_keys_by_age ON idempotency_keys USING brin (created_at);

        -- The provider's notifications, by the provider's event id: one
        -- is applied once, in the transaction that moves its money; the
        -- same id again is answered without effect, and compared, so an id
        -- reused for other content is refused.
        CREATE TABLE payment_inbox (
            event_id    TEXT PRIMARY KEY CHECK (char_length(event_id) BETWEEN 1 AND 255),
            outcome     TEXT NOT NULL,
            reference   UUID NOT NULL,
            amount      NUMERIC(16, 2) NOT NULL,
            currency    TEXT NOT NULL,
            received_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
        );

        -- Every staff action: who, what, on whom, why, and the before and
        -- after, written in the transaction of the action itself.
        CREATE TABLE audit_log (
            id         UUID PRIMARY KEY,
            actor      TEXT NOT NULL CHECK (char_length(actor) BETWEEN 1 AND 64),
            action     TEXT NOT NULL,
            subject    TEXT NOT NULL,
            reason     TEXT NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 500),
            before     JSONB,
            after      JSONB,
            created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
        );

        -- A bettor's deposit limits: the amount in force (none: no limit)
        -- and a raise or removal that waits until pending_at (a pending
        -- NULL amount with a pending_at removes the limit).
        CREATE TABLE deposit_limits (
            bettor_id      TEXT NOT NULL CHECK (char_length(bettor_id) BETWEEN 1 AND 64),
            period         TEXT NOT NULL CHECK (period IN ('daily', 'weekly', 'monthly')),
            amount         NUMERIC(16, 2) CHECK (amount >= 0),
            pending_amount NUMERIC(16, 2) CHECK (pending_amount >= 0),
            pending_at     TIMESTAMPTZ,
            PRIMARY KEY (bettor_id, period),
            CHECK (pending_amount IS NULL OR pending_at IS NOT NULL)
        );

        -- Time-outs and self-exclusions; until NULL is for ever. Rows are
        -- never updated or deleted: none ends early.
        CREATE TABLE exclusions (
            id        UUID PRIMARY KEY,
            bettor_id TEXT NOT NULL CHECK (char_length(bettor_id) BETWEEN 1 AND 64),
            kind      TEXT NOT NULL CHECK (kind IN ('time-out', 'self-exclusion')),
            starts_at TIMESTAMPTZ NOT NULL,
            until     TIMESTAMPTZ CHECK (until > starts_at)
        );
        CREATE INDEX exclusions_of_bettor ON exclusions (bettor_id);
    "#,
    down: r#"
        -- Going back is possible only while no money is on its way out and
        -- no line of the new kinds exists: the old schema cannot hold them.
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM ledger_transactions
                       WHERE kind IN ('WITHDRAWAL_PAID', 'WITHDRAWAL_RETURNED', 'ADJUSTMENT'))
               OR EXISTS (SELECT 1 FROM withdrawals WHERE status = 'PENDING') THEN
                RAISE EXCEPTION 'the ledger holds payments the old schema cannot represent';
            END IF;
        END $$;
        DROP TABLE exclusions;
        DROP TABLE deposit_limits;
        DROP TABLE audit_log;
        DROP TABLE payment_inbox;
        DROP INDEX idempotency_keys_by_age;
        ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_name_one_thing;
        ALTER TABLE idempotency_keys ADD COLUMN ledger_entry_id UUID REFERENCES ledger_entries (id);
        UPDATE idempotency_keys k SET ledger_entry_id = e.id
        FROM ledger_entries e
        WHERE e.account = 'WALLET' AND e.payment_id = coalesce(k.deposit_id, k.withdrawal_id);
        DELETE FROM idempotency_keys WHERE bet_id IS NULL AND ledger_entry_id IS NULL;
        ALTER TABLE idempotency_keys DROP COLUMN deposit_id, DROP COLUMN withdrawal_id;
        ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_name_one_thing
            CHECK ((bet_id IS NULL) <> (ledger_entry_id IS NULL));
        ALTER TABLE ledger_entries DROP COLUMN payment_id;
        DROP TABLE withdrawals;
        DROP TABLE deposits;
        ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
        ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check
            CHECK (kind IN ('DEPOSIT', 'WITHDRAWAL', 'STAKE', 'SETTLEMENT'));
        ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_line_check;
        ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_line_check
            CHECK (line IN ('DEPOSIT', 'WITHDRAWAL', 'STAKE', 'PAYOUT', 'REFUND'));
        ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_account_check;
        ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_account_check
            CHECK (account IN ('WALLET', 'HOUSE_CASH', 'STAKES_HELD', 'HOUSE_RESULT'));
    "#,
};
