//! Calls through the load balancer that survive a replica going away.
//!
//! A replica stopped mid-request can cost that request (the load balancer answers 502
//! when the connection it had sent the request on breaks; a refused
//! connection is retried on the other replica by the load balancer itself). So every
//! write here carries an `Idempotency-Key` or is idempotent by nature (a
//! PATCH to given values, a PUT of a status), and is retried on 502, 503
//! and 504 and on transport errors: the retry is answered as the first
//! request was, never done twice. Whether that holds is what the flow then
//! checks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde_json::Value;

/// Attempts of one call before the check gives up on it.
const ATTEMPTS: u32 = 20;

/// Calls sent again after a gateway error or a failed connection, over the
/// whole run: what a replica's stop cost the clients.
static RETRIED: AtomicU64 = AtomicU64::new(0);

/// How many calls were sent again so far (see [`Api::call`]).
pub fn retried() -> u64 {
    RETRIED.load(Ordering::SeqCst)
}

/// A JSON client of one service behind the load balancer.
#[derive(Debug, Clone)]
pub struct Api {
    client: Client,
    base: String,
    token: Option<String>,
}

/// A response: its status and JSON body (`Null` when it had none).
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body as JSON.
    pub body: Value,
}

impl Api {
    /// A client of `base` calling with `token` as its bearer.
    pub fn new(client: &Client, base: &str, token: Option<&str>) -> Self {
        Self {
            client: client.clone(),
            base: base.trim_end_matches('/').to_owned(),
            token: token.map(str::to_owned),
        }
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.client.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends once; retried (with the same body and key) while the answer
    /// is a gateway error or the connection failed.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> anyhow::Result<Answer> {
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                RETRIED.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt.min(10)))).await;
            }
            let mut request = self.request(method.clone(), path);
            if let Some(body) = body {
                request = request.json(body);
            }
            if let Some(key) = idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    if matches!(
                        status,
                        StatusCode::BAD_GATEWAY
                            | StatusCode::SERVICE_UNAVAILABLE
                            | StatusCode::GATEWAY_TIMEOUT
                    ) {
                        last = format!("{status}");
                        continue;
                    }
                    let text = response
                        .text()
                        .await
                        .with_context(|| format!("{method} {path}: reading the body"))?;
                    let body = if text.is_empty() {
                        Value::Null
                    } else {
                        serde_json::from_str(&text)
                            .with_context(|| format!("{method} {path}: not JSON: {text}"))?
                    };
                    return Ok(Answer { status, body });
                }
                Err(error) => last = format!("{error}"),
            }
        }
        bail!("{method} {path}: no answer after {ATTEMPTS} attempts; last: {last}")
    }

    /// A call that must answer `expected`; its body.
    pub async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
        expected: &[StatusCode],
    ) -> anyhow::Result<Value> {
        let answer = self
            .call(method.clone(), path, body, idempotency_key)
            .await?;
        if !expected.contains(&answer.status) {
            bail!(
                "{method} {path}: {} (expected {expected:?}): {}",
                answer.status,
                answer.body
            );
        }
        Ok(answer.body)
    }

    /// `GET`, which must answer 200.
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.expect(Method::GET, path, None, None, &[StatusCode::OK])
            .await
    }

    /// Every item of a paged list (`{items, next_cursor}`).
    pub async fn all(&self, path: &str) -> anyhow::Result<Vec<Value>> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page_path = match &cursor {
                Some(cursor) => format!("{path}{separator}limit=500&cursor={cursor}"),
                None => format!("{path}{separator}limit=500"),
            };
            let page = self.get(&page_path).await?;
            let Some(page_items) = page["items"].as_array() else {
                bail!("GET {page_path}: no `items` in {page}");
            };
            items.extend(page_items.iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return Ok(items),
            }
        }
    }
}

/// A string field of a JSON object.
pub fn text<'a>(item: &'a Value, field: &str) -> anyhow::Result<&'a str> {
    item[field]
        .as_str()
        .with_context(|| format!("no string `{field}` in {item}"))
}
