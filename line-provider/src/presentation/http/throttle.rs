//! Failed operator calls, counted per client address: after too many in a
//! window, the address's further *failed* calls are answered 429 instead
//! of 401 until the window passes, and the refusals are logged at most
//! once a second, with how many were not. The right token is checked
//! before this table is even consulted, so it never refuses the operator:
//! a guesser (or everyone behind one proxy) cannot lock them out.
//!
//! Memory stays bounded whatever clients do: at most `max_clients`
//! addresses are tracked, a window is forgotten when it passes, and when
//! the table is full the oldest window makes room for the new one.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How many failures a client may make, over how long, and how many
/// clients are tracked at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Failed calls answered 401 in one window; the further ones get 429
    /// (at least 1).
    pub max_failures: u32,
    /// How long a window lasts from a client's first failure.
    pub window: Duration,
    /// How many client addresses are tracked at most.
    pub max_clients: usize,
}

/// Where a call came from, as far as throttling goes: an IPv4 address, an
/// IPv6 /64 network (one host usually has a whole /64 to pick addresses
/// from), or one shared bucket when the server did not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Client {
    /// The peer's address (an IPv6 one with its last 64 bits cleared).
    Address(IpAddr),
    /// The server did not say where the call came from.
    Unknown,
}

impl Client {
    /// The client calling from `address`, if the server knows it.
    pub(super) fn from_address(address: Option<IpAddr>) -> Self {
        address.map_or(Self::Unknown, Self::from_ip)
    }

    fn from_ip(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Self::Address(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::Address(IpAddr::V4(v4)),
                None => {
                    let network = u128::from(v6) & !u128::from(u64::MAX);
                    Self::Address(IpAddr::V6(network.into()))
                }
            },
        }
    }
}

impl std::fmt::Display for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Address(IpAddr::V6(network)) => write!(f, "{network}/64"),
            Self::Address(ip) => ip.fmt(f),
            Self::Unknown => f.write_str("unknown"),
        }
    }
}

/// One client's failures in its current window.
#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// The tracked clients. `order` lists them by window start, oldest first,
/// one entry per tracked client, so both expiry and eviction take the
/// front.
#[derive(Debug, Default)]
struct Table {
    windows: HashMap<Client, Window>,
    order: VecDeque<(Client, Instant)>,
}

/// Failed operator calls per client; see the module's documentation.
#[derive(Debug)]
pub(super) struct FailureThrottle {
    settings: ThrottleSettings,
    table: Mutex<Table>,
}

impl FailureThrottle {
    /// An empty table.
    pub(super) fn new(settings: ThrottleSettings) -> Self {
        Self {
            settings,
            table: Mutex::default(),
        }
    }

    /// Counts a failed call of `client` at `now`, and says whether the
    /// client has now used up its failures in the current window: then
    /// `Some` with how long until the window passes (the call is answered
    /// 429 instead of 401). Judged under one lock, so that concurrent
    /// calls cannot slip more 401s through than allowed. Only failed calls
    /// come here: a successful one is never counted nor refused.
    pub(super) fn fail(&self, client: Client, now: Instant) -> Option<Duration> {
        let mut table = self.table();
        self.forget_passed(&mut table, now);
        let window = self.record_failure(&mut table, client, now);
        (window.failures > self.settings.max_failures)
            .then(|| (window.started + self.settings.window).saturating_duration_since(now))
    }

    /// Counts a failed call of `client`.
    fn record_failure(&self, table: &mut Table, client: Client, now: Instant) -> Window {
        if let Some(window) = table.windows.get_mut(&client) {
            window.failures = window.failures.saturating_add(1);
            return *window;
        }
        while table.windows.len() >= self.settings.max_clients.max(1) {
            let Some((oldest, _)) = table.order.pop_front() else {
                break;
            };
            table.windows.remove(&oldest);
        }
        let window = Window {
            started: now,
            failures: 1,
        };
        table.windows.insert(client, window);
        table.order.push_back((client, now));
        window
    }

    /// Forgets the windows that have passed: they are at the front.
    fn forget_passed(&self, table: &mut Table, now: Instant) {
        while let Some(&(client, started)) = table.order.front() {
            if now.saturating_duration_since(started) < self.settings.window {
                break;
            }
            table.order.pop_front();
            table.windows.remove(&client);
        }
    }

    /// The table stays consistent even if a holder panicked: it is never
    /// left half-updated across a call that can panic.
    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        let table = self.table();
        assert_eq!(table.windows.len(), table.order.len());
        table.windows.len()
    }
}

/// Lets at most one log line through per interval and counts the others,
/// so that a flood of refused calls cannot fill the log.
#[derive(Debug)]
pub(super) struct LogLimiter {
    interval: Duration,
    state: Mutex<(Option<Instant>, u64)>,
}

impl LogLimiter {
    /// At most one line per `interval`.
    pub(super) fn new(interval: Duration) -> Self {
        Self {
            interval,
            state: Mutex::default(),
        }
    }

    /// `Some(suppressed)` when a line may be written now, with how many
    /// were held back since the last one; `None` (and one more held back)
    /// otherwise.
    pub(super) fn admit(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (last, suppressed) = &mut *state;
        match last {
            Some(last) if now.saturating_duration_since(*last) < self.interval => {
                *suppressed += 1;
                None
            }
            _ => {
                *last = Some(now);
                Some(std::mem::take(suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests;
