//! The examples Swagger UI shows, one per response. Each is made by the
//! code that makes the real response (the same error mapping, the same
//! extractors, the domain's rules), so an example cannot say something the
//! API would not.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use chrono::{DateTime, TimeZone, Utc};
use futures_util::FutureExt;
use rust_decimal::Decimal;
use shared_kernel::http::{ApiJson, ApiPath, PageQuery, Problem, parse_json};
use shared_kernel::money::WireDecimal;
use uuid::Uuid;

use super::bettor::{TokenRefusal, unauthorized};
use super::cash_out::CashOutQuoteDto;
use super::dto::{BetDto, BetPath, BetSlipRequest, ListBetsQuery};
use super::errors::{UNAVAILABLE, insufficient_funds as insufficient_funds_problem};
use super::idempotency_key::IdempotencyKey;
use super::wallet_dto::{
    MovementRequest, WalletDto, WalletLineDto, WalletLineKind, WalletLinePage,
};
use crate::application::ports::CashOutQuote;
use crate::application::{BetError, CashOutError, PaymentError};
use crate::domain::{
    Bet, BetRefused, BetSettled, BetStatus, BetSum, BetSumError, BettorId, CashOutRefused,
    InsufficientFunds, Leg, LegsError, LineEvent, LineEventStatus, OddsChanged, StoredBet,
    ToSettle, cash_out_offer, settle, settle_bet,
};

const EVENT_ID: Uuid = Uuid::from_u128(0x0193_6b2f_8a10_7c3e_9d41_5e6f_7a8b_9c0d);
const BET_ID: Uuid = Uuid::from_u128(0x0193_6b30_1c22_7d4f_8e52_6f70_8b9c_0d1e);
const DEPOSIT_ID: Uuid = Uuid::from_u128(0x0193_6b2e_4f01_7a2b_8c3d_4e5f_6a7b_8c9d);
const WITHDRAWAL_ID: Uuid = Uuid::from_u128(0x0193_6b31_0a12_7b3c_9d4e_5f6a_7b8c_9d0e);

fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 6, 1, hour, minute, 0)
        .single()
        .unwrap_or_default()
}

fn stake() -> Decimal {
    Decimal::new(1050, 2)
}

fn odds() -> Decimal {
    Decimal::new(185, 2)
}

/// The second event of the example accumulator.
const SECOND_EVENT_ID: Uuid = Uuid::from_u128(0x0193_6b2f_9b21_7d4f_8e52_6f70_8b9c_0d1f);

fn second_odds() -> Decimal {
    Decimal::new(210, 2)
}

/// The example bet, with these legs, as `settled` left it (pending when
/// `None`), through the domain's own types.
fn example_bet(legs: Vec<Leg>, settled: Option<BetSettled>) -> BetDto {
    let settled_at = settled.as_ref().map(|_| at(19, 52));
    BetDto::from(Bet::restore(StoredBet {
        id: BET_ID,
        bettor_id: BettorId::restore("alice".to_owned()),
        amount: stake(),
        legs,
        status: settled.as_ref().map_or(BetStatus::Pending, |s| s.status),
        payout: settled.as_ref().map(|s| s.payout),
        void_reason: settled.as_ref().and_then(|s| s.void_reason),
        placed_at: at(17, 5),
        settled_at,
    }))
}

/// A leg on `event_id` at `coefficient`, decided as `status` at
/// `decided_at` by the domain's rule (open when `None`).
fn leg(
    event_id: Uuid,
    coefficient: Decimal,
    decided: Option<(LineEventStatus, DateTime<Utc>)>,
) -> Leg {
    let open = Leg::open(event_id, coefficient);
    let settled = decided.and_then(|(status, decided_at)| {
        let amount = BetSum::new(stake(), Decimal::MAX).ok()?;
        let bet = ToSettle {
            amount,
            coefficient,
            placed_at: at(17, 5),
            offered: Some(coefficient),
        };
        settle(bet, status, decided_at)
    });
    match settled {
        Some(settled) => Leg {
            status: settled.leg_status(),
            settled_coefficient: settled.coefficient,
            void_reason: settled.void_reason,
            ..open
        },
        None => open,
    }
}

