//! What a test does through bet-maker: a bettor reading the line, betting,
//! and watching bets settle.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use shared_kernel::testing::{PATIENCE, eventually, expect_json};
use uuid::Uuid;

use super::System;
use crate::bet_maker_support::{BETTOR, notice_about, signed, token_for};
use crate::id_of;

impl System {
    /// `POST /bets` as the bettor [`BETTOR`], and the response, whatever it
    /// is.
    pub async fn try_place_bet(&self, event_id: Uuid, amount: &str) -> Response {
        self.bet_maker
            .request(Method::POST, "/bets")
            .bearer_auth(token_for(BETTOR))
            .json(&json!({ "event_id": event_id, "amount": amount }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /bets: {e}"))
    }

    /// `POST /wallet/deposits` of `amount` as [`BETTOR`], expecting 202
    /// (pending), then the provider's signed `deposit.succeeded` about it,
    /// expecting 200; the deposit, succeeded.
    pub async fn deposit(&self, amount: &str) -> Value {
        let response = self
            .bet_maker
            .request(Method::POST, "/wallet/deposits")
            .bearer_auth(token_for(BETTOR))
            .json(&json!({ "amount": amount }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /wallet/deposits: {e}"));
        let deposit = expect_json(response, StatusCode::ACCEPTED).await;
        assert_eq!(deposit["status"], "PENDING", "the deposit: {deposit}");
        let notice = notice_about("deposit.succeeded", &deposit);
        let response = signed(
            self.bet_maker.request(Method::POST, "/payments/webhook"),
            &notice,
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /payments/webhook: {e}"));
        let ack = expect_json(response, StatusCode::OK).await;
        assert_eq!(ack["result"], "applied", "confirming {deposit}: {ack}");
        let confirmed = self
            .get_json(&format!("/wallet/deposits/{}", id_of(&deposit)))
            .await;
        assert_eq!(confirmed["status"], "SUCCEEDED", "the deposit: {confirmed}");
        confirmed
    }

    /// [`BETTOR`]'s wallet balance.
    pub async fn balance(&self) -> rust_decimal::Decimal {
        let wallet = self.get_json("/wallet").await;
        crate::decimal(wallet["balance"].as_str().unwrap_or_default())
    }

    /// Places a bet, expecting 201; returns the bet.
    pub async fn place_bet(&self, event_id: Uuid, amount: &str) -> Value {
        let response = self.try_place_bet(event_id, amount).await;
        expect_json(response, StatusCode::CREATED).await
    }

    /// Every event bet-maker lists as open (following `next_cursor`).
    pub async fn open_events(&self) -> Vec<Value> {
        self.all_pages("/events?limit=500").await
    }

    /// Every bet of [`BETTOR`] matching `query` (e.g. `status=PENDING`),
    /// newest first.
    pub async fn bets(&self, query: &str) -> Vec<Value> {
        self.all_pages(&format!("/bets?limit=500&{query}")).await
    }

    /// `GET path` as [`BETTOR`] (public paths ignore the token), expecting
    /// 200; its JSON.
    async fn get_json(&self, path: &str) -> Value {
        let response = self
            .bet_maker
            .request(Method::GET, path)
            .bearer_auth(token_for(BETTOR))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        expect_json(response, StatusCode::OK).await
    }

    /// Follows bet-maker's cursor pagination from `first` to the last page.
    async fn all_pages(&self, first: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut page = self.get_json(first).await;
        loop {
            match page["items"].as_array() {
                Some(page_items) => items.extend(page_items.iter().cloned()),
                None => panic!("GET {first}: a page without items: {page}"),
            }
            match page["next_cursor"].as_str() {
                Some(cursor) => {
                    let next = format!("{first}&cursor={cursor}");
                    page = self.get_json(&next).await;
                }
                None => return items,
            }
        }
    }

    /// A bet of [`BETTOR`]'s by id.
    pub async fn bet(&self, bet_id: Uuid) -> Value {
        self.get_json(&format!("/bets/{bet_id}")).await
    }

    /// Waits until bet-maker lists `event_id` as open with `coefficient`;
    /// returns the listed event.
    pub async fn wait_for_open_event(&self, event_id: Uuid, coefficient: &str) -> Value {
        eventually(
            &format!("bet-maker listing event {event_id} as open at {coefficient}"),
            PATIENCE,
            || async {
                self.open_events()
                    .await
                    .into_iter()
                    .find(|event| id_of(event) == event_id && event["coefficient"] == coefficient)
            },
        )
        .await
    }

    /// Waits until bet-maker no longer lists `event_id` as open.
    pub async fn wait_until_closed(&self, event_id: Uuid) {
        eventually(
            &format!("bet-maker no longer listing event {event_id}"),
            PATIENCE,
            || async {
                let open = self.open_events().await;
                (!open.iter().any(|e| id_of(e) == event_id)).then_some(())
            },
        )
        .await;
    }

    /// Waits until no bet on `event_id` is `PENDING`; returns every bet on it.
    pub async fn wait_for_settlement(&self, event_id: Uuid) -> Vec<Value> {
        eventually(
            &format!("bet-maker settling every bet on event {event_id}"),
            PATIENCE,
            || async {
                let bets = self.bets(&format!("event_id={event_id}")).await;
                bets.iter()
                    .all(|bet| bet["status"] != "PENDING")
                    .then_some(bets)
            },
        )
        .await
    }
}
