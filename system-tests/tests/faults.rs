//! Fault tests: both services as real processes against the real broker and
//! databases, faults injected by the test (connections cut through its own
//! proxies, processes killed), and then the books checked: nothing lost,
//! nothing twice.

use std::sync::Mutex;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use shared_kernel::testing::{AlertListener, PATIENCE, eventually};
use system_tests::cluster::{BETTORS, BetAnswer, Cluster, Settings, accumulator_slip};
use system_tests::decimal;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// What a bet is placed on: one event (a single), or several (an
/// accumulator of one leg on each, in this order).
#[derive(Debug, Clone, Copy)]
enum Slip<'a> {
    Single(Uuid),
    Accumulator(&'a [Uuid]),
}

/// Places `count` bets of 10.00 on `slip` through bet-maker replica
/// `replica` in the phase `phase`; the accepted ids. An answer other than
/// 201 fails the test with its body, unless its status is one the phase
/// `tolerates` (503 while a database is cut, 409 once the event is
/// closed); so does a request the server did not answer, and a phase with
/// fewer than `at_least` bets accepted: a phase that bet nothing proves
/// nothing.
async fn bets_in_phase(
    cluster: &Cluster,
    phase: &str,
    (replica, slip): (usize, Slip<'_>),
    count: usize,
    tolerates: &[StatusCode],
    at_least: usize,
) -> Vec<Uuid> {
    let mut accepted = Vec::new();
    for _ in 0..count {
        let answer = match slip {
            Slip::Single(event_id) => cluster.place_bet(replica, event_id, "10.00").await,
            Slip::Accumulator(events) => cluster.place_accumulator(replica, events, "10.00").await,
        }
        .unwrap_or_else(|e| panic!("{phase}: POST /bets went unanswered: {e}"));
        match answer {
            BetAnswer::Accepted(bet) => accepted.push(bet),
            BetAnswer::Refused { status, .. } if tolerates.contains(&status) => {}
            BetAnswer::Refused { status, body } => {
                panic!("{phase}: POST /bets of {slip:?} answered {status}: {body}")
            }
        }
    }
    assert!(
        accepted.len() >= at_least,
        "{phase}: only {} of {count} bets on {slip:?} accepted, expected at least {at_least}",
        accepted.len()
    );
    accepted
}

/// Places `count` bets on `event_id` through bet-maker replica 0 while
/// nothing is cut: every one must be accepted.
async fn bets(cluster: &Cluster, phase: &str, event_id: Uuid, count: usize) -> Vec<Uuid> {
    bets_in_phase(
        cluster,
        phase,
        (0, Slip::Single(event_id)),
        count,
        &[],
        count,
    )
    .await
}

/// Places `count` accumulators on `events` (one leg each) through bet-maker
/// replica `replica` while nothing is cut: every one must be accepted.
async fn accumulators(
    cluster: &Cluster,
    phase: &str,
    (replica, events): (usize, &[Uuid]),
    count: usize,
) -> Vec<Uuid> {
    let slip = Slip::Accumulator(events);
    bets_in_phase(cluster, phase, (replica, slip), count, &[], count).await
}

/// The `i`-th final status of a series, cycling through both results and
/// the cancellation, so the books see won, lost and void bets (and, one
/// after the other, every correction between them: see the test with two
/// replicas of each service).
fn final_status(i: usize) -> &'static str {
    ["FINISHED_WIN", "FINISHED_LOSE", "CANCELLED"][i % 3]
}

async fn new_event(cluster: &Cluster, coefficient: &str) -> Uuid {
    cluster
        .create_event(0, coefficient)
        .await
        .unwrap_or_else(|| panic!("line-provider refused to create an event"))
}

/// The provider delivers `notice` again (the same bytes, signed anew), as
/// it does when it did not hear bet-maker's answer: 200 `duplicate`, and
/// `bettor`'s balance as it was.
async fn redelivery_changes_nothing(cluster: &Cluster, bettor: &str, notice: &str) {
    let before = cluster.balance_of(0, bettor).await;
    let response = cluster
        .post_notice(0, notice)
        .await
        .unwrap_or_else(|e| panic!("redelivering the notice: {e}"));
    let ack = system_tests::expect_json(response, StatusCode::OK).await;
    assert_eq!(ack["result"], "duplicate", "the notice again: {ack}");
    assert_eq!(
        cluster.balance_of(0, bettor).await,
        before,
        "{bettor}'s balance after the notice came again"
    );
}

