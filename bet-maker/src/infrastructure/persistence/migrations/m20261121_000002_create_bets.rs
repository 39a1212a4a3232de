use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261121_000002_create_bets",
    up: r#"
        CREATE TABLE bets (
            id          UUID PRIMARY KEY,
            event_id    UUID NOT NULL REFERENCES events (id),
            amount      NUMERIC(12, 2) NOT NULL CHECK (amount > 0),
            -- The event's coefficient when the bet was placed: odds are locked.
            coefficient NUMERIC(6, 2) NOT NULL CHECK (coefficient > 1),
            status      TEXT NOT NULL CHECK (status IN ('PENDING', 'WON', 'LOST')),
            payout      NUMERIC(16, 2),
            placed_at   TIMESTAMPTZ NOT NULL,
            settled_at  TIMESTAMPTZ,
            -- A payout exists exactly when the bet is settled.
            CHECK ((status = 'PENDING') = (payout IS NULL)),
            CHECK ((status = 'PENDING') = (settled_at IS NULL))
        );
        -- Settlement: every pending bet of one event, in one statement.
        CREATE INDEX bets_pending_by_event ON bets (event_id) WHERE status = 'PENDING';
        -- GET /bets?event_id= and ?status=, newest first.
        CREATE INDEX bets_by_event ON bets (event_id, id);
        CREATE INDEX bets_by_status ON bets (status, id);
    "#,
    down: "DROP TABLE bets;",
};
