//! The examples Swagger UI shows for payments, the webhook, the staff's
//! calls and the bettor's limits, made by the code that makes the real
//! responses (as `examples` does for the rest).

use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use serde_json::json;
use shared_kernel::http::Problem;
use uuid::Uuid;

use super::account::{exclusion_locked as locked, exclusion_request};
use super::bettor::forbidden;
use super::errors::{deposit_limit as deposit_limit_problem, excluded as excluded_problem};
use super::payment_dto::{
    AdjustmentDto, AuditEntryDto, AuditPage, ExclusionBody, ExclusionDto, LimitsDto, PaymentDto,
    PaymentPage,
};
use super::payments::{answer, read_notice};
use crate::application::ports::{
    AuditEntry, Exclusion, NoticeOutcome, Payment, ProviderNotice, StatementLine,
};
use crate::application::{AccountError, AdjustRefused, CashierError, PaymentError};
use crate::domain::{
    BetSumError, BettorId, DepositLimitReached, Excluded, ExclusionKind, Limit, LimitAmountError,
    LimitPeriod, PaymentKind, PaymentStatus, PendingLimit, ProviderOutcome, RAISE_DELAY,
    WalletLine, decide,
};

const DEPOSIT_ID: Uuid = Uuid::from_u128(0x0193_6b2e_4f01_7a2b_8c3d_4e5f_6a7b_8c9d);
const WITHDRAWAL_ID: Uuid = Uuid::from_u128(0x0193_6b31_0a12_7b3c_9d4e_5f6a_7b8c_9d0e);
const LINE_ID: Uuid = Uuid::from_u128(0x0193_6b32_1b23_7c4d_8e5f_6a7b_8c9d_0e1f);
const AUDIT_ID: Uuid = Uuid::from_u128(0x0193_6b32_1b24_7c4d_8e5f_6a7b_8c9d_0e20);
const EXCLUSION_ID: Uuid = Uuid::from_u128(0x0193_6b33_2c35_7d5e_9f60_7b8c_9d0e_1f21);

fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 6, 1, hour, minute, 0)
        .single()
        .unwrap_or_default()
}

fn alice() -> BettorId {
    BettorId::parse("alice").unwrap_or_else(|_| BettorId::legacy())
}

fn payment(id: Uuid, kind: PaymentKind, status: PaymentStatus, cents: i64) -> PaymentDto {
    PaymentDto::from(Payment {
        id,
        kind,
        bettor_id: alice(),
        amount: Decimal::new(cents, 2),
        currency: "EUR".to_owned(),
        status,
        created_at: at(17, 1),
        decided_at: (status != PaymentStatus::Pending).then(|| at(17, 2)),
    })
}

/// 202 on `POST /wallet/deposits`.
pub fn pending_deposit() -> PaymentDto {
    payment(
        DEPOSIT_ID,
        PaymentKind::Deposit,
        PaymentStatus::Pending,
        10_000,
    )
}

/// 200 on `GET /wallet/deposits/{id}`, once the provider confirmed it.
pub fn succeeded_deposit() -> PaymentDto {
    payment(
        DEPOSIT_ID,
        PaymentKind::Deposit,
        PaymentStatus::Succeeded,
        10_000,
    )
}

/// 200 on `GET /wallet/deposits`.
pub fn deposits() -> PaymentPage {
    PaymentPage {
        items: vec![succeeded_deposit()],
        next_cursor: None,
    }
}

/// 202 on `POST /wallet/withdrawals`.
pub fn pending_withdrawal() -> PaymentDto {
    payment(
        WITHDRAWAL_ID,
        PaymentKind::Withdrawal,
        PaymentStatus::Pending,
        3_000,
    )
}

/// 200 on `GET /wallet/withdrawals/{id}`, once paid.
pub fn paid_withdrawal() -> PaymentDto {
    payment(
        WITHDRAWAL_ID,
        PaymentKind::Withdrawal,
        PaymentStatus::Paid,
        3_000,
    )
}

/// 200 on `GET /wallet/withdrawals`.
pub fn withdrawals() -> PaymentPage {
    PaymentPage {
        items: vec![paid_withdrawal()],
        next_cursor: None,
    }
}

/// 403 on deposits and bets during a time-out.
pub fn excluded() -> Problem {
    excluded_problem(Excluded::Until(at(17, 0) + chrono::Duration::hours(24)))
}

/// 409 on `POST /wallet/deposits` past a daily limit of 100.00 with 70.00
/// deposited.
pub fn deposit_limit() -> Problem {
    deposit_limit_problem(DepositLimitReached {
        period: LimitPeriod::Daily,
        limit: Decimal::new(10_000, 2),
        remaining: Decimal::new(3_000, 2),
    })
}

/// 404 on `GET /wallet/deposits/{id}`.
pub fn unknown_deposit() -> Problem {
    PaymentError::NotFound {
        kind: PaymentKind::Deposit,
        id: DEPOSIT_ID,
    }
    .into()
}

/// 404 on `GET /wallet/withdrawals/{id}`.
pub fn unknown_withdrawal() -> Problem {
    PaymentError::NotFound {
        kind: PaymentKind::Withdrawal,
        id: WITHDRAWAL_ID,
    }
    .into()
}

/// The body of `POST /payments/webhook` confirming the example deposit.
pub fn webhook_body() -> serde_json::Value {
    json!({
        "id": "evt_1Q2w3E4r5T6y",
        "type": "deposit.succeeded",
        "created": at(17, 2).timestamp(),
        "data": {"reference": DEPOSIT_ID, "amount": "100.00", "currency": "EUR"},
    })
}

