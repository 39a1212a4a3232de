use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261207_000013_suspension_late_bets_and_corrections",
    up: r#"
        -- line-provider may suspend an event (no bets until it resumes).
        ALTER TABLE events DROP CONSTRAINT events_status_check;
        ALTER TABLE events ADD CONSTRAINT events_status_check
            CHECK (status IN ('NEW', 'SUSPENDED', 'FINISHED_WIN', 'FINISHED_LOSE', 'CANCELLED'));

        -- When line-provider decided the event (the occurred_at of the
        -- message that first made the copy final): a bet placed at or after
        -- it is late, and void. Events decided before this column existed
        -- count from when the copy took the result.
        ALTER TABLE events ADD COLUMN decided_at TIMESTAMPTZ;
        UPDATE events SET decided_at = updated_at WHERE status NOT IN ('NEW', 'SUSPENDED');

        -- Every coefficient line-provider offered on an event, and from
        -- when (each message carries the event as it is after the change):
        -- a bet placed after a cut, at the odds before it, is paid at the
        -- cut.
        CREATE TABLE event_coefficients (
            event_id    UUID NOT NULL,
            version     BIGINT NOT NULL CHECK (version >= 1),
            coefficient NUMERIC(6, 2) NOT NULL CHECK (coefficient > 1),
            since       TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (event_id, version)
        );

        -- How a bet was settled: at which coefficient (its own, or the
        -- lower one already offered when it was placed), why it is void,
        -- and by which version of its event's result, so that a
        -- correction re-settles each bet exactly once per version.
        ALTER TABLE bets
            ADD COLUMN settled_coefficient NUMERIC(6, 2),
            ADD COLUMN void_reason TEXT CHECK (void_reason IN ('CANCELLED', 'LATE')),
            ADD COLUMN settled_version BIGINT;
        UPDATE bets SET
            settled_coefficient = CASE WHEN bets.status IN ('WON', 'LOST') THEN bets.coefficient END,
            void_reason = CASE WHEN bets.status = 'VOID' THEN 'CANCELLED' END,
            settled_version = events.version
        FROM events
        WHERE events.id = bets.event_id AND bets.status <> 'PENDING';
        ALTER TABLE bets ADD CONSTRAINT bets_void_reason_check_status
            CHECK ((status = 'VOID') = (void_reason IS NOT NULL));

        -- A correction re-settles by compensating lines; it may take a
        -- wallet below zero (a payout taken back after it was spent). The
        -- statements that take money out (stakes, withdrawals) still
        -- refuse to go below zero themselves.
        ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
        ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check
            CHECK (kind IN ('DEPOSIT', 'WITHDRAWAL', 'STAKE', 'SETTLEMENT', 'WITHDRAWAL_PAID',
                            'WITHDRAWAL_RETURNED', 'ADJUSTMENT', 'CORRECTION')) NOT VALID;
        ALTER TABLE ledger_transactions VALIDATE CONSTRAINT ledger_transactions_kind_check;
        ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_line_check;
        ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_line_check
            CHECK (line IN ('DEPOSIT', 'WITHDRAWAL', 'STAKE', 'PAYOUT', 'REFUND',
                            'WITHDRAWAL_RETURNED', 'ADJUSTMENT', 'CORRECTION')) NOT VALID;
        ALTER TABLE ledger_entries VALIDATE CONSTRAINT ledger_entries_line_check;
        ALTER TABLE wallets DROP CONSTRAINT wallets_balance_check;
        ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_balance_after_check;
    "#,
    down: r#"
        -- Going back is possible only while nothing the old schema cannot
        -- hold exists: no correction, no negative wallet, no late bet, no
        -- suspended event.
        DO $$
        BEGIN
            IF EXISTS (SELECT 1 FROM ledger_transactions WHERE kind = 'CORRECTION')
               OR EXISTS (SELECT 1 FROM wallets WHERE balance < 0)
               OR EXISTS (SELECT 1 FROM bets WHERE void_reason = 'LATE')
               OR EXISTS (SELECT 1 FROM events WHERE status = 'SUSPENDED') THEN
                RAISE EXCEPTION 'the database holds corrections, negative wallets, late bets or suspended events the old schema cannot represent';
            END IF;
        END $$;
        ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_balance_after_check
            CHECK (balance_after >= 0);
        ALTER TABLE wallets ADD CONSTRAINT wallets_balance_check CHECK (balance >= 0);
        ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_line_check;
        ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_line_check
            CHECK (line IN ('DEPOSIT', 'WITHDRAWAL', 'STAKE', 'PAYOUT', 'REFUND',
                            'WITHDRAWAL_RETURNED', 'ADJUSTMENT'));
        ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
        ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check
            CHECK (kind IN ('DEPOSIT', 'WITHDRAWAL', 'STAKE', 'SETTLEMENT', 'WITHDRAWAL_PAID',
                            'WITHDRAWAL_RETURNED', 'ADJUSTMENT'));
        ALTER TABLE bets DROP CONSTRAINT bets_void_reason_check_status;
        ALTER TABLE bets DROP COLUMN settled_coefficient, DROP COLUMN void_reason,
            DROP COLUMN settled_version;
        DROP TABLE event_coefficients;
        ALTER TABLE events DROP COLUMN decided_at;
        ALTER TABLE events DROP CONSTRAINT events_status_check;
        ALTER TABLE events ADD CONSTRAINT events_status_check
            CHECK (status IN ('NEW', 'FINISHED_WIN', 'FINISHED_LOSE', 'CANCELLED'));
    "#,
};
