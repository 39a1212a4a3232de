//! Staff: token holders whose `scope` claim grants them more than betting.

/// What a staff member may do: a word of the token's `scope` claim
/// (space-separated, as OAuth 2.0 spells it, RFC 6749 3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaffScope {
    /// Moves money by hand: adjustments.
    Cashier,
    /// Runs the house's risk (issue 21), and reads the audit log.
    Trader,
}

impl StaffScope {
    /// The word in the `scope` claim.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cashier => "cashier",
            Self::Trader => "trader",
        }
    }
}

/// The staff scopes a token grants; other words of the claim are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes {
    cashier: bool,
    trader: bool,
}

impl Scopes {
    /// The scopes of a `scope` claim.
    pub fn parse(claim: &str) -> Self {
        let words = || claim.split(' ').filter(|word| !word.is_empty());
        Self {
            cashier: words().any(|word| word == StaffScope::Cashier.as_str()),
            trader: words().any(|word| word == StaffScope::Trader.as_str()),
        }
    }

    /// Whether `scope` is granted.
    pub fn grants(self, scope: StaffScope) -> bool {
        match scope {
            StaffScope::Cashier => self.cashier,
            StaffScope::Trader => self.trader,
        }
    }

    /// Whether any of `scopes` is granted.
    pub fn grants_any(self, scopes: &[StaffScope]) -> bool {
        scopes.iter().any(|scope| self.grants(*scope))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_whole_space_separated_words() {
        let both = Scopes::parse("openid trader cashier");
        assert!(both.grants(StaffScope::Cashier) && both.grants(StaffScope::Trader));
        let none = Scopes::parse("cashiers trader-ish Cashier");
        assert!(!none.grants_any(&[StaffScope::Cashier, StaffScope::Trader]));
        assert_eq!(Scopes::parse(""), Scopes::default());
        assert!(Scopes::parse("  trader ").grants(StaffScope::Trader));
    }
}
