//! The command line: `order-service <verb>` and every verb's arguments.
//! The service's own settings (`serve`, `migrate`) come from
//! [`crate::config`]; verbs that talk to Kafka or PostgreSQL reuse its
//! connection settings, so each variable is declared once.

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use super::positions::PositionsArgs;
#[cfg(feature = "bench")]
use crate::config::KafkaConnection;
use crate::config::{DatabaseSettings, KafkaSettings, LogFormat, ServeSettings, parse_header};

#[derive(Debug, Parser)]
#[command(
    name = "order-service",
    version,
    about = "Event-driven order service: order commands from Kafka, applied to PostgreSQL, order events out"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<CliCommand>,

    /// Log output: human-readable, or one JSON object per line.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,
}

impl Cli {
    /// Parses the command line and environment (exits on `--help` or an
    /// error). In `--help`, a secret variable that is set says so; its
    /// value is never shown.
    pub fn parse_args() -> Self {
        let matches = mark_set_secrets(Self::command()).get_matches();
        Self::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
}

fn mark_set_secrets(command: clap::Command) -> clap::Command {
    command
        .mut_args(|arg| {
            let set = arg.is_hide_env_values_set()
                && arg
                    .get_env()
                    .is_some_and(|name| std::env::var_os(name).is_some());
            if set {
                let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
                arg.help(format!("{help} [set, value hidden]"))
            } else {
                arg
            }
        })
        .mut_subcommands(mark_set_secrets)
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Consume order commands, apply them and publish order events (default).
    Serve(Box<ServeSettings>),
    /// Apply the embedded database migrations and exit.
    Migrate(DatabaseSettings),
    /// Publish order commands: given as JSON (protobuf JSON mapping), as a
    /// file of JSON lines, or from flags (`send create-order --help`).
    Send(SendArgs),
    /// Print order events as JSON lines.
    Tail(TailArgs),
    /// Inspect and replay the dead-letter topic.
    Dlq(DlqArgs),
    /// Show the consumer group's positions on the command topic (the
    /// database's and Kafka's), or reset them while the group is empty.
    Positions(Box<PositionsArgs>),
    /// Measure: run the service as a child process on fresh topics and a
    /// fresh database, drive it with generated order lifecycles, verify every
    /// event, and print throughput, latency and memory.
    #[cfg(feature = "bench")]
    Bench(BenchArgs),
}

#[derive(Debug, Clone, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub kafka: KafkaSettings,

    /// OrderCommand objects in the protobuf JSON mapping, e.g.
    /// '{"orderId":"…","createOrder":{"userId":"u1","shippingAddress":"…","currency":"EUR"}}'.
    /// A missing commandId is generated; so is orderId for createOrder.
    /// With no argument, or "-", one object per line is read from stdin.
    pub json: Vec<String>,

    /// Read commands from a file of JSON lines (one OrderCommand per line).
    #[arg(long, short = 'f', value_name = "PATH")]
    pub file: Option<std::path::PathBuf>,

    /// Wait for each command's outcome and print the event it caused
    /// (or its CommandRejected); exit with status 2 when one was rejected.
    #[arg(long, global = true)]
    pub wait: bool,

    /// How long --wait waits for one command's event, in seconds.
    #[arg(long, default_value_t = 30, global = true)]
    pub wait_timeout_secs: u64,

    #[command(subcommand)]
    pub command: Option<crate::commands::Input>,
}

#[derive(Debug, Clone, Args)]
pub struct TailArgs {
    #[command(flatten)]
    pub kafka: KafkaSettings,

    /// Start at the oldest retained event and stop at the newest (unless
    /// --follow). Without it, wait for new events.
    #[arg(long)]
    pub from_beginning: bool,

    /// Keep waiting for new events after the last one.
    #[arg(long)]
    pub follow: bool,

    /// Only events of this order.
    #[arg(long)]
    pub order_id: Option<String>,

    /// Stop after this many events have been printed.
    #[arg(long)]
    pub max_events: Option<u64>,
}

#[derive(Debug, Clone, Args)]
pub struct DlqArgs {
    #[command(flatten)]
    pub kafka: KafkaSettings,

