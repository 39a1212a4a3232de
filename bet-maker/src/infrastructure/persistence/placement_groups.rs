//! Group commit of bet placements: concurrent bets placed a group to a
//! statement and a commit, each still decided alone.
//!
//! A placement goes into a bounded queue and waits for its answer. A few
//! writers ([`GroupSettings::writers`]) each take everything queued, up to
//! [`GroupSettings::max_group`], without waiting for more (a bet that
//! finds the queue empty and a writer free is placed at once, alone), and
//! place it with [`PLACE_BETS`](super::PLACE_BETS): one round trip, one
//! commit and one set of writes for the group, where bets placed one by
//! one pay each of them per bet. Each caller is answered once its group
//! is committed.
//!
//! A group that fails is undone whole and placed again one bet at a time
//! (each a group of one), so one bet's error (a key claimed by a
//! concurrent request outside the group, a deadlock) stays its own; when
//! the database is unreachable, every bet of the group is answered so. A
//! caller that stops waiting (its request cancelled) does not take its bet
//! out of the group: it is placed, once, and a retry with its key finds
//! it.

use std::sync::Arc;

use async_trait::async_trait;
use sea_orm::DatabaseConnection;
use sea_orm::sqlx::PgPool;
use shared_kernel::pagination::PageRequest;
use shared_kernel::storage::{StorageError, StorageFailure, chain, sqlx_storage};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinSet;
use uuid::Uuid;

use super::SeaOrmBetRepository;
use super::placement::{Decided, Placement, outcome, place_group, place_one};
use crate::application::ports::{
    BetFilter, BetRepository, BetToPlace, EarlierBet, IdempotencyClaim, PlaceOutcome,
    RepositoryError,
};
use crate::domain::{Bet, BettorId};

/// How many full groups per writer the queue holds; a placement that finds
/// it full waits for room.
const QUEUED_GROUPS_PER_WRITER: usize = 4;

/// How placements are grouped: `BET_MAKER_PLACEMENT_WRITERS` and
/// `BET_MAKER_PLACEMENT_GROUP_MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupSettings {
    /// Writers, each placing one group at a time on a connection of its
    /// own (at least 1).
    pub writers: usize,
    /// The most bets in one group (at least 1).
    pub max_group: usize,
}

/// A bet waiting for its group, and where its answer goes.
struct Queued {
    placement: Placement,
    answer: oneshot::Sender<Result<Decided, StorageError>>,
}

/// [`BetRepository`] that places concurrent bets in groups, one statement
/// and one commit per group; everything else is [`SeaOrmBetRepository`]'s.
/// Its [`PlacementWriters`] must run for placements to be answered.
#[derive(Debug, Clone)]
pub struct GroupedBetRepository {
    bets: SeaOrmBetRepository,
    queue: mpsc::Sender<Queued>,
}

/// The writers behind a [`GroupedBetRepository`]: they place what it
/// queues, until [`run`](Self::run) ends.
#[derive(Debug)]
pub struct PlacementWriters {
    pool: PgPool,
    queue: mpsc::Receiver<Queued>,
    settings: GroupSettings,
}

/// `database_url` for the writers' own pool ([`GroupedBetRepository::new`]):
/// its sessions plan [`PLACE_BETS`](super::PLACE_BETS) once, generically,
/// and reuse the plan for every group. Left to choose, PostgreSQL plans
/// it anew for every group (about a millisecond), because a plan made for
/// the group's sizes looks cheaper than one for any size; the generic plan
/// runs as fast. The service's other statements keep their own choice.
pub fn writers_database_url(database_url: &str) -> Result<String, url::ParseError> {
    let mut url = url::Url::parse(database_url)?;
    url.query_pairs_mut()
        .append_pair("options[plan_cache_mode]", "force_generic_plan");
    Ok(url.into())
}

impl GroupedBetRepository {
    /// A repository placing bets in groups, reading bets with `bets`, and
    /// the writers that place them on `writers_db` (a connection each: a
    /// pool of [`GroupSettings::writers`], made on
    /// [`writers_database_url`]).
    pub fn new(
        bets: SeaOrmBetRepository,
        writers_db: &DatabaseConnection,
        settings: GroupSettings,
    ) -> (Self, PlacementWriters) {
        let settings = GroupSettings {
            writers: settings.writers.max(1),
            max_group: settings.max_group.max(1),
        };
        let capacity = settings.writers * settings.max_group * QUEUED_GROUPS_PER_WRITER;
        let (sender, receiver) = mpsc::channel(capacity);
        let writers = PlacementWriters {
            pool: writers_db.get_postgres_connection_pool().clone(),
            queue: receiver,
            settings,
        };
        (
            Self {
                bets,
                queue: sender,
            },
            writers,
        )
    }

    /// How many bets wait in the queue for a writer now.
    pub fn queued(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }
}

