//! Settings for a test: the suite's one place that spells them out.

use super::{
    DatabaseSettings, GroupProtocol, GroupSettings, HousekeepingSettings, HttpSettings,
    IntakeSettings, KafkaConnection, KafkaSettings, ReadinessSettings, RelaySettings,
    ServeSettings, TopicSettings,
};

impl ServeSettings {
    /// Settings for a test (not the service's defaults): its database and
    /// broker, topics and group
    /// named with `suffix`, small pools and batches, a short session, the
    /// housekeeper every 200 ms, HTTP on a free port.
    #[doc(hidden)]
    pub fn for_tests(database_url: &str, bootstrap_servers: &str, suffix: &str) -> Self {
        Self {
            database: DatabaseSettings {
                database_url: database_url.to_owned(),
                pool_size: 4,
                statement_timeout_ms: 30_000,
                lock_timeout_ms: 10_000,
                idle_in_transaction_timeout_ms: 15_000,
            },
            kafka: KafkaSettings {
                connection: KafkaConnection::plaintext(bootstrap_servers),
                commands_topic: format!("commands-{suffix}"),
                events_topic: format!("events-{suffix}"),
                dlq_topic: format!("dlq-{suffix}"),
                relay_topic: Some(format!("relay-{suffix}")),
            },
            group: GroupSettings {
                group_id: format!("group-{suffix}"),
                protocol: GroupProtocol::Classic,
                instance_id: None,
                assignment_strategy: None,
                session_timeout_ms: Some(6_000),
            },
            topics: TopicSettings {
                create_topics: true,
                topic_partitions: 3,
                topic_replication_factor: -1,
                topic_config: Vec::new(),
            },
            intake: IntakeSettings {
                fetch_wait_max_ms: 100,
                batch_size: 200,
                batch_max_bytes: 8 * 1024 * 1024,
                batch_linger_ms: 2,
                apply_concurrency: 2,
                quarantine_after_attempts: 3,
                db_unreachable_leave_secs: 15,
            },
            relay: RelaySettings {
                batch_size: 500,
                poll_ms: 200,
                lease_secs: 10,
                transactional_id: None,
                producers: 2,
            },
            http: HttpSettings {
                http_addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                api_tokens: None,
                api_tokens_file: None,
                request_timeout_ms: 35_000,
                header_read_timeout_ms: 65_000,
                body_limit_bytes: 64 * 1024,
                concurrency_limit: 512,
                read_pool_size: 4,
                otlp_endpoint: None,
            },
            housekeeping: HousekeepingSettings {
                retention_secs: 7 * 24 * 3600,
                housekeeping_interval_ms: 200,
                purge_batch_size: 1000,
                outbox_partition_ids: 4_000_000,
            },
            readiness: ReadinessSettings {
                ready_max_outbox_age_secs: 60,
                ready_max_outbox_backlog: 100_000,
            },
        }
    }
}
