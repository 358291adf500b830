//! The consumer group's positions in PostgreSQL (`consumer_offsets`): the
//! processor writes them in each batch's own transaction, and the consumer
//! reads them when partitions are assigned, through [`OffsetStore`], so
//! what is durable and where reading resumes cannot disagree.

use std::collections::{HashMap, HashSet};

use chrono::Utc;

use crate::db::models::ConsumerOffset;
use crate::db::{Database, DbError};

/// Where reading one partition resumes: the offset after the last one
/// whose command is durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// The stored positions of one consumer group.
#[derive(Clone)]
pub struct OffsetStore {
    db: Database,
    group_id: String,
}

impl OffsetStore {
    pub fn new(db: Database, group_id: impl Into<String>) -> Self {
        Self {
            db,
            group_id: group_id.into(),
        }
    }

    /// The stored next offset of every partition of `topics` the group has
    /// one for. Blocking (it runs in librdkafka's rebalance callback),
    /// bounded by the pool's connection timeout.
    pub fn stored(&self, topics: &HashSet<String>) -> Result<HashMap<(String, i32), i64>, DbError> {
        let mut conn = self.db.connection()?;
        let mut stored = HashMap::new();
        for topic in topics {
            for row in ConsumerOffset::for_topic(&mut conn, &self.group_id, topic)? {
                stored.insert((row.topic, row.partition), row.next_offset);
            }
        }
        Ok(stored)
    }

    /// The rows that record `positions` for this group.
    pub(super) fn rows(&self, positions: &[NextOffset]) -> Vec<ConsumerOffset> {
        let now = Utc::now();
        positions
            .iter()
            .map(|p| ConsumerOffset {
                group_id: self.group_id.clone(),
                topic: p.topic.clone(),
                partition: p.partition,
                next_offset: p.offset,
                updated_at: now,
            })
            .collect()
    }
}
