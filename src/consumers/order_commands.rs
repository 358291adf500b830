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
//! Partitions are spread over `APPLY_CONCURRENCY` lanes (partition modulo
//! lanes). The consumer reads on while the lanes apply; each lane applies
//! its records one batch (one transaction) after the other, in delivery
//! order, and takes its next batch as soon as the previous one committed,
//! so a lane's batch k+1 gathers while batch k commits, and a lane does not
//! wait for the others' commits. A partition's commits, and so its stored
//! positions, stay in order; an order's commands share a partition, so they
//! stay in order too. Records waiting in the lanes are bounded in bytes and
//! in count: a lane that cannot apply (its batch retried while the database
//! is down, or on its way to quarantine) fills its queue and then holds up
//! reading for all, as one batch did before there were lanes. A
//! partition revoked while its records wait is finished anyway (its new
//! owner may replay part of it, which changes nothing).

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::message::Message;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::Instant;
use tracing::Instrument;

use super::batch::{Batch, Record, lane_of, record_size};
use super::client::{GroupClient, UNRELEASED_RETRY};
use super::durable::{Durable, RETRY_MIN};
use super::leave::changed;
use super::record::Decoder;
use crate::backoff;
use crate::config::{GroupSettings, IntakeSettings, KafkaSettings};
use crate::kafka;
use crate::metrics::Metrics;
use crate::processor::{CommandProcessor, OffsetStore};
use crate::producers::DeadLetterProducer;
use crate::shutdown::Shutdown;

/// How long shutdown waits for the consumer to leave its group.
const CLOSE_WAIT: Duration = Duration::from_secs(3);

pub struct OrderCommandConsumer {
    /// The group's client (built again while the broker refuses a static
    /// id for now).
    client: GroupClient,
    /// Decodes what is read.
    decoder: Decoder,
    /// Makes the lanes' batches durable.
    durable: Durable,
    batch_size: usize,
    linger: Duration,
    /// Transactions applied at once, each over its own partitions.
    apply_concurrency: usize,
    /// Most bytes of records in one batch (the record that crosses it is
    /// the last).
    batch_max_bytes: usize,
    /// The command topic, to subscribe to again.
    consumer_topic: String,
    metrics: Arc<Metrics>,
}

impl OrderCommandConsumer {
    /// Reads `kafka`'s command topic in `group`, applying as `intake` says.
    pub fn new(
        kafka: &KafkaSettings,
        group: &GroupSettings,
        intake: &IntakeSettings,
        processor: CommandProcessor,
        offsets: OffsetStore,
        dlq: DeadLetterProducer,
        metrics: Arc<Metrics>,
    ) -> KafkaResult<Self> {
        let client = GroupClient::new(
            kafka,
            group,
            intake,
            offsets,
            processor.cache().clone(),
            metrics.clone(),
        )?;
        Ok(Self {
            client,
            decoder: Decoder::new(metrics.clone()),
            durable: Durable {
                processor,
                dlq,
                quarantine_after: intake.quarantine_after_attempts,
                metrics: metrics.clone(),
            },
            batch_size: intake.batch_size as usize,
            linger: intake.batch_linger(),
            apply_concurrency: intake.apply_concurrency as usize,
            batch_max_bytes: intake.batch_max_bytes as usize,
            consumer_topic: kafka.commands_topic.clone(),
            metrics,
        })
    }

