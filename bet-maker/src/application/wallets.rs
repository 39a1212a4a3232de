//! Use cases on a bettor's wallet: its balance and its statement. Money
//! moves in and out through [`super::PaymentService`] (the provider) and
//! [`super::CashierService`] (staff), never on the bettor's word.

use std::sync::Arc;

use rust_decimal::Decimal;
use shared_kernel::pagination::PageRequest;

use super::ports::{RepositoryError, StatementLine, WalletRepository};
use crate::domain::{BettorId, Currency};

/// Why a use case on a wallet failed.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// Storage failed: 503 when the database is unreachable, 500 otherwise.
    #[error(transparent)]
    Storage(#[from] RepositoryError),
}

/// The use cases on wallets.
#[derive(Clone)]
pub struct WalletService {
    wallets: Arc<dyn WalletRepository>,
    currency: Currency,
}

impl std::fmt::Debug for WalletService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalletService")
            .field("currency", &self.currency)
            .finish_non_exhaustive()
    }
}

impl WalletService {
    /// The use cases over `wallets`, whose wallets hold `currency`.
    pub fn new(wallets: Arc<dyn WalletRepository>, currency: Currency) -> Self {
        Self { wallets, currency }
    }

    /// The currency every wallet holds.
    pub fn currency(&self) -> &Currency {
        &self.currency
    }

    /// The bettor's balance.
    pub async fn balance(&self, bettor: &BettorId) -> Result<Decimal, WalletError> {
        Ok(self.wallets.balance(bettor).await?)
    }

    /// A page of the bettor's statement, newest first (one extra when there
    /// are more).
    pub async fn statement(
        &self,
        bettor: &BettorId,
        page: PageRequest,
    ) -> Result<Vec<StatementLine>, WalletError> {
        Ok(self.wallets.statement(bettor, page).await?)
    }
}
