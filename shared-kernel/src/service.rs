//! Running a service: its HTTP server and background workers, started
//! together and stopped together, gracefully.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};

use anyhow::Context;
use axum::Router;
use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long a stop waits for in-flight requests and work in hand.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(15);

/// A started service: an HTTP server and background workers (the outbox
/// relay, the consumer), sharing one stop signal.
#[derive(Debug)]
pub struct RunningService {
    address: SocketAddr,
    stop: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
    workers: Vec<(&'static str, JoinHandle<()>)>,
}

impl RunningService {
    /// Binds `host:port` (`port_variable` names the setting in errors) and
    /// serves `router` until stopped.
    pub async fn serve(
        host: IpAddr,
        port: u16,
        port_variable: &str,
        router: Router,
    ) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind((host, port))
            .await
            .with_context(|| format!("cannot listen on {host}:{port} ({port_variable})"))?;
        let address = listener.local_addr()?;
        let stop = CancellationToken::new();
        let server = tokio::spawn(
            axum::serve(listener, router)
                .with_graceful_shutdown(stop.child_token().cancelled_owned())
                .into_future(),
        );
        Ok(Self {
            address,
            stop,
            server,
            workers: Vec::new(),
        })
    }

    /// Runs a background worker until the service stops; it gets the stop
    /// signal and should finish what it has in hand, then return.
    pub fn spawn_worker<F, Fut>(&mut self, name: &'static str, worker: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handle = tokio::spawn(worker(self.stop.child_token()));
        self.workers.push((name, handle));
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting, lets in-flight requests and the workers' work in
    /// hand finish, and returns when everything has.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.stop.cancel();
        (&mut self.server)
            .await
            .context("the HTTP server panicked")?
            .context("the HTTP server failed")?;
        for (name, worker) in std::mem::take(&mut self.workers) {
            worker
                .await
                .with_context(|| format!("the {name} panicked"))?;
        }
        Ok(())
    }
}

impl Drop for RunningService {
    /// A dropped service stops in the background rather than running on.
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Connects a pool to the database at `url` (`variable` names the setting
/// in errors).
pub async fn connect_database(
    url: &str,
    pool_size: u32,
    variable: &str,
) -> anyhow::Result<DatabaseConnection> {
    crate::postgres::connect(url, pool_size)
        .await
        .with_context(|| unreachable_database(url, variable))
}

/// Creates the database if it is missing and applies every migration of `M`.
pub async fn migrate<M: MigratorTrait>(url: &str, variable: &str) -> anyhow::Result<()> {
    let created = crate::postgres::create_database_if_missing(url)
        .await
        .with_context(|| unreachable_database(url, variable))?;
    if created {
        tracing::info!("created the database");
    }
    let db = connect_database(url, 1, variable).await?;
    M::up(&db, None)
        .await
        .context("applying migrations failed")?;
    db.close()
        .await
        .context("closing the database connection")?;
    tracing::info!("migrations applied");
    Ok(())
}

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

/// A service's `main`: reads `.env` (if any) and the command (`serve` when
/// none), answers `--help` with `usage`, loads the configuration (exit 2 with
/// a message naming the variable when it is wrong), sets up logging, and runs
/// the command through `dispatch` (`None`: unknown command, exit 2). A failed
/// command is logged and exits 1.
pub async fn run_cli<C>(
    service: &str,
    usage: &str,
    load: impl FnOnce() -> Result<C, crate::config::ConfigError>,
    log_format: impl FnOnce(&C) -> crate::telemetry::LogFormat,
    dispatch: impl AsyncFnOnce(&str, C) -> Option<anyhow::Result<()>>,
) -> std::process::ExitCode {
    use std::process::ExitCode;
    // A missing .env is fine: the environment may hold everything.
    let _ = dotenvy::dotenv();
    let command = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "serve".to_owned());
    if matches!(command.as_str(), "-h" | "--help" | "help") {
        println!("{usage}");
        return ExitCode::SUCCESS;
    }
    let config = match load() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{service}: {error}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(log_format(&config));
    match dispatch(&command, config).await {
        None => {
            eprintln!("{service}: unknown command `{command}`\n{usage}");
            ExitCode::from(2)
        }
        Some(Ok(())) => ExitCode::SUCCESS,
        Some(Err(error)) => {
            tracing::error!("{error:#}");
            eprintln!("{service}: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a started service until SIGTERM or SIGINT, then stops it gracefully.
pub async fn serve_until_signal(service: anyhow::Result<RunningService>) -> anyhow::Result<()> {
    let service = service?;
    crate::http::shutdown_signal().await;
    service.stop().await?;
    tracing::info!("stopped");
    Ok(())
}
