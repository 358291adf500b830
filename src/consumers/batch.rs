//! A batch of records as a lane takes them: the decoded commands with the
//! records they came in, the dead letters, and the positions to store once the
//! batch is durable. Each partition belongs to one lane ([`lane_of`]), so an
//! order's commands (one partition, key = order_id) stay in one lane, in
//! delivery order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::OwnedSemaphorePermit;

use rdkafka::message::{BorrowedMessage, Message};

use crate::domain::Command;
use crate::kafka;
use crate::processor::{NextOffset, PartitionId};
use crate::producers::DeadLetter;

/// Where a record sits, to store its offset once it is handled.
#[derive(Debug, Clone)]
pub(super) struct Position {
    pub(super) topic: String,
    pub(super) partition: i32,
    pub(super) offset: i64,
}

/// Bytes a record takes: key, payload and headers.
pub(super) fn record_size(message: &BorrowedMessage<'_>) -> usize {
    let headers: usize = kafka::headers_of(message)
        .iter()
        .map(|(name, value)| name.len() + value.map_or(0, <[u8]>::len))
        .sum();
    message.key().map_or(0, <[u8]>::len) + message.payload().map_or(0, <[u8]>::len) + headers
}

/// Why a record is dead-lettered instead of applied.
#[derive(Debug, thiserror::Error)]
pub(super) enum DeadLetterCause {
    #[error("record has no key: a command's key must be its order_id")]
    NoKey,
    #[error(transparent)]
    Decode(#[from] super::DecodeError),
}

impl DeadLetterCause {
    pub(super) fn reason(&self) -> &'static str {
        match self {
            Self::NoKey => "no_key",
            Self::Decode(e) => e.reason(),
        }
    }
}

/// One record as the consumer read it, on its way to its lane.
pub(super) struct Record {
    pub(super) position: Position,
    pub(super) content: Content,
    /// Its share of the bytes records may hold while they wait.
    pub(super) permit: OwnedSemaphorePermit,
    /// When the consumer read it.
    pub(super) received: Instant,
}

pub(super) enum Content {
    Command(Box<Delivered>),
    DeadLetter(Box<DeadLetter>, &'static str),
}

/// A decoded command with the record that carried it, as it came: what
/// its dead letter holds, should it be quarantined (its error still
/// empty).
pub(super) struct Delivered {
    pub(super) command: Command,
    pub(super) original: DeadLetter,
}

/// The lane of a partition: the same one for as long as the service runs,
/// whoever held the partition before.
pub(super) fn lane_of(partition: i32, lanes: usize) -> usize {
    partition.unsigned_abs() as usize % lanes.max(1)
}

#[derive(Default)]
pub(super) struct Batch {
    pub(super) positions: Vec<Position>,
    /// Decoded commands with the records they came in.
    pub(super) commands: Vec<Delivered>,
    /// The partition each command came from.
    partitions: Vec<PartitionId>,
    pub(super) dead_letters: Vec<DeadLetter>,
    /// Why each dead letter could not be decoded, for the metrics.
    pub(super) dead_letter_reasons: Vec<&'static str>,
    /// Bytes of the records, held until the batch is done.
    permits: Vec<OwnedSemaphorePermit>,
    /// When each record was read.
    pub(super) received: Vec<Instant>,
}

impl Batch {
    pub(super) fn push(&mut self, record: Record) {
        match record.content {
            Content::Command(delivered) => {
                self.commands.push(*delivered);
                let topic = match self.partitions.last() {
                    Some(last) if *last.topic == record.position.topic => last.topic.clone(),
                    _ => Arc::from(record.position.topic.as_str()),
                };
                self.partitions.push(PartitionId {
                    topic,
                    partition: record.position.partition,
                });
            }
            Content::DeadLetter(letter, reason) => {
                self.dead_letters.push(*letter);
                self.dead_letter_reasons.push(reason);
            }
        }
        self.positions.push(record.position);
        self.permits.push(record.permit);
        self.received.push(record.received);
    }

