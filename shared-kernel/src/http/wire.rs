//! Ids and instants as request DTOs read them, with rejections that say
//! what is expected.
//!
//! `uuid` and `chrono` reject bad text in their own words ("UUID parsing
//! failed: invalid character: found `n` at 0", "premature end of input"),
//! and serde hands those words on as plain text that nothing can match on.
//! These types read the same values and, when the text is wrong, say what a
//! client should send instead. They serialize exactly as the types they
//! wrap. In OpenAPI, annotate a field `#[schema(value_type = uuid::Uuid)]`
//! or `#[schema(value_type = chrono::DateTime<chrono::Utc>)]` (`#[param]` in
//! `IntoParams`), so the document is unchanged.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// What a client hears when an id is not a UUID.
pub const NOT_A_UUID: &str = "must be a UUID";

/// What a client hears when an instant is not RFC 3339 with a time zone.
pub const NOT_A_DATE_TIME: &str =
    "must be an RFC 3339 date-time with a time zone, like 2030-06-01T18:00:00Z";

/// A UUID in a path, query or body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WireUuid(pub Uuid);

/// An instant in a query or body: RFC 3339 with a time zone (`Z` or an
/// offset), kept in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WireDateTime(pub DateTime<Utc>);

impl WireUuid {
    /// Reads the text form (hyphenated, simple, braced or URN).
    pub fn parse(text: &str) -> Result<Self, WireUuidError> {
        Uuid::parse_str(text).map(Self).map_err(|_| WireUuidError)
    }
}

impl WireDateTime {
    /// Reads an RFC 3339 date-time; one without a time zone is refused,
    /// since which instant it means would be a guess.
    pub fn parse(text: &str) -> Result<Self, WireDateTimeError> {
        DateTime::parse_from_rfc3339(text)
            .map(|instant| Self(instant.with_timezone(&Utc)))
            .map_err(|_| WireDateTimeError)
    }
}

/// The text is not a UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", NOT_A_UUID)]
pub struct WireUuidError;

/// The text is not an RFC 3339 date-time with a time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", NOT_A_DATE_TIME)]
pub struct WireDateTimeError;

impl From<WireUuid> for Uuid {
    fn from(value: WireUuid) -> Self {
        value.0
    }
}

impl From<WireDateTime> for DateTime<Utc> {
    fn from(value: WireDateTime) -> Self {
        value.0
    }
}

impl Serialize for WireUuid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl Serialize for WireDateTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for WireUuid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TextVisitor {
            expecting: "a UUID",
            parse: WireUuid::parse,
        })
    }
}

impl<'de> Deserialize<'de> for WireDateTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TextVisitor {
            expecting: "an RFC 3339 date-time with a time zone",
            parse: WireDateTime::parse,
        })
    }
}

/// Reads a string with `parse`; anything but a string is refused as
/// "invalid type: ..., expected <expecting>".
struct TextVisitor<T, E> {
    expecting: &'static str,
    parse: fn(&str) -> Result<T, E>,
}

impl<T, Problem: fmt::Display> Visitor<'_> for TextVisitor<T, Problem> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        (self.parse)(text).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn a_bad_uuid_says_what_is_expected() {
        let error = read::<WireUuid>(r#""not-a-uuid""#)
            .err()
            .unwrap_or_default();
        assert!(error.starts_with(NOT_A_UUID), "{error}");
        let error = read::<WireUuid>(r#""0190a4c2-7d0e-7000-8000-00000000000g""#)
            .err()
            .unwrap_or_default();
        assert!(error.starts_with(NOT_A_UUID), "{error}");
    }

    #[test]
    fn a_date_time_without_a_time_zone_says_what_is_expected() {
        for bad in [
            r#""2030-06-01T18:00:00""#,
            r#""2030-06-01""#,
            r#""tomorrow""#,
        ] {
            let error = read::<WireDateTime>(bad).err().unwrap_or_default();
            assert!(error.starts_with(NOT_A_DATE_TIME), "{bad}: {error}");
        }
    }

    #[test]
    fn good_values_round_trip_as_the_types_they_wrap() {
        let id = Uuid::now_v7();
        let read_id = read::<WireUuid>(&format!(r#""{id}""#)).map(Uuid::from);
        assert_eq!(read_id, Ok(id));
        let instant = read::<WireDateTime>(r#""2030-06-01T20:00:00+02:00""#);
        let expected = read::<DateTime<Utc>>(r#""2030-06-01T18:00:00Z""#);
        assert_eq!(instant.clone().map(DateTime::from), expected);
        let written = instant.map(|i| serde_json::to_string(&i).unwrap_or_default());
        assert_eq!(written, Ok(r#""2030-06-01T18:00:00Z""#.to_owned()));
    }

    #[test]
    fn the_parse_errors_say_what_is_expected() {
        let error = WireUuid::parse("n").err().map(|e| e.to_string());
        assert_eq!(error.as_deref(), Some(NOT_A_UUID));
        let error = WireDateTime::parse("2030-06-01T18:00")
            .err()
            .map(|e| e.to_string());
        assert_eq!(error.as_deref(), Some(NOT_A_DATE_TIME));
    }
}
