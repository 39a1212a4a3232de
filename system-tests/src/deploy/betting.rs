//! Bettors through the load balancer: deposits, bets, and the check that
//! every bet was settled as the domain says and every wallet is exact.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use bet_maker::domain::{BetSum, LineEventStatus, payout};
use futures_util::future::try_join_all;
use reqwest::{Client, Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::eventually;
use super::flow::Event;
use super::http::{Api, text};

/// How an event ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `FINISHED_WIN`: bets are paid amount × coefficient.
    Win,
    /// `FINISHED_LOSE`: bets pay nothing.
    Lose,
    /// `CANCELLED`: stakes come back.
    Cancel,
}

impl Outcome {
    fn status(self) -> LineEventStatus {
        match self {
            Self::Win => LineEventStatus::FinishedWin,
            Self::Lose => LineEventStatus::FinishedLose,
            Self::Cancel => LineEventStatus::Cancelled,
        }
    }
}

/// A bettor and their client.
#[derive(Debug, Clone)]
pub struct Bettor {
    /// The token's subject.
    pub name: String,
    api: Api,
}

/// A bet as bet-maker answered its placement.
#[derive(Debug, Clone)]
pub struct PlacedBet {
    /// Whose.
    pub bettor: String,
    /// The bet's id.
    pub id: String,
    /// Which event (index into the run's events).
    pub event: usize,
    /// The stake.
    pub amount: Decimal,
    /// The odds it was placed at.
    pub coefficient: Decimal,
}

/// The largest stake bet-maker takes by default (BET_MAKER_MAX_STAKE).
const MAX_STAKE: Decimal = Decimal::from_parts(100_000_000, 0, 0, false, 2);

impl Bettor {
    /// `name` calling bet-maker at `base` with `token`.
    pub fn new(client: &Client, base: &str, name: &str, token: &str) -> Self {
        Self {
            name: name.to_owned(),
            api: Api::new(client, base, Some(token)),
        }
    }

    /// Pays `amount` in, once (the key makes a retry harmless), and waits
    /// until the payment provider (the deployment's sandbox) has confirmed
    /// it: the money is in the wallet.
    pub async fn deposit(&self, amount: &str, key: &str) -> anyhow::Result<()> {
        deposit_confirmed(&self.api, &self.name, amount, key).await?;
        Ok(())
    }

    /// Places one bet on the `event`th event (retried with its key until
    /// answered), and counts it in `placed`.
    async fn bet(
        &self,
        (event, event_id): (usize, &str),
        amount: &str,
        key: &str,
        placed: &AtomicUsize,
    ) -> anyhow::Result<PlacedBet> {
        let bet = self
            .api
            .expect(
                Method::POST,
                "/bets",
                Some(&json!({ "event_id": event_id, "amount": amount })),
                Some(key),
                &[StatusCode::CREATED, StatusCode::OK],
            )
            .await
            .with_context(|| format!("{} betting {amount} on {event_id}", self.name))?;
        if text(&bet, "status")? != "PENDING" || text(&bet, "amount")? != amount {
            bail!("{}: the bet came back as {bet}", self.name);
        }
        placed.fetch_add(1, Ordering::SeqCst);
        Ok(PlacedBet {
            bettor: self.name.clone(),
            id: text(&bet, "id")?.to_owned(),
            event,
            amount: decimal(amount)?,
            coefficient: decimal(text(&bet, "coefficient")?)?,
        })
    }
}

/// How long a deposit may stay PENDING before the check fails: the
/// deployment's sandbox confirms each within a fraction of a second.
const CONFIRMATION: Duration = Duration::from_secs(30);

