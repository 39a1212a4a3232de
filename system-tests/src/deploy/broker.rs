//! RabbitMQ, read through its management API as the administrator: the
//! services' least-privilege users, and the messages that went through.

use anyhow::{Context, bail};
use reqwest::{Client, Method, RequestBuilder};
use serde_json::{Value, json};

use super::{Stack, eventually, passed};

const EXCHANGE: &str = "line-provider.events";
const QUEUE: &str = "bet-maker.line-events";
const DEAD_LETTERS: &str = "bet-maker.line-events.dlq";
/// The alerts exchange, and the queue the check binds to it.
const ALERTS: &str = "ops.alerts";
const ALERTS_QUEUE: &str = "deploy-check.alerts";

/// The permissions each service's user must have on `/`, exactly
/// (configure, write, read): scripts/broker-users.sh's, plus the alerts
/// exchange `ops.alerts` both declare and publish to.
const PERMISSIONS: [(&str, &str, &str, &str); 2] = [
    (
        "line-provider",
        r"^(line-provider\.events|ops\.alerts)$",
        r"^(line-provider\.events|ops\.alerts)$",
        r"^$",
    ),
    (
        "bet-maker",
        r"^(bet-maker\.line-events(\.dlq)?|ops\.alerts)$",
        r"^(bet-maker\.line-events|amq\.default|ops\.alerts)$",
        r"^(bet-maker\.line-events(\.dlq)?|line-provider\.events)$",
    ),
];

/// `method path` on the management API, as its administrator: its URL,
/// and the request to send.
fn management(
    stack: &Stack,
    client: &Client,
    method: Method,
    path: &str,
) -> (String, RequestBuilder) {
    let url = format!("{}/api/{path}", stack.rabbitmq.trim_end_matches('/'));
    let request = client
        .request(method, &url)
        .basic_auth(&stack.rabbitmq_user, Some(&stack.rabbitmq_password));
    (url, request)
}

async fn get(stack: &Stack, client: &Client, path: &str) -> anyhow::Result<Value> {
    let (url, request) = management(stack, client, Method::GET, path);
    request
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("GET {url}"))?
        .json()
        .await
        .with_context(|| format!("GET {url}: not JSON"))
}

/// A counter of the management API's `message_stats` (absent until the
/// first message).
fn stat(item: &Value, name: &str) -> u64 {
    item["message_stats"][name].as_u64().unwrap_or(0)
}

/// The users exist, with exactly their permissions.
pub async fn check_users(stack: &Stack, client: &Client) -> anyhow::Result<()> {
    let permissions = get(stack, client, "permissions").await?;
    let Some(permissions) = permissions.as_array() else {
        bail!("GET /api/permissions: not a list: {permissions}");
    };
    for (user, configure, write, read) in PERMISSIONS {
        let found = permissions
            .iter()
            .find(|p| p["user"] == user && p["vhost"] == "/")
            .with_context(|| format!("no permissions for the broker user {user}"))?;
        if found["configure"] != configure || found["write"] != write || found["read"] != read {
            bail!(
                "the broker user {user} has {found}, expected configure {configure}, write {write}, read {read}"
            );
        }
    }
    passed("RabbitMQ users line-provider and bet-maker exist with least-privilege permissions");
    Ok(())
}

/// Cumulative counts, to compare before and after the flow.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    published: u64,
    acked: u64,
    dead_letters: u64,
}

impl Counts {
    /// What the broker counts now.
    pub async fn read(stack: &Stack, client: &Client) -> anyhow::Result<Self> {
        let exchange = get(stack, client, &format!("exchanges/%2f/{EXCHANGE}")).await?;
        let queue = get(stack, client, &format!("queues/%2f/{QUEUE}")).await?;
        let dead = get(stack, client, &format!("queues/%2f/{DEAD_LETTERS}")).await?;
        Ok(Self {
            published: stat(&exchange, "publish_in"),
            acked: stat(&queue, "ack"),
            dead_letters: dead["messages"].as_u64().unwrap_or(0),
        })
    }
}

