//! `order-service bench`: the load generator and the report.
//!
//! First, unless `--warm-up-seconds 0`, a minute of steady load that is
//! not counted: the broker warms up (its JIT) as a broker in service has.
//! Each run starts the service as a child process (this same binary,
//! `serve`) on fresh topics and a fresh database, publishes generated order
//! lifecycles, reads every event back, checks count and content against the
//! plan, and measures: commands per second from the first send to the last
//! event, latency from send to event visible, the service's peak RSS, and
//! where the time went (its stage histograms, [`stages`]) and what it
//! wrote into PostgreSQL, rows and index entries per command ([`tables`]).
//! Runs: a burst with batching, the same with `BATCH_SIZE=1`, a steady
//! rate for latency under normal load, a light one for the latency with
//! the machine mostly idle, and pairs of bursts with and
//! without HTTP clients reading orders throughout (reads must leave
//! command throughput at ≥ 80% of its rate without them). The service inherits the bench's
//! environment (`RUST_LOG`, `APPLY_CONCURRENCY`, `KAFKA_FETCH_WAIT_MAX_MS`,
//! …), so its settings can be varied from run to run.

mod cpu;
mod events;
mod load;
mod measure;
mod phase;
mod reads;
mod report;
mod service;
mod stages;
mod tables;
mod verify;

use anyhow::Context;

use crate::cli::BenchArgs;
use load::Load;
use phase::PhaseSpec;

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.read_pairs == 0 || args.readers > 0,
        "--read-pairs needs at least one reader (--readers)"
    );
    std::fs::create_dir_all(&args.out_dir).context("creating the output folder")?;
    let mut results = Vec::new();
    let mut seed = fastrand::u64(..);
    let mut spec = |name: &'static str, batch_size: u32, load: Load| {
        seed = seed.wrapping_add(1);
        PhaseSpec {
            name,
            batch_size,
            load,
            seed,
            readers: 0,
            read_rate: 0,
        }
    };
    if args.warm_up_seconds > 0 {
        let warm_up = spec(
            "warm-up, not counted",
            args.batch_size,
            Load::Steady {
                rate: args.steady_rate.max(1000),
                seconds: args.warm_up_seconds,
            },
        );
        run_phase(&args, &warm_up).await?;
    }
    let mut phases = vec![spec(
        "burst",
        args.batch_size,
        Load::Burst {
            orders: args.orders,
        },
    )];
    if args.baseline_orders > 0 {
        phases.push(spec(
            "burst, one transaction per command",
            1,
            Load::Burst {
                orders: args.baseline_orders,
            },
        ));
    }
    if args.steady_rate > 0 {
        phases.push(spec(
            "steady rate",
            args.batch_size,
            Load::Steady {
                rate: args.steady_rate,
                seconds: args.steady_seconds,
            },
        ));
    }
    if args.light_rate > 0 {
        phases.push(spec(
            "light rate",
            args.batch_size,
            Load::Steady {
                rate: args.light_rate,
                seconds: args.steady_seconds,
            },
        ));
    }
    for spec in phases {
        results.push(run_phase(&args, &spec).await?);
    }
    // Alternating which run of a pair goes first: a drift of the machine's
    // speed during a pair then favours each side as often.
    let mut read_pairs = Vec::new();
    for pair in 0..args.read_pairs {
        let mut burst = |readers| PhaseSpec {
            readers,
            read_rate: args.read_rate,
            ..spec(
                if readers > 0 {
                    "burst beside reads"
                } else {
                    "burst, no reads"
                },
                args.batch_size,
                Load::Burst {
                    orders: args.read_orders,
                },
            )
        };
        let (first, second) = if pair % 2 == 0 {
            (burst(0), burst(args.readers))
        } else {
            (burst(args.readers), burst(0))
        };
        let (first, second) = (
            run_phase(&args, &first).await?,
            run_phase(&args, &second).await?,
        );
        read_pairs.push(if pair % 2 == 0 {
            (first, second)
        } else {
            (second, first)
        });
    }
    let ceiling = report::read_ceiling(&args.out_dir);
    let mut text = report::markdown(&results, ceiling.as_ref());
    if !read_pairs.is_empty() {
        text.push_str(&report::reads_beside_commands(
            &read_pairs,
            args.readers,
            args.read_rate,
        ));
    }
    println!("{text}");
    std::fs::write(args.out_dir.join("results.md"), &text).context("writing results.md")?;
    std::fs::write(args.out_dir.join("throughput.svg"), report::svg(&results))
        .context("writing throughput.svg")?;
    eprintln!(
        "==> wrote {} and {}",
        args.out_dir.join("results.md").display(),
        args.out_dir.join("throughput.svg").display()
    );
    Ok(())
}

async fn run_phase(args: &BenchArgs, spec: &PhaseSpec) -> anyhow::Result<phase::PhaseResult> {
    eprintln!(
        "==> bench: {} (BATCH_SIZE={}{})",
        spec.name,
        spec.batch_size,
        if spec.readers > 0 {
            format!(", {} HTTP readers", spec.readers)
        } else {
            String::new()
        }
    );
    let result = phase::run(args, spec)
        .await
        .with_context(|| format!("bench run {:?}", spec.name))?;
    eprintln!("    {}", report::one_line(&result));
    if !result.stages.is_empty() {
        eprintln!("    stages: {}", report::stages_line(&result));
    }
    eprintln!("    cpu: {}", cpu::line(&result.cpu, result.commands));
    if !result.tables.writes.is_empty() {
        eprintln!(
            "    storage: {}",
            tables::line(&result.tables.writes, result.commands)
        );
        eprintln!("    sizes: {}", tables::sizes_line(&result.tables.sizes));
    }
    Ok(result)
}
