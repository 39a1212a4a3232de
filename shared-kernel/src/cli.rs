//! A service's command line: `<service> [COMMAND] [OPTIONS]`, where the
//! command is `serve` when none is given and the options are the service's
//! configuration, each also read from an environment variable.
//!
//! Each service declares its configuration once, as a `clap::Args` derive
//! with `env = "..."` on every field, and its commands as a unit-variant
//! `clap::Subcommand` enum. This module puts them together so that
//! `<service> --help` and `<service> <command> --help` both list every
//! variable with its default, and runs the chosen command.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::telemetry::{DEFAULT_FILTER, TelemetrySettings};

/// A service's configuration: one `clap::Args` derive, parsed once at
/// start-up into a plain typed struct.
pub trait ServiceConfig: Args {
    /// Where logs and traces go (`LOG_FORMAT`, `LOG_ERROR_FILE`,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME`).
    fn telemetry(&self) -> &TelemetrySettings;
}

/// A service's `main`: loads `.env` under the environment, parses the
/// command line (`default` when no command is named), sets up logging and
/// tracing, runs `dispatch`, and flushes the logs and traces still queued.
///
/// Exit codes: 0 when the command succeeded (or `--help` was asked for);
/// 2 for a bad command line or configuration, the message naming the
/// variable at fault; 1 when the command failed (logged, and printed).
pub async fn run<C, K>(
    command: clap::Command,
    default: K,
    dispatch: impl AsyncFnOnce(K, C) -> anyhow::Result<()>,
) -> ExitCode
where
    C: ServiceConfig,
    K: Subcommand,
{
    run_with_tools::<C, K, NoTools>(command, default, async |never| match never {}, dispatch).await
}

