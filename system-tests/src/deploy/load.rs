//! The throughput of `POST /bets` through the load balancer, as README's
//! "Scaling out" reports it (with one and with two bet-maker replicas):
//! the bench's closed-loop load, each worker a bettor of its own with a
//! funded wallet, on one open event.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::{Client, Method, StatusCode};
use serde_json::json;
use uuid::Uuid;

use super::Stack;
use super::betting::deposit_confirmed;
use super::flow::{create_event, wait_until_offered};
use super::http::Api;
use crate::bench::load::closed_loop_each;

/// How hard and how long.
#[derive(Debug, Clone, Copy)]
pub struct LoadSettings {
    /// Concurrent clients (each a keep-alive connection).
    pub connections: usize,
    /// Not measured.
    pub warmup: Duration,
    /// Measured.
    pub duration: Duration,
}

/// Bets a second (and latencies) of `POST /bets` through the load balancer.
pub async fn bets_throughput(stack: &Stack, settings: LoadSettings) -> anyhow::Result<String> {
    let client = Client::builder()
        .timeout(Duration::from_secs(20))
        .pool_max_idle_per_host(settings.connections)
        .build()
        .context("building the HTTP client")?;
    if stack.bettors.is_empty() {
        bail!("no bettors to bet with (DEPLOY_BETTOR_TOKENS)");
    }
    let operator = Api::new(&client, &stack.line_provider, Some(&stack.operator_token));
    let event_id = create_event(&operator, "1.50").await?;
    let public = Api::new(&client, &stack.bet_maker, None);
    wait_until_offered(
        &public,
        &HashSet::from([event_id.clone()]),
        "the load's event offered by bet-maker",
    )
    .await?;
    let run = Uuid::now_v7().simple().to_string();
    // Each wallet funded, the provider's confirmation awaited: a bet on
    // money still PENDING would be refused.
    for (name, token) in &stack.bettors {
        let bettor = Api::new(&client, &stack.bet_maker, Some(token));
        deposit_confirmed(&bettor, name, "100000.00", &format!("load-{run}"))
            .await
            .with_context(|| format!("funding {name}"))?;
    }

    let url = format!("{}/bets", stack.bet_maker.trim_end_matches('/'));
    let body = json!({"event_id": event_id, "amount": "1.00"}).to_string();
    let result = closed_loop_each(
        settings.connections,
        settings.warmup,
        settings.duration,
        |n| {
            let (client, url, body) = (client.clone(), url.clone(), body.clone());
            let token = stack.bettors[n % stack.bettors.len()].1.clone();
            move || {
                let request = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body.clone());
                async move {
                    request
                        .send()
                        .await
                        .is_ok_and(|r| r.status() == StatusCode::CREATED)
                }
            }
        },
    )
    .await;

    // Cancel it: every stake goes back, and the books stay as they were.
    let path = format!("/events/{event_id}/status");
    operator
        .expect(
            Method::PUT,
            &path,
            Some(&json!({"status": "CANCELLED"})),
            None,
            &[StatusCode::OK],
        )
        .await?;
    Ok(format!(
        "POST /bets through the load balancer: {} bets/s, p50 {:.2?}, p99 {:.2?}, {} errors ({} connections, {:?})",
        result.rate(),
        result.percentile(500),
        result.percentile(990),
        result.errors,
        settings.connections,
        settings.duration
    ))
}