/// The writers stopped before the bet was queued or answered: the service
/// is shutting down.
#[derive(Debug, thiserror::Error)]
#[error("the placement writers have stopped")]
struct WritersStopped;

fn stopped(bet_id: Uuid) -> RepositoryError {
    StorageError::new(
        format!("placing bet {bet_id}"),
        StorageFailure::Unavailable,
        WritersStopped,
    )
    .into()
}

#[async_trait]
impl BetRepository for GroupedBetRepository {
    /// As [`SeaOrmBetRepository::place`], in the group the bet is queued
    /// with; answered once that group is committed. Errors: storage, and
    /// unavailable when the service stops before the bet is placed.
    async fn place(&self, to_place: BetToPlace<'_>) -> Result<PlaceOutcome, RepositoryError> {
        let placement = Placement::of(&to_place);
        let bet_id = placement.bet_id();
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(Queued { placement, answer })
            .await
            .map_err(|_| stopped(bet_id))?;
        let decided = answered.await.map_err(|_| stopped(bet_id))??;
        outcome(decided, &to_place)
    }

    async fn earlier_use(
        &self,
        claim: &IdempotencyClaim,
    ) -> Result<Option<EarlierBet>, RepositoryError> {
        self.bets.earlier_use(claim).await
    }

    async fn get(&self, bettor_id: &BettorId, id: Uuid) -> Result<Option<Bet>, RepositoryError> {
        self.bets.get(bettor_id, id).await
    }

    async fn list(
        &self,
        bettor_id: &BettorId,
        filter: BetFilter,
        page: PageRequest,
    ) -> Result<Vec<Bet>, RepositoryError> {
        self.bets.list(bettor_id, filter, page).await
    }
}

impl PlacementWriters {
    /// Places queued bets, group after group, until no repository is left
    /// to queue one and the queue is empty. Not told to stop: at shutdown
    /// the HTTP server, which holds the repository, finishes its requests
    /// first, and every bet they queued is placed and answered; a writer
    /// aborted before (the grace period over) drops what it holds, and
    /// those callers are answered that the service stopped.
    pub async fn run(self) {
        let queue = Arc::new(Mutex::new(self.queue));
        let mut writers = JoinSet::new();
        for _ in 0..self.settings.writers {
            writers.spawn(write_groups(
                Arc::clone(&queue),
                self.pool.clone(),
                self.settings.max_group,
            ));
        }
        while let Some(joined) = writers.join_next().await {
            if let Err(error) = joined {
                tracing::error!(error = %error, "a placement writer failed");
            }
        }
    }
}

/// One writer: waits for a bet, takes it with everything queued behind it
/// (up to `max_group`), places them, and again. One writer waits on the
/// queue at a time, so under light load each bet goes alone, at once.
async fn write_groups(queue: Arc<Mutex<mpsc::Receiver<Queued>>>, pool: PgPool, max_group: usize) {
    loop {
        let mut group = Vec::with_capacity(max_group);
        let taken = queue.lock().await.recv_many(&mut group, max_group).await;
        if taken == 0 {
            return;
        }
        write(&pool, group).await;
    }
}

/// Places `group` and answers each of its bets (a caller that stopped
/// waiting is not there to answer: its bet is placed all the same).
async fn write(pool: &PgPool, mut group: Vec<Queued>) {
    // In the order the bets were decided in (near enough the queue's), so
    // a bettor's wallet lines run in the order of their ids.
    group.sort_by_key(|queued| queued.placement.first_entry());
    metrics::counter!("bet_placement_groups_total").increment(1);
    metrics::counter!("bet_placement_grouped_bets_total").increment(group.len() as u64);
    if group.len() == 1 {
        return place_each(pool, group).await;
    }
    let placements: Vec<&Placement> = group.iter().map(|queued| &queued.placement).collect();
    let failed = match place_group(pool, &placements).await {
        Ok(decided) => {
            for (queued, decided) in group.into_iter().zip(decided) {
                let _ = queued.answer.send(Ok(decided));
            }
            return;
        }
        Err(error) => sqlx_storage(format!("placing a group of {} bets", group.len()))(error),
    };
    if failed.is_unavailable() {
        let failed = Arc::new(failed);
        for queued in group {
            let error = StorageError::new(
                format!("placing bet {}", queued.placement.bet_id()),
                failed.failure(),
                Arc::clone(&failed),
            );
            let _ = queued.answer.send(Err(error));
        }
        return;
    }
    metrics::counter!("bet_placement_group_replays_total").increment(1);
    tracing::warn!(
        error = %chain(&failed),
        bets = group.len(),
        "a group of bets failed and was undone; placing them one at a time"
    );
    place_each(pool, group).await;
}

/// Places each bet of `group` alone, in its order, and answers it.
async fn place_each(pool: &PgPool, group: Vec<Queued>) {
    for queued in group {
        let decided = place_one(pool, &queued.placement).await;
        let _ = queued.answer.send(decided);
    }
}
