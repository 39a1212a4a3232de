//! What goes over HTTP for payments, the provider's webhook, the staff's
//! calls and the bettor's own limits.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use shared_kernel::http::WireUuid;
use shared_kernel::money::WireDecimal;
use utoipa::ToSchema;
use uuid::Uuid;

use super::wallet_dto::WalletLineKind;
use crate::application::ports::{AuditEntry, Exclusion, Payment, StatementLine};
use crate::domain::{Limit, LimitPeriod, PaymentStatus};

/// Where a deposit or withdrawal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentStatusDto {
    /// Asked for; the provider has not said yet. A withdrawal's money has
    /// left the balance already.
    Pending,
    /// A deposit the provider confirmed: its money is in the wallet.
    Succeeded,
    /// A withdrawal the provider paid out.
    Paid,
    /// The provider refused it: a deposit credited nothing; a withdrawal's
    /// money came back (`WITHDRAWAL_RETURNED`).
    Failed,
}

impl From<PaymentStatus> for PaymentStatusDto {
    fn from(status: PaymentStatus) -> Self {
        match status {
            PaymentStatus::Pending => Self::Pending,
            PaymentStatus::Succeeded => Self::Succeeded,
            PaymentStatus::Paid => Self::Paid,
            PaymentStatus::Failed => Self::Failed,
        }
    }
}

/// A deposit or a withdrawal.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentDto {
    /// Its id: the `reference` of the provider's notices about it.
    pub id: Uuid,
    /// `PENDING`, then `SUCCEEDED` or `FAILED` (a deposit), `PAID` or
    /// `FAILED` (a withdrawal).
    pub status: PaymentStatusDto,
    /// How much, two decimals.
    #[schema(value_type = String, example = "100.00")]
    pub amount: WireDecimal,
    /// The wallet's currency.
    #[schema(example = "EUR")]
    pub currency: String,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    /// When the provider's word came; absent while pending.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
}

impl From<Payment> for PaymentDto {
    fn from(payment: Payment) -> Self {
        Self {
            id: payment.id,
            status: payment.status.into(),
            amount: WireDecimal::from_decimal_exact(payment.amount),
            currency: payment.currency,
            created_at: payment.created_at,
            decided_at: payment.decided_at,
        }
    }
}

/// A page of deposits or withdrawals, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentPage {
    /// The payments on this page.
    pub items: Vec<PaymentDto>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `/wallet/deposits/{id}`, `/wallet/withdrawals/{id}`.
#[derive(Debug, Deserialize)]
pub struct PaymentPath {
    /// The deposit's or withdrawal's id.
    pub id: WireUuid,
}

/// The provider's notice: `POST /payments/webhook`. Fields the provider
/// adds beyond these are ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub struct WebhookBody {
    /// The provider's event id (1 to 255 characters): applied once,
    /// however often it is sent.
    #[schema(example = "evt_1Q2w3E4r5T6y")]
    pub id: String,
    /// `deposit.succeeded`, `deposit.failed`, `withdrawal.paid` or
    /// `withdrawal.failed`.
    #[serde(rename = "type")]
    #[schema(example = "deposit.succeeded")]
    pub kind: String,
    /// When the provider made the event (unix seconds).
    #[schema(example = 1_780_000_000)]
    pub created: i64,
    /// What it is about.
    pub data: WebhookData,
}

/// The payment a notice is about.
#[derive(Debug, Deserialize, ToSchema)]
pub struct WebhookData {
    /// Our deposit's or withdrawal's id.
    #[schema(value_type = Uuid)]
    pub reference: Uuid,
    /// The amount the provider moved: it must be the payment's.
    #[schema(value_type = String, example = "100.00")]
    pub amount: WireDecimal,
    /// Its currency: it must be the payment's.
    #[schema(example = "EUR")]
    pub currency: String,
}

/// What became of a notice that was accepted.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum WebhookResult {
    /// Applied now: the payment took the notice's status.
    Applied,
    /// This event id was applied before: nothing changed.
    Duplicate,
    /// Another event id said the same before: nothing changed.
    AlreadyFinal,
}

