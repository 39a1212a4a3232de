//! A database of the test's own, cloned from a migrated template (fast: a
//! file copy instead of running every migration). The template's name
//! carries a fingerprint of the schema, so a changed migration makes a new
//! template.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};
use sea_orm_migration::MigratorTrait;
use uuid::Uuid;

use super::run_blocking_cleanup;
use crate::postgres::{connect, maintenance_url, quote_identifier};

/// The server tests run against: `TEST_DATABASE_URL`, or the local default.
pub fn database_server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A freshly migrated database that is dropped when this value is.
#[derive(Debug)]
pub struct TestDatabase {
    /// Its URL, for the service under test.
    pub url: String,
    /// A small pool on it, for arranging and asserting.
    pub connection: DatabaseConnection,
    name: String,
    admin_url: String,
}

impl TestDatabase {
    /// Creates `<prefix>_test_<uuid>` from the template for migrator `M`,
    /// making the template first if this schema has none yet.
    /// `schema_fingerprint` must change whenever a migration does.
    pub async fn create<M: MigratorTrait>(
        prefix: &str,
        schema_fingerprint: u64,
    ) -> Result<Self, DbErr> {
        let (admin_url, _) = maintenance_url(&database_server_url())
            .map_err(|error| DbErr::Custom(error.to_string()))?;
        let admin = connect(&admin_url, 1).await?;
        let template = format!("{prefix}_template_{schema_fingerprint:016x}");
        let name = format!("{prefix}_test_{}", Uuid::new_v4().simple());
        // Another checkout on this machine, with another schema, drops the
        // templates nobody used for an hour: when ours vanished between
        // making sure of it and cloning it, make it again.
        let mut attempt = 0;
        loop {
            attempt += 1;
            ensure_template::<M>(&admin, &admin_url, prefix, &template).await?;
            mark_used(&admin, &template).await;
            let cloned = admin
                .execute_unprepared(&format!(
                    "CREATE DATABASE {} TEMPLATE {}",
                    quote_identifier(&name),
                    quote_identifier(&template)
                ))
                .await;
            match cloned {
                Ok(_) => break,
                Err(_) if attempt < 3 && !database_exists(&admin, &template).await? => continue,
                Err(error) => return Err(error),
            }
        }
        admin.close().await?;
        let url = with_database(&admin_url, &name)?;
        let connection = connect(&url, 3).await?;
        Ok(Self {
            url,
            connection,
            name,
            admin_url,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let statement = format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_identifier(&self.name)
        );
        let admin_url = self.admin_url.clone();
        run_blocking_cleanup(async move {
            let admin = connect(&admin_url, 1).await.map_err(|e| e.to_string())?;
            admin
                .execute_unprepared(&statement)
                .await
                .map_err(|e| e.to_string())?;
            admin.close().await.map_err(|e| e.to_string())
        });
    }
}

/// Makes the template if it is missing: migrated under a temporary name,
/// then renamed, so concurrent test processes never see a half-made one.
async fn ensure_template<M: MigratorTrait>(
    admin: &DatabaseConnection,
    admin_url: &str,
    prefix: &str,
    template: &str,
) -> Result<(), DbErr> {
    if database_exists(admin, template).await? {
        return Ok(());
    }
    let building = format!("{prefix}_building_{}", Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {}", quote_identifier(&building)))
        .await?;
    let building_url = with_database(admin_url, &building)?;
    let migrated = async {
        let connection = connect(&building_url, 1).await?;
        M::up(&connection, None).await?;
        connection.close().await
    }
    .await;
    let renamed = match migrated {
        Ok(()) => admin
            .execute_unprepared(&format!(
                "ALTER DATABASE {} RENAME TO {}",
                quote_identifier(&building),
                quote_identifier(template)
            ))
            .await
            .map(|_| ()),
        Err(error) => Err(error),
    };
    if renamed.is_err() {
        // Another process won the race (or migrating failed): ours goes.
        admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_identifier(&building)
            ))
            .await?;
        if !database_exists(admin, template).await? {
            return renamed;
        }
    }
    drop_stale_templates(admin, prefix, template).await
}

/// How long a template of another schema may go unused before it counts
/// as stale: several checkouts of different commits may test on one
/// machine at once, each using its own template.
const STALE_AFTER_SECONDS: i64 = 3600;

/// Notes on the template when it was last used (its comment holds the Unix
/// time), so other checkouts leave it alone while it is in use. Best
/// effort: an unmarked template is only ever dropped after an hour.
async fn mark_used(admin: &DatabaseConnection, template: &str) {
    let now = chrono::Utc::now().timestamp();
    let _ = admin
        .execute_unprepared(&format!(
            "COMMENT ON DATABASE {} IS 'used {now}'",
            quote_identifier(template)
        ))
        .await;
}

/// Templates of other schemas that nobody used for an hour are of no use
/// to anyone (a template without the mark is from before it existed).
async fn drop_stale_templates(
    admin: &DatabaseConnection,
    prefix: &str,
    current: &str,
) -> Result<(), DbErr> {
    let stale = admin
        .query_all_raw(Statement::from_sql_and_values(
            admin.get_database_backend(),
            "SELECT datname FROM pg_database
             WHERE datname LIKE $1 AND datname <> $2
               AND coalesce(substring(shobj_description(oid, 'pg_database') FROM '^used ([0-9]+)$')::bigint, 0)
                   < extract(epoch FROM now())::bigint - $3",
            [
                format!("{prefix}_template_%").into(),
                current.to_owned().into(),
                STALE_AFTER_SECONDS.into(),
            ],
        ))
        .await?;
    for row in stale {
        let name: String = row.try_get("", "datname")?;
        let _ = admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_identifier(&name)
            ))
            .await;
    }
    Ok(())
}

async fn database_exists(admin: &DatabaseConnection, name: &str) -> Result<bool, DbErr> {
    Ok(admin
        .query_one_raw(Statement::from_sql_and_values(
            admin.get_database_backend(),
            "SELECT 1 FROM pg_database WHERE datname = $1",
            [name.to_owned().into()],
        ))
        .await?
        .is_some())
}

fn with_database(admin_url: &str, name: &str) -> Result<String, DbErr> {
    let mut url = url::Url::parse(admin_url).map_err(|e| DbErr::Custom(e.to_string()))?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}
