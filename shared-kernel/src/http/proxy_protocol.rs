//! The PROXY protocol header (HAProxy's, v1 text or v2 binary) a
//! connection from a trusted proxy may begin with, naming the client the
//! proxy accepted the connection from. Parsed by `ppp`; read here only far
//! enough to know whether there is one, so that the bytes after it (the
//! first request) go on to hyper.

use std::io;
use std::net::IpAddr;

use ppp::v1;
use ppp::v2;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// How a v1 header starts.
const V1_PREFIX: &[u8] = b"PROXY ";
/// The longest v1 header, its line end included.
const V1_MAX_LEN: usize = 107;
/// How a v2 header starts.
const V2_SIGNATURE: &[u8] = b"\r\n\r\n\0\r\nQUIT\n";
/// A v2 header's fixed part; its last two bytes give the length of the rest.
const V2_FIXED_LEN: usize = 16;
/// The longest v2 header taken (addresses and a few TLVs; proxies send
/// far less).
const V2_MAX_LEN: usize = 4096;

/// What a connection began with.
#[derive(Debug, Default)]
pub(super) struct Preamble {
    /// The client the header named; `None` without a header, or with one
    /// that names no address (a proxy's own health check: `LOCAL`,
    /// `UNKNOWN`).
    pub(super) source: Option<IpAddr>,
    /// What was read after the header: the start of the first request.
    pub(super) rest: Vec<u8>,
}

/// Reads a PROXY header if the connection begins with one; anything else
/// is handed back whole in [`Preamble::rest`]. A header that is malformed
/// or too long is an error: the connection is closed.
pub(super) async fn read_preamble(stream: &mut TcpStream) -> io::Result<Preamble> {
    let mut read = Vec::with_capacity(512);
    loop {
        match examine(&read)? {
            Some(preamble) => return Ok(preamble),
            None => {
                if stream.read_buf(&mut read).await? == 0 {
                    return Ok(Preamble {
                        source: None,
                        rest: read,
                    });
                }
            }
        }
    }
}

/// What the bytes so far say; `None` when more are needed to tell.
fn examine(read: &[u8]) -> io::Result<Option<Preamble>> {
    let plain = || {
        Some(Preamble {
            source: None,
            rest: read.to_vec(),
        })
    };
    if read.is_empty() {
        return Ok(None);
    }
    if could_start(read, V2_SIGNATURE) {
        return examine_v2(read);
    }
    if could_start(read, V1_PREFIX) {
        return examine_v1(read);
    }
    Ok(plain())
}

/// Whether `read` is, or begins with, a prefix of `signature`.
fn could_start(read: &[u8], signature: &[u8]) -> bool {
    let shared = read.len().min(signature.len());
    read.get(..shared) == signature.get(..shared)
}

fn examine_v1(read: &[u8]) -> io::Result<Option<Preamble>> {
    let Some(end) = read.windows(2).position(|pair| pair == b"\r\n") else {
        if read.len() >= V1_MAX_LEN {
            return Err(malformed("a PROXY v1 header without its line end"));
        }
        return Ok(None);
    };
    let (header, rest) = read.split_at(end + 2);
    let header = v1::Header::try_from(header)
        .map_err(|error| malformed(&format!("a malformed PROXY v1 header: {error}")))?;
    let source = match header.addresses {
        v1::Addresses::Tcp4(addresses) => Some(IpAddr::V4(addresses.source_address)),
        v1::Addresses::Tcp6(addresses) => Some(IpAddr::V6(addresses.source_address)),
        v1::Addresses::Unknown => None,
    };
    Ok(Some(Preamble {
        source,
        rest: rest.to_vec(),
    }))
}

fn examine_v2(read: &[u8]) -> io::Result<Option<Preamble>> {
    let Some(length) = read.get(V2_FIXED_LEN - 2..V2_FIXED_LEN) else {
        return Ok(None);
    };
    let total = V2_FIXED_LEN + usize::from(u16::from_be_bytes([length[0], length[1]]));
    if total > V2_MAX_LEN {
        return Err(malformed("a PROXY v2 header longer than 4 KiB"));
    }
    let Some(header) = read.get(..total) else {
        return Ok(None);
    };
    let parsed = v2::Header::try_from(header)
        .map_err(|error| malformed(&format!("a malformed PROXY v2 header: {error}")))?;
    let source = match (parsed.command, parsed.addresses) {
        (v2::Command::Proxy, v2::Addresses::IPv4(addresses)) => {
            Some(IpAddr::V4(addresses.source_address))
        }
        (v2::Command::Proxy, v2::Addresses::IPv6(addresses)) => {
            Some(IpAddr::V6(addresses.source_address))
        }
        _ => None,
    };
    Ok(Some(Preamble {
        source,
        rest: read.get(total..).unwrap_or_default().to_vec(),
    }))
}

fn malformed(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2_header(source: &str, destination: &str) -> Vec<u8> {
        let addresses: (std::net::SocketAddr, std::net::SocketAddr) = (
            source.parse().unwrap_or_else(|e| panic!("{e}")),
            destination.parse().unwrap_or_else(|e| panic!("{e}")),
        );
        v2::Builder::with_addresses(
            v2::Version::Two | v2::Command::Proxy,
            v2::Protocol::Stream,
            addresses,
        )
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_plain_request_is_handed_back_whole() {
        let request = b"GET / HTTP/1.1\r\n\r\n";
        let preamble = examine(request).ok().flatten();
        assert_eq!(
            preamble.map(|p| (p.source, p.rest)),
            Some((None, request.to_vec()))
        );
        // "P" could begin a v1 header: more bytes are needed to tell.
        assert!(examine(b"P").ok().is_some_and(|p| p.is_none()));
        assert!(examine(b"PRO").ok().is_some_and(|p| p.is_none()));
        assert!(examine(b"POST").ok().flatten().is_some());
    }

    #[test]
    fn a_v1_header_names_the_source_and_what_follows_is_kept() {
        let mut bytes = b"PROXY TCP4 203.0.113.9 10.0.0.2 51000 8080\r\n".to_vec();
        bytes.extend_from_slice(b"GET / HTTP/1.1\r\n");
        let preamble = examine(&bytes).ok().flatten();
        assert_eq!(
            preamble.map(|p| (p.source, p.rest)),
            Some((
                Some([203, 0, 113, 9].into()),
                b"GET / HTTP/1.1\r\n".to_vec()
            ))
        );
        let unknown = examine(b"PROXY UNKNOWN\r\n").ok().flatten();
        assert_eq!(unknown.map(|p| p.source), Some(None));
        assert!(examine(b"PROXY TCP4 nonsense\r\n").is_err());
        assert!(examine(&[b"PROXY ".as_slice(), &[b'x'; 200]].concat()).is_err());
    }

    #[test]
    fn a_v2_header_names_the_source_and_what_follows_is_kept() {
        let mut bytes = v2_header("[2001:db8::7]:51000", "[2001:db8::1]:8080");
        let whole = bytes.len();
        assert!(
            examine(bytes.get(..whole - 1).unwrap_or_default())
                .ok()
                .is_some_and(|p| p.is_none())
        );
        bytes.extend_from_slice(b"GET /");
        let preamble = examine(&bytes).ok().flatten();
        assert_eq!(
            preamble.map(|p| (p.source, p.rest)),
            Some((
                Some("2001:db8::7".parse().unwrap_or_else(|e| panic!("{e}"))),
                b"GET /".to_vec()
            ))
        );
    }
}
