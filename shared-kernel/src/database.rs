//! A service's database at start-up: connecting its pool, and creating and
//! migrating it (`<service> migrate`).

use anyhow::Context;
use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;

use crate::lifecycle::ServiceLabel;
use crate::postgres;

/// Connects a pool to the database at `url` (`variable` names the setting
/// in errors).
pub async fn connect_database(
    url: &str,
    pool_size: u32,
    variable: &str,
) -> anyhow::Result<DatabaseConnection> {
    postgres::connect(url, pool_size)
        .await
        .with_context(|| unreachable_database(url, variable))
}

/// Creates the database if it is missing and applies every migration of
/// `M`; `service` and the database's name are fields of the log lines.
pub async fn migrate<M: MigratorTrait>(
    service: &'static str,
    url: &str,
    variable: &str,
) -> anyhow::Result<()> {
    let label = ServiceLabel::new(service, url);
    let created = postgres::create_database_if_missing(url)
        .await
        .with_context(|| unreachable_database(url, variable))?;
    if created {
        tracing::info!(service, database = %label.database, "created the database");
    }
    let db = connect_database(url, 1, variable).await?;
    M::up(&db, None)
        .await
        .with_context(|| format!("applying the migrations to {}", label.database))?;
    db.close()
        .await
        .context("closing the database connection")?;
    tracing::info!(service, database = %label.database, "migrations applied");
    Ok(())
}

/// The URL without its password, for messages.
fn unreachable_database(url: &str, variable: &str) -> String {
    let shown = url::Url::parse(url).map_or_else(
        |_| "the configured URL".to_owned(),
        |mut url| {
            let _ = url.set_password(None);
            url.to_string()
        },
    );
    format!(
        "cannot use PostgreSQL at {shown} ({variable}): is it running, and migrated (`make migrate`)?"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_never_shown() {
        let message = unreachable_database(
            "postgres://postgres:secret@127.0.0.1:5432/bet_maker",
            "BET_MAKER_DATABASE_URL",
        );
        assert!(!message.contains("secret"), "{message}");
        assert!(message.contains("BET_MAKER_DATABASE_URL"), "{message}");
    }
}

/// Which way a keyset page runs over ids (UUID v7: id order is time order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageOrder {
    /// Ascending ids; the cursor names the last id seen, the page continues after it.
    OldestFirst,
    /// Descending ids; the page continues before the cursor's id.
    NewestFirst,
}

/// Orders `query` by `id` and narrows it to the page `page` asks for: the
/// rows beyond the cursor, `limit + 1` of them (the extra row tells
/// [`into_page`](crate::pagination::into_page) there is a next page).
pub fn select_page<E, C>(
    query: sea_orm::Select<E>,
    id: C,
    order: PageOrder,
    page: crate::pagination::PageRequest,
) -> sea_orm::Select<E>
where
    E: sea_orm::EntityTrait,
    C: sea_orm::ColumnTrait + Copy,
{
    use sea_orm::{QueryFilter, QueryOrder, QuerySelect};
    let query = match order {
        PageOrder::OldestFirst => query.order_by_asc(id),
        PageOrder::NewestFirst => query.order_by_desc(id),
    };
    let query = match (page.after, order) {
        (Some(after), PageOrder::OldestFirst) => query.filter(id.gt(after)),
        (Some(before), PageOrder::NewestFirst) => query.filter(id.lt(before)),
        (None, _) => query,
    };
    query.limit(u64::from(page.limit) + 1)
}