    /// Runs until `shutdown` fires: each lane finishes the batch in hand,
    /// stored offsets are committed, then it returns. Returns the error
    /// early, the same way, when the consumer hits a fatal one (its static
    /// member id fenced by another instance with the same id): librdkafka
    /// then gives up the partitions and consumes nothing more.
    ///
    /// `reachable` (see [`crate::reachability`]) turning false makes the
    /// consumer leave its group (unsubscribe: its partitions go to the
    /// other instances); turning true again, it subscribes anew.
    pub async fn run(
        self,
        shutdown: Shutdown,
        reachable: Option<watch::Receiver<bool>>,
    ) -> Result<(), KafkaError> {
        tracing::info!("order-command consumer started");
        let lanes = self.apply_concurrency.max(1);
        // Bytes of records read and not yet applied, across the lanes: a
        // batch in each lane and as much again waiting.
        let budget = Arc::new(Semaphore::new(self.batch_max_bytes * (lanes + 1)));
        let (senders, receivers): (Vec<_>, Vec<_>) =
            (0..lanes).map(|_| mpsc::channel(self.batch_size)).unzip();
        let applying = join_all(
            receivers
                .into_iter()
                .enumerate()
                .map(|(lane, records)| self.lane(lane, records, shutdown.clone())),
        );
        let (read, _) = tokio::join!(self.read(senders, budget, shutdown, reachable), applying);
        // Asynchronous: the positions that matter are in consumer_offsets,
        // and a broker that is gone must not hold the shutdown.
        match self.client.get().commit_consumer_state(CommitMode::Async) {
            Ok(())
            | Err(KafkaError::ConsumerCommit(rdkafka::types::RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => tracing::warn!(error = %e, "final offset commit failed"),
        }
        // Closing leaves the group, which waits for the coordinator; with no
        // broker it could wait for minutes. Close on a thread of its own and
        // stop waiting after CLOSE_WAIT: the group then drops this member
        // after its session timeout.
        if tokio::time::timeout(CLOSE_WAIT, self.client.close())
            .await
            .is_err()
        {
            tracing::warn!(
                "the consumer did not leave its group within 3 s (broker unreachable?); stopping anyway"
            );
        }
        tracing::info!("order-command consumer stopped");
        read
    }

    /// Reads records and hands each to the lane of its partition, until
    /// shutdown, a lane stops, or a fatal error. Waits while the records in
    /// the lanes hold the whole byte budget.
    async fn read(
        &self,
        lanes: Vec<mpsc::Sender<Record>>,
        budget: Arc<Semaphore>,
        mut shutdown: Shutdown,
        mut reachable: Option<watch::Receiver<bool>>,
    ) -> Result<(), KafkaError> {
        let most = u32::try_from(self.batch_max_bytes).unwrap_or(u32::MAX);
        loop {
            let consumer = self.client.get();
            let message = tokio::select! {
                _ = shutdown.recv() => return Ok(()),
                Some(reachable) = changed(&mut reachable) => {
                    self.client.follow_database(reachable, &self.consumer_topic, &self.metrics);
                    continue;
                }
                message = consumer.recv() => message,
            };
            let message = match message {
                Ok(message) => {
                    self.client.released();
                    self.decoder.delivered(&message);
                    message
                }
                Err(KafkaError::MessageConsumptionFatal(_))
                    if GroupClient::unreleased(&consumer) =>
                {
                    drop(consumer);
                    self.metrics.set_in_group(false);
                    // Until a client is made (the failed one will not say
                    // its error again).
                    loop {
                        tokio::select! {
                            _ = shutdown.recv() => return Ok(()),
                            _ = tokio::time::sleep(UNRELEASED_RETRY) => {}
                        }
                        if self.client.rebuild(!self.metrics.left_group()) {
                            break;
                        }
                    }
                    continue;
                }
                Err(e @ KafkaError::MessageConsumptionFatal(_)) => {
                    let (code, reason) = consumer.client().fatal_error().unzip();
                    tracing::error!(
                        error = %e,
                        code = ?code,
                        reason,
                        "fatal consumer error (FENCED_INSTANCE_ID: another instance with the \
                         same KAFKA_GROUP_INSTANCE_ID; UNSUPPORTED_VERSION: a broker before \
                         Kafka 4.0 under KAFKA_GROUP_PROTOCOL=consumer): stopping the service"
                    );
                    self.metrics.set_in_group(false);
                    return Err(e);
                }
                Err(e) => {
                    kafka::ErrorLog.log(&e, "consuming");
                    tokio::time::sleep(backoff::jittered(RETRY_MIN)).await;
                    continue;
                }
            };
            let received = std::time::Instant::now();
            // A record larger than a batch holds a batch's worth.
            let size = u32::try_from(record_size(&message))
                .unwrap_or(u32::MAX)
                .min(most);
            // Both waits below last while a lane cannot apply (its
            // database is gone): they follow its reachability too.
            let permit = loop {
                tokio::select! {
                    _ = shutdown.recv() => return Ok(()),
                    Some(reachable) = changed(&mut reachable) => self.client.follow_database(reachable, &self.consumer_topic, &self.metrics),
                    permit = budget.clone().acquire_many_owned(size) => {
                        break permit.expect("the budget is never closed");
                    }
                }
            };
            let record = self.decoder.record(&message, permit, received);
            let lane = &lanes[lane_of(message.partition(), lanes.len())];
            drop(message);
            let slot = loop {
                tokio::select! {
                    _ = shutdown.recv() => return Ok(()),
                    Some(reachable) = changed(&mut reachable) => self.client.follow_database(reachable, &self.consumer_topic, &self.metrics),
                    slot = lane.reserve() => break slot,
                }
            };
            match slot {
                Ok(slot) => slot.send(record),
                Err(_) => return Ok(()),
            }
        }
    }

    /// Applies the records of its partitions, one batch after the other:
    /// waits for one record, then takes what else is there or arrives
    /// within the linger time, up to the batch size and bytes. While it
    /// applies, the next batch gathers in its queue, and the other lanes
    /// apply theirs.
    async fn lane(&self, lane: usize, mut records: mpsc::Receiver<Record>, mut shutdown: Shutdown) {
        loop {
            let first = tokio::select! {
                biased;
                _ = shutdown.recv() => return,
                record = records.recv() => record,
            };
            let Some(first) = first else {
                return;
            };
            let mut batch = Batch::default();
            batch.push(first);
            let deadline = Instant::now() + self.linger;
            while batch.positions.len() < self.batch_size && batch.bytes() < self.batch_max_bytes {
                match tokio::time::timeout_at(deadline, records.recv()).await {
                    Ok(Some(record)) => batch.push(record),
                    Ok(None) | Err(_) => break,
                }
            }
            let span = tracing::info_span!("batch", size = batch.positions.len());
            if !self
                .durable
                .handle(lane, batch, &self.client, &mut shutdown)
                .instrument(span)
                .await
            {
                return;
            }
        }
    }
}
