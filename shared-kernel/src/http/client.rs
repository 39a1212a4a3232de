//! Who the client of a request is: the TCP peer, unless the peer is a
//! proxy trusted by `HTTP_TRUSTED_PROXIES`; then the PROXY protocol header
//! the connection began with ([`super::proxy_protocol`]) and the
//! request's `X-Forwarded-For` name it.
//!
//! An untrusted peer's word is never taken: anyone can write
//! `X-Forwarded-For: 10.0.0.1`, so reading it from anyone would let a
//! client pose as any other (and, say, use up another's share of a cap).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use super::Problem;

/// The client a request came from, as the server decided it (see the
/// module documentation): a request extension the server inserts into
/// every request, and an extractor for handlers.
///
/// Use it, not `ConnectInfo`, for anything decided per client (throttles,
/// caps, audit lines): behind a trusted proxy every request's peer is the
/// proxy. Outside the server (a router called directly, as some tests
/// do) it falls back to `ConnectInfo`'s address when there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddress(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        if let Some(client) = parts.extensions.get::<Self>() {
            return Ok(*client);
        }
        if let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            return Ok(Self(canonical(peer.ip())));
        }
        tracing::error!("a request reached a handler without its client's address");
        Err(Problem::internal())
    }
}

/// The networks `HTTP_TRUSTED_PROXIES` names; empty (the default) when no
/// peer is trusted to name another client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    /// Whether `address` is one of the trusted proxies.
    pub fn trust(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.0.iter().any(|network| network.contains(&address))
    }

    /// The client of a request that reached us from `hop` (the
    /// connection's client: its peer, or the source its PROXY header
    /// named) with `headers`: while the hop is a trusted proxy, the next
    /// address to the left in `X-Forwarded-For` (every such header, in
    /// order) is the one it speaks for. An entry that is not an address
    /// ends the walk: the last hop read is the client.
    pub fn client_of(&self, hop: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(hop);
        if !self.trust(client) {
            return client;
        }
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect();
        for entry in forwarded.into_iter().rev() {
            let Some(next) = forwarded_address(entry) else {
                break;
            };
            client = next;
            if !self.trust(client) {
                break;
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry: an address, with a port or in brackets as
/// some proxies write them.
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let bare = entry
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(entry);
    bare.parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .map(canonical)
}

/// IPv4 addresses seen through an IPv6 socket (`::ffff:192.0.2.7`) as the
/// IPv4 addresses they are, so that one client has one address.
pub(super) fn canonical(address: IpAddr) -> IpAddr {
    address.to_canonical()
}

/// An entry of `HTTP_TRUSTED_PROXIES` is not a CIDR or an address.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a network: write an address (192.0.2.7) or a CIDR (10.0.0.0/8, fd00::/8)")]
pub struct TrustedProxyError(String);

/// Comma-separated CIDRs or single addresses; blank entries are none.
pub(super) fn parse_trusted_proxies(text: &str) -> Result<TrustedProxies, TrustedProxyError> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map(|network| network.trunc())
                .map_err(|_| TrustedProxyError(entry.to_owned()))
        })
        .collect::<Result<_, _>>()
        .map(TrustedProxies)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn proxies(text: &str) -> TrustedProxies {
        parse_trusted_proxies(text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                "x-forwarded-for",
                HeaderValue::from_str(value).unwrap_or_else(|e| panic!("{e}")),
            );
        }
        headers
    }

    #[test]
    fn cidrs_and_addresses_are_read_and_anything_else_is_refused() {
        let read = proxies(" 10.0.0.0/8 , 192.0.2.7,fd00::/8 ");
        assert!(read.trust(ip("10.1.2.3")));
        assert!(read.trust(ip("192.0.2.7")));
        assert!(!read.trust(ip("192.0.2.8")));
        assert!(read.trust(ip("fd00::1")));
        assert!(
            read.trust(ip("::ffff:10.9.9.9")),
            "an IPv4 address seen as IPv6"
        );
        assert_eq!(proxies(""), TrustedProxies::default());
        for bad in ["10.0.0.0/33", "proxy.example.com", "10.0.0.0/8,*"] {
            assert!(parse_trusted_proxies(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_untrusted_peers_forwarded_for_is_ignored() {
        let trusted = proxies("10.0.0.0/8");
        let headers = forwarded(&["203.0.113.9"]);
        assert_eq!(
            trusted.client_of(ip("198.51.100.1"), &headers),
            ip("198.51.100.1")
        );
        assert_eq!(
            TrustedProxies::default().client_of(ip("10.0.0.1"), &headers),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn a_trusted_peer_names_the_rightmost_address_that_is_not_a_proxy() {
        let trusted = proxies("10.0.0.0/8");
        // The client forged the first entry; the proxies appended the rest.
        let headers = forwarded(&["1.1.1.1, 203.0.113.9", "10.0.0.5"]);
        assert_eq!(
            trusted.client_of(ip("10.0.0.1"), &headers),
            ip("203.0.113.9")
        );
        let with_ports = forwarded(&["[2001:db8::1]:4711", "203.0.113.9:80"]);
        assert_eq!(
            trusted.client_of(ip("10.0.0.1"), &with_ports),
            ip("203.0.113.9")
        );
        assert_eq!(
            trusted.client_of(ip("10.0.0.1"), &forwarded(&["[2001:db8::1]"])),
            ip("2001:db8::1")
        );
        // Nothing forwarded, or only proxies: the last proxy is the client.
        assert_eq!(
            trusted.client_of(ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
        assert_eq!(
            trusted.client_of(ip("10.0.0.1"), &forwarded(&["10.0.0.2"])),
            ip("10.0.0.2")
        );
        // Garbage ends the walk at the last address read.
        assert_eq!(
            trusted.client_of(ip("10.0.0.1"), &forwarded(&["unknown, 10.0.0.3"])),
            ip("10.0.0.3")
        );
    }
}