    /// The decoded commands, in delivery order, for a transaction.
    pub(super) fn command_list(&self) -> Vec<Command> {
        self.commands.iter().map(|d| d.command.clone()).collect()
    }

    /// The partition of each of [`command_list`](Self::command_list)'s
    /// commands.
    pub(super) fn partition_list(&self) -> Vec<PartitionId> {
        self.partitions.clone()
    }

    /// Bytes of the records in the batch.
    pub(super) fn bytes(&self) -> usize {
        self.permits
            .iter()
            .map(OwnedSemaphorePermit::num_permits)
            .sum()
    }

    /// The last offset read per partition.
    pub(super) fn last_offsets(&self) -> HashMap<(&str, i32), i64> {
        let mut last: HashMap<(&str, i32), i64> = HashMap::new();
        for p in &self.positions {
            let entry = last.entry((&p.topic, p.partition)).or_insert(p.offset);
            *entry = (*entry).max(p.offset);
        }
        last
    }

    /// The next offset to read per partition.
    pub(super) fn next_offsets(&self) -> Vec<NextOffset> {
        self.last_offsets()
            .into_iter()
            .map(|((topic, partition), offset)| NextOffset {
                topic: topic.to_owned(),
                partition,
                offset: offset + 1,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AddOrderItem;
    use uuid::Uuid;

    fn delivered(order: u128, offset: i64) -> Delivered {
        let command = Command {
            command_id: Uuid::new_v4(),
            order_id: Uuid::from_u128(order),
            correlation_id: String::new(),
            issued_at: None,
            traceparent: None,
            fingerprint: 0,
            body: AddOrderItem {
                product_id: "sku".into(),
                quantity: 1,
                price_per_unit: 1,
            }
            .into(),
        };
        let original = DeadLetter {
            key: Some(command.order_id.to_string().into_bytes()),
            payload: Some(b"the record".to_vec()),
            headers: Vec::new(),
            error: String::new(),
            topic: "commands".into(),
            partition: 2,
            offset,
            dropped: Vec::new(),
            keep_payload: false,
        };
        Delivered { command, original }
    }

    #[tokio::test]
    async fn a_batch_holds_what_its_records_hold_until_it_is_dropped() {
        let budget = std::sync::Arc::new(tokio::sync::Semaphore::new(10));
        let mut batch = Batch::default();
        for (offset, size) in [(1, 3), (2, 4)] {
            batch.push(Record {
                position: Position {
                    topic: "commands".into(),
                    partition: 2,
                    offset,
                },
                content: Content::Command(Box::new(delivered(1, offset))),
                permit: budget.clone().acquire_many_owned(size).await.unwrap(),
                received: Instant::now(),
            });
        }
        assert_eq!(batch.commands.len(), 2);
        assert_eq!(batch.bytes(), 7);
        assert_eq!(budget.available_permits(), 3);
        drop(batch);
        assert_eq!(budget.available_permits(), 10);
    }

    #[test]
    fn a_partition_always_has_the_same_lane_and_every_lane_gets_partitions() {
        let lanes: Vec<usize> = (0..6).map(|p| lane_of(p, 4)).collect();
        assert_eq!(lanes, [0, 1, 2, 3, 0, 1]);
        assert_eq!(lane_of(5, 4), lane_of(5, 4));
        assert_eq!(lane_of(7, 1), 0);
        assert_eq!(lane_of(7, 0), 0, "no lanes means one");
    }

    #[test]
    fn positions_are_the_next_offset_after_the_last_read() {
        let mut batch = Batch::default();
        for (partition, offset) in [(0, 5), (0, 9), (1, 3), (0, 7)] {
            batch.positions.push(Position {
                topic: "commands".into(),
                partition,
                offset,
            });
        }
        let mut next: Vec<(i32, i64)> = batch
            .next_offsets()
            .iter()
            .map(|o| (o.partition, o.offset))
            .collect();
        next.sort_unstable();
        assert_eq!(next, vec![(0, 10), (1, 4)]);
    }
}
