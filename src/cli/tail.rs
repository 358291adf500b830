//! `order-service tail`: prints order events as JSON lines (protobuf JSON
//! mapping). Without `--from-beginning` it waits for new events, as
//! `tail -f` does; with it, it prints what the topic holds and stops at the
//! end unless `--follow`.

use anyhow::Context;
use prost::Message as _;
use rdkafka::Message;

use super::TailArgs;
use super::reader::{Start, TopicReader};
use crate::proto::OrderEvent;
use crate::shutdown::Shutdown;

pub async fn tail(args: TailArgs, mut shutdown: Shutdown) -> anyhow::Result<()> {
    let start = if args.from_beginning {
        Start::Beginning
    } else {
        Start::End
    };
    let until_end = args.from_beginning && !args.follow;
    let mut reader =
        TopicReader::open(&args.kafka.connection, &args.kafka.events_topic, start).await?;
    let mut printed = 0;
    loop {
        let message = tokio::select! {
            _ = shutdown.recv() => return Ok(()),
            message = reader.next(until_end) => message?,
        };
        let Some(message) = message else {
            return Ok(());
        };
        let event = match OrderEvent::decode(message.payload().unwrap_or_default()) {
            Ok(event) => event,
            Err(e) => {
                tracing::warn!(partition = message.partition(), offset = message.offset(), error = %e, "not an OrderEvent");
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