/// 400 on the webhook: a type the contract does not have.
pub fn malformed_notice() -> Problem {
    let mut body = webhook_body();
    body["type"] = json!("deposit.pending");
    read_notice(body.to_string().as_bytes())
        .err()
        .unwrap_or_else(Problem::internal)
}

/// The example notice, as read.
fn notice() -> ProviderNotice {
    read_notice(webhook_body().to_string().as_bytes()).unwrap_or_else(|_| ProviderNotice {
        event_id: String::new(),
        outcome: ProviderOutcome::DepositSucceeded,
        reference: DEPOSIT_ID,
        amount: Decimal::ZERO,
        currency: String::new(),
    })
}

/// The webhook's answer to `outcome` of the example notice.
fn refusal(outcome: NoticeOutcome) -> Problem {
    match answer(&notice(), outcome) {
        Err(refusal) => refusal.1,
        Ok(_) => Problem::internal(),
    }
}

/// 404 on the webhook.
pub fn unknown_reference() -> Problem {
    refusal(NoticeOutcome::UnknownReference)
}

/// 409 on the webhook: the provider says 1000.00 of a deposit of 100.00.
pub fn amount_mismatch() -> Problem {
    let mut said = webhook_body();
    said["data"]["amount"] = json!("1000.00");
    match read_notice(said.to_string().as_bytes()) {
        Ok(said) => answer(
            &said,
            NoticeOutcome::Mismatch {
                amount: Decimal::new(10_000, 2),
                currency: "EUR".to_owned(),
            },
        )
        .err()
        .map_or_else(Problem::internal, |refusal| refusal.1),
        Err(problem) => problem,
    }
}

/// 409 on the webhook: a `succeeded` after a `failed`.
pub fn contradicts_final() -> Problem {
    match decide(PaymentStatus::Failed, ProviderOutcome::DepositSucceeded) {
        Err(contrary) => refusal(NoticeOutcome::Contradicts(contrary)),
        Ok(_) => Problem::internal(),
    }
}

fn audit_entry() -> AuditEntry {
    AuditEntry {
        id: AUDIT_ID,
        actor: "cleo".to_owned(),
        action: "wallet.adjust".to_owned(),
        subject: "wallet:alice".to_owned(),
        reason: "Cash paid in at the Main Street desk, receipt 1042".to_owned(),
        before: Some(json!({"balance": "100.00", "currency": "EUR"})),
        after: Some(
            json!({"balance": "125.00", "currency": "EUR", "amount": "25.00", "line_id": LINE_ID}),
        ),
        created_at: at(17, 30),
    }
}

/// 201 on an adjustment of 25.00 to a wallet of 100.00.
pub fn adjustment() -> AdjustmentDto {
    AdjustmentDto::new(
        "alice".to_owned(),
        StatementLine {
            id: LINE_ID,
            kind: WalletLine::Adjustment,
            amount: Decimal::new(2_500, 2),
            balance_after: Decimal::new(12_500, 2),
            bet_id: None,
            payment_id: None,
            created_at: at(17, 30),
        },
        &audit_entry(),
    )
}

/// 200 on `GET /admin/audit`.
pub fn audit() -> AuditPage {
    AuditPage {
        items: vec![AuditEntryDto::from(audit_entry())],
        next_cursor: None,
    }
}

/// 403 on an adjustment with a token that is not a cashier's.
pub fn not_cashier() -> Problem {
    forbidden("cashier")
}

/// 403 on the audit log with a bettor's token.
pub fn not_staff() -> Problem {
    forbidden("trader or cashier")
}

/// 422 on an adjustment of 0.00 without a reason.
pub fn invalid_adjustment() -> Problem {
    AdjustRefused(vec![
        CashierError::InvalidAmount(BetSumError::NotPositive),
        CashierError::InvalidReason,
    ])
    .into()
}

/// 200 on the limits: a daily limit of 100.00 raised to 500.00, waiting a
/// day; a monthly one of 1000.00.
pub fn limits() -> LimitsDto {
    LimitsDto::new(&[
        (
            LimitPeriod::Daily,
            Limit {
                current: Some(Decimal::new(10_000, 2)),
                pending: Some(PendingLimit {
                    amount: Some(Decimal::new(50_000, 2)),
                    effective_at: at(17, 0) + RAISE_DELAY,
                }),
            },
        ),
        (
            LimitPeriod::Monthly,
            Limit {
                current: Some(Decimal::new(100_000, 2)),
                pending: None,
            },
        ),
    ])
}

/// 422 on the limits.
pub fn invalid_limit() -> Problem {
    AccountError::InvalidLimits(vec![(LimitPeriod::Weekly, LimitAmountError::Negative)]).into()
}

/// 201 on `POST /account/exclusions`: a day's time-out.
pub fn exclusion() -> ExclusionDto {
    ExclusionDto::from(Exclusion {
        id: EXCLUSION_ID,
        kind: ExclusionKind::TimeOut,
        starts_at: at(17, 0),
        until: Some(at(17, 0) + chrono::Duration::hours(24)),
    })
}

/// 422 on `POST /account/exclusions`: a 12-hour time-out.
pub fn invalid_exclusion() -> Problem {
    exclusion_request(&ExclusionBody {
        kind: "time-out".to_owned(),
        hours: Some(12),
        months: None,
        permanent: None,
    })
    .err()
    .unwrap_or_else(Problem::internal)
}

/// 409 on `DELETE /account/exclusions`.
pub fn exclusion_locked() -> Problem {
    locked()
}
