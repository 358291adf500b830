//! `OutboxRelay`: publishes outbox rows to `order-events` in Kafka
//! transactions, each committing the relay's position with its events, and
//! advances the watermark `outbox_relay.published_through` behind it.
//!
//! Guarantees: a read_committed reader of `order-events` sees every event
//! once, in order per order, across crashes, pauses and takeovers.
//!
//! One instance publishes at a time: the holder of a lease in
//! `outbox_relay` (see [`lease`]). A new holder creates transactional
//! producers under the deployment's fixed `transactional.id` and the ids
//! after it ([`publisher`]), whose `init_transactions` fence every earlier
//! producer (a paused or cut-off holder can add nothing after it lost the
//! role, and its open transaction is aborted), then reads its position back
//! from the progress topic (`KAFKA_RELAY_TOPIC`, [`progress`]) and resumes
//! from there. Its rounds take the producers in turn, one transaction open
//! at a time.
//!
//! Rows come two ways: handed over in process right after their
//! transaction committed ([`crate::handover`]), and read from the table (at
//! start, on taking over, for other instances' rows and whatever a
//! handover dropped). Both go through one cursor: every id below `next` is
//! published or a gap. Each round is one statement that returns, in one
//! snapshot, the visible ids from `next` up to the highest id handed over
//! (or up to a batch when polling) and the gaps; rows not in hand are then
//! fetched by id, and everything is sent in id order in one Kafka
//! transaction, followed by the position it leads to (`next` and the
//! gaps), and committed. An id that is not visible is a gap: a transaction
//! still running (it committed late) or one that rolled back. A gap is
//! looked up again each round until it appears, or until no transaction
//! that could still commit it runs: that first look draws a transaction id
//! of its own (its horizon), and the gap goes once no transaction of this
//! database older than the horizon holds a write lock on the outbox (an
//! insert takes it before its row draws an id and keeps it to its end;
//! checked before the look's snapshot, see
//! [`crate::db::models::OutboxMessage::oldest_writer`]). Transactions in other databases, long
//! reads, `CREATE INDEX CONCURRENTLY` hold nothing back. A writer takes its
//! transaction id before its rows take theirs (the outbox's sequence does
//! not cache), so a row that commits late is never skipped. Per-order order holds because
//! an order's later rows are written under its row lock after the earlier
//! ones committed: a round that sees a later row sees the earlier one too.
//!
//! A record that fails aborts its round, and the round goes again whole
//! ([`hold`] keeps an order whose record keeps failing from holding up
//! the others); a fatal producer error (fencing included) ends the term.
//! The watermark (for the purge and the backlog) is saved after Kafka
//! committed, under the lease's generation: it never passes what Kafka
//! committed, and a deposed holder writes nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::error::KafkaError;
use tokio::time::Instant;
use uuid::Uuid;

use crate::backoff::{self, Backoff};
use crate::config::{KafkaConnection, KafkaSettings, RelaySettings};
use crate::db::models::OutboxMessage;
use crate::db::{Database, DbError};
use crate::handover::{Committed, Handed};
use crate::kafka;
use crate::metrics::{Metrics, Stage};
use crate::shutdown::Shutdown;

mod cursor;
mod hold;
mod lease;
mod progress;
mod publisher;
mod round;
mod term;

use lease::OldRelayGuard;
use term::Term;

const RETRY_MAX: Duration = Duration::from_secs(5);
/// How often an instance that is not the publisher tries to become it
/// (jittered to half of it up to it): a role released by a stopping
/// instance in a rolling restart is taken within about a second, lease
/// claim and producer start included. An attempt at a held lease costs a
/// check of the earlier releases' lock and one transaction whose UPDATE
/// matches no row, on the blocking pool: 2-4 a second per standby.
const LEADERSHIP_RETRY: Duration = Duration::from_millis(500);
/// Longest the saved watermark lags behind Kafka's position while events
/// stream.
const MARK_EVERY: Duration = Duration::from_millis(20);

