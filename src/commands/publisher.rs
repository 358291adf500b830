//! `CommandPublisher`: publishes `OrderCommand`s to the command topic as the
//! service expects them (protobuf, key = order_id, `content-type` header).
//! Used by `order-service send` and by the REST API, which both take a
//! command from a person or another service and hand it to the consumer
//! group like any upstream producer.

use std::time::Duration;

use prost::Message as _;
use rdkafka::error::KafkaError;

use crate::config::KafkaConnection;
use crate::kafka;
use crate::proto::OrderCommand;

/// How long a publish waits for the broker's acknowledgement.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a published command landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub partition: i32,
    pub offset: i64,
}

#[derive(Clone)]
pub struct CommandPublisher {
    producer: kafka::Producer,
    topic: String,
}

impl CommandPublisher {
    pub fn new(connection: &KafkaConnection, topic: &str) -> Result<Self, KafkaError> {
        Ok(Self {
            producer: kafka::create_producer(&kafka::reliable_producer_config(connection)?)?,
            topic: topic.to_owned(),
        })
    }

    /// Publishes and waits for the broker's acknowledgement.
    pub async fn publish(&self, command: &OrderCommand) -> Result<Published, KafkaError> {
        self.publish_traced(command, None).await
    }

    /// As [`publish`](Self::publish), with a W3C `traceparent` header that
    /// the consumer carries onto the events.
    pub async fn publish_traced(
        &self,
        command: &OrderCommand,
        traceparent: Option<&str>,
    ) -> Result<Published, KafkaError> {
        let payload = command.encode_to_vec();
        let record = kafka::command_record(&self.topic, command, &payload, traceparent);
        let delivery = self
            .producer
            .send(record, PUBLISH_TIMEOUT)
            .await
            .map_err(|(e, _)| e)?;
        Ok(Published {
            partition: delivery.partition,
            offset: delivery.offset,
        })
    }
}