/// Both services alert when the broker or the database has been away for a
/// second (30 by default).
fn alert_after_a_second(_: &str, _: &str) -> Settings {
    let after = vec![("ALERT_AFTER_SECS".to_owned(), "1".to_owned())];
    Settings {
        line_provider: after.clone(),
        bet_maker: after,
    }
}

/// Waits for one alert of `kind` from each service; fails naming what is
/// missing.
async fn expect_an_alert_from_each_service(alerts: &mut AlertListener, kind: &str) {
    let mut services = Vec::new();
    while services.len() < 2 {
        let alert = alerts
            .wait_for(kind, PATIENCE)
            .await
            .unwrap_or_else(|| panic!("no {kind} alert from each service; from {services:?} only"));
        assert!(
            alert["details"]["down_for_secs"].as_u64() >= Some(1),
            "{alert}"
        );
        assert!(alert["details"]["reason"].is_string(), "{alert}");
        let service = alert["service"].as_str().unwrap_or_default().to_owned();
        if !services.contains(&service) {
            services.push(service);
        }
    }
    services.sort();
    assert_eq!(services, ["bet-maker", "line-provider"]);
}

#[tokio::test]
async fn cutting_the_broker_connections_mid_stream_loses_nothing() {
    let cluster = Cluster::start_with(1, 1, alert_after_a_second).await;
    let mut alerts = cluster.alerts().await;
    let mut accepted = Vec::new();
    // The event line-provider created while the broker was cut, left open:
    // the third leg of the next round's trebles.
    let mut spare: Option<Uuid> = None;
    for round in 0..3 {
        let event = new_event(&cluster, "1.85").await;
        let partner = new_event(&cluster, "2.40").await;
        cluster.wait_until_known(event).await;
        cluster.wait_until_known(partner).await;
        accepted.extend(bets(&cluster, "before the broker cut", event, 10).await);
        let double = [event, partner];
        accepted.extend(accumulators(&cluster, "doubles before the cut", (0, &double), 3).await);
        if let Some(spare) = spare {
            cluster.wait_until_known(spare).await;
            let treble = [partner, spare, event];
            accepted
                .extend(accumulators(&cluster, "trebles before the cut", (0, &treble), 2).await);
        }

        cluster.line_providers[0].amqp.cut();
        cluster.bet_makers[0].amqp.cut();
        cluster
            .wait_for_readiness_of_all(StatusCode::SERVICE_UNAVAILABLE)
            .await;

        // Cut off from the broker, both services still do what needs only
        // their database: line-provider commits changes (to its outbox),
        // bet-maker takes bets (on what it knows).
        spare = Some(new_event(&cluster, "2.10").await);
        assert!(
            cluster.finish_event(0, event, final_status(round)).await,
            "finishing while the broker is cut"
        );
        // Bets need no broker: every one is accepted (late, on the event
        // finished meanwhile: void, or a void leg of the doubles).
        accepted.extend(bets(&cluster, "during the broker cut", event, 5).await);
        accepted.extend(accumulators(&cluster, "doubles during the cut", (0, &double), 2).await);
        if round == 0 {
            // Nor do payments: a deposit is confirmed by the provider's
            // notice, and the notice delivered again credits nothing.
            let deposit = cluster.deposit_as(0, "payer", "50.00").await;
            assert_eq!(cluster.balance_of(0, "payer").await, decimal("50.00"));
            redelivery_changes_nothing(&cluster, "payer", &deposit.notice).await;
            // An outage becomes an alert once it lasts the threshold.
            tokio::time::sleep(Duration::from_millis(1_500)).await;
        }

        cluster.line_providers[0].amqp.restore();
        cluster.bet_makers[0].amqp.restore();
        cluster.wait_for_readiness_of_all(StatusCode::OK).await;
        if round == 0 {
            // Raised during the cut, published once the broker is back.
            expect_an_alert_from_each_service(&mut alerts, "broker_unreachable").await;
        }
        // The doubles' other leg is decided once the broker is back.
        assert!(
            cluster
                .finish_event(0, partner, final_status(round + 1))
                .await
        );
    }
    cluster.check_the_books(&accepted).await;
    // /metrics shows the state of delivery, reconnects included.
    let line_provider = metrics(&cluster, &cluster.line_providers[0].management_url()).await;
    for name in [
        "outbox_published_total",
        "outbox_waiting",
        "outbox_oldest_waiting_seconds",
        "amqp_reconnects_total",
    ] {
        assert!(
            line_provider.contains(name),
            "line-provider /metrics lacks {name}"
        );
    }
    let bet_maker = metrics(&cluster, &cluster.bet_makers[0].management_url()).await;
    for name in [
        "consumer_messages_processed_total",
        "bets_placed_total",
        "bets_settled_total",
        "amqp_reconnects_total",
    ] {
        assert!(bet_maker.contains(name), "bet-maker /metrics lacks {name}");
    }
    cluster.stop().await;
}

