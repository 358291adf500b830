//! The bench's reader: the events topic read from its beginning, each
//! event's arrival timed.

use std::collections::HashSet;
use std::time::Instant;

use anyhow::Context;
use prost::Message as _;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use uuid::Uuid;

use crate::config::KafkaConnection;
use crate::kafka;
use crate::proto::{self, OrderEvent};

pub(super) struct Received {
    pub(super) command_id: String,
    pub(super) order_id: String,
    pub(super) sequence: u64,
    pub(super) event_id: String,
    pub(super) rejected: bool,
    pub(super) at: Instant,
}

/// Reads the events topic from the beginning until `expected` distinct
/// events arrived.
pub(super) async fn read_events(
    connection: KafkaConnection,
    topic: String,
    partitions: i32,
    expected: usize,
) -> anyhow::Result<Vec<Received>> {
    let consumer: StreamConsumer = kafka::client_config(&connection)?
        .set("group.id", format!("bench-reader-{}", Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    for partition in 0..partitions {
        tpl.add_partition_offset(&topic, partition, Offset::Beginning)?;
    }
    consumer.assign(&tpl)?;
    let mut seen = HashSet::with_capacity(expected);
    let mut received = Vec::with_capacity(expected);
    while seen.len() < expected {
        let Ok(message) = consumer.recv().await else {
            continue;
        };
        let at = Instant::now();
        let event = OrderEvent::decode(message.payload().unwrap_or_default())
            .context("an event that is not an OrderEvent")?;
        if seen.insert(event.event_id.clone()) {
            received.push(Received {
                rejected: matches!(
                    event.event,
                    Some(proto::order_event::Event::CommandRejected(_))
                ),
                command_id: event.command_id,
                order_id: event.order_id,
                sequence: event.sequence,
                event_id: event.event_id,
                at,
            });
        }
    }
    Ok(received)
}
