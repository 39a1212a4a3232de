//! The use cases against in-memory fakes of their ports: the workflows'
//! own logic (idempotency, paging through line-provider, locked odds),
//! fast and without a database.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::{Decimal, dec};
use uuid::Uuid;

use super::fakes::{FixedClock, InMemoryStore, PagedLineProvider};
use super::ports::{ApplyOutcome, PlacedBet};
use super::{BetError, BetService, BetSlip, LineService, ResyncReport, SlipLeg};
use crate::domain::{
    Announced, Bet, BetStatus, BettorId, ChangeKind, LineEvent, LineEventStatus, OddsRequest,
};

struct World {
    store: Arc<InMemoryStore>,
    bets: BetService,
    line: LineService,
    now: DateTime<Utc>,
}

fn world() -> World {
    let now = Utc::now();
    let store = Arc::new(InMemoryStore::default());
    let clock = Arc::new(FixedClock::at(now));
    for funded in ["alice", "bob"] {
        store.fund(&bettor(funded), dec!(1000.00));
    }
    World {
        bets: BetService::new(
            store.clone(),
            store.clone(),
            clock.clone(),
            dec!(1000000.00),
        ),
        line: LineService::new(store.clone(), clock),
        store,
        now,
    }
}

fn bettor(id: &str) -> BettorId {
    BettorId::parse(id).unwrap_or_else(|e| panic!("{e}"))
}

fn event(
    now: DateTime<Utc>,
    coefficient: Decimal,
    status: LineEventStatus,
    version: i64,
) -> LineEvent {
    LineEvent {
        id: Uuid::now_v7(),
        coefficient,
        deadline: now + Duration::hours(1),
        status,
        version,
    }
}

impl World {
    async fn open_event(&self, coefficient: Decimal) -> LineEvent {
        let event = event(self.now, coefficient, LineEventStatus::New, 1);
        self.apply(&event).await;
        event
    }

    /// Applies `event` as line-provider would announce it, made a second
    /// after the bets of the test were placed (at `now`).
    async fn apply(&self, event: &LineEvent) -> ApplyOutcome {
        let kind = match (event.version, event.status) {
            (1, _) => ChangeKind::Created,
            (_, LineEventStatus::New) => ChangeKind::Updated,
            (_, LineEventStatus::Cancelled) => ChangeKind::Cancelled,
            _ => ChangeKind::Finished,
        };
        let change = Announced {
            kind,
            event: event.clone(),
            occurred_at: self.now + Duration::seconds(1),
        };
        self.line
            .apply_message(Uuid::now_v7(), &change)
            .await
            .unwrap_or_else(|e| panic!("applying {event:?}: {e}"))
    }

    async fn place(
        &self,
        event_id: Uuid,
        amount: Decimal,
        key: Option<&str>,
    ) -> Result<PlacedBet, BetError> {
        self.place_as("alice", event_id, amount, key).await
    }

    async fn place_as(
        &self,
        bettor_id: &str,
        event_id: Uuid,
        amount: Decimal,
        key: Option<&str>,
    ) -> Result<PlacedBet, BetError> {
        self.bets
            .place(BetSlip {
                bettor_id: bettor(bettor_id),
                legs: vec![SlipLeg {
                    event_id,
                    odds: OddsRequest::default(),
                }],
                amount,
                idempotency_key: key.map(str::to_owned),
                single_form: true,
            })
            .await
    }

    async fn placed(&self, event_id: Uuid, amount: Decimal, key: Option<&str>) -> PlacedBet {
        self.place(event_id, amount, key)
            .await
            .unwrap_or_else(|e| panic!("placing a bet: {e}"))
    }
}

fn new_bet(placed: PlacedBet) -> Bet {
    match placed {
        PlacedBet::New(bet) => bet,
        PlacedBet::Replayed(bet) => panic!("expected a new bet, got a replay of {bet:?}"),
    }
}

