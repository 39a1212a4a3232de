//! The change feed in PostgreSQL: `change_feed`, filled by triggers on
//! `events`, `bets` and `wallets` (see the migration), read here in
//! (transaction, position) order and never past the oldest transaction
//! still running, so that no reader can pass a change that commits later.

use std::collections::HashMap;

use async_trait::async_trait;
use sea_orm::DatabaseConnection;
use sea_orm::sqlx::postgres::PgRow;
use sea_orm::sqlx::{self, PgPool, Row};
use shared_kernel::storage::{StorageError, sqlx_storage};
use uuid::Uuid;

use super::feed_snapshots::{named_bets, parse_bet, parse_snapshot};
use crate::application::live::{ChangeLog, FeedChange, FeedKey, LiveChange, Topic};
use crate::application::ports::RepositoryError;
use crate::domain::{Bet, BettorId};

/// Every change below this is committed: the oldest transaction still
/// running.
const HORIZON: &str = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xid";

/// The changes after `$1, $2` that can be read: below the horizon, in
/// order; `$filter` narrows them and ends with the `LIMIT`.
macro_rules! read_after {
    ($filter:literal) => {
        concat!(
            "SELECT position, xid::text AS xid, bettor_id, kind, snapshot::text AS snapshot
             FROM change_feed
             WHERE (xid, position) > ($1::text::xid8, $2)
               AND xid < pg_snapshot_xmin(pg_current_snapshot()) ",
            $filter
        )
    };
}

// `ORDER BY` names the table's column: a bare `xid` would be the output
// column, the text, sorted as text (9 after 10) and by a sort of every row
// after the key instead of a walk of the index (1.5 s a page at 900,000
// changes, which held every stream back after a large settlement).
const READ_ALL: &str = read_after!("ORDER BY change_feed.xid, position LIMIT $3");
const READ_LINE: &str =
    read_after!("AND bettor_id IS NULL ORDER BY change_feed.xid, position LIMIT $3");
const READ_BETTOR: &str =
    read_after!("AND bettor_id = $3 ORDER BY change_feed.xid, position LIMIT $4");

/// The bets of `$1` as the feed's documents write them (`bet_document`: the
/// row and its legs), for the `bets` rows read.
const NAMED_BETS: &str =
    "SELECT id, bet_document(bets)::text AS snapshot FROM bets WHERE id = ANY($1::uuid[])";

const LOCATE: &str = "SELECT xid::text AS xid, bettor_id FROM change_feed WHERE position = $1";

/// Forgets, a batch at a time (a short transaction each: a long one would
/// hold the horizon back for every reader), the changes up to a key.
const FORGET_BATCH: i64 = 10_000;
const FORGET: &str = "
    DELETE FROM change_feed WHERE position IN (
        SELECT position FROM change_feed
        WHERE (xid, position) <= ($1::text::xid8, $2)
        ORDER BY xid, position LIMIT $3
    )";

/// [`ChangeLog`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlChangeLog {
    pool: PgPool,
}

impl SqlChangeLog {
    /// The feed of this database.
    pub fn new(db: &DatabaseConnection) -> Self {
        Self {
            pool: db.get_postgres_connection_pool().clone(),
        }
    }

    async fn rows(
        &self,
        sql: &'static str,
        after: FeedKey,
        bettor: Option<&BettorId>,
        limit: u32,
        operation: &'static str,
    ) -> Result<Vec<PgRow>, StorageError> {
        let mut query = sqlx::query(sql)
            .bind(after.xid.to_string())
            .bind(after.position);
        if let Some(bettor) = bettor {
            query = query.bind(bettor.as_str());
        }
        query
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(sqlx_storage(operation))
    }
}

#[async_trait]
impl ChangeLog for SqlChangeLog {
    async fn horizon(&self) -> Result<FeedKey, RepositoryError> {
        const OPERATION: &str = "reading the change feed's horizon";
        let row = sqlx::query(HORIZON)
            .fetch_one(&self.pool)
            .await
            .map_err(sqlx_storage(OPERATION))?;
        Ok(FeedKey {
            xid: xid_of(&row, OPERATION)?,
            position: 0,
        })
    }

    async fn read_all(
        &self,
        after: FeedKey,
        followed: &(dyn for<'b> Fn(&'b BettorId) -> bool + Send + Sync),
        limit: u32,
    ) -> Result<Vec<FeedChange>, RepositoryError> {
        const OPERATION: &str = "reading the change feed";
        let rows = self.rows(READ_ALL, after, None, limit, OPERATION).await?;
        Ok(self.changes_of(&rows, followed, OPERATION).await?)
    }

    async fn read_topic(
        &self,
        topic: &Topic,
        after: FeedKey,
        limit: u32,
    ) -> Result<Vec<FeedChange>, RepositoryError> {
        const OPERATION: &str = "reading a stream's missed changes";
        let rows = match topic {
            Topic::Line => self.rows(READ_LINE, after, None, limit, OPERATION).await?,
            Topic::Bettor(bettor) => {
                self.rows(READ_BETTOR, after, Some(bettor), limit, OPERATION)
                    .await?
            }
        };
        Ok(self.changes_of(&rows, &|_| true, OPERATION).await?)
    }

    async fn locate(
        &self,
        topic: &Topic,
        position: i64,
    ) -> Result<Option<FeedKey>, RepositoryError> {
        const OPERATION: &str = "finding where a stream resumes";
        let row = sqlx::query(LOCATE)
            .bind(position)
            .fetch_optional(&self.pool)
            .await
            .map_err(sqlx_storage(OPERATION))?;
        let Some(row) = row else { return Ok(None) };
        let bettor: Option<String> = row.try_get("bettor_id").map_err(sqlx_storage(OPERATION))?;
        let theirs = match topic {
            Topic::Line => bettor.is_none(),
            Topic::Bettor(wanted) => bettor.as_deref() == Some(wanted.as_str()),
        };
        if !theirs {
            return Ok(None);
        }
        Ok(Some(FeedKey {
            xid: xid_of(&row, OPERATION)?,
            position,
        }))
    }

    async fn forget_through(&self, through: FeedKey) -> Result<u64, RepositoryError> {
        const OPERATION: &str = "forgetting changes past the retention";
        let mut forgotten = 0;
        loop {
            let deleted = sqlx::query(FORGET)
                .bind(through.xid.to_string())
                .bind(through.position)
                .bind(FORGET_BATCH)
                .execute(&self.pool)
                .await
                .map_err(sqlx_storage(OPERATION))?
                .rows_affected();
            forgotten += deleted;
            if deleted < FORGET_BATCH.unsigned_abs() {
                return Ok(forgotten);
            }
        }
    }
}

