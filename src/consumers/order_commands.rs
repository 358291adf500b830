//! `OrderCommandConsumer`: reads `order-commands` in the consumer group,
//! hands batches to the processor, dead-letters what cannot be decoded, and
//! stores offsets only once a batch is durable.
//!
//! Guarantee: at-least-once delivery into the processor, which makes it
//! exactly-once in effect (`processed_commands`). The position of each
//! partition is written to `consumer_offsets` in the batch's own
//! transaction, and on every assignment the consumer seeks there: what is
//! durable and where reading resumes cannot disagree, across crashes and
//! rebalances. Offsets are also stored in Kafka
//! (`enable.auto.offset.store=false`, stored only after the commit) for lag
//! monitoring, and used when the database has no row for a partition.
//!
//! A batch covers all assigned partitions; it is applied in up to
//! `APPLY_CONCURRENCY` transactions at once, each over whole partitions, and
//! the next batch is taken once all have committed. A partition revoked
//! mid-batch is finished anyway (its new owner may replay part of it, which
//! changes nothing).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::{BorrowedMessage, Message};
use tokio::time::Instant;
use tracing::Instrument;

use super::batch::{Batch, DeadLetterCause, Position, record_size};
use super::context::CommandConsumerContext;
use super::decode_command;
use crate::backoff;
use crate::config::ServeSettings;
use crate::kafka;
use crate::metrics::Metrics;
use crate::processor::{CommandProcessor, OffsetStore};
use crate::producers::{DeadLetter, DeadLetterProducer};
use crate::shutdown::Shutdown;
use crate::telemetry;

/// Backoff between retries of a batch whose database or DLQ write failed.
pub(super) const RETRY_MIN: Duration = Duration::from_millis(100);
pub(super) const RETRY_MAX: Duration = Duration::from_secs(5);
/// How long shutdown waits for the consumer to leave its group.
const CLOSE_WAIT: Duration = Duration::from_secs(3);

pub struct OrderCommandConsumer {
    pub(super) consumer: StreamConsumer<CommandConsumerContext>,
    pub(super) processor: CommandProcessor,
    pub(super) dlq: DeadLetterProducer,
    pub(super) batch_size: usize,
    pub(super) linger: Duration,
    /// Transactions applied at once, each over its own partitions.
    pub(super) apply_concurrency: usize,
    /// Most bytes of records in one batch (the record that crosses it is
    /// the last).
    pub(super) batch_max_bytes: usize,
    /// Partitions where a key other than the order id was logged already.
    pub(super) key_warned: std::sync::Mutex<HashSet<i32>>,
    /// Failed attempts at a batch before it is applied command by command
    /// and a command that keeps failing is quarantined.
    pub(super) quarantine_after: u32,
    pub(super) metrics: Arc<Metrics>,
}

impl OrderCommandConsumer {
    pub fn new(
        settings: &ServeSettings,
        processor: CommandProcessor,
        offsets: OffsetStore,
        dlq: DeadLetterProducer,
        metrics: Arc<Metrics>,
    ) -> KafkaResult<Self> {
        let context = CommandConsumerContext::new(offsets, metrics.clone());
        let consumer: StreamConsumer<CommandConsumerContext> =
            kafka::client_config(&settings.kafka.connection)?
                .set("group.id", &settings.group_id)
                .set("enable.auto.commit", "true")
                .set("auto.commit.interval.ms", "1000")
                .set("enable.auto.offset.store", "false")
                .set("auto.offset.reset", "earliest")
                .set("enable.partition.eof", "false")
                .set(
                    "session.timeout.ms",
                    settings.session_timeout_ms.to_string(),
                )
                .set("fetch.wait.max.ms", settings.fetch_wait_max_ms.to_string())
                // librdkafka prefetches up to 64 MB per partition by default;
                // a few MB keep a batch ready and the memory flat.
                .set("queued.max.messages.kbytes", "4096")
                // One fetch response at most 8 MB (librdkafka's default is
                // 50 MB), still above the largest record a broker accepts.
                .set("fetch.max.bytes", "8388608")
                // Per-partition lag for the metrics comes from the statistics.
                .set("statistics.interval.ms", "5000")
                .create_with_context(context)
                .map_err(kafka::redacted)?;
        consumer.subscribe(&[&settings.kafka.commands_topic])?;
        Ok(Self {
            consumer,
            processor,
            dlq,
            batch_size: settings.batch_size as usize,
            linger: settings.batch_linger(),
            apply_concurrency: settings.apply_concurrency as usize,
            quarantine_after: settings.quarantine_after_attempts,
            key_warned: std::sync::Mutex::new(HashSet::new()),
            batch_max_bytes: settings.batch_max_bytes as usize,
            metrics,
        })
    }

