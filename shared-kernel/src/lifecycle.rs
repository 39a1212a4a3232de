//! A running service: its HTTP servers (public and management) and
//! background workers, started together and stopped together, gracefully,
//! on SIGTERM or SIGINT.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::http::{AllowedOrigins, Connections, HttpSettings, MANAGEMENT_MAX_CONNECTIONS};

/// Which service a process runs and which database it owns. Lifecycle log
/// lines carry both as fields, and the workers log inside a span holding
/// them, so that two services logging to one terminal (`make run`) or one
/// process (the system tests) can be told apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceLabel {
    /// `line-provider`, `bet-maker`.
    pub service: &'static str,
    /// The name of its database (`bet_maker`).
    pub database: String,
}

impl ServiceLabel {
    /// The label of `service` on the database `database_url` names.
    pub fn new(service: &'static str, database_url: &str) -> Self {
        let database =
            crate::postgres::database_name(database_url).unwrap_or_else(|_| "(unnamed)".to_owned());
        Self { service, database }
    }

    fn span(&self) -> tracing::Span {
        tracing::info_span!("running", service = self.service, database = %self.database)
    }
}

/// One HTTP listener of a service: where it binds, the variable naming its
/// port (for errors), and what it serves.
#[derive(Debug)]
pub struct Listener {
    /// The address to bind.
    pub host: IpAddr,
    /// The port (0 picks a free one).
    pub port: u16,
    /// The setting the port comes from (`BET_MAKER_PORT`), named when it
    /// cannot be bound.
    pub port_variable: &'static str,
    /// What it serves.
    pub router: Router,
}

impl Listener {
    async fn bind(&self) -> anyhow::Result<(TcpListener, SocketAddr)> {
        let (host, port, variable) = (self.host, self.port, self.port_variable);
        let listener = TcpListener::bind((host, port))
            .await
            .with_context(|| format!("cannot listen on {host}:{port} ({variable})"))?;
        let address = listener
            .local_addr()
            .with_context(|| format!("reading the address {variable} listens on"))?;
        Ok((listener, address))
    }
}

