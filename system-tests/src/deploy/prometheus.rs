//! Prometheus, read through its HTTP API: every replica scraped, and every
//! query of the provisioned Grafana dashboard answered with data (Grafana
//! itself cannot run where the test runs: no image of it is at hand).

use anyhow::{Context, bail};
use reqwest::Client;
use serde_json::Value;

use super::{Stack, eventually, passed};

/// The replicas Prometheus must scrape, by their `replica` label.
const REPLICAS: [&str; 4] = [
    "line-provider-1",
    "line-provider-2",
    "bet-maker-1",
    "bet-maker-2",
];

async fn api(
    stack: &Stack,
    client: &Client,
    path: &str,
    query: &[(&str, &str)],
) -> anyhow::Result<Value> {
    let url = format!("{}/api/v1/{path}", stack.prometheus.trim_end_matches('/'));
    let answer: Value = client
        .get(&url)
        .query(query)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("GET {url} {query:?}"))?
        .json()
        .await
        .with_context(|| format!("GET {url}: not JSON"))?;
    if answer["status"] != "success" {
        bail!("GET {url} {query:?}: {answer}");
    }
    Ok(answer["data"].clone())
}

/// An instant query's result vector.
async fn query(stack: &Stack, client: &Client, expr: &str) -> anyhow::Result<Vec<Value>> {
    let data = api(stack, client, "query", &[("query", expr)]).await?;
    Ok(data["result"].as_array().cloned().unwrap_or_default())
}

/// Every replica's target is up, but those in `stopped`, which are down.
pub async fn targets_up(stack: &Stack, client: &Client, stopped: &[String]) -> anyhow::Result<()> {
    eventually(
        "Prometheus's targets up (stopped replicas down)",
        || async {
            let data = api(stack, client, "targets", &[("state", "active")]).await?;
            let targets = data["activeTargets"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut wrong = Vec::new();
            for replica in REPLICAS {
                let health = targets
                    .iter()
                    .find(|t| t["labels"]["replica"] == replica)
                    .and_then(|t| t["health"].as_str())
                    .unwrap_or("absent");
                let expected = if stopped.iter().any(|s| s == replica) {
                    "down"
                } else {
                    "up"
                };
                if health != expected {
                    wrong.push(format!("{replica} {health}, expected {expected}"));
                }
            }
            Ok(if wrong.is_empty() {
                Ok(())
            } else {
                Err(wrong.join("; "))
            })
        },
    )
    .await?;
    let note = if stopped.is_empty() {
        String::new()
    } else {
        format!(" ({} down, as stopped)", stopped.join(", "))
    };
    passed(&format!(
        "Prometheus scrapes the line-provider and bet-maker targets{note}"
    ));
    Ok(())
}

/// Both bet-maker replicas took bets (the load balancer spread them).
pub async fn replicas_took_bets(stack: &Stack, client: &Client) -> anyhow::Result<()> {
    eventually("bets placed on both bet-maker replicas", || async {
        let series = query(stack, client, "sum by (replica) (bets_placed_total)").await?;
        let took = |replica: &str| {
            series.iter().any(|s| {
                s["metric"]["replica"] == replica
                    && s["value"][1]
                        .as_str()
                        .and_then(|v| v.parse::<u64>().ok())
                        .is_some_and(|v| v > 0)
            })
        };
        Ok(if took("bet-maker-1") && took("bet-maker-2") {
            Ok(())
        } else {
            Err(format!("{series:?}"))
        })
    })
    .await?;
    passed("both bet-maker replicas placed bets (bets_placed_total by replica)");
    Ok(())
}

/// Every query of every panel of the dashboard, with Grafana's interval
/// variables given values, returns at least one series.
pub async fn dashboard_queries(stack: &Stack, client: &Client) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&stack.dashboard)
        .with_context(|| format!("reading {}", stack.dashboard))?;
    let dashboard: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", stack.dashboard))?;
    let mut queries = Vec::new();
    collect_queries(&dashboard, &mut queries);
    if queries.is_empty() {
        bail!("{}: no panel queries found", stack.dashboard);
    }
    for (panel, expr) in &queries {
        let concrete = expr
            .replace("$__rate_interval", "1m")
            .replace("$__interval", "15s")
            .replace("$__range", "1h");
        eventually(
            &format!("data for the panel \"{panel}\": {concrete}"),
            || async {
                let series = query(stack, client, &concrete).await?;
                Ok(if series.is_empty() {
                    Err("no series".to_owned())
                } else {
                    Ok(())
                })
            },
        )
        .await?;
    }
    passed(&format!(
        "every one of the dashboard's {} panel queries returns data from Prometheus",
        queries.len()
    ));
    Ok(())
}

/// (panel title, expression) of every target of every panel, rows included.
fn collect_queries(node: &Value, into: &mut Vec<(String, String)>) {
    if let Some(panels) = node["panels"].as_array() {
        for panel in panels {
            let title = panel["title"].as_str().unwrap_or("untitled").to_owned();
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    into.push((title.clone(), expr.to_owned()));
                }
            }
            collect_queries(panel, into);
        }
    }
}