/// Every change went into the exchange and was delivered and acked from
/// bet-maker's queue, which is empty and consumed by the replicas still
/// running; each service is connected as its own user.
pub async fn check_flow(
    stack: &Stack,
    client: &Client,
    before: &Counts,
    changes: usize,
    consumers: usize,
) -> anyhow::Result<()> {
    let changes = changes as u64;
    eventually("the broker's statistics showing every change published, delivered and acked", || async {
        let exchange = get(stack, client, &format!("exchanges/%2f/{EXCHANGE}")).await?;
        let queue = get(stack, client, &format!("queues/%2f/{QUEUE}")).await?;
        let published = stat(&exchange, "publish_in").saturating_sub(before.published);
        let acked = stat(&queue, "ack").saturating_sub(before.acked);
        let waiting = queue["messages"].as_u64().unwrap_or(u64::MAX);
        let consuming = queue["consumers"].as_u64().unwrap_or(0);
        Ok(if published >= changes && acked >= changes && waiting == 0 && consuming == consumers as u64 {
            Ok(())
        } else {
            Err(format!(
                "{published} published and {acked} acked of {changes} changes, {waiting} waiting, {consuming} consumers (expected {consumers})"
            ))
        })
    })
    .await?;
    let connections = get(stack, client, "connections").await?;
    for (user, ..) in PERMISSIONS {
        let connected = connections
            .as_array()
            .is_some_and(|all| all.iter().any(|c| c["user"] == user));
        if !connected {
            bail!("no broker connection as {user}: {connections}");
        }
    }
    passed(&format!(
        "RabbitMQ: {changes} changes published to {EXCHANGE}, delivered and acked from {QUEUE}; services connected as their own users"
    ));
    Ok(())
}

/// A message published to the line's exchange by someone other than
/// line-provider (the administrator, unsigned) must be refused by bet-maker,
/// land in the dead-letter queue, and be alerted on `ops.alerts` (which
/// bet-maker's least-privilege user publishes to).
pub async fn forge_and_see_refused(
    stack: &Stack,
    client: &Client,
    before: &Counts,
) -> anyhow::Result<()> {
    // An operator's queue on the alerts exchange, as README shows.
    send(
        stack,
        client,
        Method::PUT,
        &format!("queues/%2f/{ALERTS_QUEUE}"),
        &json!({"durable": false}),
    )
    .await?;
    send(
        stack,
        client,
        Method::POST,
        &format!("bindings/%2f/e/{ALERTS}/q/{ALERTS_QUEUE}"),
        &json!({}),
    )
    .await?;
    let forged = json!({
        "properties": {"content_type": "application/json"},
        "routing_key": "event.created",
        "payload": r#"{"schema_version": 1, "type": "event.created", "forged": true}"#,
        "payload_encoding": "string",
    });
    let answer = send(
        stack,
        client,
        Method::POST,
        &format!("exchanges/%2f/{EXCHANGE}/publish"),
        &forged,
    )
    .await?;
    if answer["routed"] != true {
        bail!("the forged message was not routed to bet-maker's queue: {answer}");
    }
    eventually("the forged message in the dead-letter queue", || async {
        let dead = get(stack, client, &format!("queues/%2f/{DEAD_LETTERS}")).await?;
        let now = dead["messages"].as_u64().unwrap_or(0);
        Ok(if now == before.dead_letters + 1 {
            Ok(())
        } else {
            Err(format!(
                "{now} dead letters, {} before",
                before.dead_letters
            ))
        })
    })
    .await?;
    passed("a message not published by line-provider was refused into the dead-letter queue");
    let alert = eventually("the forged message's alert on ops.alerts", || async {
        let got = send(
            stack,
            client,
            Method::POST,
            &format!("queues/%2f/{ALERTS_QUEUE}/get"),
            &json!({"count": 100, "ackmode": "ack_requeue_false", "encoding": "auto"}),
        )
        .await?;
        let found = got.as_array().into_iter().flatten().find_map(|message| {
            let alert: Value = serde_json::from_str(message["payload"].as_str()?).ok()?;
            (alert["kind"] == "forged_message").then_some(alert)
        });
        Ok(found.ok_or_else(|| format!("no forged_message alert yet: {got}")))
    })
    .await?;
    let _ = client
        .delete(format!(
            "{}/api/queues/%2f/{ALERTS_QUEUE}",
            stack.rabbitmq.trim_end_matches('/')
        ))
        .basic_auth(&stack.rabbitmq_user, Some(&stack.rabbitmq_password))
        .send()
        .await;
    if alert["service"] != "bet-maker" || alert["details"]["reason"].as_str().is_none() {
        bail!("the alert does not say who raised it and why: {alert}");
    }
    passed(&format!(
        "bet-maker alerted it on {ALERTS} ({} from {})",
        alert["details"]["reason"], alert["instance"]
    ));
    Ok(())
}

/// `method path` on the management API with a JSON body; its JSON answer
/// (null when it has none).
async fn send(
    stack: &Stack,
    client: &Client,
    method: Method,
    path: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    let (url, request) = management(stack, client, method.clone(), path);
    let response = request
        .json(body)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("{method} {url}"))?;
    let text = response.text().await?;
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}
