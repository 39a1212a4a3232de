//! What goes over HTTP, and its translation from the domain.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared_kernel::http::{PageQuery, Problem, WireUuid};
use shared_kernel::money::WireDecimal;
use shared_kernel::pagination::PageRequest;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::stream_dto::LineEventStatusDto;
use crate::application::ports::BetFilter;
use crate::domain::{AcceptOddsChange, Bet, BetStatus, LineEvent, OddsRequest, VoidReason};

/// An event on the line: the HTTP view of a [`LineEvent`] whose status is
/// NEW (open for betting) or SUSPENDED (bets paused) and whose deadline is
/// ahead (the domain's copy holds every event, in any status).
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenEvent {
    /// The event's id.
    pub id: Uuid,
    /// The odds a bet placed now locks, two decimals.
    #[schema(value_type = String, example = "1.85")]
    pub coefficient: WireDecimal,
    /// Bets are accepted strictly before this instant.
    pub deadline: DateTime<Utc>,
    /// `NEW`: bets are taken; `SUSPENDED`: line-provider paused betting
    /// (a bet is 409 `event-suspended`) until it resumes the event.
    pub status: LineEventStatusDto,
}

impl From<LineEvent> for OpenEvent {
    fn from(event: LineEvent) -> Self {
        let status = LineEventStatusDto::from(event.status);
        Self {
            id: event.id,
            coefficient: WireDecimal::from_decimal_exact(event.coefficient),
            deadline: event.deadline,
            status,
        }
    }
}

/// A page of open events.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenEventPage {
    /// The events on this page.
    pub items: Vec<OpenEvent>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A bet's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BetStatusDto {
    /// The event has no result yet.
    Pending,
    /// Won: the payout is amount × coefficient.
    Won,
    /// Lost: the payout is 0.00.
    Lost,
    /// Void: the event was cancelled, or the bet was late
    /// (`void_reason`); the payout is the stake.
    Void,
}

impl From<BetStatus> for BetStatusDto {
    fn from(status: BetStatus) -> Self {
        match status {
            BetStatus::Pending => Self::Pending,
            BetStatus::Won => Self::Won,
            BetStatus::Lost => Self::Lost,
            BetStatus::Void => Self::Void,
        }
    }
}

impl From<BetStatusDto> for BetStatus {
    fn from(status: BetStatusDto) -> Self {
        match status {
            BetStatusDto::Pending => Self::Pending,
            BetStatusDto::Won => Self::Won,
            BetStatusDto::Lost => Self::Lost,
            BetStatusDto::Void => Self::Void,
        }
    }
}

/// A bet.
#[derive(Debug, Serialize, ToSchema)]
pub struct BetDto {
    /// The bet's id (UUID v7).
    pub id: Uuid,
    /// The event bet on.
    pub event_id: Uuid,
    /// The stake, two decimals.
    #[schema(value_type = String, example = "10.50")]
    pub amount: WireDecimal,
    /// The odds locked when the bet was placed.
    #[schema(value_type = String, example = "1.85")]
    pub coefficient: WireDecimal,
    /// PENDING until the event's result (or cancellation) arrives.
    pub status: BetStatusDto,
    /// What the bet pays: amount × coefficient rounded half-up when WON,
    /// 0.00 when LOST, the stake when VOID; absent while PENDING.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "19.43")]
    pub payout: Option<WireDecimal>,
    /// When it was placed.
    pub placed_at: DateTime<Utc>,
    /// When it was settled; absent while PENDING.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<DateTime<Utc>>,
    /// The coefficient the bet was settled at, when WON or LOST: its own,
    /// or the lower one line-provider already offered when it was placed
    /// (the odds had been cut before bet-maker heard of it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "1.85")]
    pub settled_coefficient: Option<WireDecimal>,
    /// Why a VOID bet is void: `cancelled` (the event was called off) or
    /// `late` (placed at or after the moment the result was decided; the
    /// stake is back).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub void_reason: Option<VoidReasonDto>,
}

