//! The check that a settlement workload's result is right, by the
//! domain's rules: a fast settlement that pays the wrong amount, pays no
//! one, or leaves the exposure of the other legs' events counting bets
//! that are gone, is no result.

use anyhow::Context as _;
use bet_maker::domain::{
    Account, BetStatus, Leg, LegStatus, LineEventStatus, ToSettle, potential_payout_of, settle,
    settle_bet, settlement,
};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::sqlx::{self, PgPool, Row as _};
use uuid::Uuid;

use super::wallets::StakedBets;
use crate::status_text;

/// The events the bets with a leg on `event` have legs on (`event` too).
pub async fn events_of_bets_on(pool: &PgPool, event: Uuid) -> anyhow::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "SELECT DISTINCT other.event_id
         FROM bet_legs mine JOIN bet_legs other ON other.bet_id = mine.bet_id
         WHERE mine.event_id = $1",
    )
    .bind(event)
    .fetch_all(pool)
    .await
    .with_context(|| format!("reading the events of event {event}'s bets"))
}

/// Fails unless each of `events` counts in its exposure exactly the
/// pending bets with an open leg on it (their number, stakes and potential
/// payouts): what placement, settlement and cash-out keep, checked before
/// a workload (the seeding) and after it (what it moved).
pub async fn exposure_counts_pending_bets(pool: &PgPool, events: &[Uuid]) -> anyhow::Result<()> {
    let row = sqlx::query(
        "WITH counted AS (
             SELECT touched.event_id, count(bets.id) AS bets,
                    coalesce(sum(bets.amount), 0) AS stakes,
                    coalesce(sum(bets.potential_payout), 0) AS potential_payout
             FROM unnest($1::uuid[]) AS touched(event_id)
             LEFT JOIN bet_legs pending_leg ON pending_leg.event_id = touched.event_id
                                           AND pending_leg.status = 'PENDING'
             LEFT JOIN bets ON bets.id = pending_leg.bet_id AND bets.status = 'PENDING'
             GROUP BY touched.event_id
         )
         SELECT count(*) AS events,
                count(*) FILTER (WHERE x.pending_bets <> counted.bets
                                    OR x.stakes <> counted.stakes
                                    OR x.potential_payout <> counted.potential_payout) AS off,
                coalesce(sum(x.pending_bets), 0)::bigint AS counted
         FROM counted JOIN event_exposure x USING (event_id)",
    )
    .bind(events)
    .fetch_one(pool)
    .await
    .context("checking the events' exposure")?;
    let found: i64 = row.try_get("events")?;
    let off: i64 = row.try_get("off")?;
    let counted: i64 = row.try_get("counted")?;
    anyhow::ensure!(
        usize::try_from(found)? == events.len() && off == 0,
        "of {} events ({found} with an exposure row), {off} count in their exposure other than \
         their pending bets ({counted} pending bets counted in all)",
        events.len()
    );
    Ok(())
}

/// Checks that every leg on `bets.event` was decided as `domain::settle`
/// decides it for `result`, every bet with a leg on it stands as
/// `domain::settle_bet` says (still pending while another leg is open,
/// unless a leg lost), the bets' other legs are still open, the money the
/// settlement posted is `domain::settlement`'s per bet settled, and the
/// exposure of every event the bets touch counts exactly the bets still
/// pending.
pub async fn settled_by_the_rule(
    pool: &PgPool,
    bets: StakedBets<'_>,
    result: LineEventStatus,
) -> anyhow::Result<()> {
    let event = bets.event.context("the bets settled are on no one event")?;
    let amount = bets.amount()?;
    let row = sqlx::query(
        "SELECT e.version, e.decided_at,
                (SELECT max(b.placed_at) FROM bets b JOIN bet_legs l ON l.bet_id = b.id
                 WHERE l.event_id = $1) AS placed_at
         FROM events e WHERE e.id = $1",
    )
    .bind(event)
    .fetch_one(pool)
    .await
    .with_context(|| format!("reading event {event} as settled"))?;
    let version: i64 = row.try_get("version")?;
    let decided_at: Option<DateTime<Utc>> = row.try_get("decided_at")?;
    let placed_at: Option<DateTime<Utc>> = row.try_get("placed_at")?;
    let decided = settle(
        ToSettle {
            amount,
            coefficient: bets.coefficient,
            placed_at: placed_at.context("no bet on the event")?,
            offered: None,
        },
        result,
        decided_at.context("the event was never decided")?,
    )
    .with_context(|| format!("{result:?} decides no leg"))?;
    let leg = Leg {
        event_id: event,
        coefficient: bets.coefficient,
        status: decided.leg_status(),
        settled_coefficient: decided.coefficient,
        void_reason: decided.void_reason,
    };
    let mut legs = vec![leg.clone()];
    let open = usize::try_from(bets.legs)?.saturating_sub(1);
    legs.extend(std::iter::repeat_n(
        Leg::open(Uuid::nil(), bets.coefficient),
        open,
    ));
    let outcome = settle_bet(amount, &legs);
    let status = outcome
        .as_ref()
        .map_or(BetStatus::Pending, |outcome| outcome.status);
    let payout = outcome.as_ref().map(|outcome| outcome.payout);

    let void_reason = leg.void_reason.map(|reason| reason.as_str().to_uppercase());
    let legs_decided: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM bet_legs
         WHERE event_id = $1 AND status = $2 AND settled_version = $3
           AND settled_coefficient IS NOT DISTINCT FROM $4
           AND void_reason IS NOT DISTINCT FROM $5",
    )
    .bind(event)
    .bind(leg_status_text(leg.status))
    .bind(version)
    .bind(leg.settled_coefficient)
    .bind(&void_reason)
    .fetch_one(pool)
    .await
    .context("counting the legs decided")?;
    anyhow::ensure!(
        legs_decided == bets.bets,
        "{legs_decided} of {} legs on event {event} decided {:?} at {:?} ({void_reason:?}) by \
         version {version}",
        bets.bets,
        leg.status,
        leg.settled_coefficient
    );

    let potential = potential_payout_of(amount, &legs);
    let settled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM bets b JOIN bet_legs l ON l.bet_id = b.id AND l.event_id = $1
         WHERE b.status = $2 AND b.payout IS NOT DISTINCT FROM $3 AND b.potential_payout = $4
           AND (b.settled_at IS NULL) = ($2 = 'PENDING')",
    )
    .bind(event)
    .bind(status_text(status))
    .bind(payout)
    .bind(potential)
    .fetch_one(pool)
    .await
    .context("counting the bets settled")?;
    anyhow::ensure!(
        settled == bets.bets,
        "{settled} of {} bets {} with {payout:?} ({} legs of {} × {}, potential {potential})",
        bets.bets,
        status_text(status),
        bets.legs,
        bets.stake,
        bets.coefficient
    );

    let still_open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM bet_legs mine
         JOIN bet_legs other ON other.bet_id = mine.bet_id AND other.event_id <> $1
         WHERE mine.event_id = $1 AND other.status = 'PENDING'",
    )
    .bind(event)
    .fetch_one(pool)
    .await
    .context("counting the other legs")?;
    let other_legs = bets.bets * (i64::from(bets.legs) - 1);
    anyhow::ensure!(
        still_open == other_legs,
        "{still_open} of the bets' {other_legs} other legs are still open"
    );

    money_posted_by_the_rule(pool, bets, status, payout).await?;
    exposure_counts_pending_bets(pool, &events_of_bets_on(pool, event).await?).await
}

