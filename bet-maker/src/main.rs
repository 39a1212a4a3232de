//! `bet-maker [serve]` runs the service; `bet-maker migrate` creates the
//! database if missing and applies the migrations; `bet-maker resync`
//! rebuilds the copy of the line from line-provider; `bet-maker
//! dead-letters` lists the dead-letter queue without emptying it; `bet-maker
//! token <bettor>` prints a bettor's token signed with the configured secret.
//! `bet-maker --help` lists every setting and its variable.

use std::process::ExitCode;
use std::time::Duration;

use bet_maker::app::{dead_letters, migrate, resync, start, token};
use bet_maker::config::{Config, TokenSigningSettings, parse_lifetime};
use bet_maker::domain::{BettorId, StaffScope};
use bet_maker::presentation::messaging::DEFAULT_LIST_LIMIT;
use shared_kernel::lifecycle::serve_until_signal;

/// jemalloc: every live stream holds a connection whose buffers are mostly
/// never written, and jemalloc leaves those pages unbacked where glibc's
/// malloc touches them (its chunk headers sit inside them).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// What the binary can be asked to do.
#[derive(Debug, Clone, clap::Subcommand)]
enum Command {
    /// Serve the API and consume line events from RabbitMQ (the default).
    Serve,
    /// Create the database if it is missing and apply every migration.
    Migrate,
    /// Rebuild the copy of the line from line-provider's gRPC ListEvents
    /// (LINE_PROVIDER_GRPC_URL).
    Resync,
    /// List the dead-letter queue, oldest first (when, message id, routing
    /// key, label: reason), without removing anything from it.
    DeadLetters {
        /// The most messages to list.
        #[arg(long, default_value_t = DEFAULT_LIST_LIMIT)]
        limit: u32,
    },
}

/// What it can do with only its own settings: a token needs the secret
/// and the claims bet-maker checks, not the database, the broker or the
/// keys of line messages.
#[derive(Debug, Clone, clap::Subcommand)]
enum Tool {
    /// Print a token for a bettor, signed with BET_MAKER_JWT_SECRET (for
    /// development and tests; with a public key configured, tokens come
    /// from the identity provider).
    Token {
        /// The bettor: the token's `sub`, 1 to 64 characters.
        bettor: BettorId,
        /// How long the token is valid: 90s, 30m, 1h, 7d; at most
        /// BET_MAKER_JWT_MAX_LIFETIME_SECS (a day by default), or bet-maker
        /// would refuse it.
        #[arg(long, default_value = "1h", value_parser = parse_lifetime)]
        ttl: Duration,
        /// Staff scopes the token grants, space-separated: `cashier`,
        /// `trader` (a bettor's token has none).
        #[arg(long, value_parser = parse_scope)]
        scope: Option<String>,
        /// The secret to sign with, and the claims bet-maker checks.
        #[command(flatten)]
        signing: TokenSigningSettings,
    },
}

