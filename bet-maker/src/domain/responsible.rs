//! Responsible gambling: the limits a bettor sets on themselves, and that
//! nobody (not they themselves, in a weak moment) can lift at once.
//!
//! - **Deposit limits** per rolling window ([`LimitPeriod`]): lowering one
//!   (or setting one where there was none) takes effect at once; raising or
//!   removing one only after [`RAISE_DELAY`], pending until then.
//! - **Exclusions**: a time-out of 24 hours to 6 weeks, or a self-exclusion
//!   of 6, 12 or 60 months, or for ever. While one lasts, bets and deposits
//!   are refused; withdrawals are not. None ends early; a new one can only
//!   make the exclusion last longer.

use chrono::{DateTime, Duration, Months, Utc};
use rust_decimal::Decimal;

use super::MAX_BALANCE;

/// How long a raised (or removed) limit waits before it applies.
pub const RAISE_DELAY: Duration = Duration::hours(24);

/// A rolling window a deposit limit covers: the deposits of the last 24
/// hours, 7 days, or 30 days, counted back from the moment of the deposit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LimitPeriod {
    /// The last 24 hours.
    Daily,
    /// The last 7 days.
    Weekly,
    /// The last 30 days.
    Monthly,
}

impl LimitPeriod {
    /// Every period, shortest first.
    pub const ALL: [Self; 3] = [Self::Daily, Self::Weekly, Self::Monthly];

    /// How far back the window reaches.
    pub fn window(self) -> Duration {
        match self {
            Self::Daily => Duration::hours(24),
            Self::Weekly => Duration::days(7),
            Self::Monthly => Duration::days(30),
        }
    }

    /// The name in the database and in problem documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
        }
    }

    /// The period named as [`Self::as_str`] spells it.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|period| period.as_str() == text)
    }
}

/// A limit's amount breaks a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LimitAmountError {
    /// Below zero (0.00 is allowed: no deposits at all).
    #[error("must be 0 or more")]
    Negative,
    /// Finer than a cent.
    #[error("must have at most 2 decimal places")]
    TooPrecise,
    /// More than a wallet can hold.
    #[error("must be at most {MAX_BALANCE}")]
    TooLarge,
}

/// A limit's amount: 0.00 or more, two decimals.
pub fn limit_amount(amount: Decimal) -> Result<Decimal, LimitAmountError> {
    if amount.normalize().scale() > 2 {
        return Err(LimitAmountError::TooPrecise);
    }
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err(LimitAmountError::Negative);
    }
    if amount > MAX_BALANCE {
        return Err(LimitAmountError::TooLarge);
    }
    let mut amount = amount.abs();
    amount.rescale(2);
    Ok(amount)
}

/// A change of a limit that waits: the new amount (`None`: the limit is
/// removed) and when it applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingLimit {
    /// What the limit becomes; `None` removes it.
    pub amount: Option<Decimal>,
    /// When.
    pub effective_at: DateTime<Utc>,
}

/// One period's limit: what applies now, and a raise or removal waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limit {
    /// The limit in force; `None`: no limit.
    pub current: Option<Decimal>,
    /// A raise or removal not in force yet.
    pub pending: Option<PendingLimit>,
}

impl Limit {
    /// The limit as it stands at `now`: a pending change whose time has
    /// come is in force.
    pub fn at(self, now: DateTime<Utc>) -> Self {
        match self.pending {
            Some(pending) if pending.effective_at <= now => Self {
                current: pending.amount,
                pending: None,
            },
            _ => self,
        }
    }

    /// The limit after the bettor asks for `requested` at `now`: lower (or
    /// a first limit) at once, replacing any pending change; the same as
    /// now, dropping any pending change; higher, or none, pending for
    /// [`RAISE_DELAY`].
    pub fn change(self, requested: Option<Decimal>, now: DateTime<Utc>) -> Self {
        let limit = self.at(now);
        let lowers = match (requested, limit.current) {
            (Some(requested), Some(current)) => requested < current,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if lowers || requested == limit.current {
            return Self {
                current: if lowers { requested } else { limit.current },
                pending: None,
            };
        }
        Self {
            current: limit.current,
            pending: Some(PendingLimit {
                amount: requested,
                effective_at: now + RAISE_DELAY,
            }),
        }
    }
}

/// A deposit would take the deposits of a window past its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the {} deposit limit is {limit}; {remaining} of it remains", period.as_str())]
pub struct DepositLimitReached {
    /// The window.
    pub period: LimitPeriod,
    /// Its limit.
    pub limit: Decimal,
    /// What may still be deposited in it (at least 0.00).
    pub remaining: Decimal,
}

/// Whether `amount` may be deposited, given each period's limit in force
/// and what was deposited in its window (`deposited`, counting deposits
/// still pending: two deposits asked for at once cannot both slip under a
/// limit). The tightest limit a deposit breaks is the one named.
pub fn check_deposit(
    limits: &[(LimitPeriod, Decimal)],
    deposited: impl Fn(LimitPeriod) -> Decimal,
    amount: Decimal,
) -> Result<(), DepositLimitReached> {
    limits
        .iter()
        .filter_map(|&(period, limit)| {
            let remaining = (limit - deposited(period)).max(Decimal::new(0, 2));
            (amount > remaining).then_some(DepositLimitReached {
                period,
                limit,
                remaining,
            })
        })
        .min_by_key(|reached| (reached.remaining, reached.period))
        .map_or(Ok(()), Err)
}

/// What an exclusion is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExclusionKind {
    /// A short break: 24 hours to 6 weeks.
    TimeOut,
    /// Months, or for ever.
    SelfExclusion,
}

