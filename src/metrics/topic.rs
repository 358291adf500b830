//! The command topic as the group sees it: its partition count against the
//! one recorded in the database (keys map to partitions by that count, so
//! a change breaks per-order order), and whether the broker still holds
//! this instance's static id for an earlier process.

use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::Serialize;

#[derive(Default)]
pub struct TopicMetrics {
    /// Partitions of the command topic, from the consumer's metadata (0:
    /// not known yet).
    pub partitions: Gauge,
    /// The count recorded in the database when the service first saw the
    /// topic, or when an operator accepted a new one (0: none yet).
    pub partitions_recorded: Gauge,
    /// 1 while the broker refuses this instance's KAFKA_GROUP_INSTANCE_ID
    /// (UNRELEASED_INSTANCE_ID: an earlier process's session holds it).
    pub instance_id_unreleased: Gauge,
}

/// The partition count, for `/readyz`'s body.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionCount {
    pub now: Option<i64>,
    pub recorded: Option<i64>,
    /// Both are known and they differ.
    pub changed: bool,
}

impl TopicMetrics {
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "command_topic_partitions",
            "Partitions of the command topic, from the broker's metadata (0: not known yet)",
            self.partitions.clone(),
        );
        registry.register(
            "command_topic_partitions_recorded",
            "The command topic's partition count recorded in the database; another count now \
             means the topic was grown, and an order's commands may have changed partition",
            self.partitions_recorded.clone(),
        );
        registry.register(
            "consumer_instance_id_unreleased",
            "1 while the broker refuses KAFKA_GROUP_INSTANCE_ID because an earlier session \
             still holds it (retried until it is released)",
            self.instance_id_unreleased.clone(),
        );
    }

    pub fn partition_count(&self) -> PartitionCount {
        let known = |gauge: &Gauge| Some(gauge.get()).filter(|n| *n > 0);
        let (now, recorded) = (known(&self.partitions), known(&self.partitions_recorded));
        PartitionCount {
            now,
            recorded,
            changed: now
                .zip(recorded)
                .is_some_and(|(now, recorded)| now != recorded),
        }
    }
}
