//! The bench's report: a line per run on stderr, a Markdown table with the
//! machine and the PostgreSQL ceiling beside it, and an SVG plot of
//! throughput, p99 latency and RSS over each run.

use std::fmt::Write as _;
use std::path::Path;

use super::phase::PhaseResult;

pub fn one_line(r: &PhaseResult) -> String {
    format!(
        "{} commands in {:.1} s = {:.0} commands/s; latency p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms; peak RSS {:.0} MB",
        r.commands, r.seconds, r.commands_per_second, r.p50_ms, r.p95_ms, r.p99_ms, r.peak_rss_mb
    )
}

/// Each stage's p50 and p99, in the stages' order, and the relay round's
/// parts.
pub fn stages_line(r: &PhaseResult) -> String {
    let parts = if r.round_parts.is_empty() {
        String::new()
    } else {
        format!(" (a round: {})", super::stages::labelled(&r.round_parts))
    };
    format!(
        "{}; {} batches, {} Kafka transactions of the relay{parts}; orders decided on from the cache {}, read {}, batches applied again {}",
        super::stages::labelled(&r.stages),
        r.transactions.0,
        r.transactions.1,
        r.cache.0,
        r.cache.1,
        r.cache.2
    )
}

/// What `scripts/pg-ceiling` measured, if it ran (bench/pg-ceiling.json),
/// with its replay's figures (bench/pg-replay.json) when it has them.
pub fn read_ceiling(dir: &Path) -> Option<serde_json::Value> {
    let read = |name: &str| -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(dir.join(name)).ok()?).ok()
    };
    let mut ceiling = read("pg-ceiling.json")?;
    if let (Some(all), Some(serde_json::Value::Object(replay))) =
        (ceiling.as_object_mut(), read("pg-replay.json"))
    {
        all.extend(replay);
    }
    Some(ceiling)
}

pub fn markdown(results: &[PhaseResult], ceiling: Option<&serde_json::Value>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## Benchmark, {}\n\nMachine: {}. Broker, PostgreSQL, service and load generator all on it.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine()
    );
    let _ = writeln!(
        out,
        "| run | BATCH_SIZE | commands | seconds | commands/s | p50 ms | p95 ms | p99 ms | max ms | peak RSS MB |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in results {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.1} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} |",
            r.name,
            r.batch_size,
            r.commands,
            r.seconds,
            r.commands_per_second,
            r.p50_ms,
            r.p95_ms,
            r.p99_ms,
            r.max_ms,
            r.peak_rss_mb
        );
    }
    for r in results.iter().filter(|r| r.batch_size > 1 && r.window > 0) {
        let _ = writeln!(
            out,
            "\n{}: {:.0} events/s over the first {} events, {:.0} over the last {} ({:.0}%).",
            r.name,
            r.first_window_rate,
            r.window,
            r.last_window_rate,
            r.window,
            100.0 * r.last_window_rate / r.first_window_rate.max(1e-9)
        );
    }
    super::stages::markdown(&mut out, results);
    super::cpu::markdown(&mut out, results);
    let stored: Vec<&PhaseResult> = results
        .iter()
        .filter(|r| !r.tables.writes.is_empty())
        .collect();
    if !stored.is_empty() {
        let _ = writeln!(
            out,
            "\nWhat PostgreSQL wrote (`pg_stat_user_tables`; rows +inserted/~updated per command):\n"
        );
    }
    for r in stored {
        let _ = writeln!(
            out,
            "- {}: {}",
            r.name,
            super::tables::line(&r.tables.writes, r.commands)
        );
    }
    let batched = results.iter().find(|r| r.name == "burst");
    let single = results.iter().find(|r| r.batch_size == 1);
    if let (Some(b), Some(s)) = (batched, single) {
        let _ = writeln!(
            out,
            "\nBatching: {:.1}× the one-transaction-per-command mode ({:.0} vs {:.0} commands/s).",
            b.commands_per_second / s.commands_per_second,
            b.commands_per_second,
            s.commands_per_second
        );
    }
    match ceiling {
        Some(c) => {
            let _ = writeln!(
                out,
                "\nPostgreSQL ceiling (`scripts/pg-ceiling`, pgbench, the same SQL per command): \
                 {} commands/s one per transaction, {} commands/s {} per transaction, \
                 {} commands/s with {} clients (as many as lanes).",
                c["single_commands_per_second"],
                c["batched_commands_per_second"],
                c["batch"],
                c["lanes_commands_per_second"],
                c["clients"]
            );
            if let Some(replayed) = c.get("replayed_commands_per_second") {
                let _ = writeln!(
                    out,
                    "The service's own statements, as PostgreSQL logged them in a burst, replayed \
                     by one client in commit order: {replayed} commands/s ({} commands in {} s; \
                     PostgreSQL's time planning and executing them, as pg_stat_statements timed \
                     it (no commits), {} s: {} commands/s; the burst that sent them ran at {} \
                     commands/s with every statement logged).",
                    c["replayed_commands"],
                    c["replay_seconds"],
                    c["server_seconds"],
                    c["server_commands_per_second"],
                    c["logged_run_commands_per_second"]
                );
            }
        }
        None => {
            let _ = writeln!(
                out,
                "\n(Run `scripts/pg-ceiling` first to print the PostgreSQL ceiling here.)"
            );
        }
    }
    let _ = writeln!(
        out,
        "\n![throughput, p99 latency and RSS over each run](throughput.svg)"
    );
    out
}

