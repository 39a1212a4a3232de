//! A condition on the version a change applies to (`If-Match`).

/// A condition on the current version (`If-Match`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// No `If-Match`: apply to whatever version is current.
    None,
    /// `If-Match: *`: the event must exist.
    Any,
    /// `If-Match: "3", "4"`: the event must be at one of these versions.
    Versions(Vec<i64>),
}

impl Precondition {
    /// Whether a change may apply to an event at `version`.
    pub fn holds_for(&self, version: i64) -> bool {
        match self {
            Self::None | Self::Any => true,
            Self::Versions(versions) => versions.contains(&version),
        }
    }
}
