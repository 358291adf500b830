//! The outbox relay: how it reads the outbox, and the publisher role it
//! holds while it publishes (a lease, and the Kafka transactional id that
//! fences earlier holders).

use std::time::Duration;

use clap::Args;

use super::env::Env;

/// Most producers the relay may take in turn (`RELAY_PRODUCERS`); every
/// term start fences this many transactional ids.
pub const MAX_RELAY_PRODUCERS: u32 = 4;

#[derive(Debug, Clone, Args)]
pub struct RelaySettings {
    /// Most outbox rows the relay reads from the table per round, and so
    /// publishes in one Kafka transaction (each costs a commit: a few
    /// milliseconds of the broker's).
    #[arg(id = "relay_batch_size", long = "relay-batch-size", env = "RELAY_BATCH_SIZE", default_value_t = 5000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch_size: u32,

    /// How often the relay looks for unpublished events when nothing told it
    /// to, in ms (events written by other instances, rows left by a crash).
    #[arg(id = "relay_poll_ms", long = "relay-poll-ms", env = "RELAY_POLL_MS", default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    pub poll_ms: u64,

    /// Length of the publisher's lease, in seconds. The holder renews it
    /// every fifth of it and stops publishing before it ends; when the
    /// holder is gone (crashed, paused, cut off) another instance takes
    /// over once it has passed. It is also the Kafka transaction timeout:
    /// a paused holder's open transaction holds back read_committed
    /// readers for no longer.
    #[arg(long, env = "PUBLISHER_LEASE_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(2..=900))]
    pub lease_secs: u64,

    /// The relay's Kafka `transactional.id`. Unset: the one kept in the
    /// database (`outbox_relay.transactional_id`, drawn by the migration),
    /// shared by every instance on that database, so each new publisher
    /// fences the one before. Set it only to match an ACL, and the same
    /// on every instance of the deployment.
    #[arg(long, env = "RELAY_TRANSACTIONAL_ID")]
    pub transactional_id: Option<String>,

    /// Transactional producers the publisher takes in turn, one round's
    /// transaction each (the ids after the first are the transactional id
    /// with `-1`, `-2`, `-3`; all four are fenced at every term start): the
    /// broker finishes a committed transaction after answering its commit,
    /// and the same id waits for it.
    #[arg(id = "relay_producers", long = "relay-producers", env = "RELAY_PRODUCERS", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=MAX_RELAY_PRODUCERS as i64))]
    pub producers: u32,
}

impl RelaySettings {
    pub fn poll(&self) -> Duration {
        Duration::from_millis(self.poll_ms)
    }

    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs)
    }

    pub fn write_env(&self, env: &mut Env) {
        env.set("RELAY_BATCH_SIZE", self.batch_size);
        env.set("RELAY_POLL_MS", self.poll_ms);
        env.set("PUBLISHER_LEASE_SECS", self.lease_secs);
        env.set_some("RELAY_TRANSACTIONAL_ID", self.transactional_id.as_ref());
        env.set("RELAY_PRODUCERS", self.producers);
    }
}
