//! The consumer's librdkafka context: statistics (broker reachability, lag),
//! client errors (logged once, kept for `/readyz`), and the rebalance
//! callback that starts every assigned partition at its position in
//! `consumer_offsets`, cooperatively: only the partitions that move are
//! assigned or revoked.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::KafkaError;
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::client::Refusal;
use crate::kafka;
use crate::metrics::{Membership, Metrics, PartitionLabels};
use crate::processor::{OffsetStore, OrderCache};

/// Starts each newly assigned partition at its position in
/// `consumer_offsets`, and logs and shows rebalances.
pub struct CommandConsumerContext {
    offsets: OffsetStore,
    /// What the batches know of the orders: forgotten where partitions move.
    cache: OrderCache,
    metrics: Arc<Metrics>,
    errors: kafka::ErrorLog,
    /// The command topic, whose partitions `/readyz` lists.
    topic: String,
    /// KAFKA_GROUP_INSTANCE_ID, shown beside the member id.
    instance_id: Option<String>,
    /// When the revoke that opened the current rebalance came: its
    /// duration is logged when the assignment closes it.
    revoked_at: std::sync::Mutex<Option<Instant>>,
    /// The broker's refusal of the static id, which an assignment ends.
    refusal: Arc<Refusal>,
}

impl CommandConsumerContext {
    pub(super) fn new(
        offsets: OffsetStore,
        cache: OrderCache,
        metrics: Arc<Metrics>,
        topic: &str,
        instance_id: Option<String>,
        refusal: Arc<Refusal>,
    ) -> Self {
        Self {
            offsets,
            cache,
            metrics,
            errors: kafka::ErrorLog,
            topic: topic.to_owned(),
            instance_id,
            revoked_at: std::sync::Mutex::new(None),
            refusal,
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
        // librdkafka warns (facility OFFSET) only when a position was out
        // of range; a new group's first reset is a debug line.
        if facility == "OFFSET" && (level as i32) <= (RDKafkaLogLevel::Warning as i32) {
            self.metrics.offset_resets.inc();
            tracing::error!(
                librdkafka = message,
                "librdkafka reset a position of the command topic (auto.offset.reset=earliest; \
                 its message says which and why): below the log's start, commands deleted by \
                 retention were never applied; beyond its end, the topic was recreated (run \
                 `order-service positions reset`); see `order-service positions show`"
            );
            return;
        }
        // librdkafka says FATAL once per client refused the static id, a
        // client a second while the broker holds it: the refusal is logged
        // (every 30 s) where the client is built again.
        if facility == "FATAL" && message.contains("instance ID is still used") {
            tracing::debug!(librdkafka = message, "static id refused");
            return;
        }
        self.errors.librdkafka_log(level, facility, message);
    }

    /// From librdkafka's statistics (every 5 s): whether a broker is
    /// reachable, the command topic's partition count, and the lag gauges,
    /// per assigned partition the high watermark minus the stored (else
    /// committed) offset.
    fn stats(&self, statistics: Statistics) {
        // Real brokers have node ids >= 0 (the bootstrap entry has -1).
        self.metrics.set_broker_reachable(
            statistics
                .brokers
                .values()
                .any(|b| b.nodeid >= 0 && b.state == "UP"),
        );
        if let Some(topic) = statistics.topics.get(&self.topic) {
            // Every partition the metadata knows (-1 is librdkafka's
            // unassigned queue).
            let count = topic
                .partitions
                .values()
                .filter(|p| p.partition >= 0)
                .count();
            if count > 0 {
                self.metrics.topic.partitions.set(count as i64);
            }
        }
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
    /// Takes over librdkafka's default rebalance handling, to start each
    /// newly assigned partition at its position in `consumer_offsets`:
    /// the positions are set on the partitions before they are assigned.
    /// Under cooperative assignment only the partitions that move are in
    /// `tpl`, and they are added or removed incrementally (librdkafka
    /// refuses a whole `assign()` there); every other partition keeps
    /// flowing.
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        let now = Instant::now();
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                // Written by another instance until now, perhaps.
                forget(&self.cache, tpl);
                // Under cooperative assignment every member is called on
                // every rebalance, most with nothing new: no query then
                // (librdkafka holds this member's partitions paused until
                // the assign below).
                let resumed = match self.positions_from_database(tpl) {
                    Ok(resumed) => resumed,
                    Err(e) => {
                        // Kafka's committed offsets are then used: at worst
                        // some commands are read again, which changes nothing.
                        tracing::warn!(error = %e, "cannot resume from consumer_offsets");
                        Vec::new()
                    }
                };
                let assign = |tpl: &TopicPartitionList| {
                    if cooperative {
                        consumer.incremental_assign(tpl)
                    } else {
                        consumer.assign(tpl)
                    }
                };
                let mut assigned = assign(tpl);
                if let Err(e) = &assigned {
                    // Perhaps a position librdkafka refuses: start from
                    // Kafka's committed offsets instead (at worst commands
                    // are read again, which changes nothing).
                    tracing::warn!(error = %e, "cannot assign at the database's positions; trying Kafka's");
                    let mut committed = tpl.clone();
                    let _ = committed.set_all_offsets(Offset::Invalid);
                    assigned = assign(&committed);
                }
                match assigned {
                    Ok(()) => {
                        self.metrics.set_in_group(true);
                        self.refusal.released();
                    }
                    Err(e) => {
                        // librdkafka waits for an assignment that will not
                        // come: say so in /readyz.
                        tracing::error!(error = %e, "cannot take the assigned partitions");
                        self.metrics.set_in_group(false);
                    }
                }
                let began = self
                    .revoked_at
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
                    .unwrap_or(now);
                let owned = self.record_membership(consumer);
                tracing::info!(
                    assigned = %describe(tpl),
                    resumed = %resumed.join(","),
                    owned = %owned,
                    rebalance_ms = began.elapsed().as_millis() as u64,
                    cooperative,
                    "rebalance: partitions assigned"
                );
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                forget(&self.cache, tpl);
                *self.revoked_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(now);
                let lost = consumer.assignment_lost();
                let unassigned = if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                };
                if let Err(e) = unassigned {
                    tracing::error!(error = %e, "cannot give up the revoked partitions");
                }
                let owned = self.record_membership(consumer);
                // Eager: nothing is owned until the assignment that follows.
                self.metrics.set_in_group(cooperative && !lost);
                self.metrics.consumer_lag.clear();
                tracing::info!(
                    revoked = %describe(tpl),
                    owned = %owned,
                    lost,
                    cooperative,
                    "rebalance: partitions revoked"
                );
            }
            // rust-rdkafka hands only assignments and revocations here.
            other => {
                let error = KafkaError::Rebalance(other.into());
                tracing::warn!(%error, "rebalance error");
            }
        }
    }
}