/// A started service: its public HTTP server, its management server
/// (`/metrics`, `/health/*`) and background workers (the outbox relay, the
/// consumer), sharing one stop signal.
#[derive(Debug)]
pub struct RunningService {
    label: ServiceLabel,
    span: tracing::Span,
    address: SocketAddr,
    management_address: SocketAddr,
    /// Other servers' addresses (gRPC), by name.
    other_addresses: Vec<(&'static str, SocketAddr)>,
    stop: CancellationToken,
    grace: Duration,
    connections: Connections,
    server: JoinHandle<()>,
    management_server: JoinHandle<()>,
    workers: Vec<(&'static str, JoinHandle<()>)>,
}

impl RunningService {
    /// Binds both listeners (either taken stops start-up, naming its
    /// variable) and serves each until stopped, within the bounds of
    /// `http`; the management listener has a connection cap of its own
    /// ([`MANAGEMENT_MAX_CONNECTIONS`]) and no CORS.
    pub async fn serve(
        label: ServiceLabel,
        public: Listener,
        management: Listener,
        http: &HttpSettings,
    ) -> anyhow::Result<Self> {
        let (listener, address) = public.bind().await?;
        let (management_listener, management_address) = management.bind().await?;
        room_for_connections(
            http.max_connections
                .saturating_add(MANAGEMENT_MAX_CONNECTIONS),
        );
        let stop = CancellationToken::new();
        let span = label.span();
        let connections = Connections::new(http.max_connections);
        let server = tokio::spawn(
            crate::http::serve(
                listener,
                public.router,
                http.clone(),
                connections.clone(),
                stop.child_token(),
            )
            .instrument(span.clone()),
        );
        let management_http = HttpSettings {
            max_connections: MANAGEMENT_MAX_CONNECTIONS,
            cors_allowed_origins: AllowedOrigins::default(),
            ..http.clone()
        };
        let management_server = tokio::spawn(
            crate::http::serve(
                management_listener,
                management.router,
                management_http,
                Connections::new(MANAGEMENT_MAX_CONNECTIONS),
                stop.child_token(),
            )
            .instrument(span.clone()),
        );
        Ok(Self {
            label,
            span,
            address,
            management_address,
            other_addresses: Vec::new(),
            stop,
            grace: http.shutdown_grace,
            connections,
            server,
            management_server,
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
        let running = worker(self.stop.child_token()).instrument(self.span.clone());
        self.workers.push((name, tokio::spawn(running)));
    }

    /// The address the public server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The address the management server (`/metrics`, `/health/*`)
    /// listens on.
    pub fn management_address(&self) -> SocketAddr {
        self.management_address
    }

    /// Records where another server of the service (run as a worker)
    /// listens, for [`address_of`](Self::address_of).
    pub fn add_address(&mut self, name: &'static str, address: SocketAddr) {
        self.other_addresses.push((name, address));
    }

    /// Where the server recorded as `name` listens.
    pub fn address_of(&self, name: &str) -> Option<SocketAddr> {
        self.other_addresses
            .iter()
            .find(|(recorded, _)| *recorded == name)
            .map(|(_, address)| *address)
    }

    /// Which service this is, on which database.
    pub fn label(&self) -> &ServiceLabel {
        &self.label
    }

    /// The HTTP connections open now, and waiting for a slot.
    pub fn connections(&self) -> &Connections {
        &self.connections
    }

    /// How long [`stop`](Self::stop) lets work in hand take.
    pub fn grace(&self) -> Duration {
        self.grace
    }

    /// Stops accepting, lets in-flight requests and the workers' work in
    /// hand finish within the grace period, then closes the connections
    /// still open and returns, however clients behave. A worker still busy
    /// at the end of the grace period is aborted, and named in the error.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + self.grace;
        self.stop.cancel();
        // The server closes what is left at the end of the same grace.
        (&mut self.server)
            .await
            .context("the HTTP server panicked")?;
        (&mut self.management_server)
            .await
            .context("the management server panicked")?;
        let mut unfinished = Vec::new();
        for (name, mut worker) in std::mem::take(&mut self.workers) {
            match tokio::time::timeout_at(deadline, &mut worker).await {
                Ok(joined) => joined.with_context(|| format!("the {name} panicked"))?,
                Err(_) => {
                    worker.abort();
                    unfinished.push(name);
                }
            }
        }
        if !unfinished.is_empty() {
            anyhow::bail!(
                "stopped without finishing within {:?}: {}",
                self.grace,
                unfinished.join(", ")
            );
        }
        Ok(())
    }
}

/// File descriptors a service needs besides its HTTP connections
/// (database pools, the broker, listeners, log files).
const OTHER_FILES: u64 = 256;

/// Raises the soft limit on open files to the hard limit (many systems
/// start services at 1024, far below the connection cap), and warns when
/// even that leaves too few for `max_connections`: past it, accepting
/// fails and clients wait in the backlog.
fn room_for_connections(max_connections: u32) {
    let needed = u64::from(max_connections) + OTHER_FILES;
    match rlimit::increase_nofile_limit(needed) {
        Ok(limit) if limit < needed => tracing::warn!(
            limit,
            max_connections,
            "the open-file limit leaves room for fewer connections than HTTP_MAX_CONNECTIONS; raise it (ulimit -n) or lower the cap"
        ),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "cannot read or raise the open-file limit"),
    }
}

impl Drop for RunningService {
    /// A dropped service stops in the background rather than running on.
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Runs a started service until SIGTERM or SIGINT, then stops it
/// gracefully, giving in-flight work the grace period (`SHUTDOWN_GRACE_MS`)
/// to finish.
pub async fn serve_until_signal(service: anyhow::Result<RunningService>) -> anyhow::Result<()> {
    let service = service?;
    let label = service.label().clone();
    let signal = shutdown_signal().await;
    tracing::info!(
        service = label.service,
        database = %label.database,
        signal,
        "shutting down"
    );
    service.stop().await?;
    tracing::info!(
        service = label.service,
        database = %label.database,
        "stopped"
    );
    Ok(())
}

/// Resolves when the process is asked to stop, with the signal's name
/// (`SIGTERM`, or `SIGINT` for Ctrl-C).
async fn shutdown_signal() -> &'static str {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => "SIGINT",
        () = terminate => "SIGTERM",
    }
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
