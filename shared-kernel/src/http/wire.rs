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

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// What a client hears when an id is not a UUID.
pub const NOT_A_UUID: &str = "must be a UUID";

/// What a client hears when an instant is not RFC 3339 with a time zone.
pub const NOT_A_DATE_TIME: &str =
    "must be an RFC 3339 date-time with a time zone, like 2030-06-01T18:00:00Z";

/// What a client hears when an instant names a leap second (`:60`), which
/// the platform cannot store, compare or announce as written.
pub const A_LEAP_SECOND: &str =
    "must not be a leap second: seconds run from 00 to 59, like 2030-06-01T18:00:00Z";

/// What a client hears when an instant falls outside the years RFC 3339
/// can write with four digits (checked in UTC, the form it is kept in).
pub const YEAR_OUT_OF_RANGE: &str = "must fall in the years 0001 to 9999 (UTC)";

/// A UUID in a path, query or body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WireUuid(pub Uuid);

/// An instant in a query or body: RFC 3339 with a time zone (`Z` or an
/// offset), kept in UTC, in the years 0001 to 9999 and without a leap
/// second, so that it is written back, stored and announced exactly as
/// it was read.
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
    ///
    /// chrono accepts `:60` at any minute and keeps it as a second that
    /// PostgreSQL turns into the next minute, and an offset can carry
    /// `9999-12-31T23:00:00-02:00` into year 10000, which is written back
    /// as `+10000-...`, not RFC 3339. Both are refused, so there is one
    /// instant from the request to the message.
    pub fn parse(text: &str) -> Result<Self, WireDateTimeError> {
        let instant =
            DateTime::parse_from_rfc3339(text).map_err(|_| WireDateTimeError::Malformed)?;
        // chrono keeps a leap second as a nanosecond count of a second or more.
        if instant.nanosecond() >= 1_000_000_000 {
            return Err(WireDateTimeError::LeapSecond);
        }
        let instant = instant.with_timezone(&Utc);
        if !(1..=9999).contains(&instant.year()) {
            return Err(WireDateTimeError::YearOutOfRange);
        }
        Ok(Self(instant))
    }
}

/// The text is not a UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", NOT_A_UUID)]
pub struct WireUuidError;

/// Why a text is not an instant the platform accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireDateTimeError {
    /// Not an RFC 3339 date-time with a time zone.
    #[error("{}", NOT_A_DATE_TIME)]
    Malformed,
    /// A leap second (`:60`).
    #[error("{}", A_LEAP_SECOND)]
    LeapSecond,
    /// Before year 0001 or after year 9999 once in UTC.
    #[error("{}", YEAR_OUT_OF_RANGE)]
    YearOutOfRange,
}

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
    fn a_leap_second_is_refused_at_any_minute() {
        for text in [
            "2030-06-01T12:00:60Z",
            "2030-06-30T23:59:60Z",
            "2030-06-01T12:00:60.5Z",
            "2030-06-01T14:00:60+02:00",
        ] {
            assert_eq!(
                WireDateTime::parse(text),
                Err(WireDateTimeError::LeapSecond),
                "{text}"
            );
        }
        let error = read::<WireDateTime>(r#""2030-06-01T12:00:60Z""#)
            .err()
            .unwrap_or_default();
        assert!(error.starts_with(A_LEAP_SECOND), "{error}");
        assert!(WireDateTime::parse("2030-06-01T12:00:59.999999999Z").is_ok());
    }

    #[test]
    fn years_outside_0001_to_9999_in_utc_are_refused() {
        for text in [
            "9999-12-31T23:00:00-02:00",
            "0001-01-01T00:30:00+01:00",
            "0000-06-01T12:00:00Z",
        ] {
            assert_eq!(
                WireDateTime::parse(text),
                Err(WireDateTimeError::YearOutOfRange),
                "{text}"
            );
        }
        // Five-digit or signed years are not RFC 3339 at all.
        for text in ["10000-01-01T00:00:00Z", "+10000-01-01T00:00:00Z"] {
            assert_eq!(
                WireDateTime::parse(text),
                Err(WireDateTimeError::Malformed),
                "{text}"
            );
        }
        let error = read::<WireDateTime>(r#""9999-12-31T23:59:59-00:01""#)
            .err()
            .unwrap_or_default();
        assert!(error.starts_with(YEAR_OUT_OF_RANGE), "{error}");
    }

    #[test]
    fn the_first_and_last_instants_of_the_range_round_trip() {
        for text in ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z"] {
            let instant = WireDateTime::parse(text).map(|i| serde_json::to_string(&i).ok());
            assert_eq!(instant, Ok(Some(format!(r#""{text}""#))), "{text}");
        }
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
