//! `order-service tail`: prints order events as JSON lines (protobuf JSON
//! mapping).

use anyhow::Context;
use prost::Message as _;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};

use crate::config::TailArgs;
use crate::kafka;
use crate::proto::OrderEvent;
use crate::shutdown::Shutdown;

pub async fn tail(args: TailArgs, mut shutdown: Shutdown) -> anyhow::Result<()> {
    // A group of its own: `tail` reads every partition and commits nothing.
    let consumer: StreamConsumer = kafka::client_config(&args.kafka.bootstrap_servers)
        .set(
            "group.id",
            format!("order-service-tail-{}", uuid::Uuid::new_v4()),
        )
        .set("enable.auto.commit", "false")
        .set(
            "auto.offset.reset",
            if args.from_beginning {
                "earliest"
            } else {
                "latest"
            },
        )
        .create()
        .context("creating the consumer")?;
    consumer
        .subscribe(&[&args.kafka.events_topic])
        .context("subscribing")?;
    let mut printed = 0;
    loop {
        let message = tokio::select! {
            _ = shutdown.recv() => return Ok(()),
            message = consumer.recv() => message.context("reading events")?,
        };
        let event = match OrderEvent::decode(message.payload().unwrap_or_default()) {
            Ok(event) => event,
            Err(e) => {
                tracing::warn!(offset = message.offset(), error = %e, "not an OrderEvent");
                continue;
            }
        };
        if args
            .order_id
            .as_ref()
            .is_some_and(|id| *id != event.order_id)
        {
            continue;
        }
        println!(
            "{}",
            serde_json::to_string(&event).context("encoding JSON")?
        );
        printed += 1;
        if args.max_events.is_some_and(|max| printed >= max) {
            return Ok(());
        }
    }
}
