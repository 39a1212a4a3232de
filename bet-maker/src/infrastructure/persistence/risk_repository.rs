//! The house's risk in PostgreSQL: each event's exposure row (moved by
//! `PLACE_BETS`, zeroed by settlement), the traders' limits, and their
//! audit entries, each change in the transaction of its entry.

use async_trait::async_trait;
use rust_decimal::Decimal;
use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::{self, PgPool, Row};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, Statement};
use serde_json::json;
use shared_kernel::money::WireDecimal;
use shared_kernel::storage::{StorageError, sqlx_storage, storage};
use uuid::Uuid;

use super::staff_repository::{AUDIT, audit_entry};
use crate::application::ports::{
    AuditEntry, LimitChange, OpenEventExposure, RepositoryError, RiskRepository, RiskState,
};
use crate::domain::{BettorId, Exposure, LineEventStatus};
use shared_kernel::pagination::PageRequest;

/// The action a trader's limit on an event is audited as.
pub const SET_EVENT_LIMIT: &str = "event.limits";
/// The action a trader's cap on a bettor is audited as.
pub const SET_BETTOR_LIMIT: &str = "bettor.limits";

/// Zeroes event `$1`'s exposure: run by settlement right after it settled
/// every pending bet of the event, in the same transaction, so no bet
/// that was counted stays counted (an accumulator, issue 23, will instead
/// take its stake and payout off each leg's row when it is decided).
pub const RELEASE_EXPOSURE: &str = "
    UPDATE event_exposure SET pending_bets = 0, stakes = 0.00, potential_payout = 0.00
    WHERE event_id = $1";

const EXPOSURE: &str = "
    SELECT pending_bets, stakes, potential_payout, max_liability
    FROM event_exposure WHERE event_id = $1";

/// The events not yet decided, newest first, after `$1` (when not null),
/// `$2` of them, with their exposure.
const OPEN_EXPOSURES: &str = "
    SELECT e.id, e.status = 'SUSPENDED' AS suspended, e.coefficient, e.deadline,
           x.pending_bets, x.stakes, x.potential_payout, x.max_liability
    FROM events e JOIN event_exposure x ON x.event_id = e.id
    WHERE e.status IN ('NEW', 'SUSPENDED') AND ($1::uuid IS NULL OR e.id < $1)
    ORDER BY e.id DESC LIMIT $2";

/// The exposure of `$2`, its maximum, `$1`'s balance and cap.
const STATE: &str = "
    SELECT x.pending_bets, x.stakes, x.potential_payout, x.max_liability,
           coalesce((SELECT balance FROM wallets WHERE bettor_id = $1), 0.00) AS balance,
           (SELECT max_stake FROM bettor_limits WHERE bettor_id = $1) AS bettor_max_stake
    FROM event_exposure x WHERE x.event_id = $2";

/// Locks the row, and says the limit before.
const LOCK_EVENT_LIMIT: &str = "
    SELECT max_liability FROM event_exposure WHERE event_id = $1 FOR UPDATE";

const SET_EVENT: &str = "UPDATE event_exposure SET max_liability = $2 WHERE event_id = $1";

/// The cap before (locking it, when there is one).
const BETTOR_LIMIT: &str = "
    SELECT max_stake FROM bettor_limits WHERE bettor_id = $1 FOR UPDATE";

const SET_BETTOR: &str = "
    INSERT INTO bettor_limits (bettor_id, max_stake) VALUES ($1, $2)
    ON CONFLICT (bettor_id) DO UPDATE SET max_stake = EXCLUDED.max_stake";

const REMOVE_BETTOR: &str = "DELETE FROM bettor_limits WHERE bettor_id = $1";

/// Zeroes the exposure of an event whose pending bets were all just
/// settled in `txn`.
pub(super) async fn release_exposure(
    txn: &DatabaseTransaction,
    event_id: Uuid,
) -> Result<(), StorageError> {
    txn.execute_raw(Statement::from_sql_and_values(
        txn.get_database_backend(),
        RELEASE_EXPOSURE,
        [event_id.into()],
    ))
    .await
    .map_err(storage(format!(
        "releasing the exposure of event {event_id}"
    )))?;
    Ok(())
}

/// [`RiskRepository`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlRiskRepository {
    pool: PgPool,
}

impl SqlRiskRepository {
    /// A repository on this pool.
    pub fn new(db: &DatabaseConnection) -> Self {
        Self {
            pool: db.get_postgres_connection_pool().clone(),
        }
    }
}

fn exposure_of(row: &PgRow, operation: &str) -> Result<Exposure, StorageError> {
    let field = |error| sqlx_storage(operation.to_owned())(error);
    Ok(Exposure {
        pending_bets: row.try_get("pending_bets").map_err(field)?,
        stakes: row.try_get("stakes").map_err(field)?,
        potential_payout: row.try_get("potential_payout").map_err(field)?,
    })
}

