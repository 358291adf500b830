//! One benchmark run: fresh database (a `ScratchDatabase`) and topics, the
//! service as a child process, load in, events out, checks and figures.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use uuid::Uuid;

use super::cpu::{self, CpuUse};
use super::events::{Received, read_events};
use super::load::{Load, produce};
use super::measure::{percentile, rss_mb, timeline, window_rates};
use super::reads::{ReadLoad, Reads};
use super::service::{Topics, free_local_addr, start_service, stop};
use super::stages::{self, StageFigures};
use super::tables::{self, Storage};
use super::verify::{verify, verify_rows};
use crate::cli::BenchArgs;
use crate::db::{ScratchDatabase, scratch};
use crate::kafka;
use crate::loadgen::Workload;

pub struct PhaseSpec {
    pub name: &'static str,
    pub batch_size: u32,
    pub load: Load,
    pub seed: u64,
    /// HTTP clients reading orders while the commands go in (0: none).
    pub readers: usize,
    /// Their reads per second in total (0: each back to back).
    pub read_rate: u32,
}

/// Figures of one run.
pub struct PhaseResult {
    pub name: &'static str,
    pub batch_size: u32,
    pub commands: usize,
    pub seconds: f64,
    pub commands_per_second: f64,
    /// Send → event visible, in ms.
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub peak_rss_mb: f64,
    /// Events per second over the first and the last `window` events.
    pub window: usize,
    pub first_window_rate: f64,
    pub last_window_rate: f64,
    /// One sample per second of the run.
    pub timeline: Vec<Sample>,
    /// Orders read over HTTP during the run (with `PhaseSpec::readers`).
    pub reads: Reads,
    /// Where the commands' time went, from the service's metrics.
    pub stages: Vec<StageFigures>,
    /// Where the relay's committed rounds' time went, part by part.
    pub round_parts: Vec<StageFigures>,
    /// The service's batches (database transactions) and the relay's
    /// Kafka transactions, warm-up included.
    pub transactions: (u64, u64),
    /// Orders the batches decided on from the service's cache and read
    /// from the database, and batches applied again from fresh reads.
    pub cache: (u64, u64, u64),
    /// CPU by process from the first command sent to the last event read.
    pub cpu: CpuUse,
    /// What the run wrote, table by table (PostgreSQL's statistics).
    pub tables: Storage,
}

/// Events in the windows whose rates are compared for decay.
const DECAY_WINDOW: usize = 100_000;

/// The n-th sample covers second n of the run.
pub struct Sample {
    pub events: usize,
    pub p99_ms: f64,
    pub rss_mb: f64,
}

const ITEMS_PER_ORDER: usize = 3;
/// The warm-up order: create, one item, payment, payment completed, confirm.
const WARM_UP_COMMANDS: usize = 5;

