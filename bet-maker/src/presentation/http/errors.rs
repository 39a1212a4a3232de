//! Use-case errors as problem documents. Database details are logged, with
//! every cause, and never sent to the client.

use shared_kernel::http::{FieldError, Problem};
use shared_kernel::money::WireDecimal;
use shared_kernel::storage::chain;
use uuid::Uuid;

use super::idempotency_key::HEADER as IDEMPOTENCY_KEY;
use crate::application::ports::RepositoryError;
use crate::application::{
    AccountError, AdjustRefused, BetError, CashierError, LineError, PaymentError, RiskError,
    WalletError,
};
use crate::domain::{
    BetRefused, DepositLimitReached, Excluded, InsufficientFunds, LimitKind, OddsChanged,
};

/// What a client is told while the database is unreachable.
pub const UNAVAILABLE: &str = "the database is unavailable; try again shortly";

impl From<BetError> for Problem {
    fn from(error: BetError) -> Self {
        match error {
            BetError::InvalidAmount(rule) => {
                Problem::validation(vec![FieldError::new("amount", rule)])
            }
            BetError::Legs(rule) => Problem::validation(vec![FieldError::new("legs", rule)]),
            BetError::UnknownEvent(_) | BetError::NotFound(_) => {
                Problem::not_found(error.to_string())
            }
            BetError::InvalidCoefficient => {
                Problem::validation(vec![FieldError::new("coefficient", error.to_string())])
            }
            BetError::Refused(refused) => refusal(refused, None),
            BetError::LegRefused { event_id, refused } => {
                refusal(refused, Some(event_id)).with_extension("event_id", event_id.to_string())
            }
            BetError::InsufficientFunds(funds) => insufficient_funds(funds),
            BetError::KeyReused => {
                Problem::validation(vec![FieldError::new(IDEMPOTENCY_KEY, error.to_string())])
            }
            BetError::Excluded(until) => excluded(until),
            BetError::OverLimit { refused, max_stake } => over_limit(refused, max_stake),
            BetError::Contended => {
                tracing::warn!(error = %error, "request failed: event contended");
                Problem::unavailable(format!("{error}; try again"))
            }
            BetError::Storage(storage) => storage_problem(&storage),
        }
    }
}

/// 409 for a bet the rules refuse: `event-closed`, `event-suspended`, or
/// `odds-changed` with the coefficient offered now; for an accumulator's
/// leg, the detail names its event.
fn refusal(refused: BetRefused, leg: Option<Uuid>) -> Problem {
    let on = leg.map_or_else(String::new, |event_id| format!("event {event_id}: "));
    match refused {
        BetRefused::EventClosed => Problem::conflict("event-closed", format!("{on}{refused}")),
        BetRefused::EventSuspended => Problem::conflict(
            "event-suspended",
            format!("{on}{refused}; it may resume: watch GET /events/stream"),
        ),
        BetRefused::OddsChanged(changed) => odds_changed(changed, &on),
    }
}

impl From<WalletError> for Problem {
    fn from(error: WalletError) -> Self {
        match error {
            WalletError::Storage(storage) => storage_problem(&storage),
        }
    }
}

impl From<PaymentError> for Problem {
    fn from(error: PaymentError) -> Self {
        match error {
            PaymentError::InvalidAmount(rule) => {
                Problem::validation(vec![FieldError::new("amount", rule)])
            }
            PaymentError::InsufficientFunds(funds) => insufficient_funds(funds),
            PaymentError::DepositLimit(reached) => deposit_limit(reached),
            PaymentError::Excluded(until) => excluded(until),
            PaymentError::KeyReused => {
                Problem::validation(vec![FieldError::new(IDEMPOTENCY_KEY, error.to_string())])
            }
            PaymentError::NotFound { .. } => Problem::not_found(error.to_string()),
            PaymentError::Contended => {
                tracing::warn!(error = %error, "request failed: key contended");
                Problem::unavailable(format!("{error}; try again"))
            }
            PaymentError::Storage(storage) => storage_problem(&storage),
        }
    }
}

impl From<AdjustRefused> for Problem {
    fn from(AdjustRefused(errors): AdjustRefused) -> Self {
        let mut fields = Vec::new();
        for error in errors {
            match error {
                CashierError::InvalidAmount(rule) => fields.push(FieldError::new("amount", rule)),
                CashierError::InvalidReason => fields.push(FieldError::new("reason", &error)),
                CashierError::InsufficientFunds(funds) => return insufficient_funds(funds),
                CashierError::BalanceLimit => {
                    return Problem::conflict("balance-limit", error.to_string());
                }
                CashierError::Storage(storage) => return storage_problem(&storage),
            }
        }
        Problem::validation(fields)
    }
}

impl From<CashierError> for Problem {
    fn from(error: CashierError) -> Self {
        AdjustRefused::from(error).into()
    }
}

