//! The rows of `change_feed` as the triggers write them (`to_jsonb` of the
//! changed row; a bet as `bet_document` writes it, or for a statement that
//! changed many, the ids of a bettor's bets), read back into the domain
//! through the same entities, and so the same spelling of statuses, as the
//! repositories.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::ActiveEnum;
use serde::Deserialize;
use uuid::Uuid;

use super::entities::{bet_legs, bets, events};
use super::mapping::{bet_from_row, event_from_row, leg_from_row};
use crate::application::live::{LiveChange, WalletBalance};
use crate::domain::Bet;

/// A decimal as `to_jsonb` writes a `NUMERIC`: a JSON number whose text is
/// exact (serde_json keeps it, with `arbitrary_precision`).
#[derive(Debug, Deserialize)]
#[serde(transparent)]
struct Exact(serde_json::Number);

impl Exact {
    fn decimal(&self) -> Result<Decimal, String> {
        let text = self.0.to_string();
        Decimal::from_str(&text).map_err(|_| format!("`{text}` is not a decimal"))
    }
}

/// `events` as `to_jsonb` writes a row.
#[derive(Debug, Deserialize)]
struct EventRow {
    id: Uuid,
    coefficient: Exact,
    deadline: DateTime<Utc>,
    status: String,
    version: i64,
    updated_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
}

/// A bet as `bet_document` writes it: `to_jsonb` of its row, with its
/// legs (columns not shown are ignored).
#[derive(Debug, Deserialize)]
struct BetRow {
    id: Uuid,
    bettor_id: String,
    amount: Exact,
    status: String,
    payout: Option<Exact>,
    placed_at: DateTime<Utc>,
    settled_at: Option<DateTime<Utc>>,
    void_reason: Option<String>,
    leg_count: i16,
    potential_payout: Exact,
    legs: Vec<LegRow>,
}

/// A leg of [`BetRow`].
#[derive(Debug, Deserialize)]
struct LegRow {
    leg: i16,
    event_id: Uuid,
    coefficient: Exact,
    status: String,
    settled_coefficient: Option<Exact>,
    void_reason: Option<String>,
    settled_version: Option<i64>,
}

/// `wallets` as `to_jsonb` writes a row.
#[derive(Debug, Deserialize)]
struct WalletRow {
    balance: Exact,
    currency: String,
}

/// A snapshot read back into the domain, through the same entities (and
/// so the same spelling of statuses) as the repositories.
pub(super) fn parse_snapshot(kind: &str, snapshot: &str) -> Result<LiveChange, String> {
    let unreadable = |error: serde_json::Error| format!("unreadable {kind} snapshot: {error}");
    let status = |text: String| format!("unknown status `{text}`");
    match kind {
        "line" => {
            let row: EventRow = serde_json::from_str(snapshot).map_err(unreadable)?;
            Ok(LiveChange::Line(event_from_row(events::Model {
                id: row.id,
                coefficient: row.coefficient.decimal()?,
                deadline: row.deadline,
                status: events::Status::try_from_value(&row.status)
                    .map_err(|_| status(row.status))?,
                version: row.version,
                updated_at: row.updated_at,
                decided_at: row.decided_at,
            })))
        }
        "bet" => parse_bet(snapshot).map(LiveChange::Bet),
        "wallet" => {
            let row: WalletRow = serde_json::from_str(snapshot).map_err(unreadable)?;
            Ok(LiveChange::Wallet(WalletBalance {
                balance: row.balance.decimal()?,
                currency: row.currency,
            }))
        }
        "bets" => Err("a `bets` row names bets to be read, it holds no snapshot".to_owned()),
        other => Err(format!("unknown kind `{other}`")),
    }
}

/// A bet as `bet_document` writes it: its row and its legs.
pub(super) fn parse_bet(snapshot: &str) -> Result<Bet, String> {
    let unreadable = |error: serde_json::Error| format!("unreadable bet snapshot: {error}");
    let status = |text: String| format!("unknown status `{text}`");
    let row: BetRow = serde_json::from_str(snapshot).map_err(unreadable)?;
    let legs = row
        .legs
        .into_iter()
        .map(|leg| {
            Ok(leg_from_row(bet_legs::Model {
                bet_id: row.id,
                leg: leg.leg,
                event_id: leg.event_id,
                coefficient: leg.coefficient.decimal()?,
                status: bet_legs::Status::try_from_value(&leg.status)
                    .map_err(|_| status(leg.status))?,
                settled_coefficient: optional(leg.settled_coefficient.as_ref())?,
                void_reason: void_reason(leg.void_reason)?,
                settled_version: leg.settled_version,
            }))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(bet_from_row(
        bets::Model {
            id: row.id,
            bettor_id: row.bettor_id,
            amount: row.amount.decimal()?,
            status: bets::Status::try_from_value(&row.status).map_err(|_| status(row.status))?,
            payout: optional(row.payout.as_ref())?,
            placed_at: row.placed_at,
            settled_at: row.settled_at,
            void_reason: void_reason(row.void_reason)?,
            leg_count: row.leg_count,
            potential_payout: row.potential_payout.decimal()?,
        },
        legs,
    ))
}

/// The bets a `bets` row names: a JSON array of their ids.
pub(super) fn named_bets(snapshot: &str) -> Result<Vec<Uuid>, String> {
    serde_json::from_str(snapshot).map_err(|error| format!("unreadable bets row: {error}"))
}

/// An optional exact decimal.
fn optional(value: Option<&Exact>) -> Result<Option<Decimal>, String> {
    value.map(Exact::decimal).transpose()
}

/// A void reason as the `CHECK` spells it.
fn void_reason(text: Option<String>) -> Result<Option<bets::VoidReason>, String> {
    text.map(|text| {
        bets::VoidReason::try_from_value(&text).map_err(|_| format!("unknown void reason `{text}`"))
    })
    .transpose()
}