/// `GET /metrics` from a replica's management listener.
async fn metrics(cluster: &Cluster, management_url: &str) -> String {
    let response = cluster
        .client
        .get(format!("{management_url}/metrics"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /metrics: {e}"));
    response.text().await.unwrap_or_default()
}

#[tokio::test]
async fn cutting_the_database_connections_loses_nothing_and_answers_503_meanwhile() {
    let cluster = Cluster::start_with(1, 1, alert_after_a_second).await;
    let mut alerts = cluster.alerts().await;
    let mut accepted = Vec::new();
    for round in 0..2 {
        let event = new_event(&cluster, "1.50").await;
        let partner = new_event(&cluster, "3.10").await;
        cluster.wait_until_known(event).await;
        cluster.wait_until_known(partner).await;
        // After a cut healed, a connection the pool still held may fail
        // once: 503 is tolerated, as long as most bets go through.
        let phase = format!("round {round} before the database cut");
        let tolerated = [StatusCode::SERVICE_UNAVAILABLE];
        let single = Slip::Single(event);
        let placed = bets_in_phase(&cluster, &phase, (0, single), 10, &tolerated, 8).await;
        accepted.extend(placed);
        let double = [partner, event];
        let placed = bets_in_phase(
            &cluster,
            &phase,
            (0, Slip::Accumulator(&double)),
            4,
            &tolerated,
            3,
        )
        .await;
        accepted.extend(placed);
        // A deposit asked for now is confirmed by a notice that arrives
        // while the database is cut (below).
        let notice = if round == 0 {
            let payment = cluster.request_deposit(0, "payer", "75.00").await;
            Some(system_tests::notice_about("deposit.succeeded", &payment))
        } else {
            None
        };

        // bet-maker loses its database: requests fail fast with a problem
        // document, and the result that arrives meanwhile waits in the queue.
        cluster.bet_makers[0].database.cut();
        cluster
            .wait_for_readiness(&cluster.bet_makers, StatusCode::SERVICE_UNAVAILABLE)
            .await;
        let refused = cluster
            .client
            .post(format!("{}/bets", cluster.bet_makers[0].base_url()))
            .bearer_auth(system_tests::token_for("alice"))
            .json(&json!({ "event_id": event, "amount": "1.00" }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /bets: {e}"));
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        if let Some(notice) = &notice {
            // The provider's notice cannot be recorded: 503, and the
            // provider delivers it again later.
            let response = cluster
                .post_notice(0, notice)
                .await
                .unwrap_or_else(|e| panic!("POST /payments/webhook: {e}"));
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        }
        assert!(cluster.finish_event(0, event, "FINISHED_WIN").await);

        // line-provider loses its database too: its writes are refused,
        // its relay pauses.
        cluster.line_providers[0].database.cut();
        cluster
            .wait_for_readiness(&cluster.line_providers, StatusCode::SERVICE_UNAVAILABLE)
            .await;
        assert_eq!(
            cluster.create_event(0, "3.00").await,
            None,
            "no event without a database"
        );
        if round == 0 {
            // The broker is up: the alerts arrive while the cut lasts.
            expect_an_alert_from_each_service(&mut alerts, "database_unreachable").await;
        }

        cluster.line_providers[0].database.restore();
        cluster.bet_makers[0].database.restore();
        cluster.wait_for_readiness_of_all(StatusCode::OK).await;
        if let Some(notice) = &notice {
            // Delivered again once the database is back (a connection the
            // pool held through the cut may fail once more): credited
            // once, and once only however often it comes.
            eventually("the notice applied after the cut", PATIENCE, || async {
                let response = cluster.post_notice(0, notice).await.ok()?;
                (response.status() == StatusCode::OK).then_some(())
            })
            .await;
            assert_eq!(cluster.balance_of(0, "payer").await, decimal("75.00"));
            redelivery_changes_nothing(&cluster, "payer", notice).await;
        }
        // The doubles' other leg: won in one round, lost in the other (a
        // connection line-provider's pool held through the cut may fail
        // once: asked again, the same result is idempotent).
        let result = ["FINISHED_WIN", "FINISHED_LOSE"][round % 2];
        eventually("the doubles' other leg decided", PATIENCE, || async {
            cluster.finish_event(0, partner, result).await.then_some(())
        })
        .await;
    }
    cluster.check_the_books(&accepted).await;
    cluster.stop().await;
}

/// Bets placed by `workers` concurrent bettors (the cluster's funded
/// [`BETTORS`], in turn) on `event_id`, every third a double with
/// `partner`, until `stop` resolves: the
/// ids of the accepted ones go to `accepted`, any other answer (status and
/// body) to `refused`. Requests the server never answered are neither: the
/// bettor did not get an answer, as when the process has gone.
async fn bet_until(
    client: &reqwest::Client,
    base_url: &str,
    (event_id, partner): (Uuid, Uuid),
    workers: usize,
    (accepted, refused): (&Mutex<Vec<Uuid>>, &Mutex<Vec<String>>),
    stop: &CancellationToken,
) {
    let bettor = |worker: usize| async move {
        let token = system_tests::token_for(&format!("bettor-{}", worker % BETTORS));
        let mut placed = 0usize;
        while !stop.is_cancelled() {
            // Every third bet a double on the event and its partner.
            placed += 1;
            let slip = if placed.is_multiple_of(3) {
                accumulator_slip(&[event_id, partner], "2.00")
            } else {
                json!({ "event_id": event_id, "amount": "2.00" })
            };
            let response = client
                .post(format!("{base_url}/bets"))
                .bearer_auth(&token)
                .json(&slip)
                .send()
                .await;
            let Ok(response) = response else { continue };
            match BetAnswer::read(response).await {
                Ok(BetAnswer::Accepted(id)) => push(accepted, id),
                Ok(BetAnswer::Refused { status, body }) => {
                    push(refused, format!("{status}: {body}"))
                }
                Err(_) => {}
            }
        }
    };
    futures_util::future::join_all((0..workers).map(bettor)).await;
}

fn push<T>(list: &Mutex<Vec<T>>, item: T) {
    if let Ok(mut list) = list.lock() {
        list.push(item);
    }
}

fn accepted_so_far(accepted: &Mutex<Vec<Uuid>>) -> usize {
    accepted.lock().map(|a| a.len()).unwrap_or_default()
}

#[tokio::test]
async fn bet_maker_killed_while_settling_a_large_event_settles_it_once_after_restart() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let mut cluster = Cluster::start(1, 1).await;
    let event = new_event(&cluster, "1.85").await;
    let partner = new_event(&cluster, "2.20").await;
    let third = new_event(&cluster, "1.40").await;
    for id in [event, partner, third] {
        cluster.wait_until_known(id).await;
    }
    let mut accepted = bets(&cluster, "before the settlement", event, 5).await;
    let doubles = [event, partner];
    accepted.extend(accumulators(&cluster, "doubles", (0, &doubles), 4).await);
    let trebles = [third, event, partner];
    accepted.extend(accumulators(&cluster, "trebles", (0, &trebles), 3).await);
    // Bets from before stakes were posted (no ledger entries), singles on
    // the event, each with its one leg, as the schema holds them.
    const MANY: i64 = 20_000;
    cluster
        .bet_maker_db
        .connection
        .execute_unprepared(&format!(
            "WITH placed AS (
                 INSERT INTO bets (id, bettor_id, amount, status, placed_at, leg_count,
                                   potential_payout)
                 SELECT gen_random_uuid(), 'bettor-' || (n % 100), 3.33, 'PENDING', now(), 1,
                        round(3.33 * 1.85, 2)
                 FROM generate_series(1, {MANY}) AS n
                 RETURNING id)
             INSERT INTO bet_legs (bet_id, leg, event_id, coefficient)
             SELECT id, 1, '{event}', 1.85 FROM placed"
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let total = MANY + accepted.len() as i64;
    let pending =
        format!("SELECT count(*) FROM bet_legs WHERE event_id = '{event}' AND status = 'PENDING'");

    // Hold one single's row: the settlement's single UPDATE settles the
    // rows it reaches first, then waits here (LOCK_ACCUMULATORS locks only
    // accumulators, so the wait is in SETTLE_BETS). Killing bet-maker now
    // kills it in the middle of settling, for certain.
    let blocker = cluster
        .bet_maker_db
        .connection
        .begin()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    blocker
        .execute_unprepared(&format!(
            "SELECT 1 FROM bets WHERE id = '{}' FOR UPDATE",
            accepted[0]
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // The settlement statement, known by its first lines (PostgreSQL
    // keeps only the first kilobyte of a query's text).
    let head: String = bet_maker::infrastructure::persistence::SETTLE_BETS
        .chars()
        .take(80)
        .collect::<String>()
        .replace('\'', "''");
    let settling = format!(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'
           AND left(query, 80) = '{head}'"
    );
    assert!(cluster.finish_event(0, event, "FINISHED_WIN").await);
    shared_kernel::testing::eventually(
        "the settlement to be under way",
        system_tests::PATIENCE,
        || async {
            let blocked = format!("{settling} AND wait_event_type = 'Lock'");
            (system_tests::count(&cluster.bet_maker_db, &blocked).await == 1).then_some(())
        },
    )
    .await;
    cluster.bet_makers[0].kill().await;
    blocker.rollback().await.unwrap_or_else(|e| panic!("{e}"));
    shared_kernel::testing::eventually(
        "the killed settlement to end",
        system_tests::PATIENCE,
        || async {
            (system_tests::count(&cluster.bet_maker_db, &settling).await == 0).then_some(())
        },
    )
    .await;

    // Settlement is one transaction: killed midway, none of it happened.
    let left = system_tests::count(&cluster.bet_maker_db, &pending).await;
    assert_eq!(left, total, "a partial settlement survived the kill");

    cluster.bet_makers[0].start().await;
    cluster.check_the_books(&accepted).await;
    assert_eq!(
        system_tests::count(&cluster.bet_maker_db, &pending).await,
        0
    );
    // The accumulators' other legs, decided after the restart.
    assert!(cluster.finish_event(0, partner, "FINISHED_WIN").await);
    assert!(cluster.finish_event(0, third, "CANCELLED").await);
    cluster.check_the_books(&accepted).await;
    let won = system_tests::count(
        &cluster.bet_maker_db,
        "SELECT count(*) FROM bets WHERE leg_count > 1 AND status = 'WON'",
    )
    .await;
    assert_eq!(
        won, 7,
        "every double and treble won (the treble's third leg void)"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn line_provider_killed_between_commit_and_publish_publishes_after_restart() {
    let mut cluster = Cluster::start(1, 1).await;
    let event = new_event(&cluster, "2.00").await;
    cluster.wait_until_known(event).await;
    let accepted = bets(&cluster, "before the broker cut", event, 10).await;

    // The relay cannot reach the broker: the changes commit and wait.
    cluster.line_providers[0].amqp.cut();
    cluster
        .wait_for_readiness(&cluster.line_providers, StatusCode::SERVICE_UNAVAILABLE)
        .await;
    assert!(cluster.finish_event(0, event, "FINISHED_LOSE").await);
    new_event(&cluster, "3.00").await;
    let waiting = "SELECT count(*) FROM outbox WHERE published_at IS NULL";
    assert_eq!(
        system_tests::count(&cluster.line_provider_db, waiting).await,
        2,
        "committed, not published"
    );

    cluster.line_providers[0].kill().await;
    cluster.line_providers[0].amqp.restore();
    cluster.line_providers[0].start().await;

    cluster.check_the_books(&accepted).await;
    cluster.stop().await;
}

#[tokio::test]
async fn two_replicas_of_each_service_publish_once_and_settle_once_and_resettle_once() {
    let mut cluster = Cluster::start(2, 2).await;
    let (channel, observed) = cluster
        .broker
        .bind_queue("observer", "event.#")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut accepted = Vec::new();
    let mut events = Vec::new();
    for i in 0..6 {
        let event = cluster
            .create_event(i % 2, "1.75")
            .await
            .unwrap_or_else(|| panic!("line-provider {} refused an event", i % 2));
        events.push(event);
    }
    // An event left open, the other leg of doubles whose first leg loses
    // and is corrected: those come back to PENDING.
    let open = cluster
        .create_event(0, "2.50")
        .await
        .unwrap_or_else(|| panic!("line-provider refused an event"));
    for event in events.iter().chain([&open]) {
        cluster.wait_until_known(*event).await;
    }
    // Accumulators through both bet-makers on neighbouring events, whose
    // legs the two bet-makers then settle at once.
    for i in 0..events.len() {
        let double = [events[i], events[(i + 1) % events.len()]];
        let phase = format!("double on events {i} and {}", (i + 1) % events.len());
        accepted.extend(accumulators(&cluster, &phase, (i % 2, &double), 1).await);
    }
    for i in 0..2 {
        let treble = [events[i], events[i + 2], events[i + 4]];
        let phase = format!("treble from event {i}");
        accepted.extend(accumulators(&cluster, &phase, (i, &treble), 1).await);
    }
    // Event 4 loses, then is corrected to a cancellation: these doubles
    // are lost, then pending again until `open` is decided (never).
    let reopened = [events[4], open];
    accepted.extend(accumulators(&cluster, "doubles to reopen", (1, &reopened), 2).await);
    // Bets through both bet-makers while results arrive through both
    // line-providers.
    for (i, event) in events.iter().enumerate() {
        for replica in [0, 1, 0, 1] {
            let phase = format!("event {i} through bet-maker {replica}");
            let single = Slip::Single(*event);
            accepted.extend(bets_in_phase(&cluster, &phase, (replica, single), 1, &[], 1).await);
        }
        assert!(cluster.finish_event(i % 2, *event, final_status(i)).await);
    }
    // Every result applied first, so that each correction corrects a
    // result bet-maker settled (the relays of two replicas need not
    // publish in commit order).
    for (i, event) in events.iter().enumerate() {
        let sql = format!(
            "SELECT count(*) FROM events WHERE id = '{event}' AND status = '{}'",
            final_status(i)
        );
        eventually(
            &format!("bet-maker to settle event {i}"),
            PATIENCE,
            || async {
                (system_tests::count(&cluster.bet_maker_db, &sql).await == 1).then_some(())
            },
        )
        .await;
    }
    // Half the results corrected, through the other line-provider: each
    // re-settled once, whichever bet-maker hears of it.
    for (i, event) in events.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
        assert!(
            cluster
                .correct_event((i + 1) % 2, *event, final_status(i + 1))
                .await
        );
    }
    cluster.check_the_books(&accepted).await;
    let reopened = system_tests::count(
        &cluster.bet_maker_db,
        &format!(
            "SELECT count(*) FROM bets b WHERE b.status = 'PENDING'
               AND EXISTS (SELECT 1 FROM bet_legs l WHERE l.bet_id = b.id
                           AND l.event_id = '{}' AND l.status = 'VOID')
               AND EXISTS (SELECT 1 FROM test_settlements s WHERE s.bet_id = b.id AND s.reopened)",
            events[4]
        ),
    )
    .await;
    assert_eq!(
        reopened, 2,
        "the doubles lost on event 4, reopened by its correction"
    );

    let published =
        system_tests::count(&cluster.line_provider_db, "SELECT count(*) FROM outbox").await;
    assert_eq!(
        i64::from(cluster.depth(&observed).await),
        published,
        "each message published once"
    );
    drop(channel);
    cluster.stop().await;
}

#[tokio::test]
async fn sigterm_under_load_exits_0_and_loses_no_accepted_request() {
    let mut cluster = Cluster::start(1, 1).await;
    let event = new_event(&cluster, "1.60").await;
    let partner = new_event(&cluster, "1.90").await;
    cluster.wait_until_known(event).await;
    cluster.wait_until_known(partner).await;

    let accepted = Mutex::new(Vec::new());
    let refused = Mutex::new(Vec::new());
    let stop = CancellationToken::new();
    let base_url = cluster.bet_makers[0].base_url();
    let client = cluster.client.clone();
    let load = bet_until(
        &client,
        &base_url,
        (event, partner),
        8,
        (&accepted, &refused),
        &stop,
    );
    let node = &mut cluster.bet_makers[0];
    let terminate = async {
        shared_kernel::testing::eventually("bets flowing", system_tests::PATIENCE, || async {
            (accepted_so_far(&accepted) >= 50).then_some(())
        })
        .await;
        let clean = node.terminate().await;
        stop.cancel();
        clean
    };
    let ((), clean) = tokio::join!(load, terminate);
    assert!(clean, "bet-maker exited with a failure status on SIGTERM");
    let refused = refused.into_inner().unwrap_or_default();
    assert!(
        refused.is_empty(),
        "bets answered with other than 201 while bet-maker stopped: {refused:?}"
    );

    // line-provider too, while operators create events.
    let created = Mutex::new(Vec::new());
    let refused = Mutex::new(Vec::new());
    let stop = CancellationToken::new();
    let base_url = cluster.line_providers[0].base_url();
    let operators = futures_util::future::join_all((0..4).map(|_| async {
        while !stop.is_cancelled() {
            let deadline = chrono::Utc::now() + chrono::Duration::hours(1);
            let response = client
                .post(format!("{base_url}/events"))
                .bearer_auth(system_tests::cluster::OPERATOR_TOKEN)
                .json(&json!({ "coefficient": "1.90", "deadline": deadline }))
                .send()
                .await;
            let Ok(response) = response else { continue };
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            let event = serde_json::from_str::<serde_json::Value>(&body).unwrap_or_default();
            match event["id"].as_str().and_then(|id| id.parse::<Uuid>().ok()) {
                Some(id) if status == StatusCode::CREATED => push(&created, id),
                _ => push(&refused, format!("{status}: {body}")),
            }
        }
    }));
    let node = &mut cluster.line_providers[0];
    let terminate = async {
        shared_kernel::testing::eventually("events flowing", system_tests::PATIENCE, || async {
            (accepted_so_far(&created) >= 20).then_some(())
        })
        .await;
        let clean = node.terminate().await;
        stop.cancel();
        clean
    };
    let (_, clean) = tokio::join!(operators, terminate);
    assert!(
        clean,
        "line-provider exited with a failure status on SIGTERM"
    );
    let refused = refused.into_inner().unwrap_or_default();
    assert!(
        refused.is_empty(),
        "events answered with other than 201 while line-provider stopped: {refused:?}"
    );
    cluster.line_providers[0].start().await;
    cluster.bet_makers[0].start().await;
    for event in created.into_inner().unwrap_or_default() {
        let sql = format!("SELECT count(*) FROM events WHERE id = '{event}'");
        assert_eq!(
            system_tests::count(&cluster.line_provider_db, &sql).await,
            1,
            "accepted event {event} lost"
        );
    }

    let accepted = accepted.into_inner().unwrap_or_default();
    assert!(accepted.len() >= 50);
    assert!(cluster.finish_event(0, event, "FINISHED_WIN").await);
    assert!(cluster.finish_event(0, partner, "FINISHED_LOSE").await);
    cluster.check_the_books(&accepted).await;
    let doubles = system_tests::count(
        &cluster.bet_maker_db,
        "SELECT count(*) FROM bets WHERE leg_count = 2 AND status = 'LOST'",
    )
    .await;
    assert!(doubles > 0, "no double among the bets under load");
    cluster.stop().await;
}
