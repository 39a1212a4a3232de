//! Deposits, withdrawals and the provider's notices in PostgreSQL.
//!
//! Each use is one transaction that holds what it decides on: a request
//! holds the bettor's wallet row (so a deposit's limits are summed, and a
//! withdrawal's balance read, with no concurrent request between); a
//! notice first records its event id in `payment_inbox` (a concurrent
//! duplicate waits on that row, then finds it) and then holds the payment's
//! row. The decisions are the domain's (`excluded_at`, `check_deposit`,
//! `withdrawal`, `decide`); a refusal rolls the transaction back, so it
//! writes nothing.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::DatabaseConnection;
use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::{self, PgConnection, PgPool, Row};
use shared_kernel::pagination::PageRequest;
use shared_kernel::storage::{StorageError, sqlx_storage};
use uuid::Uuid;

use super::ledger_writer::{Posted, lock_wallet, post_locked};
use crate::application::ports::{
    EarlierPayment, IdempotencyClaim, NoticeOutcome, Payment, PaymentRepository, PaymentRequest,
    ProviderNotice, RepositoryError, RequestOutcome,
};
use crate::domain::{
    BetSum, BettorId, Currency, Decision, Limit, LimitPeriod, PaymentKind, PaymentStatus,
    PendingLimit, ProviderOutcome, check_deposit, decide, deposit, excluded_at, withdrawal,
    withdrawal_paid, withdrawal_returned,
};

/// The statements on one kind's table, written out for each (sqlx runs
/// only SQL known at compile time).
struct Statements {
    insert: &'static str,
    get: &'static str,
    list: &'static str,
    lock: &'static str,
    decide: &'static str,
    claim: &'static str,
    key_column: &'static str,
}

macro_rules! statements {
    ($table:literal, $key_column:literal) => {
        Statements {
            insert: concat!(
                "INSERT INTO ",
                $table,
                " (id, bettor_id, amount, currency, status, created_at) ",
                "VALUES ($1, $2, $3, $4, 'PENDING', $5) ",
                "RETURNING id, bettor_id, amount, currency, status, created_at, decided_at"
            ),
            get: concat!(
                "SELECT id, bettor_id, amount, currency, status, created_at, decided_at FROM ",
                $table,
                " WHERE id = $1 AND bettor_id = $2"
            ),
            list: concat!(
                "SELECT id, bettor_id, amount, currency, status, created_at, decided_at FROM ",
                $table,
                " WHERE bettor_id = $1 AND ($2::uuid IS NULL OR id < $2) ",
                "ORDER BY id DESC LIMIT $3"
            ),
            lock: concat!(
                "SELECT id, bettor_id, amount, currency, status, created_at, decided_at FROM ",
                $table,
                " WHERE id = $1 FOR UPDATE"
            ),
            decide: concat!(
                "UPDATE ",
                $table,
                " SET status = $2, decided_at = $3 WHERE id = $1 ",
                "RETURNING id, bettor_id, amount, currency, status, created_at, decided_at"
            ),
            claim: concat!(
                "INSERT INTO idempotency_keys (bettor_id, key, request, ",
                $key_column,
                ") ",
                "VALUES ($1, $2, $3, $4) ON CONFLICT (bettor_id, key) DO NOTHING RETURNING key"
            ),
            key_column: $key_column,
        }
    };
}

const DEPOSITS: Statements = statements!("deposits", "deposit_id");
const WITHDRAWALS: Statements = statements!("withdrawals", "withdrawal_id");

/// The statements of each kind.
fn statements(kind: PaymentKind) -> &'static Statements {
    match kind {
        PaymentKind::Deposit => &DEPOSITS,
        PaymentKind::Withdrawal => &WITHDRAWALS,
    }
}

/// The end of every exclusion of the bettor begun by `$2` (NULL: for
/// ever); `domain::excluded_at` says whether one still lasts.
pub(super) const EXCLUSION_ENDS: &str =
    "SELECT until FROM exclusions WHERE bettor_id = $1 AND starts_at <= $2";