#[tokio::test]
async fn a_retry_with_the_same_key_and_body_replays_the_first_bet_as_placed() {
    let world = world();
    let open = world.open_event(dec!(1.85)).await;
    let first = new_bet(world.placed(open.id, dec!(10.50), Some("key-1")).await);
    world
        .apply(&LineEvent {
            status: LineEventStatus::FinishedWin,
            version: 2,
            ..open.clone()
        })
        .await;

    let retry = world.placed(open.id, dec!(10.5), Some("key-1")).await;

    assert_eq!(
        retry,
        PlacedBet::Replayed(first.clone()),
        "the first response, as placed"
    );
    assert_eq!(world.store.bets().len(), 1, "no second bet");
    let stored = &world.store.bets()[0];
    assert_eq!(
        stored.status(),
        BetStatus::Won,
        "the bet itself was settled meanwhile"
    );
}

#[tokio::test]
async fn a_key_reused_for_another_body_is_refused_and_places_nothing() {
    let world = world();
    let open = world.open_event(dec!(1.85)).await;
    let other = world.open_event(dec!(2.00)).await;
    world.placed(open.id, dec!(10.50), Some("key-1")).await;

    let other_amount = world.place(open.id, dec!(11.00), Some("key-1")).await;
    let other_event = world.place(other.id, dec!(10.50), Some("key-1")).await;

    assert!(
        matches!(other_amount, Err(BetError::KeyReused)),
        "{other_amount:?}"
    );
    assert!(
        matches!(other_event, Err(BetError::KeyReused)),
        "{other_event:?}"
    );
    assert_eq!(world.store.bets().len(), 1);
}

#[tokio::test]
async fn resync_applies_every_event_of_every_page_and_counts_what_it_did() {
    let world = world();
    let now = world.now;
    // bet-maker already holds one event, at a newer version than
    // line-provider's page will show (a disagreement: kept and reported),
    // and a bet on another one.
    let ahead = event(now, dec!(1.50), LineEventStatus::New, 3);
    world.apply(&ahead).await;
    let finishing = world.open_event(dec!(2.00)).await;
    world.placed(finishing.id, dec!(10.00), None).await;
    world.placed(finishing.id, dec!(20.00), None).await;
    let pages = vec![
        vec![
            event(now, dec!(1.10), LineEventStatus::New, 1),
            LineEvent {
                version: 2,
                ..ahead.clone()
            },
        ],
        vec![
            LineEvent {
                status: LineEventStatus::FinishedLose,
                version: 2,
                ..finishing.clone()
            },
            event(now, dec!(3.00), LineEventStatus::FinishedWin, 2),
        ],
        vec![event(now, dec!(4.00), LineEventStatus::New, 1)],
    ];
    let provider = PagedLineProvider {
        pages: pages.clone(),
        ..Default::default()
    };

    let report = world
        .line
        .resync(&provider)
        .await
        .unwrap_or_else(|e| panic!("resync: {e}"));

    assert_eq!(
        report,
        ResyncReport {
            events_read: 5,
            events_updated: 4,
            bets_settled: 2,
            disagreements: 1,
        }
    );
    let cursors = provider
        .cursors_seen
        .lock()
        .map(|c| c.clone())
        .unwrap_or_default();
    assert_eq!(
        cursors,
        [None, Some("page-1".to_owned()), Some("page-2".to_owned())]
    );
    for sent in pages.iter().flatten() {
        let held = world.store.event(sent.id);
        let expected = if sent.id == ahead.id { &ahead } else { sent };
        assert_eq!(held.as_ref(), Some(expected), "the copy of {}", sent.id);
    }
    assert!(
        world
            .store
            .bets()
            .iter()
            .all(|bet| bet.status() == BetStatus::Lost)
    );
}

