//! Use cases of responsible gambling: a bettor's deposit limits and
//! exclusions, which they set and cannot undo at once.

use std::sync::Arc;

use chrono::SubsecRound;
use rust_decimal::Decimal;

use super::ports::{AccountRepository, Clock, Exclusion, RepositoryError};
use crate::domain::{
    BettorId, ExclusionRequest, Limit, LimitAmountError, LimitPeriod, limit_amount,
};

/// Why an account use case failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Limit amounts that break a rule (422), each with its period.
    #[error("invalid limits")]
    InvalidLimits(Vec<(LimitPeriod, LimitAmountError)>),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] RepositoryError),
}

/// The account use cases.
#[derive(Clone)]
pub struct AccountService {
    accounts: Arc<dyn AccountRepository>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for AccountService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountService").finish_non_exhaustive()
    }
}

/// Every period's limit, as it stands now (a period without one has the
/// default: no limit).
pub type Limits = Vec<(LimitPeriod, Limit)>;

impl AccountService {
    /// Accounts stored in `accounts`, at `clock`'s time.
    pub fn new(accounts: Arc<dyn AccountRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { accounts, clock }
    }

    /// The bettor's limits now.
    pub async fn limits(&self, bettor: &BettorId) -> Result<Limits, AccountError> {
        let stored = self.accounts.limits(bettor).await?;
        Ok(complete(stored, self.clock.now()))
    }

    /// Changes the limits named (`None` removes one): lower at once,
    /// higher or removed after a day.
    pub async fn change_limits(
        &self,
        bettor: &BettorId,
        changes: &[(LimitPeriod, Option<Decimal>)],
    ) -> Result<Limits, AccountError> {
        let mut checked = Vec::with_capacity(changes.len());
        let mut invalid = Vec::new();
        for &(period, amount) in changes {
            match amount.map(limit_amount).transpose() {
                Ok(amount) => checked.push((period, amount)),
                Err(rule) => invalid.push((period, rule)),
            }
        }
        if !invalid.is_empty() {
            return Err(AccountError::InvalidLimits(invalid));
        }
        // To the microsecond, as stored: the answer reads as a reread would.
        let now = self.clock.now().trunc_subsecs(6);
        let stored = self.accounts.change_limits(bettor, &checked, now).await?;
        Ok(complete(stored, now))
    }

    /// Excludes the bettor from bets and deposits, from now.
    pub async fn exclude(
        &self,
        bettor: &BettorId,
        request: ExclusionRequest,
    ) -> Result<Exclusion, AccountError> {
        let exclusion = self
            .accounts
            .exclude(bettor, request, self.clock.now())
            .await?;
        metrics::counter!("exclusions_total", "kind" => exclusion.kind.as_str()).increment(1);
        Ok(exclusion)
    }

    /// The bettor's exclusions that still last.
    pub async fn exclusions(&self, bettor: &BettorId) -> Result<Vec<Exclusion>, AccountError> {
        Ok(self.accounts.exclusions(bettor, self.clock.now()).await?)
    }
}

/// Every period, shortest first, as it stands at `now`.
fn complete(stored: Limits, now: chrono::DateTime<chrono::Utc>) -> Limits {
    LimitPeriod::ALL
        .into_iter()
        .map(|period| {
            let limit = stored
                .iter()
                .find(|(stored, _)| *stored == period)
                .map(|(_, limit)| limit.at(now))
                .unwrap_or_default();
            (period, limit)
        })
        .collect()
}