fn xid_of(row: &PgRow, operation: &'static str) -> Result<u64, StorageError> {
    let text: String = row.try_get("xid").map_err(sqlx_storage(operation))?;
    text.parse()
        .map_err(|_| StorageError::corrupt(operation, format!("`{text}` is not a transaction id")))
}

/// A row of the feed as read: where it sits, whose it is, and, when
/// `wanted` says so, what it holds.
struct FeedRow {
    key: FeedKey,
    topic: Topic,
    content: Option<Content>,
}

/// What a row holds: a change read back, or the bets a `bets` row names,
/// to be read (or why it cannot be read).
enum Content {
    Change(Result<LiveChange, String>),
    Named(Vec<Uuid>),
}

fn feed_row(
    row: &PgRow,
    wanted: &dyn Fn(&BettorId) -> bool,
    operation: &'static str,
) -> Result<FeedRow, StorageError> {
    let field = sqlx_storage(operation);
    let key = FeedKey {
        xid: xid_of(row, operation)?,
        position: row.try_get("position").map_err(field)?,
    };
    let bettor: Option<String> = row.try_get("bettor_id").map_err(sqlx_storage(operation))?;
    let topic = match bettor {
        None => Topic::Line,
        Some(bettor) => Topic::Bettor(BettorId::restore(bettor)),
    };
    let content = match &topic {
        Topic::Bettor(bettor) if !wanted(bettor) => None,
        _ => {
            let kind: String = row.try_get("kind").map_err(sqlx_storage(operation))?;
            let snapshot: String = row.try_get("snapshot").map_err(sqlx_storage(operation))?;
            Some(match kind.as_str() {
                "bets" => match named_bets(&snapshot) {
                    Ok(ids) => Content::Named(ids),
                    Err(what) => Content::Change(Err(what)),
                },
                _ => Content::Change(parse_snapshot(&kind, &snapshot)),
            })
        }
    };
    Ok(FeedRow {
        key,
        topic,
        content,
    })
}

impl SqlChangeLog {
    /// The changes of `rows`, with what changed when `wanted` says so: a
    /// snapshot read back, or the bets a `bets` row names, read in one
    /// query for the whole page.
    async fn changes_of(
        &self,
        rows: &[PgRow],
        wanted: &(dyn for<'b> Fn(&'b BettorId) -> bool + Send + Sync),
        operation: &'static str,
    ) -> Result<Vec<FeedChange>, StorageError> {
        let rows = rows
            .iter()
            .map(|row| feed_row(row, wanted, operation))
            .collect::<Result<Vec<_>, _>>()?;
        let named: Vec<Uuid> = rows
            .iter()
            .filter_map(|row| match &row.content {
                Some(Content::Named(ids)) => Some(ids.iter().copied()),
                _ => None,
            })
            .flatten()
            .collect();
        let bets = self.named(&named, operation).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let change = row.content.and_then(|content| match content {
                    Content::Named(ids) => Some(LiveChange::Bets(
                        ids.iter().filter_map(|id| bets.get(id).cloned()).collect(),
                    )),
                    // A row that cannot be read is reported and passed
                    // over: it must not stop every stream behind it.
                    Content::Change(change) => change
                        .inspect_err(|what| {
                            tracing::error!(position = row.key.position, %what,
                                "an unreadable change in the feed is skipped");
                        })
                        .ok(),
                });
                FeedChange::new(row.key, row.topic, change)
            })
            .collect())
    }

    /// The bets `ids` as they are now, by id (one that cannot be read is
    /// reported and left out).
    async fn named(
        &self,
        ids: &[Uuid],
        operation: &'static str,
    ) -> Result<HashMap<Uuid, Bet>, StorageError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = sqlx::query(NAMED_BETS)
            .bind(ids)
            .fetch_all(&self.pool)
            .await
            .map_err(sqlx_storage(operation))?;
        let mut bets = HashMap::with_capacity(rows.len());
        for row in rows {
            let id: Uuid = row.try_get("id").map_err(sqlx_storage(operation))?;
            let snapshot: String = row.try_get("snapshot").map_err(sqlx_storage(operation))?;
            match parse_bet(&snapshot) {
                Ok(bet) => {
                    bets.insert(id, bet);
                }
                Err(what) => {
                    tracing::error!(%id, %what, "an unreadable bet named by the feed is skipped")
                }
            }
        }
        Ok(bets)
    }
}
