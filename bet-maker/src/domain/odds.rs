//! Odds-change protection: a bettor who saw one coefficient is not held to
//! another they did not agree to.

use rust_decimal::Decimal;

/// Which changes of the coefficient, since the bettor saw it, they accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AcceptOddsChange {
    /// Only the coefficient they saw (the default when they sent one).
    #[default]
    None,
    /// That one or a higher one (better for them).
    Higher,
    /// Any coefficient: the bet is placed at the current one.
    Any,
}

/// The coefficient moved since the bettor saw it, and they did not accept
/// that move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the coefficient is now {current}, not the {seen} the bet was asked at")]
pub struct OddsChanged {
    /// What the bettor saw.
    pub seen: Decimal,
    /// What the event offers now.
    pub current: Decimal,
}

/// What a bettor asked for about the odds: the coefficient they saw, if
/// they sent it, and which changes they accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OddsRequest {
    /// The coefficient the bettor saw; `None` takes the current one.
    pub seen: Option<Decimal>,
    /// Which changes they accept.
    pub accept: AcceptOddsChange,
}

impl OddsRequest {
    /// Whether a bet may be placed at `current`.
    pub fn allows(self, current: Decimal) -> Result<(), OddsChanged> {
        let Some(seen) = self.seen else {
            return Ok(());
        };
        let accepted = match self.accept {
            AcceptOddsChange::None => current == seen,
            AcceptOddsChange::Higher => current >= seen,
            AcceptOddsChange::Any => true,
        };
        if accepted {
            Ok(())
        } else {
            Err(OddsChanged { seen, current })
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rust_decimal::dec;

    use super::*;

    fn asked(seen: Decimal, accept: AcceptOddsChange) -> OddsRequest {
        OddsRequest {
            seen: Some(seen),
            accept,
        }
    }

    #[test]
    fn each_policy_accepts_what_it_says() {
        use AcceptOddsChange::{Any, Higher, None};
        let cases = [
            (None, dec!(1.85), Ok(())),
            (None, dec!(1.90), Err(())),
            (None, dec!(1.80), Err(())),
            (Higher, dec!(1.85), Ok(())),
            (Higher, dec!(1.90), Ok(())),
            (Higher, dec!(1.80), Err(())),
            (Any, dec!(1.80), Ok(())),
            (Any, dec!(9.99), Ok(())),
        ];
        for (accept, current, expected) in cases {
            assert_eq!(
                asked(dec!(1.85), accept).allows(current).map_err(|_| ()),
                expected,
                "{accept:?} at {current}"
            );
        }
        assert_eq!(
            asked(dec!(1.85), None).allows(dec!(1.90)),
            Err(OddsChanged {
                seen: dec!(1.85),
                current: dec!(1.90)
            })
        );
        // 1.9 and 1.90 are the same coefficient.
        assert_eq!(asked(dec!(1.9), None).allows(dec!(1.90)), Ok(()));
    }

    proptest! {
        /// Without a coefficient seen, any current one is taken; with one,
        /// the same coefficient is always accepted.
        #[test]
        fn the_coefficient_seen_is_always_accepted(cents in 101i64..=100_000, other in 101i64..=100_000) {
            let seen = Decimal::new(cents, 2);
            for accept in [AcceptOddsChange::None, AcceptOddsChange::Higher, AcceptOddsChange::Any] {
                prop_assert_eq!(asked(seen, accept).allows(seen), Ok(()));
                prop_assert_eq!(OddsRequest { seen: Option::None, accept }.allows(Decimal::new(other, 2)), Ok(()));
            }
        }
    }
}
