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

use std::collections::HashMap;

/// The fewest bits of entropy an operator token may have.
pub const MIN_BITS: f64 = 128.0;

/// How to make a good token, for the start-up error.
pub const HOW_TO_MAKE_ONE: &str = "`openssl rand -hex 32` makes one";

/// A token weaker than [`MIN_BITS`].
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error(
    "has about {bits:.0} bits of entropy, fewer than the {MIN_BITS} an operator token needs \
     (estimated from its length and character classes); {HOW_TO_MAKE_ONE}"
)]
pub struct WeakToken {
    /// The estimate, rounded down in the message.
    pub bits: f64,
}

/// The token as it is, when it is strong enough.
pub fn check(token: &str) -> Result<(), WeakToken> {
    let bits = estimated_bits(token);
    if bits < MIN_BITS {
        return Err(WeakToken { bits });
    }
    Ok(())
}

/// The conservative estimate described in the module's documentation.
#[expect(
    clippy::float_arithmetic,
    reason = "an estimate of entropy in bits, never money: floats are what it is"
)]
pub fn estimated_bits(token: &str) -> f64 {
    let length = token.chars().count();
    if length == 0 {
        return 0.0;
    }
    let per_character = alphabet(token).log2().min(spread(token, length));
    per_character * length as f64
}

/// The size of the smallest alphabet that could have made `token`.
fn alphabet(token: &str) -> f64 {
    if token.chars().all(|c| c.is_ascii_hexdigit()) {
        return 16.0;
    }
    let has = |class: fn(&char) -> bool| token.chars().any(|c| class(&c));
    let classes = [
        (has(char::is_ascii_digit), 10.0),
        (has(char::is_ascii_lowercase), 26.0),
        (has(char::is_ascii_uppercase), 26.0),
        (has(|c| !c.is_ascii_alphanumeric()), 33.0),
    ];
    classes
        .iter()
        .filter(|(present, _)| *present)
        .map(|(_, size)| size)
        .sum()
}

/// The Shannon entropy, in bits per character, of `token`'s own
/// character frequencies.
#[expect(
    clippy::float_arithmetic,
    reason = "an estimate of entropy in bits, never money: floats are what it is"
)]
fn spread(token: &str, length: usize) -> f64 {
    let mut counts: HashMap<char, usize> = HashMap::new();
    for c in token.chars() {
        *counts.entry(c).or_default() += 1;
    }
    let length = length as f64;
    counts
        .values()
        .map(|&count| {
            let p = count as f64 / length;
            -p * p.log2()
        })
        .sum()
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
    fn the_message_says_how_strong_and_how_to_make_a_better_one() {
        let message = check("s3cret").err().map(|e| e.to_string());
        let message = message.unwrap_or_default();
        assert!(message.contains("bits of entropy"), "{message}");
        assert!(message.contains("openssl rand -hex 32"), "{message}");
        assert!(!message.contains("s3cret"), "the token is never shown");
    }
}
