use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261210_000022_rows_updated_in_place",
    up: r#"
        -- None of the updates of a bet, a leg, a wallet or an exposure row
        -- changes an indexed column, so each can be a heap-only tuple (HOT):
        -- the new version beside the old one on its page, no index
        -- written; when the page has no room, the version goes to another
        -- page with a new entry in every index of the table.
        --
        -- Migration 16 left half of each page of bets and legs to their
        -- settled versions, which are a little wider than the pending ones
        -- (payout and settled_at; a leg's settled coefficient and version;
        -- a void reason): settling 100,000 singles of 10,000 bettors,
        -- 93,184 bets and 91,668 legs were updated in place. At 45 % every
        -- one is, and the settlement took 0.15 s less (2.2-2.5 s to
        -- 2.05-2.3 s). Wallets and exposure rows, updated by every group of
        -- placements and every settlement, had no room at all (48 of
        -- 10,000 wallets credited in place; 9,215 at 50 %), and being few
        -- and small they cost little to give half a page each.
        -- Only pages written from now on have the room.
        ALTER TABLE bets SET (fillfactor = 45);
        ALTER TABLE bet_legs SET (fillfactor = 45);
        ALTER TABLE wallets SET (fillfactor = 50);
        ALTER TABLE event_exposure SET (fillfactor = 50);
    "#,
    down: r#"
        ALTER TABLE event_exposure RESET (fillfactor);
        ALTER TABLE wallets RESET (fillfactor);
        ALTER TABLE bet_legs SET (fillfactor = 50);
        ALTER TABLE bets SET (fillfactor = 50);
    "#,
};
