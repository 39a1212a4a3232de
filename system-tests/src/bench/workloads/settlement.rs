//! Settling one large event, beside the same UPDATE issued directly.

use std::time::Instant;

use sea_orm::ConnectionTrait;
use sea_orm::sqlx::{self};
use serde_json::json;
use shared_kernel::testing::{TestDatabase, count};
use uuid::Uuid;

use super::super::{Row, Settings, ms};
use super::{COEFFICIENT, Platform, TOKEN, create_event, pool, seed_open_events, wait_until};

/// The stake of the bets the settlement workload settles.
const STAKE: &str = "10.00";

/// One event with 100,000 pending bets: from `PUT /events/{id}/status` to
/// the last bet WON, beside the same UPDATE issued directly.
pub async fn settle_large_event(platform: &Platform, settings: &Settings) -> anyhow::Result<Row> {
    let bets = settings.scale(100_000, 1_000);
    let event = create_event(platform).await?;
    wait_until(
        &platform.bet_maker_db,
        &format!("SELECT count(*) FROM events WHERE id = '{event}'"),
        1,
    )
    .await?;
    let pending =
        format!("SELECT count(*) FROM bets WHERE event_id = '{event}' AND status = 'PENDING'");
    insert_pending_bets(&platform.bet_maker_db, event, bets).await?;

    let started = Instant::now();
    let response = platform
        .client
        .put(format!(
            "{}/events/{event}/status",
            platform.line_provider.base_url
        ))
        .bearer_auth(TOKEN)
        .json(&json!({ "status": "FINISHED_WIN" }))
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "PUT status: {}",
        response.status()
    );
    wait_until(&platform.bet_maker_db, &pending, 0).await?;
    let service = started.elapsed();
    paid_by_the_rule(&platform.bet_maker_db, event, bets).await?;

    let direct_event = seed_open_events(&platform.bet_maker_db, 1).await?[0];
    insert_pending_bets(&platform.bet_maker_db, direct_event, bets).await?;
    let pool = pool(&platform.bet_maker_db).await?;
    let started = Instant::now();
    sqlx::query(
        "UPDATE bets SET status = 'WON', payout = round(amount * coefficient, 2), settled_at = clock_timestamp()
         WHERE event_id = $1 AND status = 'PENDING'",
    )
    .bind(direct_event)
    .execute(&pool)
    .await?;
    let limit = started.elapsed();
    pool.close().await;

    let times = service.as_micros() * 100 / limit.as_micros().max(1);
    let met = times <= 150;
    Ok(Row {
        workload: format!("settle one event of {bets} bets"),
        service: format!(
            "{}, {} bets/s",
            ms(service),
            u128::from(bets.unsigned_abs()) * 1000 / service.as_millis().max(1)
        ),
        limit: format!("{} (one UPDATE)", ms(limit)),
        ratio: Some(format!("{}.{:02}x", times / 100, times % 100)),
        target: "<= 1.5x limit".to_owned(),
        met,
        json: json!({
            "workload": "settle_large_event", "bets": bets,
            "service_us": service.as_micros() as u64, "limit_us": limit.as_micros() as u64,
            "times_limit_per_hundred": times as u64, "met": met,
        }),
    })
}

/// Checks that the service settled all `bets` on `event` as the domain's
/// rule says: a fast settlement that pays the wrong amount is no result.
async fn paid_by_the_rule(db: &TestDatabase, event: Uuid, bets: i64) -> anyhow::Result<()> {
    let payout = crate::expected_payout(STAKE, COEFFICIENT);
    let sql = format!(
        "SELECT count(*) FROM bets WHERE event_id = '{event}' AND status = 'WON' AND payout = {payout}"
    );
    let paid = count(&db.connection, &sql).await;
    anyhow::ensure!(
        paid == bets,
        "{paid} of {bets} bets settled WON with {payout} ({STAKE} × {COEFFICIENT})"
    );
    Ok(())
}

async fn insert_pending_bets(db: &TestDatabase, event: Uuid, bets: i64) -> anyhow::Result<()> {
    db.connection
        .execute_unprepared(&format!(
            "INSERT INTO bets (id, bettor_id, event_id, amount, coefficient, status, placed_at)
             SELECT gen_random_uuid(), 'bench-bettor-' || (n % 10000), '{event}', {STAKE}, {COEFFICIENT}, 'PENDING', now()
             FROM generate_series(1, {bets}) AS n"
        ))
        .await?;
    Ok(())
}
