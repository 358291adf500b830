//! Typed settings of the service, read from flags or environment variables
//! through clap, so `--help` documents every variable. Nothing else in the
//! crate reads the environment. The command line itself (verbs and their
//! arguments) lives in `cli::args`.

use std::time::Duration;

use clap::{Args, Parser, ValueEnum};

mod group;
mod http;
mod kafka;
mod relay;

pub use group::{GroupProtocol, GroupSettings};
pub use http::{ApiTokens, ApiTokensError, HttpSettings, Scope};
pub use kafka::{
    Compression, KafkaConfigError, KafkaConnection, SaslMechanism, Secret, SecurityProtocol,
};
pub use relay::RelaySettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseSettings {
    /// PostgreSQL connection URL, as the service's own role (the owner of
    /// its database, no superuser); the password in the URL, PGPASSWORD or
    /// ~/.pgpass.
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "postgres://order_service@127.0.0.1:5432/order_service"
    )]
    pub database_url: String,

    /// Connections in the pool (and database calls in flight at once).
    #[arg(long, env = "DATABASE_POOL_SIZE", default_value_t = 8)]
    pub pool_size: u32,

    /// Longest a statement may run, in ms (PostgreSQL statement_timeout).
    #[arg(long, env = "DATABASE_STATEMENT_TIMEOUT_MS", default_value_t = 30_000)]
    pub statement_timeout_ms: u64,

    /// Longest a statement waits for a row lock, in ms (lock_timeout): an
    /// instance that froze while holding an order's lock cannot block the
    /// others for longer.
    #[arg(long, env = "DATABASE_LOCK_TIMEOUT_MS", default_value_t = 10_000)]
    pub lock_timeout_ms: u64,

    /// How long the server keeps a session that sits idle inside a
    /// transaction, in ms (idle_in_transaction_session_timeout): a frozen
    /// instance's transaction is ended and its locks released.
    #[arg(
        long,
        env = "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS",
        default_value_t = 15_000
    )]
    pub idle_in_transaction_timeout_ms: u64,
}

#[derive(Debug, Clone, Args)]
pub struct KafkaSettings {
    #[command(flatten)]
    pub connection: KafkaConnection,

    /// Topic the order commands arrive on (key = order_id).
    #[arg(long, env = "KAFKA_COMMANDS_TOPIC", default_value = "order-commands")]
    pub commands_topic: String,

    /// Topic the order events are published to (key = order_id).
    #[arg(long, env = "KAFKA_EVENTS_TOPIC", default_value = "order-events")]
    pub events_topic: String,

    /// Topic for commands that cannot be decoded (original key and bytes kept).
    #[arg(long, env = "KAFKA_DLQ_TOPIC", default_value = "order-commands-dlq")]
    pub dlq_topic: String,

    /// The relay's progress topic (compacted, one partition): written only
    /// inside the relay's Kafka transactions, it says exactly which events
    /// were published. Unset: the events topic's name and `-relay`
    /// (`order-events-relay`).
    #[arg(long, env = "KAFKA_RELAY_TOPIC")]
    pub relay_topic: Option<String>,
}

