//! The housekeeper (retention, the backlog's measure) and what `/readyz`'s
//! body makes of that backlog.

use std::time::Duration;

use clap::Args;

use super::env::Env;

/// The housekeeper's timer and retention.
#[derive(Debug, Clone, Args)]
pub struct HousekeepingSettings {
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

    /// Ids per outbox partition. The housekeeper keeps two partitions' worth
    /// of ids made ahead of the sequence, and drops a partition once every
    /// id in it is published and its last row is older than RETENTION_SECS:
    /// an event is kept that long and until its partition is full. The
    /// outbox holds about RETENTION_SECS × rate ÷ this many partitions:
    /// keep that in the hundreds at most.
    #[arg(long, env = "OUTBOX_PARTITION_IDS", default_value_t = 4_000_000, value_parser = clap::value_parser!(i64).range(1..=1_000_000_000_000))]
    pub outbox_partition_ids: i64,
}

impl HousekeepingSettings {
    pub fn retention(&self) -> Duration {
        Duration::from_secs(self.retention_secs)
    }

    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.housekeeping_interval_ms)
    }

    pub fn write_env(&self, env: &mut Env) {
        env.set("RETENTION_SECS", self.retention_secs);
        env.set("HOUSEKEEPING_INTERVAL_MS", self.housekeeping_interval_ms);
        env.set("PURGE_BATCH_SIZE", self.purge_batch_size);
        env.set("OUTBOX_PARTITION_IDS", self.outbox_partition_ids);
    }
}

/// When `/readyz`'s body calls the relay lagging.
#[derive(Debug, Clone, Args)]
pub struct ReadinessSettings {
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

impl ReadinessSettings {
    pub fn write_env(&self, env: &mut Env) {
        env.set("READY_MAX_OUTBOX_AGE_SECS", self.ready_max_outbox_age_secs);
        env.set("READY_MAX_OUTBOX_BACKLOG", self.ready_max_outbox_backlog);
    }
}
