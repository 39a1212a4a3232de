//! The optional `Idempotency-Key` header of `POST /bets`.

use axum::extract::FromRequestParts;
use axum::http::HeaderValue;
use axum::http::request::Parts;
use shared_kernel::http::{FieldError, Problem, field_errors};
use validator::{Validate, ValidationError};

/// The header's name, as clients write it and as problems name it.
pub const HEADER: &str = "Idempotency-Key";

/// The header's structural rules: 1 to 255 visible ASCII characters.
#[derive(Debug, Validate)]
struct KeyRules<'a> {
    #[validate(
        length(min = 1, max = 255, message = "must be 1 to 255 characters long"),
        custom(function = "visible_ascii")
    )]
    key: &'a str,
}

fn visible_ascii(key: &str) -> Result<(), ValidationError> {
    if key.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(ValidationError::new("visible_ascii")
            .with_message("must be visible ASCII characters only (no spaces)".into()))
    }
}

/// The optional `Idempotency-Key` header: 1 to 255 visible ASCII
/// characters. A malformed one is a 400 naming the header.
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub Option<String>);

impl IdempotencyKey {
    /// Checks a header value; the problem lists every rule it breaks.
    pub fn parse(value: &HeaderValue) -> Result<Self, Problem> {
        // Not valid UTF-8 is not ASCII either: the lossy text fails the rule.
        let key = String::from_utf8_lossy(value.as_bytes());
        match (KeyRules { key: &key }).validate() {
            Ok(()) => Ok(Self(Some(key.into_owned()))),
            Err(errors) => Err(Problem::bad_parameters(
                field_errors(&errors)
                    .into_iter()
                    .map(|error| FieldError::new(HEADER, error.message))
                    .collect(),
            )),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        match parts.headers.get(HEADER) {
            Some(value) => Self::parse(value),
            None => Ok(Self(None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(value: &[u8]) -> Vec<String> {
        let value = HeaderValue::from_bytes(value).unwrap_or_else(|e| panic!("{e}"));
        match IdempotencyKey::parse(&value) {
            Ok(_) => Vec::new(),
            Err(problem) => problem
                .errors
                .into_iter()
                .inspect(|error| assert_eq!(error.field, HEADER))
                .map(|error| error.message)
                .collect(),
        }
    }

    #[test]
    fn a_key_of_1_to_255_visible_characters_is_accepted() {
        assert!(messages(b"k").is_empty());
        assert!(messages("k".repeat(255).as_bytes()).is_empty());
    }

    #[test]
    fn every_rule_a_key_breaks_is_listed() {
        assert_eq!(messages(b""), ["must be 1 to 255 characters long"]);
        assert_eq!(
            messages(b"my key"),
            ["must be visible ASCII characters only (no spaces)"]
        );
        assert_eq!(
            messages(format!("{} x", "k".repeat(255)).as_bytes()).len(),
            2
        );
        assert_eq!(messages("cl\u{e9}".as_bytes()).len(), 1);
    }
}
