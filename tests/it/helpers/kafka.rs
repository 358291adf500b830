//! The tests' Kafka side: clients configured as the application's, a
//! producer of commands and readers of events and dead letters, and the
//! checks every event read passes (its CloudEvents headers).

use std::collections::HashMap;
use std::time::Duration;

use order_service::config::KafkaConnection;
use order_service::proto::{OrderCommand, OrderEvent};
use prost::Message as _;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::FutureRecord;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use uuid::Uuid;

use super::app::{TestApp, WAIT};

/// The configuration of a test client connecting as the application does.
pub fn test_client_config(connection: &KafkaConnection) -> ClientConfig {
    order_service::kafka::client_config(connection).expect("Kafka client configuration")
}

/// A consumer assigned every partition of `topic` from the beginning, no
/// group, reading committed records only (as the relay's contract says).
pub(super) fn reader(connection: &KafkaConnection, topic: &str, partitions: i32) -> StreamConsumer {
    let consumer: StreamConsumer = test_client_config(connection)
        .set("group.id", format!("reader-{}", Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .create()
        .expect("test reader");
    let mut tpl = TopicPartitionList::new();
    for partition in 0..partitions {
        tpl.add_partition_offset(topic, partition, Offset::Beginning)
            .expect("partition offset");
    }
    consumer.assign(&tpl).expect("assign");
    consumer
}

impl TestApp {
    /// Publishes a command as protobuf, key = order_id; returns the
    /// partition it went to.
    pub async fn send(&self, command: &OrderCommand) -> i32 {
        self.send_raw(
            Some(command.order_id.as_bytes()),
            &command.encode_to_vec(),
            &[("content-type", "application/x-protobuf")],
        )
        .await
    }

    pub async fn send_all(&self, commands: &[OrderCommand]) {
        for command in commands {
            self.send(command).await;
        }
    }

    /// Publishes `commands` all at once (each enqueued in order, the
    /// acknowledgements awaited together): as fast as the producer goes.
    pub async fn send_burst(&self, commands: &[OrderCommand]) {
        futures_util::future::join_all(commands.iter().map(|c| self.send(c))).await;
    }

    /// Sends `commands` as a stream: `chunk` at a time, `pause` between.
    pub async fn send_paced(&self, commands: &[OrderCommand], chunk: usize, pause: Duration) {
        for chunk in commands.chunks(chunk) {
            self.send_all(chunk).await;
            tokio::time::sleep(pause).await;
        }
    }

    /// Publishes a record on the command topic; returns its partition.
    pub async fn send_raw(
        &self,
        key: Option<&[u8]>,
        payload: &[u8],
        headers: &[(&str, &str)],
    ) -> i32 {
        let mut owned = OwnedHeaders::new();
        for (name, value) in headers {
            owned = owned.insert(Header {
                key: name,
                value: Some(*value),
            });
        }
        let mut record = FutureRecord::<[u8], [u8]>::to(&self.settings.kafka.commands_topic)
            .payload(payload)
            .headers(owned);
        if let Some(key) = key {
            record = record.key(key);
        }
        self.producer
            .send(record, Duration::from_secs(10))
            .await
            .map_err(|(e, _)| e)
            .expect("publish command")
            .partition
    }

    /// A reader of the whole events topic from its beginning, apart from
    /// the one `events` reads with.
    pub fn events_reader(&self) -> StreamConsumer {
        reader(
            &self.settings.kafka.connection,
            &self.settings.kafka.events_topic,
            self.settings.topics.topic_partitions,
        )
    }

    /// Reads events until `count` have been read in all, then returns them all.
    pub async fn events(&mut self, count: usize) -> &[OrderEvent] {
        self.events_until(WAIT, |received| received.len() >= count)
            .await
            .unwrap_or_else(|received| {
                panic!(
                    "timed out with {} of {count} events: {received:#?}",
                    received.len()
                )
            })
    }

    /// Reads events until `done(all read so far)` holds; `Err` with what was
    /// read if `wait` passes first.
    pub async fn events_until(
        &mut self,
        wait: Duration,
        done: impl Fn(&[OrderEvent]) -> bool,
    ) -> Result<&[OrderEvent], &[OrderEvent]> {
        let deadline = tokio::time::Instant::now() + wait;
        while !done(&self.received) {
            let Ok(message) = tokio::time::timeout_at(deadline, self.events.recv()).await else {
                return Err(&self.received);
            };
            // Errors are reports (a broker went away); the consumer goes on.
            let Ok(message) = message else { continue };
            let event = OrderEvent::decode(message.payload().expect("event payload"))
                .expect("event decodes");
            check_headers(&message, &event);
            self.received_headers
                .insert(event.event_id.clone(), headers_of(&message));
            self.received.push(event);
        }
        Ok(&self.received)
    }

    /// The events read so far for one order, in order.
    pub fn events_of(&self, order_id: &str) -> Vec<&OrderEvent> {
        self.received
            .iter()
            .filter(|e| e.order_id == order_id)
            .collect()
    }

    /// Reads dead-letter records until `count` have arrived.
    pub async fn dead_letters(&self, count: usize) -> Vec<OwnedMessage> {
        let mut out = Vec::new();
        while out.len() < count {
            let message = tokio::time::timeout(WAIT, self.dead_letters.recv())
                .await
                .expect("timed out waiting for a dead letter")
                .expect("read dead letter");
            out.push(message.detach());
        }
        out
    }
}

/// A record's headers as text, by name.
pub fn headers_of(message: &impl Message) -> HashMap<String, String> {
    message
        .headers()
        .map(|hs| {
            hs.iter()
                .map(|h| {
                    (
                        h.key.to_owned(),
                        String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every event carries the CloudEvents binding headers, consistent with its body.
fn check_headers(message: &impl Message, event: &OrderEvent) {
    let headers = headers_of(message);
    let kind = order_service::events::type_name(event.event.as_ref().expect("event oneof set"));
    assert_eq!(
        headers.get("ce_specversion").map(String::as_str),
        Some("1.0")
    );
    assert_eq!(headers.get("ce_id"), Some(&event.event_id));
    assert_eq!(headers.get("ce_type").map(String::as_str), Some(kind));
    assert_eq!(
        headers.get("ce_source").map(String::as_str),
        Some("order-service")
    );
    assert!(headers.contains_key("ce_time"), "ce_time header");
    assert_eq!(
        headers.get("content-type").map(String::as_str),
        Some("application/x-protobuf")
    );
    assert_eq!(
        message.key(),
        Some(event.order_id.as_bytes()),
        "key = order_id"
    );
}

// Command builders. Every command gets a fresh command_id.
