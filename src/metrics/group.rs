//! The consumer's place in its group, as the rebalances, librdkafka's
//! statistics and the client errors leave it: for `/readyz` and the
//! membership metrics.

use std::sync::atomic::Ordering;

use super::{MemberLabels, Membership, Metrics, PartitionLabels};

impl Metrics {
    /// What a rebalance left: this instance's member id, instance id and
    /// partitions of `topic`.
    pub fn set_membership(&self, topic: &str, membership: Membership) {
        self.assigned_partitions
            .set(membership.partitions.len() as i64);
        // New series first, then the stale ones go: a scrape in between
        // never finds none.
        let partition = |partition: i32| PartitionLabels {
            topic: topic.to_owned(),
            partition,
        };
        let member = |m: &Membership| MemberLabels {
            member_id: m.member_id.clone(),
            instance_id: m.instance_id.clone().unwrap_or_default(),
        };
        for p in &membership.partitions {
            self.assigned_partition.get_or_create(&partition(*p)).set(1);
        }
        self.member.get_or_create(&member(&membership)).set(1);
        let mut last = self.membership.lock().unwrap_or_else(|e| e.into_inner());
        for p in last
            .partitions
            .iter()
            .filter(|p| !membership.partitions.contains(p))
        {
            self.assigned_partition.remove(&partition(*p));
        }
        if member(&last) != member(&membership) {
            self.member.remove(&member(&last));
        }
        *last = membership;
    }

    pub fn membership(&self) -> Membership {
        self.membership
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The consumer left its group on purpose (true), or joined it again.
    pub fn set_left_group(&self, left: bool) {
        self.left_group.store(left, Ordering::Relaxed);
    }

    pub fn left_group(&self) -> bool {
        self.left_group.load(Ordering::Relaxed)
    }

    /// The consumer received an assignment (true) or lost it: revoked, or a
    /// rebalance error (false).
    pub fn set_in_group(&self, in_group: bool) {
        self.in_group.store(in_group, Ordering::Relaxed);
    }

    /// Whether the consumer holds its group's assignment: possibly of zero
    /// partitions, when the group has more members than partitions; false
    /// during a rebalance.
    pub fn in_group(&self) -> bool {
        self.in_group.load(Ordering::Relaxed) && !self.left_group.load(Ordering::Relaxed)
    }

    /// From librdkafka's statistics: whether any broker connection is up.
    /// A broker up clears the last client error.
    pub fn set_broker_reachable(&self, reachable: bool) {
        self.brokers_down.store(!reachable, Ordering::Relaxed);
        if reachable {
            self.set_kafka_error(None);
        }
    }

    /// The consumer's client error callback: what failed last, bounded.
    pub fn set_kafka_error(&self, error: Option<String>) {
        let error = error.map(|e| e.chars().take(500).collect());
        *self.kafka_error.lock().unwrap_or_else(|e| e.into_inner()) = error;
    }

    pub fn kafka_error(&self) -> Option<String> {
        self.kafka_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn broker_reachable(&self) -> bool {
        !self.brokers_down.load(Ordering::Relaxed)
    }
}
