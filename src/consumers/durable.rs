//! Making a lane's batch durable: dead letters first, then the batch in one
//! transaction (or, after `QUARANTINE_AFTER_ATTEMPTS` failures, one
//! command per transaction, quarantining what keeps failing), retried with
//! backoff until it holds or shutdown comes; then the Kafka offsets are
//! stored and the metrics counted.
//!
//! A batch failing for the database's reasons (`db::fault`) is retried
//! without limit, keeping its lane's order: nothing is dead-lettered because
//! PostgreSQL was unwell. The lane's wait shows in the metrics and in
//! `/readyz`'s body; the log says so at the first failure, then once a
//! minute, and when it passes.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::Consumer;
use tokio::time::Instant;

use super::batch::Batch;
use super::client::GroupClient;
use crate::backoff::Backoff;
use crate::db::DbError;
use crate::metrics::{
    KindLabels, Metrics, ReappliedLabels, ReasonLabels, RejectionLabels, SourceLabels, Stage,
};
use crate::processor::{BatchOutcome, CommandProcessor, Isolated};
use crate::producers::{DeadLetter, DeadLetterProducer};
use crate::shutdown::Shutdown;

/// Backoff between retries of a batch whose database or DLQ write failed.
pub(super) const RETRY_MIN: Duration = Duration::from_millis(100);
pub(super) const RETRY_MAX: Duration = Duration::from_secs(5);

/// What makes the lanes' batches durable.
pub(super) struct Durable {
    pub(super) processor: CommandProcessor,
    pub(super) dlq: DeadLetterProducer,
    /// Failed attempts at a batch before it is applied command by command
    /// and a command that keeps failing is quarantined.
    pub(super) quarantine_after: u32,
    pub(super) metrics: Arc<Metrics>,
}

impl Durable {
    /// Makes the batch durable, retrying with backoff, then stores its
    /// offsets in `client`. Returns false when shutdown interrupted the
    /// retries (nothing stored: the records will be delivered again).
    pub(super) async fn handle(
        &self,
        lane: usize,
        batch: Batch,
        client: &GroupClient,
        shutdown: &mut Shutdown,
    ) -> bool {
        let mut backoff = Backoff::new(RETRY_MIN, RETRY_MAX);
        let mut wait_log = WaitLog::default();
        let started = Instant::now();
        self.metrics
            .batch_size
            .observe(batch.positions.len() as f64);
        let closed = std::time::Instant::now();
        self.metrics.stages.observe_each(
            Stage::queued,
            batch
                .received
                .iter()
                .map(|at| closed.duration_since(*at).as_secs_f64()),
        );
        let mut dead_lettered = batch.dead_letters.is_empty();
        let mut failures = 0;
        loop {
            if !dead_lettered {
                // Raced with shutdown: with the broker gone a send waits
                // up to its 30 s timeout, and nothing is stored meanwhile.
                let sent = tokio::select! {
                    _ = shutdown.recv() => return false,
                    sent = self.dlq.send_all(&batch.dead_letters) => sent,
                };
                match sent {
                    Ok(()) => dead_lettered = true,
                    Err(e) => tracing::error!(error = %e, "dead-letter publish failed, will retry"),
                }
            }
            if dead_lettered && failures >= self.quarantine_after {
                let isolated = tokio::select! {
                    _ = shutdown.recv() => return false,
                    isolated = self.apply_isolating(&batch) => isolated,
                };
                match isolated {
                    Ok(quarantined) => {
                        self.recovered(lane);
                        store_offsets(client, &batch);
                        self.count(&batch, &quarantined.outcome, started.elapsed());
                        self.metrics
                            .dead_lettered
                            .get_or_create(&ReasonLabels {
                                reason: "quarantined".to_owned(),
                            })
                            .inc_by(quarantined.quarantined.len() as u64);
                        return true;
                    }
                    Err(e) => {
                        let db = e.downcast_ref::<DbError>();
                        self.waiting(lane, db.and_then(DbError::sqlstate), &e, &mut wait_log);
                    }
                }
            } else if dead_lettered {
                let commands = batch.command_list();
                let applied = self
                    .processor
                    .apply_batch(commands, batch.partition_list(), batch.next_offsets())
                    .await;
                match applied {
                    Ok(outcome) => {
                        self.recovered(lane);
                        tracing::debug!(
                            applied = outcome.applied,
                            rejected = outcome.rejected,
                            duplicates = outcome.duplicates,
                            dead_lettered = batch.dead_letters.len(),
                            elapsed_ms = started.elapsed().as_millis() as u64,
                            "batch committed"
                        );
                        store_offsets(client, &batch);
                        self.count(&batch, &outcome, started.elapsed());
                        return true;
                    }
                    Err(e) => self.waiting(lane, e.sqlstate(), &e, &mut wait_log),
                }
            }
            self.metrics.batch_failures.inc();
            failures += 1;
            tokio::select! {
                _ = shutdown.recv() => return false,
                _ = tokio::time::sleep(backoff.next_delay()) => {}
            }
        }
    }

