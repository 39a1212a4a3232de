//! Cash-out: what the house pays now for a pending bet, instead of waiting
//! for its open legs.
//!
//! The fair value of a pending bet is what it would pay if it won, times
//! the chance the open legs win, which the line prices as 1 / their
//! current coefficients: `stake × Π (the coefficients it is paid at) / Π
//! (the open legs' coefficients now)`. The house keeps a margin on top.
//!
//! A cash-out is only offered while every open leg's event is open for
//! betting: before its deadline, not suspended, not decided in bet-maker's
//! copy. Once an event is under way (or over, before bet-maker has heard),
//! the pre-match price says nothing of what the bettor may know, and a
//! bettor who knows a result must never be paid as if they did not.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{Bet, BetStatus, LegStatus, LineEvent, LineEventStatus, Price, paying_price};

/// Why a bet cannot be cashed out now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CashOutRefused {
    /// The bet is settled or cashed out already (or has no open leg).
    #[error("the bet is settled: there is nothing left to cash out")]
    Settled,
    /// An open leg's event is suspended.
    #[error("event {0} is suspended: no cash-out until it resumes")]
    EventSuspended(Uuid),
    /// An open leg's event is past its deadline or decided: no in-play
    /// cash-out.
    #[error("event {0} is closed for betting: no cash-out once an event is under way")]
    EventClosed(Uuid),
    /// An open leg's event changed (coefficient or status) since the quote.
    #[error("event {0} changed since the quote: ask for a new one")]
    OddsChanged(Uuid),
    /// The quote's time ran out.
    #[error("the quote expired at {0}: ask for a new one")]
    QuoteExpired(DateTime<Utc>),
}

/// An open leg as quoted: its event's coefficient and status then. A quote
/// is accepted only while every one of them is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotedLeg {
    /// The event.
    pub event_id: Uuid,
    /// Its coefficient when quoted.
    pub coefficient: Decimal,
    /// Its status when quoted.
    pub status: LineEventStatus,
}

/// A cash-out offer: `amount` for the bet, valid until `expires_at`, for
/// the open legs as `legs` were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashOutOffer {
    /// What the bet is paid if the offer is taken.
    pub amount: Decimal,
    /// The open legs' events as they were.
    pub legs: Vec<QuotedLeg>,
}

/// What `bet` can be cashed out for now, with `events` bet-maker's copy of
/// its legs' events (any order; an open leg's event missing counts as
/// closed) and `margin` the house's share (0 to 1):
///
/// `floor_to_cent(stake × Π coefficients of the legs not void / Π current
/// coefficients of the open legs × (1 − margin))`, a won leg at the
/// coefficient it was settled at, an open one at its locked coefficient.
///
/// This is the definition; the accept statement checks in SQL that the
/// quoted events are unchanged, and `tests/cash_out.rs` holds the amounts
/// paid to it.
pub fn cash_out_offer(
    bet: &Bet,
    events: &[LineEvent],
    margin: Decimal,
    now: DateTime<Utc>,
) -> Result<CashOutOffer, CashOutRefused> {
    if bet.status() != BetStatus::Pending {
        return Err(CashOutRefused::Settled);
    }
    let mut quoted = Vec::new();
    for leg in bet
        .legs()
        .iter()
        .filter(|leg| leg.status == LegStatus::Pending)
    {
        let event = open_event(events, leg.event_id, now)?;
        quoted.push(QuotedLeg {
            event_id: event.id,
            coefficient: event.coefficient,
            status: event.status,
        });
    }
    if quoted.is_empty() {
        return Err(CashOutRefused::Settled);
    }
    let now_at = Price::of(quoted.iter().map(|leg| leg.coefficient));
    Ok(CashOutOffer {
        amount: paying_price(bet.legs()).floor_ratio(bet.amount().value(), &now_at, margin),
        legs: quoted,
    })
}

/// Whether the open legs' events, as they are now (`current`, any order),
/// still are as `quoted`: else why not. The same tests as a new quote's,
/// plus: every quoted event unchanged in coefficient and status.
pub fn check_quote_holds(
    quoted: &[QuotedLeg],
    current: &[LineEvent],
    now: DateTime<Utc>,
) -> Result<(), CashOutRefused> {
    for leg in quoted {
        let event = open_event(current, leg.event_id, now)?;
        if event.coefficient != leg.coefficient || event.status != leg.status {
            return Err(CashOutRefused::OddsChanged(event.id));
        }
    }
    Ok(())
}

/// Event `id` of `events`, if it is open for betting at `now`; else why no
/// cash-out (an event missing from the copy counts as closed).
fn open_event(
    events: &[LineEvent],
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<&LineEvent, CashOutRefused> {
    let event = events
        .iter()
        .find(|event| event.id == id)
        .ok_or(CashOutRefused::EventClosed(id))?;
    if event.is_suspended_at(now) {
        return Err(CashOutRefused::EventSuspended(id));
    }
    if !event.is_open_at(now) {
        return Err(CashOutRefused::EventClosed(id));
    }
    Ok(event)
}

#[cfg(test)]
#[path = "cash_out_tests.rs"]
mod tests;