#[tokio::test]
async fn a_cancelled_event_voids_its_bets_paying_back_the_stakes_and_takes_no_more() {
    let world = world();
    let open = world.open_event(dec!(1.85)).await;
    let small = new_bet(world.placed(open.id, dec!(10.50), None).await);
    let large = new_bet(world.placed(open.id, dec!(250), None).await);

    let outcome = world
        .apply(&LineEvent {
            status: LineEventStatus::Cancelled,
            version: 2,
            ..open.clone()
        })
        .await;

    assert_eq!(outcome, ApplyOutcome::Applied { bets_settled: 2 });
    for (placed, stake) in [(small, dec!(10.50)), (large, dec!(250.00))] {
        let bet = world
            .bets
            .get(&bettor("alice"), placed.id())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bet.status(), BetStatus::Void);
        assert_eq!(bet.payout(), Some(stake), "the stake back");
        assert!(bet.settled_at().is_some());
    }
    assert!(matches!(
        world.place(open.id, dec!(5), None).await,
        Err(BetError::Refused(_))
    ));
}

#[tokio::test]
async fn a_bet_keeps_the_odds_of_the_moment_it_was_placed() {
    let world = world();
    let open = world.open_event(dec!(1.85)).await;
    let early = new_bet(world.placed(open.id, dec!(10.50), None).await);
    let changed = LineEvent {
        coefficient: dec!(2.50),
        version: 2,
        ..open.clone()
    };
    world.apply(&changed).await;
    let late = new_bet(world.placed(open.id, dec!(10.50), None).await);

    world
        .apply(&LineEvent {
            status: LineEventStatus::FinishedWin,
            version: 3,
            ..changed
        })
        .await;

    let early = world
        .bets
        .get(&bettor("alice"), early.id())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let late = world
        .bets
        .get(&bettor("alice"), late.id())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(early.price().to_string(), "1.85");
    assert_eq!(
        early.payout(),
        Some(dec!(19.43)),
        "10.50 × 1.85, not × 2.50"
    );
    assert_eq!(late.price().to_string(), "2.50");
    assert_eq!(late.payout(), Some(dec!(26.25)));
}

#[tokio::test]
async fn resync_reports_a_copy_that_contradicts_line_provider_and_keeps_it() {
    let world = world();
    let forged = world.open_event(dec!(2.00)).await;
    let forged_result = LineEvent {
        status: LineEventStatus::FinishedWin,
        version: 2,
        ..forged.clone()
    };
    world.apply(&forged_result).await;
    let agreeing = world.open_event(dec!(3.00)).await;
    let line_provider_says = LineEvent {
        coefficient: dec!(2.50),
        version: 2,
        ..forged.clone()
    };
    let provider = PagedLineProvider {
        pages: vec![vec![line_provider_says, agreeing.clone()]],
        ..Default::default()
    };

    let report = world
        .line
        .resync(&provider)
        .await
        .unwrap_or_else(|e| panic!("resync: {e}"));

    assert_eq!(
        report,
        ResyncReport {
            events_read: 2,
            events_updated: 0,
            bets_settled: 0,
            disagreements: 1,
        }
    );
    assert_eq!(world.store.event(forged.id), Some(forged_result));
}

#[tokio::test]
async fn a_bettor_sees_only_their_own_bets() {
    let world = world();
    let open = world.open_event(dec!(1.85)).await;
    let alices = new_bet(world.placed(open.id, dec!(10), None).await);
    let page = shared_kernel::pagination::PageRequest {
        limit: 50,
        after: None,
    };

    let bobs_view = world.bets.get(&bettor("bob"), alices.id()).await;
    let bobs_list = world
        .bets
        .list(&bettor("bob"), Default::default(), page)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let alices_list = world
        .bets
        .list(&bettor("alice"), Default::default(), page)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    assert!(
        matches!(bobs_view, Err(BetError::NotFound(id)) if id == alices.id()),
        "{bobs_view:?}"
    );
    assert!(bobs_list.is_empty(), "{bobs_list:?}");
    assert_eq!(alices_list, vec![alices]);
}