pub async fn run(args: &BenchArgs, spec: &PhaseSpec) -> anyhow::Result<PhaseResult> {
    let mut rng = fastrand::Rng::with_seed(spec.seed);
    let items = if args.items == 0 {
        ITEMS_PER_ORDER
    } else {
        args.items
    };
    let per_order = items + 4;
    let orders = match spec.load {
        Load::Burst { orders } => orders,
        Load::Steady { rate, seconds } => (rate as usize * seconds as usize).div_ceil(per_order),
    };
    let workload = Workload::lifecycles(orders, items, &mut rng);
    let commands = workload.interleaved(&mut rng);

    let suffix = Uuid::new_v4().simple().to_string();
    let admin_url = scratch::sibling_url(&args.database.database_url, "postgres");
    let database = tokio::task::spawn_blocking(move || {
        ScratchDatabase::migrated(&admin_url, "order_service_bench")
    })
    .await?
    .context("creating the run's database")?;
    let topics = Topics {
        commands: format!("bench-commands-{suffix}"),
        events: format!("bench-events-{suffix}"),
        dlq: format!("bench-dlq-{suffix}"),
        relay: format!("bench-relay-{suffix}"),
    };
    kafka::ensure_topics(
        &args.kafka,
        &[&topics.commands, &topics.events, &topics.dlq],
        &kafka::TopicSpec {
            partitions: args.partitions,
            replication_factor: -1,
            configs: &[],
        },
    )
    .await
    .context("creating the topics")?;
    kafka::ensure_relay_topic(&args.kafka, &topics.relay, -1)
        .await
        .context("creating the relay's topic")?;

    let log = args.out_dir.join(format!(
        "service-{}.log",
        spec.name.replace([' ', ','], "-")
    ));
    let http_addr = free_local_addr()?;
    let mut service = start_service(
        args,
        spec,
        database.url(),
        &topics,
        &suffix,
        http_addr,
        &log,
    )?;
    let pid = service.id();

    // Events reader and RSS sampler run alongside the producer.
    let expected = commands.len();
    let reader = tokio::spawn(read_events(
        args.kafka.clone(),
        topics.events.clone(),
        args.partitions,
        expected + WARM_UP_COMMANDS,
    ));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut samples = Vec::new();
            while sampling.load(Ordering::Relaxed) {
                samples.push(rss_mb(pid, "VmRSS:").unwrap_or(0.0));
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            samples
        })
    };

    // Warm-up: one order through the service before the clock starts, so the
    // figures leave out its start (migrations, group join).
    let warm_up = Workload::lifecycles(1, 1, &mut rng);
    let warm_up_commands = warm_up.interleaved(&mut rng);
    produce(
        args,
        &topics.commands,
        &warm_up_commands,
        &Load::Burst { orders: 1 },
    )
    .await?;
    let warm_up_events = read_events(
        args.kafka.clone(),
        topics.events.clone(),
        args.partitions,
        warm_up_commands.len(),
    );
    tokio::time::timeout(Duration::from_secs(60), warm_up_events)
        .await
        .context("the service did not answer the warm-up order within 60 s")??;

    let url = database.url().to_owned();
    let watched = tokio::task::spawn_blocking(move || cpu::Watched::find(pid, &url)).await?;
    let cpu_start = cpu::snapshot(&watched);
    let started = Instant::now();
    let read_load = (spec.readers > 0).then(|| {
        let orders = workload.orders.iter().map(|o| o.order_id).collect();
        ReadLoad::start(http_addr, orders, spec.readers, spec.read_rate, spec.seed)
    });
    let sent = produce(args, &topics.commands, &commands, &spec.load).await?;
    eprintln!(
        "    all commands acknowledged by the broker after {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let timeout = Duration::from_secs(120 + expected as u64 / 500);
    let received = tokio::time::timeout(timeout, reader)
        .await
        .context("timed out waiting for the events")???;
    let reads = match read_load {
        Some(load) => load.finish().await.context("the read load")?,
        None => Reads::default(),
    };
    let received: Vec<Received> = received
        .into_iter()
        .filter(|r| sent.contains_key(&r.command_id))
        .collect();
    let cpu = cpu::between(&cpu_start, &cpu::snapshot(&watched));
    let metrics = stages::scrape(http_addr).await.unwrap_or_else(|e| {
        eprintln!("    (no stage figures: {e:#})");
        String::new()
    });
    let stages = stages::figures(&metrics);
    let round_parts = stages::round_parts(&metrics);
    let transactions = (
        stages::count(&metrics, "order_service_batch_size_count"),
        stages::count(&metrics, "order_service_relay_committed_rounds_total"),
    );
    let cache = (
        stages::sum(
            &metrics,
            "order_service_apply_orders_total",
            "source=\"cache\"",
        ),
        stages::sum(
            &metrics,
            "order_service_apply_orders_total",
            "source=\"database\"",
        ),
        stages::sum(&metrics, "order_service_apply_reapplied_batches_total", ""),
    );
    let peak_rss_mb = rss_mb(pid, "VmHWM:").unwrap_or(0.0);
    sampling.store(false, Ordering::Relaxed);
    let rss_samples = sampler.await?;
    stop(&mut service);

    verify(&workload, &received)?;
    verify_rows(database.url(), &workload)?;
    let tables = tables::read_after_run(database.url()).await;

    let last = received.iter().map(|r| r.at).max().unwrap_or(started);
    let seconds = last.duration_since(started).as_secs_f64();
    let mut latencies: Vec<f64> = received
        .iter()
        .filter_map(|r| Some(r.at.duration_since(*sent.get(&r.command_id)?).as_secs_f64() * 1e3))
        .collect();
    ensure!(latencies.len() == expected, "events for unknown commands");
    let timeline = timeline(&received, &sent, started, &rss_samples);
    let (window, first_window_rate, last_window_rate) =
        window_rates(&received, started, DECAY_WINDOW);
    latencies.sort_by(f64::total_cmp);
    Ok(PhaseResult {
        name: spec.name,
        batch_size: spec.batch_size,
        commands: expected,
        seconds,
        commands_per_second: expected as f64 / seconds,
        p50_ms: percentile(&latencies, 0.50),
        p95_ms: percentile(&latencies, 0.95),
        p99_ms: percentile(&latencies, 0.99),
        max_ms: latencies.last().copied().unwrap_or_default(),
        peak_rss_mb,
        window,
        first_window_rate,
        last_window_rate,
        timeline,
        reads,
        stages,
        round_parts,
        transactions,
        cache,
        cpu,
        tables,
    })
}
