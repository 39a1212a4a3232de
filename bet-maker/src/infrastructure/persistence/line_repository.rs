//! bet-maker's copy of the line in PostgreSQL: the inbox that makes each
//! message count once, and the copy of each event at the newest version
//! heard of. Settling the bets of a finished (or cancelled) event is
//! [`super::settlement`]'s.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    QueryFilter, Statement, TransactionTrait,
};
use shared_kernel::database::{PageOrder, select_page};
use shared_kernel::pagination::PageRequest;
use shared_kernel::storage::{StorageError, storage};
use uuid::Uuid;

use super::entities::events;
use super::mapping::event_from_row;
use super::risk_repository::release_exposure;
use super::settlement::settle_bets;
use crate::application::ports::{ApplyOutcome, LineRepository, RepositoryError};
use crate::domain::{Acceptance, Announced, LineEvent, LineEventStatus, Refusal};

/// Replaces the copy only when the copy accepts the new version as a
/// replacement, by the rule of `LineEvent::accepts`: newer, and the copy
/// not final (finished or cancelled) or the new version a correction
/// (`$6`) to another final status. The first final status also records
/// when line-provider decided it (`$7`, the message's `occurred_at`; the
/// transaction's start for a resync, which has no message).
///
/// Raw SQL: the rule must hold under concurrency (two replicas applying two
/// versions of one event at once end with the newer, whatever order they
/// commit in), so one `INSERT ... ON CONFLICT ... DO UPDATE ... WHERE`
/// decides it in the database, with no read-compare-write round trip. When
/// the `WHERE` fails, PostgreSQL still locks the row, so the copy read next
/// to classify the refusal is the one that refused. Its conditional
/// `WHERE` on `EXCLUDED` reads plainly as SQL, where SeaORM's builder would
/// spell it as nested expressions. `tests/rules_in_sql.rs` runs this
/// statement against `accepts` on a real database.
const UPSERT_IF_ACCEPTED: &str = "
    INSERT INTO events (id, coefficient, deadline, status, version, decided_at)
    VALUES ($1, $2, $3, $4, $5,
            CASE WHEN $4 NOT IN ('NEW', 'SUSPENDED') THEN coalesce($7, now()) END)
    ON CONFLICT (id) DO UPDATE SET
        coefficient = EXCLUDED.coefficient,
        deadline = EXCLUDED.deadline,
        status = EXCLUDED.status,
        version = EXCLUDED.version,
        updated_at = now(),
        decided_at = coalesce(events.decided_at, EXCLUDED.decided_at)
    WHERE events.version < EXCLUDED.version
      AND (events.status IN ('NEW', 'SUSPENDED')
           OR ($6 AND EXCLUDED.status NOT IN ('NEW', 'SUSPENDED')))";

/// Keeps the coefficient a version of an event offered, from when it was
/// made (the message's `occurred_at`; now for a resync), for
/// `domain::offered_at`. Every message counts, even one that arrives after
/// a newer version: it still says what was offered from then on.
const RECORD_OFFER: &str = "
    INSERT INTO event_coefficients (event_id, version, coefficient, since)
    VALUES ($1, $2, $3, coalesce($4, now()))
    ON CONFLICT (event_id, version) DO NOTHING";

/// Records a message in the inbox with the digest of what it said.
const RECORD_IN_INBOX: &str = "
    INSERT INTO inbox (message_id, digest) VALUES ($1, md5($2))
    ON CONFLICT (message_id) DO NOTHING";

/// Whether a message recorded before said the same (rows from before
/// digests were kept count as the same).
const SAME_AS_RECORDED: &str = "
    SELECT (digest IS NULL OR digest = md5($2)) AS same FROM inbox WHERE message_id = $1";

/// [`LineRepository`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct SeaOrmLineRepository {
    db: DatabaseConnection,
}

impl SeaOrmLineRepository {
    /// A repository on this pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    async fn begin(&self, event: &LineEvent) -> Result<DatabaseTransaction, StorageError> {
        self.db
            .begin()
            .await
            .map_err(storage(format!("starting to apply event {}", event.id)))
    }
}

#[async_trait]
impl LineRepository for SeaOrmLineRepository {
    async fn apply_message(
        &self,
        message_id: Uuid,
        change: &Announced,
    ) -> Result<ApplyOutcome, RepositoryError> {
        let event = &change.event;
        let txn = self.begin(event).await?;
        let outcome = match record_in_inbox(&txn, message_id, event).await? {
            Recorded::New => upsert_and_settle(&txn, event, Some(change)).await?,
            Recorded::Before => ApplyOutcome::AlreadyApplied,
            Recorded::BeforeWithOtherContent => {
                ApplyOutcome::Refused(Refusal::MessageIdReused(message_id))
            }
        };
        finish(txn, &outcome, &format!("message {message_id}")).await?;
        Ok(outcome)
    }

    async fn apply_snapshot(&self, event: &LineEvent) -> Result<ApplyOutcome, RepositoryError> {
        let txn = self.begin(event).await?;
        let outcome = upsert_and_settle(&txn, event, None).await?;
        finish(txn, &outcome, &format!("event {}", event.id)).await?;
        Ok(outcome)
    }