impl From<AccountError> for Problem {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::InvalidLimits(invalid) => Problem::validation(
                invalid
                    .into_iter()
                    .map(|(period, rule)| {
                        FieldError::new(format!("deposit_{}", period.as_str()), rule)
                    })
                    .collect(),
            ),
            AccountError::Storage(storage) => storage_problem(&storage),
        }
    }
}

/// 403 `excluded`: bets and deposits while a time-out or self-exclusion
/// lasts; `until` is when it ends (`null` with `permanent: true` for ever).
pub fn excluded(until: Excluded) -> Problem {
    let forbidden = |detail: String| {
        Problem::new(
            axum::http::StatusCode::FORBIDDEN,
            "excluded",
            "Excluded",
            detail,
        )
    };
    match until {
        Excluded::Until(end) => {
            let end = end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            forbidden(format!(
                "you are excluded from bets and deposits until {end}; withdrawals stay open"
            ))
            .with_extension("until", end)
            .with_extension("permanent", false)
        }
        Excluded::Permanently => forbidden(
            "you are excluded from bets and deposits for good; withdrawals stay open".to_owned(),
        )
        .with_extension("until", serde_json::Value::Null)
        .with_extension("permanent", true),
    }
}

/// 409 `stake-limit`, `payout-limit` or `liability-limit`: the bet is
/// refused whole; the extension member `max_stake` is the largest stake
/// that would be taken now (every limit and the balance considered;
/// `"0.00"`: none).
pub fn over_limit(refused: LimitKind, max_stake: rust_decimal::Decimal) -> Problem {
    let slug = match refused {
        LimitKind::Stake => "stake-limit",
        LimitKind::Payout => "payout-limit",
        LimitKind::Liability => "liability-limit",
    };
    let max_stake = WireDecimal::from_decimal_exact(max_stake).to_string();
    Problem::conflict(
        slug,
        format!("{refused}; the largest stake taken now is {max_stake}"),
    )
    .with_extension("max_stake", max_stake)
}

impl From<RiskError> for Problem {
    fn from(error: RiskError) -> Self {
        match error {
            RiskError::InvalidLimit(rule) => {
                Problem::validation(vec![FieldError::new("limit", rule)])
            }
            RiskError::InvalidReason => {
                Problem::validation(vec![FieldError::new("reason", error.to_string())])
            }
            RiskError::UnknownEvent(_) => Problem::not_found(error.to_string()),
            RiskError::Storage(storage) => storage_problem(&storage),
        }
    }
}

/// 409 `deposit-limit`: which limit, and what may still be deposited.
pub fn deposit_limit(reached: DepositLimitReached) -> Problem {
    let money = |value| WireDecimal::from_decimal_exact(value).to_string();
    Problem::conflict("deposit-limit", reached.to_string())
        .with_extension("period", reached.period.as_str())
        .with_extension("limit", money(reached.limit))
        .with_extension("remaining", money(reached.remaining))
}

/// 409 `odds-changed`: the detail says both coefficients, and the
/// extension member `current_coefficient` the one the event offers now (a
/// two-decimal string, like every coefficient).
pub fn odds_changed(changed: OddsChanged, on: &str) -> Problem {
    let mut current = changed.current;
    current.rescale(2);
    Problem::conflict("odds-changed", format!("{on}{changed}"))
        .with_extension("current_coefficient", current.to_string())
}

/// 409 `insufficient-funds`, or `negative-balance` while the wallet is
/// below zero: the detail says the balance, and so does the extension
/// member `balance` (a two-decimal string, like every amount).
pub fn insufficient_funds(funds: InsufficientFunds) -> Problem {
    let mut balance = funds.balance;
    balance.rescale(2);
    let problem = if funds.is_negative_balance() {
        Problem::conflict(
            "negative-balance",
            format!(
                "the balance is {balance}, below zero after a corrected result; deposit to cover it before betting or withdrawing"
            ),
        )
    } else {
        Problem::conflict("insufficient-funds", funds.to_string())
    };
    problem.with_extension("balance", balance.to_string())
}

impl From<LineError> for Problem {
    fn from(error: LineError) -> Self {
        match error {
            LineError::Storage(storage) => storage_problem(&storage),
            LineError::LineProvider(_) => {
                tracing::error!(error = %chain(&error), "request failed");
                Problem::internal()
            }
        }
    }
}

/// 503 while the database is unreachable (worth retrying), else 500; the
/// log line names the operation and every cause.
pub(super) fn storage_problem(error: &RepositoryError) -> Problem {
    if error.is_unavailable() {
        tracing::warn!(error = %chain(error), "request failed: database unavailable");
        Problem::unavailable(UNAVAILABLE)
    } else {
        tracing::error!(error = %chain(error), "request failed");
        Problem::internal()
    }
}
