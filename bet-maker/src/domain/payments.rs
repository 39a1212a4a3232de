//! Deposits and withdrawals: requests a payment provider completes.
//!
//! A deposit is asked for (`PENDING`, nothing credited) and becomes
//! `SUCCEEDED` (the wallet is credited) or `FAILED` when the provider says
//! so. A withdrawal takes its money from the wallet when asked for
//! (`PENDING`), and becomes `PAID` or `FAILED` (the money comes back). The
//! provider's word is a [`ProviderOutcome`]; [`decide`] is the one rule of
//! what it does to a request.

/// Where a deposit or withdrawal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    /// Asked for; the provider has not said yet.
    Pending,
    /// A deposit the provider confirmed: its money is in the wallet.
    Succeeded,
    /// A withdrawal the provider paid out.
    Paid,
    /// The provider refused it: a deposit credited nothing, a withdrawal's
    /// money is back in the wallet.
    Failed,
}

impl PaymentStatus {
    /// The name on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Succeeded => "SUCCEEDED",
            Self::Paid => "PAID",
            Self::Failed => "FAILED",
        }
    }

    /// The status named as [`Self::as_str`] spells it.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Succeeded, Self::Paid, Self::Failed]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

/// Which of the two a payment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentKind {
    /// Money in.
    Deposit,
    /// Money out.
    Withdrawal,
}

impl PaymentKind {
    /// The name in paths, idempotency requests and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deposit => "deposit",
            Self::Withdrawal => "withdrawal",
        }
    }
}

/// What the provider says happened to one of our requests: the webhook's
/// `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderOutcome {
    /// `deposit.succeeded`: the money arrived.
    DepositSucceeded,
    /// `deposit.failed`: it did not.
    DepositFailed,
    /// `withdrawal.paid`: the money left.
    WithdrawalPaid,
    /// `withdrawal.failed`: it did not; it goes back to the wallet.
    WithdrawalFailed,
}

impl ProviderOutcome {
    /// Every outcome, as the webhook's `type` spells it.
    pub const ALL: [Self; 4] = [
        Self::DepositSucceeded,
        Self::DepositFailed,
        Self::WithdrawalPaid,
        Self::WithdrawalFailed,
    ];

    /// The webhook's `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DepositSucceeded => "deposit.succeeded",
            Self::DepositFailed => "deposit.failed",
            Self::WithdrawalPaid => "withdrawal.paid",
            Self::WithdrawalFailed => "withdrawal.failed",
        }
    }

    /// The outcome a webhook's `type` names.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == text)
    }

    /// What kind of request it is about.
    pub fn kind(self) -> PaymentKind {
        match self {
            Self::DepositSucceeded | Self::DepositFailed => PaymentKind::Deposit,
            Self::WithdrawalPaid | Self::WithdrawalFailed => PaymentKind::Withdrawal,
        }
    }

    /// The status it gives the request.
    pub fn status(self) -> PaymentStatus {
        match self {
            Self::DepositSucceeded => PaymentStatus::Succeeded,
            Self::WithdrawalPaid => PaymentStatus::Paid,
            Self::DepositFailed | Self::WithdrawalFailed => PaymentStatus::Failed,
        }
    }
}

/// What an outcome does to a request that stands at some status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Pending: it moves to the outcome's status, and its money moves
    /// ([`crate::domain::deposit`], [`crate::domain::withdrawal_paid`],
    /// [`crate::domain::withdrawal_returned`]; a failed deposit moves none).
    Apply(PaymentStatus),
    /// Already at that status (the provider said it twice, under two event
    /// ids): nothing to do.
    AlreadyThere,
}

/// The request is final the other way: a `succeeded` after a `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the {kind} is already {}; the provider now says {}", current.as_str(), outcome.as_str())]
pub struct ContradictsFinal {
    /// Deposit or withdrawal.
    pub kind: &'static str,
    /// Where it stands.
    pub current: PaymentStatus,
    /// What the provider says now.
    pub outcome: ProviderOutcome,
}

/// What `outcome` does to a request at `current`: a pending request takes
/// it; a final one only hears it again, or refuses the contrary.
pub fn decide(
    current: PaymentStatus,
    outcome: ProviderOutcome,
) -> Result<Decision, ContradictsFinal> {
    let wanted = outcome.status();
    match current {
        PaymentStatus::Pending => Ok(Decision::Apply(wanted)),
        final_status if final_status == wanted => Ok(Decision::AlreadyThere),
        final_status => Err(ContradictsFinal {
            kind: outcome.kind().as_str(),
            current: final_status,
            outcome,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_request_takes_the_providers_word() {
        use PaymentStatus::*;
        use ProviderOutcome::*;
        assert_eq!(
            decide(Pending, DepositSucceeded),
            Ok(Decision::Apply(Succeeded))
        );
        assert_eq!(decide(Pending, DepositFailed), Ok(Decision::Apply(Failed)));
        assert_eq!(decide(Pending, WithdrawalPaid), Ok(Decision::Apply(Paid)));
        assert_eq!(
            decide(Pending, WithdrawalFailed),
            Ok(Decision::Apply(Failed))
        );
    }

    #[test]
    fn a_final_request_hears_the_same_again_and_refuses_the_contrary() {
        use PaymentStatus::*;
        use ProviderOutcome::*;
        assert_eq!(
            decide(Succeeded, DepositSucceeded),
            Ok(Decision::AlreadyThere)
        );
        assert_eq!(decide(Failed, WithdrawalFailed), Ok(Decision::AlreadyThere));
        for (current, outcome) in [
            (Failed, DepositSucceeded),
            (Succeeded, DepositFailed),
            (Paid, WithdrawalFailed),
            (Failed, WithdrawalPaid),
        ] {
            assert_eq!(
                decide(current, outcome),
                Err(ContradictsFinal {
                    kind: outcome.kind().as_str(),
                    current,
                    outcome
                })
            );
        }
    }

    #[test]
    fn names_read_back() {
        for outcome in ProviderOutcome::ALL {
            assert_eq!(ProviderOutcome::parse(outcome.as_str()), Some(outcome));
        }
        for status in [
            PaymentStatus::Pending,
            PaymentStatus::Succeeded,
            PaymentStatus::Paid,
            PaymentStatus::Failed,
        ] {
            assert_eq!(PaymentStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(ProviderOutcome::parse("deposit.SUCCEEDED"), None);
    }
}