/// The example bet of these legs, settled by the domain's rule when they
/// decide it.
fn bet_of(legs: Vec<Leg>) -> BetDto {
    let settled = BetSum::new(stake(), Decimal::MAX)
        .ok()
        .and_then(|amount| settle_bet(amount, &legs));
    example_bet(legs, settled)
}

/// 201: a bet just placed is PENDING, with neither payout nor settled_at.
pub fn placed_bet() -> BetDto {
    bet_of(vec![leg(EVENT_ID, odds(), None)])
}

/// 200: the same bet once its event finished as a win, paid by the
/// domain's rule.
pub fn settled_bet() -> BetDto {
    settled_as(LineEventStatus::FinishedWin, at(19, 50))
}

/// 200: the same bet once its event was cancelled: void, the stake paid
/// back by the domain's rule.
pub fn void_bet() -> BetDto {
    settled_as(LineEventStatus::Cancelled, at(19, 50))
}

/// 200: the same bet had it been placed after line-provider decided the
/// result (at 17:00, a moment before bet-maker heard of it): void as late,
/// the stake back, by the domain's rule.
pub fn late_bet() -> BetDto {
    settled_as(LineEventStatus::FinishedWin, at(17, 0))
}

/// The example single, settled by the domain's rule for an event decided
/// as `status` at `decided_at`.
fn settled_as(status: LineEventStatus, decided_at: DateTime<Utc>) -> BetDto {
    bet_of(vec![leg(EVENT_ID, odds(), Some((status, decided_at)))])
}

/// 201: an accumulator of two legs (1.85 × 2.10 = 3.885), PENDING.
pub fn placed_accumulator() -> BetDto {
    bet_of(vec![
        leg(EVENT_ID, odds(), None),
        leg(SECOND_EVENT_ID, second_odds(), None),
    ])
}

/// 200: the accumulator with its first leg won and the second open: still
/// PENDING.
pub fn half_settled_accumulator() -> BetDto {
    bet_of(vec![
        leg(
            EVENT_ID,
            odds(),
            Some((LineEventStatus::FinishedWin, at(19, 50))),
        ),
        leg(SECOND_EVENT_ID, second_odds(), None),
    ])
}

/// 200: the accumulator once both legs won: 10.50 × 3.885 = 40.7925,
/// paid 40.79.
pub fn won_accumulator() -> BetDto {
    bet_of(vec![
        leg(
            EVENT_ID,
            odds(),
            Some((LineEventStatus::FinishedWin, at(19, 50))),
        ),
        leg(
            SECOND_EVENT_ID,
            second_odds(),
            Some((LineEventStatus::FinishedWin, at(21, 50))),
        ),
    ])
}

/// The body of a single's `POST /bets`.
pub fn single_slip() -> serde_json::Value {
    serde_json::json!({"event_id": EVENT_ID, "amount": stake().to_string()})
}

/// The body of an accumulator's `POST /bets`: the example accumulator,
/// each leg at the coefficient seen, a higher one accepted.
pub fn accumulator_slip() -> serde_json::Value {
    serde_json::json!({
        "legs": [
            {"event_id": EVENT_ID, "coefficient": odds().to_string()},
            {"event_id": SECOND_EVENT_ID, "coefficient": second_odds().to_string()},
        ],
        "amount": stake().to_string(),
        "accept_odds_change": "higher",
    })
}

/// 404 on `POST /bets`.
pub fn unknown_event() -> Problem {
    BetError::UnknownEvent(EVENT_ID).into()
}

/// 404 on `GET /bets/{id}`.
pub fn unknown_bet() -> Problem {
    BetError::NotFound(BET_ID).into()
}

/// 409 on `POST /bets`.
pub fn event_closed() -> Problem {
    BetError::Refused(BetRefused::EventClosed).into()
}

/// 409 on `POST /bets`: an accumulator with a suspended leg, named.
pub fn leg_suspended() -> Problem {
    BetError::LegRefused {
        event_id: SECOND_EVENT_ID,
        refused: BetRefused::EventSuspended,
    }
    .into()
}

/// 422 on `POST /bets`: an accumulator with one event twice.
pub fn repeated_leg() -> Problem {
    BetError::Legs(LegsError::Repeated(EVENT_ID)).into()
}

