//! Settling one large event (won, or cancelled), wallets credited, beside
//! the same statements issued directly.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use bet_maker::domain::LineEventStatus;
use bet_maker::infrastructure::persistence::SETTLE_BETS;
use rust_decimal::Decimal;
use sea_orm::sqlx::{self, PgPool, Row as _};
use serde_json::json;
use uuid::Uuid;

use super::super::{Row, Settings, ms};
use super::wallets::{
    StakedBets, bench_funds, books_balance, fund_bettors, insert_staked_bets, wallet_lines_of_event,
};
use super::{COEFFICIENT, Platform, TOKEN, create_event, pool, seed_open_events, wait_until};
use crate::{expected_settlement, status_text};

/// The stake of the bets the settlement workloads settle.
const STAKE: &str = "10.00";

/// Who placed them: `bench-settle-bettor-0`, `-1`, ...
const BETTOR_PREFIX: &str = "bench-settle-bettor-";

/// How an event of a settlement workload ends, and what that must pay.
#[derive(Debug, Clone, Copy)]
struct Ending {
    /// The status line-provider is given, and bet-maker's copy ends in.
    status: &'static str,
    /// The same, as the domain names it.
    result: LineEventStatus,
    /// The wallet line each bet's payout or refund is.
    line: &'static str,
    /// What the row says was settled.
    what: &'static str,
    /// The workload's name in results.json.
    name: &'static str,
}

/// Won: every bet pays stake × coefficient into its bettor's wallet.
const WON: Ending = Ending {
    status: "FINISHED_WIN",
    result: LineEventStatus::FinishedWin,
    line: "PAYOUT",
    what: "WON, wallets credited",
    name: "settle_large_event",
};

/// Cancelled: every bet is void and its stake goes back to the wallet.
const CANCELLED: Ending = Ending {
    status: "CANCELLED",
    result: LineEventStatus::Cancelled,
    line: "REFUND",
    what: "cancelled: VOID, stakes refunded",
    name: "settle_cancelled_event",
};

/// One event with 100,000 pending bets from 10,000 bettors: from
/// `PUT /events/{id}/status` FINISHED_WIN to the last bet WON and every
/// wallet credited, beside the same statements issued directly.
pub async fn settle_large_event(platform: &Platform, settings: &Settings) -> anyhow::Result<Row> {
    settle(platform, settings, WON).await
}

/// The same for an event cancelled: every stake refunded.
pub async fn settle_cancelled_event(
    platform: &Platform,
    settings: &Settings,
) -> anyhow::Result<Row> {
    settle(platform, settings, CANCELLED).await
}

async fn settle(platform: &Platform, settings: &Settings, ending: Ending) -> anyhow::Result<Row> {
    let bets = settings.scale(100_000, 1_000);
    let bettors = settings.scale(10_000, 100);
    let pool = pool(&platform.bet_maker_db).await?;
    fund_bettors(&pool, BETTOR_PREFIX, bettors, bench_funds()).await?;
    let staked = |event| -> anyhow::Result<StakedBets<'static>> {
        Ok(StakedBets {
            event,
            bets,
            prefix: BETTOR_PREFIX,
            bettors,
            stake: STAKE.parse()?,
            coefficient: COEFFICIENT.parse()?,
        })
    };

    let event = create_event(platform).await?;
    wait_until(
        &platform.bet_maker_db,
        &format!("SELECT count(*) FROM events WHERE id = '{event}'"),
        1,
    )
    .await?;
    insert_staked_bets(&pool, staked(event)?).await?;
    let service = settle_through_the_service(platform, event, ending).await?;
    settled_by_the_rule(&pool, staked(event)?, ending).await?;

    let direct = seed_open_events(&platform.bet_maker_db, 1)
        .await?
        .first()
        .map(|event| event.id)
        .context("seeding the event the limit settles")?;
    insert_staked_bets(&pool, staked(direct)?).await?;
    let limit = settle_directly(&pool, direct, ending).await?;
    settled_by_the_rule(&pool, staked(direct)?, ending).await?;
    books_balance(&pool).await?;
    pool.close().await;

    let times = service.as_micros() * 100 / limit.as_micros().max(1);
    let met = times <= 150;
    Ok(Row {
        workload: format!(
            "settle {} bets from {} bettors ({})",
            thousands(bets),
            thousands(bettors),
            ending.what
        ),
        service: format!(
            "{}, {} bets/s",
            ms(service),
            u128::from(bets.unsigned_abs()) * 1000 / service.as_millis().max(1)
        ),
        limit: format!(
            "{} (event UPDATE + SETTLE_BETS, one transaction)",
            ms(limit)
        ),
        ratio: Some(format!("{}.{:02}x", times / 100, times % 100)),
        target: "<= 1.5x limit".to_owned(),
        met,
        json: json!({
            "workload": ending.name, "bets": bets, "bettors": bettors,
            "service_us": service.as_micros() as u64, "limit_us": limit.as_micros() as u64,
            "times_limit_per_hundred": times as u64, "met": met,
        }),
    })
}

