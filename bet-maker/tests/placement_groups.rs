//! Group commit of placements, on the real database: concurrent bets go a
//! group to a statement and a commit (`GroupedBetRepository`), and each is
//! still decided as if placed alone once the ones before it had committed:
//! the liability limit, the balance and the bettor's key hold exactly;
//! settlement running at the same time deadlocks with nothing; a caller
//! that stops waiting neither loses nor duplicates its bet; stopping the
//! writers answers every bet they held.

mod support;

use std::sync::Arc;
use std::time::Duration;

use bet_maker::application::ports::{
    BetRepository, BetRisk, BetToPlace, EarlierBet, IdempotencyClaim, LineRepository, PlaceOutcome,
    RepositoryError,
};
use bet_maker::domain::{
    Bet, BetSum, BettorId, LimitKind, LineEvent, LineEventStatus, MAX_LIMIT, stake,
};
use bet_maker::infrastructure::persistence::migrations::{Migrator, schema_fingerprint};
use bet_maker::infrastructure::persistence::{
    GroupSettings, GroupedBetRepository, PLACE_BETS, SeaOrmBetRepository, SeaOrmLineRepository,
    writers_database_url,
};
use chrono::Utc;
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};
use shared_kernel::testing::{PATIENCE, TestDatabase, eventually};
use support::assert_books_balance;
use tokio::task::JoinHandle;
use uuid::Uuid;

