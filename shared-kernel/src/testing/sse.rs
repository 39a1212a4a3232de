//! A client of a server-sent events stream, for tests and the benchmark:
//! the messages as an `EventSource` would dispatch them, and the comments
//! it would skip, counted.

use std::pin::Pin;
use std::time::Duration;

use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::{RequestBuilder, Response, StatusCode};

/// One message of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseMessage {
    /// `id:`, when the message has one.
    pub id: Option<String>,
    /// `event:` (`message` when absent, as in browsers).
    pub event: String,
    /// `data:`, its lines joined by `\n`.
    pub data: String,
}

impl SseMessage {
    /// The data as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data)
            .unwrap_or_else(|e| panic!("the data of {self:?} is not JSON: {e}"))
    }
}

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// An open stream.
pub struct EventStream {
    body: Body,
    buffer: Vec<u8>,
    /// Comment lines seen (keep-alives).
    pub comments: usize,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("comments", &self.comments)
            .finish_non_exhaustive()
    }
}

impl EventStream {
    /// Sends `request` and opens the stream; the response itself when it
    /// is not a 200 `text/event-stream`.
    pub async fn open(request: RequestBuilder) -> Result<Self, Response> {
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("opening a stream: {e}"));
        let is_stream = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/event-stream"));
        if response.status() != StatusCode::OK || !is_stream {
            return Err(response);
        }
        Ok(Self {
            body: Box::pin(response.bytes_stream()),
            buffer: Vec::new(),
            comments: 0,
        })
    }

    /// Opens the stream, panicking when the answer is not one.
    pub async fn expect(request: RequestBuilder) -> Self {
        match Self::open(request).await {
            Ok(stream) => stream,
            Err(response) => panic!(
                "expected a stream, got {} {:?}",
                response.status(),
                response.text().await
            ),
        }
    }

    /// The next message; `None` when the server ended the stream (or the
    /// connection broke).
    pub async fn next(&mut self) -> Option<SseMessage> {
        loop {
            if let Some(Block::Message(message)) = self.next_block().await? {
                return Some(message);
            }
        }
    }

    /// Waits for the next comment line (a keep-alive), skipping messages;
    /// `false` when the stream ended first.
    pub async fn next_comment(&mut self) -> bool {
        loop {
            match self.next_block().await {
                None => return false,
                Some(Some(Block::Comment)) => return true,
                Some(_) => {}
            }
        }
    }

    /// The next block, `Some(None)` when more bytes arrived without one;
    /// `None` at the end.
    async fn next_block(&mut self) -> Option<Option<Block>> {
        if let Some(block) = self.take_block() {
            return Some(Some(block));
        }
        match self.body.next().await {
            Some(Ok(bytes)) => {
                self.buffer.extend_from_slice(&bytes);
                Some(None)
            }
            Some(Err(_)) | None => None,
        }
    }

    /// The next message within `within`, else a panic saying `what` did
    /// not come.
    pub async fn next_within(&mut self, within: Duration, what: &str) -> SseMessage {
        match tokio::time::timeout(within, self.next()).await {
            Ok(Some(message)) => message,
            Ok(None) => panic!("the stream ended before {what}"),
            Err(_) => panic!("no {what} within {within:?}"),
        }
    }

    /// Whether the stream ends within `within` without another message.
    pub async fn ends_within(&mut self, within: Duration) -> Result<(), String> {
        match tokio::time::timeout(within, self.next()).await {
            Ok(None) => Ok(()),
            Ok(Some(message)) => Err(format!("got {message:?} instead of the end")),
            Err(_) => Err(format!("still open after {within:?}")),
        }
    }

    /// Takes one whole block (up to a blank line) out of the buffer.
    fn take_block(&mut self) -> Option<Block> {
        {
            let end = self.buffer.windows(2).position(|pair| pair == b"\n\n")?;
            let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
            let text = String::from_utf8_lossy(&block);
            let mut message = SseMessage {
                id: None,
                event: "message".to_owned(),
                data: String::new(),
            };
            let mut fields = 0;
            for line in text.lines().filter(|line| !line.is_empty()) {
                if line.starts_with(':') {
                    self.comments += 1;
                    continue;
                }
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                fields += 1;
                match field {
                    "id" => message.id = Some(value.to_owned()),
                    "event" => message.event = value.to_owned(),
                    "data" if message.data.is_empty() => message.data = value.to_owned(),
                    "data" => {
                        message.data.push('\n');
                        message.data.push_str(value);
                    }
                    _ => {}
                }
            }
            if fields > 0 {
                Some(Block::Message(message))
            } else {
                Some(Block::Comment)
            }
        }
    }
}

/// What a blank line ends.
enum Block {
    Message(SseMessage),
    /// Only comment lines.
    Comment,
}
