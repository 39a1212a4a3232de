//! Who bets: a bettor, known only by the id their identity provider gives
//! them (the `sub` of a verified token). bet-maker keeps no passwords.

use std::fmt;

/// The most characters a bettor's id may have.
pub const MAX_BETTOR_ID_CHARS: usize = 64;

/// The bettor every bet placed before bettors existed belongs to (the
/// migration that gave bets an owner wrote it). No identity provider is
/// expected to issue it, so nobody sees those bets by accident; an
/// operator who wants to read them mints a token for it
/// (`bet-maker token legacy`).
pub const LEGACY_BETTOR: &str = "legacy";

/// A bettor's id: 1 to 64 printable characters (no control character:
/// a NUL would fail every statement that stores it, a newline would forge
/// log lines). A value of this type is valid by construction.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BettorId(String);

/// Why a text is not a bettor's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BettorIdError {
    /// The empty text.
    #[error("must not be empty")]
    Empty,
    /// More than [`MAX_BETTOR_ID_CHARS`] characters.
    #[error("must be at most {MAX_BETTOR_ID_CHARS} characters long")]
    TooLong,
    /// A control character (NUL, a newline, an escape, ...).
    #[error("must be printable characters only (no control characters)")]
    NotPrintable,
}

impl BettorId {
    /// Checks the rules: 1 to 64 characters (Unicode scalar values, not
    /// bytes), none of them a control character.
    pub fn parse(id: &str) -> Result<Self, BettorIdError> {
        if id.is_empty() {
            return Err(BettorIdError::Empty);
        }
        if id.chars().count() > MAX_BETTOR_ID_CHARS {
            return Err(BettorIdError::TooLong);
        }
        if id.chars().any(char::is_control) {
            return Err(BettorIdError::NotPrintable);
        }
        Ok(Self(id.to_owned()))
    }

    /// The owner of the bets placed before bettors existed.
    pub fn legacy() -> Self {
        Self(LEGACY_BETTOR.to_owned())
    }

    /// An id read back from storage, checked when it was first written.
    pub(crate) fn restore(id: String) -> Self {
        Self(id)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BettorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for BettorId {
    type Err = BettorIdError;

    fn from_str(id: &str) -> Result<Self, Self::Err> {
        Self::parse(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_id_is_one_to_sixty_four_characters() {
        assert_eq!(BettorId::parse(""), Err(BettorIdError::Empty));
        assert_eq!(
            BettorId::parse("a").map(|id| id.to_string()),
            Ok("a".into())
        );
        assert!(BettorId::parse(&"a".repeat(64)).is_ok());
        assert_eq!(
            BettorId::parse(&"a".repeat(65)),
            Err(BettorIdError::TooLong)
        );
        assert_eq!(
            BettorId::parse("auth0|5f7c8ec7c33c6c004bbafe82").map(|id| id.as_str().len()),
            Ok(30)
        );
    }

    #[test]
    fn characters_are_counted_not_bytes() {
        let accented = "é".repeat(64);
        assert_eq!(accented.len(), 128);
        assert!(BettorId::parse(&accented).is_ok());
        assert_eq!(
            BettorId::parse(&"é".repeat(65)),
            Err(BettorIdError::TooLong)
        );
    }

    #[test]
    fn a_control_character_is_refused_wherever_it_is() {
        for id in [
            "a\0b",
            "\0",
            "alice\nINFO forged line",
            "tab\there",
            "esc\u{1b}[31m",
            "del\u{7f}",
            "c1\u{85}",
        ] {
            assert_eq!(
                BettorId::parse(id),
                Err(BettorIdError::NotPrintable),
                "{id:?}"
            );
        }
        assert!(BettorId::parse("alice smith").is_ok());
    }

    #[test]
    fn the_legacy_bettor_is_a_valid_id() {
        assert_eq!(BettorId::parse(LEGACY_BETTOR), Ok(BettorId::legacy()));
    }

    proptest! {
        #[test]
        fn accepts_exactly_the_texts_of_1_to_64_printable_characters(text in "\\PC{0,80}") {
            let chars = text.chars().count();
            prop_assert_eq!(BettorId::parse(&text).is_ok(), (1..=64).contains(&chars));
        }

        #[test]
        fn refuses_every_text_with_a_control_character(
            before in "\\PC{0,30}", control in "\\p{Cc}", after in "\\PC{0,30}",
        ) {
            let id = format!("{before}{control}{after}");
            prop_assert_eq!(BettorId::parse(&id), Err(BettorIdError::NotPrintable));
        }
    }
}
