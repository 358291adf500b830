//! The load generator's producer: the commands published in a burst or at
//! a steady rate, each one's hand-off time kept for its latency.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use prost::Message as _;
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureProducer;
use rdkafka::types::RDKafkaErrorCode;

use crate::cli::BenchArgs;
use crate::kafka;
use crate::proto::OrderCommand;

pub enum Load {
    /// Every command at once, as fast as the producer takes them.
    Burst { orders: usize },
    /// `rate` commands per second for `seconds`.
    Steady { rate: u32, seconds: u64 },
}

/// Publishes the commands; returns when each was enqueued, by command_id.
pub(super) async fn produce(
    args: &BenchArgs,
    topic: &str,
    commands: &[OrderCommand],
    load: &Load,
) -> anyhow::Result<HashMap<String, Instant>> {
    // Steady load measures latency: a command should leave when it is sent.
    let linger = match load {
        Load::Burst { .. } => "5",
        Load::Steady { .. } => "0",
    };
    let producer: FutureProducer = kafka::client_config(&args.kafka)?
        .set("linger.ms", linger)
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .context("creating the producer")?;
    let mut sent = HashMap::with_capacity(commands.len());
    let mut pending = std::collections::VecDeque::new();
    let pace = match load {
        Load::Burst { .. } => None,
        Load::Steady { rate, .. } => Some(Duration::from_secs_f64(1.0 / f64::from(*rate))),
    };
    let started = Instant::now();
    for (index, command) in commands.iter().enumerate() {
        if let Some(pace) = pace {
            let due = started + pace * index as u32;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                tokio::time::sleep(wait).await;
            }
        }
        let payload = command.encode_to_vec();
        loop {
            match producer.send_result(kafka::command_record(topic, command, &payload, None)) {
                Ok(delivery) => {
                    sent.insert(command.command_id.clone(), Instant::now());
                    pending.push_back(delivery);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    match pending.pop_front() {
                        Some(oldest) => check_delivery(oldest.await)?,
                        None => tokio::time::sleep(Duration::from_millis(1)).await,
                    }
                }
                Err((e, _)) => return Err(e).context("publishing a command"),
            }
        }
    }
    for delivery in pending {
        check_delivery(delivery.await)?;
    }
    Ok(sent)
}

/// `E` is the future's cancellation, which means the producer went away.
fn check_delivery<E>(
    result: Result<rdkafka::producer::future_producer::OwnedDeliveryResult, E>,
) -> anyhow::Result<()> {
    match result {
        Ok(Ok(_)) => Ok(()),
        Ok(Err((e, _))) => Err(e).context("a command was not delivered"),
        Err(_) => bail!("a delivery was cancelled"),
    }
}
