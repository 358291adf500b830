//! The consumer's librdkafka context: statistics (broker reachability, lag),
//! client errors (logged once, kept for `/readyz`), and the rebalance
//! callback that seeks every assigned partition to its position in
//! `consumer_offsets`.

use std::collections::HashSet;
use std::sync::Arc;

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use crate::kafka;
use crate::metrics::{Metrics, PartitionLabels};
use crate::processor::OffsetStore;

/// Seeks each newly assigned partition to its position in
/// `consumer_offsets`, and logs rebalances.
pub struct CommandConsumerContext {
    offsets: OffsetStore,
    metrics: Arc<Metrics>,
    errors: kafka::ErrorLog,
}

impl CommandConsumerContext {
    pub(super) fn new(offsets: OffsetStore, metrics: Arc<Metrics>) -> Self {
        Self {
            offsets,
            metrics,
            errors: kafka::ErrorLog,
        }
    }
}

impl ClientContext for CommandConsumerContext {
    /// Logged once (then once a minute), and kept for `/readyz` until a
    /// broker is up again.
    fn error(&self, error: KafkaError, reason: &str) {
        // "All brokers down" follows the failure that took them down: keep
        // naming that one.
        let generic = error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown);
        if !generic || self.metrics.kafka_error().is_none() {
            self.metrics
                .set_kafka_error(Some(format!("{error}: {reason}")));
        }
        self.errors.log(&error, reason);
    }

    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        self.errors.librdkafka_log(level, facility, message);
    }

    /// From librdkafka's statistics (every 5 s): whether a broker is
    /// reachable, and the lag gauges, per assigned partition the high
    /// watermark minus the stored (else committed) offset.
    fn stats(&self, statistics: Statistics) {
        // Real brokers have node ids >= 0 (the bootstrap entry has -1).
        self.metrics.set_broker_reachable(
            statistics
                .brokers
                .values()
                .any(|b| b.nodeid >= 0 && b.state == "UP"),
        );
        self.metrics.consumer_lag.clear();
        for (topic_name, topic) in &statistics.topics {
            for partition in topic.partitions.values() {
                if partition.partition < 0 || !partition.desired {
                    continue;
                }
                let lag = if partition.consumer_lag_stored >= 0 {
                    partition.consumer_lag_stored
                } else if partition.consumer_lag >= 0 {
                    partition.consumer_lag
                } else if partition.hi_offset >= 0 && partition.lo_offset >= 0 {
                    partition.hi_offset - partition.lo_offset
                } else {
                    continue;
                };
                self.metrics
                    .consumer_lag
                    .get_or_create(&PartitionLabels {
                        topic: topic_name.clone(),
                        partition: partition.partition,
                    })
                    .set(lag);
            }
        }
    }
}

impl ConsumerContext for CommandConsumerContext {
    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                tracing::info!(partitions = %describe(tpl), "partitions assigned");
                self.metrics.set_in_group(true);
                self.metrics.assigned_partitions.set(tpl.count() as i64);
                if let Err(e) = self.seek_to_stored(consumer, tpl) {
                    // Kafka's committed offsets are then used: at worst some
                    // commands are read again, which changes nothing.
                    tracing::warn!(error = %e, "cannot resume from consumer_offsets");
                }
            }
            Rebalance::Revoke(tpl) => {
                tracing::info!(partitions = %describe(tpl), "partitions revoked");
                self.metrics.set_in_group(false);
                self.metrics.assigned_partitions.set(0);
                self.metrics.consumer_lag.clear();
            }
            Rebalance::Error(e) => {
                tracing::warn!(error = %e, "rebalance error");
                self.metrics.set_in_group(false);
            }
        }
    }
}

impl CommandConsumerContext {
    /// Re-assigns the partitions with the offsets stored in the database.
    /// Runs inside librdkafka's rebalance callback, so the query blocks,
    /// bounded by the pool's connection timeout.
    fn seek_to_stored(
        &self,
        consumer: &BaseConsumer<Self>,
        assigned: &TopicPartitionList,
    ) -> anyhow::Result<()> {
        let topics: HashSet<String> = assigned
            .elements()
            .iter()
            .map(|e| e.topic().to_owned())
            .collect();
        let stored = self.offsets.stored(&topics)?;
        let mut tpl = assigned.clone();
        let mut resumed = Vec::new();
        for element in assigned.elements() {
            if let Some(offset) = stored.get(&(element.topic().to_owned(), element.partition())) {
                tpl.set_partition_offset(
                    element.topic(),
                    element.partition(),
                    Offset::Offset(*offset),
                )?;
                resumed.push(format!(
                    "{}/{}@{offset}",
                    element.topic(),
                    element.partition()
                ));
            }
        }
        if !resumed.is_empty() {
            consumer.assign(&tpl)?;
            tracing::info!(partitions = %resumed.join(","), "resumed from consumer_offsets");
        }
        Ok(())
    }
}

fn describe(tpl: &TopicPartitionList) -> String {
    tpl.elements()
        .iter()
        .map(|e| format!("{}/{}", e.topic(), e.partition()))
        .collect::<Vec<_>>()
        .join(",")
}
