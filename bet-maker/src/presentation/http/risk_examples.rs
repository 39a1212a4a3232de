//! The examples Swagger UI shows for the risk calls and refusals, made by
//! the code that makes the real responses: the domain's `max_stake` and
//! the same error mapping.

use rust_decimal::Decimal;
use shared_kernel::http::{ApiPath, Problem};
use uuid::Uuid;

use super::bettor::forbidden;
use super::errors::over_limit;
use super::risk_dto::{BettorLimitsDto, EventPath, ExposureDto, MaxStakeDto, OpenExposurePage};
use crate::application::{EventExposure, OpenExposure, RiskError, StakeQuote};
use crate::domain::{
    Exposure, LineEventStatus, Price, RiskLimitError, RiskLimits, StakeRoom, check_risk,
    max_stake as largest,
};

const EVENT_ID: Uuid = Uuid::from_u128(0x0193_6b2f_8a10_7c3e_9d41_5e6f_7a8b_9c0d);
const AUDIT_ID: Uuid = Uuid::from_u128(0x0193_6b32_2b13_7c4d_8e5f_6a7b_8c9d_0e1f);

fn cents(value: i64) -> Decimal {
    Decimal::new(value, 2)
}

/// The example event: 40.00 staked by two pending bets at 2.50, which
/// would pay 100.00, against a maximum liability of 150.00.
fn exposure_of_the_event() -> EventExposure {
    EventExposure {
        event_id: EVENT_ID,
        exposure: Exposure {
            pending_bets: 2,
            stakes: cents(4_000),
            potential_payout: cents(10_000),
        },
        max_liability: cents(15_000),
        own_max_liability: Some(cents(15_000)),
    }
}

/// Alice's room on it: 1000.00 in her wallet, a cap of 500.00.
fn room() -> StakeRoom {
    let event = exposure_of_the_event();
    StakeRoom {
        balance: cents(100_000),
        house_max_stake: cents(100_000_000),
        limits: RiskLimits {
            bettor_max_stake: Some(cents(50_000)),
            max_payout: cents(1_000_000_000),
            liability: event.exposure.liability(),
            max_liability: event.max_liability,
        },
    }
}

/// 200 on `GET /events/{id}/max-stake`.
pub fn max_stake() -> MaxStakeDto {
    let coefficient = cents(250);
    StakeQuote {
        event_id: EVENT_ID,
        coefficient,
        max_stake: largest(&Price::of([coefficient]), &room()),
        room: room(),
    }
    .into()
}

/// 200 on `GET /admin/events/{id}/exposure` and `PUT .../limits`.
pub fn exposure() -> ExposureDto {
    exposure_of_the_event().into()
}

/// 200 on `GET /admin/exposure`: the example event, open at 2.50, and
/// a newer one without bets under the default maximum.
pub fn open_exposures() -> OpenExposurePage {
    let deadline = chrono::DateTime::from_timestamp(1_924_970_400, 0).unwrap_or_default();
    let quiet = EventExposure {
        event_id: Uuid::from_u128(0x0193_6b40_1c20_7d4e_8f51_6a7b_8c9d_0e2f),
        exposure: Exposure {
            pending_bets: 0,
            stakes: Decimal::ZERO,
            potential_payout: Decimal::ZERO,
        },
        max_liability: cents(100_000_000),
        own_max_liability: None,
    };
    let open = |status, coefficient, exposure| {
        OpenExposure {
            status,
            coefficient: cents(coefficient),
            deadline,
            exposure,
        }
        .into()
    };
    OpenExposurePage {
        items: vec![
            open(LineEventStatus::Suspended, 140, quiet),
            open(LineEventStatus::New, 250, exposure_of_the_event()),
        ],
        next_cursor: None,
    }
}

/// 200 on `PUT /admin/bettors/{bettor}/limits`.
pub fn bettor_limits() -> BettorLimitsDto {
    BettorLimitsDto {
        bettor: "alice".to_owned(),
        max_stake: room()
            .limits
            .bettor_max_stake
            .map(shared_kernel::money::WireDecimal::from_decimal_exact),
        audit_id: AUDIT_ID,
    }
}

/// The refusal of a bet of `stake` at `coefficient` in `room`.
fn refusal(stake: Decimal, coefficient: Decimal, room: StakeRoom) -> Problem {
    let amount = crate::domain::BetSum::restore(stake);
    let price = Price::of([coefficient]);
    match check_risk(amount, &price, &room.limits) {
        Err(refused) => over_limit(refused, largest(&price, &room)),
        Ok(()) => Problem::internal(),
    }
}

/// 409 `liability-limit`: 100.00 at 2.50 would add 150.00 to a liability
/// of 60.00 whose maximum is 150.00.
pub fn liability_limit() -> Problem {
    refusal(cents(10_000), cents(250), room())
}

/// 409 `stake-limit`: 600.00, above alice's cap of 500.00.
pub fn stake_limit() -> Problem {
    let mut room = room();
    room.limits.max_liability = cents(100_000_000);
    refusal(cents(60_000), cents(250), room)
}

/// 409 `payout-limit`: 20,000.00 at 1000.00 would pay 20,000,000.00.
pub fn payout_limit() -> Problem {
    let mut room = room();
    room.balance = cents(5_000_000);
    room.limits.bettor_max_stake = None;
    room.limits.max_liability = cents(100_000_000_000);
    refusal(cents(2_000_000), cents(100_000), room)
}

/// 400: the event id is not a UUID.
pub fn bad_event_id() -> Problem {
    ApiPath::<EventPath>::rejection(
        "/admin/events/{id}/exposure",
        "/admin/events/not-a-uuid/exposure",
    )
    .unwrap_or_else(Problem::internal)
}

/// 403 with a token that is not a trader's.
pub fn not_trader() -> Problem {
    forbidden("trader")
}

/// 404: no such event.
pub fn unknown_event() -> Problem {
    RiskError::UnknownEvent(EVENT_ID).into()
}

/// 422: a negative limit.
pub fn invalid_limit() -> Problem {
    RiskError::InvalidLimit(RiskLimitError::Negative).into()
}
