//! `OutboxRelay`: publishes outbox rows to `order-events` and stamps them
//! `published_at`.
//!
//! Guarantees: at-least-once, in order per order. Rows are read in id order
//! (an order's rows get increasing ids, as its commands are applied one after
//! the other under its row lock) and sent through an idempotent producer
//! whose records never time out; a row is marked once the broker has
//! acknowledged it. A crash between acknowledgement and mark re-publishes
//! the same bytes: same `event_id`, same `sequence`, so consumers can drop
//! the repeat.
//!
//! No Kafka wait happens inside a database transaction: reading pending rows
//! is one statement, publishing happens outside any transaction, marking is
//! one short statement per group of acknowledgements. A row handed to the
//! producer stays "in flight" until the broker answers and is never handed
//! over again meanwhile, so a broker outage of any length adds no copy of an
//! event (only a crash between ack and mark repeats one, once).
//!
//! One relay publishes at a time across all instances: the publisher holds
//! a session-level advisory lock on a connection of its own (with TCP
//! keepalives); losing that connection loses the role, and the lock with it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureRecord, Producer, PurgeConfig};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::backoff::{self, Backoff};
use crate::config::ServeSettings;
use crate::db::models::OutboxMessage;
use crate::db::{Database, DbError};
use crate::kafka;
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;

/// Key of the advisory lock that makes one relay the publisher.
const RELAY_LOCK: i64 = 0x6f72_6465_725f_726c;
const RETRY_MAX: Duration = Duration::from_secs(5);
/// How often an instance that is not the publisher tries to become it.
const LEADERSHIP_RETRY: Duration = Duration::from_secs(2);
/// Longest acknowledged rows wait to be marked while events stream.
const MARK_EVERY: Duration = Duration::from_millis(20);
/// Longest the final flush at shutdown may take.
const FINAL_FLUSH: Duration = Duration::from_secs(4);

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// The publisher role: a connection holding the session-level lock.
#[derive(Clone)]
struct Leader(Arc<Mutex<PgConnection>>);

impl Leader {
    /// Runs `f` on the leader connection on the blocking pool.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut PgConnection) -> QueryResult<T> + Send + 'static,
    ) -> Result<T, DbError> {
        let conn = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| std::panic::resume_unwind(e.into_panic()))
        .and_then(|result| result.map_err(DbError::from))
    }
}

/// Rows handed to the producer and not yet answered. Answers are taken as
/// they come (the producer keeps each partition's order), so a slow
/// partition does not hold back the marks of the others.
#[derive(Default)]
struct InFlight {
    deliveries: FuturesUnordered<Delivery>,
    ids: HashSet<i64>,
    /// Acknowledged, not yet marked.
    acked: Vec<i64>,
}

type Delivery = std::pin::Pin<Box<dyn Future<Output = (i64, bool)> + Send>>;

impl InFlight {
    fn push(&mut self, id: i64, delivery: DeliveryFuture) {
        self.ids.insert(id);
        self.deliveries.push(Box::pin(async move {
            match delivery.await {
                Ok(Ok(_)) => (id, true),
                Ok(Err((error, _))) => {
                    // Records never time out: this is an error no retry of
                    // librdkafka's mends (too large, not authorised).
                    kafka::ErrorLog.log(&error, "publishing an event; it will be sent again");
                    (id, false)
                }
                Err(_) => (id, false),
            }
        }));
    }

    /// Records an answer: an acknowledged row waits to be marked, a failed
    /// one leaves the flight and is read again.
    fn settle(&mut self, (id, acked): (i64, bool)) {
        self.ids.remove(&id);
        if acked {
            self.acked.push(id);
        }
    }

    /// Settles every answer that is already in, without waiting.
    fn settle_ready(&mut self) {
        while let Some(Some(answer)) = self.deliveries.next().now_or_never() {
            self.settle(answer);
        }
    }
}

