//! Exact decimals on the wire.
//!
//! Money and odds cross the wire as [`WireDecimal`]: written as a JSON string
//! with exactly two decimals (`"10.50"`), read from a string or a JSON number
//! whose *text* is parsed exactly. There is no float anywhere on the way:
//! serde_json's `arbitrary_precision` feature hands the number's literal text
//! to [`WireDecimal::parse`], so `0.30000000000000004` is seen as written and
//! rejected rather than silently rounded.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Digits allowed before the decimal point. Sixteen covers every amount the
/// platform accepts (no limit is above 10^15) and keeps far away from the 28
/// significant digits `Decimal` can hold, so parsing can never overflow.
const MAX_INTEGER_DIGITS: usize = 16;

/// Decimal places allowed on the wire.
pub const SCALE: u32 = 2;

/// Why a text is not an exact two-decimal number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireDecimalError {
    /// Empty string, letters, exponents, `NaN`, signs other than a leading
    /// minus, or a point without digits on both sides.
    #[error("must be a decimal number written with digits and an optional point, like \"10.50\"")]
    Malformed,
    /// More than two digits after the point, `0.30000000000000004` included.
    #[error("must have at most 2 decimal places")]
    TooManyDecimals,
    /// More integer digits than any amount the platform handles.
    #[error("is too large")]
    TooLarge,
}

/// A decimal with at most two places, parsed exactly from its text.
///
/// This is the wire shape only; domain value objects (`Coefficient`,
/// `BetSum`) add their own rules on top of the `Decimal` it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WireDecimal(Decimal);

impl WireDecimal {
    /// Parses `text` exactly: an optional leading `-`, digits, and optionally
    /// a point followed by one or two digits. Anything else is rejected.
    pub fn parse(text: &str) -> Result<Self, WireDecimalError> {
        let unsigned = text.strip_prefix('-').unwrap_or(text);
        let (integer, fraction) = match unsigned.split_once('.') {
            Some((integer, fraction)) => (integer, Some(fraction)),
            None => (unsigned, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(integer) || fraction.is_some_and(|f| !all_digits(f)) {
            return Err(WireDecimalError::Malformed);
        }
        if fraction.is_some_and(|f| f.len() > SCALE as usize) {
            return Err(WireDecimalError::TooManyDecimals);
        }
        if integer.trim_start_matches('0').len() > MAX_INTEGER_DIGITS {
            return Err(WireDecimalError::TooLarge);
        }
        // The text is now a plain decimal of bounded size: this cannot fail,
        // but a typed error is still better than a panic if it ever did.
        Decimal::from_str(text)
            .map(Self::from_decimal_exact)
            .map_err(|_| WireDecimalError::Malformed)
    }

    /// Wraps a decimal that already has at most two places; more places are
    /// rounded half-up, which never happens for values built by [`parse`].
    ///
    /// [`parse`]: WireDecimal::parse
    pub fn from_decimal_exact(value: Decimal) -> Self {
        let mut value = value
            .round_dp_with_strategy(SCALE, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        value.rescale(SCALE);
        Self(value)
    }

    /// The exact value.
    pub fn value(self) -> Decimal {
        self.0
    }
}

impl From<WireDecimal> for Decimal {
    fn from(value: WireDecimal) -> Self {
        value.0
    }
}

impl fmt::Display for WireDecimal {
    /// Always two decimals: `10.50`, `2.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut value = self.0;
        value.rescale(SCALE);
        fmt::Display::fmt(&value, f)
    }
}

impl FromStr for WireDecimal {
    type Err = WireDecimalError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl Serialize for WireDecimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for WireDecimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(WireDecimalVisitor)
    }
}

struct WireDecimalVisitor;

impl<'de> Visitor<'de> for WireDecimalVisitor {
    type Value = WireDecimal;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal with at most 2 places, as a string or a number")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<WireDecimal, E> {
        WireDecimal::parse(text).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<WireDecimal, E> {
        self.visit_str(&value.to_string())
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<WireDecimal, E> {
        self.visit_str(&value.to_string())
    }

    /// serde_json with `arbitrary_precision` presents a number as a one-entry
    /// map `{"$serde_json::private::Number": <its text>}`. A client can send
    /// that very object, and `serde_json::Number` would take it for a
    /// number; what tells them apart is how the text arrives: a real number
    /// hands over an owned `String` (`visit_string`), while serde_json reads
    /// a JSON string as borrowed or copied text (`visit_borrowed_str`,
    /// `visit_str`), never as `visit_string`. Any other map, and that
    /// object, are refused in the same words as any other wrong type.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WireDecimal, A::Error> {
        let not_a_decimal =
            |expected: &Self| de::Error::invalid_type(de::Unexpected::Map, expected);
        if map.next_key::<String>()?.as_deref() != Some(NUMBER_TOKEN) {
            return Err(not_a_decimal(&self));
        }
        let NumberText(text) = map.next_value()?;
        let only_entry = map.next_key::<de::IgnoredAny>()?.is_none();
        match text {
            Some(text) if only_entry => self.visit_str(&text),
            _ => Err(not_a_decimal(&self)),
        }
    }
}

/// The key under which serde_json's `arbitrary_precision` hands over a
/// number's text.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// The value under [`NUMBER_TOKEN`]: `Some(text)` when it came from a real
/// JSON number, `None` for anything a client wrote (read and dropped, so
/// the refusal names the decimal's field, not a path inside the object).
struct NumberText(Option<String>);

impl<'de> Deserialize<'de> for NumberText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NumberTextVisitor)
    }
}

