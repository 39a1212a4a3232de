//! `bet-maker [serve]` runs the service; `bet-maker migrate` creates the
//! database if missing and applies the migrations; `bet-maker resync`
//! rebuilds the copy of the line from line-provider. `bet-maker --help`
//! lists every setting and its variable.

use std::process::ExitCode;

use bet_maker::app::{migrate, resync, start};
use bet_maker::config::Config;
use shared_kernel::lifecycle::serve_until_signal;

/// What the binary can be asked to do.
#[derive(Debug, Clone, Copy, clap::Subcommand)]
enum Command {
    /// Serve the API and consume line events from RabbitMQ (the default).
    Serve,
    /// Create the database if it is missing and apply every migration.
    Migrate,
    /// Rebuild the copy of the line from line-provider's `GET /events`.
    Resync,
}

#[tokio::main]
async fn main() -> ExitCode {
    let command = clap::Command::new("bet-maker")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Bets on the line's events, settled when line-provider reports the outcome.");
    shared_kernel::cli::run(
        command,
        Command::Serve,
        async |command, config: Config| match command {
            Command::Serve => serve_until_signal(start(config).await).await,
            Command::Migrate => migrate(&config).await,
            Command::Resync => {
                let report = resync(&config).await?;
                tracing::info!(
                    service = "bet-maker",
                    events_read = report.events_read,
                    events_updated = report.events_updated,
                    bets_settled = report.bets_settled,
                    disagreements = report.disagreements,
                    "resync done"
                );
                Ok(())
            }
        },
    )
    .await
}
