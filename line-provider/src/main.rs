//! `line-provider [serve]` runs the service; `line-provider migrate`
//! creates the database if missing and applies the migrations;
//! `line-provider keygen <dir>` writes a key pair for signing messages.
//! `line-provider --help` lists every setting and its variable.

use std::path::PathBuf;
use std::process::ExitCode;

use line_provider::app::{migrate, start};
use line_provider::config::Config;
use shared_kernel::lifecycle::serve_until_signal;
use shared_kernel::signing::generate_key_pair;

/// jemalloc, as bet-maker: the gRPC server allocates and frees buffers on
/// every call, where glibc's malloc spent a tenth of line-provider's time.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// What the binary can be asked to do with its configuration.
#[derive(Debug, Clone, Copy, clap::Subcommand)]
enum Command {
    /// Serve the API and relay the outbox to RabbitMQ (the default).
    Serve,
    /// Create the database if it is missing and apply every migration.
    Migrate,
}

/// What it can do without any configuration.
#[derive(Debug, Clone, clap::Subcommand)]
enum Tool {
    /// Write a new key pair for signing line messages into DIR.
    ///
    /// An Ed25519 pair: `<name>.key` (PKCS#8 PEM, for LINE_EVENTS_SIGNING_KEY_FILE) and
    /// `<name>.pub` (SPKI PEM, for bet-maker's LINE_EVENTS_VERIFY_KEY_FILES).
    /// Never overwrites a key.
    Keygen {
        /// The directory to write into (created if missing).
        dir: PathBuf,
        /// The files' name, before `.key` and `.pub`.
        #[arg(long, default_value = "line-events")]
        name: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let command = clap::Command::new("line-provider")
        .version(env!("CARGO_PKG_VERSION"))
        .about("The line: sporting events, their odds and outcomes, published to RabbitMQ.");
    shared_kernel::cli::run_with_tools(
        command,
        Command::Serve,
        async |tool| match tool {
            Tool::Keygen { dir, name } => {
                let files = generate_key_pair(&dir, &name)?;
                println!("key id:      {}", files.key_id);
                println!("private key: {}", files.private_key.display());
                println!("public key:  {}", files.public_key.display());
                Ok(())
            }
        },
        async |command, config: Config| match command {
            Command::Serve => serve_until_signal(start(config).await).await,
            Command::Migrate => migrate(&config).await,
        },
    )
    .await
}