/// 200 to the provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAck {
    /// What became of it.
    pub result: WebhookResult,
}

/// `POST /admin/wallets/{bettor}/adjustments`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentBody {
    /// Signed, two decimals: positive pays into the wallet, negative takes
    /// out of it (never below 0.00).
    #[schema(value_type = String, example = "25.00")]
    pub amount: WireDecimal,
    /// Why (1 to 500 characters), kept in the audit log.
    #[schema(example = "Cash paid in at the Main Street desk, receipt 1042")]
    pub reason: String,
}

/// `/admin/wallets/{bettor}/...`.
#[derive(Debug, Deserialize)]
pub struct BettorPath {
    /// The bettor (their token's `sub`).
    pub bettor: String,
}

/// An adjustment made: the bettor's new statement line and its audit
/// entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdjustmentDto {
    /// The statement line's id.
    pub id: Uuid,
    /// Whose wallet.
    pub bettor_id: String,
    /// `ADJUSTMENT`.
    pub kind: WalletLineKind,
    /// How the balance changed, signed.
    #[schema(value_type = String, example = "25.00")]
    pub amount: WireDecimal,
    /// The balance after it.
    #[schema(value_type = String, example = "125.00")]
    pub balance_after: WireDecimal,
    /// Why.
    pub reason: String,
    /// The audit entry that records it.
    pub audit_id: Uuid,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl AdjustmentDto {
    /// The line and its entry, for the bettor.
    pub fn new(bettor_id: String, line: StatementLine, entry: &AuditEntry) -> Self {
        Self {
            id: line.id,
            bettor_id,
            kind: line.kind.into(),
            amount: WireDecimal::from_decimal_exact(line.amount),
            balance_after: WireDecimal::from_decimal_exact(line.balance_after),
            reason: entry.reason.clone(),
            audit_id: entry.id,
            created_at: line.created_at,
        }
    }
}

/// One staff action.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryDto {
    /// Its id.
    pub id: Uuid,
    /// Who: the staff member's token `sub`.
    #[schema(example = "cleo")]
    pub actor: String,
    /// What: `wallet.adjust`.
    #[schema(example = "wallet.adjust")]
    pub action: String,
    /// On what: `wallet:<bettor>`.
    #[schema(example = "wallet:alice")]
    pub subject: String,
    /// Why.
    pub reason: String,
    /// The subject before.
    #[schema(value_type = Object)]
    pub before: Option<serde_json::Value>,
    /// The subject after.
    #[schema(value_type = Object)]
    pub after: Option<serde_json::Value>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<AuditEntry> for AuditEntryDto {
    fn from(entry: AuditEntry) -> Self {
        Self {
            id: entry.id,
            actor: entry.actor,
            action: entry.action,
            subject: entry.subject,
            reason: entry.reason,
            before: entry.before,
            after: entry.after,
            created_at: entry.created_at,
        }
    }
}

/// A page of the audit log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// The entries on this page.
    pub items: Vec<AuditEntryDto>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A raise or removal of a limit that waits a day.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingLimitDto {
    /// What the limit becomes; `null` removes it.
    #[schema(value_type = Option<String>, example = "500.00")]
    pub amount: Option<WireDecimal>,
    /// When.
    pub effective_at: DateTime<Utc>,
}

/// One window's deposit limit.
#[derive(Debug, Serialize, ToSchema)]
pub struct LimitDto {
    /// The limit in force; `null`: none.
    #[schema(value_type = Option<String>, example = "100.00")]
    pub amount: Option<WireDecimal>,
    /// A raise or removal not in force yet.
    pub pending: Option<PendingLimitDto>,
}

impl From<Limit> for LimitDto {
    fn from(limit: Limit) -> Self {
        Self {
            amount: limit.current.map(WireDecimal::from_decimal_exact),
            pending: limit.pending.map(|pending| PendingLimitDto {
                amount: pending.amount.map(WireDecimal::from_decimal_exact),
                effective_at: pending.effective_at,
            }),
        }
    }
}