/// 409 on `POST /bets`: line-provider suspended the event.
pub fn event_suspended() -> Problem {
    BetError::Refused(BetRefused::EventSuspended).into()
}

/// 409 on `POST /bets` and `POST /wallet/withdrawals`: a correction took
/// back a payout already spent.
pub fn negative_balance() -> Problem {
    BetError::InsufficientFunds(InsufficientFunds {
        balance: Decimal::new(-850, 2),
        wanted: stake(),
    })
    .into()
}

/// 409 on `POST /bets`: the coefficient moved from 1.85, the one sent,
/// to 1.90, and the bettor accepted no change.
pub fn odds_changed() -> Problem {
    BetError::Refused(BetRefused::OddsChanged(OddsChanged {
        seen: Decimal::new(185, 2),
        current: Decimal::new(190, 2),
    }))
    .into()
}

/// 422 on `POST /bets`: a stake finer than a cent.
pub fn invalid_amount() -> Problem {
    BetError::InvalidAmount(BetSumError::TooPrecise).into()
}

/// 422 on `POST /bets`: an `Idempotency-Key` used for another bet.
pub fn key_reused() -> Problem {
    BetError::KeyReused.into()
}

/// 400 on `POST /bets`: a body cut short.
pub fn malformed_body() -> Problem {
    parse_json::<BetSlipRequest>(br#"{"event_id": "#)
        .err()
        .unwrap_or_else(Problem::internal)
}

/// 400 on `POST /bets`: a key with a space.
pub fn malformed_key() -> Problem {
    IdempotencyKey::parse(&HeaderValue::from_static("my key"))
        .err()
        .unwrap_or_else(Problem::internal)
}

/// 415 on `POST /bets`: a form sent where JSON belongs. The extractor
/// refuses it on the header alone, before reading the body, so its future
/// is ready at once.
pub fn not_json() -> Problem {
    let request = Request::builder()
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("amount=10.50"))
        .unwrap_or_default();
    ApiJson::<BetSlipRequest>::from_request(request, &())
        .now_or_never()
        .and_then(Result::err)
        .unwrap_or_else(Problem::internal)
}

/// 400 on `GET /events`: a page size out of range.
pub fn bad_page() -> Problem {
    PageQuery {
        limit: Some(0),
        cursor: None,
    }
    .parse()
    .err()
    .unwrap_or_else(Problem::internal)
}

/// 400 on `GET /bets`: a page size out of range.
pub fn bad_bets_query() -> Problem {
    ListBetsQuery {
        status: None,
        event_id: None,
        limit: Some(501),
        cursor: None,
    }
    .parse()
    .err()
    .unwrap_or_else(Problem::internal)
}

/// 400 on `GET /bets/{id}`: an id that is not a UUID, as the path
/// extractor answers it.
pub fn bad_bet_id() -> Problem {
    ApiPath::<BetPath>::rejection("/bets/{id}", "/bets/not-a-uuid")
        .unwrap_or_else(Problem::internal)
}

/// 401 on bettor calls: no `Authorization` header.
pub fn no_token() -> Problem {
    unauthorized(TokenRefusal::Missing)
}

/// 401 on bettor calls: a token past its `exp`.
pub fn expired_token() -> Problem {
    unauthorized(TokenRefusal::Expired)
}

/// 503: the database is unreachable.
pub fn unavailable() -> Problem {
    Problem::unavailable(UNAVAILABLE)
}

/// 200 on `GET /wallet`: after a deposit of 100.00 and a withdrawal of
/// 30.00.
pub fn wallet() -> WalletDto {
    WalletDto {
        balance: WireDecimal::from_decimal_exact(Decimal::new(7000, 2)),
        currency: "EUR".to_owned(),
    }
}

fn line(
    id: Uuid,
    kind: WalletLineKind,
    amount: i64,
    balance_after: i64,
    minute: u32,
) -> WalletLineDto {
    WalletLineDto {
        id,
        kind,
        amount: WireDecimal::from_decimal_exact(Decimal::new(amount, 2)),
        balance_after: WireDecimal::from_decimal_exact(Decimal::new(balance_after, 2)),
        bet_id: None,
        payment_id: Some(id),
        created_at: at(17, minute),
    }
}

