//! The currency wallets hold.

use std::fmt;

/// An ISO 4217-style currency code: exactly three upper-case ASCII letters
/// (`EUR`). bet-maker holds one currency (`BET_MAKER_CURRENCY`); every
/// wallet is made in it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Currency(String);

/// Why a text is not a currency code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be three upper-case letters, such as EUR")]
pub struct CurrencyError;

impl Currency {
    /// The code, if `code` is three upper-case ASCII letters.
    pub fn parse(code: &str) -> Result<Self, CurrencyError> {
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(code.to_owned()))
        } else {
            Err(CurrencyError)
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_currency_is_three_upper_case_letters() {
        assert_eq!(
            Currency::parse("EUR").map(|c| c.to_string()),
            Ok("EUR".into())
        );
        for bad in ["", "EU", "EURO", "eur", "E1R", "ÉUR", " EU"] {
            assert_eq!(Currency::parse(bad), Err(CurrencyError), "{bad:?}");
        }
    }
}
