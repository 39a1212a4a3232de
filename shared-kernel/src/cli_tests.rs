//! The command line put together from a configuration and its commands.
//! The variables are named for these tests only, so that nothing in the
//! environment a test runs in can set them.

use clap::error::ErrorKind;

use super::*;

#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
struct Config {
    /// The port.
    #[arg(
        long,
        env = "SK_CLI_TEST_PORT",
        value_name = "SK_CLI_TEST_PORT",
        default_value_t = 8100
    )]
    port: u16,
    /// The token.
    #[arg(long, env = "SK_CLI_TEST_TOKEN", value_name = "SK_CLI_TEST_TOKEN")]
    token: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Subcommand)]
enum Command {
    /// Serves.
    Serve,
    /// Migrates.
    Migrate,
}

fn parse(args: &[&str]) -> Result<(Command, Config), clap::Error> {
    let args = std::iter::once("svc").chain(args.iter().copied());
    parse_from(clap::Command::new("svc"), Command::Serve, args)
}

fn config(port: u16) -> Config {
    Config {
        port,
        token: "t".to_owned(),
    }
}

#[test]
fn no_command_means_the_default_one() {
    assert_eq!(
        parse(&["--token", "t"]).ok(),
        Some((Command::Serve, config(8100)))
    );
}

#[test]
fn a_command_takes_the_configuration_too() {
    assert_eq!(
        parse(&["migrate", "--token", "t", "--port", "1"]).ok(),
        Some((Command::Migrate, config(1)))
    );
    assert_eq!(
        parse(&["serve", "--token", "t"]).ok(),
        Some((Command::Serve, config(8100)))
    );
}

#[test]
fn a_missing_value_is_a_usage_error_naming_the_variable() {
    for args in [&[][..], &["migrate"][..]] {
        let error = parse(args).err();
        assert_eq!(
            error.as_ref().map(clap::Error::kind),
            Some(ErrorKind::MissingRequiredArgument),
            "{args:?}"
        );
        let error = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("SK_CLI_TEST_TOKEN"), "{error}");
        assert_eq!(parse(args).err().map(|e| e.exit_code()), Some(2));
    }
}

#[test]
fn a_malformed_value_is_a_usage_error_naming_the_variable() {
    let error = parse(&["--token", "t", "--port", "eighty"]).err();
    assert_eq!(
        error.as_ref().map(clap::Error::kind),
        Some(ErrorKind::ValueValidation)
    );
    let error = error.map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("SK_CLI_TEST_PORT"), "{error}");
}

#[test]
fn help_lists_every_variable_with_its_default_for_the_service_and_each_command() {
    for args in [
        &["--help"][..],
        &["serve", "--help"][..],
        &["migrate", "--help"][..],
    ] {
        let error = parse(args).err();
        assert_eq!(
            error.as_ref().map(clap::Error::kind),
            Some(ErrorKind::DisplayHelp)
        );
        assert_eq!(error.as_ref().map(clap::Error::exit_code), Some(0));
        let help = error.map(|e| e.to_string()).unwrap_or_default();
        for expected in [
            "SK_CLI_TEST_PORT",
            "[default: 8100]",
            "SK_CLI_TEST_TOKEN",
            "RUST_LOG",
        ] {
            assert!(
                help.contains(expected),
                "{args:?}: {expected} missing in\n{help}"
            );
        }
    }
}

#[test]
fn help_names_an_unset_variable_alone_never_as_set_to_nothing() {
    // clap's own rendering of an unset variable is `[env: NAME=]`.
    for args in [&["--help"][..], &["serve", "--help"][..]] {
        let help = parse(args).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            help.contains("[env: SK_CLI_TEST_PORT]"),
            "{args:?}:\n{help}"
        );
        assert!(
            help.contains("[env: SK_CLI_TEST_TOKEN]"),
            "{args:?}:\n{help}"
        );
        assert!(!help.contains("=]"), "{args:?}:\n{help}");
    }
}

#[test]
fn a_missing_setting_says_which_env_file_was_read_or_where_none_was_found() {
    let nowhere = Dotenv::NotFound(PathBuf::from("/tmp/somewhere"));
    let note = nowhere.note();
    assert!(
        note.contains("no .env was found in /tmp/somewhere or any directory above it"),
        "{note}"
    );
    let read = Dotenv::Read(PathBuf::from("/repo/.env")).note();
    assert!(read.contains("/repo/.env"), "{read}");
}

#[test]
fn options_before_a_command_are_refused() {
    assert!(parse(&["--port", "1", "migrate", "--token", "t"]).is_err());
}

#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
enum Tool {
    /// Makes keys.
    Keygen {
        /// Where.
        dir: String,
    },
}

fn invoke(args: &[&str]) -> Result<Invocation<Command, Config, Tool>, clap::Error> {
    let args = std::iter::once("svc").chain(args.iter().copied());
    parse_invocation(
        clap::Command::new("svc").about("The service."),
        Command::Serve,
        args,
    )
}

#[test]
fn a_tool_takes_its_own_arguments_and_no_configuration() {
    // SK_CLI_TEST_TOKEN is required by the service's commands, not by tools.
    assert_eq!(
        invoke(&["keygen", "keys"]).ok(),
        Some(Invocation::Tool(Tool::Keygen {
            dir: "keys".to_owned()
        }))
    );
    assert_eq!(
        invoke(&["migrate", "--token", "t"]).ok(),
        Some(Invocation::Service(Command::Migrate, config(8100)))
    );
    let missing = invoke(&["keygen"]).err().map(|e| e.kind());
    assert_eq!(missing, Some(ErrorKind::MissingRequiredArgument));
    // Tools are listed in the service's help, without the variables.
    let help = invoke(&["--help"])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(help.contains("keygen"), "{help}");
    assert!(help.starts_with("The service."), "{help}");
    let tool_help = invoke(&["keygen", "--help"])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(!tool_help.contains("SK_CLI_TEST_TOKEN"), "{tool_help}");
    assert!(
        !tool_help.contains("RUST_LOG"),
        "a tool without variables gets no word on them: {tool_help}"
    );
}
