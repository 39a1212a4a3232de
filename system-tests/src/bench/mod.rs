//! `make bench`: the platform measured against what the machine can do.
//!
//! Both services run as release processes on fresh databases. Each workload
//! is measured side by side, in the same run, with its *limit*: the same
//! database (or broker) work done directly, with no service in between, so a
//! figure reads as a share of what this machine allows.

pub mod connections;
pub mod load;
pub mod workloads;

use std::time::Duration;

use serde_json::{Value, json};

/// How long and how often to measure.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Seconds-long smoke run (part of `make test`): checks it works, not how fast.
    pub smoke: bool,
    /// Runs of each throughput workload; the median is reported.
    pub runs: usize,
    /// Unmeasured time before each measured window.
    pub warmup: Duration,
    /// Each measured window.
    pub duration: Duration,
}

impl Settings {
    /// The full benchmark.
    pub fn full() -> Self {
        Self {
            smoke: false,
            runs: 3,
            warmup: Duration::from_secs(2),
            duration: Duration::from_secs(10),
        }
    }

    /// A few seconds in all.
    pub fn smoke() -> Self {
        Self {
            smoke: true,
            runs: 1,
            warmup: Duration::from_millis(100),
            duration: Duration::from_millis(500),
        }
    }

    /// `full` rows, or `smoke` rows in a smoke run.
    pub fn scale(&self, full: i64, smoke: i64) -> i64 {
        if self.smoke { smoke } else { full }
    }
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was measured.
    pub workload: String,
    /// The service's figure, in words.
    pub service: String,
    /// The limit's figure, in words (empty when it has none).
    pub limit: String,
    /// service ÷ limit, in per mille (for "at least 0.5 of the limit"), or
    /// the inverse for times (for "at most 1.5 × the limit").
    pub ratio: Option<String>,
    /// The target.
    pub target: String,
    /// Whether the target is met.
    pub met: bool,
    /// Whether the service's side could not be measured (the service
    /// lacks what the workload needs): the row says why instead of a figure.
    pub skipped: bool,
    /// The same figures for results.json.
    pub json: Value,
}

/// `a / b` with two decimals, without floats.
pub fn ratio(a: u128, b: u128) -> String {
    let hundredths = a * 100 / b.max(1);
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

/// A duration in milliseconds with two decimals.
pub fn ms(duration: Duration) -> String {
    let micros = duration.as_micros();
    format!("{}.{:02} ms", micros / 1000, (micros % 1000) / 10)
}

/// Prints the rows as a table.
pub fn print_table(rows: &[Row]) {
    let headers = ["workload", "service", "limit", "ratio", "target", "met"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|row| {
            [
                row.workload.clone(),
                row.service.clone(),
                row.limit.clone(),
                row.ratio.clone().unwrap_or_default(),
                row.target.clone(),
                if row.skipped {
                    "skipped".to_owned()
                } else if row.met {
                    "yes".to_owned()
                } else {
                    "NO".to_owned()
                },
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..6)
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .chain([headers[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |values: [&str; 6]| {
        let padded: Vec<String> = values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect();
        println!("| {} |", padded.join(" | "));
    };
    line(headers);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    println!("|-{}-|", rule.join("-|-"));
    for row in &cells {
        line([&row[0], &row[1], &row[2], &row[3], &row[4], &row[5]]);
    }
}

/// The whole report as JSON.
pub fn results_json(settings: &Settings, rows: &[Row], machine: &str) -> Value {
    json!({
        "date": chrono::Utc::now().to_rfc3339(),
        "machine": machine,
        "smoke": settings.smoke,
        "runs": settings.runs,
        "warmup_ms": settings.warmup.as_millis() as u64,
        "duration_ms": settings.duration.as_millis() as u64,
        "workloads": rows.iter().map(|row| row.json.clone()).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_and_milliseconds_are_written_exactly() {
        assert_eq!(ratio(1, 2), "0.50");
        assert_eq!(ratio(3, 2), "1.50");
        assert_eq!(ratio(1, 3), "0.33");
        assert_eq!(ms(Duration::from_micros(12_345)), "12.34 ms");
    }
}
