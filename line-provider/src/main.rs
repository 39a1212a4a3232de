//! `line-provider [serve]` runs the service; `line-provider migrate`
//! creates the database if missing and applies the migrations.

use std::process::ExitCode;

use line_provider::app::{migrate, start};
use line_provider::config::Config;
use shared_kernel::http::shutdown_signal;
use shared_kernel::telemetry;

const USAGE: &str = "usage: line-provider [serve | migrate]";

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
            eprintln!("line-provider: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    let outcome = match command.as_str() {
        "serve" => serve(config).await,
        "migrate" => migrate(&config).await,
        other => {
            eprintln!("line-provider: unknown command `{other}`\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("line-provider: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = start(config).await?;
    shutdown_signal().await;
    app.stop().await?;
    tracing::info!("line-provider stopped");
    Ok(())
}
