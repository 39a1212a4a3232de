//! The stake of a bet.

use rust_decimal::Decimal;

/// A stake: strictly positive, at most two decimal places, at most the
/// configured maximum. A value of this type is valid by construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BetSum(Decimal);

/// Why an amount is not a stake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BetSumError {
    /// Zero or negative.
    #[error("must be greater than 0")]
    NotPositive,
    /// Finer than a cent.
    #[error("must have at most 2 decimal places")]
    TooPrecise,
    /// Above the house limit.
    #[error("must be at most {0}")]
    AboveMaximum(Decimal),
}

impl BetSum {
    /// Checks every rule against the house limit `maximum`.
    pub fn new(amount: Decimal, maximum: Decimal) -> Result<Self, BetSumError> {
        if amount.normalize().scale() > 2 {
            return Err(BetSumError::TooPrecise);
        }
        if amount <= Decimal::ZERO {
            return Err(BetSumError::NotPositive);
        }
        if amount > maximum {
            return Err(BetSumError::AboveMaximum(maximum));
        }
        let mut amount = amount;
        amount.rescale(2);
        Ok(Self(amount))
    }

    /// A stake read back from storage, checked when the bet was placed.
    pub(crate) fn restore(amount: Decimal) -> Self {
        Self(amount)
    }

    /// The exact amount, two decimal places.
    pub fn value(self) -> Decimal {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::dec;

    const MAX: Decimal = dec!(1000000.00);

    #[test]
    fn the_bounds() {
        assert_eq!(BetSum::new(dec!(0), MAX), Err(BetSumError::NotPositive));
        assert_eq!(BetSum::new(dec!(-1), MAX), Err(BetSumError::NotPositive));
        assert_eq!(BetSum::new(dec!(0.001), MAX), Err(BetSumError::TooPrecise));
        assert_eq!(
            BetSum::new(dec!(1000000.01), MAX),
            Err(BetSumError::AboveMaximum(MAX))
        );
        assert_eq!(
            BetSum::new(dec!(0.01), MAX).map(BetSum::value),
            Ok(dec!(0.01))
        );
        assert_eq!(
            BetSum::new(MAX, MAX).map(|s| s.value().to_string()),
            Ok("1000000.00".to_owned())
        );
    }

    proptest! {
        #[test]
        fn accepts_exactly_the_cents_from_one_cent_to_the_maximum(cents in -10_000i64..200_000_000) {
            let accepted = BetSum::new(Decimal::new(cents, 2), MAX).is_ok();
            prop_assert_eq!(accepted, (1..=100_000_000).contains(&cents));
        }

        #[test]
        fn never_accepts_a_fraction_of_a_cent(mills in 1i64..100_000_000) {
            prop_assume!(mills % 10 != 0);
            prop_assert_eq!(BetSum::new(Decimal::new(mills, 3), MAX), Err(BetSumError::TooPrecise));
        }
    }
}
