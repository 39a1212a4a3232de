//! A closed-loop load generator: a fixed number of workers, each sending its
//! next request as soon as the last one is answered, every latency recorded.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a load run saw in its measured window (after the warm-up).
#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    /// Latencies of the successful requests, sorted.
    pub latencies: Vec<Duration>,
    /// Requests that failed (an error or an unexpected status).
    pub errors: u64,
    /// The measured window.
    pub window: Duration,
    /// CPU time the server under load spent in the window, when measured
    /// (see [`cpu_in_window`]).
    pub server_cpu: Option<Duration>,
}

impl LoadResult {
    /// Successful requests per second.
    pub fn rate(&self) -> u64 {
        let millis = self.window.as_millis().max(1);
        u64::try_from(self.latencies.len() as u128 * 1000 / millis).unwrap_or(u64::MAX)
    }

    /// The server's CPU time per request answered in the window.
    pub fn cpu_per_request(&self) -> Option<Duration> {
        let answered = self.latencies.len() as u64 + self.errors;
        let answered = u32::try_from(answered).ok().filter(|n| *n > 0)?;
        Some(self.server_cpu? / answered)
    }

    /// The `per_mille`-th latency (500 = median, 990 = p99).
    pub fn percentile(&self, per_mille: usize) -> Duration {
        percentile(&self.latencies, per_mille)
    }
}

/// The `per_mille`-th value of sorted `values` (zero when empty).
pub fn percentile(values: &[Duration], per_mille: usize) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let index = (values.len() * per_mille / 1000).min(values.len() - 1);
    values[index]
}

/// Runs `concurrency` workers, each calling `request` in a loop, for
/// `warmup` (not measured) and then `duration` (measured). `request`
/// returns whether the request succeeded.
pub async fn closed_loop<F, Fut>(
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    request: F,
) -> LoadResult
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let request = Arc::new(request);
    closed_loop_each(concurrency, warmup, duration, move |_| {
        let request = request.clone();
        move || request()
    })
    .await
}

/// [`closed_loop`], where worker `n` sends what `worker(n)` makes: a
/// client of its own (its own connection, say), not a shared one.
pub async fn closed_loop_each<W, F, Fut>(
    concurrency: usize,
    warmup: Duration,
    duration: Duration,
    worker: W,
) -> LoadResult
where
    W: Fn(usize) -> F,
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = bool> + Send,
{
    let measure_from = Instant::now() + warmup;
    let end = measure_from + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|n| {
            let mut request = worker(n);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                loop {
                    let sent = Instant::now();
                    if sent >= end {
                        break;
                    }
                    let ok = request().await;
                    if sent >= measure_from {
                        if ok {
                            latencies.push(sent.elapsed());
                        } else {
                            errors += 1;
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut result = LoadResult {
        window: duration,
        ..LoadResult::default()
    };
    for worker in workers {
        if let Ok((latencies, errors)) = worker.await {
            result.latencies.extend(latencies);
            result.errors += errors;
        }
    }
    result.latencies.sort_unstable();
    result
}

/// The CPU time process `pid` spends from `warmup` from now to `duration`
/// after that: started with [`closed_loop_each`], the same window as
/// the one it measures.
pub async fn cpu_in_window(pid: u32, warmup: Duration, duration: Duration) -> Option<Duration> {
    tokio::time::sleep(warmup).await;
    let from = cpu_time_of(pid)?;
    tokio::time::sleep(duration).await;
    cpu_time_of(pid)?.checked_sub(from)
}

/// The CPU time (user and system, every thread) process `pid` has spent,
/// from `/proc/<pid>/stat`, whose clock ticks are Linux's fixed USER_HZ
/// of 100 a second.
pub fn cpu_time_of(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it do not.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((user + system) * 10))
}

/// The median of some measurements (the middle one; the lower middle for an
/// even count).
pub fn median<T: Ord + Copy + Default>(mut values: Vec<T>) -> T {
    values.sort_unstable();
    values
        .get(values.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_medians() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 500), Duration::from_millis(51));
        assert_eq!(percentile(&values, 990), Duration::from_millis(100));
        assert_eq!(percentile(&[], 500), Duration::ZERO);
        assert_eq!(median(vec![3, 1, 2]), 2);
        assert_eq!(median(vec![4, 1, 3, 2]), 2);
    }

    #[test]
    fn this_process_has_spent_cpu_time() {
        // Spin until the kernel says 30 ms of CPU were spent (on a busy
        // machine that takes longer than 30 ms of wall time), or give up.
        let started = Instant::now();
        let mut spent = Duration::ZERO;
        while spent < Duration::from_millis(30) && started.elapsed() < Duration::from_secs(20) {
            for n in 0..100_000 {
                std::hint::black_box(n);
            }
            spent = cpu_time_of(std::process::id()).unwrap_or_default();
        }
        assert!(spent >= Duration::from_millis(30), "{spent:?}");
        assert_eq!(cpu_time_of(u32::MAX), None);
    }

    #[test]
    fn cpu_per_request_divides_by_every_answer() {
        let result = LoadResult {
            latencies: vec![Duration::from_millis(1); 3],
            errors: 1,
            window: Duration::from_secs(1),
            server_cpu: Some(Duration::from_micros(400)),
        };
        assert_eq!(result.cpu_per_request(), Some(Duration::from_micros(100)));
        let unmeasured = LoadResult {
            server_cpu: None,
            ..result
        };
        assert_eq!(unmeasured.cpu_per_request(), None);
    }

    #[tokio::test]
    async fn a_closed_loop_counts_what_it_measured() {
        let result = closed_loop(
            4,
            Duration::from_millis(20),
            Duration::from_millis(100),
            || async {
                tokio::time::sleep(Duration::from_millis(5)).await;
                true
            },
        )
        .await;
        assert!(result.latencies.len() > 20, "{}", result.latencies.len());
        assert_eq!(result.errors, 0);
        assert!(result.percentile(500) >= Duration::from_millis(5));
    }
}
