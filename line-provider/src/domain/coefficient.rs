//! The odds of an event.

use std::fmt;

use rust_decimal::Decimal;
use rust_decimal::dec;

/// Odds strictly greater than 1.00 and at most 1000.00, with at most two
/// decimal places. A value of this type is valid by construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Coefficient(Decimal);

/// Why a number is not a coefficient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CoefficientError {
    /// 1.00 or less: a bet could not win anything.
    #[error("must be greater than 1.00")]
    NotAboveOne,
    /// Above 1000.00.
    #[error("must be at most 1000.00")]
    TooLarge,
    /// Finer than a cent.
    #[error("must have at most 2 decimal places")]
    TooPrecise,
}

impl Coefficient {
    /// The highest coefficient the line offers.
    pub const MAX: Decimal = dec!(1000.00);

    /// Checks every rule; the value keeps two decimal places.
    pub fn new(value: Decimal) -> Result<Self, CoefficientError> {
        if value.normalize().scale() > 2 {
            return Err(CoefficientError::TooPrecise);
        }
        if value <= Decimal::ONE {
            return Err(CoefficientError::NotAboveOne);
        }
        if value > Self::MAX {
            return Err(CoefficientError::TooLarge);
        }
        let mut value = value;
        value.rescale(2);
        Ok(Self(value))
    }

    /// The exact value, with two decimal places.
    pub fn value(self) -> Decimal {
        self.0
    }
}

impl fmt::Display for Coefficient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_bounds() {
        assert_eq!(
            Coefficient::new(dec!(1.00)),
            Err(CoefficientError::NotAboveOne)
        );
        assert_eq!(
            Coefficient::new(dec!(0.5)),
            Err(CoefficientError::NotAboveOne)
        );
        assert_eq!(
            Coefficient::new(dec!(-2)),
            Err(CoefficientError::NotAboveOne)
        );
        assert_eq!(
            Coefficient::new(dec!(1000.01)),
            Err(CoefficientError::TooLarge)
        );
        assert_eq!(
            Coefficient::new(dec!(1.001)),
            Err(CoefficientError::TooPrecise)
        );
        assert_eq!(
            Coefficient::new(dec!(1.01)).map(Coefficient::value),
            Ok(dec!(1.01))
        );
        assert_eq!(
            Coefficient::new(dec!(1000)).map(|c| c.to_string()),
            Ok("1000.00".to_owned())
        );
    }

    #[test]
    fn trailing_zeros_are_not_precision() {
        assert_eq!(
            Coefficient::new(dec!(1.5000)).map(Coefficient::value),
            Ok(dec!(1.50))
        );
    }

    proptest! {
        #[test]
        fn accepts_exactly_the_cents_between_one_and_a_thousand(cents in -1_000_000i64..2_000_000) {
            let value = Decimal::new(cents, 2);
            let accepted = Coefficient::new(value).is_ok();
            prop_assert_eq!(accepted, cents > 100 && cents <= 100_000);
        }

        #[test]
        fn rejects_any_third_decimal(thousandths in 1_001i64..1_000_000) {
            prop_assume!(thousandths % 10 != 0);
            prop_assert_eq!(
                Coefficient::new(Decimal::new(thousandths, 3)),
                Err(CoefficientError::TooPrecise)
            );
        }
    }
}
