//! Kafka client settings shared by the consumer and the producers, the
//! command record, and topic creation.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use rdkafka::types::RDKafkaErrorCode;

use crate::proto::{self, OrderCommand};

/// Base configuration of every client of the service.
pub fn client_config(bootstrap_servers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap_servers)
        .set("client.id", "order-service");
    config
}

/// A producer that never reorders or duplicates within a partition on
/// retries (`enable.idempotence`), and waits for all in-sync replicas.
pub fn reliable_producer_config(bootstrap_servers: &str) -> ClientConfig {
    let mut config = client_config(bootstrap_servers);
    config
        .set("enable.idempotence", "true")
        .set("acks", "all")
        // The relay and the DLQ enqueue a whole round at once and then wait
        // for its acks, so records share requests without lingering; a long
        // linger would only add latency to every event.
        .set("linger.ms", "1")
        .set("message.timeout.ms", "30000");
    config
}

/// An `OrderCommand` record as the service expects it: protobuf bytes
/// (`payload`, the command encoded), key = order_id, `content-type` header.
pub fn command_record<'a>(
    topic: &'a str,
    command: &'a OrderCommand,
    payload: &'a [u8],
) -> FutureRecord<'a, str, [u8]> {
    let headers = OwnedHeaders::new().insert(Header {
        key: "content-type",
        value: Some(proto::CONTENT_TYPE_PROTOBUF),
    });
    FutureRecord::to(topic)
        .key(command.order_id.as_str())
        .payload(payload)
        .headers(headers)
}

/// The relay's producer: as [`reliable_producer_config`], but a record never
/// times out. A timed-out record followed by an acknowledged one of the same
/// order would put that order's events out of order on the topic; without a
/// timeout librdkafka keeps them queued, in order, until the broker is back.
/// The relay bounds its own wait instead (see `OutboxRelay`).
pub fn relay_producer_config(bootstrap_servers: &str) -> ClientConfig {
    let mut config = reliable_producer_config(bootstrap_servers);
    config.set("message.timeout.ms", "0");
    config
}

/// Creates the topics that do not exist yet; existing ones are left as they are.
pub async fn ensure_topics(
    bootstrap_servers: &str,
    topics: &[&str],
    partitions: i32,
) -> Result<(), KafkaError> {
    let admin: AdminClient<DefaultClientContext> = client_config(bootstrap_servers).create()?;
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|name| NewTopic::new(name, partitions, TopicReplication::Fixed(1)))
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in admin.create_topics(&new_topics, &options).await? {
        match result {
            Ok(topic) => tracing::info!(topic, partitions, "created topic"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(KafkaError::AdminOp(code)).inspect_err(|_| {
                    tracing::error!(topic, error = %code, "cannot create topic");
                });
            }
        }
    }
    Ok(())
}
