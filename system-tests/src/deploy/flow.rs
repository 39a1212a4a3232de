//! The flow a user runs, through the load balancer: the operator creates
//! events, bettors fund wallets and bet (on both bet-maker replicas), one
//! replica of each service is stopped in the middle of it, the operator
//! finishes and cancels the events; then every bet must be settled, every
//! wallet right to the cent, and the broker, Prometheus and the dashboard
//! must show it.

use std::cell::Cell;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{SecondsFormat, Utc};
use reqwest::{Client, Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

use super::betting::{Bettor, Outcome, check_bettor, place_round, place_until_stopped};
use super::http::{Api, text};
use super::{Stack, broker, eventually, passed, prometheus};

/// The events of a run: their coefficient, what the operator changes it to
/// while bets come in, and how each ends.
const PLAN: [(&str, &str, Outcome); 6] = [
    ("1.85", "1.95", Outcome::Win),
    ("2.10", "2.05", Outcome::Lose),
    ("3.35", "3.40", Outcome::Cancel),
    ("1.57", "1.61", Outcome::Win),
    ("2.75", "2.70", Outcome::Lose),
    ("4.05", "4.15", Outcome::Win),
];

/// bet-maker replicas in the deployment (bet-maker-1, bet-maker-2).
const BET_MAKER_REPLICAS: usize = 2;

/// What each bettor pays in first.
const DEPOSIT: &str = "5000.00";

/// One created event.
#[derive(Debug, Clone)]
pub struct Event {
    /// Its id.
    pub id: String,
    /// How it ends.
    pub outcome: Outcome,
}

/// Creates an open event (its deadline six hours away) as the operator;
/// its id.
pub(super) async fn create_event(operator: &Api, coefficient: &str) -> anyhow::Result<String> {
    let deadline =
        (Utc::now() + chrono::Duration::hours(6)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let created = operator
        .expect(
            Method::POST,
            "/events",
            Some(&json!({"coefficient": coefficient, "deadline": deadline})),
            None,
            &[StatusCode::CREATED],
        )
        .await?;
    Ok(text(&created, "id")?.to_owned())
}

/// Waits until bet-maker's list offers every one of `ids` four reads in
/// a row: the load balancer's round robin takes the reads to both
/// replicas' copies.
pub(super) async fn wait_until_offered(
    public: &Api,
    ids: &HashSet<String>,
    what: &str,
) -> anyhow::Result<()> {
    let in_a_row = Cell::new(0);
    eventually(what, || async {
        let offered: HashSet<String> = public
            .all("/events")
            .await?
            .iter()
            .filter_map(|event| event["id"].as_str().map(str::to_owned))
            .collect();
        let missing = ids.difference(&offered).count();
        in_a_row.set(if missing == 0 { in_a_row.get() + 1 } else { 0 });
        Ok(if in_a_row.get() >= 4 {
            Ok(())
        } else {
            Err(format!("{missing} not offered"))
        })
    })
    .await
}

/// The whole check; fails at the first thing that is not as it must be.
pub async fn run_flow(stack: &Stack) -> anyhow::Result<()> {
    let client = Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .context("building the HTTP client")?;
    let operator = Api::new(&client, &stack.line_provider, Some(&stack.operator_token));
    let public = Api::new(&client, &stack.bet_maker, None);
    let run = Uuid::now_v7().simple().to_string();
    if stack.stop_mid_flow.is_empty() {
        bail!("DEPLOY_STOP_MID_FLOW names no replica to stop midway");
    }

    for (api, name) in [(&operator, "line-provider"), (&public, "bet-maker")] {
        eventually(
            &format!("{name} ready through the load balancer"),
            || async {
                let answer = api.call(Method::GET, "/health/ready", None, None).await?;
                Ok(if answer.status == StatusCode::OK {
                    Ok(())
                } else {
                    Err(answer.body.to_string())
                })
            },
        )
        .await?;
    }
    passed("both services ready through the load balancer");
    // The metrics are on each replica's management listener, which only
    // Prometheus reaches (targets_up below shows it scrapes them).
    for (api, name) in [(&operator, "line-provider"), (&public, "bet-maker")] {
        let answer = api.call(Method::GET, "/metrics", None, None).await?;
        if answer.status != StatusCode::NOT_FOUND {
            bail!(
                "GET /metrics on {name} through the load balancer answered {}, not 404: {}",
                answer.status,
                answer.body
            );
        }
    }
    passed("/metrics is not public: 404 on both services through the load balancer");

    broker::check_users(stack, &client).await?;
    let before = broker::Counts::read(stack, &client).await?;

    // The line, watched live through the load balancer while it is made.
    let stream = super::stream::watch(&stack.bet_maker).await?;
    let mut events = Vec::new();
    for (coefficient, _, outcome) in PLAN {
        events.push(Event {
            id: create_event(&operator, coefficient).await?,
            outcome,
        });
    }
    let ids: HashSet<String> = events.iter().map(|event| event.id.clone()).collect();
    stream.wait_for(&ids).await?;
    passed("every new event arrived live on GET /events/stream through the load balancer");

    wait_until_offered(
        &public,
        &ids,
        "bet-maker offering every new event on both replicas",
    )
    .await?;
    passed("bet-maker offers every event (heard through RabbitMQ)");

    let bettors: Vec<Bettor> = stack
        .bettors
        .iter()
        .map(|(name, token)| Bettor::new(&client, &stack.bet_maker, name, token))
        .collect();
    for bettor in &bettors {
        bettor.deposit(DEPOSIT, &format!("deposit-{run}")).await?;
    }
    passed("every bettor funded");

    let placed = Arc::new(AtomicUsize::new(0));
    let mut bets = place_round(&bettors, &events, &run, 1, 1, &placed).await?;
    passed(&format!("round 1: {} bets placed", bets.len()));
    prometheus::replicas_took_bets(stack, &client).await?;
    prometheus::targets_up(stack, &client, &[]).await?;

    // Round 2: bets keep coming while one replica of each service is
    // stopped (once 30 bets of the round are in) and the operator moves
    // the odds, and go on for 10 more per bettor once they are down.
    placed.store(0, Ordering::SeqCst);
    let stopped_flag = AtomicBool::new(false);
    let betting = place_until_stopped(&bettors, &events, &run, &placed, &stopped_flag, 10);
    let stopping = stop_mid_flow(stack, &placed, 30, &stopped_flag);
    let moving = move_odds(&operator, &events);
    let (round_bets, stopped, moved) = tokio::join!(betting, stopping, moving);
    let stopped = stopped?;
    let round_bets = round_bets?;
    let odds_changes = moved?;
    passed(&format!(
        "round 2: {} bets placed, {} replica(s) stopped midway ({} calls sent again after a gateway or connection error)",
        round_bets.len(),
        stopped.len(),
        super::http::retried()
    ));
    bets.extend(round_bets);
    prometheus::targets_up(stack, &client, &stopped).await?;

    for event in &events {
        let status = match event.outcome {
            Outcome::Win => "FINISHED_WIN",
            Outcome::Lose => "FINISHED_LOSE",
            Outcome::Cancel => "CANCELLED",
        };
        let path = format!("/events/{}/status", event.id);
        let body = json!({ "status": status });
        let finished = operator
            .expect(Method::PUT, &path, Some(&body), None, &[StatusCode::OK])
            .await?;
        if finished["status"] != status {
            bail!("PUT {path}: the event is {finished}, not {status}");
        }
    }
    passed("every event finished or cancelled");

    for bettor in &bettors {
        let theirs: Vec<_> = bets
            .iter()
            .filter(|bet| bet.bettor == bettor.name)
            .collect();
        check_bettor(bettor, &events, &theirs, DEPOSIT).await?;
    }
    passed(&format!(
        "all {} bets settled with the right payouts; every wallet exact",
        bets.len()
    ));

    let offered = public.all("/events").await?;
    if let Some(left) = offered
        .iter()
        .find(|event| event["id"].as_str().is_some_and(|id| ids.contains(id)))
    {
        bail!("bet-maker still offers a finished event: {left}");
    }
    passed("no finished event is offered any more");

    // Each event was created, moved once and finished: one message each.
    let changes = events.len() * 2 + odds_changes;
    // The queue's consumers: one per bet-maker replica still running.
    let stopped_bet_makers = stopped
        .iter()
        .filter(|name| name.starts_with("bet-maker"))
        .count();
    let consumers = BET_MAKER_REPLICAS.saturating_sub(stopped_bet_makers);
    broker::check_flow(stack, &client, &before, changes, consumers).await?;
    broker::forge_and_see_refused(stack, &client, &before).await?;
    // A stream opened now (with one bet-maker replica left) stays open
    // while the dashboard is read: its "Live streams open" panel has a
    // series from a replica that is still scraped.
    let _open_stream = super::stream::watch(&stack.bet_maker).await?;
    prometheus::dashboard_queries(stack, &client).await?;
    Ok(())
}

/// Stops the listed containers (`docker stop`: SIGTERM, then the grace)
/// once `after` bets of the round are in, then raises `done`; the names it
/// stopped.
async fn stop_mid_flow(
    stack: &Stack,
    placed: &AtomicUsize,
    after: usize,
    done: &AtomicBool,
) -> anyhow::Result<Vec<String>> {
    // Polled often: a round of bets is quick.
    while placed.load(Ordering::SeqCst) < after {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut stopped = Vec::new();
    for (name, container) in &stack.stop_mid_flow {
        println!(
            "deploy-check: stopping {name} with {} bets of round 2 in",
            placed.load(Ordering::SeqCst)
        );
        let status = tokio::process::Command::new("docker")
            .args(["stop", "-t", "30", container])
            .stdout(std::process::Stdio::null())
            .status()
            .await
            .with_context(|| format!("running docker stop {name}"))?;
        if !status.success() {
            bail!("docker stop {name} ({container}) failed: {status}");
        }
        stopped.push(name.clone());
    }
    println!(
        "deploy-check: stopped {} with {} bets of round 2 in",
        stopped.join(", "),
        placed.load(Ordering::SeqCst)
    );
    done.store(true, Ordering::SeqCst);
    Ok(stopped)
}

/// Moves every event's odds once while bets come in (bets lock the odds
/// they were placed at, which the settlement check then holds them to);
/// how many changes it made.
async fn move_odds(operator: &Api, events: &[Event]) -> anyhow::Result<usize> {
    for (event, (_, moved_to, _)) in events.iter().zip(PLAN) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let path = format!("/events/{}", event.id);
        let changed = operator
            .expect(
                Method::PATCH,
                &path,
                Some(&json!({ "coefficient": moved_to })),
                None,
                &[StatusCode::OK],
            )
            .await?;
        if changed["coefficient"] != moved_to {
            bail!("PATCH {path}: {changed}, not the coefficient {moved_to}");
        }
    }
    Ok(events.len())
}