/// Why a round did not commit.
enum RoundError {
    /// The database failed: the term ends (its connection may be gone).
    Db(DbError),
    /// The producer is done (fenced, fatal error): the term ends.
    Fatal(KafkaError),
    /// The transaction was aborted; its rows go again after a backoff.
    Aborted,
    /// The term ran out by this process's clock before the round could
    /// commit (a pause, a slow database): the term ends.
    Expired,
}

pub struct OutboxRelay {
    db: Database,
    connection: KafkaConnection,
    topic: String,
    progress_topic: String,
    transactional_id: Option<String>,
    producers: usize,
    old_relays: Arc<Mutex<OldRelayGuard>>,
    lease: Duration,
    holder: String,
    batch_size: i64,
    poll: Duration,
    committed: Committed,
    metrics: Arc<Metrics>,
}

impl OutboxRelay {
    /// Publishes `kafka`'s events topic as `relay` says.
    pub fn new(
        kafka: &KafkaSettings,
        relay: &RelaySettings,
        db: Database,
        committed: Committed,
        metrics: Arc<Metrics>,
    ) -> Result<Self, KafkaError> {
        // The configuration is checked now, not at the first term.
        kafka::relay_producer_config(&kafka.connection, "order-service-relay", relay.lease())?;
        Ok(Self {
            db,
            connection: kafka.connection.clone(),
            topic: kafka.events_topic.clone(),
            progress_topic: kafka.relay_topic(),
            transactional_id: relay.transactional_id.clone(),
            producers: relay.producers as usize,
            old_relays: Arc::default(),
            lease: relay.lease(),
            holder: holder_name(),
            batch_size: i64::from(relay.batch_size),
            poll: relay.poll(),
            committed,
            metrics,
        })
    }