    /// Runs until `shutdown` fires: the batch in hand is finished, stored
    /// offsets are committed, then it returns.
    pub async fn run(self, mut shutdown: Shutdown) {
        tracing::info!("order-command consumer started");
        loop {
            let batch = tokio::select! {
                _ = shutdown.recv() => break,
                batch = self.next_batch() => batch,
            };
            let size = batch.positions.len();
            let span = tracing::info_span!("batch", size);
            if !self.handle(batch, &mut shutdown).instrument(span).await {
                break;
            }
        }
        // Asynchronous: the positions that matter are in consumer_offsets,
        // and a broker that is gone must not hold the shutdown.
        match self.consumer.commit_consumer_state(CommitMode::Async) {
            Ok(())
            | Err(KafkaError::ConsumerCommit(rdkafka::types::RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => tracing::warn!(error = %e, "final offset commit failed"),
        }
        // Closing leaves the group, which waits for the coordinator; with no
        // broker it could wait for minutes. Close on a thread of its own and
        // stop waiting after CLOSE_WAIT: the group then drops this member
        // after its session timeout.
        let (closed, close_wait) = tokio::sync::oneshot::channel();
        let consumer = self.consumer;
        std::thread::spawn(move || {
            drop(consumer);
            let _ = closed.send(());
        });
        if tokio::time::timeout(CLOSE_WAIT, close_wait).await.is_err() {
            tracing::warn!(
                "the consumer did not leave its group within 3 s (broker unreachable?); stopping anyway"
            );
        }
        tracing::info!("order-command consumer stopped");
    }

    /// Waits for one record, then takes what else arrives within the linger
    /// time, up to the batch size.
    async fn next_batch(&self) -> Batch {
        let mut batch = Batch::default();
        let first = loop {
            match self.consumer.recv().await {
                Ok(message) => break message,
                Err(e) => {
                    kafka::ErrorLog.log(&e, "consuming");
                    tokio::time::sleep(backoff::jittered(RETRY_MIN)).await;
                }
            }
        };
        let mut bytes = record_size(&first);
        self.add(&mut batch, &first);
        let deadline = Instant::now() + self.linger;
        // Bounded in bytes as well as in count: a batch holds copies of
        // the records it dead-letters, which may be a megabyte each.
        while batch.positions.len() < self.batch_size && bytes < self.batch_max_bytes {
            match tokio::time::timeout_at(deadline, self.consumer.recv()).await {
                Ok(Ok(message)) => {
                    bytes += record_size(&message);
                    self.add(&mut batch, &message);
                }
                Ok(Err(e)) => kafka::ErrorLog.log(&e, "consuming"),
                Err(_) => break,
            }
        }
        batch
    }

    fn add(&self, batch: &mut Batch, message: &BorrowedMessage<'_>) {
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
        match decoded {
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
                tracing::trace!(kind = command.body.kind(), "command received");
                batch
                    .commands
                    .push((message.partition(), message.offset(), command));
            }
            Err(error) => {
                let letter = DeadLetter::from_message(message, &error.to_string());
                tracing::warn!(error = %letter.error, "undecodable command, dead-lettering it");
                batch.dead_letter_reasons.push(error.reason());
                batch.dead_letters.push(letter);
            }
        }
        batch.positions.push(Position {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
        });
    }
}