/// A limit as the audit log spells it (`null`: none, the default applies).
/// Writes the audit entry of a limit change (`action` on `subject`, the
/// limit `field` from `before` to the change's) and commits it with the
/// change, in `tx`.
async fn audit_and_commit<S>(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    change: &LimitChange<S>,
    (action, subject): (&str, String),
    (field, before): (&str, Option<Decimal>),
    operation: &str,
) -> Result<AuditEntry, RepositoryError> {
    let fail = || sqlx_storage(operation.to_owned());
    let row = sqlx::query(AUDIT)
        .bind(Uuid::now_v7())
        .bind(change.actor.as_str())
        .bind(action)
        .bind(subject)
        .bind(&change.reason)
        .bind(json!({ field: spelled(before) }))
        .bind(json!({ field: spelled(change.limit) }))
        .fetch_one(&mut *tx)
        .await
        .map_err(fail())?;
    let entry = audit_entry(&row, operation)?;
    tx.commit().await.map_err(fail())?;
    Ok(entry)
}

fn spelled(limit: Option<Decimal>) -> serde_json::Value {
    limit.map_or(serde_json::Value::Null, |limit| {
        WireDecimal::from_decimal_exact(limit).to_string().into()
    })
}

#[async_trait]
impl RiskRepository for SqlRiskRepository {
    async fn state(
        &self,
        bettor_id: &BettorId,
        event_id: Uuid,
    ) -> Result<Option<RiskState>, RepositoryError> {
        let operation = format!("reading the limits of {bettor_id} on event {event_id}");
        let Some(row) = sqlx::query(STATE)
            .bind(bettor_id.as_str())
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(sqlx_storage(operation.clone()))?
        else {
            return Ok(None);
        };
        let field = |error| sqlx_storage(operation.clone())(error);
        Ok(Some(RiskState {
            balance: row.try_get("balance").map_err(field)?,
            bettor_max_stake: row.try_get("bettor_max_stake").map_err(field)?,
            event_max_liability: row.try_get("max_liability").map_err(field)?,
            exposure: exposure_of(&row, &operation)?,
        }))
    }

    async fn exposure(
        &self,
        event_id: Uuid,
    ) -> Result<Option<(Exposure, Option<Decimal>)>, RepositoryError> {
        let operation = format!("reading the exposure of event {event_id}");
        let Some(row) = sqlx::query(EXPOSURE)
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(sqlx_storage(operation.clone()))?
        else {
            return Ok(None);
        };
        let own: Option<Decimal> = row
            .try_get("max_liability")
            .map_err(sqlx_storage(operation.clone()))?;
        Ok(Some((exposure_of(&row, &operation)?, own)))
    }

    async fn open_exposures(
        &self,
        page: PageRequest,
    ) -> Result<Vec<OpenEventExposure>, RepositoryError> {
        let operation = "reading the exposure of the open events";
        let rows = sqlx::query(OPEN_EXPOSURES)
            .bind(page.after)
            .bind(i64::from(page.limit) + 1)
            .fetch_all(&self.pool)
            .await
            .map_err(sqlx_storage(operation))?;
        let field = |error| sqlx_storage(operation)(error);
        let open = |row: &PgRow| -> Result<OpenEventExposure, StorageError> {
            let suspended: bool = row.try_get("suspended").map_err(field)?;
            Ok(OpenEventExposure {
                event_id: row.try_get("id").map_err(field)?,
                status: if suspended {
                    LineEventStatus::Suspended
                } else {
                    LineEventStatus::New
                },
                coefficient: row.try_get("coefficient").map_err(field)?,
                deadline: row.try_get("deadline").map_err(field)?,
                exposure: exposure_of(row, operation)?,
                own_max_liability: row.try_get("max_liability").map_err(field)?,
            })
        };
        Ok(rows.iter().map(open).collect::<Result<_, _>>()?)
    }

    async fn set_event_limit(
        &self,
        change: LimitChange<Uuid>,
    ) -> Result<Option<AuditEntry>, RepositoryError> {
        let event_id = change.subject;
        let operation = format!("setting the limits of event {event_id}");
        let fail = || sqlx_storage(operation.clone());
        let mut tx = self.pool.begin().await.map_err(fail())?;
        let Some(before) = sqlx::query(LOCK_EVENT_LIMIT)
            .bind(event_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail())?
        else {
            return Ok(None);
        };
        let before: Option<Decimal> = before.try_get("max_liability").map_err(fail())?;
        sqlx::query(SET_EVENT)
            .bind(event_id)
            .bind(change.limit)
            .execute(&mut *tx)
            .await
            .map_err(fail())?;
        let entry = audit_and_commit(
            tx,
            &change,
            (SET_EVENT_LIMIT, format!("event:{event_id}")),
            ("max_liability", before),
            &operation,
        )
        .await?;
        Ok(Some(entry))
    }

    async fn set_bettor_limit(
        &self,
        change: LimitChange<BettorId>,
    ) -> Result<AuditEntry, RepositoryError> {
        let bettor = change.subject.as_str();
        let operation = format!("setting the limits of bettor {bettor}");
        let fail = || sqlx_storage(operation.clone());
        let mut tx = self.pool.begin().await.map_err(fail())?;
        let before: Option<Decimal> = sqlx::query_scalar(BETTOR_LIMIT)
            .bind(bettor)
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail())?;
        let written = match change.limit {
            Some(limit) => sqlx::query(SET_BETTOR).bind(bettor).bind(limit),
            None => sqlx::query(REMOVE_BETTOR).bind(bettor),
        };
        written.execute(&mut *tx).await.map_err(fail())?;
        audit_and_commit(
            tx,
            &change,
            (SET_BETTOR_LIMIT, format!("bettor:{bettor}")),
            ("max_stake", before),
            &operation,
        )
        .await
    }
}
