//! PostgreSQL connection helpers both services use.

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, Statement};

/// A pooled connection idle at least this long is pinged before it is
/// handed out; one in steady use is not.
pub const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// Opens a pool of at most `max_connections` to `url`.
///
/// Acquiring a connection gives up after two seconds, so that requests fail
/// fast with a 503 while the database is down instead of hanging.
///
/// sqlx pings every connection it hands out by default: a round trip to
/// the server before every query or transaction, about a sixth of
/// line-provider's CPU per read. Here only a connection idle for
/// [`PING_IF_IDLE_FOR`] is pinged, which is the one a database restart
/// or a dropped link has most likely broken; a connection broken while in
/// steady use fails its next query instead, which answers 503 (or is
/// retried, for the workers) and leaves the pool.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(2))
        .acquire_timeout(Duration::from_secs(2))
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
        .sqlx_logging(false);
    Database::connect(options).await
}

/// A database URL that cannot say which database to use.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseUrlError {
    /// The text is not a URL at all.
    #[error("not a database URL")]
    Malformed(#[source] url::ParseError),
    /// The URL has no database name in its path (`postgres://host:5432/`).
    #[error("the URL names no database: {0}")]
    NoDatabase(String),
}

/// The name of the database `url` names (`bet_maker`).
pub fn database_name(url: &str) -> Result<String, DatabaseUrlError> {
    maintenance_url(url).map(|(_, name)| name)
}

/// Splits a database URL into the URL of the server's `postgres`
/// maintenance database and the name of the database it names.
pub fn maintenance_url(url: &str) -> Result<(String, String), DatabaseUrlError> {
    let mut parsed = url::Url::parse(url).map_err(DatabaseUrlError::Malformed)?;
    let name = parsed.path().trim_start_matches('/').to_owned();
    if name.is_empty() || name.contains('/') {
        let _ = parsed.set_password(None);
        return Err(DatabaseUrlError::NoDatabase(parsed.to_string()));
    }
    parsed.set_path("/postgres");
    Ok((parsed.to_string(), name))
}

/// Why the database could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateDatabaseError {
    /// The URL does not say which database.
    #[error("reading the database URL")]
    Url(#[from] DatabaseUrlError),
    /// The server refused or could not be reached.
    #[error("creating the database on the server")]
    Server(#[from] DbErr),
}

/// Creates the database `url` names unless it exists already; `true` when
/// it was created.
pub async fn create_database_if_missing(url: &str) -> Result<bool, CreateDatabaseError> {
    let (admin_url, name) = maintenance_url(url)?;
    let admin = connect(&admin_url, 1).await?;
    let exists = admin
        .query_one_raw(Statement::from_sql_and_values(
            admin.get_database_backend(),
            "SELECT 1 FROM pg_database WHERE datname = $1",
            [name.clone().into()],
        ))
        .await?
        .is_some();
    if !exists {
        admin
            .execute_unprepared(&format!("CREATE DATABASE {}", quote_identifier(&name)))
            .await?;
    }
    admin.close().await?;
    Ok(!exists)
}

/// Quotes an SQL identifier (a database name cannot be a bound parameter).
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Whether an error means "the database cannot be reached right now"
/// (answer 503 and retry later) rather than a fault in the request or code.
pub fn is_unavailable(error: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(error)) | DbErr::Query(RuntimeErr::SqlxError(error)) => {
            sqlx_unavailable(error)
        }
        _ => false,
    }
}

/// The sqlx side of [`is_unavailable`], for code that talks to sqlx directly.
pub fn sqlx_unavailable(error: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match error {
        Error::Io(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed => true,
        // SQLSTATE class 08 (connection exception) and 57P0x (shutdown).
        Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P0")),
        _ => false,
    }
}

/// Calls `signal` whenever a transaction that ran `NOTIFY <channel>`
/// commits, and once after every (re)connection, since notifications sent
/// while not listening are lost. Reconnects with backoff until `stop`;
/// callers keep a periodic fallback for the gaps.
pub async fn listen(
    pool: sea_orm::sqlx::PgPool,
    channel: &'static str,
    stop: tokio_util::sync::CancellationToken,
    signal: impl Fn(),
) {
    use sea_orm::sqlx::postgres::PgListener;
    let mut backoff = crate::amqp::Backoff::default();
    loop {
        let listening = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(channel).await?;
            Ok::<_, sea_orm::sqlx::Error>(listener)
        };
        let mut listener = tokio::select! {
            () = stop.cancelled() => return,
            listening = listening => match listening {
                Ok(listener) => listener,
                Err(error) => {
                    let pause = backoff.next_delay();
                    tracing::warn!(%error, channel, retry_in = ?pause, "cannot LISTEN; relying on the periodic fallback");
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(pause) => continue,
                    }
                }
            },
        };
        backoff.reset();
        signal();
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                received = listener.recv() => match received {
                    Ok(_) => signal(),
                    Err(error) => {
                        tracing::warn!(%error, channel, "lost the LISTEN connection");
                        break;
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_maintenance_url_keeps_everything_but_the_database() {
        assert_eq!(
            maintenance_url("postgres://postgres:pw@127.0.0.1:5432/line_provider?sslmode=disable")
                .ok(),
            Some((
                "postgres://postgres:pw@127.0.0.1:5432/postgres?sslmode=disable".to_owned(),
                "line_provider".to_owned()
            ))
        );
        assert!(matches!(
            maintenance_url("postgres://127.0.0.1:5432/"),
            Err(DatabaseUrlError::NoDatabase(_))
        ));
        assert!(matches!(
            maintenance_url("not a url"),
            Err(DatabaseUrlError::Malformed(_))
        ));
        assert_eq!(
            database_name("postgres://postgres@127.0.0.1:5432/bet_maker").ok(),
            Some("bet_maker".to_owned())
        );
    }

    /// The local server the tests use (`TEST_DATABASE_URL`).
    fn server_url() -> String {
        std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
    }

    async fn backend_pid(db: &DatabaseConnection) -> i32 {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT pg_backend_pid() AS pid",
            ))
            .await
            .unwrap_or_else(|e| panic!("asking the backend's pid: {e}"))
            .unwrap_or_else(|| panic!("no row"));
        row.try_get("", "pid")
            .unwrap_or_else(|e| panic!("reading the pid: {e}"))
    }

    /// The pool no longer pings every connection it hands out, but it
    /// still pings one that sat idle: one the server dropped meanwhile (a
    /// restart, an administrator) is replaced before the query, unseen.
    #[tokio::test]
    async fn a_connection_dropped_while_idle_is_replaced_before_it_is_used() {
        let url = server_url();
        let pool = connect(&url, 1)
            .await
            .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
        let admin = connect(&url, 1)
            .await
            .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
        let before = backend_pid(&pool).await;
        admin
            .execute_raw(Statement::from_sql_and_values(
                admin.get_database_backend(),
                "SELECT pg_terminate_backend($1)",
                [before.into()],
            ))
            .await
            .unwrap_or_else(|e| panic!("terminating {before}: {e}"));
        tokio::time::sleep(PING_IF_IDLE_FOR + Duration::from_millis(200)).await;
        let after = backend_pid(&pool).await;
        assert_ne!(after, before, "the pool handed out the dropped connection");
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_identifier(r#"a"b"#), r#""a""b""#);
    }
}