/// The reads-beside-commands comparison: per pair, the burst's rate with
/// readers over its rate without; the median and the spread, beside the
/// goal. Pairs are `(without reads, with reads)`.
pub fn reads_beside_commands(
    pairs: &[(PhaseResult, PhaseResult)],
    readers: usize,
    rate: u32,
) -> String {
    let mut out = String::new();
    let pace = if rate > 0 {
        format!("{rate} reads/s between them")
    } else {
        "each back to back".to_owned()
    };
    let _ = writeln!(
        out,
        "\n### Reads beside commands\n\n\
         Each pair: the same burst twice on a fresh service, once alone and once while \
         {readers} HTTP clients read orders (`GET /orders/{{id}}`, {pace}); which \
         goes first alternates. Goal: command throughput during the reads at least 80% \
         of its rate without them (the reads have a pool of their own).\n"
    );
    let _ = writeln!(
        out,
        "| pair | commands | commands/s alone | commands/s beside reads | reads (200 + 404) | reads/s | ratio |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|");
    let mut ratios = Vec::new();
    for (n, (alone, loaded)) in pairs.iter().enumerate() {
        let ratio = loaded.commands_per_second / alone.commands_per_second.max(1e-9);
        ratios.push(ratio);
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {:.0} | {} + {} | {:.0} | {:.0}% |",
            n + 1,
            alone.commands,
            alone.commands_per_second,
            loaded.commands_per_second,
            loaded.reads.found,
            loaded.reads.missing,
            loaded.reads.total() as f64 / loaded.seconds.max(1e-9),
            100.0 * ratio
        );
    }
    ratios.sort_by(f64::total_cmp);
    let median = if ratios.len() % 2 == 1 {
        ratios[ratios.len() / 2]
    } else {
        (ratios[ratios.len() / 2 - 1] + ratios[ratios.len() / 2]) / 2.0
    };
    let (low, high) = (ratios[0], ratios[ratios.len() - 1]);
    let _ = writeln!(
        out,
        "\nMedian ratio {:.0}% (spread {:.0}-{:.0}% over {} pairs): the goal of 80% is {}.",
        100.0 * median,
        100.0 * low,
        100.0 * high,
        ratios.len(),
        if median >= 0.8 { "met" } else { "NOT met" }
    );
    out
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory_gb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    format!("{model}, {cores} cores, {memory_gb:.0} GiB")
}

/// One panel per run: events per second (blue), p99 latency (red) and RSS
/// (grey), each scaled to its own maximum, which the legend gives.
pub fn svg(results: &[PhaseResult]) -> String {
    const W: f64 = 760.0;
    const H: f64 = 180.0;
    const PAD: f64 = 40.0;
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{}" font-family="sans-serif" font-size="12">"#,
        results.len() as f64 * (H + 30.0) + 10.0
    );
    out.push_str(r#"<rect width="100%" height="100%" fill="white"/>"#);
    for (i, r) in results.iter().enumerate() {
        let top = 10.0 + i as f64 * (H + 30.0);
        let n = r.timeline.len().max(2) as f64 - 1.0;
        let max_events = r
            .timeline
            .iter()
            .map(|s| s.events)
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        let max_p99 = r.timeline.iter().map(|s| s.p99_ms).fold(1.0, f64::max);
        let max_rss = r.timeline.iter().map(|s| s.rss_mb).fold(1.0, f64::max);
        let _ = write!(
            out,
            r##"<text x="{PAD}" y="{}" font-weight="bold">{} (BATCH_SIZE={}): {:.0} commands/s, p99 {:.1} ms</text>"##,
            top + 12.0,
            r.name,
            r.batch_size,
            r.commands_per_second,
            r.p99_ms
        );
        let _ = write!(
            out,
            r##"<rect x="{PAD}" y="{}" width="{}" height="{}" fill="none" stroke="#999"/>"##,
            top + 20.0,
            W - 2.0 * PAD,
            H - 30.0
        );
        let line = |value: &dyn Fn(&super::phase::Sample) -> f64, max: f64, color: &str| {
            let points: Vec<String> = r
                .timeline
                .iter()
                .enumerate()
                .map(|(x, s)| {
                    let px = PAD + (W - 2.0 * PAD) * x as f64 / n;
                    let py = top + H - 10.0 - (H - 30.0) * value(s) / max;
                    format!("{px:.1},{py:.1}")
                })
                .collect();
            format!(
                r#"<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{}"/>"#,
                points.join(" ")
            )
        };
        out.push_str(&line(&|s| s.events as f64, max_events, "#1f77b4"));
        out.push_str(&line(&|s| s.p99_ms, max_p99, "#d62728"));
        out.push_str(&line(&|s| s.rss_mb, max_rss, "#888888"));
        let _ = write!(
            out,
            r##"<text x="{}" y="{}" text-anchor="end"><tspan fill="#1f77b4">events/s (max {max_events:.0})</tspan> <tspan fill="#d62728">p99 ms (max {max_p99:.0})</tspan> <tspan fill="#888">RSS MB (max {max_rss:.0})</tspan> over {} s</text>"##,
            W - PAD,
            top + H + 6.0,
            r.timeline.len()
        );
    }
    out.push_str("</svg>\n");
    out
}
