//! Migrations written as plain SQL, one file per change.
//!
//! SQL a reader can paste into `psql` beats a schema builder for a schema
//! this small, and it lets tests fingerprint the schema to know when their
//! template database is stale.

use std::hash::{DefaultHasher, Hash, Hasher};

use sea_orm_migration::prelude::*;

/// One schema change: its name, and the SQL that applies and reverts it.
#[derive(Debug, Clone, Copy)]
pub struct SqlMigration {
    /// `mYYYYMMDD_NNNNNN_what_it_does`; applied in this order.
    pub name: &'static str,
    /// Applies the change (run in a transaction).
    pub up: &'static str,
    /// Reverts it.
    pub down: &'static str,
}

impl MigrationName for SqlMigration {
    fn name(&self) -> &str {
        self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for SqlMigration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(self.up)
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(self.down)
            .await
            .map(|_| ())
    }
}

/// Boxes migrations for `MigratorTrait::migrations`.
pub fn boxed(migrations: &[SqlMigration]) -> Vec<Box<dyn MigrationTrait>> {
    migrations
        .iter()
        .map(|m| Box::new(*m) as Box<dyn MigrationTrait>)
        .collect()
}

/// Changes whenever a migration's name or SQL does.
pub fn fingerprint(migrations: &[SqlMigration]) -> u64 {
    let mut hasher = DefaultHasher::new();
    for migration in migrations {
        (migration.name, migration.up).hash(&mut hasher);
    }
    hasher.finish()
}
