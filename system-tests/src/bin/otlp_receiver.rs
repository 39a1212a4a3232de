//! `otlp_receiver ADDRESS [--out FILE]`: an OTLP/gRPC trace receiver that
//! writes each span it receives as one JSON line
//! `{"trace_id", "span_id", "parent_span_id", "name", "service_name",
//! "kind", "attributes"}` (`parent_span_id` null for a root), to stdout or
//! appended to FILE, flushed line by line so a reader sees each span as it
//! arrives. The deployment test runs it on the host and points the
//! containers' `OTEL_EXPORTER_OTLP_ENDPOINT` at it, where no trace viewer
//! can run.
//!
//! It prints `listening on <address>` to stderr once it listens (port 0
//! picks a free one), and stops on SIGTERM or Ctrl-C.

use std::fs::OpenOptions;
use std::io::{LineWriter, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Mutex;

use shared_kernel::testing::otlp::{OtlpReceiver, ReceivedSpan};

const USAGE: &str = "usage: otlp_receiver ADDRESS [--out FILE]   (e.g. 0.0.0.0:4317)";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (address, out) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("otlp_receiver: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let writer: Box<dyn Write + Send> = match &out {
        Some(path) => match OpenOptions::new().create(true).append(true).open(path) {
            Ok(file) => Box::new(file),
            Err(error) => {
                eprintln!("otlp_receiver: opening {path}: {error}");
                return ExitCode::from(2);
            }
        },
        None => Box::new(std::io::stdout()),
    };
    let lines = Mutex::new(LineWriter::new(writer));
    let write = move |span: ReceivedSpan| {
        let Ok(line) = serde_json::to_string(&span) else {
            return;
        };
        if let Ok(mut lines) = lines.lock()
            && let Err(error) = writeln!(lines, "{line}")
        {
            eprintln!("otlp_receiver: writing a span: {error}");
        }
    };
    let mut receiver = match OtlpReceiver::start_with(address, write).await {
        Ok(receiver) => receiver,
        Err(error) => {
            eprintln!("otlp_receiver: cannot listen on {address}: {error}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("listening on {}", receiver.address());
    let ended = tokio::select! {
        () = stop_signal() => receiver.stop().await,
        ended = receiver.wait() => ended,
    };
    match ended {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("otlp_receiver: {error}");
            ExitCode::FAILURE
        }
    }
}

fn parse(args: &[String]) -> Result<(SocketAddr, Option<String>), String> {
    let mut address = None;
    let mut out = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => out = Some(args.next().ok_or("--out needs a file")?.clone()),
            "-h" | "--help" => return Err("help".to_owned()),
            other if address.is_none() => {
                address = Some(
                    other
                        .parse()
                        .map_err(|error| format!("{other} is not an address: {error}"))?,
                );
            }
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    Ok((address.ok_or("no address given")?, out))
}

/// SIGTERM or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