struct NumberTextVisitor;

impl<'de> Visitor<'de> for NumberTextVisitor {
    type Value = NumberText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the text of a JSON number")
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<NumberText, E> {
        Ok(NumberText(Some(text)))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<NumberText, E> {
        Ok(NumberText(None))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<NumberText, E> {
        Ok(NumberText(None))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<NumberText, E> {
        Ok(NumberText(None))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<NumberText, E> {
        Ok(NumberText(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<NumberText, E> {
        Ok(NumberText(None))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<NumberText, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(NumberText(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NumberText, A::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(NumberText(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::dec;
    use serde_json::json;

    fn from_json(value: &str) -> Result<WireDecimal, String> {
        serde_json::from_str::<WireDecimal>(value).map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_strings_and_numbers_exactly() {
        assert_eq!(from_json(r#""10.50""#).map(|d| d.value()), Ok(dec!(10.50)));
        assert_eq!(from_json("10.5").map(|d| d.value()), Ok(dec!(10.5)));
        assert_eq!(from_json("7").map(|d| d.value()), Ok(dec!(7)));
        assert_eq!(from_json("-3.25").map(|d| d.value()), Ok(dec!(-3.25)));
        assert_eq!(
            from_json("999999999999.99").map(|d| d.value()),
            Ok(dec!(999999999999.99))
        );
    }

    #[test]
    fn rejects_exponents_noise_and_non_numbers() {
        for bad in [
            "1e2",
            r#""1e2""#,
            "1.001",
            r#""1.001""#,
            "0.30000000000000004",
            r#""NaN""#,
            r#""abc""#,
            r#""""#,
            r#"" 1.00""#,
            r#""+1.00""#,
            r#""1.""#,
            r#"".5""#,
            r#""1,5""#,
            "true",
            "null",
            "[1]",
            r#"{"a":1}"#,
            // One integer digit more than the widest limit (10^15) has.
            "12345678901234567.00",
        ] {
            assert!(from_json(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn an_object_is_refused_in_plain_words() {
        let error = from_json(r#"{"value": "1.85"}"#).err().unwrap_or_default();
        assert!(
            error.starts_with("invalid type: map, expected a decimal"),
            "{error}"
        );
    }

    #[test]
    fn the_object_serde_json_uses_for_numbers_is_not_a_number() {
        for forged in [
            r#"{"$serde_json::private::Number": "100"}"#,
            r#"{"$serde_json::private::Number": "1.85"}"#,
            // Escapes make serde_json copy the text rather than borrow it.
            r#"{"$serde_json::private::Number": "\u0031\u0030\u0030"}"#,
            r#"{"$serde_json::private::Numbe\u0072": "100"}"#,
            r#"{"$serde_json::private::Number": 100}"#,
            r#"{"$serde_json::private::Number": {"$serde_json::private::Number": "1"}}"#,
            r#"{"$serde_json::private::Number": ["100"]}"#,
            r#"{"$serde_json::private::Number": null}"#,
            r#"{"$serde_json::private::Number": "100", "x": 1}"#,
            r#"{"$serde_json::private::Number": "100", "$serde_json::private::Number": "2"}"#,
            r#"{}"#,
        ] {
            let error = from_json(forged).err().unwrap_or_default();
            assert!(
                error.starts_with("invalid type: map, expected a decimal"),
                "{forged}: {error:?}"
            );
        }
    }

    #[test]
    fn the_forged_number_is_refused_at_the_field_it_was_sent_in() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Stake {
            amount: WireDecimal,
        }
        let body = br#"{"amount": {"$serde_json::private::Number": "100"}}"#;
        let problem = crate::http::parse_json::<Stake>(body).err();
        let fields: Option<Vec<String>> =
            problem.map(|p| p.errors.into_iter().map(|e| e.field).collect());
        assert_eq!(fields, Some(vec!["amount".to_owned()]));
        let read = crate::http::parse_json::<Stake>(br#"{"amount": 100.5}"#).map(|s| s.amount);
        assert_eq!(read.ok().map(WireDecimal::value), Some(dec!(100.5)));
    }

    #[test]
    fn says_why_a_value_is_rejected() {
        assert_eq!(
            WireDecimal::parse("1.001"),
            Err(WireDecimalError::TooManyDecimals)
        );
        assert_eq!(WireDecimal::parse("1e3"), Err(WireDecimalError::Malformed));
        assert_eq!(
            WireDecimal::parse("12345678901234567"),
            Err(WireDecimalError::TooLarge)
        );
    }

    #[test]
    fn writes_a_string_with_two_decimals() {
        let serialized = |text: &str| WireDecimal::parse(text).map(|d| json!(d));
        assert_eq!(serialized("10.5"), Ok(json!("10.50")));
        assert_eq!(serialized("2"), Ok(json!("2.00")));
        assert_eq!(serialized("0.07"), Ok(json!("0.07")));
    }

    proptest! {
        #[test]
        fn every_two_decimal_value_round_trips(cents in -99_999_999_999_999i64..99_999_999_999_999i64) {
            let value = Decimal::new(cents, 2);
            let written = serde_json::to_string(&WireDecimal::from_decimal_exact(value)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let read = from_json(&written).map_err(TestCaseError::fail)?;
            prop_assert_eq!(read.value(), value);
        }

        #[test]
        fn a_third_decimal_is_always_rejected(units in 0u32..1_000_000, digits in 100u32..1000) {
            let text = format!("{units}.{digits}");
            prop_assert_eq!(WireDecimal::parse(&text), Err(WireDecimalError::TooManyDecimals));
        }
    }
}