#[tokio::test]
async fn idempotency_keys_belong_to_their_bettor() {
    let world = world();
    let open = world.open_event(dec!(1.85)).await;
    let key = Some("shared-key");
    let alices = world
        .place_as("alice", open.id, dec!(10), key)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let bobs_other_body = world.place_as("bob", open.id, dec!(20), key).await;
    let bobs_same_body = world.place_as("bob", open.id, dec!(10), key).await;

    let alices = new_bet(alices);
    let bobs = match bobs_other_body {
        Ok(placed) => new_bet(placed),
        Err(error) => panic!("bob's key is his own, not alice's: {error}"),
    };
    assert_ne!(alices.id(), bobs.id());
    assert_eq!(bobs.bettor_id(), &bettor("bob"));
    assert!(
        matches!(bobs_same_body, Err(BetError::KeyReused)),
        "bob reusing his own key for another body: {bobs_same_body:?}"
    );
    assert_eq!(world.store.bets().len(), 2);
}

#[tokio::test]
async fn a_stake_above_the_balance_is_refused_with_the_balance_and_moves_nothing() {
    let world = world();
    let open = world.open_event(dec!(1.85)).await;
    let carol = bettor("carol");
    world.store.fund(&carol, dec!(25.00));

    let short = world.place_as("carol", open.id, dec!(25.01), None).await;
    let fits = world.place_as("carol", open.id, dec!(25.00), None).await;
    let empty = world.place_as("carol", open.id, dec!(0.01), None).await;

    match short {
        Err(BetError::InsufficientFunds(funds)) => {
            assert_eq!((funds.balance, funds.wanted), (dec!(25.00), dec!(25.01)));
        }
        other => panic!("expected insufficient funds, got {other:?}"),
    }
    assert!(matches!(fits, Ok(PlacedBet::New(_))), "{fits:?}");
    assert!(
        matches!(&empty, Err(BetError::InsufficientFunds(funds)) if funds.balance.is_zero()),
        "{empty:?}"
    );
    assert_eq!(world.store.balance(&carol), dec!(0.00));
    assert_eq!(world.store.bets().len(), 1, "only the stake that fit");
}

#[tokio::test]
async fn a_bet_decided_on_an_outdated_copy_is_decided_again_on_the_event_as_it_is() {
    let world = world();
    let open = world.open_event(dec!(1.85)).await;
    // This replica's memory still holds version 1; the copy moved to 2.
    world.store.remember(open.clone());
    world
        .apply(&LineEvent {
            coefficient: dec!(2.10),
            version: 2,
            ..open.clone()
        })
        .await;

    let bet = new_bet(world.placed(open.id, dec!(10.00), None).await);
    let seen_old_odds = world
        .bets
        .place(BetSlip {
            bettor_id: bettor("alice"),
            legs: vec![SlipLeg {
                event_id: open.id,
                odds: OddsRequest {
                    seen: Some(dec!(1.85)),
                    accept: Default::default(),
                },
            }],
            amount: dec!(10.00),
            idempotency_key: None,
            single_form: true,
        })
        .await;

    assert_eq!(bet.price().to_string(), "2.10", "the odds of version 2");
    match seen_old_odds {
        Err(BetError::Refused(crate::domain::BetRefused::OddsChanged(changed))) => {
            assert_eq!(changed.current, dec!(2.10));
        }
        other => panic!("expected odds-changed, got {other:?}"),
    }
    assert_eq!(world.store.bets().len(), 1);
}

#[tokio::test]
async fn a_retry_is_replayed_even_when_the_wallet_no_longer_covers_the_stake() {
    let world = world();
    let open = world.open_event(dec!(1.85)).await;
    let dave = bettor("dave");
    world.store.fund(&dave, dec!(10.00));
    let first = world
        .place_as("dave", open.id, dec!(10.00), Some("k"))
        .await;

    let retry = world
        .place_as("dave", open.id, dec!(10.00), Some("k"))
        .await;

    let first = new_bet(first.unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(retry.ok(), Some(PlacedBet::Replayed(first)));
    assert_eq!(world.store.balance(&dave), dec!(0.00), "debited once");
}
