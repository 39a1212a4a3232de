//! What the live streams send: each message's `data`, and how a change of
//! the feed becomes one server-sent event.

use axum::response::sse::Event;
use serde::Serialize;
use shared_kernel::money::WireDecimal;
use utoipa::ToSchema;
use uuid::Uuid;

use super::dto::BetDto;
use super::wallet_dto::WalletDto;
use crate::application::live::{Delivery, FeedChange, LiveChange, ResetReason};
use crate::domain::{Bet, LineEvent, LineEventStatus};

/// The `data` of an `event: line` message: bet-maker's copy of an event
/// after a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct LineEventDto {
    /// The event's id.
    pub id: Uuid,
    /// The odds, two decimals.
    #[schema(value_type = String, example = "1.85")]
    pub coefficient: WireDecimal,
    /// Bets are taken strictly before it.
    pub deadline: chrono::DateTime<chrono::Utc>,
    /// Where the event is in its life.
    pub status: LineEventStatusDto,
    /// 1 at creation, +1 per change at line-provider.
    #[schema(example = 2)]
    pub version: i64,
}

/// An event's status as the streams spell it (line-provider's spelling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LineEventStatusDto {
    /// Open: bets are taken until the deadline.
    New,
    /// Suspended: no bets until line-provider resumes it.
    Suspended,
    /// Finished; its bets won.
    FinishedWin,
    /// Finished; its bets lost.
    FinishedLose,
    /// Cancelled; its bets are void, their stakes paid back.
    Cancelled,
}

impl From<LineEventStatus> for LineEventStatusDto {
    fn from(status: LineEventStatus) -> Self {
        match status {
            LineEventStatus::New => Self::New,
            LineEventStatus::Suspended => Self::Suspended,
            LineEventStatus::FinishedWin => Self::FinishedWin,
            LineEventStatus::FinishedLose => Self::FinishedLose,
            LineEventStatus::Cancelled => Self::Cancelled,
        }
    }
}

impl From<&LineEvent> for LineEventDto {
    fn from(event: &LineEvent) -> Self {
        Self {
            id: event.id,
            coefficient: WireDecimal::from_decimal_exact(event.coefficient),
            deadline: event.deadline,
            status: event.status.into(),
            version: event.version,
        }
    }
}

/// The `data` of an `event: reset` message: the changes cannot be
/// replayed; reload what the stream keeps up to date.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResetDto {
    /// `too-old`: the change named in `Last-Event-ID` is no longer kept;
    /// live changes follow. `too-slow`: the client fell too far behind;
    /// the stream ends.
    #[schema(example = "too-old")]
    pub reason: &'static str,
    /// What to do.
    #[schema(example = "reload GET /events, then carry on with the changes that follow")]
    pub detail: String,
}

/// The `data` of a message of `GET /bets/stream`: a bet (`event: bet`) or
/// the wallet (`event: wallet`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum BettorStreamData {
    /// `event: bet`: one of the bettor's bets, placed or settled.
    Bet(BetDto),
    /// `event: wallet`: the bettor's balance after a movement.
    Wallet(WalletDto),
}

/// Which stream a message goes to, for what it says on a reset.
#[derive(Debug, Clone, Copy)]
pub enum StreamName {
    /// `GET /events/stream`.
    Events,
    /// `GET /bets/stream`.
    Bets,
}

impl StreamName {
    /// The label of the stream's metrics.
    pub fn label(self) -> &'static str {
        match self {
            Self::Events => "events",
            Self::Bets => "bets",
        }
    }

    fn reload(self) -> &'static str {
        match self {
            Self::Events => "GET /events",
            Self::Bets => "GET /bets and GET /wallet",
        }
    }
}

/// The server-sent events of a delivery: one, or one per bet of a
/// settlement's [`LiveChange::Bets`].
pub fn messages(stream: StreamName, delivery: &Delivery) -> Vec<Event> {
    match delivery {
        Delivery::Change(change) => change_messages(change),
        Delivery::Reset(reason) => vec![reset_message(stream, *reason)],
        Delivery::KeepAlive => vec![Event::default().comment("keep-alive")],
    }
}

/// The change's messages, rendered once for every subscriber. Only the last
/// carries the change's position as its `id`: a client cut off among the
/// bets of one change resumes from the change before it and gets them all
/// again (each is the bet's whole state, so a repeat is harmless), never
/// only the rest.
fn change_messages(change: &FeedChange) -> Vec<Event> {
    let name = match &change.change {
        Some(LiveChange::Line(_)) => "line",
        Some(LiveChange::Bet(_) | LiveChange::Bets(_)) => "bet",
        Some(LiveChange::Wallet(_)) => "wallet",
        None => "unknown",
    };
    let data = change.rendered.get_or_init(|| {
        let bet =
            |bet: &Bet| serde_json::to_string(&BettorStreamData::Bet(BetDto::from(bet.clone())));
        let rendered = match &change.change {
            Some(LiveChange::Line(event)) => {
                serde_json::to_string(&LineEventDto::from(event)).map(|data| vec![data])
            }
            Some(LiveChange::Bet(one)) => bet(one).map(|data| vec![data]),
            Some(LiveChange::Bets(bets)) => bets.iter().map(bet).collect(),
            Some(LiveChange::Wallet(wallet)) => {
                serde_json::to_string(&BettorStreamData::Wallet(WalletDto {
                    balance: WireDecimal::from_decimal_exact(wallet.balance),
                    currency: wallet.currency.clone(),
                }))
                .map(|data| vec![data])
            }
            None => Ok(vec![String::new()]),
        };
        rendered.unwrap_or_else(|error| {
            tracing::error!(%error, position = change.key.position, "rendering a change failed");
            vec![String::new()]
        })
    });
    let last = data.len().saturating_sub(1);
    data.iter()
        .enumerate()
        .map(|(index, data)| {
            let message = Event::default().event(name).data(data);
            if index == last {
                message.id(change.key.position.to_string())
            } else {
                message
            }
        })
        .collect()
}

fn reset_message(stream: StreamName, reason: ResetReason) -> Event {
    let reset = match reason {
        ResetReason::TooOld => ResetDto {
            reason: "too-old",
            detail: format!(
                "the changes after Last-Event-ID are no longer kept: reload {}, then carry on with the changes that follow",
                stream.reload()
            ),
        },
        ResetReason::TooSlow => ResetDto {
            reason: "too-slow",
            detail: format!(
                "the stream fell too far behind and ends: reload {}, then reconnect",
                stream.reload()
            ),
        },
    };
    let data = serde_json::to_string(&reset).unwrap_or_default();
    Event::default().event("reset").data(data)
}
