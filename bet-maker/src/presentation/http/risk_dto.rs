//! The JSON of the risk calls: the max-stake quote, an event's exposure,
//! and the traders' limits.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared_kernel::http::WireUuid;
use shared_kernel::money::WireDecimal;
use utoipa::ToSchema;
use uuid::Uuid;

use super::stream_dto::LineEventStatusDto;
use crate::application::{EventExposure, OpenExposure, StakeQuote};

fn money(value: rust_decimal::Decimal) -> WireDecimal {
    WireDecimal::from_decimal_exact(value)
}

/// `/events/{id}/...` and `/admin/events/{id}/...`.
#[derive(Debug, Deserialize)]
pub struct EventPath {
    /// The event's id.
    pub id: WireUuid,
}

/// The largest stake the bettor may place on the event now, and what
/// bounds it (the smallest of them, the liability room and the payout
/// cap worked through the coefficient, is `max_stake`).
#[derive(Debug, Serialize, ToSchema)]
pub struct MaxStakeDto {
    /// The event.
    pub event_id: Uuid,
    /// Its coefficient now.
    #[schema(value_type = String, example = "2.50")]
    pub coefficient: WireDecimal,
    /// The largest stake a bet may have now (`"0.00"`: none).
    #[schema(value_type = String, example = "60.00")]
    pub max_stake: WireDecimal,
    /// The wallet's balance.
    #[schema(value_type = String, example = "1000.00")]
    pub balance: WireDecimal,
    /// The house's largest stake (`BET_MAKER_MAX_STAKE`).
    #[schema(value_type = String, example = "1000000.00")]
    pub house_max_stake: WireDecimal,
    /// The bettor's cap, if a trader set one.
    #[schema(value_type = Option<String>, example = "500.00")]
    pub bettor_max_stake: Option<WireDecimal>,
    /// The most one bet may pay (`BET_MAKER_MAX_PAYOUT`).
    #[schema(value_type = String, example = "10000000.00")]
    pub max_payout: WireDecimal,
    /// What the event's liability may still grow by.
    #[schema(value_type = String, example = "90.00")]
    pub liability_room: WireDecimal,
}

impl From<StakeQuote> for MaxStakeDto {
    fn from(quote: StakeQuote) -> Self {
        let limits = quote.room.limits;
        Self {
            event_id: quote.event_id,
            coefficient: money(quote.coefficient),
            max_stake: money(quote.max_stake),
            balance: money(quote.room.balance),
            house_max_stake: money(quote.room.house_max_stake),
            bettor_max_stake: limits.bettor_max_stake.map(money),
            max_payout: money(limits.max_payout),
            liability_room: money((limits.max_liability - limits.liability).max(0.into())),
        }
    }
}

/// What an event would cost the house if every pending bet on it won.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExposureDto {
    /// The event.
    pub event_id: Uuid,
    /// Its pending bets.
    pub pending_bets: i64,
    /// The sum of their stakes.
    #[schema(value_type = String, example = "40.00")]
    pub stakes: WireDecimal,
    /// The sum of what they would pay if they won.
    #[schema(value_type = String, example = "100.00")]
    pub potential_payout: WireDecimal,
    /// `potential_payout − stakes`: what the house would lose net.
    #[schema(value_type = String, example = "60.00")]
    pub liability: WireDecimal,
    /// The most it may reach: the event's own, else
    /// `BET_MAKER_MAX_LIABILITY_PER_EVENT`.
    #[schema(value_type = String, example = "150.00")]
    pub max_liability: WireDecimal,
    /// Whether a trader set the event's own maximum (else the default
    /// applies).
    pub max_liability_set: bool,
}

impl From<EventExposure> for ExposureDto {
    fn from(found: EventExposure) -> Self {
        Self {
            event_id: found.event_id,
            pending_bets: found.exposure.pending_bets,
            stakes: money(found.exposure.stakes),
            potential_payout: money(found.exposure.potential_payout),
            liability: money(found.exposure.liability()),
            max_liability: money(found.max_liability),
            max_liability_set: found.own_max_liability.is_some(),
        }
    }
}

/// An event not yet decided, and what it would cost the house if every
/// pending bet on it won.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenExposureDto {
    /// `NEW` (bets are taken until the deadline) or `SUSPENDED`.
    pub status: LineEventStatusDto,
    /// Its coefficient now.
    #[schema(value_type = String, example = "2.50")]
    pub coefficient: WireDecimal,
    /// When it closes for bets (it stays here, past it, until its result).
    pub deadline: DateTime<Utc>,
    /// Its exposure, as `GET /admin/events/{id}/exposure` says it.
    #[serde(flatten)]
    pub exposure: ExposureDto,
}

impl From<OpenExposure> for OpenExposureDto {
    fn from(open: OpenExposure) -> Self {
        Self {
            status: open.status.into(),
            coefficient: money(open.coefficient),
            deadline: open.deadline,
            exposure: open.exposure.into(),
        }
    }
}

/// A page of the open events' exposures, newest event first.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenExposurePage {
    /// The events on this page.
    pub items: Vec<OpenExposureDto>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `PUT /admin/events/{id}/limits`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EventLimitsBody {
    /// The event's maximum liability, 0.00 to 1000000000000000.00; `null`
    /// (or absent) removes it, and the default applies again.
    #[schema(value_type = Option<String>, example = "150.00")]
    #[serde(default)]
    pub max_liability: Option<WireDecimal>,
    /// Why, for the audit log (1 to 500 characters; "set by a trader"
    /// when absent).
    #[serde(default)]
    pub reason: Option<String>,
}

/// `PUT /admin/bettors/{bettor}/limits`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BettorLimitsBody {
    /// The bettor's largest stake, 0.00 to 1000000000000000.00; `null` (or
    /// absent) removes the cap.
    #[schema(value_type = Option<String>, example = "500.00")]
    #[serde(default)]
    pub max_stake: Option<WireDecimal>,
    /// Why, for the audit log (1 to 500 characters; "set by a trader"
    /// when absent).
    #[serde(default)]
    pub reason: Option<String>,
}

/// A bettor's limits, as a trader set them.
#[derive(Debug, Serialize, ToSchema)]
pub struct BettorLimitsDto {
    /// The bettor (their token's `sub`).
    pub bettor: String,
    /// Their largest stake; `null`: no cap of their own.
    #[schema(value_type = Option<String>, example = "500.00")]
    pub max_stake: Option<WireDecimal>,
    /// The audit entry of the change.
    pub audit_id: Uuid,
}
