//! The line-provider schema, one file per change, applied in order by
//! `line-provider migrate`.

mod m20261121_000001_create_events;
mod m20261121_000002_create_outbox;
mod m20261122_000003_cancelled_events;
mod m20261123_000004_outbox_change_log;
mod m20261206_000005_suspended_events;

use sea_orm_migration::{MigrationTrait, MigratorTrait};
use shared_kernel::migrations::{SqlMigration, boxed, fingerprint};

const ALL: &[SqlMigration] = &[
    m20261121_000001_create_events::MIGRATION,
    m20261121_000002_create_outbox::MIGRATION,
    m20261122_000003_cancelled_events::MIGRATION,
    m20261123_000004_outbox_change_log::MIGRATION,
    m20261206_000005_suspended_events::MIGRATION,
];

/// Applies line-provider's migrations.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        boxed(ALL)
    }
}

/// Changes whenever the schema does (tests key template databases on it).
pub fn schema_fingerprint() -> u64 {
    fingerprint(ALL)
}
