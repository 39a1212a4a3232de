//! `ETag` and `If-Match`: the event's version as a strong entity tag.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::header::{ETAG, IF_MATCH};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};

use crate::application::Precondition;

/// The `If-Match` header as a [`Precondition`].
#[derive(Debug, Clone)]
pub struct IfMatch(pub Precondition);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        let values: Vec<&str> = parts
            .headers
            .get_all(IF_MATCH)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        Ok(IfMatch(parse(&values)))
    }
}

/// Parses `If-Match` values. Only strong tags of the form `"<version>"`
/// can match (RFC 9110 uses strong comparison here); weak or malformed
/// tags are kept as a condition nothing satisfies, so they answer 412.
fn parse(values: &[&str]) -> Precondition {
    if values.is_empty() {
        return Precondition::None;
    }
    let tags: Vec<&str> = values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    if tags.contains(&"*") {
        return Precondition::Any;
    }
    Precondition::Versions(
        tags.iter()
            .filter_map(|tag| tag.strip_prefix('"')?.strip_suffix('"')?.parse().ok())
            .collect(),
    )
}

/// The `ETag` header for an event at `version`.
pub fn etag(version: i64) -> (HeaderName, HeaderValue) {
    let value = HeaderValue::from_str(&format!("\"{version}\""))
        .unwrap_or(HeaderValue::from_static("\"0\""));
    (ETAG, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_forms_of_if_match() {
        assert_eq!(parse(&[]), Precondition::None);
        assert_eq!(parse(&["*"]), Precondition::Any);
        assert_eq!(parse(&["\"3\""]), Precondition::Versions(vec![3]));
        assert_eq!(
            parse(&["\"3\", \"4\"", "\"7\""]),
            Precondition::Versions(vec![3, 4, 7])
        );
        assert_eq!(parse(&["W/\"3\""]), Precondition::Versions(vec![]));
        assert_eq!(parse(&["3"]), Precondition::Versions(vec![]));
    }
}