pub struct OutboxRelay {
    db: Database,
    producer: kafka::Producer,
    topic: String,
    batch_size: i64,
    poll: Duration,
    wakeup: Arc<Notify>,
    metrics: Arc<Metrics>,
}

impl OutboxRelay {
    pub fn new(
        settings: &ServeSettings,
        db: Database,
        wakeup: Arc<Notify>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, KafkaError> {
        Ok(Self {
            db,
            producer: kafka::create_producer(&kafka::relay_producer_config(
                &settings.kafka.connection,
            )?)?,
            topic: settings.kafka.events_topic.clone(),
            batch_size: i64::from(settings.relay_batch_size),
            poll: settings.relay_poll(),
            wakeup,
            metrics,
        })
    }

    /// Publishes until `shutdown` fires, then waits a bounded time for the
    /// answers in flight and marks them (rows left unmarked are published
    /// by the next relay).
    pub async fn run(self, mut shutdown: Shutdown) {
        let mut flight = InFlight::default();
        let mut leader: Option<Leader> = None;
        let mut next_attempt = Instant::now();
        // Rounds follow the poll interval; failed ones back off.
        let mut retry = Backoff::new(self.poll, RETRY_MAX.max(self.poll));
        let mut wait = self.poll;
        let mut more = false;
        let mut last_mark = Instant::now();
        // Rows in flight at once: enough to keep the producer busy, few
        // enough to bound memory.
        let max_in_flight = (self.batch_size as usize) * 10;
        loop {
            if leader.is_none() && Instant::now() >= next_attempt {
                leader = self.try_lead().await;
                next_attempt = Instant::now() + backoff::jittered(LEADERSHIP_RETRY);
            }
            let mut read = more;
            tokio::select! {
                _ = shutdown.recv() => break,
                Some(answer) = flight.deliveries.next(), if !flight.deliveries.is_empty() => {
                    flight.settle(answer);
                }
                _ = self.wakeup.notified() => read = true,
                _ = tokio::time::sleep(wait) => read = true,
            }
            flight.settle_ready();
            let Some(conn) = leader.clone() else {
                continue;
            };
            // Marks go in groups: at most one statement per MARK_EVERY
            // while events stream, at once when nothing else is in flight.
            let due = flight.acked.len() >= self.batch_size as usize
                || flight.deliveries.is_empty()
                || last_mark.elapsed() >= MARK_EVERY;
            if due {
                last_mark = Instant::now();
                if let Err(e) = self.mark(&conn, &mut flight).await {
                    tracing::error!(error = %e, "outbox relay lost its database connection, will retry");
                    leader = None;
                    self.abandon_queue();
                    wait = retry.next_delay();
                    continue;
                }
            }
            if !read || flight.ids.len() >= max_in_flight {
                continue;
            }
            match self.send_pending(&conn, &mut flight).await {
                Ok(sent) => {
                    more = sent == self.batch_size as usize;
                    retry.reset();
                    wait = self.poll;
                }
                Err(e) => {
                    tracing::error!(error = %e, "outbox relay round failed, will retry");
                    leader = None;
                    self.abandon_queue();
                    more = false;
                    wait = retry.next_delay();
                }
            }
        }
        self.final_flush(leader, &mut flight).await;
        tracing::info!("outbox relay stopped");
    }

    /// With the role lost, rows still queued in the producer are taken back
    /// (they fail as purged and are read again by whoever publishes next),
    /// so a new publisher's copies are not joined by late ones from here.
    /// Rows already on the wire may still arrive: a repeat, same event_id.
    fn abandon_queue(&self) {
        self.producer.purge(PurgeConfig::default().queue());
    }

    /// Connects and tries the publisher lock; `None` when another instance
    /// holds it or the database cannot be reached.
    async fn try_lead(&self) -> Option<Leader> {
        let db = self.db.clone();
        let attempt = tokio::task::spawn_blocking(move || -> Result<Option<Leader>, DbError> {
            let mut conn = db.dedicated_connection()?;
            // A mark lost in a crash only re-publishes its events (repeats
            // with the same event_id, which at-least-once allows): the
            // relay's statements need not wait for the WAL flush.
            diesel::sql_query("SET synchronous_commit = off").execute(&mut conn)?;
            let lock = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
                .bind::<BigInt, _>(RELAY_LOCK)
                .get_result::<Locked>(&mut conn)?;
            Ok(lock.locked.then(|| Leader(Arc::new(Mutex::new(conn)))))
        })
        .await;
        match attempt {
            Ok(Ok(Some(leader))) => {
                tracing::info!("this instance publishes the outbox");
                Some(leader)
            }
            Ok(Ok(None)) => None,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "outbox relay cannot connect, will retry");
                None
            }
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    /// Reads up to a batch of pending rows not already in flight and hands
    /// them to the producer. Returns how many were sent.
    async fn send_pending(&self, leader: &Leader, flight: &mut InFlight) -> Result<usize, DbError> {
        // In flight, and acknowledged but not marked yet: neither is sent
        // again.
        let skip: Vec<i64> = flight.ids.iter().chain(&flight.acked).copied().collect();
        let limit = self.batch_size;
        let rows = leader
            .run(move |conn| OutboxMessage::pending(conn, limit, &skip))
            .await?;
        let mut sent = 0;
        for row in &rows {
            match self
                .producer
                .send_result(record(&self.topic, row, &row.order_id.to_string()))
            {
                Ok(delivery) => {
                    flight.push(row.id, delivery);
                    sent += 1;
                }
                Err((e, _)) => {
                    // The local queue is full (or the producer is closing):
                    // the rest waits for the next round, in order.
                    tracing::warn!(error = %e, "event producer refused a record, will retry");
                    break;
                }
            }
        }
        Ok(sent)
    }

    /// Marks what the broker acknowledged, in one short statement.
    async fn mark(&self, leader: &Leader, flight: &mut InFlight) -> Result<(), DbError> {
        if flight.acked.is_empty() {
            return Ok(());
        }
        let ids = std::mem::take(&mut flight.acked);
        let count = ids.len();
        let result = leader
            .run({
                let ids = ids.clone();
                move |conn| OutboxMessage::mark_published(conn, &ids, Utc::now())
            })
            .await;
        match result {
            Ok(_) => {
                self.metrics.events_published.inc_by(count as u64);
                Ok(())
            }
            Err(e) => {
                // Kept for the next attempt; if this instance dies first,
                // the rows are published again (repeats, same event_id).
                flight.acked = ids;
                Err(e)
            }
        }
    }

    /// At shutdown: waits up to FINAL_FLUSH for the rows in flight and marks
    /// the acknowledged ones; what is left stays unpublished in the outbox.
    async fn final_flush(&self, leader: Option<Leader>, flight: &mut InFlight) {
        let Some(leader) = leader else {
            return;
        };
        let flush = async {
            while let Some(answer) = flight.deliveries.next().await {
                flight.settle(answer);
            }
        };
        if tokio::time::timeout(FINAL_FLUSH, flush).await.is_err() {
            tracing::warn!(
                in_flight = flight.ids.len(),
                "outbox relay final flush gave up; those rows stay for the next relay"
            );
        }
        flight.settle_ready();
        if let Err(e) = self.mark(&leader, flight).await {
            tracing::warn!(error = %e, "outbox relay could not mark its last events; they will be published again");
        }
    }
}

/// The Kafka record of an outbox row: key = order id, the stored headers.
fn record<'a>(topic: &'a str, row: &'a OutboxMessage, key: &'a str) -> FutureRecord<'a, str, [u8]> {
    let mut headers = OwnedHeaders::new();
    if let Some(map) = row.headers.as_object() {
        for (name, value) in map {
            headers = headers.insert(Header {
                key: name,
                value: value.as_str(),
            });
        }
    }
    FutureRecord::to(topic)
        .key(key)
        .payload(row.payload.as_slice())
        .headers(headers)
}
