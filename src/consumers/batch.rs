//! A batch of records as the consumer takes them: the decoded commands with
//! where each came from, the dead letters, and the positions to store once
//! the batch is durable; split into lanes of whole partitions, so an
//! order's commands (one partition, key = order_id) stay in one lane, in
//! delivery order.

use std::collections::HashMap;

use rdkafka::message::{BorrowedMessage, Message};

use crate::domain::Command;
use crate::kafka;
use crate::processor::NextOffset;
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

#[derive(Default)]
pub(super) struct Batch {
    pub(super) positions: Vec<Position>,
    /// Decoded commands with the partition and offset each came from.
    pub(super) commands: Vec<(i32, i64, Command)>,
    pub(super) dead_letters: Vec<DeadLetter>,
    /// Why each dead letter could not be decoded, for the metrics.
    pub(super) dead_letter_reasons: Vec<&'static str>,
}

impl Batch {
    /// The last offset read per partition.
    pub(super) fn last_offsets(&self) -> HashMap<(&str, i32), i64> {
        let mut last: HashMap<(&str, i32), i64> = HashMap::new();
        for p in &self.positions {
            let entry = last.entry((&p.topic, p.partition)).or_insert(p.offset);
            *entry = (*entry).max(p.offset);
        }
        last
    }

    /// Splits the batch into at most `lanes` transactions, each over whole
    /// partitions: an order's commands share its partition (key =
    /// order_id), so lanes touch different orders and keep each order's
    /// commands in delivery order.
    pub(super) fn lanes(&self, lanes: usize) -> Vec<(Vec<Command>, Vec<NextOffset>)> {
        let offsets = self.next_offsets();
        let mut partitions: Vec<i32> = offsets.iter().map(|o| o.partition).collect();
        partitions.sort_unstable();
        let count = lanes.clamp(1, partitions.len().max(1));
        let lane_of: HashMap<i32, usize> = partitions
            .iter()
            .enumerate()
            .map(|(i, p)| (*p, i % count))
            .collect();
        let mut out: Vec<(Vec<Command>, Vec<NextOffset>)> = vec![(Vec::new(), Vec::new()); count];
        for (partition, _, command) in &self.commands {
            out[lane_of.get(partition).copied().unwrap_or(0)]
                .0
                .push(command.clone());
        }
        for offset in offsets {
            out[lane_of.get(&offset.partition).copied().unwrap_or(0)]
                .1
                .push(offset);
        }
        out
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
    use crate::domain::CommandBody;
    use uuid::Uuid;

    fn command(order: u128) -> Command {
        Command {
            command_id: Uuid::new_v4(),
            order_id: Uuid::from_u128(order),
            correlation_id: String::new(),
            issued_at: None,
            traceparent: None,
            body: CommandBody::AddItem {
                product_id: "sku".into(),
                quantity: 1,
                price_per_unit: 1,
            },
        }
    }

    /// Commands of orders 1..=n spread over `partitions`, order i on
    /// partition i % partitions, several commands per order.
    fn batch(partitions: i32, orders: u128) -> Batch {
        let mut batch = Batch::default();
        let mut offset = 0;
        for round in 0..3 {
            for order in 1..=orders {
                let partition = (order % partitions as u128) as i32;
                offset += 1;
                batch.positions.push(Position {
                    topic: "commands".into(),
                    partition,
                    offset: offset + round,
                });
                batch.commands.push((partition, offset, command(order)));
            }
        }
        batch
    }

    #[test]
    fn a_lane_holds_whole_partitions_and_keeps_delivery_order() {
        let batch = batch(6, 20);
        let lanes = batch.lanes(4);
        assert_eq!(lanes.len(), 4);
        let mut seen_partitions = Vec::new();
        for (commands, offsets) in &lanes {
            let partitions: Vec<i32> = offsets.iter().map(|o| o.partition).collect();
            for partition in &partitions {
                assert!(
                    !seen_partitions.contains(partition),
                    "partition {partition} in two lanes"
                );
            }
            seen_partitions.extend(&partitions);
            // Every command of the lane comes from one of its partitions,
            // in the order the batch holds them.
            let expected: Vec<Uuid> = batch
                .commands
                .iter()
                .filter(|(p, _, _)| partitions.contains(p))
                .map(|(_, _, c)| c.command_id)
                .collect();
            let actual: Vec<Uuid> = commands.iter().map(|c| c.command_id).collect();
            assert_eq!(actual, expected);
        }
        seen_partitions.sort_unstable();
        assert_eq!(seen_partitions, (0..6).collect::<Vec<_>>());
    }

    #[test]
    fn more_lanes_than_partitions_gives_one_lane_a_partition() {
        let batch = batch(2, 5);
        assert_eq!(batch.lanes(8).len(), 2);
        assert_eq!(batch.lanes(1).len(), 1);
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
