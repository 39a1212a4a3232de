//! Wallets and the ledger against the real PostgreSQL: deposits and
//! withdrawals post balanced transactions, a withdrawal above the balance
//! writes nothing, concurrent withdrawals never overdraw, and every
//! wallet's balance equals the sum of its entries.

mod support;

use std::sync::Arc;

use bet_maker::application::ports::{StatementLine, WalletRepository};
use bet_maker::application::{Movement, WalletError, WalletService};
use bet_maker::domain::{BettorId, Currency, WalletLine};
use bet_maker::infrastructure::persistence::SqlWalletRepository;
use bet_maker::infrastructure::persistence::migrations::{Migrator, schema_fingerprint};
use rust_decimal::{Decimal, dec};
use shared_kernel::pagination::PageRequest;
use shared_kernel::testing::{TestDatabase, count};
use support::assert_books_balance;

async fn wallets() -> (TestDatabase, WalletService) {
    let db = TestDatabase::create::<Migrator>("bet_maker_wallet", schema_fingerprint())
        .await
        .unwrap_or_else(|e| panic!("test database: {e}"));
    let repository: Arc<dyn WalletRepository> =
        Arc::new(SqlWalletRepository::new(&db.connection, eur()));
    (db, WalletService::new(repository, dec!(1000000.00), eur()))
}

fn eur() -> Currency {
    Currency::parse("EUR").unwrap_or_else(|e| panic!("{e}"))
}

fn movement(bettor: &BettorId, amount: Decimal) -> Movement {
    Movement {
        bettor_id: bettor.clone(),
        amount,
        idempotency_key: None,
    }
}

fn bettor(id: &str) -> BettorId {
    BettorId::parse(id).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_deposit_makes_the_wallet_and_a_withdrawal_takes_from_it() {
    let (db, wallets) = wallets().await;
    let alice = bettor("alice");
    assert_eq!(wallets.balance(&alice).await.unwrap(), dec!(0.00));

    let deposited = wallets
        .deposit(movement(&alice, dec!(100.00)))
        .await
        .unwrap();
    let withdrawn = wallets
        .withdraw(movement(&alice, dec!(30.50)))
        .await
        .unwrap();

    assert_eq!(
        (deposited.kind, deposited.amount, deposited.balance_after),
        (WalletLine::Deposit, dec!(100.00), dec!(100.00))
    );
    assert_eq!(
        (withdrawn.kind, withdrawn.amount, withdrawn.balance_after),
        (WalletLine::Withdrawal, dec!(-30.50), dec!(69.50))
    );
    assert_eq!(wallets.balance(&alice).await.unwrap(), dec!(69.50));
    let statement: Vec<StatementLine> = wallets
        .statement(
            &alice,
            PageRequest {
                limit: 50,
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        statement,
        [withdrawn.clone(), deposited.clone()],
        "newest first"
    );
    let page = |limit, after| PageRequest { limit, after };
    let first = wallets.statement(&alice, page(1, None)).await.unwrap();
    assert_eq!(first.len(), 2, "one extra: there is more");
    let rest = wallets
        .statement(&alice, page(1, Some(withdrawn.id)))
        .await
        .unwrap();
    assert_eq!(rest, std::slice::from_ref(&deposited), "after the cursor");
    // Another bettor's wallet is another wallet.
    assert_eq!(wallets.balance(&bettor("bob")).await.unwrap(), dec!(0.00));
    assert!(
        wallets
            .statement(
                &bettor("bob"),
                PageRequest {
                    limit: 50,
                    after: None
                }
            )
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        count(&db.connection, "SELECT count(*) FROM ledger_transactions").await,
        2
    );
    assert_books_balance(&db).await;
}

#[tokio::test]
async fn a_withdrawal_above_the_balance_is_refused_saying_the_balance_and_writes_nothing() {
    let (db, wallets) = wallets().await;
    let alice = bettor("alice");
    wallets
        .deposit(movement(&alice, dec!(10.00)))
        .await
        .unwrap();
    let entries = count(&db.connection, "SELECT count(*) FROM ledger_entries").await;

    let refused = wallets.withdraw(movement(&alice, dec!(10.01))).await;
    let never_deposited = wallets.withdraw(movement(&bettor("bob"), dec!(0.01))).await;

    match refused {
        Err(WalletError::InsufficientFunds(funds)) => {
            assert_eq!((funds.balance, funds.wanted), (dec!(10.00), dec!(10.01)));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        never_deposited,
        Err(WalletError::InsufficientFunds(_))
    ));
    assert_eq!(
        count(&db.connection, "SELECT count(*) FROM ledger_entries").await,
        entries
    );
    assert_eq!(
        count(&db.connection, "SELECT count(*) FROM wallets").await,
        1,
        "no wallet made by a refused withdrawal"
    );
    for bad in [dec!(0), dec!(-1.00), dec!(0.001)] {
        assert!(matches!(
            wallets.deposit(movement(&alice, bad)).await,
            Err(WalletError::InvalidAmount(_))
        ));
    }
    assert_books_balance(&db).await;
}

#[tokio::test]
async fn concurrent_withdrawals_take_exactly_what_the_balance_holds() {
    let (db, wallets) = wallets().await;
    let alice = bettor("alice");
    wallets
        .deposit(movement(&alice, dec!(100.00)))
        .await
        .unwrap();

    let attempts: Vec<_> = (0..40)
        .map(|_| {
            let (wallets, alice) = (wallets.clone(), alice.clone());
            tokio::spawn(async move { wallets.withdraw(movement(&alice, dec!(7.00))).await })
        })
        .collect();
    let mut taken = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => taken += 1,
            Err(WalletError::InsufficientFunds(_)) => {}
            Err(other) => panic!("{other:?}"),
        }
    }

    assert_eq!(taken, 14, "100.00 holds fourteen withdrawals of 7.00");
    assert_eq!(wallets.balance(&alice).await.unwrap(), dec!(2.00));
    assert_eq!(Decimal::from(taken) * dec!(7.00) + dec!(2.00), dec!(100.00));
    assert_books_balance(&db).await;
}
