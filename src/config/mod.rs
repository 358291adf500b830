//! Typed settings of the service, read from flags or environment variables
//! through clap, so `--help` documents every variable. Nothing else in the
//! crate reads the environment. The command line itself (verbs and their
//! arguments) lives in `cli::args`.
//!
//! `serve`'s settings nest by owner, as each component takes its part:
//! database, Kafka (connection and topic names), the consumer group, topic
//! creation, the intake (reading and applying), the relay, the HTTP front,
//! housekeeping and readiness. Each part writes itself back to environment
//! variables (`env.rs`) for the processes the tests and the bench start.

use clap::{Parser, ValueEnum};

mod choices;
mod database;
mod env;
mod for_tests;
mod group;
mod housekeeping;
mod http;
mod intake;
mod kafka;
mod relay;
mod secret;
mod topics;

pub use choices::{Compression, SaslMechanism, SecurityProtocol};
pub use database::DatabaseSettings;
pub use env::Env;
pub(crate) use group::ASSIGNMENT_STRATEGY;
pub use group::{GroupProtocol, GroupSettings};
pub use housekeeping::{HousekeepingSettings, ReadinessSettings};
pub use http::{ApiTokens, ApiTokensError, HttpSettings, Scope};
pub use intake::IntakeSettings;
pub(crate) use kafka::read_properties;
pub use kafka::{KafkaConfigError, KafkaConnection, KafkaSettings};
pub use relay::{MAX_RELAY_PRODUCERS, RelaySettings};
pub use secret::Secret;
pub use topics::TopicSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeSettings {
    #[command(flatten)]
    pub database: DatabaseSettings,

    #[command(flatten)]
    pub kafka: KafkaSettings,

    #[command(flatten)]
    pub group: GroupSettings,

    #[command(flatten)]
    pub topics: TopicSettings,

    #[command(flatten)]
    pub intake: IntakeSettings,

    #[command(flatten)]
    pub relay: RelaySettings,

    #[command(flatten)]
    pub http: HttpSettings,

    #[command(flatten)]
    pub housekeeping: HousekeepingSettings,

    #[command(flatten)]
    pub readiness: ReadinessSettings,
}

/// A combination of settings that cannot work, found at start.
#[derive(Debug, thiserror::Error)]
#[error("invalid settings: {0}")]
pub struct InvalidSettings(String);

impl ServeSettings {
    /// The rules the settings' docs state and clap cannot check alone.
    pub fn validate(&self) -> Result<(), InvalidSettings> {
        let invalid = |text: String| Err(InvalidSettings(text));
        if self.intake.apply_concurrency >= self.database.pool_size {
            return invalid(format!(
                "APPLY_CONCURRENCY ({}) must be below DATABASE_POOL_SIZE ({}): the \
                 housekeeper and the position lookup on rebalance need connections too",
                self.intake.apply_concurrency, self.database.pool_size
            ));
        }
        if let Err(error) = self.http.tokens() {
            return invalid(error.to_string());
        }
        if self.database.pool_size == 0 {
            return invalid("DATABASE_POOL_SIZE must be at least 1".into());
        }
        if self.topics.topic_partitions < 1 {
            return invalid(format!(
                "KAFKA_TOPIC_PARTITIONS ({}) must be at least 1",
                self.topics.topic_partitions
            ));
        }
        if self.topics.topic_replication_factor == 0 || self.topics.topic_replication_factor < -1 {
            return invalid(format!(
                "KAFKA_TOPIC_REPLICATION_FACTOR ({}) must be -1 (the cluster's default) or at least 1",
                self.topics.topic_replication_factor
            ));
        }
        if let Err(error) = self.group.check() {
            return invalid(error);
        }
        Ok(())
    }

    /// Every setting as the environment variable that sets it, for a
    /// process of the service started by a test or the bench.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = Env::default();
        self.database.write_env(&mut env);
        self.kafka.write_env(&mut env);
        self.group.write_env(&mut env);
        self.topics.write_env(&mut env);
        self.intake.write_env(&mut env);
        self.relay.write_env(&mut env);
        self.http.write_env(&mut env);
        self.housekeeping.write_env(&mut env);
        self.readiness.write_env(&mut env);
        env.into_vec()
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

