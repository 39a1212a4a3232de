//! What goes over HTTP, and its translation from the domain.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared_kernel::http::{FieldError, PageQuery, Problem, WireUuid};
use shared_kernel::money::WireDecimal;
use shared_kernel::pagination::PageRequest;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::stream_dto::LineEventStatusDto;
use crate::application::SlipLeg;
use crate::application::ports::BetFilter;
use crate::domain::{
    AcceptOddsChange, Bet, BetStatus, Leg, LegStatus, LineEvent, OddsRequest, VoidReason,
};

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
    /// Void: every leg's event was cancelled, or the bet was late
    /// (`void_reason`); the payout is the stake.
    Void,
    /// Cashed out: the payout is the quote the bettor took; its events
    /// never settle it again.
    CashedOut,
}

impl From<BetStatus> for BetStatusDto {
    fn from(status: BetStatus) -> Self {
        match status {
            BetStatus::Pending => Self::Pending,
            BetStatus::Won => Self::Won,
            BetStatus::Lost => Self::Lost,
            BetStatus::Void => Self::Void,
            BetStatus::CashedOut => Self::CashedOut,
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
            BetStatusDto::CashedOut => Self::CashedOut,
        }
    }
}

/// A bet: a single (one leg) or an accumulator (2 to 20 legs).
#[derive(Debug, Serialize, ToSchema)]
pub struct BetDto {
    /// The bet's id (UUID v7).
    pub id: Uuid,
    /// The event of a single; absent for an accumulator (see `legs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Uuid>,
    /// The stake, two decimals.
    #[schema(value_type = String, example = "10.50")]
    pub amount: WireDecimal,
    /// The odds locked when the bet was placed: the exact product of its
    /// legs' coefficients (`"3.885"` for 1.85 × 2.10), at least two
    /// decimals, as many as the product has (up to 40).
    #[schema(value_type = String, example = "1.85")]
    pub coefficient: String,
    /// PENDING until its outcome is known: a leg lost, or every leg
    /// decided.
    pub status: BetStatusDto,
    /// What the bet pays: amount × the coefficient used, rounded half-up
    /// once, when WON; 0.00 when LOST; the stake when VOID; the quote when
    /// CASHED_OUT; absent while PENDING.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "19.43")]
    pub payout: Option<WireDecimal>,
    /// When it was placed.
    pub placed_at: DateTime<Utc>,
    /// When it was settled (or cashed out); absent while PENDING.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<DateTime<Utc>>,
    /// The coefficient the bet was settled at, when WON, or LOST with every
    /// leg decided: the product of its legs' settled coefficients, a void
    /// leg counting 1.00 (each leg's own, or the lower one line-provider
    /// already offered when it was placed).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "1.85")]
    pub settled_coefficient: Option<String>,
    /// Why a VOID bet is void: `cancelled` (the events were called off) or
    /// `late` (placed at or after the moment a result was decided; the
    /// stake is back).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub void_reason: Option<VoidReasonDto>,
    /// Its legs, in the order they were asked for: one for a single.
    pub legs: Vec<LegDto>,
}

/// One leg of a bet.
#[derive(Debug, Serialize, ToSchema)]
pub struct LegDto {
    /// The event.
    pub event_id: Uuid,
    /// The event's coefficient locked when the bet was placed.
    #[schema(value_type = String, example = "1.85")]
    pub coefficient: WireDecimal,
    /// PENDING until the event is decided; VOID counts 1.00.
    pub status: LegStatusDto,
    /// The coefficient the leg was settled at, when WON or LOST.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "1.85")]
    pub settled_coefficient: Option<WireDecimal>,
    /// Why a VOID leg is void.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub void_reason: Option<VoidReasonDto>,
}

/// A leg's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LegStatusDto {
    /// The event has no result yet.
    Pending,
    /// The event finished as bet on.
    Won,
    /// It did not: the bet is LOST.
    Lost,
    /// The event was cancelled, or the bet was late: the leg counts 1.00.
    Void,
}

impl From<LegStatus> for LegStatusDto {
    fn from(status: LegStatus) -> Self {
        match status {
            LegStatus::Pending => Self::Pending,
            LegStatus::Won => Self::Won,
            LegStatus::Lost => Self::Lost,
            LegStatus::Void => Self::Void,
        }
    }
}

