//! `bet-maker [serve]` runs the service; `bet-maker migrate` creates the
//! database if missing and applies the migrations; `bet-maker resync`
//! rebuilds the copy of the line from line-provider; `bet-maker
//! dead-letters` lists the dead-letter queue without emptying it.
//! `bet-maker --help` lists every setting and its variable.

use std::process::ExitCode;

use bet_maker::app::{dead_letters, migrate, resync, start};
use bet_maker::config::Config;
use bet_maker::presentation::messaging::DEFAULT_LIST_LIMIT;
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
    /// List the dead-letter queue, oldest first (when, message id, routing
    /// key, label: reason), without removing anything from it.
    DeadLetters {
        /// The most messages to list.
        #[arg(long, default_value_t = DEFAULT_LIST_LIMIT)]
        limit: u32,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    shared_kernel::cli::run(
        command(),
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
            Command::DeadLetters { limit } => {
                let listing = dead_letters(&config, limit).await?;
                println!(
                    "{} message(s) in the dead-letter queue; the first {}:",
                    listing.depth,
                    listing.letters.len()
                );
                for letter in &listing.letters {
                    println!("{letter}");
                }
                Ok(())
            }
        },
    )
    .await
}

fn command() -> clap::Command {
    clap::Command::new("bet-maker")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Bets on the line's events, settled when line-provider reports the outcome.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_kernel::cli::parse_from;

    /// `args`, with the one setting that has no default.
    fn parse(args: &[&str]) -> Result<(Command, Config), clap::Error> {
        let required = ["--verify-key-files", "line-events.pub"];
        parse_from(
            command(),
            Command::Serve,
            args.iter().copied().chain(required),
        )
    }

    #[test]
    fn dead_letters_lists_a_hundred_unless_told_otherwise() {
        let limit = |args: &[&str]| match parse(args) {
            Ok((Command::DeadLetters { limit }, _)) => Some(limit),
            _ => None,
        };
        assert_eq!(limit(&["bet-maker", "dead-letters"]), Some(100));
        assert_eq!(
            limit(&["bet-maker", "dead-letters", "--limit", "5"]),
            Some(5)
        );
        let with_config = parse(&["bet-maker", "dead-letters", "--limit", "5", "--queue", "q"]);
        assert!(
            matches!(&with_config, Ok((_, config)) if config.queue == "q"),
            "{with_config:?}"
        );
        assert!(parse(&["bet-maker", "dead-letters", "--limit", "many"]).is_err());
    }
}
