//! Use cases on a bettor's wallet: its balance, deposits, withdrawals, and
//! its statement.

use std::sync::Arc;

use rust_decimal::Decimal;
use shared_kernel::pagination::PageRequest;

use super::ports::{
    EarlierUse, IdempotencyClaim, PostOutcome, RepositoryError, StatementLine, WalletRepository,
};
use crate::domain::{
    BetSum, BetSumError, BettorId, Currency, InsufficientFunds, MAX_BALANCE, Posting, deposit,
    withdrawal,
};

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
    /// The idempotency key was used for another request (422).
    #[error("the Idempotency-Key was already used for a different request")]
    KeyReused,
    /// The deposit would take the balance above the most a wallet holds
    /// (409 `balance-limit`).
    #[error("the balance would exceed {MAX_BALANCE}, the most a wallet holds")]
    BalanceLimit,
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
    currency: Currency,
}

impl std::fmt::Debug for WalletService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalletService")
            .field("max_amount", &self.max_amount)
            .field("currency", &self.currency)
            .finish_non_exhaustive()
    }
}

/// A deposit or withdrawal as the bettor asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    /// Whose wallet.
    pub bettor_id: BettorId,
    /// The amount as sent (the rules of a stake apply).
    pub amount: Decimal,
    /// The `Idempotency-Key` header, if sent: the bettor's own, shared with
    /// their bets (a key that placed a bet is reused by a deposit).
    pub idempotency_key: Option<String>,
}

impl WalletService {
    /// The use cases over `wallets`, whose wallets hold `currency`; a
    /// deposit or withdrawal follows the rules of a stake, up to
    /// `max_amount`.
    pub fn new(
        wallets: Arc<dyn WalletRepository>,
        max_amount: Decimal,
        currency: Currency,
    ) -> Self {
        Self {
            wallets,
            max_amount,
            currency,
        }
    }

    /// The currency every wallet holds.
    pub fn currency(&self) -> &Currency {
        &self.currency
    }

    /// The bettor's balance.
    pub async fn balance(&self, bettor: &BettorId) -> Result<Decimal, WalletError> {
        Ok(self.wallets.balance(bettor).await?)
    }

    /// Pays the amount into the bettor's wallet (made at the first
    /// deposit). With a key, a retry of the same request returns the first
    /// line and moves nothing.
    pub async fn deposit(&self, movement: Movement) -> Result<StatementLine, WalletError> {
        let amount = BetSum::new(movement.amount, self.max_amount)?;
        let claim = claim(&movement, "deposit", amount);
        if let Some(line) = self.replay(claim.as_ref()).await? {
            return Ok(line);
        }
        // A credit cannot take a balance below zero: it posts unless a
        // concurrent duplicate took the key.
        self.post(&movement.bettor_id, &deposit(amount), claim.as_ref())
            .await?
            .ok_or(WalletError::Contended)
    }

    /// Pays the amount out of the bettor's wallet, if the balance covers
    /// it. With a key, a retry of the same request returns the first line
    /// (even if the balance would not cover it now) and moves nothing.
    pub async fn withdraw(&self, movement: Movement) -> Result<StatementLine, WalletError> {
        let amount = BetSum::new(movement.amount, self.max_amount)?;
        let claim = claim(&movement, "withdrawal", amount);
        if let Some(line) = self.replay(claim.as_ref()).await? {
            return Ok(line);
        }
        for _ in 0..ROUNDS {
            let balance = self.wallets.balance(&movement.bettor_id).await?;
            let posting = withdrawal(amount, balance)?;
            if let Some(line) = self
                .post(&movement.bettor_id, &posting, claim.as_ref())
                .await?
            {
                return Ok(line);
            }
        }
        Err(WalletError::Contended)
    }

    /// The first line of the key's earlier use for the same request; an
    /// error if it was used for another.
    async fn replay(
        &self,
        claim: Option<&IdempotencyClaim>,
    ) -> Result<Option<StatementLine>, WalletError> {
        let Some(claim) = claim else {
            return Ok(None);
        };
        match self.wallets.earlier_use(claim).await? {
            None => Ok(None),
            Some(EarlierUse::Same(line)) => Ok(Some(line)),
            Some(EarlierUse::Different) => Err(WalletError::KeyReused),
        }
    }

    /// Posts; `None` when the balance changed since the posting was decided
    /// (decide again). A key a concurrent duplicate took first answers as
    /// that request did.
    async fn post(
        &self,
        bettor: &BettorId,
        posting: &Posting,
        claim: Option<&IdempotencyClaim>,
    ) -> Result<Option<StatementLine>, WalletError> {
        match self.wallets.post(bettor, posting, claim).await? {
            PostOutcome::Posted(line) => {
                // `deposit`, `withdrawal`: the ledger's name, lower-cased as
                // Prometheus labels are (stakes are `bets_placed_total`;
                // payouts and refunds come with `bets_settled_total`).
                metrics::counter!("wallet_movements_total", "kind" => line.kind.as_str().to_ascii_lowercase())
                    .increment(1);
                Ok(Some(line))
            }
            PostOutcome::BalanceChanged => Ok(None),
            PostOutcome::BalanceLimit => Err(WalletError::BalanceLimit),
            PostOutcome::KeyTaken => match self.replay(claim).await? {
                Some(line) => Ok(Some(line)),
                // Taken, then gone: keys are never deleted, so this is a bug.
                None => Err(WalletError::Contended),
            },
        }
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

/// The movement's key as a claim on `<operation>:<amount>`.
fn claim(movement: &Movement, operation: &str, amount: BetSum) -> Option<IdempotencyClaim> {
    movement
        .idempotency_key
        .as_ref()
        .map(|key| IdempotencyClaim {
            bettor_id: movement.bettor_id.clone(),
            key: key.clone(),
            request: format!("{operation}:{}", amount.value()),
        })
}