/// The bettor's deposit limits, each over a rolling window counted back
/// from the moment of a deposit: 24 hours, 7 days, 30 days.
#[derive(Debug, Serialize, ToSchema)]
pub struct LimitsDto {
    /// The last 24 hours.
    pub deposit_daily: LimitDto,
    /// The last 7 days.
    pub deposit_weekly: LimitDto,
    /// The last 30 days.
    pub deposit_monthly: LimitDto,
}

impl LimitsDto {
    /// The three windows' limits.
    pub fn new(limits: &[(LimitPeriod, Limit)]) -> Self {
        let of = |period| {
            limits
                .iter()
                .find(|(stored, _)| *stored == period)
                .map(|(_, limit)| *limit)
                .unwrap_or_default()
                .into()
        };
        Self {
            deposit_daily: of(LimitPeriod::Daily),
            deposit_weekly: of(LimitPeriod::Weekly),
            deposit_monthly: of(LimitPeriod::Monthly),
        }
    }
}

/// `Some(value)` for a member that is there (even `null`), `None` for one
/// that is absent.
fn present<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<WireDecimal>>, D::Error> {
    Option::<WireDecimal>::deserialize(deserializer).map(Some)
}

/// `PUT /account/limits`: each member sent sets (an amount) or removes
/// (`null`) that limit; an absent one is left as it is.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsBody {
    /// The most to deposit in any 24 hours; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "100.00")]
    pub deposit_daily: Option<Option<WireDecimal>>,
    /// The most to deposit in any 7 days.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "300.00")]
    pub deposit_weekly: Option<Option<WireDecimal>>,
    /// The most to deposit in any 30 days.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "1000.00")]
    pub deposit_monthly: Option<Option<WireDecimal>>,
}

impl LimitsBody {
    /// The changes asked for, by period.
    pub fn changes(&self) -> Vec<(LimitPeriod, Option<rust_decimal::Decimal>)> {
        [
            (LimitPeriod::Daily, &self.deposit_daily),
            (LimitPeriod::Weekly, &self.deposit_weekly),
            (LimitPeriod::Monthly, &self.deposit_monthly),
        ]
        .into_iter()
        .filter_map(|(period, change)| {
            change
                .as_ref()
                .map(|amount| (period, amount.as_ref().map(|amount| amount.value())))
        })
        .collect()
    }
}

/// `POST /account/exclusions`: `{"kind": "time-out", "hours": 24..1008}`,
/// `{"kind": "self-exclusion", "months": 6 | 12 | 60}` or `{"kind":
/// "self-exclusion", "permanent": true}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExclusionBody {
    /// `time-out` or `self-exclusion`.
    #[schema(example = "time-out")]
    pub kind: String,
    /// A time-out's length: 24 to 1008 hours (6 weeks).
    #[schema(example = 24)]
    pub hours: Option<u32>,
    /// A self-exclusion's length: 6, 12 or 60 months.
    pub months: Option<u32>,
    /// A self-exclusion for ever.
    pub permanent: Option<bool>,
}

/// An exclusion in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExclusionDto {
    /// Its id.
    pub id: Uuid,
    /// `time-out` or `self-exclusion`.
    #[schema(example = "time-out")]
    pub kind: String,
    /// When it began.
    pub starts_at: DateTime<Utc>,
    /// When it ends; `null`: never.
    pub until: Option<DateTime<Utc>>,
}

impl From<Exclusion> for ExclusionDto {
    fn from(exclusion: Exclusion) -> Self {
        Self {
            id: exclusion.id,
            kind: exclusion.kind.as_str().to_owned(),
            starts_at: exclusion.starts_at,
            until: exclusion.until,
        }
    }
}

/// The bettor's exclusions in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExclusionList {
    /// Each exclusion that still lasts, oldest first.
    pub items: Vec<ExclusionDto>,
}
