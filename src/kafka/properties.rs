//! Every librdkafka property the service sets, in one module, from the
//! parts of its settings: how a client connects (brokers, TLS, SASL, a
//! properties file under the named settings), the reliable and the
//! transactional producer, the group's consumer, the relay's progress
//! reader. The CLI's and the bench's readers start from [`client_config`].

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaResult;

use super::config_error;
use crate::config::{
    ASSIGNMENT_STRATEGY, GroupProtocol, GroupSettings, IntakeSettings, KafkaConfigError,
    KafkaConnection, read_properties,
};

/// Base configuration of every client of the service: brokers, security,
/// the properties file (see [`KafkaConnection`]).
pub fn client_config(connection: &KafkaConnection) -> KafkaResult<ClientConfig> {
    let mut config = connection_config(connection).map_err(config_error)?;
    // A broker that refuses us (wrong password, untrusted certificate) is
    // retried with a backoff growing to 10 s, not in a tight loop.
    config
        .set("reconnect.backoff.ms", "100")
        .set("reconnect.backoff.max.ms", "10000");
    Ok(config)
}

/// How a client connects: the properties file first, then the named
/// settings over it.
fn connection_config(connection: &KafkaConnection) -> Result<ClientConfig, KafkaConfigError> {
    let mut config = ClientConfig::new();
    if let Some(path) = &connection.properties_file {
        for (name, value) in read_properties(path)? {
            config.set(name, value);
        }
    }
    config
        .set("bootstrap.servers", &connection.bootstrap_servers)
        .set("client.id", "order-service");
    if let Some(protocol) = connection.security_protocol {
        config.set("security.protocol", protocol.as_str());
    }
    if let Some(mechanism) = connection.sasl_mechanism {
        config.set("sasl.mechanism", mechanism.as_str());
    }
    if let Some(username) = &connection.sasl_username {
        config.set("sasl.username", username);
    }
    if let Some(password) = connection.password()? {
        config.set("sasl.password", password.expose());
    }
    for (name, path) in [
        ("ssl.ca.location", &connection.ssl_ca_location),
        (
            "ssl.certificate.location",
            &connection.ssl_certificate_location,
        ),
        ("ssl.key.location", &connection.ssl_key_location),
    ] {
        if let Some(path) = path {
            config.set(name, path.to_string_lossy());
        }
    }
    if let Some(password) = &connection.ssl_key_password {
        config.set("ssl.key.password", password.expose());
    }
    Ok(config)
}

/// A producer that never reorders or duplicates within a partition on
/// retries (`enable.idempotence`), and waits for all in-sync replicas;
/// compressed as `KAFKA_COMPRESSION_TYPE` says.
pub fn reliable_producer_config(connection: &KafkaConnection) -> KafkaResult<ClientConfig> {
    let mut config = client_config(connection)?;
    if let Some(compression) = connection.compression_type {
        config.set("compression.type", compression.as_str());
    }
    config
        .set("enable.idempotence", "true")
        .set("acks", "all")
        // The relay and the DLQ enqueue a whole round at once and then wait
        // for its acks, so records share requests without lingering; a long
        // linger would only add latency to every event.
        .set("linger.ms", "1")
        .set("message.timeout.ms", "30000");
    Ok(config)
}

/// The relay's producer: as [`reliable_producer_config`], transactional
/// under `transactional_id` (a new holder's `init_transactions` fences
/// every earlier producer with that id). A transaction the broker has not
/// seen committed within `timeout` is aborted by it (a paused holder's
/// open transaction holds back read_committed readers no longer); records
/// time out within it, so a record that cannot go aborts its round instead
/// of waiting forever.
pub fn relay_producer_config(
    connection: &KafkaConnection,
    transactional_id: &str,
    timeout: Duration,
) -> KafkaResult<ClientConfig> {
    let mut config = reliable_producer_config(connection)?;
    let millis = timeout.as_millis();
    config
        .set("transactional.id", transactional_id)
        .set("transaction.timeout.ms", millis.to_string())
        .set("message.timeout.ms", (millis * 4 / 5).to_string());
    Ok(config)
}

/// The command consumer: a member of `group`, reading as `intake` says;
/// positions stored by hand once a batch is durable (the database holds
/// the ones that count).
pub fn group_consumer_config(
    connection: &KafkaConnection,
    group: &GroupSettings,
    intake: &IntakeSettings,
) -> KafkaResult<ClientConfig> {
    let mut config = client_config(connection)?;
    // librdkafka's warnings at least, whatever the `log` crate's level:
    // the context counts position resets from them.
    if (config.log_level as i32) < (RDKafkaLogLevel::Warning as i32) {
        config.set_log_level(RDKafkaLogLevel::Warning);
    }
    for (name, value) in group_properties(group) {
        config.set(name, value);
    }
    config
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .set("fetch.wait.max.ms", intake.fetch_wait_max_ms.to_string())
        // librdkafka prefetches up to 64 MB per partition by default;
        // a few MB keep a batch ready and the memory flat.
        .set("queued.max.messages.kbytes", "4096")
        // One fetch response at most 8 MB (librdkafka's default is
        // 50 MB), still above the largest record a broker accepts.
        .set("fetch.max.bytes", "8388608")
        // Per-partition lag for the metrics and the topic's partition
        // count come from the statistics; the count from metadata
        // refreshed every 30 s (librdkafka's default is 5 min).
        .set("statistics.interval.ms", "5000")
        .set("topic.metadata.refresh.interval.ms", "30000");
    Ok(config)
}

