//! How concurrent bet placements are grouped into one statement and one
//! commit.

use crate::infrastructure::persistence::GroupSettings;

/// Writers when none is configured (see [`PlacementSettings::writers`]).
const DEFAULT_WRITERS: u16 = 1;

/// The largest group when none is configured.
const DEFAULT_MAX_GROUP: u16 = 64;

/// The writers that place queued bets, and how many one group may hold.
#[derive(Debug, Clone, clap::Args)]
pub struct PlacementSettings {
    /// Writers placing queued bets, each one group (one statement, one
    /// commit) at a time on a database connection of its own, beside the
    /// BET_MAKER_DB_POOL_SIZE pool. More writers place groups on distinct
    /// events and bettors side by side, but wait for each other's locks
    /// (an event, its exposure, a wallet) and make smaller groups; one
    /// writer makes the largest groups and never waits. On 2 cores, 1
    /// writer placed more bets than 2 or 4 in every placement workload of
    /// `make bench`, at a lower p99.
    #[arg(
        long = "placement-writers",
        env = "BET_MAKER_PLACEMENT_WRITERS",
        value_name = "BET_MAKER_PLACEMENT_WRITERS",
        default_value_t = DEFAULT_WRITERS,
        value_parser = clap::value_parser!(u16).range(1..=64)
    )]
    pub writers: u16,
    /// The most bets a writer places in one group: it takes every bet
    /// queued up to this, without waiting for more (1 places every bet in
    /// a statement of its own).
    #[arg(
        long = "placement-group-max",
        env = "BET_MAKER_PLACEMENT_GROUP_MAX",
        value_name = "BET_MAKER_PLACEMENT_GROUP_MAX",
        default_value_t = DEFAULT_MAX_GROUP,
        value_parser = clap::value_parser!(u16).range(1..=1_000)
    )]
    pub max_group: u16,
}

impl PlacementSettings {
    /// The writers' settings.
    pub fn groups(&self) -> GroupSettings {
        GroupSettings {
            writers: usize::from(self.writers),
            max_group: usize::from(self.max_group),
        }
    }
}

impl Default for PlacementSettings {
    fn default() -> Self {
        Self {
            writers: DEFAULT_WRITERS,
            max_group: DEFAULT_MAX_GROUP,
        }
    }
}
