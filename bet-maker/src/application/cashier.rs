//! Use cases of staff: a cashier's adjustment of a wallet, and the audit
//! log of every staff action.

use std::sync::Arc;

use rust_decimal::Decimal;
use shared_kernel::pagination::PageRequest;

use super::ports::{
    AdjustOutcome, AdjustmentRequest, AuditEntry, RepositoryError, StaffRepository, StatementLine,
};
use crate::domain::{Adjustment, BetSumError, BettorId, InsufficientFunds};

/// The longest reason a staff action may give.
pub const MAX_REASON_CHARS: usize = 500;

/// Why a staff use case failed.
#[derive(Debug, thiserror::Error)]
pub enum CashierError {
    /// The amount breaks a rule (422).
    #[error("amount {0}")]
    InvalidAmount(#[from] BetSumError),
    /// No reason, or a longer one than [`MAX_REASON_CHARS`] (422).
    #[error("reason must be 1 to {MAX_REASON_CHARS} characters, not only spaces")]
    InvalidReason,
    /// The adjustment would take the wallet below zero (409
    /// `insufficient-funds`).
    #[error(transparent)]
    InsufficientFunds(#[from] InsufficientFunds),
    /// Past what a wallet holds (409 `balance-limit`).
    #[error("the balance would exceed the most a wallet holds")]
    BalanceLimit,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] RepositoryError),
}

/// Every reason an adjustment was refused (several only for invalid
/// input, so the caller hears of all of it at once).
#[derive(Debug, thiserror::Error)]
#[error("the adjustment was refused")]
pub struct AdjustRefused(pub Vec<CashierError>);

impl From<CashierError> for AdjustRefused {
    fn from(error: CashierError) -> Self {
        Self(vec![error])
    }
}

/// A cashier's adjustment as asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjustmentOrder {
    /// The staff member.
    pub actor: BettorId,
    /// Whose wallet.
    pub bettor_id: BettorId,
    /// Signed: positive pays in, negative takes out.
    pub amount: Decimal,
    /// Why.
    pub reason: String,
}

/// The staff use cases.
#[derive(Clone)]
pub struct CashierService {
    staff: Arc<dyn StaffRepository>,
    max_amount: Decimal,
}

impl std::fmt::Debug for CashierService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CashierService")
            .field("max_amount", &self.max_amount)
            .finish_non_exhaustive()
    }
}

impl CashierService {
    /// Staff actions stored in `staff`; an adjustment is at most
    /// `max_amount` either way.
    pub fn new(staff: Arc<dyn StaffRepository>, max_amount: Decimal) -> Self {
        Self { staff, max_amount }
    }

    /// Moves money into (or out of) a wallet, with the reason, audited.
    /// Every rule is checked together, so the caller hears of all of them.
    pub async fn adjust(
        &self,
        order: AdjustmentOrder,
    ) -> Result<(StatementLine, AuditEntry), AdjustRefused> {
        let amount = Adjustment::new(order.amount, self.max_amount);
        let reason = order.reason.trim();
        let reason_ok = !reason.is_empty() && order.reason.chars().count() <= MAX_REASON_CHARS;
        let amount = match (amount, reason_ok) {
            (Ok(amount), true) => amount,
            (amount, reason_ok) => {
                let mut errors = Vec::new();
                if let Err(rule) = amount {
                    errors.push(CashierError::InvalidAmount(rule));
                }
                if !reason_ok {
                    errors.push(CashierError::InvalidReason);
                }
                return Err(AdjustRefused(errors));
            }
        };
        let outcome = self
            .staff
            .adjust(AdjustmentRequest {
                actor: &order.actor,
                bettor_id: &order.bettor_id,
                amount,
                reason,
            })
            .await
            .map_err(CashierError::from)?;
        match outcome {
            AdjustOutcome::Adjusted(adjusted) => {
                let (line, entry) = *adjusted;
                metrics::counter!("wallet_movements_total", "kind" => "adjustment").increment(1);
                tracing::info!(actor = %order.actor, bettor = %order.bettor_id, amount = %amount.value(), "wallet adjusted");
                Ok((line, entry))
            }
            AdjustOutcome::InsufficientFunds(funds) => Err(CashierError::from(funds).into()),
            AdjustOutcome::BalanceLimit => Err(CashierError::BalanceLimit.into()),
        }
    }

    /// A page of the audit log, newest first (one extra when there are
    /// more).
    pub async fn audit(&self, page: PageRequest) -> Result<Vec<AuditEntry>, CashierError> {
        Ok(self.staff.audit(page).await?)
    }
}