/// The group's properties.
///
/// Classic: partitions are assigned cooperatively (`cooperative-sticky`):
/// a member that joins or leaves moves only the partitions that must
/// move, and every other partition keeps flowing through the
/// rebalance. A cooperative rebalance takes two rounds (revoke, then
/// assign), and members learn of a round from their heartbeat: one a
/// second (at most a third of the session) instead of librdkafka's 3 s
/// shortens the pause of a moved partition.
///
/// Consumer: the broker assigns incrementally too; session and
/// heartbeat are its settings, and librdkafka refuses them here.
fn group_properties(group: &GroupSettings) -> Vec<(&'static str, String)> {
    let mut properties = vec![("group.id", group.group_id.clone())];
    match group.protocol {
        GroupProtocol::Classic => {
            let session = group.session_timeout_ms();
            properties.extend([
                (
                    "partition.assignment.strategy",
                    group
                        .assignment_strategy
                        .clone()
                        .unwrap_or_else(|| ASSIGNMENT_STRATEGY.into()),
                ),
                ("session.timeout.ms", session.to_string()),
                (
                    "heartbeat.interval.ms",
                    (session / 3).min(1_000).to_string(),
                ),
            ]);
        }
        GroupProtocol::Consumer => properties.push(("group.protocol", "consumer".into())),
    }
    // Named, so a KAFKA_PROPERTIES_FILE cannot switch it.
    if group.protocol == GroupProtocol::Classic {
        properties.push(("group.protocol", "classic".into()));
    }
    if let Some(instance) = &group.instance_id {
        properties.push(("group.instance.id", instance.clone()));
    }
    properties
}

/// The relay's reader of its progress topic: committed records only,
/// from the start, saying when it reached the end.
pub fn progress_reader_config(
    connection: &KafkaConnection,
    key: &str,
) -> KafkaResult<ClientConfig> {
    let mut config = client_config(connection)?;
    config
        .set("group.id", format!("{key}-progress"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_committed");
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{SaslMechanism, Secret, SecurityProtocol};

    fn get(config: &ClientConfig, name: &str) -> Option<String> {
        config.get(name).map(str::to_owned)
    }

    #[test]
    fn named_settings_win_over_the_properties_file() {
        let dir = std::env::temp_dir().join(format!("kafka-props-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("client.properties");
        std::fs::write(
            &file,
            "# a comment\n\nsasl.username=from-file\nsocket.keepalive.enable = true\n",
        )
        .unwrap();
        let password = dir.join("password");
        std::fs::write(&password, "s3cret\n").unwrap();
        let mut connection = KafkaConnection::plaintext("b:9092");
        connection.properties_file = Some(file);
        connection.sasl_username = Some("alice".into());
        connection.sasl_password_file = Some(password);
        connection.security_protocol = Some(SecurityProtocol::SaslSsl);
        connection.sasl_mechanism = Some(SaslMechanism::ScramSha512);
        let config = connection_config(&connection).unwrap();
        assert_eq!(get(&config, "sasl.username").as_deref(), Some("alice"));
        assert_eq!(get(&config, "sasl.password").as_deref(), Some("s3cret"));
        assert_eq!(
            get(&config, "socket.keepalive.enable").as_deref(),
            Some("true")
        );
        assert_eq!(
            get(&config, "security.protocol").as_deref(),
            Some("SASL_SSL")
        );
        assert_eq!(
            get(&config, "sasl.mechanism").as_deref(),
            Some("SCRAM-SHA-512")
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn errors_and_debug_never_quote_a_secret() {
        let dir = std::env::temp_dir().join(format!("kafka-props-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("client.properties");
        std::fs::write(&file, "sasl.password=hunter2\nhunter2-without-equals\n").unwrap();
        let mut connection = KafkaConnection::plaintext("b:9092");
        connection.properties_file = Some(file);
        connection.sasl_password = Some(Secret::new("hunter2"));
        let error = connection_config(&connection).unwrap_err().to_string();
        assert!(error.contains("line 2"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        let debug = format!("{connection:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!connection.describe().contains("hunter2"));

        connection.properties_file = None;
        connection.sasl_password_file = Some(dir.join("missing"));
        assert!(matches!(
            connection_config(&connection),
            Err(KafkaConfigError::TwoPasswords)
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_static_member_sets_its_instance_id_and_every_member_is_cooperative() {
        let dynamic = group_properties(&GroupSettings::classic(None));
        assert!(dynamic.iter().all(|(name, _)| *name != "group.instance.id"));
        assert!(dynamic.contains(&("partition.assignment.strategy", "cooperative-sticky".into())));
        let fixed = group_properties(&GroupSettings::classic(Some("order-service-0")));
        assert!(fixed.contains(&("group.instance.id", "order-service-0".into())));
    }

    #[test]
    fn the_consumer_protocol_leaves_the_brokers_settings_to_the_broker() {
        let mut consumer = GroupSettings::classic(Some("order-service-0"));
        consumer.protocol = GroupProtocol::Consumer;
        let properties = group_properties(&consumer);
        assert!(properties.contains(&("group.protocol", "consumer".into())));
        assert!(properties.contains(&("group.instance.id", "order-service-0".into())));
        for forbidden in [
            "session.timeout.ms",
            "heartbeat.interval.ms",
            "partition.assignment.strategy",
        ] {
            assert!(
                properties.iter().all(|(name, _)| *name != forbidden),
                "{forbidden}"
            );
        }
    }
}
