//! The platform's main flows end to end: an operator changes the line in
//! line-provider, bet-maker hears of it through RabbitMQ, bettors bet, and
//! results settle the bets (a cancellation voids them); and resync fills a
//! bet-maker that heard nothing, over line-provider's gRPC API, page by page;
//! a suspended event takes no bets until line-provider resumes it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use reqwest::StatusCode;
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait as _;
use serde_json::{Value, json};
use shared_kernel::testing::{eventually, expect_problem};
use system_tests::{
    FUNDS, Messaging, PATIENCE, System, assert_books_balance, count, decimal, expected_payout,
    id_of, uuid_field,
};
use uuid::Uuid;

/// A timestamp field of a JSON object.
fn instant(item: &Value, field: &str) -> DateTime<Utc> {
    item[field]
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("no timestamp `{field}` in {item}"))
}

/// The ids of these bets or events.
fn ids(items: &[Value]) -> BTreeSet<Uuid> {
    items.iter().map(id_of).collect()
}

/// Asserts that placing a bet on `event_id` is refused with 409 as a
/// problem document.
async fn assert_bet_refused_as_closed(system: &System, event_id: Uuid) {
    let response = system.try_place_bet(event_id, "10.00").await;
    expect_problem(response, StatusCode::CONFLICT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_line_as_line_provider_changes_it_is_what_bet_maker_offers() {
    let system = System::start().await;

    let created = system.create_event("1.85").await;
    let event_id = id_of(&created);
    let other_id = id_of(&system.create_event("3.10").await);
    let listed = system.wait_for_open_event(event_id, "1.85").await;
    assert_eq!(
        instant(&listed, "deadline"),
        instant(&created, "deadline"),
        "listed: {listed}"
    );
    system.wait_for_open_event(other_id, "3.10").await;

    system.change_coefficient(event_id, "2.10").await;
    system.wait_for_open_event(event_id, "2.10").await;

    let later = chrono::Utc::now() + chrono::Duration::hours(3);
    let moved = system
        .patch_event(event_id, &json!({ "deadline": later }))
        .await;
    eventually(
        &format!(
            "bet-maker listing event {event_id} with the moved deadline {}",
            moved["deadline"]
        ),
        PATIENCE,
        || async {
            system.open_events().await.into_iter().find(|e| {
                id_of(e) == event_id && instant(e, "deadline") == instant(&moved, "deadline")
            })
        },
    )
    .await;

    system.finish_event(event_id, "FINISHED_LOSE").await;
    system.wait_until_closed(event_id).await;
    let still_open = system.open_events().await;
    assert_eq!(
        ids(&still_open),
        BTreeSet::from([other_id]),
        "only the unfinished event stays open: {still_open:?}"
    );

    system.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bets_are_placed_and_settled_by_the_results_line_provider_sets() {
    let system = System::start().await;
    let won_coefficient = "1.85";
    let lost_coefficient = "2.35";
    let open_coefficient = "1.01";
    let won = id_of(&system.create_event(won_coefficient).await);
    let lost = id_of(&system.create_event(lost_coefficient).await);
    let open = id_of(&system.create_event(open_coefficient).await);
    for (event_id, coefficient) in [
        (won, won_coefficient),
        (lost, lost_coefficient),
        (open, open_coefficient),
    ] {
        system.wait_for_open_event(event_id, coefficient).await;
    }

    let amounts = ["10.50", "0.01", "999.99", "1000000.00", "3.33"];
    let placements = [won, lost, open]
        .into_iter()
        .flat_map(|event_id| amounts.into_iter().map(move |amount| (event_id, amount)));
    let bettor = &system;
    let placed: Vec<Value> = join_all(
        placements
            .map(|(event_id, amount)| async move { bettor.place_bet(event_id, amount).await }),
    )
    .await;
    let coefficients = BTreeMap::from([
        (won, won_coefficient),
        (lost, lost_coefficient),
        (open, open_coefficient),
    ]);
    for bet in &placed {
        assert_eq!(bet["status"], "PENDING", "a new bet: {bet}");
        assert_eq!(
            bet["coefficient"],
            coefficients[&uuid_field(bet, "event_id")],
            "a new bet: {bet}"
        );
        assert!(
            bet.get("payout").is_none(),
            "a pending bet has no payout: {bet}"
        );
        assert!(
            bet.get("settled_at").is_none(),
            "a pending bet is not settled: {bet}"
        );
    }
    let bets_of = |event_id: Uuid| -> BTreeSet<Uuid> {
        placed
            .iter()
            .filter(|bet| uuid_field(bet, "event_id") == event_id)
            .map(id_of)
            .collect()
    };
    let amount_of: BTreeMap<Uuid, String> = placed
        .iter()
        .map(|bet| {
            (
                id_of(bet),
                bet["amount"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        amount_of.values().cloned().collect::<BTreeSet<_>>(),
        amounts
            .iter()
            .map(|a| (*a).to_owned())
            .collect::<BTreeSet<_>>(),
        "amounts are echoed with two decimals"
    );

    system.finish_event(won, "FINISHED_WIN").await;
    system.finish_event(lost, "FINISHED_LOSE").await;

    let settled_won = system.wait_for_settlement(won).await;
    assert_eq!(ids(&settled_won), bets_of(won), "the bets on the won event");
    for listed in &settled_won {
        let bet = system.bet(id_of(listed)).await;
        assert_eq!(&bet, listed, "GET /bets/{{id}} agrees with the list");
        let amount = &amount_of[&id_of(&bet)];
        assert_eq!(bet["status"], "WON", "a bet on the won event: {bet}");
        assert_eq!(
            bet["payout"],
            expected_payout(amount, won_coefficient),
            "{amount} × {won_coefficient}, half-up to cents: {bet}"
        );
        assert!(
            instant(&bet, "settled_at") >= instant(&bet, "placed_at"),
            "settled after placed: {bet}"
        );
    }
    let settled_lost = system.wait_for_settlement(lost).await;
    assert_eq!(
        ids(&settled_lost),
        bets_of(lost),
        "the bets on the lost event"
    );
    for bet in &settled_lost {
        assert_eq!(bet["status"], "LOST", "a bet on the lost event: {bet}");
        assert_eq!(bet["payout"], "0.00", "a lost bet pays nothing: {bet}");
        assert!(
            bet["settled_at"].is_string(),
            "a lost bet is settled: {bet}"
        );
    }
    let on_open = system.bets(&format!("event_id={open}")).await;
    assert_eq!(ids(&on_open), bets_of(open), "the bets on the open event");
    for bet in &on_open {
        assert_eq!(bet["status"], "PENDING", "a bet on the open event: {bet}");
        assert!(
            bet.get("payout").is_none(),
            "a pending bet has no payout: {bet}"
        );
    }

    assert_eq!(
        ids(&system.bets("status=PENDING").await),
        bets_of(open),
        "GET /bets?status=PENDING"
    );
    assert_eq!(
        ids(&system.bets("status=WON").await),
        bets_of(won),
        "GET /bets?status=WON"
    );
    assert_eq!(
        ids(&system.bets("status=LOST").await),
        bets_of(lost),
        "GET /bets?status=LOST"
    );
    let open_events = system.open_events().await;
    assert_eq!(
        ids(&open_events),
        BTreeSet::from([open]),
        "open events: {open_events:?}"
    );

    assert_bet_refused_as_closed(&system, won).await;
    assert_bet_refused_as_closed(&system, lost).await;
    assert_eq!(
        system.bets("").await.len(),
        placed.len(),
        "refused bets are not recorded"
    );
    let money = |value: &Value| decimal(value.as_str().unwrap_or_default());
    let staked: Decimal = placed.iter().map(|bet| money(&bet["amount"])).sum();
    let paid: Decimal = system
        .bets("status=WON")
        .await
        .iter()
        .map(|bet| money(&bet["payout"]))
        .sum();
    assert_eq!(
        system.balance().await,
        decimal(FUNDS) - staked + paid,
        "the wallet: every stake taken, every win paid"
    );
    assert_books_balance(&system.bet_maker_db).await;

    system.wait_until_all_published().await;
    assert_eq!(
        system.dead_letters().await,
        0,
        "nothing was dead-lettered ({})",
        system.dead_letter_queue
    );

    system.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_an_event_voids_its_bets_and_pays_back_each_stake() {
    let system = System::start().await;
    let cancelled = id_of(&system.create_event("1.85").await);
    let other = id_of(&system.create_event("2.40").await);
    system.wait_for_open_event(cancelled, "1.85").await;
    system.wait_for_open_event(other, "2.40").await;
    let mut stakes = BTreeMap::new();
    for amount in ["10.50", "0.01", "1000000.00"] {
        let bet = system.place_bet(cancelled, amount).await;
        stakes.insert(id_of(&bet), amount.to_owned());
    }
    let untouched = system.place_bet(other, "5.00").await;

    let event = system.finish_event(cancelled, "CANCELLED").await;
    assert_eq!(event["status"], "CANCELLED", "line-provider: {event}");
    let again = system.finish_event(cancelled, "CANCELLED").await;
    assert_eq!(again, event, "cancelling again changes nothing");

    let void = system.wait_for_settlement(cancelled).await;
    assert_eq!(
        ids(&void),
        stakes.keys().copied().collect(),
        "the bets on the cancelled event"
    );
    for bet in &void {
        let stake = &stakes[&id_of(bet)];
        assert_eq!(bet["status"], "VOID", "a bet on a cancelled event: {bet}");
        assert_eq!(&bet["payout"], stake, "the stake paid back: {bet}");
        assert!(
            instant(bet, "settled_at") >= instant(bet, "placed_at"),
            "settled after placed: {bet}"
        );
    }
    assert_eq!(
        ids(&system.bets("status=VOID").await),
        stakes.keys().copied().collect(),
        "GET /bets?status=VOID"
    );
    assert_eq!(system.bet(id_of(&untouched)).await, untouched);
    system.wait_until_closed(cancelled).await;
    assert_eq!(
        ids(&system.open_events().await),
        BTreeSet::from([other]),
        "a cancelled event is no longer offered"
    );
    assert_bet_refused_as_closed(&system, cancelled).await;
    assert_eq!(
        system.balance().await,
        decimal(FUNDS) - decimal("5.00"),
        "every voided stake back; the other still staked"
    );
    assert_books_balance(&system.bet_maker_db).await;

    system.wait_until_all_published().await;
    assert_eq!(
        system.dead_letters().await,
        0,
        "nothing was dead-lettered ({})",
        system.dead_letter_queue
    );
    system.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bet_keeps_the_coefficient_it_was_placed_at() {
    let system = System::start().await;
    let event_id = id_of(&system.create_event("1.85").await);
    system.wait_for_open_event(event_id, "1.85").await;
    let before = system.place_bet(event_id, "10.50").await;
    assert_eq!(before["coefficient"], "1.85", "the first bet: {before}");

    system.change_coefficient(event_id, "2.50").await;
    system.wait_for_open_event(event_id, "2.50").await;
    let after = system.place_bet(event_id, "10.50").await;
    assert_eq!(after["coefficient"], "2.50", "the second bet: {after}");

    system.finish_event(event_id, "FINISHED_WIN").await;
    system.wait_for_settlement(event_id).await;
    let before = system.bet(id_of(&before)).await;
    let after = system.bet(id_of(&after)).await;
    assert_eq!(before["status"], "WON", "the first bet: {before}");
    assert_eq!(before["coefficient"], "1.85", "the first bet: {before}");
    assert_eq!(
        before["payout"],
        expected_payout("10.50", "1.85"),
        "the first bet: {before}"
    );
    assert_eq!(before["payout"], "19.43", "the first bet: {before}");
    assert_eq!(after["status"], "WON", "the second bet: {after}");
    assert_eq!(after["coefficient"], "2.50", "the second bet: {after}");
    assert_eq!(
        after["payout"],
        expected_payout("10.50", "2.50"),
        "the second bet: {after}"
    );
    assert_eq!(after["payout"], "26.25", "the second bet: {after}");

    system.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_fills_a_bet_maker_that_heard_nothing() {
    let system = System::start_with(Messaging::Isolated).await;
    let mut expected_open: BTreeMap<Uuid, (String, DateTime<Utc>)> = BTreeMap::new();
    let mut created = Vec::new();
    for coefficient in ["1.50", "2.00", "3.25", "4.75", "10.00"] {
        let event = system.create_event(coefficient).await;
        expected_open.insert(
            id_of(&event),
            (coefficient.to_owned(), instant(&event, "deadline")),
        );
        created.push(id_of(&event));
    }
    let (changed, finished) = (created[1], created[4]);
    let patched = system.change_coefficient(changed, "2.20").await;
    expected_open.insert(changed, ("2.20".to_owned(), instant(&patched, "deadline")));
    system.finish_event(finished, "FINISHED_WIN").await;
    expected_open.remove(&finished);
    assert!(
        system.open_events().await.is_empty(),
        "bet-maker on its own exchange heard of nothing"
    );

    let report = system.resync().await;
    assert_eq!(
        (
            report.events_read,
            report.events_updated,
            report.bets_settled
        ),
        (5, 5, 0),
        "the first resync: {report:?}"
    );
    let listed: BTreeMap<Uuid, (String, DateTime<Utc>)> = system
        .open_events()
        .await
        .iter()
        .map(|e| {
            let coefficient = e["coefficient"].as_str().unwrap_or_default().to_owned();
            (id_of(e), (coefficient, instant(e, "deadline")))
        })
        .collect();
    assert_eq!(
        listed, expected_open,
        "bet-maker's open events after resync"
    );
    assert_bet_refused_as_closed(&system, finished).await;

    let again = system.resync().await;
    assert_eq!(
        (again.events_read, again.events_updated, again.bets_settled),
        (5, 0, 0),
        "a second resync changes nothing: {again:?}"
    );
    assert_eq!(
        system.open_events().await.len(),
        expected_open.len(),
        "open events after a second resync"
    );

    // A result bet-maker did not hear of reaches its bets through resync.
    let bet = system.place_bet(created[0], "10.50").await;
    system.finish_event(created[0], "FINISHED_WIN").await;
    let caught_up = system.resync().await;
    assert_eq!(
        (
            caught_up.events_read,
            caught_up.events_updated,
            caught_up.bets_settled
        ),
        (5, 1, 1),
        "a resync after a result: {caught_up:?}"
    );
    let bet = system.bet(id_of(&bet)).await;
    assert_eq!(bet["status"], "WON", "settled by resync: {bet}");
    assert_eq!(
        bet["payout"],
        expected_payout("10.50", "1.50"),
        "settled by resync: {bet}"
    );

    system.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_reads_a_line_longer_than_a_page_over_grpc() {
    let system = System::start_with(Messaging::Isolated).await;
    // More events than one ListEvents page holds (500), written straight
    // into line-provider's table: resync reads the table, not the outbox.
    let seeded = 1_234;
    system
        .line_provider_db
        .connection
        .execute_unprepared(&format!(
            "INSERT INTO events (id, coefficient, deadline, status, version)
             SELECT gen_random_uuid(), 1.01 + (n % 500) / 100.0, now() + interval '1 day', 'NEW', 1
             FROM generate_series(1, {seeded}) AS n"
        ))
        .await
        .unwrap_or_else(|e| panic!("seeding line-provider's events: {e}"));
    let finished = id_of(&system.create_event("2.50").await);
    system.finish_event(finished, "FINISHED_LOSE").await;
    let total = seeded + 1;

    let report = system.resync().await;

    assert_eq!(
        (
            report.events_read,
            report.events_updated,
            report.disagreements
        ),
        (total, total, 0),
        "{report:?}"
    );
    let copied = |sql: &'static str| count(&system.bet_maker_db, sql);
    assert_eq!(copied("SELECT count(*) FROM events").await, total as i64);
    assert_eq!(
        copied("SELECT count(*) FROM events WHERE status = 'FINISHED_LOSE'").await,
        1
    );
    assert_eq!(system.open_events().await.len(), seeded as usize);

    system.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_event_takes_no_bets_moves_its_odds_and_resumes() {
    let system = System::start().await;
    let event_id = id_of(&system.create_event("1.85").await);
    system.wait_for_open_event(event_id, "1.85").await;

    let suspended = system.finish_event(event_id, "SUSPENDED").await;
    assert_eq!(
        suspended["status"], "SUSPENDED",
        "line-provider: {suspended}"
    );
    // The odds move while it is suspended: `event.updated`, still SUSPENDED.
    system.change_coefficient(event_id, "1.60").await;
    let listed = system.wait_for_open_event(event_id, "1.60").await;
    assert_eq!(listed["status"], "SUSPENDED", "bet-maker: {listed}");
    let refused = expect_problem(
        system.try_place_bet(event_id, "10.00").await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(
        refused["type"], "urn:betting:problem:event-suspended",
        "{refused}"
    );

    let resumed = system.finish_event(event_id, "NEW").await;
    assert_eq!(resumed["status"], "NEW", "line-provider: {resumed}");
    eventually("bet-maker offering the event again", PATIENCE, || async {
        system
            .open_events()
            .await
            .into_iter()
            .find(|event| id_of(event) == event_id && event["status"] == "NEW")
    })
    .await;
    let bet = system.place_bet(event_id, "10.00").await;
    assert_eq!(
        bet["coefficient"], "1.60",
        "at the odds moved while suspended: {bet}"
    );

    system.wait_until_all_published().await;
    assert_eq!(
        system.dead_letters().await,
        0,
        "nothing was dead-lettered ({})",
        system.dead_letter_queue
    );
    system.stop().await;
}
