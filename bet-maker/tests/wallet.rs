//! Payments, limits, exclusions and adjustments against the real
//! PostgreSQL, through the use cases, on a clock the test moves: a deposit
//! credits only on the provider's word, exactly once however often and
//! however concurrently it is said; a withdrawal's money waits in the house
//! until it is paid or comes back; limits and exclusions hold, under
//! concurrency and across the 24-hour delay; the books balance throughout.

mod support;

use std::sync::{Arc, Mutex};

use bet_maker::application::ports::{
    Clock, NoticeOutcome, Payment, PaymentProvider, ProviderNotice,
};
use bet_maker::application::{
    AccountService, AdjustmentOrder, CashierError, CashierService, Movement, PaymentError,
    PaymentService, WalletService,
};
use bet_maker::domain::{
    BettorId, Currency, Excluded, ExclusionRequest, LimitPeriod, PaymentKind, PaymentStatus,
    ProviderOutcome,
};
use bet_maker::infrastructure::payment_provider::WebhookProvider;
use bet_maker::infrastructure::persistence::migrations::{Migrator, schema_fingerprint};
use bet_maker::infrastructure::persistence::{
    SqlAccountRepository, SqlPaymentRepository, SqlStaffRepository, SqlWalletRepository,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::{Decimal, dec};
use shared_kernel::testing::{TestDatabase, count};
use support::assert_books_balance;
use uuid::Uuid;

/// A clock the test sets.
struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    fn advance(&self, by: Duration) {
        if let Ok(mut now) = self.0.lock() {
            *now += by;
        }
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().map(|now| *now).unwrap_or_default()
    }
}

struct Bank {
    db: TestDatabase,
    clock: Arc<TestClock>,
    payments: PaymentService,
    wallets: WalletService,
    accounts: AccountService,
    cashier: CashierService,
}

async fn bank() -> Bank {
    let db = TestDatabase::create::<Migrator>("bet_maker_payments", schema_fingerprint())
        .await
        .unwrap_or_else(|e| panic!("test database: {e}"));
    let eur = Currency::parse("EUR").unwrap_or_else(|e| panic!("{e}"));
    let clock = Arc::new(TestClock(Mutex::new(
        Utc.with_ymd_and_hms(2030, 6, 1, 12, 0, 0)
            .single()
            .unwrap_or_default(),
    )));
    let provider: Arc<dyn PaymentProvider> = Arc::new(WebhookProvider);
    Bank {
        payments: PaymentService::new(
            Arc::new(SqlPaymentRepository::new(&db.connection, eur.clone())),
            provider,
            clock.clone(),
            dec!(1000000.00),
        ),
        wallets: WalletService::new(
            Arc::new(SqlWalletRepository::new(&db.connection)),
            eur.clone(),
        ),
        accounts: AccountService::new(
            Arc::new(SqlAccountRepository::new(&db.connection, eur.clone())),
            clock.clone(),
        ),
        cashier: CashierService::new(
            Arc::new(SqlStaffRepository::new(&db.connection, eur)),
            dec!(1000000.00),
        ),
        clock,
        db,
    }
}

fn bettor(id: &str) -> BettorId {
    BettorId::parse(id).unwrap_or_else(|e| panic!("{e}"))
}

impl Bank {
    async fn ask(
        &self,
        kind: PaymentKind,
        who: &str,
        amount: Decimal,
    ) -> Result<Payment, PaymentError> {
        self.payments
            .request(
                kind,
                Movement {
                    bettor_id: bettor(who),
                    amount,
                    idempotency_key: None,
                },
            )
            .await
    }

    async fn deposit(&self, who: &str, amount: Decimal) -> Payment {
        let deposit = self
            .ask(PaymentKind::Deposit, who, amount)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        self.say(ProviderOutcome::DepositSucceeded, &deposit).await;
        deposit
    }

    async fn say(&self, outcome: ProviderOutcome, payment: &Payment) -> NoticeOutcome {
        self.payments
            .notify(&notice(
                outcome,
                payment,
                &format!("evt_{}", Uuid::now_v7()),
            ))
            .await
            .unwrap_or_else(|e| panic!("{e:?}"))
    }

    async fn balance(&self, who: &str) -> Decimal {
        self.wallets
            .balance(&bettor(who))
            .await
            .unwrap_or_else(|e| panic!("{e:?}"))
    }

