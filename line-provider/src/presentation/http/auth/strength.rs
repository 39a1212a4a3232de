//! How strong an operator token is: refused at start-up below
//! [`MIN_BITS`], so that guessing it is hopeless whatever the throttle
//! lets through (the throttle never refuses the right token, so it cannot
//! be what keeps a weak one safe).
//!
//! The estimate is conservative: a token is taken to have been drawn from
//! the smallest alphabet that could have made it, and never to hold more
//! than its own characters' spread allows:
//!
//! - the alphabet: 16 symbols when every character is a hex digit (as
//!   `openssl rand -hex` writes); otherwise the sum of the classes present:
//!   10 digits, 26 lowercase, 26 uppercase letters, 33 others (ASCII
//!   punctuation and space; anything beyond ASCII counts as one of these);
//! - bits per character: the lesser of log2 of that alphabet and the
//!   Shannon entropy of the token's own character frequencies (so a run
//!   of one character counts for nothing whatever its length);
//! - bits: that times the number of characters.
//!
//! `openssl rand -hex 32` (64 hex digits) scores about 250 bits,
//! `openssl rand -hex 24` about 180 and `openssl rand -base64 32` about
//! 240; `openssl rand -hex 16` (128 random bits, but 32 characters whose
//! spread is only about 3.4 bits each) about 110, and is refused, as is
//! `dev-operator-token` (about 60).
//!
//! The arithmetic is exact integers: logarithms in fixed point with 32
//! fractional bits, the estimate rounded down to whole bits.

use std::collections::HashMap;

/// The fewest bits of entropy an operator token may have.
pub const MIN_BITS: u64 = 128;

/// How to make a good token, for the start-up error.
pub const HOW_TO_MAKE_ONE: &str = "`openssl rand -hex 32` makes one";

/// A token weaker than [`MIN_BITS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "has about {bits} bits of entropy, fewer than the {MIN_BITS} an operator token needs \
     (estimated from its length and character classes); {HOW_TO_MAKE_ONE}"
)]
pub struct WeakToken {
    /// The estimate, in whole bits (rounded down).
    pub bits: u64,
}

/// The token as it is, when it is strong enough.
pub fn check(token: &str) -> Result<(), WeakToken> {
    let bits = estimated_bits(token);
    if bits < MIN_BITS {
        return Err(WeakToken { bits });
    }
    Ok(())
}

/// Fractional bits of the fixed-point logarithms.
const FRACTION: u32 = 32;

/// The conservative estimate described in the module's documentation, in
/// whole bits: the lesser of `length × log2(alphabet)` and the token's
/// Shannon entropy in total, `n·log2(n) − Σ c·log2(c)` over the counts `c`
/// of its `n` characters.
pub fn estimated_bits(token: &str) -> u64 {
    let mut counts: HashMap<char, u64> = HashMap::new();
    for c in token.chars() {
        *counts.entry(c).or_default() += 1;
    }
    let length: u64 = counts.values().sum();
    let by_alphabet = u128::from(length) * log2(alphabet(token));
    let by_spread = (u128::from(length) * log2(length)).saturating_sub(
        counts
            .values()
            .map(|&count| u128::from(count) * log2(count))
            .sum(),
    );
    u64::try_from(by_alphabet.min(by_spread) >> FRACTION).unwrap_or(u64::MAX)
}

/// The size of the smallest alphabet that could have made `token`.
fn alphabet(token: &str) -> u64 {
    if token.chars().all(|c| c.is_ascii_hexdigit()) {
        return 16;
    }
    let has = |class: fn(&char) -> bool| token.chars().any(|c| class(&c));
    let classes = [
        (has(char::is_ascii_digit), 10),
        (has(char::is_ascii_lowercase), 26),
        (has(char::is_ascii_uppercase), 26),
        (has(|c| !c.is_ascii_alphanumeric()), 33),
    ];
    classes
        .iter()
        .filter(|(present, _)| *present)
        .map(|(_, size)| size)
        .sum()
}

/// log2 of `x` in fixed point ([`FRACTION`] fractional bits, truncated);
/// 0 for 0 and 1. The integer part is the highest bit set; each
/// fractional bit comes from squaring the remaining mantissa, in `[1, 2)`.
fn log2(x: u64) -> u128 {
    let Some(whole) = x.checked_ilog2() else {
        return 0;
    };
    let one = 1_u128 << FRACTION;
    let mut mantissa = (u128::from(x) << FRACTION) >> whole;
    let mut result = u128::from(whole) << FRACTION;
    for bit in (0..FRACTION).rev() {
        mantissa = (mantissa * mantissa) >> FRACTION;
        if mantissa >= 2 * one {
            mantissa >>= 1;
            result |= 1 << bit;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_pass_and_short_or_patterned_ones_do_not() {
        let hex32 = "44e8ef176704c702a5d9f84debd2f028a31ccf1c57789056a6d86bb83953ceba";
        let hex24 = "517d432122ca31034e6f49e5f8b93939447f57dac79faff3";
        let base64 = "pR3Jq9v2Xc8wZt1LmN0aKs7bYdFe5GhUiOjWlQx4+Vo=";
        for strong in [hex32, hex24, base64] {
            assert_eq!(
                check(strong),
                Ok(()),
                "{strong}: {}",
                estimated_bits(strong)
            );
        }
        let hex16 = "c93835526115f4321f1c9d415a8162cd";
        let repeated = "a".repeat(500);
        for weak in [
            "",
            "s3cret",
            "dev-operator-token",
            "test-operator-token",
            hex16,
            repeated.as_str(),
        ] {
            assert!(check(weak).is_err(), "{weak}: {}", estimated_bits(weak));
        }
    }

    #[test]
    fn logarithms_are_exact_at_powers_of_two_and_within_a_unit_elsewhere() {
        let one = 1_u128 << FRACTION;
        assert_eq!(log2(0), 0);
        assert_eq!(log2(1), 0);
        assert_eq!(log2(2), one);
        assert_eq!(log2(16), 4 * one);
        assert_eq!(log2(1 << 40), 40 * one);
        // log2(3) = 1.5849625007211562 and log2(10) = 3.321928094887362,
        // times 2^32.
        assert!(log2(3).abs_diff(6_807_362_105) <= 2, "{}", log2(3));
        assert!(log2(10).abs_diff(14_267_572_527) <= 2, "{}", log2(10));
    }

    #[test]
    fn the_message_says_how_strong_and_how_to_make_a_better_one() {
        let message = check("s3cret").err().map(|e| e.to_string());
        let message = message.unwrap_or_default();
        assert!(message.contains("bits of entropy"), "{message}");
        assert!(message.contains("openssl rand -hex 32"), "{message}");
        assert!(!message.contains("s3cret"), "the token is never shown");
    }
}
