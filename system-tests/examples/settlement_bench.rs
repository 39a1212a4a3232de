//! Measures how long an event's result takes to settle its bets, end to
//! end: from line-provider accepting `PUT /events/{id}/status` to the last
//! bet in bet-maker's database being WON, through the outbox, the relay,
//! RabbitMQ and the consumer.
//!
//! `cargo run --release -p system-tests --example settlement_bench`
//! (a measurement, not a test; `make bench` will grow out of it).

use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use system_tests::{System, count, id_of};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let system = System::start().await;
    for bets in [1, 10_000, 10_000] {
        let event = system.create_event("1.85").await;
        let event_id = id_of(&event);
        system.wait_for_open_event(event_id, "1.85").await;
        // One bet through the API, so the path is real; the rest written
        // straight into bet-maker's table, which is what they would be.
        system.place_bet(event_id, "10.00").await;
        if bets > 1 {
            // Singles: each bet with its one leg on the event, its
            // potential payout round(10.00 × 1.85, 2).
            system
                .bet_maker_db
                .connection
                .execute_unprepared(&format!(
                    "WITH placed AS (
                         INSERT INTO bets (id, bettor_id, amount, status, placed_at, leg_count,
                                           potential_payout)
                         SELECT gen_random_uuid(), 'bettor-' || (n % 1000), 10.00, 'PENDING', now(),
                                1, 18.50
                         FROM generate_series(2, {bets}) AS n
                         RETURNING id
                     )
                     INSERT INTO bet_legs (bet_id, leg, event_id, coefficient)
                     SELECT id, 1, '{event_id}', 1.85 FROM placed"
                ))
                .await?;
        }
        let pending = format!(
            "SELECT count(*) FROM bet_legs WHERE event_id = '{event_id}' AND status = 'PENDING'"
        );
        anyhow::ensure!(
            count(&system.bet_maker_db, &pending).await == bets,
            "bets not in place"
        );

        let started = Instant::now();
        system.finish_event(event_id, "FINISHED_WIN").await;
        let accepted = started.elapsed();
        let deadline = started + Duration::from_secs(120);
        while count(&system.bet_maker_db, &pending).await > 0 {
            anyhow::ensure!(
                Instant::now() < deadline,
                "bets not settled within two minutes"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let settled = started.elapsed();
        println!(
            "{bets:>6} bets: PUT answered in {accepted:.1?}, all bets settled {settled:.1?} after the PUT was sent"
        );
    }
    system.stop().await;
    Ok(())
}
