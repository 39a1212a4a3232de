//! Accumulators through the API, against the real app, PostgreSQL and
//! RabbitMQ: one stake on 2 to 20 distinct open events at the exact product
//! of their coefficients; the slips refused whole (422, 404, 409) writing
//! nothing; settlement leg by leg (a lost leg loses the bet at once, a
//! cancelled leg counts 1.00, every leg cancelled is void) whatever order
//! the results come in; corrections re-settling by CORRECTION lines once,
//! a corrected loss putting the bet back to PENDING while a leg is open;
//! the live stream, the statement, the exposure of every leg's event, the
//! payout cap; the Swagger examples of the slip; and a bet placed while a
//! settlement moves the exposure of its event.

mod support;

use std::time::Duration;

use bet_maker::domain::{
    BetSum, LineEvent, LineEventStatus, Price, RiskLimits, StakeRoom, max_stake,
};
use chrono::Utc;
use reqwest::header::LOCATION;
use reqwest::{Method, Response, StatusCode};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::{Value, json};
use shared_kernel::contracts::LineEventKind;
use shared_kernel::testing::{
    EventStream, assert_names_field, eventually, expect_json, expect_problem,
};
use support::{TestApp, assert_books_balance, line_event, message_for, staff_token, token_for};
use uuid::Uuid;

const PATIENCE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------- helpers

fn decimal(value: &Value) -> Decimal {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a decimal string: {value}"))
        .parse()
        .unwrap_or_else(|e| panic!("{value}: {e}"))
}

fn id_of(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no `id`: {value}"))
        .to_owned()
}

/// The slip of an accumulator on `events` (no coefficient seen).
fn slip(events: &[&LineEvent], amount: &str) -> Value {
    let legs: Vec<Value> = events
        .iter()
        .map(|event| json!({ "event_id": event.id }))
        .collect();
    json!({ "legs": legs, "amount": amount })
}

