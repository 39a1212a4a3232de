//! Settling one large event (won, or cancelled; or one leg of many
//! accumulators, lost), wallets credited, beside the same number of bets
//! settled by one statement on the minimal schema.

use std::time::{Duration, Instant};

use bet_maker::domain::LineEventStatus;
use serde_json::json;
use uuid::Uuid;

use super::super::{Row, Settings, ms};
use super::minimal::MinimalEnding;
use super::settled::{events_of_bets_on, exposure_counts_pending_bets, settled_by_the_rule};
use super::wallets::{StakedBets, bench_funds, books_balance, fund_bettors, insert_staked_bets};
use super::{COEFFICIENT, Platform, TOKEN, create_event, pool, seed_open_events, wait_until};

/// The stake of the bets the settlement workloads settle.
const STAKE: &str = "10.00";

/// Who placed them: `bench-settle-bettor-0`, `-1`, ...
const BETTOR_PREFIX: &str = "bench-settle-bettor-";

/// How an event of a settlement workload ends.
#[derive(Debug, Clone, Copy)]
struct Ending {
    /// The status line-provider is given, and bet-maker's copy ends in.
    status: &'static str,
    /// The same, as the domain names it.
    result: LineEventStatus,
    /// What the row says was settled.
    what: &'static str,
    /// The workload's name in results.json.
    name: &'static str,
    /// How the limit's minimal statement ends the same number of bets.
    limit: MinimalEnding,
}

/// Won: every bet pays stake × coefficient into its bettor's wallet.
const WON: Ending = Ending {
    status: "FINISHED_WIN",
    result: LineEventStatus::FinishedWin,
    what: "WON, wallets credited",
    name: "settle_large_event",
    limit: MinimalEnding::Won,
};

/// Cancelled: every bet is void and its stake goes back to the wallet.
const CANCELLED: Ending = Ending {
    status: "CANCELLED",
    result: LineEventStatus::Cancelled,
    what: "cancelled: VOID, stakes refunded",
    name: "settle_cancelled_event",
    limit: MinimalEnding::Refunded,
};

/// Lost, as one leg of accumulators: every bet LOST at once (the stakes
/// to the house), and the exposure of the events of their other legs,
/// still open, relieved of them.
const LEG_LOST: Ending = Ending {
    status: "FINISHED_LOSE",
    result: LineEventStatus::FinishedLose,
    what: "lost: every bet LOST, the other events' exposure moved",
    name: "settle_accumulator_leg",
    // Held to the singles' limit: the same number of bets settled.
    limit: MinimalEnding::Won,
};

/// The bets of a settlement workload: singles on the event, or
/// accumulators with one leg on it and the others on other open events.
#[derive(Debug, Clone, Copy)]
struct Slips {
    /// Legs per bet.
    legs: i16,
    /// How many other open events their other legs are spread over.
    other_events: i64,
}

/// Legs of the accumulators of the accumulator settlement workload.
const ACCUMULATOR_LEGS: i16 = 4;

/// One event with 100,000 pending bets from 10,000 bettors: from
/// `PUT /events/{id}/status` FINISHED_WIN to the last bet WON and every
/// wallet credited, beside the same statements issued directly.
pub async fn settle_large_event(platform: &Platform, settings: &Settings) -> anyhow::Result<Row> {
    let singles = Slips {
        legs: 1,
        other_events: 0,
    };
    settle(platform, settings, WON, singles).await
}

/// The same for an event cancelled: every stake refunded.
pub async fn settle_cancelled_event(
    platform: &Platform,
    settings: &Settings,
) -> anyhow::Result<Row> {
    let singles = Slips {
        legs: 1,
        other_events: 0,
    };
    settle(platform, settings, CANCELLED, singles).await
}

/// An event that is one leg of 100,000 pending accumulators of 4 legs
/// from 10,000 bettors, their other legs spread over 1,000 other open
/// events: from `PUT /events/{id}/status` FINISHED_LOSE to every leg on
/// it decided (every bet LOST, the stakes to the house, the 1,000 events'
/// exposure relieved of them), beside the same statements issued
/// directly.
pub async fn settle_accumulator_leg(
    platform: &Platform,
    settings: &Settings,
) -> anyhow::Result<Row> {
    let accumulators = Slips {
        legs: ACCUMULATOR_LEGS,
        other_events: settings.scale(1_000, 20),
    };
    settle(platform, settings, LEG_LOST, accumulators).await
}

