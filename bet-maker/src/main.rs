//! `bet-maker [serve]` runs the service; `bet-maker migrate` creates the
//! database if missing and applies the migrations; `bet-maker resync`
//! rebuilds the copy of the line from line-provider.

use std::process::ExitCode;

use bet_maker::app::{migrate, resync, start};
use bet_maker::config::Config;
use shared_kernel::service::{run_cli, serve_until_signal};

const USAGE: &str = "usage: bet-maker [serve | migrate | resync]";

#[tokio::main]
async fn main() -> ExitCode {
    run_cli(
        "bet-maker",
        USAGE,
        Config::from_env,
        |config| config.log_format,
        async |command, config| match command {
            "serve" => Some(serve_until_signal(start(config).await).await),
            "migrate" => Some(migrate(&config).await),
            "resync" => Some(resync(&config).await.map(|report| {
                tracing::info!(
                    events_read = report.events_read,
                    events_updated = report.events_updated,
                    bets_settled = report.bets_settled,
                    "resync done"
                );
            })),
            _ => None,
        },
    )
    .await
}
