//! `CommandPublisher`: publishes `OrderCommand`s to the command topic as the
//! service expects them (protobuf, key = order_id, `content-type` header).
//! Used by `order-service send` and by the REST API, which both take a
//! command from a person or another service and hand it to the consumer
//! group like any upstream producer.

use std::time::Duration;

use chrono::Utc;
use prost::Message as _;
use rdkafka::error::KafkaError;
use uuid::Uuid;

use crate::config::KafkaConnection;
use crate::domain::Command;
use crate::kafka;
use crate::proto::{self, EnvelopeError, OrderCommand, order_command};

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

/// Namespace of the order ids derived from a `createOrder`'s `command_id`.
const ORDER_ID_NAMESPACE: Uuid = Uuid::from_u128(0x5d1c_7f0e_8a43_4a55_9c1e_0b7e_2f3d_6a91);

/// Fills in what a person or a REST client may leave out — `command_id` (a
/// new UUID), `order_id` for `createOrder`, `issued_at` (now) —
/// then checks the envelope as the consumer will, so a command that could
/// only be dead-lettered is refused before it is published. Returns the
/// command to publish and the command the service will see.
pub fn complete(mut command: OrderCommand) -> Result<(OrderCommand, Command), EnvelopeError> {
    if command.command_id.is_empty() {
        command.command_id = Uuid::new_v4().to_string();
    }
    if command.order_id.is_empty()
        && matches!(
            command.command,
            Some(order_command::Command::CreateOrder(_))
        )
    {
        // Derived from the command id, not random: a client retrying with
        // the same command_id gets the same order id back.
        command.order_id =
            Uuid::new_v5(&ORDER_ID_NAMESPACE, command.command_id.as_bytes()).to_string();
    }
    if command.issued_at.is_none() {
        command.issued_at = Some(proto::timestamp(Utc::now()));
    }
    let checked = Command::try_from(command.clone())?;
    Ok((command, checked))
}
