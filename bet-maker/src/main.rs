//! `bet-maker [serve]` runs the service; `bet-maker migrate` creates the
//! database if missing and applies the migrations; `bet-maker resync`
//! rebuilds the copy of the line from line-provider.

use std::process::ExitCode;

use bet_maker::app::{migrate, resync, start};
use bet_maker::config::Config;
use shared_kernel::http::shutdown_signal;
use shared_kernel::telemetry;

const USAGE: &str = "usage: bet-maker [serve | migrate | resync]";

#[tokio::main]
async fn main() -> ExitCode {
    // A missing .env is fine: the environment may hold everything.
    let _ = dotenvy::dotenv();
    let command = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "serve".to_owned());
    if matches!(command.as_str(), "-h" | "--help" | "help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("bet-maker: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    let outcome = match command.as_str() {
        "serve" => serve(config).await,
        "migrate" => migrate(&config).await,
        "resync" => resync(&config).await.map(|report| {
            tracing::info!(
                events_read = report.events_read,
                events_updated = report.events_updated,
                bets_settled = report.bets_settled,
                "resync done"
            );
        }),
        other => {
            eprintln!("bet-maker: unknown command `{other}`\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("bet-maker: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = start(config).await?;
    shutdown_signal().await;
    app.stop().await?;
    tracing::info!("bet-maker stopped");
    Ok(())
}