fn money(text: &str) -> Decimal {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// A bet to place: who, on which events (a single, or an accumulator),
/// how much, with which `Idempotency-Key` (and the request it names).
#[derive(Debug, Clone)]
struct Slip {
    bettor: String,
    events: Vec<LineEvent>,
    amount: Decimal,
    key: Option<(String, String)>,
}

impl Slip {
    fn on(bettor: &str, events: &[&LineEvent], amount: &str) -> Self {
        Self {
            bettor: bettor.to_owned(),
            events: events.iter().map(|event| (*event).clone()).collect(),
            amount: money(amount),
            key: None,
        }
    }

    fn with_key(mut self, key: &str, request: &str) -> Self {
        self.key = Some((key.to_owned(), request.to_owned()));
        self
    }

    fn bettor_id(&self) -> BettorId {
        BettorId::parse(&self.bettor).unwrap_or_else(|e| panic!("{}: {e}", self.bettor))
    }

    fn claim(&self) -> Option<IdempotencyClaim> {
        self.key.clone().map(|(key, request)| IdempotencyClaim {
            bettor_id: self.bettor_id(),
            key,
            request,
        })
    }

    /// The bet, decided now on the slip's events as they were opened.
    fn decide(&self) -> Bet {
        let amount = BetSum::new(self.amount, MAX_LIMIT).unwrap_or_else(|e| panic!("{e}"));
        let events: Vec<&LineEvent> = self.events.iter().collect();
        Bet::place(
            Uuid::now_v7(),
            self.bettor_id(),
            &events,
            amount,
            Utc::now(),
        )
        .unwrap_or_else(|e| panic!("deciding {self:?}: {e}"))
    }
}

/// Writes `bet`, decided on `slip`, through `bets`.
async fn place(
    bets: &dyn BetRepository,
    slip: &Slip,
    bet: &Bet,
) -> Result<PlaceOutcome, RepositoryError> {
    let versions: Vec<i64> = slip.events.iter().map(|event| event.version).collect();
    let posting = stake(bet.amount());
    let claim = slip.claim();
    bets.place(BetToPlace {
        bet,
        event_versions: &versions,
        stake: &posting,
        claim: claim.as_ref(),
        risk: BetRisk {
            potential_payout: bet.potential_payout(),
            max_payout: MAX_LIMIT,
            default_max_liability: MAX_LIMIT,
        },
    })
    .await
}

/// A database of the test's own, and a pool on it for the repositories
/// (the test database's own pool is small).
struct Books {
    db: TestDatabase,
    pool: DatabaseConnection,
}

impl Books {
    async fn new() -> Self {
        let db = TestDatabase::create::<Migrator>("bet_maker_groups", schema_fingerprint())
            .await
            .unwrap_or_else(|e| panic!("test database: {e}"));
        let pool = shared_kernel::postgres::connect(&db.url, 6)
            .await
            .unwrap_or_else(|e| panic!("a pool on the test database: {e}"));
        Self { db, pool }
    }

    fn bets(&self) -> SeaOrmBetRepository {
        SeaOrmBetRepository::new(self.pool.clone())
    }

    /// A grouped repository and its writers, running, on a pool of their
    /// own as the service makes it.
    async fn grouped(
        &self,
        writers: usize,
        max_group: usize,
    ) -> (Arc<GroupedBetRepository>, JoinHandle<()>) {
        let url = writers_database_url(&self.db.url).unwrap_or_else(|e| panic!("{e}"));
        let size = u32::try_from(writers).unwrap_or_else(|e| panic!("{e}"));
        let writers_db = shared_kernel::postgres::connect(&url, size)
            .await
            .unwrap_or_else(|e| panic!("the writers' pool: {e}"));
        let (bets, placement_writers) = GroupedBetRepository::new(
            self.bets(),
            &writers_db,
            GroupSettings { writers, max_group },
        );
        (Arc::new(bets), tokio::spawn(placement_writers.run()))
    }

    async fn execute(&self, sql: &str, values: Vec<sea_orm::Value>) {
        let db = &self.db.connection;
        db.execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            values,
        ))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    async fn count(&self, sql: &str) -> i64 {
        shared_kernel::testing::count(&self.db.connection, sql).await
    }

    /// An open event at `coefficient`, closing in an hour, with its own
    /// maximum liability if given.
    async fn open_event(&self, coefficient: &str, max_liability: Option<&str>) -> LineEvent {
        let event = support::line_event(
            coefficient,
            Utc::now() + chrono::Duration::hours(1),
            LineEventStatus::New,
            1,
        );
        SeaOrmLineRepository::new(self.db.connection.clone())
            .apply_snapshot(&event)
            .await
            .unwrap_or_else(|e| panic!("opening {event:?}: {e}"));
        if let Some(max) = max_liability {
            self.execute(
                "UPDATE event_exposure SET max_liability = $2 WHERE event_id = $1",
                vec![event.id.into(), money(max).into()],
            )
            .await;
        }
        event
    }

    /// A wallet for `bettor` holding `amount`, deposited (a balanced
    /// DEPOSIT transaction, so the books hold).
    async fn fund(&self, bettor: &str, amount: &str) {
        self.execute(
            "WITH wallet AS (
                 INSERT INTO wallets (bettor_id, currency, balance) VALUES ($1, 'EUR', $2)
             ),
             txn AS (
                 INSERT INTO ledger_transactions (id, kind) VALUES ($3, 'DEPOSIT')
                 RETURNING id, created_at
             )
             INSERT INTO ledger_entries
                 (id, transaction_id, account, amount, bettor_id, line, balance_after, created_at)
             SELECT gen_random_uuid(), txn.id, 'WALLET', $2, $1, 'DEPOSIT', $2, txn.created_at
             FROM txn
             UNION ALL
             SELECT gen_random_uuid(), txn.id, 'HOUSE_CASH', -$2, NULL, NULL, NULL, txn.created_at
             FROM txn",
            vec![bettor.into(), money(amount).into(), Uuid::now_v7().into()],
        )
        .await;
    }

    async fn balance(&self, bettor: &str) -> Decimal {
        let db = &self.db.connection;
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT balance FROM wallets WHERE bettor_id = $1",
                [bettor.into()],
            ))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("{bettor} has no wallet"));
        row.try_get("", "balance").unwrap_or_else(|e| panic!("{e}"))
    }

    /// An event's exposure: (pending bets, stakes, potential payout).
    async fn exposure(&self, event: &LineEvent) -> (i64, Decimal, Decimal) {
        let db = &self.db.connection;
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT pending_bets, stakes, potential_payout FROM event_exposure
                 WHERE event_id = $1",
                [event.id.into()],
            ))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no exposure row for {}", event.id));
        let field = |name: &str| {
            row.try_get::<Decimal>("", name)
                .unwrap_or_else(|e| panic!("{e}"))
        };
        (
            row.try_get("", "pending_bets")
                .unwrap_or_else(|e| panic!("{e}")),
            field("stakes"),
            field("potential_payout"),
        )
    }

    /// How many transactions wrote these bets (1: they were one group).
    async fn transactions_of(&self, bets: &[Uuid]) -> i64 {
        let ids = bets
            .iter()
            .map(|id| format!("'{id}'"))
            .collect::<Vec<_>>()
            .join(",");
        self.count(&format!(
            "SELECT count(DISTINCT xmin::text) FROM bets WHERE id IN ({ids})"
        ))
        .await
    }

    /// Sessions other than this pool's waiting on a lock inside
    /// [`PLACE_BETS`].
    async fn placements_waiting(&self) -> i64 {
        let head: String = PLACE_BETS.chars().take(60).collect();
        self.count(&format!(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND wait_event_type = 'Lock' AND left(query, 60) = '{head}'"
        ))
        .await
    }
}

/// What each bet came to, with its bet.
type Placed = Vec<(Slip, Bet, Result<PlaceOutcome, RepositoryError>)>;

/// Every slip placed at once, each by a caller of its own.
async fn all_at_once(bets: &Arc<GroupedBetRepository>, slips: Vec<Slip>) -> Placed {
    let callers: Vec<_> = slips
        .into_iter()
        .map(|slip| {
            let bets = Arc::clone(bets);
            tokio::spawn(async move {
                let bet = slip.decide();
                let outcome = place(bets.as_ref(), &slip, &bet).await;
                (slip, bet, outcome)
            })
        })
        .collect();
    let mut placed = Vec::new();
    for caller in callers {
        placed.push(
            caller
                .await
                .unwrap_or_else(|e| panic!("a caller failed: {e}")),
        );
    }
    placed
}