/// The bettor's stored limits.
pub(super) const LIMITS: &str =
    "SELECT period, amount, pending_amount, pending_at FROM deposit_limits WHERE bettor_id = $1";

/// What the bettor deposited, pending or succeeded, since each of `$2`,
/// `$3`, `$4` (the starts of the daily, weekly and monthly windows).
const DEPOSITED: &str = "
    SELECT coalesce(sum(amount) FILTER (WHERE created_at > $2), 0) AS daily,
           coalesce(sum(amount) FILTER (WHERE created_at > $3), 0) AS weekly,
           coalesce(sum(amount), 0) AS monthly
    FROM deposits
    WHERE bettor_id = $1 AND status IN ('PENDING', 'SUCCEEDED') AND created_at > $4";

/// A notice recorded, unless its event id is there already.
const RECORD_NOTICE: &str = "
    INSERT INTO payment_inbox (event_id, outcome, reference, amount, currency)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id";

/// The notice recorded under an event id.
const RECORDED_NOTICE: &str =
    "SELECT outcome, reference, amount, currency FROM payment_inbox WHERE event_id = $1";

/// [`PaymentRepository`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlPaymentRepository {
    pool: PgPool,
    currency: Currency,
}

impl SqlPaymentRepository {
    /// A repository on this pool; wallets made by a first request hold
    /// `currency`.
    pub fn new(db: &DatabaseConnection, currency: Currency) -> Self {
        Self {
            pool: db.get_postgres_connection_pool().clone(),
            currency,
        }
    }
}

/// A stored limit row as the domain's [`Limit`].
pub(super) fn limit_from_row(
    row: &PgRow,
    operation: &str,
) -> Result<(LimitPeriod, Limit), StorageError> {
    let field = |error| sqlx_storage(operation.to_owned())(error);
    let period: String = row.try_get("period").map_err(field)?;
    let period = LimitPeriod::parse(&period).ok_or_else(|| {
        StorageError::corrupt(
            operation.to_owned(),
            format!("unknown limit period {period}"),
        )
    })?;
    let pending_at: Option<DateTime<Utc>> = row.try_get("pending_at").map_err(field)?;
    let pending_amount: Option<Decimal> = row.try_get("pending_amount").map_err(field)?;
    Ok((
        period,
        Limit {
            current: row.try_get("amount").map_err(field)?,
            pending: pending_at.map(|effective_at| PendingLimit {
                amount: pending_amount,
                effective_at,
            }),
        },
    ))
}

/// Whether a deposit of `amount` may be asked for at `now`: a refusal, or
/// none. Reads under the wallet lock the caller holds.
async fn deposit_refusal(
    conn: &mut PgConnection,
    bettor: &BettorId,
    amount: BetSum,
    now: DateTime<Utc>,
) -> Result<Option<RequestOutcome>, StorageError> {
    let operation = format!("checking the limits of {bettor}");
    let ends: Vec<Option<DateTime<Utc>>> = sqlx::query_scalar(EXCLUSION_ENDS)
        .bind(bettor.as_str())
        .bind(now)
        .fetch_all(&mut *conn)
        .await
        .map_err(sqlx_storage(operation.clone()))?;
    if let Some(until) = excluded_at(ends, now) {
        return Ok(Some(RequestOutcome::Excluded(until)));
    }
    let rows = sqlx::query(LIMITS)
        .bind(bettor.as_str())
        .fetch_all(&mut *conn)
        .await
        .map_err(sqlx_storage(operation.clone()))?;
    let mut in_force = Vec::new();
    for row in &rows {
        let (period, limit) = limit_from_row(row, &operation)?;
        if let Some(limit) = limit.at(now).current {
            in_force.push((period, limit));
        }
    }
    if in_force.is_empty() {
        return Ok(None);
    }
    let since = |period: LimitPeriod| now - period.window();
    let row = sqlx::query(DEPOSITED)
        .bind(bettor.as_str())
        .bind(since(LimitPeriod::Daily))
        .bind(since(LimitPeriod::Weekly))
        .bind(since(LimitPeriod::Monthly))
        .fetch_one(&mut *conn)
        .await
        .map_err(sqlx_storage(operation.clone()))?;
    let mut deposited = Vec::with_capacity(LimitPeriod::ALL.len());
    for period in LimitPeriod::ALL {
        let sum: Decimal = row
            .try_get(period.as_str())
            .map_err(sqlx_storage(operation.clone()))?;
        deposited.push((period, sum));
    }
    let deposited = |period: LimitPeriod| {
        deposited
            .iter()
            .find(|(summed, _)| *summed == period)
            .map_or(Decimal::ZERO, |(_, sum)| *sum)
    };
    Ok(check_deposit(&in_force, deposited, amount.value())
        .err()
        .map(RequestOutcome::DepositLimit))
}