    /// As [`from_env`](Self::from_env), but an error instead of an exit,
    /// checked ([`validate`](Self::validate)) too: for a process that starts
    /// the service (the bench) and has things to clean up.
    pub fn try_from_env() -> anyhow::Result<Self> {
        let settings = ServeOnly::try_parse_from(["order-service"])?.settings;
        settings.validate()?;
        Ok(settings)
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

    /// Every setting set to something other than its default, secrets and
    /// options included.
    fn everything_set() -> ServeSettings {
        let mut s = ServeSettings::for_tests("postgres://u@db:5433/orders", "k1:9093,k2:9093", "x");
        let kafka = &mut s.kafka.connection;
        kafka.security_protocol = Some(SecurityProtocol::SaslSsl);
        kafka.sasl_mechanism = Some(SaslMechanism::ScramSha512);
        kafka.sasl_username = Some("svc".into());
        kafka.sasl_password = Some(Secret::new("p,w=d"));
        kafka.sasl_password_file = Some("/run/secrets/kafka".into());
        kafka.ssl_ca_location = Some("/ca.pem".into());
        kafka.ssl_certificate_location = Some("/client.pem".into());
        kafka.ssl_key_location = Some("/client.key".into());
        kafka.ssl_key_password = Some(Secret::new("key"));
        kafka.compression_type = Some(Compression::Zstd);
        kafka.properties_file = Some("/extra.properties".into());
        s.group.instance_id = Some("order-service-0".into());
        s.group.assignment_strategy = Some("range,roundrobin".into());
        s.topics.topic_config = vec![
            ("retention.ms".into(), "60000".into()),
            ("cleanup.policy".into(), "delete".into()),
        ];
        s.relay.transactional_id = Some("relay-x".into());
        // Numbers distinct from each other and from the defaults: a value
        // written under another's variable shows.
        s.database.pool_size = 11;
        s.database.statement_timeout_ms = 12_001;
        s.database.lock_timeout_ms = 12_002;
        s.database.idle_in_transaction_timeout_ms = 12_003;
        s.group.session_timeout_ms = Some(12_004);
        s.topics.create_topics = false;
        s.topics.topic_partitions = 13;
        s.topics.topic_replication_factor = 14;
        s.intake.fetch_wait_max_ms = 15;
        s.intake.batch_size = 16;
        s.intake.batch_max_bytes = 17;
        s.intake.batch_linger_ms = 18;
        s.intake.apply_concurrency = 5;
        s.intake.quarantine_after_attempts = 19;
        s.intake.db_unreachable_leave_secs = 20;
        s.relay.batch_size = 21;
        s.relay.poll_ms = 22;
        s.relay.lease_secs = 23;
        s.relay.producers = 3;
        s.http.http_addr = std::net::SocketAddr::from(([10, 0, 0, 1], 24));
        s.http.request_timeout_ms = 25;
        s.http.header_read_timeout_ms = 26;
        s.http.body_limit_bytes = 27;
        s.http.concurrency_limit = 28;
        s.http.read_pool_size = 29;
        s.housekeeping.retention_secs = 30;
        s.housekeeping.housekeeping_interval_ms = 31;
        s.housekeeping.purge_batch_size = 32;
        s.housekeeping.outbox_partition_ids = 35;
        s.readiness.ready_max_outbox_age_secs = 33;
        s.readiness.ready_max_outbox_backlog = 34;
        s.http.api_tokens = Some(Secret::new("write:0123456789abcdef"));
        s.http.api_tokens_file = Some("/tokens".into());
        s.http.otlp_endpoint = Some("http://collector:4317".into());
        s
    }

    #[test]
    fn every_setting_goes_back_to_the_variable_clap_reads_it_from() {
        use clap::CommandFactory;
        let settings = everything_set();
        let env = settings.env();
        let command = ServeOnly::command();
        let declared: std::collections::BTreeSet<String> = command
            .get_arguments()
            .filter_map(|arg| arg.get_env())
            .map(|name| name.to_string_lossy().into_owned())
            .collect();
        let written: std::collections::BTreeSet<String> =
            env.iter().map(|(name, _)| (*name).to_owned()).collect();
        assert_eq!(declared, written, "variables clap reads vs. written");
        // Read back through the flags of those variables: the same settings
        // (secrets compared through their values).
        let mut argv = vec!["order-service".to_owned()];
        for (name, value) in &env {
            let arg = command
                .get_arguments()
                .find(|arg| arg.get_env().is_some_and(|env| env == *name))
                .expect("declared");
            argv.push(format!(
                "--{}={value}",
                arg.get_long().expect("a long flag")
            ));
        }
        let back = ServeOnly::try_parse_from(argv).expect("parses").settings;
        assert_eq!(format!("{back:?}"), format!("{settings:?}"));
        let secrets = |s: &ServeSettings| {
            [
                s.kafka.connection.sasl_password.clone(),
                s.kafka.connection.ssl_key_password.clone(),
                s.http.api_tokens.clone(),
            ]
        };
        assert_eq!(secrets(&back), secrets(&settings));
    }
}