/// A `scope` claim of staff words only, so a typo does not make a token
/// that grants nothing.
fn parse_scope(text: &str) -> Result<String, String> {
    let known = [StaffScope::Cashier, StaffScope::Trader].map(StaffScope::as_str);
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.iter().find(|word| !known.contains(word)) {
        Some(word) => Err(format!(
            "unknown scope `{word}`: the scopes are cashier and trader"
        )),
        None if words.is_empty() => Err("name at least one scope: cashier, trader".to_owned()),
        None => Ok(words.join(" ")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    shared_kernel::cli::run_with_tools(
        command(),
        Command::Serve,
        // Only the token on stdout, so `$(bet-maker token alice)` is it.
        async |tool| match tool {
            Tool::Token {
                bettor,
                ttl,
                scope,
                signing,
            } => {
                println!("{}", token(&signing, &bettor, scope.as_deref(), ttl)?);
                Ok(())
            }
        },
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
    use shared_kernel::cli::{Invocation, parse_from, parse_invocation};

    /// `args`, with the settings that have no default.
    fn parse(args: &[&str]) -> Result<(Command, Config), clap::Error> {
        let required = [
            "--verify-key-files",
            "line-events.pub",
            "--jwt-secret",
            "a-development-secret-of-32-bytes",
        ];
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

    /// `bet-maker token <args>` with the secret only: a tool, which takes
    /// none of the service's settings (no `--verify-key-files`).
    fn parse_token(args: &[&str]) -> Result<Invocation<Command, Config, Tool>, clap::Error> {
        parse_invocation(
            command(),
            Command::Serve,
            args.iter()
                .copied()
                .chain(["--jwt-secret", "a-development-secret-of-32-bytes"]),
        )
    }

    #[test]
    fn token_names_a_bettor_and_lasts_an_hour_unless_told_otherwise() {
        let token = |args: &[&str]| match parse_token(args) {
            Ok(Invocation::Tool(Tool::Token { bettor, ttl, .. })) => {
                Some((bettor.to_string(), ttl.as_secs()))
            }
            _ => None,
        };
        assert_eq!(
            token(&["bet-maker", "token", "alice"]),
            Some(("alice".to_owned(), 3_600))
        );
        assert_eq!(
            token(&["bet-maker", "token", "alice", "--ttl", "7d"]),
            Some(("alice".to_owned(), 7 * 86_400))
        );
        let too_long = "a".repeat(65);
        for bad in [
            vec!["bet-maker", "token"],
            vec!["bet-maker", "token", ""],
            vec!["bet-maker", "token", too_long.as_str()],
            vec!["bet-maker", "token", "alice", "--ttl", "forever"],
        ] {
            assert!(parse(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_development_sign_in_is_off_unless_set_to_true() {
        let dev_sign_in = |args: &[&str]| parse(args).map(|(_, config)| config.dev_sign_in);
        assert!(matches!(dev_sign_in(&["bet-maker"]), Ok(false)));
        assert!(matches!(
            dev_sign_in(&["bet-maker", "--dev-sign-in", "true"]),
            Ok(true)
        ));
        assert!(matches!(
            dev_sign_in(&["bet-maker", "--dev-sign-in", "false"]),
            Ok(false)
        ));
        for bad in ["yes", "1", "on", ""] {
            assert!(
                dev_sign_in(&["bet-maker", "--dev-sign-in", bad]).is_err(),
                "{bad:?} is not a boolean"
            );
        }
    }

    #[test]
    fn a_staff_token_names_known_scopes_only() {
        let scope = |args: &[&str]| match parse_token(args) {
            Ok(Invocation::Tool(Tool::Token { scope, .. })) => Ok(scope),
            Err(error) => Err(error.to_string()),
            Ok(_) => Err("another command".to_owned()),
        };
        assert_eq!(scope(&["bet-maker", "token", "alice"]), Ok(None));
        assert_eq!(
            scope(&["bet-maker", "token", "cleo", "--scope", " trader  cashier "]),
            Ok(Some("trader cashier".to_owned()))
        );
        for bad in ["admin", "cashiers", "", "trader root"] {
            assert!(
                scope(&["bet-maker", "token", "cleo", "--scope", bad]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn exactly_one_way_to_verify_tokens_is_required() {
        let keys = ["--verify-key-files", "line-events.pub"];
        let with = |extra: &[&str]| {
            parse_from::<Config, Command>(
                command(),
                Command::Serve,
                ["bet-maker"]
                    .into_iter()
                    .chain(keys)
                    .chain(extra.iter().copied()),
            )
        };
        let neither = with(&[]);
        assert!(
            neither
                .as_ref()
                .is_err_and(|e| e.to_string().contains("BET_MAKER_JWT_SECRET")),
            "{neither:?}"
        );
        let both = with(&[
            "--jwt-secret",
            "a-development-secret-of-32-bytes",
            "--jwt-public-key-file",
            "idp.pem",
        ]);
        assert!(both.is_err(), "{both:?}");
        assert!(with(&["--jwt-public-key-file", "idp.pem"]).is_ok());
        let almost = "thirty-one-bytes-of-a-secret-xx";
        let short = with(&["--jwt-secret", almost]);
        let message = short
            .as_ref()
            .err()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(message.contains("at least 32 bytes"), "{message}");
        assert!(
            !message.contains(almost),
            "the secret is never echoed: {message}"
        );
    }
}
