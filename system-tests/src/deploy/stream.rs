//! `GET /events/stream` through the load balancer: the Server-Sent Events
//! must pass as they come (the load balancer must not hold them back).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use futures_util::StreamExt;
use reqwest::Client;
use tokio::task::JoinHandle;

use super::eventually;

/// A stream being read in the background: the ids of the events its
/// `data:` lines carried.
#[derive(Debug)]
pub struct LineStream {
    seen: Arc<Mutex<HashSet<String>>>,
    reader: JoinHandle<()>,
}

/// Opens the stream of bet-maker at `base` (once its headers are in, the
/// stream is live) and reads it in the background until dropped.
pub async fn watch(base: &str) -> anyhow::Result<LineStream> {
    // No overall timeout: the stream stays open; only connecting is bounded.
    let client = Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .build()
        .context("building the stream's client")?;
    let url = format!("{}/events/stream", base.trim_end_matches('/'));
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let into = seen.clone();
    let response = client
        .get(&url)
        .header("Accept", "text/event-stream")
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("opening {url}"))?;
    let reader = tokio::spawn(async move {
        let mut body = response.bytes_stream();
        let mut pending = String::new();
        while let Some(Ok(chunk)) = body.next().await {
            pending.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = pending.find('\n') {
                let line: String = pending.drain(..=end).collect();
                let Some(data) = line.trim_end().strip_prefix("data:") else {
                    continue;
                };
                let Ok(event) = serde_json::from_str::<serde_json::Value>(data.trim()) else {
                    continue;
                };
                if let (Some(id), Ok(mut seen)) = (event["id"].as_str(), into.lock()) {
                    seen.insert(id.to_owned());
                }
            }
        }
    });
    Ok(LineStream { seen, reader })
}

impl LineStream {
    /// Waits until every one of `ids` came through the stream.
    pub async fn wait_for(&self, ids: &HashSet<String>) -> anyhow::Result<()> {
        eventually("every new event on the live stream", || async {
            let missing = match self.seen.lock() {
                Ok(seen) => ids.difference(&seen).count(),
                Err(_) => ids.len(),
            };
            Ok(if missing == 0 {
                Ok(())
            } else {
                Err(format!("{missing} of {} not streamed", ids.len()))
            })
        })
        .await
    }
}

impl Drop for LineStream {
    fn drop(&mut self) {
        self.reader.abort();
    }
}
