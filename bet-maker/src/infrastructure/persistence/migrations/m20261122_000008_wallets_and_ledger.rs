use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261122_000008_wallets_and_ledger",
    up: r#"
        -- One wallet per bettor, made at its first deposit. Its balance is
        -- the sum of its ledger entries, kept here so that a stake checks
        -- and debits it in one statement; it is never negative.
        CREATE TABLE wallets (
            bettor_id  TEXT PRIMARY KEY CHECK (char_length(bettor_id) BETWEEN 1 AND 64),
            currency   TEXT NOT NULL,
            balance    NUMERIC(16, 2) NOT NULL CHECK (balance >= 0),
            created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
        );

        -- Every movement of money: one transaction whose entries sum to
        -- zero over the wallets and the house's accounts (domain::ledger).
        CREATE TABLE ledger_transactions (
            id         UUID PRIMARY KEY,
            kind       TEXT NOT NULL
                       CHECK (kind IN ('DEPOSIT', 'WITHDRAWAL', 'STAKE', 'SETTLEMENT')),
            created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
        );

        -- The entries. A wallet's entries are the lines of its statement
        -- (GET /wallet/transactions): they name the bettor, what happened
        -- and the balance after it; the house's entries name none.
        CREATE TABLE ledger_entries (
            id             UUID PRIMARY KEY,
            transaction_id UUID NOT NULL REFERENCES ledger_transactions (id),
            account        TEXT NOT NULL
                           CHECK (account IN ('WALLET', 'HOUSE_CASH', 'STAKES_HELD', 'HOUSE_RESULT')),
            amount         NUMERIC(16, 2) NOT NULL CHECK (amount <> 0),
            bettor_id      TEXT REFERENCES wallets (bettor_id),
            line           TEXT CHECK (line IN ('DEPOSIT', 'WITHDRAWAL', 'STAKE', 'PAYOUT', 'REFUND')),
            balance_after  NUMERIC(16, 2) CHECK (balance_after >= 0),
            bet_id         UUID,
            created_at     TIMESTAMPTZ NOT NULL,
            CHECK ((account = 'WALLET') = (bettor_id IS NOT NULL)),
            CHECK ((account = 'WALLET') = (line IS NOT NULL)),
            CHECK ((account = 'WALLET') = (balance_after IS NOT NULL))
        );
        -- A bettor's statement, newest first, in the order the balance
        -- changed (created_at is taken once the wallet's row is locked).
        CREATE INDEX wallet_statement ON ledger_entries (bettor_id, created_at, id)
            WHERE account = 'WALLET';
        CREATE INDEX ledger_entries_by_transaction ON ledger_entries (transaction_id);
    "#,
    down: r#"
        DROP TABLE ledger_entries;
        DROP TABLE ledger_transactions;
        DROP TABLE wallets;
    "#,
};