/// `POST /wallet/deposits` of `amount` as `who` with the Idempotency-Key
/// `key`, answered 202 (a retry with the key is answered as the first
/// request was: 202 again, or 200), then `GET /wallet/deposits/{id}` until
/// the provider has confirmed it (SUCCEEDED), for at most [`CONFIRMATION`];
/// the deposit, succeeded.
pub(super) async fn deposit_confirmed(
    api: &Api,
    who: &str,
    amount: &str,
    key: &str,
) -> anyhow::Result<Value> {
    let deposit = api
        .expect(
            Method::POST,
            "/wallet/deposits",
            Some(&json!({ "amount": amount })),
            Some(key),
            &[StatusCode::ACCEPTED, StatusCode::OK],
        )
        .await
        .with_context(|| format!("{who} depositing {amount}"))?;
    // A retry may find the deposit confirmed already.
    if !matches!(text(&deposit, "status")?, "PENDING" | "SUCCEEDED")
        || text(&deposit, "amount")? != amount
    {
        bail!("{who}: the deposit came back as {deposit}");
    }
    let path = format!("/wallet/deposits/{}", text(&deposit, "id")?);
    let deadline = tokio::time::Instant::now() + CONFIRMATION;
    loop {
        let seen = api.get(&path).await?;
        match text(&seen, "status")? {
            "SUCCEEDED" if text(&seen, "amount")? == amount => return Ok(seen),
            "PENDING" if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            "PENDING" => bail!(
                "{who}: the deposit is still PENDING {CONFIRMATION:?} after it was asked for \
                 (is BET_MAKER_PAYMENTS_PROVIDER=sandbox? see the bet-maker replicas' logs): {seen}"
            ),
            _ => bail!("{who}: the deposit was not confirmed as asked: {seen}"),
        }
    }
}

/// An exact decimal from the API's text.
fn decimal(text: &str) -> anyhow::Result<Decimal> {
    text.parse()
        .with_context(|| format!("`{text}` is not a decimal"))
}

/// A stake that differs by bettor, event and bet (cents included), from
/// 5.00 to 24.99: the 6 bets of round 1 and at most [`MAX_BETS_AFTER`] of
/// round 2 fit in the bettor's deposit.
fn stake(bettor: usize, event: usize, nth: usize) -> String {
    let units = 5 + (bettor * 7 + event * 3 + nth) % 20;
    let cents = (bettor * 13 + event * 29 + nth * 7) % 100;
    format!("{units}.{cents:02}")
}

/// Every bettor places `per_event` bets on every event, bettors in
/// parallel, each counted in `placed` as it is answered.
pub async fn place_round(
    bettors: &[Bettor],
    events: &[Event],
    run: &str,
    round: usize,
    per_event: usize,
    placed: &AtomicUsize,
) -> anyhow::Result<Vec<PlacedBet>> {
    let rounds = bettors.iter().enumerate().map(|(b, bettor)| async move {
        let mut bets = Vec::new();
        for nth in 0..per_event {
            for (e, event) in events.iter().enumerate() {
                let amount = stake(b, e, round * 10 + nth);
                let key = format!("bet-{run}-{round}-{nth}-{e}");
                bets.push(bettor.bet((e, &event.id), &amount, &key, placed).await?);
            }
        }
        anyhow::Ok(bets)
    });
    Ok(try_join_all(rounds).await?.into_iter().flatten().collect())
}

/// The most bets one bettor places in round 2: if the replicas have not
/// been stopped by then, the round did not test what it is for.
pub const MAX_BETS_AFTER: usize = 150;

/// Round 2: every bettor bets on the events in turn, on and on, until
/// `stopped` is set (the replicas are down) and each has placed
/// `after_stop` more bets; fails if a bettor reaches [`MAX_BETS_AFTER`]
/// first.
pub async fn place_until_stopped(
    bettors: &[Bettor],
    events: &[Event],
    run: &str,
    placed: &AtomicUsize,
    stopped: &AtomicBool,
    after_stop: usize,
) -> anyhow::Result<Vec<PlacedBet>> {
    let rounds = bettors.iter().enumerate().map(|(b, bettor)| async move {
        let mut bets = Vec::new();
        let mut since_stop = 0;
        while since_stop < after_stop {
            if bets.len() >= MAX_BETS_AFTER {
                bail!(
                    "{}: {MAX_BETS_AFTER} bets placed and the replicas not stopped yet",
                    bettor.name
                );
            }
            if stopped.load(Ordering::SeqCst) {
                since_stop += 1;
            }
            let nth = bets.len();
            let e = nth % events.len();
            let amount = stake(b, e, 1000 + nth);
            let key = format!("bet-{run}-2-{nth}");
            bets.push(
                bettor
                    .bet((e, &events[e].id), &amount, &key, placed)
                    .await?,
            );
        }
        anyhow::Ok(bets)
    });
    Ok(try_join_all(rounds).await?.into_iter().flatten().collect())
}