impl KafkaSettings {
    /// The relay's progress topic (see `relay_topic`).
    pub fn relay_topic(&self) -> String {
        self.relay_topic
            .clone()
            .unwrap_or_else(|| format!("{}-relay", self.events_topic))
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeSettings {
    #[command(flatten)]
    pub database: DatabaseSettings,

    #[command(flatten)]
    pub kafka: KafkaSettings,

    #[command(flatten)]
    pub group: GroupSettings,

    /// Longest time the broker may hold a fetch that found nothing new, in
    /// ms. Kafka answers a waiting fetch as soon as a record arrives, so this
    /// adds no latency; it bounds how long a new assignment or a seek waits
    /// for the fetch in flight (librdkafka's default is 500).
    #[arg(long, env = "KAFKA_FETCH_WAIT_MAX_MS", default_value_t = 100)]
    pub fetch_wait_max_ms: u32,

    /// Create the three topics at start when they are missing. Off by
    /// default: in production topics are made on purpose (scripts/run and
    /// the compose stack turn it on).
    #[arg(long, env = "KAFKA_CREATE_TOPICS", default_value_t = false, action = clap::ArgAction::Set)]
    pub create_topics: bool,

    /// Partitions of topics created at start; the instances of one group
    /// share the command topic's partitions.
    #[arg(long, env = "KAFKA_TOPIC_PARTITIONS", default_value_t = 6)]
    pub topic_partitions: i32,

    /// Replication factor of topics created at start; -1 takes the
    /// cluster's default.replication.factor.
    #[arg(long, env = "KAFKA_TOPIC_REPLICATION_FACTOR", default_value_t = -1, allow_negative_numbers = true)]
    pub topic_replication_factor: i32,

    /// Configs of topics created at start, comma-separated name=value, e.g.
    /// min.insync.replicas=2,retention.ms=604800000,cleanup.policy=delete.
    #[arg(long, env = "KAFKA_TOPIC_CONFIG", value_name = "NAME=VALUE,...", value_delimiter = ',', value_parser = parse_header)]
    pub topic_config: Vec<(String, String)>,

    /// Most commands applied in one database transaction. 1 gives one
    /// transaction per command.
    #[arg(long, env = "BATCH_SIZE", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=5000))]
    pub batch_size: u32,

    /// Most bytes of records (key, payload, headers) in one batch: 1,000
    /// records of 1 MB must not be held at once.
    #[arg(long, env = "BATCH_MAX_BYTES", default_value_t = 8 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch_max_bytes: u64,

    /// How long a batch waits for more commands once it has one, in ms.
    #[arg(long, env = "BATCH_LINGER_MS", default_value_t = 2)]
    pub batch_linger_ms: u64,

    /// Lanes: transactions applied at once, each lane over its own
    /// partitions (partition modulo lanes; orders never share one). More
    /// use more cores of the database; keep it below DATABASE_POOL_SIZE.
    #[arg(long, env = "APPLY_CONCURRENCY", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub apply_concurrency: u32,

    /// Failed attempts at a batch before it is applied one command per
    /// transaction, and a command that fails that often alone (while the
    /// database answers) is dead-lettered as quarantined.
    #[arg(long, env = "QUARANTINE_AFTER_ATTEMPTS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub quarantine_after_attempts: u32,

    /// Seconds without an answer from the database (a ping every second)
    /// after which this instance leaves the consumer group, so the others
    /// take its partitions; it joins again once the database answers.
    /// 0: never leave.
    #[arg(long, env = "DB_UNREACHABLE_LEAVE_SECS", default_value_t = 15)]
    pub db_unreachable_leave_secs: u64,

    #[command(flatten)]
    pub relay: RelaySettings,

    #[command(flatten)]
    pub http: HttpSettings,

    /// How long published outbox rows and processed_commands rows are kept,
    /// in seconds. A command delivered again after its row is purged is
    /// applied again: keep this longer than the command topic's retention.ms
    /// plus segment.ms (the service warns at start when it is not). The
    /// default, 15 days, exceeds Kafka's defaults (7 + 7 days).
    #[arg(long, env = "RETENTION_SECS", default_value_t = 15 * 24 * 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub retention_secs: u64,

    /// How often the housekeeper measures the outbox backlog and purges
    /// expired rows, in ms.
    #[arg(long, env = "HOUSEKEEPING_INTERVAL_MS", default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub housekeeping_interval_ms: u64,

    /// Most rows one purge statement deletes (small batches keep locks and
    /// WAL bursts short).
    #[arg(long, env = "PURGE_BATCH_SIZE", default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub purge_batch_size: u32,

    /// /readyz's body marks the relay as lagging when the oldest unpublished
    /// outbox row is older than this, in seconds (the relay is not keeping
    /// up or cannot publish). Never a 503: see `http::health`.
    #[arg(long, env = "READY_MAX_OUTBOX_AGE_SECS", default_value_t = 60)]
    pub ready_max_outbox_age_secs: u64,

    /// /readyz's body marks the relay as lagging when more outbox rows than
    /// this wait for publication.
    #[arg(long, env = "READY_MAX_OUTBOX_BACKLOG", default_value_t = 100_000)]
    pub ready_max_outbox_backlog: i64,
}

/// A combination of settings that cannot work, found at start.
#[derive(Debug, thiserror::Error)]
#[error("invalid settings: {0}")]
pub struct InvalidSettings(String);

impl ServeSettings {
    /// The rules the settings' docs state and clap cannot check alone.
    pub fn validate(&self) -> Result<(), InvalidSettings> {
        let invalid = |text: String| Err(InvalidSettings(text));
        if self.apply_concurrency >= self.database.pool_size {
            return invalid(format!(
                "APPLY_CONCURRENCY ({}) must be below DATABASE_POOL_SIZE ({}): the \
                 housekeeper and the position lookup on rebalance need connections too",
                self.apply_concurrency, self.database.pool_size
            ));
        }
        if let Err(error) = self.http.tokens() {
            return invalid(error.to_string());
        }
        if self.database.pool_size == 0 {
            return invalid("DATABASE_POOL_SIZE must be at least 1".into());
        }
        if self.topic_partitions < 1 {
            return invalid(format!(
                "KAFKA_TOPIC_PARTITIONS ({}) must be at least 1",
                self.topic_partitions
            ));
        }
        if self.topic_replication_factor == 0 || self.topic_replication_factor < -1 {
            return invalid(format!(
                "KAFKA_TOPIC_REPLICATION_FACTOR ({}) must be -1 (the cluster's default) or at least 1",
                self.topic_replication_factor
            ));
        }
        if let Err(error) = self.group.check() {
            return invalid(error);
        }
        Ok(())
    }

    pub fn batch_linger(&self) -> Duration {
        Duration::from_millis(self.batch_linger_ms)
    }

    /// `None`: never leave the group for the database.
    pub fn db_unreachable_leave(&self) -> Option<Duration> {
        (self.db_unreachable_leave_secs > 0)
            .then(|| Duration::from_secs(self.db_unreachable_leave_secs))
    }

    pub fn retention(&self) -> Duration {
        Duration::from_secs(self.retention_secs)
    }

    pub fn housekeeping_interval(&self) -> Duration {
        Duration::from_millis(self.housekeeping_interval_ms)
    }
}

/// `NAME=VALUE` (a header, a topic config).
pub(crate) fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not NAME=VALUE"))?;
    Ok((name.to_owned(), value.to_owned()))
}

/// `serve`'s settings from the environment and defaults alone, for when no
/// verb is given.
#[derive(Debug, Parser)]
struct ServeOnly {
    #[command(flatten)]
    settings: ServeSettings,
}

impl ServeSettings {
    pub fn from_env() -> Self {
        ServeOnly::parse_from(["order-service"]).settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> ServeSettings {
        let mut argv = vec!["order-service"];
        argv.extend_from_slice(args);
        ServeOnly::try_parse_from(argv).expect("parses").settings
    }

    #[test]
    fn the_defaults_are_valid() {
        serve(&[]).validate().unwrap();
    }

    #[test]
    fn rules_between_settings_are_checked_with_a_clear_error() {
        let error = serve(&["--apply-concurrency", "8", "--pool-size", "8"])
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("APPLY_CONCURRENCY (8) must be below DATABASE_POOL_SIZE (8)"),
            "{error}"
        );
        assert!(serve(&["--topic-partitions", "0"]).validate().is_err());
        assert!(
            serve(&["--topic-replication-factor", "0"])
                .validate()
                .is_err()
        );
        assert!(
            serve(&["--topic-replication-factor", "-1"])
                .validate()
                .is_ok()
        );
        assert!(serve(&["--session-timeout-ms", "10"]).validate().is_err());
    }
}
