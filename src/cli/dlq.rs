//! `order-service dlq list | replay`: the dead-letter topic by hand.
//!
//! Which dead letters were replayed is remembered as the committed offsets
//! of a consumer group of its own (`KAFKA_DLQ_REPLAY_GROUP`): `list` shows
//! the ones not yet replayed, `replay` publishes them back to the command
//! topic — original key, payload and headers, minus the headers the
//! dead-letter producer added — and then commits. A replayed command whose
//! cause is not fixed is dead-lettered again, with a new error.

use std::time::Duration;

use anyhow::Context;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rdkafka::message::{BorrowedMessage, Header, Message, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use serde_json::{Map, Value, json};

use super::progress::Progress;
use super::reader::{Start, TopicReader};
use super::{DlqArgs, DlqCommand};
use crate::kafka;
use crate::producers::dead_letter_headers as added;

pub async fn dlq(args: DlqArgs) -> anyhow::Result<()> {
    match &args.command {
        DlqCommand::List { all } => list(&args, *all).await,
        DlqCommand::Replay {
            only,
            header,
            dry_run,
        } => replay(&args, only, header, *dry_run).await,
    }
}

async fn open(args: &DlqArgs, all: bool) -> anyhow::Result<TopicReader> {
    let start = if all {
        Start::Beginning
    } else {
        Start::Committed(&args.replay_group)
    };
    TopicReader::open(&args.kafka.connection, &args.kafka.dlq_topic, start).await
}

async fn list(args: &DlqArgs, all: bool) -> anyhow::Result<()> {
    let mut reader = open(args, all).await?;
    while let Some(message) = reader.next(true).await? {
        println!("{}", describe(&message));
    }
    Ok(())
}

/// A dead letter as one JSON object. The payload is shown as text when it
/// is UTF-8 (a JSON command), else base64 (protobuf).
fn describe(message: &BorrowedMessage<'_>) -> Value {
    let mut headers = Map::new();
    let mut value = json!({
        "partition": message.partition(),
        "offset": message.offset(),
        "timestamp_ms": message.timestamp().to_millis(),
        "key": message.key().map(String::from_utf8_lossy),
    });
    for (name, header) in kafka::headers_of(message) {
        let text = header.map(String::from_utf8_lossy).unwrap_or_default();
        if added::ADDED.contains(&name.as_ref()) {
            value[name.as_ref()] = text
                .parse::<i64>()
                .map_or_else(|_| json!(text), |n| json!(n));
        } else {
            headers.insert(name.into_owned(), json!(text));
        }
    }
    value["headers"] = Value::Object(headers);
    match message.payload().map(std::str::from_utf8) {
        Some(Ok(text)) => value["payload"] = json!(text),
        Some(Err(_)) => {
            value["payload_base64"] = json!(STANDARD.encode(message.payload().unwrap_or_default()))
        }
        None => value["payload"] = Value::Null,
    }
    value
}

async fn replay(
    args: &DlqArgs,
    only: &[(i32, i64)],
    set_headers: &[(String, String)],
    dry_run: bool,
) -> anyhow::Result<()> {
    let producer =
        kafka::create_producer(&kafka::reliable_producer_config(&args.kafka.connection)?)
            .context("creating the producer")?;
    let mut reader = open(args, false).await?;
    let mut progress = Progress::new("replayed", None);
    let (mut replayed, mut skipped) = (0, 0);
    while let Some(message) = reader.next(true).await? {
        let position = (message.partition(), message.offset());
        if !only.is_empty() && !only.contains(&position) {
            skipped += 1;
            continue;
        }
        if message.payload().is_none_or(<[u8]>::is_empty) {
            // Dead-lettered without its bytes (too large): nothing to replay.
            eprintln!(
                "skipping {}:{}: the dead letter has no payload",
                position.0, position.1
            );
            skipped += 1;
            continue;
        }
        if dry_run {
            println!("{}", describe(&message));
            replayed += 1;
            continue;
        }
        let mut headers = OwnedHeaders::new();
        for (name, value) in kafka::headers_of(&message) {
            let is_added = added::ADDED.contains(&name.as_ref());
            let is_set = set_headers
                .iter()
                .any(|(set, _)| set.eq_ignore_ascii_case(&name));
            if !is_added && !is_set {
                headers = headers.insert(Header { key: &name, value });
            }
        }
        for (name, value) in set_headers {
            headers = headers.insert(Header {
                key: name,
                value: Some(value),
            });
        }
        let mut record =
            FutureRecord::<[u8], [u8]>::to(&args.kafka.commands_topic).headers(headers);
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        if let Some(payload) = message.payload() {
            record = record.payload(payload);
        }
        let delivery = producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(e, _)| e)
            .with_context(|| format!("replaying dead letter {}:{}", position.0, position.1))?;
        println!(
            "{}",
            json!({
                "dlq_partition": position.0,
                "dlq_offset": position.1,
                "topic": args.kafka.commands_topic,
                "partition": delivery.partition,
                "offset": delivery.offset,
            })
        );
        replayed += 1;
        progress.tick();
    }
    // A selective replay leaves the rest pending, so it remembers nothing.
    if !dry_run && only.is_empty() {
        reader.commit()?;
    }
    progress.finish();
    let verb = if dry_run { "would replay" } else { "replayed" };
    eprintln!("{verb} {replayed}, skipped {skipped}");
    Ok(())
}
