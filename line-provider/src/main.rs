//! `line-provider [serve]` runs the service; `line-provider migrate`
//! creates the database if missing and applies the migrations.
//! `line-provider --help` lists every setting and its variable.

use std::process::ExitCode;

use line_provider::app::{migrate, start};
use line_provider::config::Config;
use shared_kernel::lifecycle::serve_until_signal;

/// What the binary can be asked to do.
#[derive(Debug, Clone, Copy, clap::Subcommand)]
enum Command {
    /// Serve the API and relay the outbox to RabbitMQ (the default).
    Serve,
    /// Create the database if it is missing and apply every migration.
    Migrate,
}

#[tokio::main]
async fn main() -> ExitCode {
    let command = clap::Command::new("line-provider")
        .version(env!("CARGO_PKG_VERSION"))
        .about("The line: sporting events, their odds and outcomes, published to RabbitMQ.");
    shared_kernel::cli::run(
        command,
        Command::Serve,
        async |command, config: Config| match command {
            Command::Serve => serve_until_signal(start(config).await).await,
            Command::Migrate => migrate(&config).await,
        },
    )
    .await
}
