//! The house's side of the moment between a change at line-provider and
//! bet-maker hearing of it, against the real RabbitMQ and PostgreSQL:
//! a suspended event takes no bets (and shows as suspended), a bet placed
//! after the result was decided is void, and a bet at odds already cut is
//! paid at the cut. The timing is the messages' `occurred_at`, never a
//! sleep: a message "made" before a bet tells the settlement what
//! line-provider knew at that instant.

mod support;

use bet_maker::domain::{LineEvent, LineEventStatus};
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::Value;
use shared_kernel::contracts::LineEventKind;
use shared_kernel::testing::expect_json;
use support::{TestApp, assert_books_balance, message_for};

/// Publishes `event` as a `kind` message line-provider made at `at`, and
/// waits until the copy holds it.
async fn announce(app: &TestApp, kind: LineEventKind, event: &LineEvent, at: DateTime<Utc>) {
    let mut message = message_for(kind, event);
    message.occurred_at = at;
    app.publish(&message).await;
    app.until_version(event.id, event.version).await;
}

/// The event at its next version, with `status`.
fn next(event: &LineEvent, status: LineEventStatus) -> LineEvent {
    LineEvent {
        status,
        version: event.version + 1,
        ..event.clone()
    }
}

async fn bet(app: &TestApp, id: &str) -> Value {
    app.get_json(&format!("/bets/{id}")).await
}