/// A payment row read back.
fn payment_from_row(
    row: &PgRow,
    kind: PaymentKind,
    operation: &str,
) -> Result<Payment, StorageError> {
    let field = |error| sqlx_storage(operation.to_owned())(error);
    let status: String = row.try_get("status").map_err(field)?;
    let status = PaymentStatus::parse(&status).ok_or_else(|| {
        StorageError::corrupt(
            operation.to_owned(),
            format!("unknown payment status {status}"),
        )
    })?;
    let bettor: String = row.try_get("bettor_id").map_err(field)?;
    let bettor_id = BettorId::parse(&bettor).map_err(|rule| {
        StorageError::corrupt(operation.to_owned(), format!("bettor id {bettor:?} {rule}"))
    })?;
    Ok(Payment {
        id: row.try_get("id").map_err(field)?,
        kind,
        bettor_id,
        amount: row.try_get("amount").map_err(field)?,
        currency: row.try_get("currency").map_err(field)?,
        status,
        created_at: row.try_get("created_at").map_err(field)?,
        decided_at: row.try_get("decided_at").map_err(field)?,
    })
}

/// The bettor's key claimed for payment `id`; false when the bettor holds
/// the key already.
async fn claim_key(
    conn: &mut PgConnection,
    claim: &IdempotencyClaim,
    kind: PaymentKind,
    id: Uuid,
) -> Result<bool, StorageError> {
    let claimed: Option<String> = sqlx::query_scalar(statements(kind).claim)
        .bind(claim.bettor_id.as_str())
        .bind(&claim.key)
        .bind(&claim.request)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(sqlx_storage(format!(
            "claiming the idempotency key {}",
            claim.key
        )))?;
    Ok(claimed.is_some())
}

#[async_trait]
impl PaymentRepository for SqlPaymentRepository {
    async fn request(
        &self,
        request: PaymentRequest<'_>,
    ) -> Result<RequestOutcome, RepositoryError> {
        let PaymentRequest {
            id,
            kind,
            bettor_id,
            amount,
            now,
            claim,
        } = request;
        let operation = format!("asking for a {} for {bettor_id}", kind.as_str());
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(sqlx_storage(operation.clone()))?;
        let (balance, currency) = lock_wallet(&mut tx, bettor_id, &self.currency).await?;
        let posting = match kind {
            PaymentKind::Deposit => {
                if let Some(refusal) = deposit_refusal(&mut tx, bettor_id, amount, now).await? {
                    return Ok(refusal);
                }
                None
            }
            PaymentKind::Withdrawal => match withdrawal(amount, balance) {
                Ok(posting) => Some(posting),
                Err(short) => return Ok(RequestOutcome::InsufficientFunds(short)),
            },
        };
        let row = sqlx::query(statements(kind).insert)
            .bind(id)
            .bind(bettor_id.as_str())
            .bind(amount.value())
            .bind(&currency)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(sqlx_storage(operation.clone()))?;
        let payment = payment_from_row(&row, kind, &operation)?;
        if let Some(posting) = posting {
            // A debit of what the locked balance covers: it cannot pass
            // the most a wallet holds.
            post_locked(&mut tx, bettor_id, &posting, "WITHDRAWAL", Some(id)).await?;
        }
        if let Some(claim) = claim
            && !claim_key(&mut tx, claim, kind, id).await?
        {
            return Ok(RequestOutcome::KeyTaken);
        }
        tx.commit().await.map_err(sqlx_storage(operation))?;
        Ok(RequestOutcome::Requested(payment))
    }

