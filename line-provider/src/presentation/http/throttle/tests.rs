use std::net::{Ipv4Addr, Ipv6Addr};

use super::*;

const WINDOW: Duration = Duration::from_secs(60);

fn throttle(max_failures: u32, max_clients: usize) -> FailureThrottle {
    FailureThrottle::new(ThrottleSettings {
        max_failures,
        window: WINDOW,
        max_clients,
    })
}

/// Whether `client`'s next failed call at `now` is throttled (it counts).
fn refusal(throttle: &FailureThrottle, client: Client, now: Instant) -> Option<Duration> {
    throttle.fail(client, now)
}

/// A failed call of `client` at `now`.
fn fail(throttle: &FailureThrottle, client: Client, now: Instant) {
    let _ = throttle.fail(client, now);
}

fn client(last: u8) -> Client {
    Client::from_ip(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)))
}

#[test]
fn a_client_s_failures_are_throttled_past_the_limit_until_the_window_passes() {
    let throttle = throttle(3, 100);
    let start = Instant::now();
    for _ in 0..3 {
        assert_eq!(refusal(&throttle, client(1), start), None, "401s first");
    }

    let later = start + Duration::from_secs(20);
    assert_eq!(
        refusal(&throttle, client(1), later),
        Some(Duration::from_secs(40)),
        "throttled for the rest of the window"
    );
    assert_eq!(refusal(&throttle, client(2), later), None, "others are not");
    assert_eq!(refusal(&throttle, client(1), start + WINDOW), None);
    assert_eq!(throttle.tracked(), 2, "a passed window is forgotten");
}

#[test]
fn the_table_never_outgrows_its_cap_and_evicts_the_oldest_window() {
    let throttle = throttle(1, 3);
    let start = Instant::now();
    for (i, last) in (1..=10).enumerate() {
        fail(
            &throttle,
            client(last),
            start + Duration::from_millis(i as u64),
        );
        assert!(throttle.tracked() <= 3);
    }
    let now = start + Duration::from_secs(1);

    assert!(refusal(&throttle, client(10), now).is_some(), "kept");
    assert_eq!(refusal(&throttle, client(1), now), None, "evicted");
    assert_eq!(throttle.tracked(), 3);
}

#[test]
fn a_new_window_starts_after_the_old_one_passed() {
    let throttle = throttle(2, 100);
    let start = Instant::now();
    fail(&throttle, client(1), start);
    fail(&throttle, client(1), start);
    let next = start + WINDOW + Duration::from_secs(1);

    assert_eq!(
        refusal(&throttle, client(1), next),
        None,
        "one failure so far"
    );
    fail(&throttle, client(1), next);
    assert_eq!(refusal(&throttle, client(1), next), Some(WINDOW));
    assert_eq!(throttle.tracked(), 1);
}

#[test]
fn an_ipv6_host_is_one_client_per_64_network_and_mapped_ipv4_is_ipv4() {
    let a: Ipv6Addr = "2001:db8:1:2:aaaa::1"
        .parse()
        .unwrap_or(Ipv6Addr::LOCALHOST);
    let b: Ipv6Addr = "2001:db8:1:2:bbbb::2"
        .parse()
        .unwrap_or(Ipv6Addr::LOCALHOST);
    let other: Ipv6Addr = "2001:db8:1:3::1".parse().unwrap_or(Ipv6Addr::LOCALHOST);

    assert_eq!(Client::from_ip(a.into()), Client::from_ip(b.into()));
    assert_ne!(Client::from_ip(a.into()), Client::from_ip(other.into()));
    assert_eq!(Client::from_ip(a.into()).to_string(), "2001:db8:1:2::/64");
    let mapped = Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped();
    assert_eq!(Client::from_ip(mapped.into()), client(1));
}

#[test]
fn without_an_address_every_call_is_the_unknown_client() {
    assert_eq!(Client::from_address(None), Client::Unknown);
    assert_eq!(
        Client::from_address(Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))),
        client(1)
    );
}

#[test]
fn the_log_lets_one_line_through_per_interval_and_counts_the_rest() {
    let limiter = LogLimiter::new(Duration::from_secs(1));
    let start = Instant::now();

    assert_eq!(limiter.admit(start), Some(0));
    for i in 1..=999 {
        assert_eq!(limiter.admit(start + Duration::from_micros(i)), None);
    }
    assert_eq!(limiter.admit(start + Duration::from_secs(1)), Some(999));
    assert_eq!(limiter.admit(start + Duration::from_millis(1001)), None);
}
