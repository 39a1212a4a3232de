//! `make bench` (and `make bench-smoke`): runs every workload beside its
//! limit, prints the table, and writes `target/bench/results.json`.
//!
//! `bench [--smoke] [--runs N] [--only WORKLOAD[,WORKLOAD...]]`
//! (`--help` lists the workloads, [`WORKLOADS`]; anything else is refused
//! with exit code 2)
//! (`--only settle,streams`: several, comma-separated, in the usual order)
//!
//! `--only bets` runs every placement workload, accumulators too;
//! `--only accumulators` only the accumulators'. `--only settle` runs
//! every settlement workload (won, cancelled, and an accumulator's leg
//! lost); `--only cancel` only the cancelled one, `--only
//! settle-accumulators` only the accumulators'. `--only cashout` runs the
//! cash-out workload (skipped, with its limit measured, while bet-maker's
//! cash-out endpoints answer 404).

use std::path::PathBuf;
use std::process::ExitCode;

use system_tests::bench::{Settings, print_table, results_json, workloads};

/// The workloads `--only` names, in the order they run.
const WORKLOADS: [&str; 12] = [
    "events",
    "grpc",
    "bets",
    "accumulators",
    "settle",
    "cancel",
    "settle-accumulators",
    "cashout",
    "propagation",
    "memory",
    "streams",
    "relay",
];

/// What the command line asked for.
#[derive(Debug, Default, PartialEq)]
struct Args {
    smoke: bool,
    runs: Option<usize>,
    only: Option<String>,
    help: bool,
}

/// Reads the arguments; anything it does not know is refused, so that a
/// mistyped flag or workload never runs the whole benchmark (or none of
/// it) instead.
fn parse(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--smoke" => parsed.smoke = true,
            "--help" | "-h" => parsed.help = true,
            "--runs" => {
                let runs = args.next().map(String::as_str).unwrap_or("nothing");
                match runs.parse() {
                    Ok(runs) if runs > 0 => parsed.runs = Some(runs),
                    _ => return Err(format!("--runs takes a positive number, not {runs}")),
                }
            }
            "--only" => {
                let only = args
                    .next()
                    .ok_or("--only takes workloads, comma-separated")?;
                if let Some(unknown) = only.split(',').find(|one| !WORKLOADS.contains(one)) {
                    return Err(format!("--only: no workload is called {unknown:?}"));
                }
                parsed.only = Some(only.clone());
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(parsed)
}

/// What `--help` prints, and a refused command line after its error.
fn usage() -> String {
    format!(
        "usage: bench [--smoke] [--runs N] [--only WORKLOAD[,WORKLOAD...]]\n\
         workloads: {}",
        WORKLOADS.join(" ")
    )
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse(&args) {
        Ok(args) if args.help => {
            println!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Ok(args) => args,
        Err(error) => {
            eprintln!("bench: {error}\n{}", usage());
            return ExitCode::from(2);
        }
    };
    let mut settings = if args.smoke {
        Settings::smoke()
    } else {
        Settings::full()
    };
    if let Some(runs) = args.runs {
        settings.runs = runs;
    }
    match run(&settings, args.only.as_deref()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(settings: &Settings, only: Option<&str>) -> anyhow::Result<()> {
    // `--only grpc,streams` runs several, in the usual order.
    let wanted = |name: &str| {
        debug_assert!(WORKLOADS.contains(&name), "{name} is not in WORKLOADS");
        only.is_none_or(|only| only.split(',').any(|one| one == name))
    };
    let machine = machine();
    eprintln!(
        "bench: {machine}; {} run(s) of {:?} after {:?} of warm-up",
        settings.runs, settings.duration, settings.warmup
    );
    let platform = workloads::Platform::start().await?;
    let mut rows = Vec::new();
    if wanted("events") {
        eprintln!("bench: GET /events");
        rows.push(workloads::open_events(&platform, settings).await?);
    }
    if wanted("grpc") {
        eprintln!("bench: line-provider's reads, gRPC beside REST");
        rows.extend(workloads::grpc_beside_rest(&platform, settings).await?);
    }
    for concurrency in [32, 128] {
        if wanted("bets") {
            eprintln!("bench: POST /bets at {concurrency} connections");
            rows.push(workloads::place_bets(&platform, settings, concurrency).await?);
        }
        // Beside the singles at the same setup (32 connections).
        if concurrency == 32 && (wanted("bets") || wanted("accumulators")) {
            eprintln!(
                "bench: POST /bets at {concurrency} connections, accumulators of {} legs",
                workloads::ACCUMULATOR_LEGS
            );
            rows.push(workloads::place_accumulators(&platform, settings, concurrency).await?);
        }
        if wanted("bets") {
            eprintln!("bench: POST /bets at {concurrency} connections, every bet on one event");
            rows.push(workloads::place_bets_on_one_event(&platform, settings, concurrency).await?);
        }
    }
    if wanted("settle") {
        eprintln!("bench: settlement (won)");
        rows.push(workloads::settle_large_event(&platform, settings).await?);
    }
    if wanted("settle") || wanted("cancel") {
        eprintln!("bench: settlement (cancelled)");
        rows.push(workloads::settle_cancelled_event(&platform, settings).await?);
    }
    if wanted("settle") || wanted("settle-accumulators") {
        eprintln!("bench: settlement (one leg of accumulators, lost)");
        rows.push(workloads::settle_accumulator_leg(&platform, settings).await?);
    }
    if wanted("cashout") {
        eprintln!("bench: cash-out");
        rows.push(workloads::cash_outs(&platform, settings).await?);
    }
    if wanted("propagation") {
        eprintln!("bench: change propagation");
        rows.push(workloads::change_propagation(&platform, settings).await?);
    }
    if wanted("memory") {
        rows.push(workloads::memory(&platform));
    }
    // After the memory row: thousands of connections leave the allocator
    // holding memory that the other workloads' figure should not carry.
    if wanted("streams") {
        eprintln!("bench: live streams");
        rows.push(workloads::live_streams(&platform, settings).await?);
    }
    if wanted("relay") {
        eprintln!("bench: outbox relay");
        rows.push(workloads::relay_throughput(settings).await?);
    }

    print_table(&rows);
    let results = results_json(settings, &rows, &machine);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join(if settings.smoke {
        "smoke-results.json"
    } else {
        "results.json"
    });
    std::fs::write(&file, serde_json::to_string_pretty(&results)?)?;
    eprintln!("bench: written to {}", file.display());
    Ok(())
}

/// Cores and memory of this machine, for the record.
fn machine() -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let line = info
                .lines()
                .find(|l| l.starts_with("MemTotal:"))?
                .to_owned();
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or_else(
            || "unknown memory".to_owned(),
            |kib| format!("{} GiB", kib / 1024 / 1024),
        );
    format!("{cores} cores, {memory}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn known_arguments_are_read() {
        assert_eq!(
            parse(&args("--smoke --runs 2 --only settle,streams")),
            Ok(Args {
                smoke: true,
                runs: Some(2),
                only: Some("settle,streams".to_owned()),
                help: false,
            })
        );
        assert!(parse(&args("--help")).is_ok_and(|a| a.help));
    }

    #[test]
    fn anything_else_is_refused_rather_than_run() {
        for line in [
            "--smok",
            "--only setle",
            "--only settle,",
            "--only",
            "--runs 0",
            "--runs",
            "settle",
        ] {
            assert!(parse(&args(line)).is_err(), "{line} was accepted");
        }
    }
}
