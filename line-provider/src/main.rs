//! `line-provider [serve]` runs the service; `line-provider migrate`
//! creates the database if missing and applies the migrations.

use std::process::ExitCode;

use line_provider::app::{migrate, start};
use line_provider::config::Config;
use shared_kernel::service::{run_cli, serve_until_signal};

const USAGE: &str = "usage: line-provider [serve | migrate]";

#[tokio::main]
async fn main() -> ExitCode {
    run_cli(
        "line-provider",
        USAGE,
        Config::from_env,
        |config| config.log_format,
        async |command, config| match command {
            "serve" => Some(serve_until_signal(start(config).await).await),
            "migrate" => Some(migrate(&config).await),
            _ => None,
        },
    )
    .await
}