impl CommandConsumerContext {
    /// Sets each partition of `assigned` that has a position in the
    /// database to it; returns those partitions, described. Runs inside
    /// librdkafka's rebalance callback, so the query blocks, bounded by
    /// the pool's connection timeout.
    fn positions_from_database(
        &self,
        assigned: &mut TopicPartitionList,
    ) -> anyhow::Result<Vec<String>> {
        if assigned.count() == 0 {
            return Ok(Vec::new());
        }
        let topics: HashSet<String> = assigned
            .elements()
            .iter()
            .map(|e| e.topic().to_owned())
            .collect();
        let stored = self.offsets.stored(&topics)?;
        let mut resumed = Vec::new();
        for (topic, partition) in assigned
            .elements()
            .iter()
            .map(|e| (e.topic().to_owned(), e.partition()))
            .collect::<Vec<_>>()
        {
            if let Some(offset) = stored.get(&(topic.clone(), partition)) {
                assigned.set_partition_offset(&topic, partition, Offset::Offset(*offset))?;
                resumed.push(format!("{topic}/{partition}@{offset}"));
            }
        }
        Ok(resumed)
    }

    /// Records what this instance owns now (metrics, `/readyz`); returns
    /// the partitions, described.
    fn record_membership(&self, consumer: &BaseConsumer<Self>) -> String {
        let assignment = consumer.assignment().unwrap_or_default();
        let mut partitions: Vec<i32> = assignment
            .elements()
            .iter()
            .filter(|e| e.topic() == self.topic)
            .map(|e| e.partition())
            .collect();
        partitions.sort_unstable();
        self.metrics.set_membership(
            &self.topic,
            Membership {
                member_id: kafka::member_id(consumer),
                instance_id: self.instance_id.clone(),
                partitions,
            },
        );
        describe(&assignment)
    }
}

/// Drops what `cache` knows of the orders of `tpl`'s partitions.
fn forget(cache: &OrderCache, tpl: &TopicPartitionList) {
    cache.forget(tpl.elements().iter().map(|e| (e.topic(), e.partition())));
}

fn describe(tpl: &TopicPartitionList) -> String {
    tpl.elements()
        .iter()
        .map(|e| format!("{}/{}", e.topic(), e.partition()))
        .collect::<Vec<_>>()
        .join(",")
}