/// `POST /bets` of `body` as `bettor`.
async fn post_as(app: &TestApp, bettor: &str, body: &Value) -> Response {
    app.request_as(bettor, Method::POST, "/bets")
        .json(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /bets {body}: {e}"))
}

/// Places an accumulator on `events` as `bettor`, expecting 201; the bet.
async fn accumulator_as(app: &TestApp, bettor: &str, events: &[&LineEvent], amount: &str) -> Value {
    expect_json(
        post_as(app, bettor, &slip(events, amount)).await,
        StatusCode::CREATED,
    )
    .await
}

async fn accumulator(app: &TestApp, events: &[&LineEvent], amount: &str) -> Value {
    accumulator_as(app, "alice", events, amount).await
}

/// The bet as its bettor sees it now.
async fn bet_of(app: &TestApp, bettor: &str, bet: &Value) -> Value {
    app.get_json_as(bettor, &format!("/bets/{}", id_of(bet)))
        .await
}

/// Each leg's status, in order.
fn leg_statuses(bet: &Value) -> Vec<String> {
    bet["legs"]
        .as_array()
        .unwrap_or_else(|| panic!("a bet without `legs`: {bet}"))
        .iter()
        .map(|leg| leg["status"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// (status, payout), `payout` empty while absent.
fn outcome(bet: &Value) -> (String, String) {
    (
        bet["status"].as_str().unwrap_or_default().to_owned(),
        bet["payout"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn balance(app: &TestApp, bettor: &str) -> String {
    app.balance_of(bettor)
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// `event` at its next version with `status`.
fn next(event: &LineEvent, status: LineEventStatus) -> LineEvent {
    LineEvent {
        status,
        version: event.version + 1,
        ..event.clone()
    }
}

/// line-provider announces `event`'s result (`FINISHED_*` or
/// `CANCELLED`); waits until bet-maker applied it (the copy and the
/// settlement commit together). The event as it now is.
async fn decide(app: &TestApp, event: &LineEvent, status: LineEventStatus) -> LineEvent {
    let decided = next(event, status);
    let kind = if status == LineEventStatus::Cancelled {
        LineEventKind::Cancelled
    } else {
        LineEventKind::Finished
    };
    app.publish(&message_for(kind, &decided)).await;
    app.until_version(event.id, decided.version).await;
    decided
}

/// line-provider corrects `event`'s result to `status`: the message
/// delivered twice, and published again under another id, as a broker and
/// a relay may; waits until bet-maker applied it and consumed the rest.
async fn correct(app: &TestApp, event: &LineEvent, status: LineEventStatus) -> LineEvent {
    let corrected = next(event, status);
    let message = message_for(LineEventKind::Corrected, &corrected).with_reason("the VAR said so");
    app.publish(&message).await;
    app.publish(&message).await;
    app.publish(&message_for(LineEventKind::Corrected, &corrected).with_reason("the VAR said so"))
        .await;
    app.until_version(event.id, corrected.version).await;
    app.drain().await;
    corrected
}

/// `GET /admin/events/{id}/exposure` as a trader.
async fn exposure(app: &TestApp, event: &LineEvent) -> Value {
    let path = format!("/admin/events/{}/exposure", event.id);
    let response = app
        .anonymous(Method::GET, &path)
        .bearer_auth(staff_token("tess", "trader"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    expect_json(response, StatusCode::OK).await
}

/// (pending bets, stakes, potential payout, liability) of an exposure.
fn counted(exposure: &Value) -> (i64, String, String, String) {
    (
        exposure["pending_bets"].as_i64().unwrap_or(-1),
        exposure["stakes"].as_str().unwrap_or_default().to_owned(),
        exposure["potential_payout"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        exposure["liability"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// How many ledger lines of `line` the bet has.
async fn lines_of(app: &TestApp, bet: &Value, line: &str) -> i64 {
    app.count(&format!(
        "SELECT count(*) FROM ledger_entries WHERE bet_id = '{}' AND line = '{line}'",
        id_of(bet)
    ))
    .await
}

/// The stakes the ledger holds: the STAKES_HELD account's balance.
async fn stakes_held(app: &TestApp) -> Decimal {
    use sea_orm::Statement;
    let db = &app.db.connection;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT coalesce(sum(amount), 0) AS held FROM ledger_entries WHERE account = 'STAKES_HELD'",
        ))
        .await
        .unwrap_or_else(|e| panic!("reading the stakes held: {e}"))
        .unwrap_or_else(|| panic!("no row"));
    row.try_get("", "held")
        .unwrap_or_else(|e| panic!("the stakes held: {e}"))
}

/// Nothing was written for a refused slip: no bet, no leg, the balance
/// as it was.
async fn nothing_written(app: &TestApp, bets_before: i64, balance_before: &str, what: &str) {
    assert_eq!(
        app.count("SELECT count(*) FROM bets").await,
        bets_before,
        "{what}: a bet was written"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM bet_legs").await,
        app.count("SELECT coalesce(sum(leg_count), 0) FROM bets")
            .await,
        "{what}: legs of no bet were written"
    );
    assert_eq!(
        balance(app, "alice").await,
        balance_before,
        "{what}: the wallet moved"
    );
}

// ------------------------------------------------------------- placement

#[tokio::test]
async fn an_accumulator_of_two_legs_is_placed_at_the_exact_product_with_its_legs() {
    let app = TestApp::spawn().await;
    let home = app.open_event("1.85").await;
    let away = app.open_event("2.10").await;

    let response = post_as(&app, "alice", &slip(&[&home, &away], "10.50")).await;

    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bet = expect_json(response, StatusCode::CREATED).await;
    assert_eq!(location, Some(format!("/bets/{}", id_of(&bet))), "{bet}");
    assert_eq!(bet["coefficient"], "3.885", "1.85 × 2.10, exact: {bet}");
    assert_eq!(bet["amount"], "10.50", "{bet}");
    assert_eq!(bet["status"], "PENDING", "{bet}");
    assert!(
        bet.get("event_id").is_none(),
        "an accumulator has no single event: {bet}"
    );
    assert!(bet.get("payout").is_none(), "{bet}");
    assert_eq!(
        bet["legs"],
        json!([
            {"event_id": home.id, "coefficient": "1.85", "status": "PENDING"},
            {"event_id": away.id, "coefficient": "2.10", "status": "PENDING"},
        ]),
        "the legs in the order asked for: {bet}"
    );
    assert_eq!(balance(&app, "alice").await, "989.50");
    assert_eq!(bet_of(&app, "alice", &bet).await, bet, "GET /bets/{{id}}");
    // Listed under either leg's event.
    for event in [&home, &away] {
        let page = app.get_json(&format!("/bets?event_id={}", event.id)).await;
        assert_eq!(page["items"][0]["id"], bet["id"], "{page}");
    }
    // 10.50 × 3.885 = 40.7925: 40.79 if won.
    for event in [&home, &away] {
        assert_eq!(
            counted(&exposure(&app, event).await),
            (1, "10.50".into(), "40.79".into(), "30.29".into())
        );
    }
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn an_accumulator_of_twenty_legs_shows_its_price_to_the_last_decimal() {
    let app = TestApp::spawn().await;
    let mut events = Vec::new();
    for _ in 0..18 {
        events.push(app.open_event("1.10").await);
    }
    events.push(app.open_event("1.85").await);
    events.push(app.open_event("2.10").await);
    let on: Vec<&LineEvent> = events.iter().collect();

    let bet = accumulator(&app, &on, "10.00").await;

    // 1.10^18 × 3.885 = 11^18 × 3885 / 10^21, worked out in integers.
    let numerator = 11u128.pow(18) * 3885;
    let digits = format!("{numerator:0>22}");
    let (whole, fraction) = digits.split_at(digits.len() - 21);
    let exact = format!("{whole}.{}", fraction.trim_end_matches('0'));
    assert_eq!(exact, "21.600278762917319303685");
    assert_eq!(bet["coefficient"], exact, "{bet}");
    assert_eq!(
        bet["coefficient"],
        Price::of(events.iter().map(|e| e.coefficient)).to_string()
    );
    let legs = bet["legs"].as_array().cloned().unwrap_or_default();
    assert_eq!(legs.len(), 20, "{bet}");
    for (leg, event) in legs.iter().zip(&events) {
        assert_eq!(leg["event_id"], json!(event.id), "{leg}");
        assert_eq!(decimal(&leg["coefficient"]), event.coefficient, "{leg}");
        assert_eq!(leg["status"], "PENDING", "{leg}");
    }
    // 10.00 × 21.6002787... pays 216.00 if won; every leg's event counts it.
    for event in [&events[0], &events[9], &events[19]] {
        assert_eq!(
            counted(&exposure(&app, event).await),
            (1, "10.00".into(), "216.00".into(), "206.00".into())
        );
    }
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM bet_legs WHERE bet_id = '{}'",
            id_of(&bet)
        ))
        .await,
        20
    );
}

#[tokio::test]
async fn a_slip_of_no_leg_too_many_a_repeated_event_or_mixed_forms_is_422_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let mut events = Vec::new();
    for _ in 0..21 {
        events.push(app.open_event("1.50").await);
    }
    let legs = |events: &[LineEvent]| -> Vec<Value> {
        events
            .iter()
            .map(|event| json!({ "event_id": event.id }))
            .collect()
    };
    let (a, b) = (&events[0], &events[1]);
    let cases = [
        ("no leg", json!({ "legs": [], "amount": "10.00" }), "legs"),
        (
            "21 legs",
            json!({ "legs": legs(&events), "amount": "10.00" }),
            "legs",
        ),
        (
            "one event twice",
            json!({ "legs": [{"event_id": a.id}, {"event_id": b.id}, {"event_id": a.id}],
                    "amount": "10.00" }),
            "legs",
        ),
        (
            "both event_id and legs",
            json!({ "event_id": a.id, "legs": [{"event_id": b.id}], "amount": "10.00" }),
            "legs",
        ),
        (
            "neither event_id nor legs",
            json!({ "amount": "10.00" }),
            "event_id",
        ),
        (
            "a single's coefficient beside legs",
            json!({ "legs": [{"event_id": a.id}, {"event_id": b.id}], "amount": "10.00",
                    "coefficient": "1.50" }),
            "coefficient",
        ),
    ];
    for (what, body, field) in cases {
        let problem = expect_problem(
            post_as(&app, "alice", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_names_field(&problem, field);
        nothing_written(&app, 0, "1000.00", what).await;
    }
    // 20 legs is the most, and fine.
    let twenty: Vec<&LineEvent> = events.iter().take(20).collect();
    accumulator(&app, &twenty, "1.00").await;
}

#[tokio::test]
async fn an_unknown_leg_event_is_404_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let known = app.open_event("1.85").await;
    let unknown = Uuid::now_v7();

    let response = post_as(
        &app,
        "alice",
        &json!({ "legs": [{"event_id": known.id}, {"event_id": unknown}], "amount": "10.00" }),
    )
    .await;

    let problem = expect_problem(response, StatusCode::NOT_FOUND).await;
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains(&unknown.to_string())),
        "the problem names the unknown event: {problem}"
    );
    nothing_written(&app, 0, "1000.00", "an unknown leg").await;
}

#[tokio::test]
async fn one_suspended_closed_or_moved_leg_refuses_the_whole_accumulator_with_409() {
    let app = TestApp::spawn().await;
    let open = app.open_event("1.85").await;
    let suspended = app.open_event("2.00").await;
    app.seed_event(&next(&suspended, LineEventStatus::Suspended))
        .await;
    let finished = app.open_event("2.00").await;
    app.seed_event(&next(&finished, LineEventStatus::FinishedWin))
        .await;
    let past_deadline = line_event(
        "2.00",
        Utc::now() - chrono::Duration::minutes(1),
        LineEventStatus::New,
        1,
    );
    app.seed_event(&past_deadline).await;
    let moved = app.open_event("2.10").await;
    app.seed_event(&LineEvent {
        coefficient: Decimal::new(220, 2),
        version: 2,
        ..moved.clone()
    })
    .await;

    let cases = [
        ("a suspended leg", &suspended, "event-suspended"),
        ("a finished leg", &finished, "event-closed"),
        ("a leg past its deadline", &past_deadline, "event-closed"),
    ];
    for (what, leg, kind) in cases {
        let problem = expect_problem(
            post_as(&app, "alice", &slip(&[&open, leg], "10.00")).await,
            StatusCode::CONFLICT,
        )
        .await;
        assert_eq!(
            problem["type"],
            format!("urn:betting:problem:{kind}"),
            "{what}: {problem}"
        );
        nothing_written(&app, 0, "1000.00", what).await;
    }
    // The bettor saw 2.10 on the moved leg; it is 2.20 now.
    let seen = json!({
        "legs": [
            {"event_id": open.id, "coefficient": "1.85"},
            {"event_id": moved.id, "coefficient": "2.10"},
        ],
        "amount": "10.00",
    });
    let problem = expect_problem(post_as(&app, "alice", &seen).await, StatusCode::CONFLICT).await;
    assert_eq!(
        problem["type"], "urn:betting:problem:odds-changed",
        "{problem}"
    );
    assert_eq!(problem["current_coefficient"], "2.20", "{problem}");
    nothing_written(&app, 0, "1000.00", "a moved leg").await;
    // A leg that moved down is refused even when higher ones are accepted.
    let lowered = json!({
        "legs": [
            {"event_id": open.id, "coefficient": "1.90"},
            {"event_id": moved.id, "coefficient": "2.10"},
        ],
        "amount": "10.00",
        "accept_odds_change": "higher",
    });
    let problem =
        expect_problem(post_as(&app, "alice", &lowered).await, StatusCode::CONFLICT).await;
    assert_eq!(problem["current_coefficient"], "1.85", "{problem}");
    nothing_written(&app, 0, "1000.00", "a leg moved down").await;
    // Accepting higher odds takes the moved leg at 2.20.
    let higher = json!({
        "legs": [
            {"event_id": open.id, "coefficient": "1.85"},
            {"event_id": moved.id, "coefficient": "2.10"},
        ],
        "amount": "10.00",
        "accept_odds_change": "higher",
    });
    let bet = expect_json(post_as(&app, "alice", &higher).await, StatusCode::CREATED).await;
    assert_eq!(bet["coefficient"], "4.07", "1.85 × 2.20: {bet}");
    assert_eq!(bet["legs"][1]["coefficient"], "2.20", "{bet}");
    assert_eq!(balance(&app, "alice").await, "990.00");
}

// ------------------------------------------------------------ settlement

#[tokio::test]
async fn a_lost_leg_loses_the_accumulator_at_once_and_the_later_legs_still_show_their_status() {
    let app = TestApp::spawn().await;
    let first = app.open_event("2.00").await;
    let second = app.open_event("3.00").await;
    let third = app.open_event("1.50").await;
    let bet = accumulator(&app, &[&first, &second, &third], "10.00").await;
    assert_eq!(balance(&app, "alice").await, "990.00");

    decide(&app, &first, LineEventStatus::FinishedLose).await;

    let lost = bet_of(&app, "alice", &bet).await;
    assert_eq!(outcome(&lost), ("LOST".into(), "0.00".into()), "{lost}");
    assert_eq!(leg_statuses(&lost), ["LOST", "PENDING", "PENDING"]);
    assert!(lost["settled_at"].is_string(), "settled at once: {lost}");
    assert!(
        lost.get("settled_coefficient").is_none(),
        "no price while legs are open: {lost}"
    );
    // It no longer counts on its open legs' events.
    assert_eq!(counted(&exposure(&app, &second).await).0, 0);

    decide(&app, &second, LineEventStatus::FinishedWin).await;
    let later = bet_of(&app, "alice", &bet).await;
    assert_eq!(outcome(&later), ("LOST".into(), "0.00".into()), "{later}");
    assert_eq!(leg_statuses(&later), ["LOST", "WON", "PENDING"]);
    assert_eq!(later["legs"][1]["settled_coefficient"], "3.00", "{later}");

    decide(&app, &third, LineEventStatus::Cancelled).await;
    let last = bet_of(&app, "alice", &bet).await;
    assert_eq!(outcome(&last), ("LOST".into(), "0.00".into()), "{last}");
    assert_eq!(leg_statuses(&last), ["LOST", "WON", "VOID"]);
    assert_eq!(last["legs"][2]["void_reason"], "cancelled", "{last}");
    assert_eq!(
        last["settled_coefficient"], "6.00",
        "every leg decided: 2.00 × 3.00, the void leg 1.00: {last}"
    );
    assert_eq!(
        last["settled_at"], lost["settled_at"],
        "the outcome did not change, nor when it was settled"
    );
    assert_eq!(balance(&app, "alice").await, "990.00");
    for line in ["PAYOUT", "REFUND", "CORRECTION"] {
        assert_eq!(lines_of(&app, &bet, line).await, 0, "no {line} line");
    }
    assert_books_balance(&app.db).await;
    assert_eq!(app.dead_letter_depth().await, 0);
}

#[tokio::test]
async fn cancelled_legs_count_one_and_every_leg_cancelled_is_void_with_the_stake_back() {
    let app = TestApp::spawn().await;
    let (a, b, c) = (
        app.open_event("1.85").await,
        app.open_event("2.10").await,
        app.open_event("3.00").await,
    );
    let won = accumulator(&app, &[&a, &b, &c], "10.00").await;
    let (d, e) = (app.open_event("4.00").await, app.open_event("5.00").await);
    let void = accumulator_as(&app, "bob", &[&d, &e], "25.00").await;

    decide(&app, &a, LineEventStatus::FinishedWin).await;
    decide(&app, &b, LineEventStatus::Cancelled).await;
    let pending = bet_of(&app, "alice", &won).await;
    assert_eq!(outcome(&pending), ("PENDING".into(), String::new()));
    assert_eq!(leg_statuses(&pending), ["WON", "VOID", "PENDING"]);
    // What it would pay now: 10.00 × 1.85 × 1.00 × 3.00.
    assert_eq!(counted(&exposure(&app, &c).await).2, "55.50");
    decide(&app, &c, LineEventStatus::FinishedWin).await;

    let paid = bet_of(&app, "alice", &won).await;
    assert_eq!(outcome(&paid), ("WON".into(), "55.50".into()), "{paid}");
    assert_eq!(leg_statuses(&paid), ["WON", "VOID", "WON"]);
    assert_eq!(paid["settled_coefficient"], "5.55", "{paid}");
    assert_eq!(paid["legs"][1]["void_reason"], "cancelled", "{paid}");
    assert_eq!(balance(&app, "alice").await, "1045.50");

    decide(&app, &d, LineEventStatus::Cancelled).await;
    assert_eq!(
        outcome(&bet_of(&app, "bob", &void).await),
        ("PENDING".into(), String::new())
    );
    decide(&app, &e, LineEventStatus::Cancelled).await;
    let refunded = bet_of(&app, "bob", &void).await;
    assert_eq!(
        outcome(&refunded),
        ("VOID".into(), "25.00".into()),
        "the stake back: {refunded}"
    );
    assert_eq!(refunded["void_reason"], "cancelled", "{refunded}");
    assert_eq!(leg_statuses(&refunded), ["VOID", "VOID"]);
    assert_eq!(balance(&app, "bob").await, "1000.00");
    assert_eq!(lines_of(&app, &void, "REFUND").await, 1);
    assert_eq!(stakes_held(&app).await, Decimal::ZERO);
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn results_arriving_in_either_order_pay_the_same() {
    let app = TestApp::spawn().await;
    let coefficients = ["1.85", "2.10", "1.33"];
    let mut payouts = Vec::new();
    // Alice's legs are decided first to last, Bob's last to first, Carol's
    // middle first: each on events of their own, at the same odds.
    for (bettor, order) in [
        ("alice", [0, 1, 2]),
        ("bob", [2, 1, 0]),
        ("carol", [1, 2, 0]),
    ] {
        let mut events = Vec::new();
        for coefficient in coefficients {
            events.push(app.open_event(coefficient).await);
        }
        let on: Vec<&LineEvent> = events.iter().collect();
        let bet = accumulator_as(&app, bettor, &on, "10.50").await;
        for (step, leg) in order.into_iter().enumerate() {
            decide(&app, &events[leg], LineEventStatus::FinishedWin).await;
            let now = bet_of(&app, bettor, &bet).await;
            let expected = if step < 2 { "PENDING" } else { "WON" };
            assert_eq!(now["status"], expected, "{bettor} after {step}: {now}");
        }
        let paid = bet_of(&app, bettor, &bet).await;
        payouts.push((paid["payout"].clone(), paid["settled_coefficient"].clone()));
    }
    // 10.50 × 1.85 × 2.10 × 1.33 = 54.254025: 54.25, whatever the order.
    let expected = (json!("54.25"), json!("5.16705"));
    assert_eq!(payouts, vec![expected.clone(), expected.clone(), expected]);
    for bettor in ["alice", "bob", "carol"] {
        assert_eq!(balance(&app, bettor).await, "1043.75", "{bettor}");
    }
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn a_correction_resettles_an_accumulator_once_and_a_corrected_loss_reopens_it() {
    let mut app = TestApp::spawn().await;
    let first = app.open_event("2.00").await;
    let second = app.open_event("3.00").await;
    let bet = accumulator(&app, &[&first, &second], "10.00").await;

    let first = decide(&app, &first, LineEventStatus::FinishedLose).await;
    assert_eq!(
        outcome(&bet_of(&app, "alice", &bet).await),
        ("LOST".into(), "0.00".into())
    );
    assert_eq!(
        stakes_held(&app).await,
        Decimal::ZERO,
        "the house took the stake"
    );

    // The loss was wrong while the second leg is open: the bet is PENDING
    // again, its stake back in the stakes held, counted on the open leg.
    correct(&app, &first, LineEventStatus::FinishedWin).await;
    let reopened = bet_of(&app, "alice", &bet).await;
    assert_eq!(
        outcome(&reopened),
        ("PENDING".into(), String::new()),
        "{reopened}"
    );
    assert_eq!(leg_statuses(&reopened), ["WON", "PENDING"]);
    assert!(reopened.get("settled_at").is_none(), "{reopened}");
    assert_eq!(stakes_held(&app).await, Decimal::new(1000, 2));
    assert_eq!(
        counted(&exposure(&app, &second).await),
        (1, "10.00".into(), "60.00".into(), "50.00".into())
    );
    assert_eq!(
        balance(&app, "alice").await,
        "990.00",
        "a loss paid nothing to take back"
    );
    assert_eq!(lines_of(&app, &bet, "CORRECTION").await, 0);

    // It settles when the last leg comes.
    let second = decide(&app, &second, LineEventStatus::FinishedWin).await;
    assert_eq!(
        outcome(&bet_of(&app, "alice", &bet).await),
        ("WON".into(), "60.00".into())
    );
    assert_eq!(balance(&app, "alice").await, "1050.00");
    assert_eq!(lines_of(&app, &bet, "PAYOUT").await, 1);
    assert_eq!(stakes_held(&app).await, Decimal::ZERO);

    // Every leg decided: a correction of one re-settles by CORRECTION
    // lines, once each, however often the broker brings it.
    let second = correct(&app, &second, LineEventStatus::FinishedLose).await;
    assert_eq!(
        outcome(&bet_of(&app, "alice", &bet).await),
        ("LOST".into(), "0.00".into())
    );
    assert_eq!(balance(&app, "alice").await, "990.00");
    correct(&app, &second, LineEventStatus::Cancelled).await;
    let last = bet_of(&app, "alice", &bet).await;
    assert_eq!(outcome(&last), ("WON".into(), "20.00".into()), "{last}");
    assert_eq!(leg_statuses(&last), ["WON", "VOID"]);
    assert_eq!(balance(&app, "alice").await, "1010.00");
    assert_eq!(lines_of(&app, &bet, "PAYOUT").await, 1);
    assert_eq!(
        lines_of(&app, &bet, "CORRECTION").await,
        2,
        "-60.00, then +20.00"
    );
    let corrections = app
        .count(&format!(
            "SELECT count(*) FROM ledger_entries WHERE bet_id = '{}' AND line = 'CORRECTION'
             AND amount IN (-60.00, 20.00)",
            id_of(&bet)
        ))
        .await;
    assert_eq!(corrections, 2);
    assert_eq!(stakes_held(&app).await, Decimal::ZERO);
    assert_books_balance(&app.db).await;
    assert_eq!(app.dead_letter_depth().await, 0);
    app.stop().await;
}

// ------------------------------------------------- streams and the money

#[tokio::test]
async fn the_bet_stream_shows_the_legs_of_an_accumulator_changing() {
    let app = TestApp::spawn_unfunded().await;
    app.deposit_as("alice", "100.00").await;
    let first = app.open_event("2.00").await;
    let second = app.open_event("1.50").await;
    let mut stream = EventStream::expect(
        reqwest::Client::new()
            .get(app.url("/bets/stream"))
            .bearer_auth(token_for("alice")),
    )
    .await;

    let bet = accumulator(&app, &[&first, &second], "10.00").await;
    decide(&app, &first, LineEventStatus::FinishedWin).await;
    decide(&app, &second, LineEventStatus::FinishedWin).await;

    let mut seen: Vec<(String, Vec<String>)> = Vec::new();
    let mut balances = Vec::new();
    while seen.last().map(|(status, _)| status.as_str()) != Some("WON")
        || balances.last().map(String::as_str) != Some("120.00")
    {
        let message = stream
            .next_within(PATIENCE, "the accumulator's changes")
            .await;
        let data = message.json();
        match message.event.as_str() {
            "bet" => {
                assert_eq!(data["id"], bet["id"], "{data}");
                seen.push((
                    data["status"].as_str().unwrap_or_default().to_owned(),
                    leg_statuses(&data),
                ));
            }
            "wallet" => balances.push(data["balance"].as_str().unwrap_or_default().to_owned()),
            other => panic!("an unexpected `{other}` message: {data}"),
        }
        assert!(seen.len() + balances.len() <= 8, "{seen:?} {balances:?}");
    }
    let expected: Vec<(String, Vec<String>)> = [
        ("PENDING", ["PENDING", "PENDING"]),
        ("PENDING", ["WON", "PENDING"]),
        ("WON", ["WON", "WON"]),
    ]
    .into_iter()
    .map(|(status, legs)| (status.to_owned(), legs.map(str::to_owned).to_vec()))
    .collect();
    assert_eq!(seen, expected);
    assert!(
        balances.ends_with(&["90.00".to_owned(), "120.00".to_owned()]),
        "the stake, then the payout: {balances:?}"
    );
}

#[tokio::test]
async fn the_statement_names_the_accumulator_on_its_stake_and_its_payout() {
    let app = TestApp::spawn().await;
    let first = app.open_event("2.00").await;
    let second = app.open_event("2.50").await;
    let bet = accumulator(&app, &[&first, &second], "10.00").await;
    decide(&app, &first, LineEventStatus::FinishedWin).await;
    decide(&app, &second, LineEventStatus::FinishedWin).await;

    let statement = app.get_json("/wallet/transactions").await;

    let items = statement["items"].as_array().cloned().unwrap_or_default();
    let lines: Vec<(&str, &str, &str, &Value)> = items
        .iter()
        .take(2)
        .map(|line| {
            (
                line["kind"].as_str().unwrap_or_default(),
                line["amount"].as_str().unwrap_or_default(),
                line["balance_after"].as_str().unwrap_or_default(),
                &line["bet_id"],
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("PAYOUT", "50.00", "1040.00", &bet["id"]),
            ("STAKE", "-10.00", "990.00", &bet["id"]),
        ],
        "{statement}"
    );
}

// ------------------------------------------------------------------ risk

#[tokio::test]
async fn an_accumulator_counts_on_every_legs_exposure_until_its_legs_are_decided() {
    let app = TestApp::spawn().await;
    let a = app.open_event("1.85").await;
    let b = app.open_event("2.10").await;
    let c = app.open_event("3.00").await;
    app.place_bet(a.id, "10.00").await;
    accumulator(&app, &[&a, &b], "10.00").await;
    accumulator_as(&app, "bob", &[&a, &b, &c], "1.00").await;

    // a: the single (18.50), the double (38.85), the treble
    // (1.00 × 11.655 = 11.66).
    assert_eq!(
        counted(&exposure(&app, &a).await),
        (3, "21.00".into(), "69.01".into(), "48.01".into())
    );
    assert_eq!(
        counted(&exposure(&app, &b).await),
        (2, "11.00".into(), "50.51".into(), "39.51".into())
    );
    assert_eq!(
        counted(&exposure(&app, &c).await),
        (1, "1.00".into(), "11.66".into(), "10.66".into())
    );

    // a is cancelled: its leg counts 1.00 on the others.
    decide(&app, &a, LineEventStatus::Cancelled).await;
    assert_eq!(counted(&exposure(&app, &a).await).0, 0);
    assert_eq!(
        counted(&exposure(&app, &b).await),
        (2, "11.00".into(), "27.30".into(), "16.30".into()),
        "10.00 × 2.10 + 1.00 × 6.30"
    );
    // b loses: the double and the treble are lost; c counts nothing.
    decide(&app, &b, LineEventStatus::FinishedLose).await;
    assert_eq!(
        counted(&exposure(&app, &c).await),
        (0, "0.00".into(), "0.00".into(), "0.00".into())
    );

    // A trader's maximum on one leg's event refuses an accumulator whose
    // net win would pass it, naming the largest stake that fits.
    let d = app.open_event("2.00").await;
    let e = app.open_event("2.50").await;
    let path = format!("/admin/events/{}/limits", e.id);
    let limited = app
        .anonymous(Method::PUT, &path)
        .bearer_auth(staff_token("tess", "trader"))
        .json(&json!({ "max_liability": "40.00", "reason": "thin market" }))
        .send()
        .await
        .unwrap_or_else(|err| panic!("PUT {path}: {err}"));
    expect_json(limited, StatusCode::OK).await;
    // 10.00 × 5.00 = 50.00 pays 40.00 net: fits exactly; a cent more does not.
    let refused = expect_problem(
        post_as(&app, "alice", &slip(&[&d, &e], "10.01")).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(
        refused["type"], "urn:betting:problem:liability-limit",
        "{refused}"
    );
    assert_eq!(refused["max_stake"], "10.00", "{refused}");
    accumulator(&app, &[&d, &e], "10.00").await;
    assert_eq!(counted(&exposure(&app, &e).await).3, "40.00");
    assert_eq!(
        counted(&exposure(&app, &d).await).3,
        "40.00",
        "the other leg's event counts it too"
    );
    assert_books_balance(&app.db).await;
}

#[tokio::test]
async fn the_payout_cap_refuses_an_accumulator_that_would_pay_more() {
    let app = TestApp::spawn_with(|config| {
        config.max_payout = Decimal::new(10_000, 2);
    })
    .await;
    let a = app.open_event("1.85").await;
    let b = app.open_event("2.10").await;

    // 25.75 × 3.885 = 100.04 > 100.00.
    let problem = expect_problem(
        post_as(&app, "alice", &slip(&[&a, &b], "25.75")).await,
        StatusCode::CONFLICT,
    )
    .await;

    assert_eq!(
        problem["type"], "urn:betting:problem:payout-limit",
        "{problem}"
    );
    let price = Price::of([a.coefficient, b.coefficient]);
    let room = StakeRoom {
        balance: Decimal::new(100_000, 2),
        house_max_stake: Decimal::new(100_000_000, 2),
        limits: RiskLimits {
            bettor_max_stake: None,
            max_payout: Decimal::new(10_000, 2),
            liability: Decimal::ZERO,
            max_liability: Decimal::new(100_000_000, 2),
        },
    };
    let largest = max_stake(&price, &room);
    assert_eq!(
        largest.to_string(),
        "25.74",
        "25.74 × 3.885 = 99.9999 → 100.00"
    );
    assert_eq!(problem["max_stake"], "25.74", "{problem}");
    nothing_written(&app, 0, "1000.00", "over the payout cap").await;
    let placed = accumulator(&app, &[&a, &b], "25.74").await;
    let amount = BetSum::new(Decimal::new(2574, 2), Decimal::new(100_000_000, 2))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(price.payout(amount).to_string(), "100.00");
    assert_eq!(counted(&exposure(&app, &a).await).2, "100.00", "{placed}");
}

// -------------------------------------------------------------- swagger

#[tokio::test]
async fn the_swagger_examples_of_a_bet_slip_are_slips_the_api_takes() {
    let app = TestApp::spawn().await;
    let document = app.get_json("/openapi.json").await;
    let examples = &document["paths"]["/bets"]["post"]["requestBody"]["content"]["application/json"]
        ["examples"];
    let single = examples["Single"]["value"].clone();
    let double = examples["Accumulator"]["value"].clone();
    assert!(single.is_object(), "no Single example: {examples}");
    assert!(double.is_object(), "no Accumulator example: {examples}");

    // The examples' events exist nowhere: replaced by real ones at the
    // examples' own odds, each example is taken as it stands.
    let first = app.open_event("1.85").await;
    let second = app.open_event("2.10").await;
    let mut single = single;
    single["event_id"] = json!(first.id);
    let placed = expect_json(post_as(&app, "alice", &single).await, StatusCode::CREATED).await;
    assert_eq!(placed["event_id"], json!(first.id), "{placed}");
    assert_eq!(placed["amount"], single["amount"], "{placed}");

    let mut double = double;
    assert_eq!(
        double["legs"].as_array().map(Vec::len),
        Some(2),
        "the Accumulator example's legs: {double}"
    );
    double["legs"][0]["event_id"] = json!(first.id);
    double["legs"][1]["event_id"] = json!(second.id);
    let placed = expect_json(post_as(&app, "alice", &double).await, StatusCode::CREATED).await;
    assert_eq!(placed["coefficient"], "3.885", "{placed}");
    assert_eq!(placed["amount"], double["amount"], "{placed}");
    assert_eq!(leg_statuses(&placed), ["PENDING", "PENDING"]);
}

// --------------------------------------------------------- concurrency

/// Backends of the app's database waiting for a lock while running a
/// statement that starts with `head`.
async fn waiting_on_a_lock(app: &TestApp, head: &str) -> i64 {
    let head: String = head
        .chars()
        .take(60)
        .collect::<String>()
        .replace('\'', "''");
    app.count(&format!(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()
           AND wait_event_type = 'Lock' AND left(query, 60) = '{head}'"
    ))
    .await
}

/// A settlement moves the exposure of its accumulators' other events
/// while it credits wallets; a bet placed at that moment locks an
/// exposure, then its bettor's wallet. Whatever the interleaving, neither
/// may fail for the other: here the settlement is made to wait on the
/// wallet of a bettor it pays, while that bettor places a bet on the
/// accumulator's other event; both must go through (no deadlock, no 500).
#[tokio::test]
async fn a_bet_placed_while_a_settlement_moves_its_exposure_goes_through_and_so_does_the_settlement()
 {
    use bet_maker::infrastructure::persistence::{PLACE_BETS, SETTLE_BETS};
    let app = TestApp::spawn().await;
    let a = app.open_event("2.00").await;
    let b = app.open_event("3.00").await;
    let double = accumulator_as(&app, "carol", &[&a, &b], "10.00").await;
    let single = expect_json(app.place_bet(a.id, "10.00").await, StatusCode::CREATED).await;

    // Hold alice's wallet: the cancellation of a refunds her single (and
    // moves the double's potential payout on b, from 60.00 to 30.00), and
    // its settlement waits.
    let db = &app.db.connection;
    let blocker = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    blocker
        .execute_unprepared("SELECT 1 FROM wallets WHERE bettor_id = 'alice' FOR UPDATE")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let cancelled = next(&a, LineEventStatus::Cancelled);
    app.publish(&message_for(LineEventKind::Cancelled, &cancelled))
        .await;
    eventually(
        "the settlement to wait on alice's wallet",
        PATIENCE,
        || async { (waiting_on_a_lock(&app, SETTLE_BETS).await == 1).then_some(()) },
    )
    .await;
    // alice bets on b meanwhile: her bet waits too.
    let url = app.url("/bets");
    let on_b = b.id;
    let placing = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .bearer_auth(token_for("alice"))
            .json(&json!({ "event_id": on_b, "amount": "5.00" }))
            .send()
            .await
    });
    eventually("alice's bet to wait", PATIENCE, || async {
        (waiting_on_a_lock(&app, PLACE_BETS).await == 1).then_some(())
    })
    .await;
    blocker.rollback().await.unwrap_or_else(|e| panic!("{e}"));

    let response = placing
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("POST /bets went unanswered: {e}"));
    let placed = expect_json(response, StatusCode::CREATED).await;
    app.until_version(a.id, cancelled.version).await;
    assert_eq!(
        outcome(&bet_of(&app, "alice", &single).await),
        ("VOID".into(), "10.00".into())
    );
    let double = bet_of(&app, "carol", &double).await;
    assert_eq!(leg_statuses(&double), ["VOID", "PENDING"], "{double}");
    assert_eq!(
        counted(&exposure(&app, &b).await),
        (2, "15.00".into(), "45.00".into(), "30.00".into()),
        "the double (30.00 now) and alice's new single (15.00): {placed}"
    );
    assert_eq!(balance(&app, "alice").await, "995.00");
    assert_books_balance(&app.db).await;
    assert_eq!(app.dead_letter_depth().await, 0);
}