    /// Publishes while it holds the role, until `shutdown` fires; then
    /// saves the watermark and gives the role up at once.
    pub async fn run(mut self, mut shutdown: Shutdown) {
        let mut term: Option<Term> = None;
        let mut next_attempt = Instant::now();
        // Reads of the table follow the poll interval; failed ones back off.
        let mut retry = Backoff::new(self.poll, RETRY_MAX.max(self.poll));
        let mut next_poll = Instant::now();
        let mut last_mark = Instant::now();
        // Since when every round has been aborted (a broker cut off).
        let mut aborting_since: Option<Instant> = None;
        loop {
            if term.is_none() && Instant::now() >= next_attempt {
                term = self.start_term().await;
                next_attempt = Instant::now() + backoff::jittered(LEADERSHIP_RETRY);
                if term.is_some() {
                    next_poll = Instant::now();
                    aborting_since = None;
                }
            }
            let renew_at = match &term {
                // The lease's renewal, or the watermark's save when Kafka
                // committed more than it says.
                Some(current) if current.cursor.watermark(None) > current.cursor.saved => {
                    current.lease.renewal_at().min(last_mark + MARK_EVERY)
                }
                Some(current) => current.lease.renewal_at(),
                // Nothing to read until the next attempt at the role.
                None => {
                    next_poll = next_poll.max(next_attempt);
                    next_attempt
                }
            };
            let mut handed = Vec::new();
            let mut taken = Taken::default();
            let mut read = false;
            // Rows handed over come before the shutdown: the consumer stops
            // first, and the rows its last batch committed are in the
            // channel when the relay is told to stop; a random pick could
            // leave them to the next relay.
            tokio::select! {
                biased;
                Some(rows) = self.committed.recv() => {
                    handed = taken.take(rows, &self.metrics);
                    read = true;
                }
                _ = shutdown.recv() => break,
                _ = tokio::time::sleep_until(next_poll) => read = true,
                _ = tokio::time::sleep_until(renew_at) => {}
            }
            while let Ok(rows) = self.committed.try_recv() {
                handed.extend(taken.take(rows, &self.metrics));
            }
            let Some(current) = term.as_mut() else {
                // Not the publisher: the one who is reads these rows from
                // the table.
                continue;
            };
            let watermark = current.cursor.watermark(None);
            let mark = (watermark > current.cursor.saved && last_mark.elapsed() >= MARK_EVERY)
                .then_some(watermark);
            if mark.is_some() || current.lease.renewal_due() {
                last_mark = Instant::now();
                if let Err(reason) = self.renew(current, mark).await {
                    self.end_term(term.take(), &reason, false).await;
                    next_attempt = Instant::now() + retry.next_delay();
                    continue;
                }
            }
            if !read {
                continue;
            }
            let polled = handed.is_empty();
            match self.round(current, handed).await {
                Ok(full) => {
                    taken.published(&self.metrics);
                    retry.reset();
                    aborting_since = None;
                    if full {
                        next_poll = Instant::now();
                    } else if polled {
                        next_poll = Instant::now() + self.poll;
                    }
                }
                Err(RoundError::Aborted) => {
                    let since = *aborting_since.get_or_insert_with(Instant::now);
                    // Only while no broker is reachable (the consumer's
                    // statistics say so): records a broker refuses are
                    // the holds' business, and go on with this term.
                    if since.elapsed() >= self.lease && !self.metrics.broker_reachable() {
                        // This instance cannot publish (its brokers are
                        // cut off): the role goes to one that may.
                        let reason = format!(
                            "every round failed for {} s with no broker reachable",
                            since.elapsed().as_secs()
                        );
                        self.end_term(term.take(), &reason, false).await;
                        aborting_since = None;
                        next_attempt = Instant::now() + self.lease;
                    } else {
                        next_poll = Instant::now() + retry.next_delay();
                    }
                }
                Err(RoundError::Db(e)) => {
                    let reason = format!("its database connection failed: {e}");
                    self.end_term(term.take(), &reason, false).await;
                    next_attempt = Instant::now() + retry.next_delay();
                }
                Err(RoundError::Expired) => {
                    let reason = "its lease ran out during a round (paused, or too slow)";
                    self.end_term(term.take(), reason, false).await;
                    next_attempt = Instant::now() + self.lease;
                }
                Err(RoundError::Fatal(e)) => {
                    // Another instance gets the first chance at the role.
                    let reason = format!("its producer failed for good (fenced?): {e}");
                    self.end_term(term.take(), &reason, false).await;
                    next_attempt = Instant::now() + self.lease / 2;
                }
            }
        }
        self.end_term(term, "the service stops", true).await;
        tracing::info!("outbox relay stopped");
    }
}

/// The rows handed over for a round, and when they were taken, for the
/// stage metrics.
#[derive(Default)]
struct Taken {
    rows: usize,
    at: Option<Instant>,
}

impl Taken {
    /// Counts the handed rows' wait since their commit; returns them.
    fn take(&mut self, handed: Handed, metrics: &Metrics) -> Vec<OutboxMessage> {
        let now = std::time::Instant::now();
        metrics.stages.observe(
            Stage::handed_over,
            now.duration_since(handed.committed_at).as_secs_f64(),
            handed.rows.len(),
        );
        self.rows += handed.rows.len();
        self.at.get_or_insert(Instant::from_std(now));
        handed.rows
    }

    /// The round that took them committed its Kafka transaction.
    fn published(&self, metrics: &Metrics) {
        if let Some(at) = self.at {
            metrics
                .stages
                .observe(Stage::published, at.elapsed().as_secs_f64(), self.rows);
        }
    }
}

/// This process's name as a lease holder: host, process id and a nonce
/// (a restarted process with a reused pid is another holder).
fn holder_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into());
    let nonce = Uuid::new_v4().simple().to_string();
    format!("{host}:{}:{}", std::process::id(), &nonce[..8])
}
