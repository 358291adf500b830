//! The figures of a run: percentiles, the per-second timeline, and the
//! service's memory from /proc.

use std::collections::HashMap;
use std::time::Instant;

use super::events::Received;
use super::phase::Sample;

pub(super) fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index]
}

pub(super) fn timeline(
    received: &[Received],
    sent: &HashMap<String, Instant>,
    started: Instant,
    rss: &[f64],
) -> Vec<Sample> {
    let mut buckets: Vec<Vec<f64>> = Vec::new();
    for event in received {
        let second = event.at.duration_since(started).as_secs() as usize;
        if buckets.len() <= second {
            buckets.resize(second + 1, Vec::new());
        }
        if let Some(at) = sent.get(&event.command_id) {
            buckets[second].push(event.at.duration_since(*at).as_secs_f64() * 1e3);
        }
    }
    buckets
        .into_iter()
        .enumerate()
        .map(|(second, mut latencies)| {
            latencies.sort_by(f64::total_cmp);
            Sample {
                events: latencies.len(),
                p99_ms: percentile(&latencies, 0.99),
                // Four samples a second.
                rss_mb: rss.get(second * 4).or(rss.last()).copied().unwrap_or(0.0),
            }
        })
        .collect()
}

/// A field of /proc/<pid>/status in MB (`VmRSS:` now, `VmHWM:` peak).
pub(super) fn rss_mb(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Events per second over the first and over the last `window` events of
/// a run (fewer when the run has less than four windows: a quarter of it),
/// with how many events each window counts: a rate that decays over a long
/// run shows as a last window slower than the first.
pub(super) fn window_rates(
    received: &[Received],
    started: Instant,
    window: usize,
) -> (usize, f64, f64) {
    let mut at: Vec<Instant> = received.iter().map(|r| r.at).collect();
    at.sort_unstable();
    let window = window.min(at.len() / 4);
    if window == 0 {
        return (0, 0.0, 0.0);
    }
    let rate = |from: Instant, to: Instant| {
        window as f64 / to.duration_since(from).as_secs_f64().max(1e-9)
    };
    let first = rate(started, at[window - 1]);
    let last = rate(at[at.len() - 1 - window], at[at.len() - 1]);
    (window, first, last)
}
