use shared_kernel::migrations::SqlMigration;

pub const MIGRATION: SqlMigration = SqlMigration {
    name: "m20261207_000017_grouped_placement",
    up: r#"
        -- What deciding one bet came to: whether every leg's event was held
        -- at the version the bet was decided on, whether the bettor's key
        -- was claimed before, the balance after the debit (NULL when
        -- nothing was written), the exclusion that lasts longest (its end;
        -- NULL for ever), and the limits the bet met (the bettor's cap; the
        -- liability and maximum of the leg with the least room).
        CREATE TYPE placed_bet AS (
            event_held       BOOLEAN,
            key_taken        BOOLEAN,
            balance          NUMERIC,
            excluded         BOOLEAN,
            excluded_until   TIMESTAMPTZ,
            bettor_max_stake NUMERIC,
            liability        NUMERIC,
            max_liability    NUMERIC
        );

        -- Places one bet: the one definition of how a bet is decided and
        -- written (bet_repository::PLACE_BET calls it for one bet,
        -- place_bets for each bet of a group), one statement of
        -- data-modifying CTEs whose steps each select from the one before,
        -- so a moved version, a claimed key, an exclusion, a limit or a
        -- short wallet matches no row and writes nothing.
        --
        -- $1 the legs' events, $2 the versions the bet was decided on, $7
        -- the coefficients locked on them; $3 the bettor, $4 the wallet's
        -- change (the stake, negative), $5 the bet, $6 its amount, $8 when
        -- it was placed, $9 the bettor's key (if any) claimed for request
        -- $10, $11 the stake's ledger transaction with the entries $12–$14
        -- (domain::ledger::stake); $15 the potential payout, $16 the payout
        -- cap, $17 the maximum liability of an event without its own.
        --
        -- The events are locked FOR SHARE at those versions in the order
        -- of their ids, so a settlement (which updates the event row
        -- first) either committed before, and moved the version, or waits
        -- for this bet and then settles it too. Then, by the rule of
        -- domain::check_risk, every leg's event_exposure row is locked FOR
        -- UPDATE in the events' order and read as it is once locked, so
        -- bets on one event are decided one after the other against the
        -- exact liability; a stake above the bettor's cap (bettor_limits),
        -- a potential payout above the cap, or a liability that would pass
        -- any leg's event maximum debits nothing; else every leg's
        -- exposure counts the bet. Then the wallet, debited only if it
        -- stays at or above zero (domain::check_funds), and only if the
        -- bettor is not excluded at $8 (domain::excluded_at) and has not
        -- claimed the key before; a claim that commits concurrently breaks
        -- idempotency_keys_pkey and undoes the whole statement.
        --
        -- PL/pgSQL rather than SQL for its plan cache: a session plans the
        -- statement once, not at every call.
        CREATE FUNCTION place_bet(
            uuid[], bigint[], text, numeric, uuid, numeric, numeric[], timestamptz, text, text,
            uuid, uuid[], text[], numeric[], numeric, numeric, numeric
        ) RETURNS SETOF placed_bet LANGUAGE plpgsql AS $place_bet$
        BEGIN
            RETURN QUERY
            WITH asked AS (
                SELECT * FROM UNNEST($1, $2, $7) WITH ORDINALITY
                    AS asked(event_id, version, coefficient, leg)
            ),
            event AS MATERIALIZED (
                SELECT events.id FROM events JOIN asked
                    ON asked.event_id = events.id AND asked.version = events.version
                ORDER BY events.id
                FOR SHARE OF events
            ),
            held AS MATERIALIZED (
                SELECT count(*) = cardinality($1) AS every FROM event
            ),
            excluded AS (
                SELECT until FROM exclusions
                WHERE bettor_id = $3 AND starts_at <= $8 AND (until IS NULL OR until > $8)
                ORDER BY until DESC NULLS FIRST
                LIMIT 1
            ),
            capped AS (
                SELECT max_stake FROM bettor_limits WHERE bettor_id = $3
            ),
            taken AS (
                SELECT 1 FROM idempotency_keys WHERE bettor_id = $3 AND key = $9
            ),
            exposure AS MATERIALIZED (
                SELECT x.event_id, x.potential_payout - x.stakes AS liability,
                       coalesce(x.max_liability, $17) AS max_liability
                FROM event_exposure x
                WHERE x.event_id IN (SELECT id FROM event) AND (SELECT every FROM held)
                ORDER BY x.event_id
                FOR UPDATE OF x
            ),
            room AS MATERIALIZED (
                SELECT count(*) = cardinality($1) AS every,
                       coalesce(bool_and(liability + ($15 - $6) <= max_liability), false) AS fits
                FROM exposure
            ),
            tightest AS (
                SELECT liability, max_liability FROM exposure
                ORDER BY max_liability - liability, event_id
                LIMIT 1
            ),
            debited AS (
                UPDATE wallets SET balance = balance + $4
                FROM room
                WHERE bettor_id = $3 AND balance + $4 >= 0 AND NOT EXISTS (SELECT 1 FROM excluded)
                  AND NOT EXISTS (SELECT 1 FROM capped WHERE max_stake < $6)
                  AND NOT EXISTS (SELECT 1 FROM taken)
                  AND $15 <= $16
                  AND room.every AND room.fits
                RETURNING balance
            ),
            exposed AS (
                UPDATE event_exposure SET pending_bets = pending_bets + 1,
                                          stakes = stakes + $6,
                                          potential_payout = potential_payout + $15
                FROM debited
                WHERE event_id IN (SELECT id FROM event)
            ),
            bet AS (
                INSERT INTO bets
                    (id, bettor_id, amount, status, placed_at, stake_posted, leg_count,
                     potential_payout)
                SELECT $5, $3, $6, 'PENDING', $8, true, cardinality($1), $15 FROM debited
                RETURNING id
            ),
            legs AS (
                INSERT INTO bet_legs (bet_id, leg, event_id, coefficient)
                SELECT bet.id, asked.leg, asked.event_id, asked.coefficient FROM bet, asked
            ),
            claimed AS (
                INSERT INTO idempotency_keys (bettor_id, key, request, bet_id)
                SELECT $3, $9, $10, bet.id FROM bet WHERE $9 IS NOT NULL
            ),
            txn AS (
                INSERT INTO ledger_transactions (id, kind)
                SELECT $11, 'STAKE' FROM bet
                RETURNING id, created_at
            ),
            entries AS (
                INSERT INTO ledger_entries
                    (id, transaction_id, account, amount, bettor_id, line, balance_after, bet_id,
                     created_at)
                SELECT e.id, txn.id, e.account, e.amount,
                       CASE WHEN e.account = 'WALLET' THEN $3 END,
                       CASE WHEN e.account = 'WALLET' THEN 'STAKE' END,
                       CASE WHEN e.account = 'WALLET' THEN debited.balance END,
                       $5, txn.created_at
                FROM txn, debited, UNNEST($12, $13, $14) AS e(id, account, amount)
            )
            SELECT (SELECT every FROM held),
                   EXISTS (SELECT 1 FROM taken),
                   (SELECT balance FROM debited)::numeric,
                   EXISTS (SELECT 1 FROM excluded),
                   (SELECT until FROM excluded),
                   (SELECT max_stake FROM capped)::numeric,
                   (SELECT liability FROM tightest)::numeric,
                   (SELECT max_liability FROM tightest)::numeric;
        END
        $place_bet$;

        -- Places a group of bets in one transaction (one round trip, one
        -- commit), each decided alone by place_bet, in the group's order
        -- (a bet sees what the ones before it wrote); one placed_bet per
        -- bet, in that order. Each bet's own parameters are the elements of
        -- the per-bet arrays at its index; its legs are the next
        -- leg_counts[i] elements of the leg arrays, its ledger entries the
        -- next entry_counts[i] of the entry arrays.
        --
        -- Every lock the group will take is taken first, in the global
        -- order every writer follows (placement, settlement, cash-out):
        -- the events held at the versions asked FOR SHARE, then their
        -- exposure rows FOR UPDATE, each in the order of the events' ids,
        -- then the bettors' wallets FOR UPDATE in the order of their ids.
        -- Bets taken one after the other would lock an exposure row after
        -- a wallet, or two wallets in any order, and deadlock with another
        -- group or a settlement. place_bet then finds its rows held, and
        -- each of its statements sees what committed before the lock.
        --
        -- A key claimed concurrently outside the group still breaks
        -- idempotency_keys_pkey and undoes the whole group: the caller
        -- replays it bet by bet (bet_repository::PLACE_BET).
        CREATE FUNCTION place_bets(
            bettor_ids text[], wallet_changes numeric[], bet_ids uuid[], amounts numeric[],
            placed_ats timestamptz[], claimed_keys text[], requests text[],
            transaction_ids uuid[], potential_payouts numeric[], max_payouts numeric[],
            default_max_liabilities numeric[],
            leg_counts integer[], leg_event_ids uuid[], leg_versions bigint[],
            leg_coefficients numeric[],
            entry_counts integer[], entry_ids uuid[], entry_accounts text[],
            entry_amounts numeric[]
        ) RETURNS SETOF placed_bet LANGUAGE plpgsql AS $place_bets$
        DECLARE
            held uuid[];
            first_leg integer := 1;
            last_leg integer;
            first_entry integer := 1;
            last_entry integer;
            decided placed_bet;
        BEGIN
            SELECT coalesce(array_agg(locked.id), '{}') INTO held FROM (
                SELECT e.id FROM events e
                WHERE (e.id, e.version) IN
                    (SELECT * FROM unnest(leg_event_ids, leg_versions))
                ORDER BY e.id
                FOR SHARE OF e
            ) AS locked;
            PERFORM 1 FROM event_exposure x
            WHERE x.event_id = ANY (held)
            ORDER BY x.event_id
            FOR UPDATE OF x;
            PERFORM 1 FROM wallets w
            WHERE w.bettor_id = ANY (bettor_ids)
            ORDER BY w.bettor_id
            FOR UPDATE OF w;
            FOR i IN 1 .. coalesce(cardinality(bet_ids), 0) LOOP
                last_leg := first_leg + leg_counts[i] - 1;
                last_entry := first_entry + entry_counts[i] - 1;
                SELECT * INTO STRICT decided FROM place_bet(
                    leg_event_ids[first_leg:last_leg], leg_versions[first_leg:last_leg],
                    bettor_ids[i], wallet_changes[i], bet_ids[i], amounts[i],
                    leg_coefficients[first_leg:last_leg], placed_ats[i], claimed_keys[i],
                    requests[i], transaction_ids[i], entry_ids[first_entry:last_entry],
                    entry_accounts[first_entry:last_entry],
                    entry_amounts[first_entry:last_entry], potential_payouts[i],
                    max_payouts[i], default_max_liabilities[i]);
                RETURN NEXT decided;
                first_leg := last_leg + 1;
                first_entry := last_entry + 1;
            END LOOP;
        END
        $place_bets$;
    "#,
    down: r#"
        DROP FUNCTION place_bets(
            text[], numeric[], uuid[], numeric[], timestamptz[], text[], text[], uuid[],
            numeric[], numeric[], numeric[], integer[], uuid[], bigint[], numeric[], integer[],
            uuid[], text[], numeric[]);
        DROP FUNCTION place_bet(
            uuid[], bigint[], text, numeric, uuid, numeric, numeric[], timestamptz, text, text,
            uuid, uuid[], text[], numeric[], numeric, numeric, numeric);
        DROP TYPE placed_bet;
    "#,
};