/// From `PUT /events/{id}/status` on line-provider to the last bet of the
/// event settled in bet-maker (its wallets are credited in the same
/// transaction, so they are too).
async fn settle_through_the_service(
    platform: &Platform,
    event: Uuid,
    ending: Ending,
) -> anyhow::Result<Duration> {
    let pending =
        format!("SELECT count(*) FROM bets WHERE event_id = '{event}' AND status = 'PENDING'");
    let started = Instant::now();
    let response = platform
        .client
        .put(format!(
            "{}/events/{event}/status",
            platform.line_provider.base_url
        ))
        .bearer_auth(TOKEN)
        .json(&json!({ "status": ending.status }))
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "PUT status {}: {}",
        ending.status,
        response.status()
    );
    wait_until(&platform.bet_maker_db, &pending, 0).await?;
    Ok(started.elapsed())
}

/// What bet-maker's consumer does for the event's last message, issued
/// directly: the event row moved to its final status at the next version,
/// then every pending bet settled and paid, in one transaction.
async fn settle_directly(pool: &PgPool, event: Uuid, ending: Ending) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut txn = pool.begin().await?;
    let version: i64 = sqlx::query(
        "UPDATE events SET status = $2, version = version + 1, updated_at = now(),
             decided_at = now()
         WHERE id = $1 AND status = 'NEW'
         RETURNING version",
    )
    .bind(event)
    .bind(ending.status)
    .fetch_one(&mut *txn)
    .await
    .context("moving the event to its final status")?
    .try_get("version")?;
    let settled: i64 = sqlx::query(SETTLE_BETS)
        .bind(event)
        .bind(ending.status)
        .bind(Uuid::now_v7())
        .bind(version)
        .fetch_one(&mut *txn)
        .await
        .context("settling the bets directly")?
        .try_get("settled")?;
    txn.commit().await.context("committing the settlement")?;
    let limit = started.elapsed();
    anyhow::ensure!(settled > 0, "the direct settlement settled no bet");
    Ok(limit)
}

/// Checks that all the bets on the event were settled as the domain's rule
/// says, and their payouts or refunds credited to the wallets: a fast
/// settlement that pays the wrong amount, or pays no one, is no result.
async fn settled_by_the_rule(
    pool: &PgPool,
    bets: StakedBets<'_>,
    ending: Ending,
) -> anyhow::Result<()> {
    let (status, payout) = expected_settlement(bets.stake, bets.coefficient, ending.result);
    let status = status_text(status);
    let settled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM bets WHERE event_id = $1 AND status = $2 AND payout = $3",
    )
    .bind(bets.event)
    .bind(status)
    .bind(payout)
    .fetch_one(pool)
    .await
    .context("counting the settled bets")?;
    anyhow::ensure!(
        settled == bets.bets,
        "{settled} of {} bets settled {status} with {payout} ({} × {})",
        bets.bets,
        bets.stake,
        bets.coefficient
    );
    let (lines, credited) = wallet_lines_of_event(pool, bets.event, ending.line).await?;
    let owed = payout * Decimal::from(bets.bets);
    anyhow::ensure!(
        lines == bets.bets && credited == owed,
        "{lines} {} lines crediting {credited} to the wallets, for {} bets owed {owed}",
        ending.line,
        bets.bets
    );
    Ok(())
}

/// `n` with a comma between thousands (100,000).
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if n < 0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(-1_234_567), "-1,234,567");
    }
}