async fn settle(
    platform: &Platform,
    settings: &Settings,
    ending: Ending,
    slips: Slips,
) -> anyhow::Result<Row> {
    let bets = settings.scale(100_000, 1_000);
    let bettors = settings.scale(10_000, 100);
    let pool = pool(&platform.bet_maker_db).await?;
    fund_bettors(&pool, BETTOR_PREFIX, bettors, bench_funds()).await?;
    let terms = StakedBets {
        event: None,
        others: &[],
        legs: slips.legs,
        bets,
        prefix: BETTOR_PREFIX,
        bettors,
        stake: STAKE.parse()?,
        coefficient: COEFFICIENT.parse()?,
    };

    let event = create_event(platform).await?;
    wait_until(
        &platform.bet_maker_db,
        &format!("SELECT count(*) FROM events WHERE id = '{event}'"),
        1,
    )
    .await?;
    let others = other_events(platform, slips).await?;
    let on_event = StakedBets {
        event: Some(event),
        others: &others,
        ..terms
    };
    insert_staked_bets(&pool, on_event).await?;
    exposure_counts_pending_bets(&pool, &events_of_bets_on(&pool, event).await?).await?;
    let service = settle_through_the_service(platform, event, ending).await?;
    settled_by_the_rule(&pool, on_event, ending.result).await?;

    books_balance(&pool).await?;
    pool.close().await;
    let limit = platform
        .minimal
        .settle(
            bets,
            bettors,
            STAKE.parse()?,
            COEFFICIENT.parse()?,
            ending.limit,
        )
        .await?;

    let times = service.as_micros() * 100 / limit.as_micros().max(1);
    let met = times <= 150;
    let workload = if slips.legs == 1 {
        format!(
            "settle {} bets from {} bettors ({})",
            thousands(bets),
            thousands(bettors),
            ending.what
        )
    } else {
        format!(
            "settle one leg of {} accumulators of {} legs from {} bettors, \
             other legs on {} open events ({})",
            thousands(bets),
            slips.legs,
            thousands(bettors),
            thousands(slips.other_events),
            ending.what
        )
    };
    Ok(Row {
        workload,
        service: format!(
            "{}, {} bets/s",
            ms(service),
            u128::from(bets.unsigned_abs()) * 1000 / service.as_millis().max(1)
        ),
        limit: format!(
            "{} (minimal schema: the same bets {} by one statement)",
            ms(limit),
            ending.limit.what()
        ),
        ratio: Some(format!("{}.{:02}x", times / 100, times % 100)),
        target: "<= 1.5x limit".to_owned(),
        met,
        skipped: false,
        json: json!({
            "workload": ending.name, "bets": bets, "bettors": bettors, "legs": slips.legs,
            "other_events": slips.other_events,
            "service_us": service.as_micros() as u64, "limit_us": limit.as_micros() as u64,
            "times_limit_per_hundred": times as u64, "met": met,
        }),
    })
}

/// The open events an accumulator's other legs go on (none for singles),
/// written straight into bet-maker's copy of the line: line-provider
/// never decides them here.
async fn other_events(platform: &Platform, slips: Slips) -> anyhow::Result<Vec<Uuid>> {
    if slips.other_events == 0 {
        return Ok(Vec::new());
    }
    seed_open_events(&platform.bet_maker_db, slips.other_events).await
}

/// From `PUT /events/{id}/status` on line-provider to every leg on the
/// event decided in bet-maker (the bets they settle, and their wallets'
/// credits, commit in the same transaction, so they are too).
async fn settle_through_the_service(
    platform: &Platform,
    event: Uuid,
    ending: Ending,
) -> anyhow::Result<Duration> {
    // Whether any leg on it is still pending: the first one the index
    // gives is, until the settlement commits. Counting them all at every
    // poll would read 100,000 legs a millisecond, and take the CPU from
    // the settlement it times.
    let pending = format!(
        "SELECT count(*) FROM (SELECT 1 FROM bet_legs
                               WHERE event_id = '{event}' AND status = 'PENDING' LIMIT 1) AS leg"
    );
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