/// Holds the only writer of `bets` on a bet of its own (its event's
/// exposure locked by another transaction) until every slip is queued
/// behind it, each by a caller of its own, then lets it go: the writer
/// takes them all as one group. The callers, not yet awaited.
async fn queued_as_one_group(
    books: &Books,
    bets: &Arc<GroupedBetRepository>,
    slips: Vec<Slip>,
) -> (
    Vec<JoinHandle<(Slip, Bet, Result<PlaceOutcome, RepositoryError>)>>,
    impl FnOnce() -> JoinHandle<()>,
) {
    let plug = books.open_event("1.50", None).await;
    let plug_bettor = format!("plug{}", Uuid::now_v7().simple());
    books.fund(&plug_bettor, "10.00").await;
    let blocker = books
        .db
        .connection
        .begin()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    blocker
        .execute_raw(Statement::from_sql_and_values(
            blocker.get_database_backend(),
            "SELECT 1 FROM event_exposure WHERE event_id = $1 FOR UPDATE",
            [plug.id.into()],
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let plugged = {
        let bets = Arc::clone(bets);
        let slip = Slip::on(&plug_bettor, &[&plug], "1.00");
        tokio::spawn(async move {
            let bet = slip.decide();
            let outcome = place(bets.as_ref(), &slip, &bet).await;
            assert_eq!(outcome.ok(), Some(PlaceOutcome::Placed), "the plug's bet");
        })
    };
    eventually(
        "the writer to wait on the plug's lock",
        PATIENCE,
        || async { (books.placements_waiting().await == 1).then_some(()) },
    )
    .await;
    let expected = slips.len();
    let callers: Vec<_> = slips
        .into_iter()
        .map(|slip| {
            let bets = Arc::clone(bets);
            tokio::spawn(async move {
                let bet = slip.decide();
                let outcome = place(bets.as_ref(), &slip, &bet).await;
                (slip, bet, outcome)
            })
        })
        .collect();
    eventually("every bet to be queued", PATIENCE, || async {
        (bets.queued() == expected).then_some(())
    })
    .await;
    let release = move || {
        tokio::spawn(async move {
            blocker.rollback().await.unwrap_or_else(|e| panic!("{e}"));
            plugged
                .await
                .unwrap_or_else(|e| panic!("the plug's caller: {e}"));
        })
    };
    (callers, release)
}

/// [`queued_as_one_group`], released at once, every caller awaited.
async fn as_one_group(books: &Books, bets: &Arc<GroupedBetRepository>, slips: Vec<Slip>) -> Placed {
    let (callers, release) = queued_as_one_group(books, bets, slips).await;
    release().await.unwrap_or_else(|e| panic!("{e}"));
    let mut placed = Vec::new();
    for caller in callers {
        placed.push(
            caller
                .await
                .unwrap_or_else(|e| panic!("a caller failed: {e}")),
        );
    }
    placed
}

fn outcome_of(placed: &(Slip, Bet, Result<PlaceOutcome, RepositoryError>)) -> &PlaceOutcome {
    placed.2.as_ref().unwrap_or_else(|e| {
        panic!(
            "placing {:?}: {}",
            placed.0,
            shared_kernel::storage::chain(e)
        )
    })
}

fn placed_ids(placed: &Placed) -> Vec<Uuid> {
    placed
        .iter()
        .filter(|placed| *outcome_of(placed) == PlaceOutcome::Placed)
        .map(|(_, bet, _)| bet.id())
        .collect()
}

/// Every bet placed fit under the event's maximum when its turn came, and
/// every bet refused for the liability did not; the exposure counts
/// exactly the bets placed.
async fn assert_liability_exact(books: &Books, event: &LineEvent, max: Decimal, placed: &Placed) {
    let (mut count, mut stakes, mut payout) = (0, Decimal::ZERO, Decimal::ZERO);
    for one in placed {
        let (_, bet, _) = one;
        let net = bet.potential_payout() - bet.amount().value();
        match outcome_of(one) {
            PlaceOutcome::Placed => {
                count += 1;
                stakes += bet.amount().value();
                payout += bet.potential_payout();
            }
            PlaceOutcome::OverLimit {
                refused: LimitKind::Liability,
                limits,
                ..
            } => {
                assert_eq!(limits.max_liability, max);
                assert!(
                    limits.liability + net > max,
                    "refused though it fit: {limits:?}, net {net}"
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        payout - stakes <= max,
        "the liability {} passed {max}",
        payout - stakes
    );
    assert_eq!(books.exposure(event).await, (count, stakes, payout));
}

#[tokio::test]
async fn bets_of_one_group_on_one_event_are_placed_exactly_while_they_fit_the_liability_limit() {
    let books = Books::new().await;
    let (bets, _writers) = books.grouped(1, 64).await;
    // Each bet of 10.00 at 3.00 adds 20.00 of liability, one of 25.00 adds
    // 50.00: which fit depends on the order, and every one is decided on
    // what the ones before it left.
    let event = books.open_event("3.00", Some("110.00")).await;
    let mut slips = Vec::new();
    for n in 0..12 {
        let bettor = format!("b{n}");
        books.fund(&bettor, "100.00").await;
        let amount = if n % 3 == 0 { "25.00" } else { "10.00" };
        slips.push(Slip::on(&bettor, &[&event], amount));
    }

    let placed = as_one_group(&books, &bets, slips).await;

    assert_liability_exact(&books, &event, money("110.00"), &placed).await;
    let ids = placed_ids(&placed);
    assert!(ids.len() >= 2, "{placed:?}");
    assert_eq!(
        books.transactions_of(&ids).await,
        1,
        "one group, one commit"
    );
    for (slip, bet, outcome) in &placed {
        let expected = if outcome.as_ref().ok() == Some(&PlaceOutcome::Placed) {
            money("100.00") - bet.amount().value()
        } else {
            money("100.00")
        };
        assert_eq!(books.balance(&slip.bettor).await, expected);
    }
    assert_books_balance(&books.db).await;
}

#[tokio::test]
async fn many_concurrent_bets_on_one_event_take_exactly_the_liability_the_limit_allows() {
    let books = Books::new().await;
    let (bets, _writers) = books.grouped(3, 64).await;
    let event = books.open_event("2.50", Some("300.00")).await;
    let mut slips = Vec::new();
    for n in 0..60 {
        let bettor = format!("c{n}");
        books.fund(&bettor, "50.00").await;
        let amount = ["10.00", "20.00", "7.50"][n % 3];
        slips.push(Slip::on(&bettor, &[&event], amount));
    }

    let placed = all_at_once(&bets, slips).await;

    assert_liability_exact(&books, &event, money("300.00"), &placed).await;
    let (_, stakes, payout) = books.exposure(&event).await;
    assert!(
        payout - stakes > money("300.00") - money("30.00"),
        "the limit refused bets that fit: liability {}",
        payout - stakes
    );
    assert_books_balance(&books.db).await;
}

#[tokio::test]
async fn one_bettors_bets_in_one_group_take_exactly_what_the_balance_covers() {
    let books = Books::new().await;
    let (bets, _writers) = books.grouped(1, 64).await;
    books.fund("alice", "45.00").await;
    let mut slips = Vec::new();
    for _ in 0..8 {
        let event = books.open_event("2.00", None).await;
        slips.push(Slip::on("alice", &[&event], "10.00"));
    }

    let placed = as_one_group(&books, &bets, slips).await;

    let outcomes: Vec<&PlaceOutcome> = placed.iter().map(outcome_of).collect();
    let taken = outcomes
        .iter()
        .filter(|outcome| ***outcome == PlaceOutcome::Placed)
        .count();
    assert_eq!(taken, 4, "{outcomes:?}");
    for outcome in outcomes {
        assert!(
            matches!(
                outcome,
                PlaceOutcome::Placed | PlaceOutcome::InsufficientFunds { .. }
            ),
            "{outcome:?}"
        );
        if let PlaceOutcome::InsufficientFunds { balance } = outcome {
            assert_eq!(*balance, money("5.00"));
        }
    }
    assert_eq!(books.transactions_of(&placed_ids(&placed)).await, 1);
    assert_eq!(books.balance("alice").await, money("5.00"));
    // The statement's lines run down the balance bet by bet.
    assert_eq!(
        books
            .count(
                "SELECT count(*) FROM ledger_entries WHERE bettor_id = 'alice' AND line = 'STAKE'
                 AND balance_after IN (35.00, 25.00, 15.00, 5.00)"
            )
            .await,
        4
    );
    assert_books_balance(&books.db).await;
}

#[tokio::test]
async fn one_bettors_concurrent_bets_never_take_the_balance_below_zero() {
    let books = Books::new().await;
    let (bets, _writers) = books.grouped(3, 8).await;
    books.fund("bob", "95.00").await;
    let events = [
        books.open_event("1.80", None).await,
        books.open_event("2.20", None).await,
        books.open_event("3.40", None).await,
    ];
    let slips = (0..30)
        .map(|n| {
            let first = &events[n % 3];
            if n % 4 == 0 {
                Slip::on("bob", &[first, &events[(n + 1) % 3]], "10.00")
            } else {
                Slip::on("bob", &[first], "10.00")
            }
        })
        .collect();

    let placed = all_at_once(&bets, slips).await;

    let taken = placed_ids(&placed).len();
    assert_eq!(taken, 9, "{placed:?}");
    for one in &placed {
        assert!(
            matches!(
                outcome_of(one),
                PlaceOutcome::Placed | PlaceOutcome::InsufficientFunds { .. }
            ),
            "{one:?}"
        );
    }
    assert_eq!(books.balance("bob").await, money("5.00"));
    assert_books_balance(&books.db).await;
}

#[tokio::test]
async fn a_key_used_twice_in_one_group_places_one_bet_and_leaves_the_rest_alone() {
    let books = Books::new().await;
    let (bets, _writers) = books.grouped(1, 64).await;
    let event = books.open_event("2.00", None).await;
    for bettor in ["alice", "bob", "carol"] {
        books.fund(bettor, "100.00").await;
    }
    let request = format!("{}:10.00", event.id);
    let keyed = Slip::on("alice", &[&event], "10.00").with_key("k-1", &request);
    let slips = vec![
        keyed.clone(),
        Slip::on("bob", &[&event], "10.00"),
        keyed.clone(),
        Slip::on("carol", &[&event], "10.00").with_key("k-1", &request),
    ];

    let placed = as_one_group(&books, &bets, slips).await;

    let alices: Vec<&PlaceOutcome> = placed
        .iter()
        .filter(|(slip, _, _)| slip.bettor == "alice")
        .map(outcome_of)
        .collect();
    let mut sorted = alices.clone();
    sorted.sort_by_key(|outcome| **outcome != PlaceOutcome::Placed);
    assert_eq!(
        sorted,
        [&PlaceOutcome::Placed, &PlaceOutcome::KeyTaken],
        "alice's two bets"
    );
    for (slip, _, outcome) in &placed {
        if slip.bettor != "alice" {
            // carol's key is her own: keys belong to their bettor.
            assert_eq!(
                outcome.as_ref().ok(),
                Some(&PlaceOutcome::Placed),
                "{slip:?}"
            );
        }
    }
    let ids = placed_ids(&placed);
    assert_eq!(ids.len(), 3);
    assert_eq!(
        books.transactions_of(&ids).await,
        1,
        "one group, one commit"
    );
    assert_eq!(books.balance("alice").await, money("90.00"));
    assert_eq!(books.exposure(&event).await.0, 3);
    let first = placed
        .iter()
        .find(|(slip, _, outcome)| {
            slip.bettor == "alice" && outcome.as_ref().ok() == Some(&PlaceOutcome::Placed)
        })
        .map(|(_, bet, _)| bet.id());
    let earlier = books
        .bets()
        .earlier_use(&keyed.claim().unwrap_or_else(|| panic!("a claim")))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(&earlier, Some(EarlierBet::Same(bet)) if Some(bet.id()) == first),
        "{earlier:?}"
    );
    assert_books_balance(&books.db).await;
}

#[tokio::test]
async fn a_key_claimed_meanwhile_outside_the_group_undoes_the_group_and_each_bet_is_placed_alone() {
    let books = Books::new().await;
    let (bets, _writers) = books.grouped(1, 64).await;
    let event = books.open_event("2.00", None).await;
    for bettor in ["alice", "bob"] {
        books.fund(bettor, "100.00").await;
    }
    // Another request of alice's claims her key and has not committed yet.
    let claimer = books
        .db
        .connection
        .begin()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    claimer
        .execute_unprepared(
            "WITH deposit AS (
                 INSERT INTO deposits (id, bettor_id, amount, currency, status, created_at)
                 VALUES (gen_random_uuid(), 'alice', 5.00, 'EUR', 'PENDING', now())
                 RETURNING id
             )
             INSERT INTO idempotency_keys (bettor_id, key, request, deposit_id)
             SELECT 'alice', 'k-2', 'deposit:5.00', id FROM deposit",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let slips = vec![
        Slip::on("alice", &[&event], "10.00").with_key("k-2", &format!("{}:10.00", event.id)),
        Slip::on("bob", &[&event], "10.00"),
    ];
    let (callers, release) = queued_as_one_group(&books, &bets, slips).await;
    let released = release();
    eventually("the group to wait on alice's claim", PATIENCE, || async {
        (books.placements_waiting().await == 1).then_some(())
    })
    .await;
    claimer.commit().await.unwrap_or_else(|e| panic!("{e}"));
    released.await.unwrap_or_else(|e| panic!("{e}"));

    let mut placed = Vec::new();
    for caller in callers {
        placed.push(caller.await.unwrap_or_else(|e| panic!("{e}")));
    }
    for one in &placed {
        let expected = if one.0.bettor == "alice" {
            PlaceOutcome::KeyTaken
        } else {
            PlaceOutcome::Placed
        };
        assert_eq!(outcome_of(one), &expected, "{:?}", one.0);
    }
    assert_eq!(books.balance("alice").await, money("100.00"));
    assert_eq!(books.balance("bob").await, money("90.00"));
    assert_eq!(books.exposure(&event).await.0, 1);
    assert_books_balance(&books.db).await;
}

/// Sessions on the test database other than `books`' own, and the
/// deadlocks PostgreSQL detected in it, once every other session has
/// ended (a session's counts are reported when it ends at the latest).
async fn deadlocks_once_alone(books: &Books) -> i64 {
    eventually("every other session to end", PATIENCE, || async {
        (books
            .count(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()
                   AND backend_type = 'client backend'",
            )
            .await
            <= 2)
            .then_some(())
    })
    .await;
    books
        .count("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        .await
}

#[tokio::test]
async fn placing_and_settling_at_once_never_deadlocks_nor_leaves_a_bet_pending_on_a_finished_event()
{
    let books = Books::new().await;
    // Funded in reverse order of their ids, so a settlement that credits
    // wallets in the order it finds them takes them in the opposite order
    // of a group's.
    let bettors: Vec<String> = (0..24).rev().map(|n| format!("d{n:02}")).collect();
    for bettor in &bettors {
        books.fund(bettor, "1000.00").await;
    }
    let (bets, writers) = books.grouped(3, 64).await;
    for round in 0..6 {
        // Events to settle, with bets of every bettor pending on them (so
        // each settlement credits many wallets), and events to bet on.
        let settled = [
            books.open_event("2.00", None).await,
            books.open_event("3.00", None).await,
            books.open_event("1.50", None).await,
        ];
        let open = [
            books.open_event("2.50", None).await,
            books.open_event("1.80", None).await,
        ];
        for (n, bettor) in bettors.iter().enumerate() {
            let slips = [
                Slip::on(bettor, &[&settled[n % 3]], "2.00"),
                Slip::on(bettor, &[&settled[(n + 1) % 3], &open[n % 2]], "1.00"),
            ];
            for slip in slips {
                let bet = slip.decide();
                let outcome = place(&books.bets(), &slip, &bet).await;
                assert_eq!(outcome.ok(), Some(PlaceOutcome::Placed));
            }
        }
        let slips: Vec<Slip> = (0..240)
            .map(|n| {
                let bettor = &bettors[(n * 7 + round) % bettors.len()];
                match n % 6 {
                    // Some bets on the events being settled, some
                    // accumulators across both.
                    0 => Slip::on(bettor, &[&settled[n % 3]], "1.00"),
                    1 => Slip::on(bettor, &[&open[n % 2], &settled[(n + 1) % 3]], "1.00"),
                    _ => Slip::on(bettor, &[&open[n % 2]], "1.00"),
                }
            })
            .collect();
        let settlements: Vec<_> = settled
            .iter()
            .enumerate()
            .map(|(n, event)| {
                let finished = LineEvent {
                    status: if n == 1 {
                        LineEventStatus::Cancelled
                    } else {
                        LineEventStatus::FinishedWin
                    },
                    version: event.version + 1,
                    ..event.clone()
                };
                let pool = books.pool.clone();
                tokio::spawn(async move {
                    SeaOrmLineRepository::new(pool)
                        .apply_snapshot(&finished)
                        .await
                        .map(|_| ())
                        .map_err(|e| shared_kernel::storage::chain(&e))
                })
            })
            .collect();
        let placed = all_at_once(&bets, slips).await;
        for settlement in settlements {
            let outcome = settlement.await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(outcome, Ok(()), "settling in round {round}");
        }
        for one in &placed {
            assert!(
                matches!(
                    outcome_of(one),
                    PlaceOutcome::Placed | PlaceOutcome::EventChanged
                ),
                "{one:?}"
            );
        }
        for event in &settled {
            assert_eq!(
                books.exposure(event).await,
                (0, Decimal::ZERO, Decimal::ZERO),
                "a finished event counts no bet"
            );
        }
    }
    assert_eq!(
        books
            .count(
                "SELECT count(*) FROM bet_legs l JOIN events e ON e.id = l.event_id
                 WHERE l.status = 'PENDING' AND e.status <> 'NEW'"
            )
            .await,
        0,
        "a bet left pending on a finished event"
    );
    assert_books_balance(&books.db).await;
    drop(bets);
    tokio::time::timeout(PATIENCE, writers)
        .await
        .unwrap_or_else(|_| panic!("the writers did not end once nothing could queue a bet"))
        .unwrap_or_else(|e| panic!("{e}"));
    books
        .pool
        .clone()
        .close()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // A deadlock PostgreSQL broke in a group was undone and placed again
    // bet by bet, unseen by the callers: only the server counts it.
    assert_eq!(deadlocks_once_alone(&books).await, 0, "deadlocks detected");
}

#[tokio::test]
async fn a_caller_that_stops_waiting_neither_loses_nor_duplicates_its_bet_and_its_group_commits() {
    let books = Books::new().await;
    let (bets, _writers) = books.grouped(1, 64).await;
    let event = books.open_event("2.00", None).await;
    for bettor in ["alice", "bob", "carol"] {
        books.fund(bettor, "100.00").await;
    }
    let request = format!("{}:10.00", event.id);
    let impatient = Slip::on("bob", &[&event], "10.00").with_key("k-3", &request);
    let slips = vec![
        Slip::on("alice", &[&event], "10.00"),
        impatient.clone(),
        Slip::on("carol", &[&event], "10.00"),
    ];
    let (mut callers, release) = queued_as_one_group(&books, &bets, slips).await;
    // bob's request is cancelled while his bet waits for its group.
    let gone = callers.remove(1);
    gone.abort();
    assert!(
        gone.await.is_err_and(|e| e.is_cancelled()),
        "bob's caller was cancelled"
    );
    release().await.unwrap_or_else(|e| panic!("{e}"));

    let mut placed = Vec::new();
    for caller in callers {
        placed.push(caller.await.unwrap_or_else(|e| panic!("{e}")));
    }
    assert_eq!(placed_ids(&placed).len(), 2, "{placed:?}");
    assert_eq!(books.transactions_of(&placed_ids(&placed)).await, 1);
    assert_eq!(
        books
            .count("SELECT count(*) FROM bets WHERE bettor_id = 'bob'")
            .await,
        1,
        "bob's bet, placed once"
    );
    assert_eq!(books.balance("bob").await, money("90.00"));
    assert_eq!(books.exposure(&event).await.0, 3);
    // His retry finds the bet his key placed.
    let retry = impatient.decide();
    assert_eq!(
        place(bets.as_ref(), &impatient, &retry)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        PlaceOutcome::KeyTaken
    );
    let earlier = bets
        .earlier_use(&impatient.claim().unwrap_or_else(|| panic!("a claim")))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(earlier, Some(EarlierBet::Same(_))), "{earlier:?}");
    assert_eq!(
        books
            .count("SELECT count(*) FROM bets WHERE bettor_id = 'bob'")
            .await,
        1
    );
    assert_books_balance(&books.db).await;
}

#[tokio::test]
async fn writers_that_stop_answer_every_bet_they_held() {
    let books = Books::new().await;
    let (bets, writers) = books.grouped(1, 64).await;
    let event = books.open_event("2.00", None).await;
    books.fund("alice", "100.00").await;
    let slips = vec![
        Slip::on("alice", &[&event], "10.00"),
        Slip::on("alice", &[&event], "20.00"),
    ];
    let (callers, _release) = queued_as_one_group(&books, &bets, slips).await;

    // The service's grace period is over: the writers are aborted with the
    // plug's bet in hand and two bets queued.
    writers.abort();
    for caller in callers {
        let (_, _, outcome) = tokio::time::timeout(PATIENCE, caller)
            .await
            .unwrap_or_else(|_| panic!("a queued bet was left waiting"))
            .unwrap_or_else(|e| panic!("{e}"));
        let error = outcome
            .err()
            .unwrap_or_else(|| panic!("placed with no writer"));
        assert!(
            error.is_unavailable(),
            "{}",
            shared_kernel::storage::chain(&error)
        );
    }
    // And a bet that comes after is answered at once.
    let late = Slip::on("alice", &[&event], "5.00");
    let outcome = tokio::time::timeout(
        Duration::from_secs(5),
        place(bets.as_ref(), &late, &late.decide()),
    )
    .await
    .unwrap_or_else(|_| panic!("a bet after the writers stopped was left waiting"));
    assert!(outcome.is_err_and(|e| e.is_unavailable()));
    assert_eq!(books.balance("alice").await, money("100.00"));
}

#[tokio::test]
async fn bets_groups_of_one_and_many_decide_as_their_bets_placed_one_by_one() {
    // The same bets, on twin events and bettors: placed one by one by the
    // plain repository, and as one group; each decided the same.
    let books = Books::new().await;
    let now = Utc::now();
    let mut twins = Vec::new();
    for side in ["one", "group"] {
        let events = [
            books.open_event("2.00", Some("45.00")).await,
            books.open_event("3.50", None).await,
        ];
        for n in 0..4 {
            books
                .fund(
                    &format!("{side}{n}"),
                    ["30.00", "12.00", "0.50", "100.00"][n],
                )
                .await;
        }
        books
            .execute(
                "INSERT INTO bettor_limits (bettor_id, max_stake) VALUES ($1, 15.00)",
                vec![format!("{side}3").into()],
            )
            .await;
        books
            .execute(
                "INSERT INTO exclusions (id, bettor_id, kind, starts_at, until)
                 VALUES ($1, $2, 'time-out', $3 - interval '1 hour', $3 + interval '1 day')",
                vec![Uuid::now_v7().into(), format!("{side}2").into(), now.into()],
            )
            .await;
        let slip = |n: usize, legs: &[usize], amount: &str| {
            let legs: Vec<&LineEvent> = legs.iter().map(|leg| &events[*leg]).collect();
            Slip::on(&format!("{side}{n}"), &legs, amount)
        };
        let key_request = format!("{}:5.00", events[1].id);
        let slips = vec![
            slip(0, &[0], "10.00"),
            slip(0, &[0, 1], "5.00"),
            slip(1, &[0], "10.00"),
            slip(0, &[1], "20.00"),
            slip(1, &[1], "5.00").with_key("k", &key_request),
            slip(1, &[1], "5.00").with_key("k", &key_request),
            slip(2, &[1], "0.50"),
            slip(3, &[1], "20.00"),
            slip(3, &[1], "15.00"),
            slip(0, &[1], "16.00"),
        ];
        twins.push((events, slips));
    }
    let bets = books.bets();
    let (_, one_by_one) = &twins[0];
    let mut alone = Vec::new();
    for slip in one_by_one {
        let bet = slip.decide();
        alone.push(
            place(&bets, slip, &bet)
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    let (_, grouped) = &twins[1];
    let decided: Vec<(Bet, Vec<i64>, _, Option<IdempotencyClaim>)> = grouped
        .iter()
        .map(|slip| {
            let bet = slip.decide();
            let versions = slip.events.iter().map(|event| event.version).collect();
            let posting = stake(bet.amount());
            (bet, versions, posting, slip.claim())
        })
        .collect();
    let to_place: Vec<BetToPlace<'_>> = decided
        .iter()
        .map(|(bet, versions, posting, claim)| BetToPlace {
            bet,
            event_versions: versions,
            stake: posting,
            claim: claim.as_ref(),
            risk: BetRisk {
                potential_payout: bet.potential_payout(),
                max_payout: MAX_LIMIT,
                default_max_liability: MAX_LIMIT,
            },
        })
        .collect();
    let together = bets
        .place_group(&to_place)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(together, alone);
    let kinds: Vec<&str> = alone
        .iter()
        .map(|outcome| match outcome {
            PlaceOutcome::Placed => "placed",
            PlaceOutcome::InsufficientFunds { .. } => "funds",
            PlaceOutcome::OverLimit { .. } => "limit",
            PlaceOutcome::KeyTaken => "key",
            PlaceOutcome::Excluded(_) => "excluded",
            PlaceOutcome::EventChanged => "changed",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "placed", "placed", "limit", "funds", "placed", "key", "excluded", "limit", "placed",
            "funds"
        ],
        "{alone:?}"
    );
    for n in 0..4 {
        assert_eq!(
            books.balance(&format!("one{n}")).await,
            books.balance(&format!("group{n}")).await
        );
    }
    for leg in 0..2 {
        assert_eq!(
            books.exposure(&twins[0].0[leg]).await,
            books.exposure(&twins[1].0[leg]).await
        );
    }
    assert_books_balance(&books.db).await;
}

/// Sessions waiting on a lock inside `statement` (its first 60
/// characters).
async fn waiting_in(books: &Books, statement: &str) -> i64 {
    let head: String = statement.chars().take(60).collect();
    books
        .count(&format!(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND wait_event_type = 'Lock' AND left(query, 60) = '{head}'"
        ))
        .await
}

#[tokio::test]
async fn a_group_and_a_settlement_crediting_the_same_wallets_take_them_in_one_order() {
    use bet_maker::infrastructure::persistence::SETTLE_BETS;
    let books = Books::new().await;
    // x1's wallet comes first where a settlement finds its wallets.
    for bettor in ["x1", "x0"] {
        books.fund(bettor, "100.00").await;
    }
    let settled = books.open_event("2.00", None).await;
    let open = books.open_event("2.00", None).await;
    for bettor in ["x1", "x0"] {
        let slip = Slip::on(bettor, &[&settled], "10.00");
        let bet = slip.decide();
        assert_eq!(
            place(&books.bets(), &slip, &bet).await.ok(),
            Some(PlaceOutcome::Placed)
        );
    }
    // Another transaction holds x1's wallet; the settlement, which pays
    // both, comes to wait on it.
    let holder = books
        .db
        .connection
        .begin()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    holder
        .execute_unprepared("SELECT 1 FROM wallets WHERE bettor_id = 'x1' FOR UPDATE")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let settlement = {
        let pool = books.pool.clone();
        let won = LineEvent {
            status: LineEventStatus::FinishedWin,
            version: settled.version + 1,
            ..settled.clone()
        };
        tokio::spawn(async move {
            SeaOrmLineRepository::new(pool)
                .apply_snapshot(&won)
                .await
                .map(|_| ())
                .map_err(|e| shared_kernel::storage::chain(&e))
        })
    };
    eventually("the settlement to wait on a wallet", PATIENCE, || async {
        (waiting_in(&books, SETTLE_BETS).await == 1).then_some(())
    })
    .await;
    // A group of bets of both comes to wait too.
    let group = {
        let bets = books.bets();
        let slips = [
            Slip::on("x0", &[&open], "5.00"),
            Slip::on("x1", &[&open], "5.00"),
        ];
        tokio::spawn(async move {
            let decided: Vec<(Bet, Vec<i64>, _)> = slips
                .iter()
                .map(|slip| {
                    let bet = slip.decide();
                    let posting = stake(bet.amount());
                    (bet, vec![slip.events[0].version], posting)
                })
                .collect();
            let to_place: Vec<BetToPlace<'_>> = decided
                .iter()
                .map(|(bet, versions, posting)| BetToPlace {
                    bet,
                    event_versions: versions,
                    stake: posting,
                    claim: None,
                    risk: BetRisk {
                        potential_payout: bet.potential_payout(),
                        max_payout: MAX_LIMIT,
                        default_max_liability: MAX_LIMIT,
                    },
                })
                .collect();
            bets.place_group(&to_place)
                .await
                .map_err(|e| shared_kernel::storage::chain(&e))
        })
    };
    eventually("the group to wait on a wallet", PATIENCE, || async {
        (waiting_in(&books, PLACE_BETS).await == 1).then_some(())
    })
    .await;
    holder.rollback().await.unwrap_or_else(|e| panic!("{e}"));

    let settled_outcome = settlement.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(settled_outcome, Ok(()), "the settlement");
    let placed = group.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        placed,
        Ok(vec![PlaceOutcome::Placed, PlaceOutcome::Placed]),
        "the group"
    );
    for bettor in ["x0", "x1"] {
        assert_eq!(books.balance(bettor).await, money("105.00"), "{bettor}");
    }
    assert_books_balance(&books.db).await;
}
