//! How the live streams (`GET /events/stream`, `GET /bets/stream`) are
//! bounded.

use std::time::Duration;

use crate::application::live::FeedSettings;

/// Retention, buffering and keep-alive of the live streams.
#[derive(Debug, Clone, clap::Args)]
pub struct StreamSettings {
    /// How long, in seconds, changes stay replayable for a stream client
    /// that reconnects with `Last-Event-ID`; an older id gets `event:
    /// reset`.
    #[arg(
        long = "stream-retention-secs",
        env = "BET_MAKER_STREAM_RETENTION_SECS",
        value_name = "BET_MAKER_STREAM_RETENTION_SECS",
        default_value_t = 600,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub retention_secs: u64,
    /// Changes of the line held in memory for `/events/stream` clients not
    /// yet sent them; a client further behind is sent `event: reset` and
    /// dropped.
    #[arg(
        long = "stream-buffer",
        env = "BET_MAKER_STREAM_BUFFER",
        value_name = "BET_MAKER_STREAM_BUFFER",
        default_value_t = 1024,
        value_parser = clap::value_parser!(u32).range(1..=65_536)
    )]
    pub buffer: u32,
    /// How often, in seconds, an idle stream sends a keep-alive comment.
    #[arg(
        long = "stream-keep-alive-secs",
        env = "BET_MAKER_STREAM_KEEP_ALIVE_SECS",
        value_name = "BET_MAKER_STREAM_KEEP_ALIVE_SECS",
        default_value_t = 15,
        value_parser = clap::value_parser!(u64).range(1..=3_600)
    )]
    pub keep_alive_secs: u64,
}

impl StreamSettings {
    /// The feed's bounds.
    pub fn feed(&self) -> FeedSettings {
        FeedSettings {
            line_buffer: usize::try_from(self.buffer).unwrap_or(usize::MAX),
            retention: Duration::from_secs(self.retention_secs),
            keep_alive: self.keep_alive(),
        }
    }

    /// The keep-alive interval.
    pub fn keep_alive(&self) -> Duration {
        Duration::from_secs(self.keep_alive_secs)
    }
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self {
            retention_secs: 600,
            buffer: 1024,
            keep_alive_secs: 15,
        }
    }
}