impl From<&Leg> for LegDto {
    fn from(leg: &Leg) -> Self {
        Self {
            event_id: leg.event_id,
            coefficient: WireDecimal::from_decimal_exact(leg.coefficient),
            status: leg.status.into(),
            settled_coefficient: leg.settled_coefficient.map(WireDecimal::from_decimal_exact),
            void_reason: leg.void_reason.map(VoidReasonDto::from),
        }
    }
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
            event_id: bet.single_event(),
            amount: WireDecimal::from_decimal_exact(bet.amount().value()),
            coefficient: bet.price().to_string(),
            status: bet.status().into(),
            payout: bet.payout().map(WireDecimal::from_decimal_exact),
            placed_at: bet.placed_at(),
            settled_at: bet.settled_at(),
            settled_coefficient: bet.settled_price().map(|price| price.to_string()),
            void_reason: bet.void_reason().map(VoidReasonDto::from),
            legs: bet.legs().iter().map(LegDto::from).collect(),
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

/// `POST /bets`: the bet slip, a single (`event_id`) or an accumulator
/// (`legs`). Its rules are the domain's (`BetSum`, `check_legs`); the shape
/// (UUIDs, decimals) is checked while reading the JSON.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BetSlipRequest {
    /// A single: an event open for betting, its `id` as `GET /events`
    /// lists it (the examples' ids exist nowhere: paste one from there).
    /// Send this or `legs`, not both.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub event_id: Option<WireUuid>,
    /// An accumulator: 1 to 20 distinct events open for betting, each with
    /// the coefficient the bettor saw (optional). Send this or `event_id`.
    #[schema(max_items = 20)]
    pub legs: Option<Vec<LegRequest>>,
    /// The stake: more than 0, at most two decimals, at most the house
    /// limit; a string (preferred) or a JSON number, read exactly.
    #[schema(value_type = String, example = "10.50")]
    pub amount: WireDecimal,
    /// A single's coefficient the bettor saw (optional; an accumulator
    /// sends one per leg). With it, the bet is placed only at that
    /// coefficient, or at another one that `accept_odds_change` accepts;
    /// else 409 `odds-changed`. Without it, the bet takes the event's
    /// current coefficient.
    #[schema(value_type = Option<String>, example = "1.85")]
    pub coefficient: Option<WireDecimal>,
    /// Which changes of the coefficients seen are accepted, on every leg:
    /// `none` (the default), `higher`, or `any`. Has no effect on a leg
    /// sent without its coefficient.
    pub accept_odds_change: Option<AcceptOddsChangeDto>,
}

/// One leg of an accumulator's slip.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegRequest {
    /// An event open for betting, its `id` as `GET /events` lists it.
    #[schema(value_type = uuid::Uuid)]
    pub event_id: WireUuid,
    /// The coefficient the bettor saw on it (optional; see
    /// `accept_odds_change`).
    #[schema(value_type = Option<String>, example = "2.10")]
    pub coefficient: Option<WireDecimal>,
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
    /// The legs asked for, and whether the slip is a single's own form
    /// (`event_id`); 422 when it sends both forms or neither, or a
    /// single's `coefficient` beside `legs`.
    pub fn legs(&self) -> Result<(Vec<SlipLeg>, bool), Problem> {
        let accept = match self.accept_odds_change {
            None | Some(AcceptOddsChangeDto::None) => AcceptOddsChange::None,
            Some(AcceptOddsChangeDto::Higher) => AcceptOddsChange::Higher,
            Some(AcceptOddsChangeDto::Any) => AcceptOddsChange::Any,
        };
        let leg = |event_id: WireUuid, seen: Option<WireDecimal>| SlipLeg {
            event_id: event_id.into(),
            odds: OddsRequest {
                seen: seen.map(WireDecimal::value),
                accept,
            },
        };
        match (&self.event_id, &self.legs) {
            (Some(event_id), None) => Ok((vec![leg(*event_id, self.coefficient)], true)),
            (None, Some(_)) if self.coefficient.is_some() => {
                Err(Problem::validation(vec![FieldError::new(
                    "coefficient",
                    "an accumulator sends each leg's coefficient in `legs`",
                )]))
            }
            (None, Some(legs)) => Ok((
                legs.iter()
                    .map(|asked| leg(asked.event_id, asked.coefficient))
                    .collect(),
                false,
            )),
            (Some(_), Some(_)) => Err(Problem::validation(vec![FieldError::new(
                "legs",
                "send `event_id` for a single or `legs` for an accumulator, not both",
            )])),
            (None, None) => Err(Problem::validation(vec![FieldError::new(
                "event_id",
                "send `event_id` for a single or `legs` for an accumulator",
            )])),
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
