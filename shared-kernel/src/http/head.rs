//! The limits of a request head (its line and headers), counted on the
//! bytes as they arrive, and the 431 problem document sent when a head
//! goes beyond them.

use axum::http::StatusCode;

use super::{PROBLEM_JSON, Problem};

/// Largest request line plus headers, in bytes.
pub const MAX_HEAD_BYTES: usize = 32 * 1024;
/// Most header lines a request may have.
pub const MAX_HEADERS: usize = 100;
/// hyper's own header limit, above ours so that ours answers first.
pub(super) const HYPER_MAX_HEADERS: usize = MAX_HEADERS + 28;

/// Counts a request head's bytes and lines until its blank line.
#[derive(Debug, Default)]
pub(super) struct HeadScan {
    bytes: usize,
    lines: usize,
    /// 1 right after a `\n`, 2 after `\n\r`: a `\n` now ends the head.
    after_newline: u8,
    pub(super) complete: bool,
}

impl HeadScan {
    /// Feeds bytes; `false` when the head is over a limit.
    pub(super) fn feed(&mut self, bytes: &[u8]) -> bool {
        for &byte in bytes {
            if self.complete {
                return true;
            }
            self.bytes += 1;
            match (byte, self.after_newline) {
                (b'\n', 0) => {
                    self.lines += 1;
                    self.after_newline = 1;
                }
                (b'\n', _) => self.complete = true,
                (b'\r', 1) => self.after_newline = 2,
                (b'\r', _) => {}
                _ => self.after_newline = 0,
            }
            if !self.complete && (self.bytes > MAX_HEAD_BYTES || self.lines > MAX_HEADERS + 1) {
                return false;
            }
        }
        true
    }
}

/// The 431 problem document as raw HTTP/1.1, for the connection to close on.
pub(super) fn header_too_large_response() -> Vec<u8> {
    let problem = Problem::new(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "header-too-large",
        "Request header fields too large",
        format!(
            "the request line and headers must fit in {MAX_HEAD_BYTES} bytes and \
             {MAX_HEADERS} header lines"
        ),
    );
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut response = format!(
        "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: {}\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        PROBLEM_JSON,
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(&body);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_ends_at_its_blank_line_whatever_the_line_ends() {
        for head in [
            &b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"[..],
            b"GET / HTTP/1.1\nHost: a\n\n",
        ] {
            let mut scan = HeadScan::default();
            assert!(scan.feed(head));
            assert!(scan.complete, "{head:?}");
        }
        let mut scan = HeadScan::default();
        assert!(scan.feed(b"GET / HTTP/1.1\r\nHost: a\r\n"));
        assert!(!scan.complete);
    }

    #[test]
    fn a_head_over_the_byte_or_line_limit_is_refused() {
        let mut scan = HeadScan::default();
        assert!(!scan.feed(&vec![b'x'; MAX_HEAD_BYTES + 1]));
        let mut scan = HeadScan::default();
        assert!(!scan.feed("X: y\r\n".repeat(MAX_HEADERS + 2).as_bytes()));
        let mut scan = HeadScan::default();
        let mut head = "GET / HTTP/1.1\r\n".to_owned();
        head.push_str(&"X: y\r\n".repeat(MAX_HEADERS));
        head.push_str("\r\n");
        assert!(scan.feed(head.as_bytes()));
        assert!(scan.complete);
    }

    #[test]
    fn a_body_after_the_head_is_not_counted() {
        let mut scan = HeadScan::default();
        let mut request = b"POST / HTTP/1.1\r\n\r\n".to_vec();
        request.extend(vec![b'x'; MAX_HEAD_BYTES * 2]);
        assert!(scan.feed(&request));
    }
}