/// A deposit of 100.00 the provider confirmed, into an empty wallet.
pub fn deposit_line() -> WalletLineDto {
    line(DEPOSIT_ID, WalletLineKind::Deposit, 10_000, 10_000, 1)
}

/// A withdrawal of 30.00 asked for: out at once, the amount negative.
pub fn withdrawal_line() -> WalletLineDto {
    line(WITHDRAWAL_ID, WalletLineKind::Withdrawal, -3_000, 7_000, 9)
}

/// 200 on `GET /wallet/transactions`: both lines, newest first.
pub fn statement() -> WalletLinePage {
    WalletLinePage {
        items: vec![withdrawal_line(), deposit_line()],
        next_cursor: None,
    }
}

/// 409 on `POST /wallet/withdrawals` and `POST /bets`: more than the
/// balance.
pub fn insufficient_funds() -> Problem {
    insufficient_funds_problem(InsufficientFunds {
        balance: Decimal::new(7000, 2),
        wanted: Decimal::new(10_000, 2),
    })
}

/// 422 on a deposit or withdrawal: an amount finer than a cent.
pub fn invalid_movement_amount() -> Problem {
    PaymentError::InvalidAmount(BetSumError::TooPrecise).into()
}

/// 422 on a deposit or withdrawal: an `Idempotency-Key` used for another
/// request.
pub fn movement_key_reused() -> Problem {
    PaymentError::KeyReused.into()
}

/// 400 on a deposit or withdrawal: a body cut short.
pub fn malformed_movement() -> Problem {
    parse_json::<MovementRequest>(br#"{"amount": "#)
        .err()
        .unwrap_or_else(Problem::internal)
}

/// 415 on a deposit or withdrawal: a form sent where JSON belongs.
pub fn movement_not_json() -> Problem {
    let request = Request::builder()
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("amount=100.00"))
        .unwrap_or_default();
    ApiJson::<MovementRequest>::from_request(request, &())
        .now_or_never()
        .and_then(Result::err)
        .unwrap_or_else(Problem::internal)
}

/// 200 on `GET /events/stream`: two changes as they arrive.
pub fn line_stream() -> &'static str {
    "id: 41\nevent: line\ndata: {\"id\":\"0193a4b2-7c1e-7d3a-9f10-5b2c8e4d6a01\",\"coefficient\":\"1.85\",\"deadline\":\"2030-06-01T18:00:00Z\",\"status\":\"NEW\",\"version\":2}\n\n\
     : keep-alive\n\n\
     id: 42\nevent: line\ndata: {\"id\":\"0193a4b2-7c1e-7d3a-9f10-5b2c8e4d6a01\",\"coefficient\":\"1.85\",\"deadline\":\"2030-06-01T18:00:00Z\",\"status\":\"FINISHED_WIN\",\"version\":3}\n\n"
}

/// 200 on `GET /bets/stream`: a bet placed (the stake leaves the wallet),
/// then won (the payout arrives).
pub fn bets_stream() -> &'static str {
    "id: 43\nevent: wallet\ndata: {\"balance\":\"90.00\",\"currency\":\"EUR\"}\n\n\
     id: 44\nevent: bet\ndata: {\"id\":\"0193a4b3-0000-7000-8000-000000000001\",\"event_id\":\"0193a4b2-7c1e-7d3a-9f10-5b2c8e4d6a01\",\"amount\":\"10.00\",\"coefficient\":\"1.85\",\"status\":\"PENDING\",\"placed_at\":\"2030-06-01T17:00:00Z\"}\n\n\
     id: 45\nevent: bet\ndata: {\"id\":\"0193a4b3-0000-7000-8000-000000000001\",\"event_id\":\"0193a4b2-7c1e-7d3a-9f10-5b2c8e4d6a01\",\"amount\":\"10.00\",\"coefficient\":\"1.85\",\"status\":\"WON\",\"payout\":\"18.50\",\"placed_at\":\"2030-06-01T17:00:00Z\",\"settled_at\":\"2030-06-01T20:00:00Z\",\"settled_coefficient\":\"1.85\"}\n\n\
     id: 46\nevent: wallet\ndata: {\"balance\":\"108.50\",\"currency\":\"EUR\"}\n\n"
}