/// Why a bet is void.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VoidReasonDto {
    /// The event was cancelled.
    Cancelled,
    /// Placed at or after line-provider decided the result.
    Late,
}

impl From<VoidReason> for VoidReasonDto {
    fn from(reason: VoidReason) -> Self {
        match reason {
            VoidReason::Cancelled => Self::Cancelled,
            VoidReason::Late => Self::Late,
        }
    }
}

impl From<Bet> for BetDto {
    fn from(bet: Bet) -> Self {
        Self {
            id: bet.id(),
            event_id: bet.event_id(),
            amount: WireDecimal::from_decimal_exact(bet.amount().value()),
            coefficient: WireDecimal::from_decimal_exact(bet.coefficient()),
            status: bet.status().into(),
            payout: bet.payout().map(WireDecimal::from_decimal_exact),
            placed_at: bet.placed_at(),
            settled_at: bet.settled_at(),
            settled_coefficient: bet
                .settled_coefficient()
                .map(WireDecimal::from_decimal_exact),
            void_reason: bet.void_reason().map(VoidReasonDto::from),
        }
    }
}

/// A page of bets, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct BetPage {
    /// The bets on this page.
    pub items: Vec<BetDto>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `POST /bets`: the bet slip. Its only rules are the stake's, which are
/// business rules and belong to the domain's `BetSum`; the shape (a UUID,
/// a decimal) is checked while reading the JSON.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BetSlipRequest {
    /// An event open for betting.
    #[schema(value_type = uuid::Uuid)]
    pub event_id: WireUuid,
    /// The stake: more than 0, at most two decimals, at most the house
    /// limit; a string (preferred) or a JSON number, read exactly.
    #[schema(value_type = String, example = "10.50")]
    pub amount: WireDecimal,
    /// The coefficient the bettor saw (optional). With it, the bet is
    /// placed only at that coefficient, or at another one that
    /// `accept_odds_change` accepts; else 409 `odds-changed`. Without it,
    /// the bet takes the event's current coefficient.
    #[schema(value_type = Option<String>, example = "1.85")]
    pub coefficient: Option<WireDecimal>,
    /// Which changes of `coefficient` are accepted: `none` (the default),
    /// `higher`, or `any`. Has no effect without `coefficient`.
    pub accept_odds_change: Option<AcceptOddsChangeDto>,
}

/// Which changes of the coefficient the bettor saw they accept.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AcceptOddsChangeDto {
    /// Only the coefficient sent.
    None,
    /// That one or a higher one.
    Higher,
    /// Any: the bet takes the current coefficient.
    Any,
}

impl BetSlipRequest {
    /// What the bettor asked for about the odds.
    pub fn odds(&self) -> OddsRequest {
        OddsRequest {
            seen: self.coefficient.map(WireDecimal::value),
            accept: match self.accept_odds_change {
                None | Some(AcceptOddsChangeDto::None) => AcceptOddsChange::None,
                Some(AcceptOddsChangeDto::Higher) => AcceptOddsChange::Higher,
                Some(AcceptOddsChangeDto::Any) => AcceptOddsChange::Any,
            },
        }
    }
}

/// The `{id}` path parameter.
#[derive(Debug, Deserialize)]
pub struct BetPath {
    /// The bet's id.
    pub id: WireUuid,
}

impl BetPath {
    /// The id, once read.
    pub fn id(&self) -> Uuid {
        self.id.into()
    }
}

/// `GET /bets` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListBetsQuery {
    /// Only bets with this status.
    pub status: Option<BetStatusDto>,
    /// Only bets on this event.
    #[param(value_type = Option<uuid::Uuid>)]
    pub event_id: Option<WireUuid>,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListBetsQuery {
    /// The filter and the page asked for; a 400 listing every parameter at
    /// fault otherwise (the page's structural rules live on [`PageQuery`]).
    pub fn parse(&self) -> Result<(BetFilter, PageRequest), Problem> {
        let page = PageQuery {
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
        .parse()?;
        let filter = BetFilter {
            status: self.status.map(Into::into),
            event_id: self.event_id.map(Uuid::from),
        };
        Ok((filter, page))
    }
}