    async fn earlier_use(
        &self,
        claim: &IdempotencyClaim,
        kind: PaymentKind,
    ) -> Result<Option<EarlierPayment>, RepositoryError> {
        let operation = format!(
            "reading the idempotency key {} of {}",
            claim.key, claim.bettor_id
        );
        let Some(row) = sqlx::query(
            "SELECT request, deposit_id, withdrawal_id FROM idempotency_keys
             WHERE bettor_id = $1 AND key = $2",
        )
        .bind(claim.bettor_id.as_str())
        .bind(&claim.key)
        .fetch_optional(&self.pool)
        .await
        .map_err(sqlx_storage(operation.clone()))?
        else {
            return Ok(None);
        };
        let request: String = row
            .try_get("request")
            .map_err(sqlx_storage(operation.clone()))?;
        if request != claim.request {
            return Ok(Some(EarlierPayment::Different));
        }
        // The same request names the same operation, so the same column.
        let id: Option<Uuid> = row
            .try_get(statements(kind).key_column)
            .map_err(sqlx_storage(operation.clone()))?;
        let Some(id) = id else {
            return Err(
                StorageError::corrupt(operation, "the key of a payment names no payment").into(),
            );
        };
        match self.get(&claim.bettor_id, kind, id).await? {
            Some(payment) => Ok(Some(EarlierPayment::Same(payment))),
            None => Err(StorageError::corrupt(
                operation,
                format!(
                    "the key names {} {id}, which is not the bettor's",
                    kind.as_str()
                ),
            )
            .into()),
        }
    }

