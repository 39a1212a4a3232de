//! Use cases of payments: a bettor asks for a deposit or a withdrawal; the
//! provider's notice (a verified webhook) completes it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use shared_kernel::pagination::PageRequest;
use uuid::Uuid;

use super::ports::{
    Clock, EarlierPayment, IdempotencyClaim, NoticeOutcome, Payment, PaymentProvider,
    PaymentRepository, PaymentRequest, ProviderNotice, RepositoryError, RequestOutcome,
};
use crate::domain::{
    BetSum, BetSumError, BettorId, DepositLimitReached, Excluded, InsufficientFunds, PaymentKind,
    ProviderOutcome,
};

/// Why a payment use case failed.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// The amount breaks a rule (422).
    #[error("amount {0}")]
    InvalidAmount(#[from] BetSumError),
    /// A withdrawal above the balance (409 `insufficient-funds`).
    #[error(transparent)]
    InsufficientFunds(#[from] InsufficientFunds),
    /// A deposit past one of the bettor's limits (409 `deposit-limit`).
    #[error(transparent)]
    DepositLimit(#[from] DepositLimitReached),
    /// A deposit while excluded (403 `excluded`).
    #[error("the bettor is excluded from deposits and bets")]
    Excluded(Excluded),
    /// The idempotency key was used for another request (422).
    #[error("the Idempotency-Key was already used for a different request")]
    KeyReused,
    /// No such payment of the bettor's (404).
    #[error("no {} {}", kind.as_str(), id)]
    NotFound {
        /// Deposit or withdrawal.
        kind: PaymentKind,
        /// The id asked for.
        id: Uuid,
    },
    /// A key taken and then gone: keys expire, so a retry raced the
    /// sweeper (503, retry).
    #[error("the Idempotency-Key changed under the request")]
    Contended,
    /// Storage failed: 503 when the database is unreachable, 500 otherwise.
    #[error(transparent)]
    Storage(#[from] RepositoryError),
}

/// A deposit or withdrawal as the bettor asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    /// Whose wallet.
    pub bettor_id: BettorId,
    /// The amount as sent (the rules of a stake apply).
    pub amount: Decimal,
    /// The `Idempotency-Key` header, if sent: the bettor's own, shared with
    /// their bets.
    pub idempotency_key: Option<String>,
}

/// The payment use cases.
#[derive(Clone)]
pub struct PaymentService {
    payments: Arc<dyn PaymentRepository>,
    provider: Arc<dyn PaymentProvider>,
    clock: Arc<dyn Clock>,
    max_amount: Decimal,
}

impl std::fmt::Debug for PaymentService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentService")
            .field("max_amount", &self.max_amount)
            .finish_non_exhaustive()
    }
}

impl PaymentService {
    /// Payments stored in `payments`, told to `provider`, at `clock`'s
    /// time; an amount follows the rules of a stake, up to `max_amount`.
    pub fn new(
        payments: Arc<dyn PaymentRepository>,
        provider: Arc<dyn PaymentProvider>,
        clock: Arc<dyn Clock>,
        max_amount: Decimal,
    ) -> Self {
        Self {
            payments,
            provider,
            clock,
            max_amount,
        }
    }

    /// Now, by the clock payments are decided on (a webhook's tolerance is
    /// measured from it too).
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Asks for a deposit or withdrawal: recorded `PENDING` (a
    /// withdrawal's money reserved at once) and told to the provider. With
    /// a key, a retry of the same request returns the payment as it is now
    /// and asks for nothing.
    pub async fn request(
        &self,
        kind: PaymentKind,
        movement: Movement,
    ) -> Result<Payment, PaymentError> {
        let amount = BetSum::new(movement.amount, self.max_amount)?;
        let claim = movement
            .idempotency_key
            .as_ref()
            .map(|key| IdempotencyClaim {
                bettor_id: movement.bettor_id.clone(),
                key: key.clone(),
                request: format!("{}:{}", kind.as_str(), amount.value()),
            });
        if let Some(payment) = self.replay(claim.as_ref(), kind).await? {
            return Ok(payment);
        }
        let outcome = self
            .payments
            .request(PaymentRequest {
                id: Uuid::now_v7(),
                kind,
                bettor_id: &movement.bettor_id,
                amount,
                now: self.clock.now(),
                claim: claim.as_ref(),
            })
            .await?;
        match outcome {
            RequestOutcome::Requested(payment) => {
                metrics::counter!("payments_requested_total", "kind" => kind.as_str()).increment(1);
                if kind == PaymentKind::Withdrawal {
                    moved("withdrawal");
                }
                self.provider.requested(&payment).await;
                Ok(payment)
            }
            RequestOutcome::Excluded(until) => Err(PaymentError::Excluded(until)),
            RequestOutcome::DepositLimit(reached) => Err(reached.into()),
            RequestOutcome::InsufficientFunds(funds) => Err(funds.into()),
            RequestOutcome::KeyTaken => self
                .replay(claim.as_ref(), kind)
                .await?
                .ok_or(PaymentError::Contended),
        }
    }

    /// The payment the key made before for the same request; an error if
    /// it was used for another.
    async fn replay(
        &self,
        claim: Option<&IdempotencyClaim>,
        kind: PaymentKind,
    ) -> Result<Option<Payment>, PaymentError> {
        let Some(claim) = claim else {
            return Ok(None);
        };
        match self.payments.earlier_use(claim, kind).await? {
            None => Ok(None),
            Some(EarlierPayment::Same(payment)) => Ok(Some(payment)),
            Some(EarlierPayment::Different) => Err(PaymentError::KeyReused),
        }
    }

    /// The bettor's payment of `kind` with this id.
    pub async fn get(
        &self,
        bettor: &BettorId,
        kind: PaymentKind,
        id: Uuid,
    ) -> Result<Payment, PaymentError> {
        self.payments
            .get(bettor, kind, id)
            .await?
            .ok_or(PaymentError::NotFound { kind, id })
    }

    /// A page of the bettor's payments of `kind`, newest first (one extra
    /// when there are more).
    pub async fn list(
        &self,
        bettor: &BettorId,
        kind: PaymentKind,
        page: PageRequest,
    ) -> Result<Vec<Payment>, PaymentError> {
        Ok(self.payments.list(bettor, kind, page).await?)
    }

    /// Applies the provider's word, exactly once per provider event id.
    pub async fn notify(&self, notice: &ProviderNotice) -> Result<NoticeOutcome, PaymentError> {
        let outcome = self.payments.apply(notice, self.clock.now()).await?;
        if let NoticeOutcome::Applied(_) = outcome {
            match notice.outcome {
                ProviderOutcome::DepositSucceeded => moved("deposit"),
                ProviderOutcome::WithdrawalFailed => moved("withdrawal_returned"),
                ProviderOutcome::DepositFailed | ProviderOutcome::WithdrawalPaid => {}
            }
        }
        Ok(outcome)
    }
}

/// Counts a movement of a wallet's money, by its statement line
/// (`wallet_movements_total{kind}`; stakes are `bets_placed_total`,
/// payouts and refunds come with `bets_settled_total`).
fn moved(kind: &'static str) {
    metrics::counter!("wallet_movements_total", "kind" => kind).increment(1);
}
