//! The intake: how the consumer reads the command topic and applies it in
//! batches, lanes and retries, and when it leaves its group for the
//! database.

use std::time::Duration;

use clap::Args;

use super::env::Env;

#[derive(Debug, Clone, Args)]
pub struct IntakeSettings {
    /// Longest time the broker may hold a fetch that found nothing new, in
    /// ms. Kafka answers a waiting fetch as soon as a record arrives, so this
    /// adds no latency; it bounds how long a new assignment or a seek waits
    /// for the fetch in flight (librdkafka's default is 500).
    #[arg(long, env = "KAFKA_FETCH_WAIT_MAX_MS", default_value_t = 100)]
    pub fetch_wait_max_ms: u32,

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
}

impl IntakeSettings {
    pub fn batch_linger(&self) -> Duration {
        Duration::from_millis(self.batch_linger_ms)
    }

    /// `None`: never leave the group for the database.
    pub fn db_unreachable_leave(&self) -> Option<Duration> {
        (self.db_unreachable_leave_secs > 0)
            .then(|| Duration::from_secs(self.db_unreachable_leave_secs))
    }

    pub fn write_env(&self, env: &mut Env) {
        env.set("KAFKA_FETCH_WAIT_MAX_MS", self.fetch_wait_max_ms);
        env.set("BATCH_SIZE", self.batch_size);
        env.set("BATCH_MAX_BYTES", self.batch_max_bytes);
        env.set("BATCH_LINGER_MS", self.batch_linger_ms);
        env.set("APPLY_CONCURRENCY", self.apply_concurrency);
        env.set("QUARANTINE_AFTER_ATTEMPTS", self.quarantine_after_attempts);
        env.set("DB_UNREACHABLE_LEAVE_SECS", self.db_unreachable_leave_secs);
    }
}