impl ExclusionKind {
    /// The name on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TimeOut => "time-out",
            Self::SelfExclusion => "self-exclusion",
        }
    }

    /// The kind named as [`Self::as_str`] spells it.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::TimeOut, Self::SelfExclusion]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// The shortest time-out, in hours.
pub const MIN_TIME_OUT_HOURS: u32 = 24;
/// The longest time-out, in hours (6 weeks).
pub const MAX_TIME_OUT_HOURS: u32 = 1_008;
/// The lengths a self-exclusion may have, in months.
pub const SELF_EXCLUSION_MONTHS: [u32; 3] = [6, 12, 60];

/// An exclusion as the bettor asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExclusionRequest {
    /// A time-out of so many hours.
    TimeOut {
        /// [`MIN_TIME_OUT_HOURS`] to [`MAX_TIME_OUT_HOURS`].
        hours: u32,
    },
    /// A self-exclusion of so many months.
    SelfExclusion {
        /// One of [`SELF_EXCLUSION_MONTHS`].
        months: u32,
    },
    /// A self-exclusion for ever.
    Permanent,
}

/// An exclusion's length breaks a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExclusionError {
    /// A time-out outside 24..=1008 hours.
    #[error("a time-out lasts {MIN_TIME_OUT_HOURS} to {MAX_TIME_OUT_HOURS} hours")]
    TimeOutHours,
    /// A self-exclusion of another length.
    #[error("a self-exclusion lasts 6, 12 or 60 months, or is permanent")]
    SelfExclusionMonths,
}

impl ExclusionRequest {
    /// A time-out of `hours`, if that is a length a time-out may have.
    pub fn time_out(hours: u32) -> Result<Self, ExclusionError> {
        (MIN_TIME_OUT_HOURS..=MAX_TIME_OUT_HOURS)
            .contains(&hours)
            .then_some(Self::TimeOut { hours })
            .ok_or(ExclusionError::TimeOutHours)
    }

    /// A self-exclusion of `months`, if that is a length one may have.
    pub fn self_exclusion(months: u32) -> Result<Self, ExclusionError> {
        SELF_EXCLUSION_MONTHS
            .contains(&months)
            .then_some(Self::SelfExclusion { months })
            .ok_or(ExclusionError::SelfExclusionMonths)
    }

    /// What kind it is.
    pub fn kind(self) -> ExclusionKind {
        match self {
            Self::TimeOut { .. } => ExclusionKind::TimeOut,
            Self::SelfExclusion { .. } | Self::Permanent => ExclusionKind::SelfExclusion,
        }
    }

    /// When one asked for at `now` ends; `None`: never. Months are calendar
    /// months (a self-exclusion from 31 August for 6 months ends on the last
    /// day of February).
    pub fn until(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::TimeOut { hours } => Some(now + Duration::hours(i64::from(hours))),
            Self::SelfExclusion { months } => Some(
                now.checked_add_months(Months::new(months))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC),
            ),
            Self::Permanent => None,
        }
    }
}

/// How long a bettor stays excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Excluded {
    /// Until then.
    Until(DateTime<Utc>),
    /// For ever.
    Permanently,
}

/// The exclusion that lasts longest among those that end at `ends` (each
/// `None` for a permanent one), if any still lasts at `now`.
pub fn excluded_at(
    ends: impl IntoIterator<Item = Option<DateTime<Utc>>>,
    now: DateTime<Utc>,
) -> Option<Excluded> {
    ends.into_iter()
        .filter_map(|end| match end {
            None => Some(Excluded::Permanently),
            Some(end) if end > now => Some(Excluded::Until(end)),
            Some(_) => None,
        })
        .max()
}

#[cfg(test)]
#[path = "responsible_tests.rs"]
mod tests;