    /// Consumer group that remembers which dead letters were replayed.
    #[arg(
        long,
        env = "KAFKA_DLQ_REPLAY_GROUP",
        default_value = "order-service-dlq-replay"
    )]
    pub replay_group: String,

    #[command(subcommand)]
    pub command: DlqCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum DlqCommand {
    /// Print the dead letters not yet replayed as JSON lines (with the
    /// error, the original position, key, headers and payload).
    List {
        /// Every dead letter the topic holds, replayed or not.
        #[arg(long)]
        all: bool,
    },
    /// Publish the dead letters not yet replayed back to the command topic
    /// (original key, payload and headers), then remember them as replayed.
    /// Run it once the cause is fixed.
    Replay {
        /// Only the dead letter at PARTITION:OFFSET of the DLQ topic, among
        /// those not yet replayed (repeatable). Nothing is then remembered
        /// as replayed.
        #[arg(long, value_name = "PARTITION:OFFSET", value_parser = parse_position)]
        only: Vec<(i32, i64)>,
        /// Set a header on the replayed records, e.g. a forgotten
        /// content-type=application/json (repeatable).
        #[arg(long, value_name = "NAME=VALUE", value_parser = parse_header)]
        header: Vec<(String, String)>,
        /// Print what would be replayed; publish nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

fn parse_position(text: &str) -> Result<(i32, i64), String> {
    let (partition, offset) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not PARTITION:OFFSET"))?;
    Ok((
        partition
            .parse()
            .map_err(|_| format!("bad partition in {text:?}"))?,
        offset
            .parse()
            .map_err(|_| format!("bad offset in {text:?}"))?,
    ))
}

#[derive(Debug, Clone, Args)]
#[cfg(feature = "bench")]
pub struct BenchArgs {
    /// The PostgreSQL server to make the benchmark's databases on (the
    /// database name in DATABASE_URL is ignored; each run makes and drops
    /// its own).
    #[command(flatten)]
    pub database: DatabaseSettings,

    #[command(flatten)]
    pub kafka: KafkaConnection,

    /// Orders in the throughput run; each is create, items, payment,
    /// payment completed, confirm.
    #[arg(long, default_value_t = 30_000)]
    pub orders: usize,

    /// Items per order.
    #[arg(long, default_value_t = 3)]
    pub items: usize,

    /// BATCH_SIZE of the service in the throughput and steady runs.
    #[arg(long, default_value_t = 1000)]
    pub batch_size: u32,

    /// Orders in the comparison run with `--batch-size 1` (0 skips it).
    #[arg(long, default_value_t = 3_000)]
    pub baseline_orders: usize,

    /// Commands per second of the steady-rate run (0 skips it).
    #[arg(long, default_value_t = 1_000)]
    pub steady_rate: u32,

    /// Commands per second of a light steady run, as long as the steady
    /// one (0 skips it): the latency with the machine mostly idle, what
    /// the design costs before the cores are shared out.
    #[arg(long, default_value_t = 100)]
    pub light_rate: u32,

    /// Length of the steady-rate runs, in seconds.
    #[arg(long, default_value_t = 20)]
    pub steady_seconds: u64,

    /// Seconds of steady load (at --steady-rate, at least 1,000/s) before
    /// the measured runs, not counted: a broker just started spends its
    /// first minute compiling its own code (the JVM's JIT took a third of
    /// this machine's two cores), which no broker in service does (0 skips
    /// it).
    #[arg(long, default_value_t = 60)]
    pub warm_up_seconds: u64,

    /// Pairs of burst runs for the reads-beside-commands comparison: one
    /// run with `--readers` HTTP clients reading orders throughout, one
    /// without, alternating which goes first (0 skips it).
    #[arg(long, default_value_t = 3)]
    pub read_pairs: usize,

    /// Orders in each run of the reads comparison.
    #[arg(long, default_value_t = 6_000)]
    pub read_orders: usize,

    /// HTTP clients reading orders in the loaded runs.
    #[arg(long, default_value_t = 16)]
    pub readers: usize,

    /// Their reads per second in total (0: each reads back to back, as
    /// fast as the service answers).
    #[arg(long, default_value_t = 250)]
    pub read_rate: u32,

    /// Partitions of the benchmark's topics.
    #[arg(long, default_value_t = 6)]
    pub partitions: i32,

    /// Where to write results.md, the SVG plot and the service logs.
    #[arg(long, default_value = "bench")]
    pub out_dir: std::path::PathBuf,
}
