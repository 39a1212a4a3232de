//! The price of a bet: the exact product of its legs' coefficients.
//!
//! A coefficient has two decimals and is at most 1000.00, so the product of
//! 20 of them has 40 decimals and up to 61 digits: beyond `rust_decimal`
//! (28 digits). A price is therefore kept as the integer product of the
//! coefficients in hundredths, and a payout is computed from it in integers,
//! exactly, before it is rounded to the cent once.

use std::fmt;

use num_bigint::BigUint;
use num_traits::{ToPrimitive, Zero};
use rust_decimal::Decimal;

use super::BetSum;

/// The largest payout a price answers: 10^20, above every limit a bet can
/// meet (`MAX_LIMIT`, 10^15), so a payout past it is refused by the payout
/// cap whatever its exact value. Payouts that are paid are always below it.
pub const PAYOUT_CEILING: Decimal = rust_decimal::dec!(100_000_000_000_000_000_000.00);

/// The exact product of some coefficients (one for a single, up to
/// [`super::MAX_LEGS`] for an accumulator; none is 1).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Price {
    /// The product of the coefficients, each in hundredths.
    hundredths: BigUint,
    /// How many coefficients: the product is `hundredths / 100^factors`.
    factors: u32,
}

impl Price {
    /// The price of no leg at all: 1.
    pub fn one() -> Self {
        Self {
            hundredths: BigUint::from(1u8),
            factors: 0,
        }
    }

    /// The product of `coefficients` (each a coefficient: above 1.00, at
    /// most 1000.00, at most two decimals, as [`super::is_coefficient`]
    /// says; a third decimal would be rounded away).
    pub fn of(coefficients: impl IntoIterator<Item = Decimal>) -> Self {
        coefficients
            .into_iter()
            .fold(Self::one(), |price, coefficient| price.times(coefficient))
    }

    /// This price times one more coefficient.
    pub fn times(self, coefficient: Decimal) -> Self {
        Self {
            hundredths: self.hundredths * hundredths(coefficient),
            factors: self.factors + 1,
        }
    }

    /// What a winning stake of `amount` pays at this price:
    /// `round_half_up(amount × price, 2)`, computed exactly; capped at
    /// [`PAYOUT_CEILING`] (never reached by a bet that can be placed).
    pub fn payout(&self, amount: BetSum) -> Decimal {
        let unit = self.unit();
        // round_half_up(cents × hundredths / unit) = ⌊(2·cents·hundredths + unit) / (2·unit)⌋
        let doubled = cents(amount.value()) * &self.hundredths * 2u8 + &unit;
        let paid = doubled / (unit * 2u8);
        cents_to_decimal(&paid)
    }

    /// `⌊amount × self / other × (1 − margin)⌋` to the cent: the cash-out
    /// formula's arithmetic, exact (`margin` between 0 and 1, at most 28
    /// decimals). `other` is never zero (a product of coefficients).
    pub fn floor_ratio(&self, amount: Decimal, other: &Price, margin: Decimal) -> Decimal {
        let margin = margin.clamp(Decimal::ZERO, Decimal::ONE);
        let scale = margin.scale();
        let margin_unit = BigUint::from(10u8).pow(scale);
        let keep = &margin_unit - BigUint::from(margin.mantissa().unsigned_abs());
        // cents × (h₁ / u₁) / (h₂ / u₂) × keep / margin_unit
        let numerator = cents(amount) * &self.hundredths * other.unit() * keep;
        let denominator = &other.hundredths * self.unit() * margin_unit;
        if denominator.is_zero() {
            return Decimal::ZERO;
        }
        cents_to_decimal(&(numerator / denominator))
    }

    /// The price as a `Decimal`, when it fits one exactly (a single, or an
    /// accumulator of a few legs).
    pub fn as_decimal(&self) -> Option<Decimal> {
        self.to_string().parse().ok()
    }

    /// `100^factors`: the price's denominator.
    fn unit(&self) -> BigUint {
        BigUint::from(100u8).pow(self.factors)
    }
}

/// A coefficient in hundredths.
fn hundredths(coefficient: Decimal) -> BigUint {
    let mut coefficient = coefficient.abs();
    coefficient.rescale(2);
    BigUint::from(coefficient.mantissa().unsigned_abs())
}

/// An amount in cents (amounts have two decimals).
fn cents(amount: Decimal) -> BigUint {
    hundredths(amount)
}

/// A number of cents as an amount, capped at [`PAYOUT_CEILING`].
fn cents_to_decimal(cents: &BigUint) -> Decimal {
    let ceiling = PAYOUT_CEILING.mantissa();
    let cents = cents.to_i128().map_or(ceiling, |cents| cents.min(ceiling));
    Decimal::from_i128_with_scale(cents, 2)
}

/// The exact decimal, with its trailing zeros dropped down to two decimals
/// (`1.85`, `3.885`, `4.00`).
impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scale = 2 * usize::try_from(self.factors).map_err(|_| fmt::Error)?;
        let digits = self.hundredths.to_string();
        let digits = format!("{digits:0>width$}", width = scale + 1);
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        let kept = fraction.trim_end_matches('0').len().max(2);
        let fraction = format!("{fraction:0<2}");
        write!(f, "{whole}.{}", &fraction[..kept])
    }
}