fn field<'a>(value: &'a Value, name: &str) -> &'a str {
    value[name].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_suspended_event_is_shown_as_such_and_takes_no_bets_until_it_resumes() {
    let mut app = TestApp::spawn().await;
    let event = app.open_event("1.85").await;
    let suspended = next(&event, LineEventStatus::Suspended);
    announce(&app, LineEventKind::Suspended, &suspended, Utc::now()).await;

    let listed = app.get_json("/events").await;
    let shown: Vec<&Value> = listed["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter(|item| item["id"] == event.id.to_string())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(shown.len(), 1, "{listed}");
    assert_eq!(shown[0]["status"], "SUSPENDED", "{listed}");
    let refused = expect_json(app.place_bet(event.id, "10.00").await, StatusCode::CONFLICT).await;
    assert_eq!(
        refused["type"], "urn:betting:problem:event-suspended",
        "{refused}"
    );
    assert_eq!(app.balance_of(support::BETTOR).await, support::FUNDS);
    assert_eq!(app.count("SELECT count(*) FROM bets").await, 0);

    let resumed = next(&suspended, LineEventStatus::New);
    announce(&app, LineEventKind::Resumed, &resumed, Utc::now()).await;
    let listed = app.get_json("/events").await;
    assert!(
        listed["items"].as_array().is_some_and(|items| items
            .iter()
            .any(|item| item["id"] == event.id.to_string() && item["status"] == "NEW")),
        "{listed}"
    );
    expect_json(app.place_bet(event.id, "10.00").await, StatusCode::CREATED).await;
    app.stop().await;
}

#[tokio::test]
async fn a_bet_placed_after_the_result_was_decided_is_void_and_one_before_it_pays() {
    let mut app = TestApp::spawn().await;
    let event = app.open_event("900.00").await;
    let early = expect_json(app.place_bet(event.id, "10.00").await, StatusCode::CREATED).await;
    // line-provider decides the result now; bet-maker has not heard yet.
    let decided_at = Utc::now();
    let late = expect_json(app.place_bet(event.id, "10.00").await, StatusCode::CREATED).await;
    let late_too = expect_json(
        app.place_bet_as("bob", event.id, "20.00").await,
        StatusCode::CREATED,
    )
    .await;

    announce(
        &app,
        LineEventKind::Finished,
        &next(&event, LineEventStatus::FinishedWin),
        decided_at,
    )
    .await;

    let early = bet(&app, field(&early, "id")).await;
    assert_eq!(early["status"], "WON", "{early}");
    assert_eq!(early["payout"], "9000.00", "{early}");
    assert_eq!(early["settled_coefficient"], "900.00", "{early}");
    assert!(early.get("void_reason").is_none(), "{early}");
    for (bettor, placed, stake) in [
        (support::BETTOR, &late, "10.00"),
        ("bob", &late_too, "20.00"),
    ] {
        let settled = app
            .get_json_as(bettor, &format!("/bets/{}", field(placed, "id")))
            .await;
        assert_eq!(settled["status"], "VOID", "{settled}");
        assert_eq!(settled["void_reason"], "late", "{settled}");
        assert_eq!(settled["payout"], stake, "{settled}");
    }
    assert_eq!(app.balance_of("bob").await, support::FUNDS);
    // 1000.00 − 10.00 − 10.00 + 9000.00 + 10.00.
    assert_eq!(app.balance_of(support::BETTOR).await, "9990.00");
    assert_books_balance(&app.db).await;
    app.stop().await;
}

#[tokio::test]
async fn a_bet_at_odds_line_provider_had_already_cut_is_paid_at_the_cut() {
    let mut app = TestApp::spawn().await;
    let event = app.open_event("900.00").await;
    let before_the_cut = Utc::now() - Duration::seconds(1);
    let fair = expect_json(app.place_bet(event.id, "10.00").await, StatusCode::CREATED).await;
    // Backdate the fair bet to before the cut: it was placed at 900.00
    // while 900.00 was on offer.
    app.count(&format!(
        "UPDATE bets SET placed_at = '{}' WHERE id = '{}' RETURNING 1::bigint",
        (before_the_cut - Duration::seconds(1)).to_rfc3339(),
        field(&fair, "id")
    ))
    .await;
    // line-provider cut the odds a second ago; bet-maker still offers
    // 900.00 and takes a bet at them.
    let stale = expect_json(app.place_bet(event.id, "10.00").await, StatusCode::CREATED).await;
    assert_eq!(stale["coefficient"], "900.00", "{stale}");
    let cut = LineEvent {
        coefficient: "1.10".parse().unwrap_or_default(),
        version: 2,
        ..event.clone()
    };
    announce(&app, LineEventKind::Updated, &cut, before_the_cut).await;
    announce(
        &app,
        LineEventKind::Finished,
        &next(&cut, LineEventStatus::FinishedWin),
        Utc::now(),
    )
    .await;

    let stale = bet(&app, field(&stale, "id")).await;
    assert_eq!(stale["status"], "WON", "{stale}");
    assert_eq!(
        stale["coefficient"], "900.00",
        "the locked odds stay shown: {stale}"
    );
    assert_eq!(stale["settled_coefficient"], "1.10", "{stale}");
    assert_eq!(stale["payout"], "11.00", "{stale}");
    let fair = bet(&app, field(&fair, "id")).await;
    assert_eq!(fair["settled_coefficient"], "900.00", "{fair}");
    assert_eq!(fair["payout"], "9000.00", "{fair}");
    assert_books_balance(&app.db).await;
    app.stop().await;
}

#[tokio::test]
async fn a_result_decided_before_every_bet_voids_them_all_whatever_the_result() {
    let mut app = TestApp::spawn().await;
    for result in [
        LineEventStatus::FinishedWin,
        LineEventStatus::FinishedLose,
        LineEventStatus::Cancelled,
    ] {
        let event = app.open_event("2.00").await;
        let decided_at = Utc::now();
        let placed = expect_json(app.place_bet(event.id, "5.00").await, StatusCode::CREATED).await;
        let kind = if result == LineEventStatus::Cancelled {
            LineEventKind::Cancelled
        } else {
            LineEventKind::Finished
        };
        announce(&app, kind, &next(&event, result), decided_at).await;
        let settled = bet(&app, field(&placed, "id")).await;
        assert_eq!(
            (
                &settled["status"],
                &settled["void_reason"],
                &settled["payout"]
            ),
            (
                &Value::from("VOID"),
                &Value::from("late"),
                &Value::from("5.00")
            ),
            "{result:?}: {settled}"
        );
    }
    assert_eq!(app.balance_of(support::BETTOR).await, support::FUNDS);
    assert_books_balance(&app.db).await;
    app.stop().await;
}
