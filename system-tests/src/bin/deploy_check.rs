//! `make test-deploy`'s check of the running Docker stack (started by
//! `deploy/test/run.sh`, which sets the DEPLOY_* variables; see
//! `system_tests::deploy`). Not a test: `cargo test` never runs it.
//!
//!   deploy_check                 the flow, through the load balancer
//!   deploy_check load [--connections N] [--seconds S]
//!                                POST /bets throughput through the load balancer

use std::process::ExitCode;
use std::time::Duration;

use system_tests::deploy::{LoadSettings, Stack, bets_throughput, run_flow};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match Stack::from_env() {
        Err(error) => Err(error),
        Ok(stack) => match args.first().map(String::as_str) {
            None | Some("flow") => run_flow(&stack).await,
            Some("load") => match load_settings(&args[1..]) {
                Ok(settings) => bets_throughput(&stack, settings)
                    .await
                    .map(|line| println!("{line}")),
                Err(error) => Err(error),
            },
            Some(other) => Err(anyhow::anyhow!("unknown command `{other}` (flow, load)")),
        },
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("deploy-check: FAILED: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_settings(args: &[String]) -> anyhow::Result<LoadSettings> {
    let value = |flag: &str, default: u64| -> anyhow::Result<u64> {
        match args.iter().position(|a| a == flag) {
            None => Ok(default),
            Some(i) => args
                .get(i + 1)
                .and_then(|v| v.parse().ok())
                .filter(|v| *v > 0)
                .ok_or_else(|| anyhow::anyhow!("{flag} takes a positive number")),
        }
    };
    Ok(LoadSettings {
        connections: usize::try_from(value("--connections", 32)?)?,
        warmup: Duration::from_secs(2),
        duration: Duration::from_secs(value("--seconds", 10)?),
    })
}
