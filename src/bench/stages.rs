//! The service's stage histograms (`order_service_command_stage_seconds`)
//! and its relay's round parts (`order_service_relay_round_seconds`), read
//! from its `/metrics` at the end of a run: where the commands' time went,
//! stage by stage, and the relay's rounds part by part.

use std::net::SocketAddr;

use std::fmt::Write as _;

use anyhow::Context;
use http_body_util::{BodyExt as _, Empty};
use hyper::Request;
use hyper::body::Bytes;

use super::phase::PhaseResult;

const STAGES: &str = "order_service_command_stage_seconds_bucket";
const STAGE_ORDER: &[&str] = &["delivered", "queued", "applied", "handed_over", "published"];
const ROUNDS: &str = "order_service_relay_round_seconds_bucket";
const ROUND_ORDER: &[&str] = &["read", "answered", "committed"];

/// One stage's (or round part's) figures.
#[derive(Debug, Clone, PartialEq)]
pub struct StageFigures {
    /// The stage or the part.
    pub name: String,
    /// Commands (a stage) or rounds (a part) counted.
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// The service's metrics text.
pub(super) async fn scrape(addr: SocketAddr) -> anyhow::Result<String> {
    let mut sender = super::reads::connect(addr).await?;
    let request = Request::get("/metrics")
        .header(hyper::header::HOST, addr.to_string())
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await.context("GET /metrics")?;
    let body = response.into_body().collect().await?.to_bytes();
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// Each stage's count, p50 and p99 per command, in the order a command
/// passes them.
pub fn figures(metrics: &str) -> Vec<StageFigures> {
    histogram(metrics, STAGES, "stage", STAGE_ORDER)
}

/// Each part's count, p50 and p99 per committed relay round, in the order
/// a round passes them.
pub fn round_parts(metrics: &str) -> Vec<StageFigures> {
    histogram(metrics, ROUNDS, "part", ROUND_ORDER)
}

/// Each `key` label's count, p50 and p99, from the `buckets` lines in
/// `metrics` (interpolated within a bucket, as Prometheus'
/// `histogram_quantile` does), in `order`, any other after them.
fn histogram(metrics: &str, buckets: &str, key: &str, order: &[&str]) -> Vec<StageFigures> {
    // stage → (upper bound, cumulative count), in the text's order.
    let mut stages: Vec<(String, Vec<(f64, u64)>)> = Vec::new();
    for line in metrics.lines().filter(|l| l.starts_with(buckets)) {
        let (Some(stage), Some(le), Some(count)) = (
            label(line, key),
            label(line, "le"),
            line.rsplit(' ').next().and_then(|c| c.parse::<u64>().ok()),
        ) else {
            continue;
        };
        let le = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().unwrap_or(f64::INFINITY)
        };
        match stages.iter_mut().find(|(name, _)| name == stage) {
            Some((_, buckets)) => buckets.push((le, count)),
            None => stages.push((stage.to_owned(), vec![(le, count)])),
        }
    }
    stages.sort_by_key(|(name, _)| order.iter().position(|s| s == name).unwrap_or(order.len()));
    stages
        .into_iter()
        .map(|(stage, buckets)| {
            let commands = buckets.last().map_or(0, |(_, c)| *c);
            StageFigures {
                name: stage,
                count: commands,
                p50_ms: quantile(&buckets, 0.50) * 1e3,
                p99_ms: quantile(&buckets, 0.99) * 1e3,
            }
        })
        .collect()
}

/// A counter's or a histogram's count in `metrics` (0 when absent).
pub fn count(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find(|l| l.split([' ', '{']).next() == Some(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

/// The sum of a labelled counter's lines in `metrics` whose labels hold
/// `having` (every line when empty).
pub fn sum(metrics: &str, name: &str, having: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{'))
        })
        .filter(|l| l.split(' ').next().is_some_and(|key| key.contains(having)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

fn label<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = line.find(&format!("{name}=\""))? + name.len() + 2;
    let len = line[start..].find('"')?;
    Some(&line[start..start + len])
}

/// The `q` quantile of cumulative `buckets` (sorted by bound).
fn quantile(buckets: &[(f64, u64)], q: f64) -> f64 {
    let total = buckets.last().map_or(0, |(_, c)| *c);
    if total == 0 {
        return 0.0;
    }
    let rank = q * total as f64;
    let mut below = (0.0, 0u64);
    for &(le, count) in buckets {
        if count as f64 >= rank {
            if le.is_infinite() {
                return below.0;
            }
            let within = (count - below.1) as f64;
            let share = if within > 0.0 {
                (rank - below.1 as f64) / within
            } else {
                1.0
            };
            return below.0 + (le - below.0) * share;
        }
        below = (le, count);
    }
    below.0
}

/// The stages' table and the relay rounds' table of `results`, in Markdown.
pub(super) fn markdown(out: &mut String, results: &[PhaseResult]) {
    let staged: Vec<&PhaseResult> = results.iter().filter(|r| !r.stages.is_empty()).collect();
    if let Some(first) = staged.first() {
        let _ = writeln!(
            out,
            "\nWhere the time went (the service's `order_service_command_stage_seconds`, p50 / p99 ms per command):\n"
        );
        let header: Vec<&str> = first.stages.iter().map(|s| s.name.as_str()).collect();
        let _ = writeln!(
            out,
            "| run | {} | batches | relay transactions | orders from the cache / read | batches applied again |",
            header.join(" | ")
        );
        let _ = writeln!(
            out,
            "|---|{}---:|---:|---:|---:|",
            "---:|".repeat(header.len())
        );
        for r in staged {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} / {} | {} |",
                r.name,
                cells(&r.stages),
                r.transactions.0,
                r.transactions.1,
                r.cache.0,
                r.cache.1,
                r.cache.2
            );
        }
    }
    let rounds: Vec<&PhaseResult> = results
        .iter()
        .filter(|r| !r.round_parts.is_empty())
        .collect();
    if let Some(first) = rounds.first() {
        let header: Vec<&str> = first.round_parts.iter().map(|s| s.name.as_str()).collect();
        let _ = writeln!(
            out,
            "\nThe relay's committed rounds, part by part (`order_service_relay_round_seconds`, p50 / p99 ms per round, the run's warm-up order included):\n\n| run | rounds | {} |\n|---|---:|{}",
            header.join(" | "),
            "---:|".repeat(header.len())
        );
        for r in rounds {
            let rounds = r.round_parts.first().map_or(0, |s| s.count);
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                r.name,
                rounds,
                cells(&r.round_parts)
            );
        }
    }
}

/// `name p50 … / p99 … ms` for each of `figures`, comma-separated.
pub(super) fn labelled(figures: &[StageFigures]) -> String {
    let labelled: Vec<String> = figures
        .iter()
        .map(|s| format!("{} p50 {:.1} / p99 {:.1} ms", s.name, s.p50_ms, s.p99_ms))
        .collect();
    labelled.join(", ")
}

/// `p50 / p99` for each of `figures`, as Markdown table cells.
fn cells(figures: &[StageFigures]) -> String {
    let cells: Vec<String> = figures
        .iter()
        .map(|s| format!("{:.1} / {:.1}", s.p50_ms, s.p99_ms))
        .collect();
    cells.join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labelled_counters_are_summed() {
        let metrics = "# TYPE order_service_apply_orders_total counter\n\
            order_service_apply_orders_total{source=\"cache\"} 7\n\
            order_service_apply_orders_total{source=\"database\"} 3\n\
            order_service_apply_orders_totals{source=\"cache\"} 100\n";
        let orders = "order_service_apply_orders_total";
        assert_eq!(sum(metrics, orders, "source=\"cache\""), 7);
        assert_eq!(sum(metrics, orders, ""), 10);
        assert_eq!(sum(metrics, "order_service_absent_total", ""), 0);
    }

    #[test]
    fn quantiles_are_read_from_cumulative_buckets() {
        let text = "\
# TYPE order_service_command_stage_seconds histogram
order_service_command_stage_seconds_sum{stage=\"queued\"} 1.0
order_service_command_stage_seconds_bucket{le=\"0.001\",stage=\"applied\"} 0
order_service_command_stage_seconds_bucket{le=\"+Inf\",stage=\"applied\"} 0
order_service_command_stage_seconds_bucket{le=\"0.001\",stage=\"queued\"} 50
order_service_command_stage_seconds_bucket{le=\"0.002\",stage=\"queued\"} 90
order_service_command_stage_seconds_bucket{le=\"0.004\",stage=\"queued\"} 100
order_service_command_stage_seconds_bucket{le=\"+Inf\",stage=\"queued\"} 100
order_service_relay_round_seconds_bucket{le=\"0.001\",part=\"committed\"} 4
order_service_relay_round_seconds_bucket{le=\"+Inf\",part=\"committed\"} 4
order_service_relay_round_seconds_bucket{le=\"0.002\",part=\"read\"} 4
order_service_relay_round_seconds_bucket{le=\"+Inf\",part=\"read\"} 4
";
        let names = |figures: &[StageFigures]| -> Vec<String> {
            figures.iter().map(|f| f.name.clone()).collect()
        };
        let figures = figures(text);
        // In the order a command passes them, not the text's; no round
        // part among them.
        assert_eq!(names(&figures), ["queued", "applied"]);
        assert_eq!(figures[0].count, 100);
        // 50 of 100 at or under 1 ms: the median is the bucket's top.
        assert!((figures[0].p50_ms - 1.0).abs() < 1e-9, "{figures:?}");
        // The 99th lies 9/10 into the 2-4 ms bucket.
        assert!((figures[0].p99_ms - 3.8).abs() < 1e-9, "{figures:?}");
        assert_eq!(figures[1].count, 0);
        assert_eq!(figures[1].p99_ms, 0.0);
        // The rounds' parts apart, in the order a round passes them.
        let parts = round_parts(text);
        assert_eq!(names(&parts), ["read", "committed"]);
        assert_eq!(parts[0].count, 4);
        assert!((parts[0].p50_ms - 1.0).abs() < 1e-9, "{parts:?}");
    }
}
