//! Why an operator corrected a result, in their words.

use std::fmt;

/// The operator's reason for a correction: 1 to 500 characters once the
/// whitespace around it is trimmed (what is kept, published and shown is
/// the trimmed text, so a reason of only spaces is no reason). Characters
/// are Unicode scalar values, not bytes: "Schiedsrichterentscheidung
/// überprüft" counts as a person reads it. A value of this type is valid
/// by construction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CorrectionReason(String);

/// Why a text is not a correction reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReasonError {
    /// Empty, or only whitespace.
    #[error("must say why the status is corrected, in 1 to 500 characters")]
    Empty,
    /// Longer than [`CorrectionReason::MAX_CHARS`] once trimmed.
    #[error("must be at most 500 characters")]
    TooLong,
}

impl CorrectionReason {
    /// The longest reason, in characters.
    pub const MAX_CHARS: usize = 500;

    /// The reason `text` gives, trimmed.
    pub fn parse(text: &str) -> Result<Self, ReasonError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(ReasonError::Empty);
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(ReasonError::TooLong);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The reason, as published.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CorrectionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_kept_trimmed() {
        let reason = CorrectionReason::parse("  VAR overturned the goal\n");
        assert_eq!(
            reason.map(|r| r.as_str().to_owned()),
            Ok("VAR overturned the goal".to_owned())
        );
    }

    #[test]
    fn nothing_or_only_whitespace_is_no_reason() {
        for text in ["", " ", "\t\n  "] {
            assert_eq!(CorrectionReason::parse(text), Err(ReasonError::Empty));
        }
    }

    #[test]
    fn five_hundred_characters_are_the_most_counted_as_characters_not_bytes() {
        let most = "é".repeat(500);
        assert_eq!(
            CorrectionReason::parse(&most).map(|r| r.as_str().chars().count()),
            Ok(500)
        );
        assert_eq!(
            CorrectionReason::parse(&format!("  {most}  ")).map(|r| r.as_str().len()),
            Ok(1000),
            "the spaces around do not count"
        );
        assert_eq!(
            CorrectionReason::parse(&"x".repeat(501)),
            Err(ReasonError::TooLong)
        );
        assert!(CorrectionReason::parse("x").is_ok());
    }
}