/// The settlement's ledger transaction for `bets.event` holds, on each
/// account, what `domain::settlement` posts for a bet settled `status`
/// with `payout`, times the bets (nothing while they stay pending), and a
/// wallet line of its kind per bet when it pays.
async fn money_posted_by_the_rule(
    pool: &PgPool,
    bets: StakedBets<'_>,
    status: BetStatus,
    payout: Option<Decimal>,
) -> anyhow::Result<()> {
    let event = bets.event.context("the bets settled are on no one event")?;
    let posting = payout.and_then(|payout| settlement(bets.amount().ok()?, status, payout));
    let count = Decimal::from(bets.bets);
    let row = sqlx::query(
        "SELECT coalesce(sum(e.amount) FILTER (WHERE e.account = 'WALLET'), 0) AS wallet,
                coalesce(sum(e.amount) FILTER (WHERE e.account = 'STAKES_HELD'), 0) AS held,
                coalesce(sum(e.amount) FILTER (WHERE e.account = 'HOUSE_RESULT'), 0) AS house,
                count(*) FILTER (WHERE e.account = 'WALLET') AS lines,
                count(*) FILTER (WHERE e.account = 'WALLET' AND e.line = $2) AS lines_of_kind
         FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id
         WHERE t.event_id = $1",
    )
    .bind(event)
    .bind(
        posting
            .as_ref()
            .and_then(|posting| posting.wallet_line())
            .map(|line| line.as_str()),
    )
    .fetch_one(pool)
    .await
    .with_context(|| format!("reading the ledger of event {event}'s settlement"))?;
    let on = |account| {
        posting
            .as_ref()
            .map_or(Decimal::ZERO, |posting| posting.on(account) * count)
    };
    let expected = (
        on(Account::Wallet),
        on(Account::StakesHeld),
        on(Account::HouseResult),
    );
    let posted: (Decimal, Decimal, Decimal) = (
        row.try_get("wallet")?,
        row.try_get("held")?,
        row.try_get("house")?,
    );
    let lines: i64 = row.try_get("lines")?;
    let lines_of_kind: i64 = row.try_get("lines_of_kind")?;
    let wallet_lines = if expected.0.is_zero() { 0 } else { bets.bets };
    anyhow::ensure!(
        posted == expected && lines == wallet_lines && lines_of_kind == wallet_lines,
        "the settlement posted (wallets, stakes held, house result) {posted:?} in {lines} wallet \
         lines ({lines_of_kind} of the right kind), where {} bets {} owe {expected:?} in \
         {wallet_lines}",
        bets.bets,
        status_text(status)
    );
    Ok(())
}

/// A leg's status as `bet_legs.status` spells it.
fn leg_status_text(status: LegStatus) -> &'static str {
    match status {
        LegStatus::Pending => "PENDING",
        LegStatus::Won => "WON",
        LegStatus::Lost => "LOST",
        LegStatus::Void => "VOID",
    }
}
