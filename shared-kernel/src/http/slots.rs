//! Per-client caps: how many connections, or live streams, one client may
//! have open at once (`HTTP_MAX_CONNECTIONS_PER_CLIENT`). A slot is a
//! guard: dropped (the connection closed, the stream's body dropped when
//! its client left), it frees its place, and a client with nothing open
//! has no entry left, so the map holds at most one entry per open slot.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::http::{HeaderValue, StatusCode, header};

use super::{ClientAddress, Problem};

/// What a refused client is told to wait before trying again, in seconds.
const RETRY_AFTER_SECS: &str = "1";

/// Open slots by client, at most `limit` each.
#[derive(Debug, Clone)]
pub(super) struct ClientSlots {
    limit: u32,
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

/// One client's place, freed on drop.
#[derive(Debug)]
pub(super) struct ClientSlot {
    client: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

impl ClientSlots {
    pub(super) fn new(limit: u32) -> Self {
        Self {
            limit,
            open: Arc::default(),
        }
    }

    /// A place for `client`; `None` when it has `limit` open already.
    pub(super) fn try_acquire(&self, client: IpAddr) -> Option<ClientSlot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(client).or_insert(0);
        if *count >= self.limit {
            if *count == 0 {
                open.remove(&client);
            }
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            client,
            open: Arc::clone(&self.open),
        })
    }

    /// Clients with at least one slot open.
    fn clients(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.client) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// The live streams each client has open, at most
/// `HTTP_MAX_CONNECTIONS_PER_CLIENT` each: a stream handler
/// [`acquire`](Self::acquire)s a slot for its client before it starts and
/// keeps it in the stream's body, so that the slot is freed when the
/// client goes (or the stream ends). Clones share the counts.
#[derive(Debug, Clone)]
pub struct StreamSlots(ClientSlots);

/// One open stream's place; dropping it frees the place.
#[derive(Debug)]
pub struct StreamSlot(#[allow(dead_code)] ClientSlot);

impl StreamSlots {
    /// At most `limit` streams open per client.
    pub fn new(limit: u32) -> Self {
        Self(ClientSlots::new(limit))
    }

    /// A place for one more stream of `client`, or 429
    /// `too-many-streams` with `Retry-After` when it has the most open.
    pub fn acquire(&self, client: ClientAddress) -> Result<StreamSlot, Problem> {
        self.0.try_acquire(client.0).map(StreamSlot).ok_or_else(|| {
            metrics::counter!("http_clients_refused_total", "reason" => "streams").increment(1);
            too_many(
                "too-many-streams",
                "Too many streams",
                format!(
                    "this client has {} live streams open, the most it may; close one first",
                    self.0.limit
                ),
            )
        })
    }

    /// Clients with at least one stream open (entries are removed at
    /// zero, so this is also the size of the map).
    pub fn clients(&self) -> usize {
        self.0.clients()
    }
}

/// 429 with `Retry-After`.
pub(super) fn too_many(slug: &'static str, title: &'static str, detail: String) -> Problem {
    Problem::new(StatusCode::TOO_MANY_REQUESTS, slug, title, detail).with_header(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECS),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(last: u8) -> ClientAddress {
        ClientAddress(IpAddr::from([192, 0, 2, last]))
    }

    #[test]
    fn a_client_gets_at_most_the_limit_and_a_freed_slot_is_free_again() {
        let slots = StreamSlots::new(2);
        let first = slots.acquire(client(1));
        let second = slots.acquire(client(1));
        assert!(first.is_ok() && second.is_ok());
        let refused = slots.acquire(client(1)).err();
        assert_eq!(
            refused.as_ref().map(|p| p.status),
            Some(StatusCode::TOO_MANY_REQUESTS)
        );
        assert_eq!(refused.map(|p| p.slug), Some("too-many-streams"));
        assert!(
            slots.acquire(client(2)).is_ok(),
            "another client is not held back"
        );
        drop(first);
        assert!(slots.acquire(client(1)).is_ok());
    }

    #[test]
    fn a_client_with_nothing_open_leaves_no_entry() {
        let slots = StreamSlots::new(3);
        let held: Vec<_> = (0..50)
            .filter_map(|n| slots.acquire(client(n)).ok())
            .collect();
        assert_eq!(slots.clients(), 50);
        drop(held);
        assert_eq!(slots.clients(), 0);
    }
}