    async fn event(&self, id: Uuid) -> Result<Option<LineEvent>, RepositoryError> {
        let row = events::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(storage(format!("reading event {id}")))?;
        Ok(row.map(event_from_row))
    }

    async fn list_open(
        &self,
        now: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Vec<LineEvent>, RepositoryError> {
        let open = events::Entity::find()
            .filter(events::Column::Status.is_in([
                events::Status::from(LineEventStatus::New),
                events::Status::from(LineEventStatus::Suspended),
            ]))
            .filter(events::Column::Deadline.gt(now));
        let rows = select_page(open, events::Column::Id, PageOrder::OldestFirst, page)
            .all(&self.db)
            .await
            .map_err(storage("listing open events"))?;
        Ok(rows.into_iter().map(event_from_row).collect())
    }
}

/// Commits, or rolls back a refusal so nothing of it stays (not even the
/// inbox row: the message is dead-lettered, not applied).
async fn finish(
    txn: DatabaseTransaction,
    outcome: &ApplyOutcome,
    what: &str,
) -> Result<(), StorageError> {
    if matches!(outcome, ApplyOutcome::Refused(_)) {
        txn.rollback()
            .await
            .map_err(storage(format!("rolling back refused {what}")))
    } else {
        txn.commit()
            .await
            .map_err(storage(format!("committing {what}")))
    }
}

/// What the inbox knew of a message.
enum Recorded {
    /// Nothing: recorded now.
    New,
    /// Applied before, with the same content.
    Before,
    /// Applied before, with other content.
    BeforeWithOtherContent,
}

/// Records `message_id` as applied, with a digest of `event`'s content.
async fn record_in_inbox(
    txn: &DatabaseTransaction,
    message_id: Uuid,
    event: &LineEvent,
) -> Result<Recorded, StorageError> {
    let backend = txn.get_database_backend();
    let content = event.canonical_content();
    let values = [message_id.into(), content.into()];
    let what = || format!("recording message {message_id} in the inbox");
    let inserted = txn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            RECORD_IN_INBOX,
            values.clone(),
        ))
        .await
        .map_err(storage(what()))?
        .rows_affected()
        == 1;
    if inserted {
        return Ok(Recorded::New);
    }
    let same = txn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            SAME_AS_RECORDED,
            values,
        ))
        .await
        .map_err(storage(what()))?
        .map(|row| row.try_get::<bool>("", "same"))
        .transpose()
        .map_err(storage(what()))?
        .unwrap_or(true);
    Ok(if same {
        Recorded::Before
    } else {
        Recorded::BeforeWithOtherContent
    })
}

/// Keeps what `event` offered, then replaces the copy if it accepts
/// `event` (as announced by `change`; a resync's snapshot has no
/// announcement: made now, not a correction); if it is then final
/// (finished or cancelled), settles its bets. The event row is updated
/// first, so bets being placed on it (which hold `FOR SHARE` on that row)
/// commit before the settlement reads the pending bets, or wait and then
/// see the event finished. When the copy does not take it, the copy
/// (locked by the upsert) says why: a duplicate, a late arrival, or a
/// conflict.
async fn upsert_and_settle(
    txn: &DatabaseTransaction,
    event: &LineEvent,
    change: Option<&Announced>,
) -> Result<ApplyOutcome, StorageError> {
    let what = || format!("storing version {} of event {}", event.version, event.id);
    let occurred_at = change.map(|change| change.occurred_at);
    let correction = change.is_some_and(Announced::is_correction);
    txn.execute_raw(Statement::from_sql_and_values(
        txn.get_database_backend(),
        RECORD_OFFER,
        [
            event.id.into(),
            event.version.into(),
            event.coefficient.into(),
            occurred_at.into(),
        ],
    ))
    .await
    .map_err(storage(what()))?;
    let replaced = txn
        .execute_raw(Statement::from_sql_and_values(
            txn.get_database_backend(),
            UPSERT_IF_ACCEPTED,
            [
                event.id.into(),
                event.coefficient.into(),
                event.deadline.into(),
                events::Status::from(event.status).into(),
                event.version.into(),
                correction.into(),
                occurred_at.into(),
            ],
        ))
        .await
        .map_err(storage(what()))?
        .rows_affected()
        == 1;
    if !replaced {
        let held = events::Entity::find_by_id(event.id)
            .one(txn)
            .await
            .map_err(storage(what()))?
            .map(event_from_row);
        return Ok(
            match held.map(|held| (held.accepts(event, correction), held.version)) {
                Some((Ok(Acceptance::Duplicate), _)) => ApplyOutcome::Unchanged,
                Some((Err(conflict), _)) => ApplyOutcome::Refused(conflict.into()),
                // Stale, or (were the SQL ever to drift from the rule) anything
                // else the statement did not write: the copy is kept.
                Some((Ok(_), held_version)) => ApplyOutcome::Outdated { held_version },
                None => ApplyOutcome::Outdated { held_version: 0 },
            },
        );
    }
    let bets_settled = if event.status.is_final() {
        let settled = settle_bets(txn, event).await?;
        // Every pending bet of the event is settled now: none counts.
        release_exposure(txn, event.id).await?;
        settled
    } else {
        0
    };
    Ok(ApplyOutcome::Applied { bets_settled })
}