    async fn get(
        &self,
        bettor_id: &BettorId,
        kind: PaymentKind,
        id: Uuid,
    ) -> Result<Option<Payment>, RepositoryError> {
        let operation = format!("reading {} {id}", kind.as_str());
        let row = sqlx::query(statements(kind).get)
            .bind(id)
            .bind(bettor_id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(sqlx_storage(operation.clone()))?;
        Ok(row
            .map(|row| payment_from_row(&row, kind, &operation))
            .transpose()?)
    }

    async fn list(
        &self,
        bettor_id: &BettorId,
        kind: PaymentKind,
        page: PageRequest,
    ) -> Result<Vec<Payment>, RepositoryError> {
        let operation = format!("listing the {}s of {bettor_id}", kind.as_str());
        let rows = sqlx::query(statements(kind).list)
            .bind(bettor_id.as_str())
            .bind(page.after)
            .bind(i64::from(page.limit) + 1)
            .fetch_all(&self.pool)
            .await
            .map_err(sqlx_storage(operation.clone()))?;
        Ok(rows
            .iter()
            .map(|row| payment_from_row(row, kind, &operation))
            .collect::<Result<_, _>>()?)
    }

    async fn apply(
        &self,
        notice: &ProviderNotice,
        now: DateTime<Utc>,
    ) -> Result<NoticeOutcome, RepositoryError> {
        let kind = notice.outcome.kind();
        let operation = format!(
            "applying {} {} to {} {}",
            notice.outcome.as_str(),
            notice.event_id,
            kind.as_str(),
            notice.reference
        );
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(sqlx_storage(operation.clone()))?;
        let recorded: Option<String> = sqlx::query_scalar(RECORD_NOTICE)
            .bind(&notice.event_id)
            .bind(notice.outcome.as_str())
            .bind(notice.reference)
            .bind(notice.amount)
            .bind(&notice.currency)
            .fetch_optional(&mut *tx)
            .await
            .map_err(sqlx_storage(operation.clone()))?;
        if recorded.is_none() {
            return Ok(earlier_notice(&mut tx, notice, &operation).await?);
        }
        let Some(row) = sqlx::query(statements(kind).lock)
            .bind(notice.reference)
            .fetch_optional(&mut *tx)
            .await
            .map_err(sqlx_storage(operation.clone()))?
        else {
            return Ok(NoticeOutcome::UnknownReference);
        };
        let payment = payment_from_row(&row, kind, &operation)?;
        if payment.amount != notice.amount || payment.currency != notice.currency {
            return Ok(NoticeOutcome::Mismatch {
                amount: payment.amount,
                currency: payment.currency,
            });
        }
        let status = match decide(payment.status, notice.outcome) {
            Err(contrary) => return Ok(NoticeOutcome::Contradicts(contrary)),
            Ok(Decision::AlreadyThere) => {
                tx.commit().await.map_err(sqlx_storage(operation))?;
                return Ok(NoticeOutcome::AlreadyThere(payment));
            }
            Ok(Decision::Apply(status)) => status,
        };
        // The amount was checked as a stake when it was asked for.
        let amount = BetSum::restore(payment.amount);
        let posting = match notice.outcome {
            ProviderOutcome::DepositSucceeded => Some((deposit(amount), "DEPOSIT")),
            ProviderOutcome::DepositFailed => None,
            ProviderOutcome::WithdrawalPaid => Some((withdrawal_paid(amount), "WITHDRAWAL_PAID")),
            ProviderOutcome::WithdrawalFailed => {
                Some((withdrawal_returned(amount), "WITHDRAWAL_RETURNED"))
            }
        };
        if let Some((posting, txn_kind)) = posting {
            if !posting.wallet_change().is_zero() {
                lock_wallet(&mut tx, &payment.bettor_id, &self.currency).await?;
            }
            let posted = post_locked(
                &mut tx,
                &payment.bettor_id,
                &posting,
                txn_kind,
                Some(payment.id),
            )
            .await?;
            if let Posted::BalanceLimit = posted {
                return Ok(NoticeOutcome::BalanceLimit);
            }
        }
        let row = sqlx::query(statements(kind).decide)
            .bind(payment.id)
            .bind(status.as_str())
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(sqlx_storage(operation.clone()))?;
        let payment = payment_from_row(&row, kind, &operation)?;
        tx.commit().await.map_err(sqlx_storage(operation))?;
        Ok(NoticeOutcome::Applied(payment))
    }
}

/// A notice whose event id is recorded already: the same again, or the id
/// reused for something else.
async fn earlier_notice(
    conn: &mut PgConnection,
    notice: &ProviderNotice,
    operation: &str,
) -> Result<NoticeOutcome, StorageError> {
    let row = sqlx::query(RECORDED_NOTICE)
        .bind(&notice.event_id)
        .fetch_one(&mut *conn)
        .await
        .map_err(sqlx_storage(operation.to_owned()))?;
    let field = |error| sqlx_storage(operation.to_owned())(error);
    let outcome: String = row.try_get("outcome").map_err(field)?;
    let reference: Uuid = row.try_get("reference").map_err(field)?;
    let amount: Decimal = row.try_get("amount").map_err(field)?;
    let currency: String = row.try_get("currency").map_err(field)?;
    let same = outcome == notice.outcome.as_str()
        && reference == notice.reference
        && amount == notice.amount
        && currency == notice.currency;
    Ok(if same {
        NoticeOutcome::Duplicate
    } else {
        NoticeOutcome::EventIdReused
    })
}
