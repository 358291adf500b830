//! Topic creation at start: whether, and with how many partitions, which
//! replication factor and which configs.

use clap::Args;

use super::env::Env;
use super::parse_header;

/// The topics the service creates at start, when told to.
#[derive(Debug, Clone, Args)]
pub struct TopicSettings {
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
}

impl TopicSettings {
    pub fn write_env(&self, env: &mut Env) {
        env.set("KAFKA_CREATE_TOPICS", self.create_topics);
        env.set("KAFKA_TOPIC_PARTITIONS", self.topic_partitions);
        env.set(
            "KAFKA_TOPIC_REPLICATION_FACTOR",
            self.topic_replication_factor,
        );
        if !self.topic_config.is_empty() {
            let configs: Vec<String> = self
                .topic_config
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            env.set("KAFKA_TOPIC_CONFIG", configs.join(","));
        }
    }
}
