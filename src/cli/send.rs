//! `order-service send`: publishes commands given as JSON (protobuf JSON
//! mapping) to the command topic, as protobuf, key = order_id. Prints one
//! `{"command_id": …, "order_id": …}` line per command sent.

use std::io::BufRead;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::Utc;
use prost::Message;
use rdkafka::producer::FutureProducer;
use uuid::Uuid;

use crate::config::SendArgs;
use crate::kafka;
use crate::proto::{self, OrderCommand, order_command};

pub async fn send(args: SendArgs) -> anyhow::Result<()> {
    let producer: FutureProducer = kafka::reliable_producer_config(&args.kafka.bootstrap_servers)
        .create()
        .context("creating the producer")?;
    let lines: Vec<String> = if args.json.is_empty() || args.json == ["-"] {
        std::io::stdin()
            .lock()
            .lines()
            .collect::<Result<_, _>>()
            .context("reading stdin")?
    } else {
        args.json
    };
    for (number, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let command = prepare_command(line).with_context(|| format!("command {}", number + 1))?;
        publish(&producer, &args.kafka.commands_topic, &command).await?;
        println!(
            "{}",
            serde_json::json!({"command_id": command.command_id, "order_id": command.order_id})
        );
    }
    Ok(())
}

/// Parses one JSON command and fills in what a person typing it may leave
/// out: `commandId` (a new UUID), `orderId` for `createOrder` (a new UUID),
/// `issuedAt` (now).
pub fn prepare_command(json: &str) -> anyhow::Result<OrderCommand> {
    let mut command: OrderCommand =
        serde_json::from_str(json).context("not an OrderCommand in the protobuf JSON mapping")?;
    if command.command.is_none() {
        bail!(
            "no command given: set one of createOrder, addOrderItem, processPayment, updatePaymentStatus, updateOrderStatus"
        );
    }
    if command.command_id.is_empty() {
        command.command_id = Uuid::new_v4().to_string();
    }
    if command.order_id.is_empty() {
        if !matches!(
            command.command,
            Some(order_command::Command::CreateOrder(_))
        ) {
            bail!("orderId is required for every command but createOrder");
        }
        command.order_id = Uuid::new_v4().to_string();
    }
    if command.issued_at.is_none() {
        command.issued_at = Some(proto::timestamp(Utc::now()));
    }
    Ok(command)
}

async fn publish(
    producer: &FutureProducer,
    topic: &str,
    command: &OrderCommand,
) -> anyhow::Result<()> {
    let payload = command.encode_to_vec();
    let record = kafka::command_record(topic, command, &payload);
    producer
        .send(record, Duration::from_secs(30))
        .await
        .map_err(|(e, _)| e)
        .with_context(|| format!("publishing to {topic}"))?;
    Ok(())
}
