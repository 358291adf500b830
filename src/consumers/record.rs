//! A record read from the command topic, as a lane takes it: the decoded
//! command (with the trace context of its record), or the dead letter it
//! becomes and why.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rdkafka::message::{BorrowedMessage, Message};
use tokio::sync::OwnedSemaphorePermit;

use super::batch::{Content, DeadLetterCause, Delivered, Position, Record};
use super::decode_command;
use crate::kafka;
use crate::metrics::{Metrics, Stage};
use crate::producers::DeadLetter;
use crate::telemetry;

/// Turns the records read into what the lanes take.
pub(super) struct Decoder {
    /// Partitions where a key other than the order id was logged already.
    key_warned: Mutex<HashSet<i32>>,
    metrics: Arc<Metrics>,
}

impl Decoder {
    pub(super) fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            key_warned: Mutex::new(HashSet::new()),
            metrics,
        }
    }

    /// Decodes a record (or says why it is dead-lettered).
    pub(super) fn record(
        &self,
        message: &BorrowedMessage<'_>,
        permit: OwnedSemaphorePermit,
        received: Instant,
    ) -> Record {
        let span = tracing::info_span!(
            "message",
            topic = message.topic(),
            partition = message.partition(),
            offset = message.offset(),
            command_id = tracing::field::Empty,
            order_id = tracing::field::Empty,
        );
        let _entered = span.enter();
        let headers = kafka::headers_of(message);
        let content_type = headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
            .and_then(|(_, value)| *value);
        // Without a key, commands of one order may land on any partition:
        // their order cannot hold, so such a record is not applied.
        let decoded = match message.key() {
            None => Err(DeadLetterCause::NoKey),
            Some(_) => {
                decode_command(message.payload(), content_type).map_err(DeadLetterCause::Decode)
            }
        };
        let content = match decoded {
            Ok(mut command) => {
                command.traceparent = headers
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(telemetry::TRACEPARENT))
                    .and_then(|(_, value)| std::str::from_utf8((*value)?).ok())
                    .filter(|value| telemetry::is_traceparent(value))
                    .map(str::to_owned);
                if let Some(traceparent) = &command.traceparent {
                    telemetry::join_remote(&span, traceparent);
                }
                span.record("command_id", tracing::field::display(command.command_id));
                span.record("order_id", tracing::field::display(command.order_id));
                if message
                    .key()
                    .is_some_and(|key| key != command.order_id.to_string().as_bytes())
                {
                    // Per-order order rests on key = order_id: commands of one
                    // order under other keys may land on several partitions.
                    self.metrics.key_mismatches.inc();
                    let first = self
                        .key_warned
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(message.partition());
                    if first {
                        tracing::warn!(
                            "record key is not the command's order_id (logged once per partition; counted in commands_key_mismatch_total)"
                        );
                    }
                }
                tracing::trace!(kind = command.body.kind().as_str(), "command received");
                Content::Command(Box::new(Delivered {
                    command,
                    original: DeadLetter::from_message(message, ""),
                }))
            }
            Err(error) => {
                let letter = DeadLetter::from_message(message, &error.to_string());
                tracing::warn!(error = %letter.error, "undecodable command, dead-lettering it");
                Content::DeadLetter(Box::new(letter), error.reason())
            }
        };
        Record {
            position: Position {
                topic: message.topic().to_owned(),
                partition: message.partition(),
                offset: message.offset(),
            },
            content,
            permit,
            received,
        }
    }

    /// Counts the time from the record's timestamp (its producer's clock)
    /// to now, when it was read. A timestamp ahead of this clock counts as
    /// zero; a record without one is not counted.
    pub(super) fn delivered(&self, message: &BorrowedMessage<'_>) {
        let Some(stamped) = message.timestamp().to_millis() else {
            return;
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let seconds = (now - stamped).max(0) as f64 / 1e3;
        self.metrics.stages.observe(Stage::delivered, seconds, 1);
    }
}