    async fn status(&self, payment: &Payment) -> PaymentStatus {
        self.payments
            .get(&payment.bettor_id, payment.kind, payment.id)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"))
            .status
    }
}

fn notice(outcome: ProviderOutcome, payment: &Payment, event_id: &str) -> ProviderNotice {
    ProviderNotice {
        event_id: event_id.to_owned(),
        outcome,
        reference: payment.id,
        amount: payment.amount,
        currency: payment.currency.clone(),
    }
}

#[tokio::test]
async fn a_deposit_credits_nothing_until_the_provider_confirms_it_and_then_exactly_once() {
    let bank = bank().await;
    let deposit = bank
        .ask(PaymentKind::Deposit, "alice", dec!(100.00))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(deposit.status, PaymentStatus::Pending);
    assert_eq!(
        bank.balance("alice").await,
        dec!(0.00),
        "a pending deposit credits nothing"
    );

    // The provider retries one event 40 times at once: one credit.
    let said = notice(ProviderOutcome::DepositSucceeded, &deposit, "evt_once");
    let retries: Vec<_> = (0..40)
        .map(|_| {
            let (payments, said) = (bank.payments.clone(), said.clone());
            tokio::spawn(async move { payments.notify(&said).await })
        })
        .collect();
    let mut applied = 0;
    for retry in retries {
        match retry.await.unwrap_or_else(|e| panic!("{e}")) {
            Ok(NoticeOutcome::Applied(_)) => applied += 1,
            Ok(NoticeOutcome::Duplicate) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(applied, 1);
    assert_eq!(bank.balance("alice").await, dec!(100.00));
    assert_eq!(bank.status(&deposit).await, PaymentStatus::Succeeded);
    // Another event id saying the same moves nothing either.
    assert!(matches!(
        bank.say(ProviderOutcome::DepositSucceeded, &deposit).await,
        NoticeOutcome::AlreadyThere(_)
    ));
    assert_eq!(bank.balance("alice").await, dec!(100.00));
    assert_eq!(
        count(
            &bank.db.connection,
            "SELECT count(*) FROM ledger_entries WHERE line = 'DEPOSIT'"
        )
        .await,
        1
    );
    assert_books_balance(&bank.db).await;
}

#[tokio::test]
async fn a_notice_that_contradicts_or_does_not_match_moves_nothing() {
    let bank = bank().await;
    let deposit = bank
        .ask(PaymentKind::Deposit, "alice", dec!(50.00))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let mut wrong = notice(
        ProviderOutcome::DepositSucceeded,
        &deposit,
        "evt_wrong_amount",
    );
    wrong.amount = dec!(500.00);
    assert_eq!(
        bank.payments
            .notify(&wrong)
            .await
            .unwrap_or_else(|e| panic!("{e:?}")),
        NoticeOutcome::Mismatch {
            amount: dec!(50.00),
            currency: "EUR".to_owned()
        }
    );
    let mut dollars = notice(
        ProviderOutcome::DepositSucceeded,
        &deposit,
        "evt_wrong_currency",
    );
    dollars.currency = "USD".to_owned();
    assert!(matches!(
        bank.payments.notify(&dollars).await,
        Ok(NoticeOutcome::Mismatch { .. })
    ));
    let mut unknown = notice(ProviderOutcome::DepositSucceeded, &deposit, "evt_unknown");
    unknown.reference = Uuid::now_v7();
    assert_eq!(
        bank.payments.notify(&unknown).await.ok(),
        Some(NoticeOutcome::UnknownReference)
    );
    // A refused event id was not recorded: the provider may send it again, right.
    let mut fixed = wrong.clone();
    fixed.amount = dec!(50.00);
    fixed.outcome = ProviderOutcome::DepositFailed;
    assert!(matches!(
        bank.payments.notify(&fixed).await,
        Ok(NoticeOutcome::Applied(_))
    ));
    // The same id with other content is refused; a success after the failure too.
    let mut reused = fixed.clone();
    reused.outcome = ProviderOutcome::DepositSucceeded;
    assert_eq!(
        bank.payments.notify(&reused).await.ok(),
        Some(NoticeOutcome::EventIdReused)
    );
    assert!(matches!(
        bank.say(ProviderOutcome::DepositSucceeded, &deposit).await,
        NoticeOutcome::Contradicts(_)
    ));
    assert_eq!(bank.status(&deposit).await, PaymentStatus::Failed);
    assert_eq!(bank.balance("alice").await, dec!(0.00));
    assert_eq!(
        count(&bank.db.connection, "SELECT count(*) FROM ledger_entries").await,
        0
    );
    assert_books_balance(&bank.db).await;
}

#[tokio::test]
async fn a_withdrawal_reserves_its_money_which_the_provider_pays_or_returns() {
    let bank = bank().await;
    bank.deposit("alice", dec!(100.00)).await;
    let paid = bank
        .ask(PaymentKind::Withdrawal, "alice", dec!(30.00))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let failed = bank
        .ask(PaymentKind::Withdrawal, "alice", dec!(20.00))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(bank.balance("alice").await, dec!(50.00), "reserved at once");
    assert!(matches!(
        bank.ask(PaymentKind::Withdrawal, "alice", dec!(50.01))
            .await,
        Err(PaymentError::InsufficientFunds(_))
    ));
    let pending = "SELECT coalesce(sum(amount), 0)::bigint FROM ledger_entries WHERE account = 'WITHDRAWALS_PENDING'";
    assert_eq!(count(&bank.db.connection, pending).await, 50);

    bank.say(ProviderOutcome::WithdrawalPaid, &paid).await;
    bank.say(ProviderOutcome::WithdrawalFailed, &failed).await;
    assert_eq!(bank.status(&paid).await, PaymentStatus::Paid);
    assert_eq!(bank.status(&failed).await, PaymentStatus::Failed);
    assert_eq!(
        bank.balance("alice").await,
        dec!(70.00),
        "the failed one came back, the paid one did not"
    );
    assert_eq!(count(&bank.db.connection, pending).await, 0);
    // Neither can be turned around now.
    assert!(matches!(
        bank.say(ProviderOutcome::WithdrawalFailed, &paid).await,
        NoticeOutcome::Contradicts(_)
    ));
    assert!(matches!(
        bank.say(ProviderOutcome::WithdrawalPaid, &failed).await,
        NoticeOutcome::Contradicts(_)
    ));
    assert_eq!(bank.balance("alice").await, dec!(70.00));
    assert_books_balance(&bank.db).await;
}

#[tokio::test]
async fn concurrent_withdrawals_take_exactly_what_the_balance_holds() {
    let bank = bank().await;
    bank.deposit("alice", dec!(100.00)).await;
    let attempts: Vec<_> = (0..40)
        .map(|_| {
            let payments = bank.payments.clone();
            tokio::spawn(async move {
                payments
                    .request(
                        PaymentKind::Withdrawal,
                        Movement {
                            bettor_id: bettor("alice"),
                            amount: dec!(7.00),
                            idempotency_key: None,
                        },
                    )
                    .await
            })
        })
        .collect();
    let mut taken = 0;
    for attempt in attempts {
        match attempt.await.unwrap_or_else(|e| panic!("{e}")) {
            Ok(_) => taken += 1,
            Err(PaymentError::InsufficientFunds(_)) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(taken, 14, "100.00 holds fourteen withdrawals of 7.00");
    assert_eq!(bank.balance("alice").await, dec!(2.00));
    assert_books_balance(&bank.db).await;
}

#[tokio::test]
async fn a_deposit_limit_counts_pending_deposits_and_holds_under_concurrency() {
    let bank = bank().await;
    let alice = bettor("alice");
    bank.accounts
        .change_limits(&alice, &[(LimitPeriod::Daily, Some(dec!(100.00)))])
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    bank.deposit("alice", dec!(60.00)).await;
    // Twenty deposits of 10.00 at once against the 40.00 left: four fit.
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let payments = bank.payments.clone();
            tokio::spawn(async move {
                payments
                    .request(
                        PaymentKind::Deposit,
                        Movement {
                            bettor_id: bettor("alice"),
                            amount: dec!(10.00),
                            idempotency_key: None,
                        },
                    )
                    .await
            })
        })
        .collect();
    let mut asked = 0;
    for attempt in attempts {
        match attempt.await.unwrap_or_else(|e| panic!("{e}")) {
            Ok(_) => asked += 1,
            Err(PaymentError::DepositLimit(reached)) => {
                assert_eq!(reached.period, LimitPeriod::Daily);
                assert_eq!(reached.remaining, dec!(0.00));
            }
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(asked, 4, "pending deposits count against the limit");
    // The window rolls: a day later the room is back.
    let refused = bank.ask(PaymentKind::Deposit, "alice", dec!(0.01)).await;
    assert!(
        matches!(refused, Err(PaymentError::DepositLimit(_))),
        "{refused:?}"
    );
    bank.clock.advance(Duration::hours(24));
    assert!(
        bank.ask(PaymentKind::Deposit, "alice", dec!(100.00))
            .await
            .is_ok()
    );
    assert!(matches!(
        bank.ask(PaymentKind::Deposit, "alice", dec!(0.01)).await,
        Err(PaymentError::DepositLimit(_))
    ));
}

#[tokio::test]
async fn a_limit_lowers_at_once_and_rises_only_a_day_later() {
    let bank = bank().await;
    let alice = bettor("alice");
    let set = |period, amount| {
        let (accounts, alice) = (bank.accounts.clone(), alice.clone());
        async move {
            accounts
                .change_limits(&alice, &[(period, amount)])
                .await
                .unwrap_or_else(|e| panic!("{e:?}"))
        }
    };
    set(LimitPeriod::Weekly, Some(dec!(50.00))).await;
    let raised = set(LimitPeriod::Weekly, Some(dec!(500.00))).await;
    let weekly = raised[1].1;
    assert_eq!(weekly.current, Some(dec!(50.00)));
    assert_eq!(weekly.pending.map(|p| p.amount), Some(Some(dec!(500.00))));
    bank.deposit("alice", dec!(50.00)).await;
    bank.clock.advance(Duration::hours(23));
    assert!(
        matches!(
            bank.ask(PaymentKind::Deposit, "alice", dec!(1.00)).await,
            Err(PaymentError::DepositLimit(_))
        ),
        "the raise waits a full day"
    );
    bank.clock.advance(Duration::hours(1));
    assert!(
        bank.ask(PaymentKind::Deposit, "alice", dec!(450.00))
            .await
            .is_ok()
    );
    let limits = bank
        .accounts
        .limits(&alice)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(limits[1].1.current, Some(dec!(500.00)));
    assert_eq!(limits[1].1.pending, None);
    // Removing one waits a day too; lowering does not.
    set(LimitPeriod::Weekly, None).await;
    assert!(matches!(
        bank.ask(PaymentKind::Deposit, "alice", dec!(1.00)).await,
        Err(PaymentError::DepositLimit(_))
    ));
    set(LimitPeriod::Monthly, Some(dec!(0.00))).await;
    bank.clock.advance(Duration::hours(25));
    assert!(
        matches!(bank.ask(PaymentKind::Deposit, "alice", dec!(1.00)).await, Err(PaymentError::DepositLimit(r)) if r.period == LimitPeriod::Monthly),
        "the weekly limit is gone, the monthly 0.00 holds"
    );
}

#[tokio::test]
async fn an_exclusion_refuses_deposits_until_it_ends_but_never_withdrawals() {
    let bank = bank().await;
    let alice = bettor("alice");
    bank.deposit("alice", dec!(100.00)).await;
    let time_out = ExclusionRequest::time_out(24).unwrap_or_else(|e| panic!("{e}"));
    let exclusion = bank
        .accounts
        .exclude(&alice, time_out)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        exclusion.until,
        Some(bank.clock.now() + Duration::hours(24))
    );
    match bank.ask(PaymentKind::Deposit, "alice", dec!(1.00)).await {
        Err(PaymentError::Excluded(Excluded::Until(until))) => {
            assert_eq!(Some(until), exclusion.until)
        }
        other => panic!("{other:?}"),
    }
    assert!(
        bank.ask(PaymentKind::Withdrawal, "alice", dec!(10.00))
            .await
            .is_ok(),
        "withdrawals stay open"
    );
    bank.clock.advance(Duration::hours(24));
    assert!(
        bank.ask(PaymentKind::Deposit, "alice", dec!(1.00))
            .await
            .is_ok(),
        "the time-out is over"
    );
    assert!(
        bank.accounts
            .exclusions(&alice)
            .await
            .unwrap_or_default()
            .is_empty()
    );

    // A self-exclusion of six months, and one for ever.
    let months = ExclusionRequest::self_exclusion(6).unwrap_or_else(|e| panic!("{e}"));
    bank.accounts
        .exclude(&alice, months)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    bank.clock.advance(Duration::days(184));
    assert!(
        bank.ask(PaymentKind::Deposit, "alice", dec!(1.00))
            .await
            .is_ok(),
        "six months have passed"
    );
    bank.accounts
        .exclude(&alice, ExclusionRequest::Permanent)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    bank.clock.advance(Duration::days(3650));
    assert!(matches!(
        bank.ask(PaymentKind::Deposit, "alice", dec!(1.00)).await,
        Err(PaymentError::Excluded(Excluded::Permanently))
    ));
    // A shorter time-out later changes nothing.
    bank.accounts
        .exclude(
            &alice,
            ExclusionRequest::time_out(24).unwrap_or_else(|e| panic!("{e}")),
        )
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    bank.clock.advance(Duration::hours(25));
    assert!(matches!(
        bank.ask(PaymentKind::Deposit, "alice", dec!(1.00)).await,
        Err(PaymentError::Excluded(Excluded::Permanently))
    ));
    assert!(
        bank.ask(PaymentKind::Withdrawal, "alice", dec!(1.00))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn an_adjustment_needs_a_reason_never_goes_below_zero_and_is_audited() {
    let bank = bank().await;
    let order = |amount: Decimal, reason: &str| AdjustmentOrder {
        actor: bettor("cleo"),
        bettor_id: bettor("alice"),
        amount,
        reason: reason.to_owned(),
    };
    let (line, entry) = bank
        .cashier
        .adjust(order(dec!(25.00), "cash at the desk"))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        (line.amount, line.balance_after),
        (dec!(25.00), dec!(25.00))
    );
    assert_eq!(
        (
            entry.actor.as_str(),
            entry.action.as_str(),
            entry.subject.as_str()
        ),
        ("cleo", "wallet.adjust", "wallet:alice")
    );
    assert_eq!(
        entry.before,
        Some(serde_json::json!({"balance": "0.00", "currency": "EUR"}))
    );
    let refused = bank.cashier.adjust(order(dec!(-25.01), "too much")).await;
    assert!(matches!(
        refused.err().map(|e| e.0).as_deref(),
        Some([CashierError::InsufficientFunds(_)])
    ));
    let invalid = bank.cashier.adjust(order(dec!(0), "  ")).await;
    assert!(matches!(
        invalid.err().map(|e| e.0).as_deref(),
        Some([CashierError::InvalidAmount(_), CashierError::InvalidReason])
    ));
    bank.cashier
        .adjust(order(dec!(-25.00), "paid out at the desk"))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(bank.balance("alice").await, dec!(0.00));
    let audit = bank
        .cashier
        .audit(shared_kernel::pagination::PageRequest {
            limit: 10,
            after: None,
        })
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(audit.len(), 2, "refusals are not actions");
    assert_eq!(audit[0].reason, "paid out at the desk");
    assert_books_balance(&bank.db).await;
}

#[tokio::test]
async fn idempotency_keys_are_remembered_for_their_ttl_and_then_swept() {
    use bet_maker::infrastructure::persistence::KeySweeper;
    use sea_orm::ConnectionTrait;
    let bank = bank().await;
    for key in ["old", "fresh"] {
        bank.payments
            .request(
                PaymentKind::Deposit,
                Movement {
                    bettor_id: bettor("alice"),
                    amount: dec!(1.00),
                    idempotency_key: Some(key.to_owned()),
                },
            )
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
    }
    bank.db
        .connection
        .execute_unprepared(
            "UPDATE idempotency_keys SET created_at = now() - interval '24 hours 1 minute' WHERE key = 'old'",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let swept = KeySweeper::new(&bank.db.connection, 24)
        .sweep()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(swept, 1);
    let left = count(
        &bank.db.connection,
        "SELECT count(*) FROM idempotency_keys WHERE key = 'fresh'",
    )
    .await;
    assert_eq!(left, 1, "a key within its TTL stays");
    // The old key answers as new: a second deposit.
    let again = bank
        .payments
        .request(
            PaymentKind::Deposit,
            Movement {
                bettor_id: bettor("alice"),
                amount: dec!(1.00),
                idempotency_key: Some("old".to_owned()),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        count(&bank.db.connection, "SELECT count(*) FROM deposits").await,
        3,
        "{again:?}"
    );
}
