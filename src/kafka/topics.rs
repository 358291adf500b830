//! The topics the service creates (the command, event and dead-letter
//! topics, the relay's progress topic) and the command topic's retention.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

use super::{ErrorLog, client_config};
use crate::config::KafkaConnection;

/// How the topics the service creates are made.
#[derive(Debug, Clone)]
pub struct TopicSpec<'a> {
    pub partitions: i32,
    /// -1: the cluster's `default.replication.factor`.
    pub replication_factor: i32,
    /// Topic configs, e.g. `min.insync.replicas`, `retention.ms`.
    pub configs: &'a [(String, String)],
}

/// Creates the topics that do not exist yet; existing ones are left as they are.
pub async fn ensure_topics(
    connection: &KafkaConnection,
    topics: &[&str],
    spec: &TopicSpec<'_>,
) -> Result<(), KafkaError> {
    let admin: AdminClient<ErrorLog> = client_config(connection)?.create_with_context(ErrorLog)?;
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|name| {
            spec.configs.iter().fold(
                NewTopic::new(
                    name,
                    spec.partitions,
                    TopicReplication::Fixed(spec.replication_factor),
                ),
                |topic, (key, value)| topic.set(key, value),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in admin.create_topics(&new_topics, &options).await? {
        match result {
            Ok(topic) => tracing::info!(topic, partitions = spec.partitions, "created topic"),
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

/// Creates the relay's progress topic if it does not exist: one
/// partition (the relay reads it back from its end), compacted (only each
/// relay's last position matters), in segments of an hour so compaction
/// keeps it small.
pub async fn ensure_relay_topic(
    connection: &KafkaConnection,
    topic: &str,
    replication_factor: i32,
) -> Result<(), KafkaError> {
    let configs = [
        ("cleanup.policy".to_owned(), "compact".to_owned()),
        ("segment.ms".to_owned(), "3600000".to_owned()),
    ];
    let spec = TopicSpec {
        partitions: 1,
        replication_factor,
        configs: &configs,
    };
    ensure_topics(connection, &[topic], &spec).await
}

/// How long the command topic keeps a record at most: its `retention.ms`
/// plus `segment.ms` (a record is deleted with its segment, which is
/// closed up to `segment.ms` after it opened). `None` when retention is
/// unlimited (-1).
pub async fn longest_retention(
    connection: &KafkaConnection,
    topic: &str,
) -> Result<Option<Duration>, KafkaError> {
    let admin: AdminClient<ErrorLog> = client_config(connection)?.create_with_context(ErrorLog)?;
    let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
    let results = admin
        .describe_configs(&[ResourceSpecifier::Topic(topic)], &options)
        .await?;
    let resource = match results.into_iter().next() {
        Some(Ok(resource)) => resource,
        Some(Err(code)) => return Err(KafkaError::AdminOp(code)),
        None => return Err(KafkaError::AdminOpCreation("no answer".into())),
    };
    if resource.entries.is_empty() {
        // What Kafka answers for a topic that does not exist.
        return Err(KafkaError::AdminOp(
            RDKafkaErrorCode::UnknownTopicOrPartition,
        ));
    }
    let entries = resource.entry_map();
    let millis = |name: &str| -> Option<i64> {
        entries
            .get(name)
            .and_then(|entry| entry.value.as_deref())
            .and_then(|value| value.parse().ok())
    };
    match (millis("retention.ms"), millis("segment.ms")) {
        (Some(retention), Some(segment)) if retention >= 0 => Ok(Some(Duration::from_millis(
            (retention.max(0) + segment.max(0)) as u64,
        ))),
        _ => Ok(None),
    }
}
