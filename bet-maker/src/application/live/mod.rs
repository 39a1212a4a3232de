//! Live updates: every change to the line, to a bet and to a wallet, in
//! the order a reader may safely take them, to whoever follows them.
//!
//! The changes are written by the database in the transaction that makes
//! them (so every replica sees every change, whichever replica made it),
//! read back in order by one reader per replica ([`LiveFeed::run`]), and
//! fanned out in memory to that replica's subscribers. A subscriber that
//! comes back after a break names the last change it saw and gets every
//! change since, from the database, before it joins the live fan-out.

mod feed;
mod subscription;
#[cfg(test)]
mod tests;

use std::sync::OnceLock;

use async_trait::async_trait;
use rust_decimal::Decimal;

pub use feed::{FeedSettings, LiveFeed};
pub use subscription::{Delivery, ResetReason, Subscription};

use super::ports::RepositoryError;
use crate::domain::{Bet, BettorId, LineEvent};

/// Where a change sits in the feed. Changes are read in this order: by the
/// transaction that wrote them, then by position. Positions are handed out
/// at insert, and a transaction may commit after one that took a larger
/// position: the transaction's id, read only below the oldest transaction
/// still running, is what makes the order final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeedKey {
    /// The writing transaction's id (`xid8`).
    pub xid: u64,
    /// The change's position: unique, and what clients see as its id.
    pub position: i64,
}

/// Whose changes a stream shows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// The line: every change to bet-maker's copy of an event (public).
    Line,
    /// One bettor's bets and wallet.
    Bettor(BettorId),
}

/// A wallet's balance after a movement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletBalance {
    /// The balance, two decimals.
    pub balance: Decimal,
    /// The wallet's currency code.
    pub currency: String,
}

/// What changed, as it is right after the change (or, for [`Self::Bets`],
/// at least as new).
#[derive(Debug, Clone)]
pub enum LiveChange {
    /// bet-maker's copy of an event.
    Line(LineEvent),
    /// A bet, placed or settled.
    Bet(Bet),
    /// Some of one bettor's bets that one statement changed among many (a
    /// settlement), in the order of their ids, as they are when read: the
    /// feed names them rather than holding a document of each.
    Bets(Vec<Bet>),
    /// A wallet whose balance moved.
    Wallet(WalletBalance),
}

/// One change of the feed.
#[derive(Debug)]
pub struct FeedChange {
    /// Where it sits.
    pub key: FeedKey,
    /// Whose stream shows it.
    pub topic: Topic,
    /// What changed; `None` when the reader did not ask for it (a bettor
    /// nobody on this replica followed when it was read: such a change was
    /// committed before anyone followed the bettor here).
    pub change: Option<LiveChange>,
    /// The change as the adapter sending it writes it (a message per bet
    /// of [`LiveChange::Bets`], else one), kept by the first subscriber
    /// that renders it so that thousands render it once.
    pub rendered: OnceLock<Vec<String>>,
}

impl FeedChange {
    /// A change as read from the feed.
    pub fn new(key: FeedKey, topic: Topic, change: Option<LiveChange>) -> Self {
        Self {
            key,
            topic,
            change,
            rendered: OnceLock::new(),
        }
    }
}

/// The feed as stored: read in [`FeedKey`] order, never past a change that
/// could still be preceded by one not yet committed.
///
/// Errors are [`RepositoryError`]s: the operation that failed and whether
/// the database was unreachable.
#[async_trait]
pub trait ChangeLog: Send + Sync {
    /// The key every change committed from now on comes after: where a
    /// reader that wants only new changes starts.
    async fn horizon(&self) -> Result<FeedKey, RepositoryError>;

    /// Up to `limit` changes of every topic after `after`, with what
    /// changed for the line and for the bettors `followed` says yes to,
    /// asked once the changes are in hand (reading what nobody follows
    /// would cost every replica a settlement's worth of work for nothing).
    async fn read_all(
        &self,
        after: FeedKey,
        followed: &(dyn for<'b> Fn(&'b BettorId) -> bool + Send + Sync),
        limit: u32,
    ) -> Result<Vec<FeedChange>, RepositoryError>;

    /// Up to `limit` changes of `topic` after `after`, with what changed.
    async fn read_topic(
        &self,
        topic: &Topic,
        after: FeedKey,
        limit: u32,
    ) -> Result<Vec<FeedChange>, RepositoryError>;

    /// Where the change at `position` sits, if it is still kept and is
    /// `topic`'s.
    async fn locate(
        &self,
        topic: &Topic,
        position: i64,
    ) -> Result<Option<FeedKey>, RepositoryError>;

    /// Forgets every change up to and including `through`; how many.
    async fn forget_through(&self, through: FeedKey) -> Result<u64, RepositoryError>;
}