/// 400 on the streams: a `Last-Event-ID` no stream sent.
pub fn bad_last_event_id() -> Problem {
    super::streams::refused_last_event_id()
}

/// 429: the client has the most live streams open it may (the refusal
/// itself, from a cap of one already taken).
pub fn too_many_streams() -> Problem {
    let slots = shared_kernel::http::StreamSlots::new(1);
    let client = shared_kernel::http::ClientAddress([192, 0, 2, 1].into());
    let _held = slots.acquire(client);
    slots
        .acquire(client)
        .err()
        .unwrap_or_else(Problem::internal)
}

/// The example accumulator's second event.
pub fn second_event() -> Uuid {
    SECOND_EVENT_ID
}

const QUOTE_ID: Uuid = Uuid::from_u128(0x0193_6b32_2b23_7c4d_9e5f_6a7b_8c9d_0e1f);

/// When the example quote expires: 10 s after it was made, at 20:15.
pub fn quote_expiry() -> DateTime<Utc> {
    at(20, 15) + chrono::Duration::seconds(10)
}

/// The example accumulator once its first leg won, as bet-maker holds it.
fn half_settled() -> Bet {
    let legs = vec![
        leg(
            EVENT_ID,
            odds(),
            Some((LineEventStatus::FinishedWin, at(19, 50))),
        ),
        leg(SECOND_EVENT_ID, second_odds(), None),
    ];
    Bet::restore(StoredBet {
        id: BET_ID,
        bettor_id: BettorId::restore("alice".to_owned()),
        amount: stake(),
        legs,
        status: BetStatus::Pending,
        payout: None,
        void_reason: None,
        placed_at: at(17, 5),
        settled_at: None,
    })
}

/// The example quote, by the domain's rule: the first leg won at 1.85,
/// the open one drifted from 2.10 to 1.50 (likelier to win), margin 0.05:
/// 10.50 × 3.885 / 1.50 × 0.95 = 25.835 → 25.83, floored.
fn example_quote() -> Option<CashOutQuote> {
    let second = LineEvent {
        id: SECOND_EVENT_ID,
        coefficient: Decimal::new(150, 2),
        deadline: at(21, 0),
        status: LineEventStatus::New,
        version: 2,
    };
    let offer = cash_out_offer(&half_settled(), &[second], Decimal::new(5, 2), at(20, 15)).ok()?;
    Some(CashOutQuote {
        id: QUOTE_ID,
        bet_id: BET_ID,
        offer,
        quoted_at: at(20, 15),
        expires_at: quote_expiry(),
    })
}

/// 200 on `POST /bets/{id}/cash-out/quote`.
pub fn cash_out_quote() -> serde_json::Value {
    example_quote()
        .map(|quote| serde_json::json!(CashOutQuoteDto::from(quote)))
        .unwrap_or_default()
}

/// The body of `POST /bets/{id}/cash-out`.
pub fn cash_out_request() -> serde_json::Value {
    serde_json::json!({"quote_id": QUOTE_ID})
}

/// 200 on `POST /bets/{id}/cash-out`: the example accumulator cashed out
/// at the example quote.
pub fn cashed_out_bet() -> BetDto {
    let bet = half_settled();
    let paid = example_quote().map(|quote| quote.offer.amount);
    BetDto::from(Bet::restore(StoredBet {
        id: bet.id(),
        bettor_id: bet.bettor_id().clone(),
        amount: bet.amount().value(),
        legs: bet.legs().to_vec(),
        status: BetStatus::CashedOut,
        payout: paid,
        void_reason: None,
        placed_at: bet.placed_at(),
        settled_at: Some(at(20, 15)),
    }))
}

/// 409 on the cash-out calls.
pub fn cash_out_refused(refused: CashOutRefused) -> Problem {
    CashOutError::Refused(refused).into()
}

/// 422 on `POST /bets/{id}/cash-out`: a quote of another bet, or none.
pub fn unknown_quote() -> Problem {
    CashOutError::UnknownQuote(QUOTE_ID).into()
}
