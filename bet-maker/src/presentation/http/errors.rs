//! Use-case errors as problem documents. Database details are logged, with
//! every cause, and never sent to the client.

use shared_kernel::http::{FieldError, Problem};
use shared_kernel::storage::chain;

use super::idempotency_key::HEADER as IDEMPOTENCY_KEY;
use crate::application::ports::RepositoryError;
use crate::application::{BetError, LineError, WalletError};
use crate::domain::{BetRefused, InsufficientFunds, OddsChanged};

/// What a client is told while the database is unreachable.
pub const UNAVAILABLE: &str = "the database is unavailable; try again shortly";

impl From<BetError> for Problem {
    fn from(error: BetError) -> Self {
        match error {
            BetError::InvalidAmount(rule) => {
                Problem::validation(vec![FieldError::new("amount", rule)])
            }
            BetError::UnknownEvent(_) | BetError::NotFound(_) => {
                Problem::not_found(error.to_string())
            }
            BetError::InvalidCoefficient => {
                Problem::validation(vec![FieldError::new("coefficient", error.to_string())])
            }
            BetError::Refused(BetRefused::EventClosed) => {
                Problem::conflict("event-closed", error.to_string())
            }
            BetError::Refused(BetRefused::OddsChanged(changed)) => odds_changed(changed),
            BetError::InsufficientFunds(funds) => insufficient_funds(funds),
            BetError::KeyReused => {
                Problem::validation(vec![FieldError::new(IDEMPOTENCY_KEY, error.to_string())])
            }
            BetError::Contended => {
                tracing::warn!(error = %error, "request failed: event contended");
                Problem::unavailable(format!("{error}; try again"))
            }
            BetError::Storage(storage) => storage_problem(&storage),
        }
    }
}

impl From<WalletError> for Problem {
    fn from(error: WalletError) -> Self {
        match error {
            WalletError::InvalidAmount(rule) => {
                Problem::validation(vec![FieldError::new("amount", rule)])
            }
            WalletError::InsufficientFunds(funds) => insufficient_funds(funds),
            WalletError::KeyReused => {
                Problem::validation(vec![FieldError::new(IDEMPOTENCY_KEY, error.to_string())])
            }
            WalletError::BalanceLimit => Problem::conflict("balance-limit", error.to_string()),
            WalletError::Contended => {
                tracing::warn!(error = %error, "request failed: wallet contended");
                Problem::unavailable(format!("{error}; try again"))
            }
            WalletError::Storage(storage) => storage_problem(&storage),
        }
    }
}

/// 409 `odds-changed`: the detail says both coefficients, and the
/// extension member `current_coefficient` the one the event offers now (a
/// two-decimal string, like every coefficient).
pub fn odds_changed(changed: OddsChanged) -> Problem {
    let mut current = changed.current;
    current.rescale(2);
    Problem::conflict("odds-changed", changed.to_string())
        .with_extension("current_coefficient", current.to_string())
}

/// 409 `insufficient-funds`: the detail says the balance, and so does the
/// extension member `balance` (a two-decimal string, like every amount).
pub fn insufficient_funds(funds: InsufficientFunds) -> Problem {
    let mut balance = funds.balance;
    balance.rescale(2);
    Problem::conflict("insufficient-funds", funds.to_string())
        .with_extension("balance", balance.to_string())
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
