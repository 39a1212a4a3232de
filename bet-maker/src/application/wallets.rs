//! Use cases on a bettor's wallet: its balance, deposits, withdrawals, and
//! its statement.

use std::sync::Arc;

use rust_decimal::Decimal;
use shared_kernel::pagination::PageRequest;

use super::ports::{RepositoryError, StatementLine, WalletRepository};
use crate::domain::{BetSum, BetSumError, BettorId, InsufficientFunds, deposit, withdrawal};

/// How often a withdrawal is decided again when the balance changed
/// between reading it and writing (each round, another movement of the
/// same wallet committed: a bettor cannot keep that up for long).
const ROUNDS: usize = 16;

/// Why a use case on a wallet failed.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// The amount breaks a rule (422).
    #[error("amount {0}")]
    InvalidAmount(#[from] BetSumError),
    /// More than the balance (409 `insufficient-funds`).
    #[error(transparent)]
    InsufficientFunds(#[from] InsufficientFunds),
    /// The balance kept changing under a withdrawal (503, retry).
    #[error("the wallet kept changing; gave up after {ROUNDS} attempts")]
    Contended,
    /// Storage failed: 503 when the database is unreachable, 500 otherwise.
    #[error(transparent)]
    Storage(#[from] RepositoryError),
}

/// The use cases on wallets.
#[derive(Clone)]
pub struct WalletService {
    wallets: Arc<dyn WalletRepository>,
    max_amount: Decimal,
}

impl std::fmt::Debug for WalletService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalletService")
            .field("max_amount", &self.max_amount)
            .finish_non_exhaustive()
    }
}

impl WalletService {
    /// The use cases over `wallets`; a deposit or withdrawal follows the
    /// rules of a stake, up to `max_amount`.
    pub fn new(wallets: Arc<dyn WalletRepository>, max_amount: Decimal) -> Self {
        Self {
            wallets,
            max_amount,
        }
    }

    /// The bettor's balance.
    pub async fn balance(&self, bettor: &BettorId) -> Result<Decimal, WalletError> {
        Ok(self.wallets.balance(bettor).await?)
    }

    /// Pays `amount` into the bettor's wallet (made at the first deposit).
    pub async fn deposit(
        &self,
        bettor: &BettorId,
        amount: Decimal,
    ) -> Result<StatementLine, WalletError> {
        let amount = BetSum::new(amount, self.max_amount)?;
        let posting = deposit(amount);
        // A credit cannot take a balance below zero: it always posts.
        self.wallets
            .post(bettor, &posting)
            .await?
            .ok_or(WalletError::Contended)
    }

    /// Pays `amount` out of the bettor's wallet, if the balance covers it.
    pub async fn withdraw(
        &self,
        bettor: &BettorId,
        amount: Decimal,
    ) -> Result<StatementLine, WalletError> {
        let amount = BetSum::new(amount, self.max_amount)?;
        for _ in 0..ROUNDS {
            let balance = self.wallets.balance(bettor).await?;
            let posting = withdrawal(amount, balance)?;
            if let Some(line) = self.wallets.post(bettor, &posting).await? {
                return Ok(line);
            }
        }
        Err(WalletError::Contended)
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