impl fmt::Debug for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Price({self})")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rust_decimal::dec;

    use super::*;

    fn stake(amount: Decimal) -> BetSum {
        BetSum::restore(amount)
    }

    #[test]
    fn a_price_is_the_exact_product_written_with_at_least_two_decimals() {
        assert_eq!(Price::of([dec!(1.85), dec!(2.10)]).to_string(), "3.885");
        assert_eq!(Price::of([dec!(2.00), dec!(2.00)]).to_string(), "4.00");
        assert_eq!(Price::of([dec!(1.85)]).to_string(), "1.85");
        assert_eq!(Price::of([dec!(1000)]).to_string(), "1000.00");
        assert_eq!(Price::one().to_string(), "1.00");
        assert_eq!(
            Price::of([dec!(1.01); 20]).to_string(),
            "1.2201900399479668244827490915525641902001"
        );
        assert_eq!(
            Price::of([dec!(1000.00); 20]).to_string(),
            format!("1{}.00", "0".repeat(60))
        );
    }

    #[test]
    fn a_payout_rounds_half_up_once_on_the_exact_product() {
        // 10.00 × 3.885 = 38.85; 0.10 × 3.885 = 0.3885 → 0.39.
        let price = Price::of([dec!(1.85), dec!(2.10)]);
        assert_eq!(price.payout(stake(dec!(10.00))), dec!(38.85));
        assert_eq!(price.payout(stake(dec!(0.10))), dec!(0.39));
        // 0.01 × 1.50 = 0.015 → 0.02 (half up).
        assert_eq!(
            Price::of([dec!(1.50)]).payout(stake(dec!(0.01))),
            dec!(0.02)
        );
        // No leg: the stake itself.
        assert_eq!(Price::one().payout(stake(dec!(7.35))), dec!(7.35));
        // 20 legs at 1000.00 on the largest stake: capped, not overflowed.
        let huge = Price::of([dec!(1000.00); 20]);
        assert_eq!(
            huge.payout(stake(dec!(1000000000000000.00))),
            PAYOUT_CEILING
        );
        assert_eq!(huge.payout(stake(dec!(0.01))), PAYOUT_CEILING);
        assert_eq!(huge.as_decimal(), None);
        assert_eq!(price.as_decimal(), Some(dec!(3.885)));
    }

    #[test]
    fn the_cash_out_ratio_floors_to_the_cent() {
        // 10.00 × 3.885 / 2.10 × 0.95 = 17.575 → 17.57.
        let locked = Price::of([dec!(1.85), dec!(2.10)]);
        let current = Price::of([dec!(2.10)]);
        assert_eq!(
            locked.floor_ratio(dec!(10.00), &current, dec!(0.05)),
            dec!(17.57)
        );
        assert_eq!(
            Price::one().floor_ratio(dec!(10.00), &Price::one(), Decimal::ZERO),
            dec!(10.00)
        );
    }

    proptest! {
        /// The payout is within half a cent of the exact product (checked in
        /// `Decimal` where the product fits), two decimals, and at least the
        /// stake.
        #[test]
        fn a_payout_is_the_product_rounded_to_the_cent(
            cents in 1i64..=100_000_000,
            odds in proptest::collection::vec(101i64..=100_000, 1..=3),
        ) {
            let amount = Decimal::new(cents, 2);
            let coefficients: Vec<Decimal> = odds.iter().map(|&o| Decimal::new(o, 2)).collect();
            let price = Price::of(coefficients.iter().copied());
            let exact = coefficients.iter().fold(amount, |product, c| product * c);
            let paid = price.payout(stake(amount));
            prop_assert_eq!(paid.scale(), 2);
            prop_assert!((paid - exact).abs() <= dec!(0.005));
            prop_assert!((paid - exact) > dec!(-0.005));
            prop_assert!(paid >= amount);
            prop_assert_eq!(price.as_decimal(), Some(coefficients.iter().product::<Decimal>()));
        }

        /// Up to 20 legs at up to 1000.00 never overflow, and a longer
        /// accumulator never pays less than a shorter one of the same legs.
        #[test]
        fn prices_of_up_to_twenty_legs_never_overflow(
            cents in 1i64..=100_000_000_000_000_000,
            odds in proptest::collection::vec(101i64..=100_000, 1..=20),
        ) {
            let amount = stake(Decimal::new(cents, 2));
            let coefficients: Vec<Decimal> = odds.iter().map(|&o| Decimal::new(o, 2)).collect();
            let all = Price::of(coefficients.iter().copied());
            let fewer = Price::of(coefficients.iter().copied().skip(1));
            prop_assert!(all.payout(amount) >= fewer.payout(amount));
            prop_assert!(all.payout(amount) <= PAYOUT_CEILING);
            prop_assert!(all.to_string().len() <= 61 + 1 + 40);
        }
    }
}