    /// The batch one command per transaction: the quarantined commands are
    /// dead-lettered (their records as they came, with the reason), then the positions
    /// saved. `Err` leaves everything to be retried (applied commands are
    /// then found processed).
    async fn apply_isolating(&self, batch: &Batch) -> anyhow::Result<Isolated> {
        let commands = batch.command_list();
        let isolated = self
            .processor
            .apply_isolated(commands, self.quarantine_after)
            .await?;
        let letters: Vec<DeadLetter> = isolated
            .quarantined
            .iter()
            .map(|q| batch.commands[q.index].original.clone().because(&q.reason))
            .collect();
        self.dlq.send_all(&letters).await?;
        self.processor.save_offsets(batch.next_offsets()).await?;
        Ok(isolated)
    }

    /// Records a failed attempt; logs it at the lane's first failure and
    /// then once a minute.
    fn waiting(
        &self,
        lane: usize,
        sqlstate: Option<&str>,
        error: &dyn std::fmt::Display,
        log: &mut WaitLog,
    ) {
        let error = error.to_string();
        let waited = self.metrics.apply.failed(lane, sqlstate, &error);
        if log.due() {
            tracing::error!(
                lane,
                sqlstate,
                waited_s = waited.as_secs(),
                error = %error,
                "applying a batch failed; its lane waits and will retry (logged once a minute)"
            );
        }
    }

    fn recovered(&self, lane: usize) {
        if let Some((waited, attempts)) = self.metrics.apply.recovered(lane) {
            tracing::info!(
                lane,
                waited_s = waited.as_secs(),
                attempts,
                "the lane's batch went through after waiting"
            );
        }
    }

    fn count(&self, batch: &Batch, outcome: &BatchOutcome, elapsed: Duration) {
        let metrics = &self.metrics;
        metrics.apply_seconds.observe(elapsed.as_secs_f64());
        metrics
            .stages
            .observe(Stage::applied, elapsed.as_secs_f64(), batch.commands.len());
        metrics.duplicates.inc_by(outcome.duplicates as u64);
        let orders = |source| metrics.apply.orders.get_or_create(&SourceLabels { source });
        orders("cache").inc_by(outcome.orders_known as u64);
        orders("database").inc_by(outcome.orders_read as u64);
        if let Some(reason) = outcome.reapplied {
            metrics
                .apply
                .reapplied
                .get_or_create(&ReappliedLabels { reason })
                .inc();
        }
        for ((kind, code), count) in &outcome.tally {
            let kind = (*kind).to_owned();
            let count = *count as u64;
            match code {
                None => metrics
                    .applied
                    .get_or_create(&KindLabels { kind })
                    .inc_by(count),
                Some(code) => metrics
                    .rejected
                    .get_or_create(&RejectionLabels {
                        kind,
                        code: (*code).to_owned(),
                    })
                    .inc_by(count),
            };
        }
        for reason in &batch.dead_letter_reasons {
            metrics
                .dead_lettered
                .get_or_create(&ReasonLabels {
                    reason: (*reason).to_owned(),
                })
                .inc();
        }
    }
}

/// Stores the positions of a durable batch in Kafka (for lag monitoring).
fn store_offsets(client: &GroupClient, batch: &Batch) {
    for ((topic, partition), offset) in batch.last_offsets() {
        // `store_offset` stores offset + 1: the next record to read.
        if let Err(e) = client.get().store_offset(topic, partition, offset) {
            // The partition was revoked meanwhile; its new owner resumes
            // from `consumer_offsets`.
            tracing::info!(topic, partition, offset, error = %e, "offset not stored");
        }
    }
}

/// When a waiting lane logs: at its first failure, then once a minute.
#[derive(Default)]
struct WaitLog {
    last: Option<Instant>,
}

impl WaitLog {
    const EVERY: Duration = Duration::from_secs(60);

    fn due(&mut self) -> bool {
        let due = self.last.is_none_or(|last| last.elapsed() >= Self::EVERY);
        if due {
            self.last = Some(Instant::now());
        }
        due
    }
}
