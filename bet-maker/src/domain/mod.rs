//! The rules of betting: who a bettor is, what a stake is, when an event takes bets, and
//! what a settled bet pays. Pure: no I/O, no framework.

mod bet;
mod bet_sum;
mod bettor;
mod cash_out;
mod currency;
mod ledger;
mod line_change;
mod line_event;
mod odds;
mod payments;
mod price;
mod responsible;
mod risk;
mod settling;
mod staff;

pub(crate) use bet::StoredBet;
pub use bet::{
    Bet, BetRefused, BetStatus, Leg, LegStatus, LegsError, MAX_LEGS, check_legs, payout,
};
pub use bet_sum::{BetSum, BetSumError};
pub use bettor::{BettorId, BettorIdError, LEGACY_BETTOR, MAX_BETTOR_ID_CHARS};
pub use cash_out::{CashOutOffer, CashOutRefused, QuotedLeg, cash_out_offer, check_quote_holds};
pub use currency::{Currency, CurrencyError};
pub use ledger::{
    Account, Adjustment, Entry, InsufficientFunds, MAX_BALANCE, Posting, WalletLine, adjustment,
    check_funds, correction, deposit, reopening, settlement, stake, withdrawal, withdrawal_paid,
    withdrawal_returned,
};
pub use line_change::{
    Announced, ChangeKind, ImpossibleChange, MAX_VERSION, Refusal, check_values, is_coefficient,
};
pub use line_event::{Acceptance, CopyConflict, LineEvent, LineEventStatus};
pub use odds::{AcceptOddsChange, OddsChanged, OddsRequest};
pub use payments::{
    ContradictsFinal, Decision, PaymentKind, PaymentStatus, ProviderOutcome, decide,
};
pub use price::{PAYOUT_CEILING, Price};
pub use responsible::{
    DepositLimitReached, Excluded, ExclusionError, ExclusionKind, ExclusionRequest, Limit,
    LimitAmountError, LimitPeriod, MAX_TIME_OUT_HOURS, MIN_TIME_OUT_HOURS, PendingLimit,
    RAISE_DELAY, SELF_EXCLUSION_MONTHS, check_deposit, excluded_at, limit_amount,
};
pub use risk::{
    Exposure, LimitKind, MAX_LIMIT, RiskLimitError, RiskLimits, StakeRoom, check_risk, max_stake,
    potential_payout, risk_limit,
};
pub use settling::{
    BetSettled, Offered, Settled, ToSettle, VoidReason, offered_at, paying_price,
    potential_payout_of, settle, settle_bet,
};
pub use staff::{Scopes, StaffScope};