/// [`run`], with tools: commands `T` that take only their own arguments,
/// not the service's configuration (`line-provider keygen <dir>` must work
/// before there is anything to configure). A tool logs nothing; it prints.
pub async fn run_with_tools<C, K, T>(
    command: clap::Command,
    default: K,
    tool: impl AsyncFnOnce(T) -> anyhow::Result<()>,
    dispatch: impl AsyncFnOnce(K, C) -> anyhow::Result<()>,
) -> ExitCode
where
    C: ServiceConfig,
    K: Subcommand,
    T: Subcommand,
{
    let service = command.get_name().to_owned();
    let dotenv = match load_dotenv() {
        Ok(dotenv) => dotenv,
        Err(error) => {
            eprintln!("{service}: reading .env: {error}");
            return ExitCode::from(2);
        }
    };
    let invocation = match parse_invocation::<C, K, T>(command, default, std::env::args_os()) {
        Ok(parsed) => parsed,
        Err(error) => {
            let _ = error.print();
            if error.kind() == clap::error::ErrorKind::MissingRequiredArgument {
                eprintln!("\n{}", dotenv.note());
            }
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    let outcome = match invocation {
        Invocation::Service(chosen, config) => {
            let telemetry = match crate::telemetry::init(&service, config.telemetry()) {
                Ok(telemetry) => telemetry,
                Err(error) => {
                    eprintln!("{service}: {}", crate::storage::chain(&error));
                    return ExitCode::from(2);
                }
            };
            let outcome = dispatch(chosen, config).await.inspect_err(|error| {
                tracing::error!(service, error = format!("{error:#}"), "command failed");
            });
            telemetry.shutdown().await;
            outcome
        }
        Invocation::Tool(chosen) => tool(chosen).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{service}: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// No tools: a service whose every command takes the configuration.
#[derive(Debug, Clone, Copy, clap::Subcommand)]
pub enum NoTools {}

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation<K, C, T> {
    /// A command of the service, with its configuration.
    Service(K, C),
    /// A tool, with its own arguments only.
    Tool(T),
}

/// Fills in from `.env` the variables the environment does not set; a
/// missing `.env` is fine (the environment may hold everything), and is
/// said when a setting turns out to be missing.
fn load_dotenv() -> Result<Dotenv, dotenvy::Error> {
    match dotenvy::dotenv() {
        Ok(path) => Ok(Dotenv::Read(path)),
        Err(error) if error.not_found() => Ok(Dotenv::NotFound(
            std::env::current_dir().unwrap_or_default(),
        )),
        Err(error) => Err(error),
    }
}

/// Which `.env` filled in the settings the environment did not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dotenv {
    /// This file (the first `.env` in the working directory or a
    /// directory above it).
    Read(PathBuf),
    /// None: none in this working directory or any directory above it.
    NotFound(PathBuf),
}

impl Dotenv {
    /// What to say under a missing setting: a setting the repository's
    /// `.env` gives is missing when run elsewhere, and nothing else says
    /// that no `.env` was read.
    pub fn note(&self) -> String {
        match self {
            Self::Read(path) => format!(
                "note: the settings come from the environment, flags and {}, which does not set this one (or sets it empty).",
                path.display()
            ),
            Self::NotFound(dir) => format!(
                "note: no .env was found in {} or any directory above it, so only the environment \
                 and flags were read; run from the repository (its .env has development values) \
                 or set the variable.",
                dir.display()
            ),
        }
    }
}

/// Parses `args` (the program name first) into the command and the
/// configuration; `default` when no command is named.
pub fn parse_from<C, K>(
    command: clap::Command,
    default: K,
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
) -> Result<(K, C), clap::Error>
where
    C: Args,
    K: Subcommand,
{
    match parse_invocation::<C, K, NoTools>(command, default, args)? {
        Invocation::Service(chosen, config) => Ok((chosen, config)),
        Invocation::Tool(never) => match never {},
    }
}

/// Parses `args` (the program name first) into a service command with the
/// configuration, or a tool with its arguments.
pub fn parse_invocation<C, K, T>(
    command: clap::Command,
    default: K,
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
) -> Result<Invocation<K, C, T>, clap::Error>
where
    C: Args,
    K: Subcommand,
    T: Subcommand,
{
    let command = keeping_about(with_configuration::<C, K>(command), T::augment_subcommands);
    let mut command = naming_unset_variables(with_environment_help(command, T::has_subcommand));
    let matches = command.try_get_matches_from_mut(args)?;
    let parsed = match matches.subcommand() {
        Some((name, _)) if T::has_subcommand(name) => {
            T::from_arg_matches(&matches).map(Invocation::Tool)
        }
        Some((_, options)) => K::from_arg_matches(&matches)
            .and_then(|chosen| Ok(Invocation::Service(chosen, C::from_arg_matches(options)?))),
        None => C::from_arg_matches(&matches).map(|config| Invocation::Service(default, config)),
    };
    parsed.map_err(|error| error.format(&mut command))
}

/// The service's commands, each taking the whole configuration; the
/// service itself takes it too, for the default command.
fn with_configuration<C: Args, K: Subcommand>(command: clap::Command) -> clap::Command {
    let mut command = keeping_about(command, |command| {
        K::augment_subcommands(C::augment_args(command))
    })
    // `<service> migrate` must not demand what only the default command
    // reads from the top level; the command's own options are checked.
    .subcommand_negates_reqs(true)
    // `<service> --port 1 migrate` would silently ignore the option.
    .args_conflicts_with_subcommands(true)
    .after_help(environment_help());
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    for name in names {
        command = command.mut_subcommand(name, |sub| {
            keeping_about(sub, C::augment_args).after_help(environment_help())
        });
    }
    command
}

/// Runs `augment` but keeps the command's own description: a derive's
/// `augment_*` sets it from the doc comment of the type it was derived on
/// (the configuration struct, the command enum), which describes the type,
/// not the command.
fn keeping_about(
    command: clap::Command,
    augment: impl FnOnce(clap::Command) -> clap::Command,
) -> clap::Command {
    let about = command.get_about().cloned();
    let long_about = command.get_long_about().cloned();
    let augmented = augment(command).about(None).long_about(None);
    let augmented = match about {
        Some(about) => augmented.about(about),
        None => augmented,
    };
    match long_about {
        Some(long_about) => augmented.long_about(long_about),
        None => augmented,
    }
}

/// The tools (`is_tool`) that read variables get the environment's help
/// too (the service's commands have it already).
fn with_environment_help(command: clap::Command, is_tool: impl Fn(&str) -> bool) -> clap::Command {
    let tools: Vec<String> = command
        .get_subcommands()
        .filter(|sub| is_tool(sub.get_name()))
        .filter(|sub| sub.get_arguments().any(|arg| arg.get_env().is_some()))
        .map(|sub| sub.get_name().to_owned())
        .collect();
    tools.into_iter().fold(command, |command, name| {
        command.mut_subcommand(name, |sub| sub.after_help(environment_help()))
    })
}

/// clap writes a variable that is not set as `[env: NAME=]`, which reads as
/// "set, to nothing": such variables are named alone (`[env: NAME]`); a
/// set one keeps its value (unless it is a secret, whose value is always
/// hidden), in every command.
fn naming_unset_variables(command: clap::Command) -> clap::Command {
    let command = command.mut_args(|arg| match arg.get_env() {
        Some(name) if std::env::var_os(name).is_none() => arg.hide_env_values(true),
        _ => arg,
    });
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    names.into_iter().fold(command, |command, name| {
        command.mut_subcommand(name, naming_unset_variables)
    })
}

fn environment_help() -> String {
    format!(
        "Every option can be set by its environment variable instead, or in .env \
         (the environment wins over .env, a flag over both).\n\
         RUST_LOG filters the log lines [default: {DEFAULT_FILTER}]; \
         lapin's own lines show only when it names lapin (lapin=debug)."
    )
}

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
