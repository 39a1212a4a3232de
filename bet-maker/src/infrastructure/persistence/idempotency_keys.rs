//! Idempotency keys are remembered for `BET_MAKER_IDEMPOTENCY_TTL_HOURS`,
//! then swept, so their table stays bounded: a retry within the TTL
//! returns the first response; a key older than it may be swept at any
//! time after (at most one sweep interval later), and then answers as new.

use std::time::Duration;

use sea_orm::DatabaseConnection;
use sea_orm::sqlx::{self, PgPool};
use shared_kernel::storage::chain;
use shared_kernel::storage::sqlx_storage;
use tokio_util::sync::CancellationToken;

/// How often expired keys are swept.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// Keys deleted per statement, so a sweep after a long pause holds no
/// lock for long.
const BATCH: i64 = 10_000;

/// Up to a batch of keys older than `$1` hours.
const SWEEP: &str = "
    DELETE FROM idempotency_keys WHERE ctid IN (
        SELECT ctid FROM idempotency_keys
        WHERE created_at < now() - make_interval(hours => $1)
        LIMIT $2
    )";

/// Sweeps expired keys.
#[derive(Debug, Clone)]
pub struct KeySweeper {
    pool: PgPool,
    ttl_hours: u32,
}

impl KeySweeper {
    /// Sweeps the keys of this database older than `ttl_hours`.
    pub fn new(db: &DatabaseConnection, ttl_hours: u32) -> Self {
        Self {
            pool: db.get_postgres_connection_pool().clone(),
            ttl_hours,
        }
    }

    /// Deletes every expired key now; how many.
    pub async fn sweep(&self) -> Result<u64, shared_kernel::storage::StorageError> {
        let mut swept = 0;
        loop {
            let deleted = sqlx::query(SWEEP)
                .bind(i32::try_from(self.ttl_hours).unwrap_or(i32::MAX))
                .bind(BATCH)
                .execute(&self.pool)
                .await
                .map_err(sqlx_storage("sweeping expired idempotency keys"))?
                .rows_affected();
            swept += deleted;
            if deleted < BATCH.unsigned_abs() {
                return Ok(swept);
            }
        }
    }

    /// Sweeps every [`SWEEP_INTERVAL`] until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        loop {
            match self.sweep().await {
                Ok(0) => {}
                Ok(swept) => tracing::info!(swept, "expired idempotency keys swept"),
                Err(error) => {
                    tracing::warn!(error = %chain(&error), "sweeping idempotency keys failed; trying again later")
                }
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(SWEEP_INTERVAL) => {}
            }
        }
    }
}