/// Every bet of the bettor settled as the domain's payout rule says, no
/// bet missing or extra, and the wallet and its statement exact.
pub async fn check_bettor(
    bettor: &Bettor,
    events: &[Event],
    placed: &[&PlacedBet],
    deposit: &str,
) -> anyhow::Result<()> {
    let ours: HashSet<&str> = events.iter().map(|event| event.id.as_str()).collect();
    let listed = eventually(&format!("{}'s bets all settled", bettor.name), || async {
        let bets = bettor.api.all("/bets").await?;
        let pending = bets.iter().filter(|bet| bet["status"] == "PENDING").count();
        Ok(if pending == 0 {
            Ok(bets)
        } else {
            Err(format!("{pending} still PENDING"))
        })
    })
    .await?;
    let listed: HashMap<&str, &serde_json::Value> = listed
        .iter()
        .filter(|bet| bet["event_id"].as_str().is_some_and(|id| ours.contains(id)))
        .filter_map(|bet| bet["id"].as_str().map(|id| (id, bet)))
        .collect();
    if listed.len() != placed.len() {
        bail!(
            "{}: {} bets listed, {} placed",
            bettor.name,
            listed.len(),
            placed.len()
        );
    }

    let mut balance = decimal(deposit)?;
    let (mut won, mut void) = (0, 0);
    for bet in placed {
        let Some(seen) = listed.get(bet.id.as_str()) else {
            bail!("{}: the bet {} is missing", bettor.name, bet.id);
        };
        let outcome = events[bet.event].outcome;
        let stake =
            BetSum::new(bet.amount, MAX_STAKE).with_context(|| format!("stake {}", bet.amount))?;
        let Some((status, paid)) = payout(stake, bet.coefficient, outcome.status()) else {
            bail!("no payout rule for {outcome:?}");
        };
        let status = crate::status_text(status);
        if seen["status"] != status || decimal(text(seen, "payout")?)? != paid {
            bail!(
                "{}: bet {} should be {status} paying {paid}, is {seen}",
                bettor.name,
                bet.id
            );
        }
        balance = balance - bet.amount + paid;
        won += usize::from(outcome == Outcome::Win);
        void += usize::from(outcome == Outcome::Cancel);
    }

    let wallet = bettor.api.get("/wallet").await?;
    if decimal(text(&wallet, "balance")?)? != balance {
        bail!(
            "{}: the wallet holds {wallet}, expected {balance}",
            bettor.name
        );
    }
    let lines = bettor.api.all("/wallet/transactions").await?;
    let count = |kind: &str| lines.iter().filter(|line| line["kind"] == kind).count();
    let expected = [
        ("DEPOSIT", 1),
        ("STAKE", placed.len()),
        ("PAYOUT", won),
        ("REFUND", void),
        ("WITHDRAWAL", 0),
        ("WITHDRAWAL_RETURNED", 0),
        ("ADJUSTMENT", 0),
    ];
    for (kind, wanted) in expected {
        if count(kind) != wanted {
            bail!(
                "{}: {} {kind} lines in the statement, expected {wanted}",
                bettor.name,
                count(kind)
            );
        }
    }
    // One deposit, succeeded, and the statement's DEPOSIT line is its.
    let deposits = bettor.api.all("/wallet/deposits").await?;
    let credited = lines
        .iter()
        .find(|line| line["kind"] == "DEPOSIT")
        .map(|line| &line["payment_id"]);
    match deposits.as_slice() {
        [one]
            if one["status"] == "SUCCEEDED"
                && text(one, "amount")? == deposit
                && credited == Some(&one["id"]) => {}
        _ => bail!(
            "{}: the deposits are {deposits:?}, expected one SUCCEEDED deposit of {deposit} \
             credited by the statement's DEPOSIT line",
            bettor.name
        ),
    }
    let mut total = Decimal::ZERO;
    for line in &lines {
        total += decimal(text(line, "amount")?)?;
    }
    if total != balance {
        bail!(
            "{}: the statement sums to {total}, the wallet to {balance}",
            bettor.name
        );
    }
    Ok(())
}
