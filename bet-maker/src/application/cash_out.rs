//! Cash-out: a quote for a pending bet, and taking it.

use std::sync::Arc;

use chrono::Duration;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::ports::{
    AcceptOutcome, BetRepository, CashOutQuote, CashOutRepository, Clock, LineRepository,
    RepositoryError,
};
use crate::domain::{Bet, BettorId, CashOutRefused, LegStatus, cash_out_offer};

/// `BET_MAKER_CASH_OUT_MARGIN` and `BET_MAKER_CASH_OUT_QUOTE_SECS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CashOutSettings {
    /// The house's share of a cash-out's fair value (0.05: 5 %).
    pub margin: Decimal,
    /// How long a quote may be taken, in seconds.
    pub quote_secs: u32,
}

impl Default for CashOutSettings {
    fn default() -> Self {
        Self {
            margin: Decimal::new(5, 2),
            quote_secs: 10,
        }
    }
}

/// Why a cash-out use case failed.
#[derive(Debug, thiserror::Error)]
pub enum CashOutError {
    /// No such bet, or another bettor's (404).
    #[error("no bet with id {0}")]
    NotFound(Uuid),
    /// No such quote for this bet (422).
    #[error("no cash-out quote {0} for this bet")]
    UnknownQuote(Uuid),
    /// The rules refuse it now (409).
    #[error(transparent)]
    Refused(#[from] CashOutRefused),
    /// Storage failed: 503 when the database is unreachable, 500 otherwise.
    #[error(transparent)]
    Storage(#[from] RepositoryError),
}

/// The use cases of cash-out.
#[derive(Clone)]
pub struct CashOutService {
    bets: Arc<dyn BetRepository>,
    line: Arc<dyn LineRepository>,
    quotes: Arc<dyn CashOutRepository>,
    clock: Arc<dyn Clock>,
    settings: CashOutSettings,
}

impl std::fmt::Debug for CashOutService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CashOutService")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl CashOutService {
    /// The use cases over these ports (the line for the open legs' events
    /// as bet-maker knows them now).
    pub fn new(
        bets: Arc<dyn BetRepository>,
        line: Arc<dyn LineRepository>,
        quotes: Arc<dyn CashOutRepository>,
        clock: Arc<dyn Clock>,
        settings: CashOutSettings,
    ) -> Self {
        Self {
            bets,
            line,
            quotes,
            clock,
            settings,
        }
    }

    /// A quote for the bettor's pending bet, by
    /// [`crate::domain::cash_out_offer`] on the line as bet-maker knows it
    /// now, valid `quote_secs`.
    pub async fn quote(
        &self,
        bettor_id: &BettorId,
        bet_id: Uuid,
    ) -> Result<CashOutQuote, CashOutError> {
        let bet = self
            .bets
            .get(bettor_id, bet_id)
            .await?
            .ok_or(CashOutError::NotFound(bet_id))?;
        // The line as this replica last heard it, as a bet is decided on:
        // taking the quote holds it to the copy in the database, locked.
        let now = self.clock.now();
        let mut events = Vec::new();
        for leg in bet
            .legs()
            .iter()
            .filter(|leg| leg.status == LegStatus::Pending)
        {
            if let Some(event) = self.line.recent_event(leg.event_id, now).await? {
                events.push(event);
            }
        }
        let offer = cash_out_offer(&bet, &events, self.settings.margin, now)?;
        let quote = CashOutQuote {
            id: Uuid::now_v7(),
            bet_id,
            offer,
            quoted_at: now,
            expires_at: now + Duration::seconds(i64::from(self.settings.quote_secs)),
        };
        self.quotes.save_quote(&quote).await?;
        metrics::counter!("cash_out_quotes_total").increment(1);
        Ok(quote)
    }

    /// Takes the quote: the bet cashed out at it, exactly once however
    /// often this is sent.
    pub async fn accept(
        &self,
        bettor_id: &BettorId,
        bet_id: Uuid,
        quote_id: Uuid,
    ) -> Result<Bet, CashOutError> {
        let now = self.clock.now();
        match self.quotes.accept(bettor_id, bet_id, quote_id, now).await? {
            AcceptOutcome::CashedOut(bet) => {
                metrics::counter!("cash_outs_total").increment(1);
                tracing::info!(bet_id = %bet_id, bettor_id = %bettor_id, payout = ?bet.payout(), "bet cashed out");
                Ok(bet)
            }
            AcceptOutcome::UnknownBet => Err(CashOutError::NotFound(bet_id)),
            AcceptOutcome::UnknownQuote => Err(CashOutError::UnknownQuote(quote_id)),
            AcceptOutcome::Refused(refused) => Err(refused.into()),
        }
    }
}
