//! The check behind `make test-deploy`: the Docker deployment, tested from
//! outside as a user meets it. Every call to a service goes through the
//! load balancer; the broker and Prometheus are read through their HTTP
//! APIs. Run by `deploy/test/run.sh` (binary `deploy_check`), never by
//! `cargo test`: it needs the stack running in Docker.
//!
//! Nothing here is taken on trust or hard-coded: each check compares what
//! the stack answers with what this run did, and fails naming the
//! difference.

mod betting;
mod broker;
mod flow;
mod http;
mod load;
mod prometheus;
mod stream;

use std::time::Duration;

use anyhow::{Context, bail};

pub use flow::run_flow;
pub use load::{LoadSettings, bets_throughput};

/// How long anything that travels (a message, a scrape, a settlement) may
/// take before the check fails.
pub const PATIENCE: Duration = Duration::from_secs(90);

/// Where the stack answers, and the secrets to call it with, from the
/// environment `deploy/test/run.sh` sets.
#[derive(Debug, Clone)]
pub struct Stack {
    /// bet-maker through the load balancer.
    pub bet_maker: String,
    /// line-provider's REST API through the load balancer.
    pub line_provider: String,
    /// line-provider's operator token.
    pub operator_token: String,
    /// Bettors and their tokens (`bet-maker token <name>` in the image).
    pub bettors: Vec<(String, String)>,
    /// RabbitMQ's management API, and its administrator.
    pub rabbitmq: String,
    /// RabbitMQ administrator's user name.
    pub rabbitmq_user: String,
    /// RabbitMQ administrator's password.
    pub rabbitmq_password: String,
    /// Prometheus's HTTP API.
    pub prometheus: String,
    /// The provisioned Grafana dashboard (JSON), whose every query must
    /// return data.
    pub dashboard: String,
    /// Containers to stop (`docker stop`) in the middle of the flow: one
    /// replica of each service.
    pub stop_mid_flow: Vec<(String, String)>,
}

impl Stack {
    /// Reads the settings; names the first one missing.
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| std::env::var(name).with_context(|| format!("{name} is not set"));
        let pairs = |name: &str| -> anyhow::Result<Vec<(String, String)>> {
            var(name)?
                .split_whitespace()
                .map(|pair| match pair.split_once('=') {
                    Some((left, right)) if !left.is_empty() && !right.is_empty() => {
                        Ok((left.to_owned(), right.to_owned()))
                    }
                    _ => bail!("{name}: `{pair}` is not NAME=VALUE"),
                })
                .collect()
        };
        Ok(Self {
            bet_maker: var("DEPLOY_BET_MAKER_URL")?,
            line_provider: var("DEPLOY_LINE_PROVIDER_URL")?,
            operator_token: var("DEPLOY_OPERATOR_TOKEN")?,
            bettors: pairs("DEPLOY_BETTOR_TOKENS")?,
            rabbitmq: var("DEPLOY_RABBITMQ_URL")?,
            rabbitmq_user: var("DEPLOY_RABBITMQ_USER")?,
            rabbitmq_password: var("DEPLOY_RABBITMQ_PASSWORD")?,
            prometheus: var("DEPLOY_PROMETHEUS_URL")?,
            dashboard: var("DEPLOY_DASHBOARD")?,
            stop_mid_flow: pairs("DEPLOY_STOP_MID_FLOW").unwrap_or_default(),
        })
    }
}

/// Polls `probe` until it gives `Some`, for at most [`PATIENCE`]; the
/// error says what did not happen, with the last thing seen.
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Result<T, String>>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let last = match probe().await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(seen)) => seen,
            Err(error) => format!("{error:#}"),
        };
        if tokio::time::Instant::now() >= deadline {
            bail!("{what}: not within {PATIENCE:?}; last seen: {last}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Prints one passed check.
fn passed(what: &str) {
    println!("deploy-check: ok  {what}");
}
