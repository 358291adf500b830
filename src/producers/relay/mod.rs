//! `OutboxRelay`: publishes outbox rows to `order-events` and advances the
//! watermark `outbox_relay.published_through` over what the broker
//! acknowledged.
//!
//! Guarantees: at-least-once, in order per order. Rows come two ways: handed
//! over in process right after their transaction committed
//! ([`crate::handover`]), and read from the table (at start, on taking over
//! the role, for other instances' rows and whatever a handover dropped).
//! Both go through one cursor: every id below `next` is published, in
//! flight, or a gap. Each round is one statement that returns, in one
//! snapshot, the visible ids from `next` up to the highest id handed over
//! (or up to a batch when polling) and the gaps; rows not in hand are then
//! fetched by id, and everything is sent in id order. An id that is not
//! visible is a gap: a transaction still running (it committed late) or one
//! that rolled back. A gap is looked up again each round until it appears,
//! or until every transaction that had an id when it was first missed has
//! ended: that first look draws a transaction id of its own (its horizon),
//! and the gap goes once a later look's `xmin` has passed it. A writer
//! takes its transaction id before its rows take theirs (the outbox's
//! sequence does not cache), so a row that commits late is never skipped.
//! A transaction that stays open holds gaps, and so the watermark, for as
//! long as it runs. Per-order order holds because an
//! order's later rows are written under its row lock after the earlier ones
//! committed: a round that sees a later row sees the earlier one too.
//!
//! The watermark is the lowest id still in flight or missing, minus one: it
//! never passes a row that is not acknowledged. Reading resumes above it,
//! through the primary key, without walking published rows. A crash
//! between acknowledgement and the next watermark update re-publishes the
//! rows above the watermark: same bytes, same `event_id`, same `sequence`.
//!
//! No Kafka wait happens inside a database transaction, and a row handed to
//! the producer stays in flight until the broker answers and is never
//! handed over again meanwhile: a broker outage of any length adds no copy
//! of an event (the producer's idempotence covers its own retries); only a
//! crash or a lost role repeats rows above the watermark, once each.
//!
//! One relay publishes at a time across all instances: the publisher holds
//! a session-level advisory lock on a connection of its own (with TCP
//! keepalives); losing that connection loses the role, and the lock with it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureRecord, Producer, PurgeConfig};
use rdkafka::types::RDKafkaErrorCode;
use tokio::time::Instant;
use uuid::Uuid;

use crate::backoff::{self, Backoff};
use crate::config::ServeSettings;
use crate::db::models::OutboxMessage;
use crate::db::{Database, DbError};
use crate::events;
use crate::handover::Committed;
use crate::kafka;
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;

mod cursor;
mod flight;
mod leader;

use cursor::Cursor;
use flight::InFlight;
use leader::Leader;

const RETRY_MAX: Duration = Duration::from_secs(5);
/// How often an instance that is not the publisher tries to become it.
const LEADERSHIP_RETRY: Duration = Duration::from_secs(2);
/// Longest the watermark lags behind acknowledgements while events stream.
const MARK_EVERY: Duration = Duration::from_millis(20);
/// Longest the final flush at shutdown may take.
const FINAL_FLUSH: Duration = Duration::from_secs(4);

/// The role and where it stands.
struct Lead {
    conn: Leader,
    cursor: Cursor,
}

pub struct OutboxRelay {
    db: Database,
    producer: kafka::Producer,
    topic: String,
    batch_size: i64,
    poll: Duration,
    committed: Committed,
    metrics: Arc<Metrics>,
}

impl OutboxRelay {
    pub fn new(
        settings: &ServeSettings,
        db: Database,
        committed: Committed,
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
            committed,
            metrics,
        })
    }

    /// Publishes until `shutdown` fires, then waits a bounded time for the
    /// answers in flight and saves the watermark (rows above it are
    /// published by the next relay).
    pub async fn run(mut self, mut shutdown: Shutdown) {
        let mut flight = InFlight::default();
        let mut lead: Option<Lead> = None;
        let mut next_attempt = Instant::now();
        // Reads of the table follow the poll interval; failed ones back off.
        let mut retry = Backoff::new(self.poll, RETRY_MAX.max(self.poll));
        let mut next_poll = Instant::now();
        let mut more = false;
        let mut last_mark = Instant::now();
        // Rows in flight at once: enough to keep the producer busy, few
        // enough to bound memory. Past it, handed-over rows are left to
        // the table.
        let max_in_flight = (self.batch_size as usize) * 10;
        loop {
            if lead.is_none() && Instant::now() >= next_attempt {
                lead = self.try_lead().await;
                next_attempt = Instant::now() + backoff::jittered(LEADERSHIP_RETRY);
                if lead.is_some() {
                    next_poll = Instant::now();
                }
            }
            if lead.is_none() {
                // Nothing to read until the next attempt at the role.
                next_poll = next_poll.max(next_attempt);
            }
            let mut handed = Vec::new();
            let mut read = more;
            let mut answered = Vec::new();
            // Rows handed over come before the shutdown: the consumer stops
            // first, and the rows its last batch committed are in the
            // channel when the relay is told to stop; a random pick could
            // leave them to the next relay.
            tokio::select! {
                biased;
                Some(rows) = self.committed.recv() => {
                    handed = rows;
                    read = true;
                }
                _ = shutdown.recv() => break,
                Some(answer) = flight.deliveries.next(), if !flight.deliveries.is_empty() => {
                    answered.push(answer);
                }
                _ = tokio::time::sleep_until(next_poll) => read = true,
            }
            while let Ok(rows) = self.committed.try_recv() {
                handed.extend(rows);
            }
            while let Some(Some(answer)) = flight.deliveries.next().now_or_never() {
                answered.push(answer);
            }
            self.settle(&mut flight, lead.as_mut(), answered);
            let Some(current) = lead.as_mut() else {
                // Not the publisher: the one who is reads these rows from
                // the table.
                continue;
            };
            // The watermark moves at most once per MARK_EVERY while events
            // stream, at once when nothing else is in flight.
            let watermark = current.cursor.watermark(flight.lowest());
            if watermark > current.cursor.saved
                && (flight.ids.is_empty() || last_mark.elapsed() >= MARK_EVERY)
            {
                last_mark = Instant::now();
                if let Err(e) = self.save(current, watermark).await {
                    tracing::error!(error = %e, "outbox relay lost its database connection, will retry");
                    self.resign(&mut lead, &mut flight);
                    next_attempt = Instant::now() + retry.next_delay();
                    continue;
                }
            }
            if !read {
                continue;
            }
            if flight.ids.len() >= max_in_flight {
                // Answers wake the loop; the table waits for the next poll.
                next_poll = Instant::now() + self.poll;
                continue;
            }
            let polled = handed.is_empty();
            match self.round(current, &mut flight, handed).await {
                Ok(full) => {
                    more = full;
                    retry.reset();
                    if polled {
                        next_poll = Instant::now() + self.poll;
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "outbox relay round failed, will retry");
                    self.resign(&mut lead, &mut flight);
                    more = false;
                    next_attempt = Instant::now() + retry.next_delay();
                }
            }
        }
        self.final_flush(lead, &mut flight).await;
        tracing::info!("outbox relay stopped");
    }

    /// Records the broker's answers: acknowledged rows leave the flight
    /// (and count), failed ones are read again.
    fn settle(&self, flight: &mut InFlight, lead: Option<&mut Lead>, answers: Vec<(i64, bool)>) {
        let mut acked = 0;
        let mut failed = Vec::new();
        for (id, ok) in answers {
            flight.ids.remove(&id);
            if ok {
                acked += 1;
            } else {
                failed.push(id);
            }
        }
        self.metrics.events_published.inc_by(acked);
        if let Some(lead) = lead {
            for id in failed {
                lead.cursor.retry(id);
            }
        }
    }

    /// With the role lost, rows still queued in the producer are taken back
    /// (they fail as purged), so a new publisher's copies are not joined by
    /// late ones from here, and the answers of this term are forgotten.
    /// Rows already on the wire may still arrive: a repeat, same event_id.
    fn resign(&self, lead: &mut Option<Lead>, flight: &mut InFlight) {
        *lead = None;
        *flight = InFlight::default();
        self.producer.purge(PurgeConfig::default().queue());
    }

    /// Connects and tries the publisher lock; `None` when another instance
    /// holds it or the database cannot be reached.
    async fn try_lead(&self) -> Option<Lead> {
        let db = self.db.clone();
        let attempt = tokio::task::spawn_blocking(move || Leader::claim(&db))
            .await
            .map(|claimed| {
                claimed.map(|claimed| {
                    claimed.map(|(conn, published_through)| Lead {
                        conn,
                        cursor: Cursor::resume_after(published_through),
                    })
                })
            });
        match attempt {
            Ok(Ok(Some(lead))) => {
                tracing::info!(
                    published_through = lead.cursor.saved,
                    "this instance publishes the outbox"
                );
                Some(lead)
            }
            Ok(Ok(None)) => None,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "outbox relay cannot connect, will retry");
                None
            }
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    /// One round: finds, in one statement, which ids are visible from the
    /// cursor up to the highest id handed over (up to a batch when none
    /// was) and among the gaps; fetches the visible rows not in hand; sends
    /// them all in id order. Returns whether the read was cut at a batch
    /// (more may be waiting).
    async fn round(
        &self,
        lead: &mut Lead,
        flight: &mut InFlight,
        handed: Vec<OutboxMessage>,
    ) -> Result<bool, DbError> {
        let cursor = &lead.cursor;
        let mut in_hand: HashMap<i64, OutboxMessage> = handed
            .into_iter()
            .filter(|row| row.id >= cursor.next || cursor.in_gap(row.id))
            .map(|row| (row.id, row))
            .collect();
        let from = cursor.next;
        let through = in_hand.keys().max().copied().filter(|id| *id >= from);
        let (gap_firsts, gap_lasts) = cursor.gap_bounds();
        let limit = self.batch_size;
        let visible = lead
            .conn
            .run(move |conn| {
                let through = through.unwrap_or(i64::MAX);
                OutboxMessage::visible(conn, from, through, &gap_firsts, &gap_lasts, limit)
            })
            .await?;
        // Visible ids are sorted, the gaps' (below `from`) first.
        let in_range = &visible.ids[visible.ids.partition_point(|id| *id < from)..];
        let full = in_range.len() as i64 >= limit;
        let last_seen = in_range.last().copied();
        // Up to where the read accounts for every id: the handed-over rows'
        // top, or the last one read when the read was cut or polled.
        let top = match (full, through) {
            (false, Some(through)) => through,
            _ => last_seen.unwrap_or(from - 1),
        };
        let missing: Vec<i64> = visible
            .ids
            .iter()
            .filter(|id| **id <= top && !in_hand.contains_key(id))
            .copied()
            .collect();
        let mut fetched: HashMap<i64, OutboxMessage> = if missing.is_empty() {
            HashMap::new()
        } else {
            lead.conn
                .run(move |conn| OutboxMessage::by_ids(conn, &missing))
                .await?
                .into_iter()
                .map(|row| (row.id, row))
                .collect()
        };
        lead.cursor
            .observe(from, top, &visible.ids, visible.xmin, visible.horizon);
        // A full local queue stops the round (the rest waits, in order);
        // another refusal holds back the later rows of that row's order.
        let mut queue_full = false;
        let mut held: HashSet<Uuid> = HashSet::new();
        for id in visible.ids.iter().copied().filter(|id| *id <= top) {
            let Some(row) = in_hand.remove(&id).or_else(|| fetched.remove(&id)) else {
                // Visible a moment ago, gone now: only a purge deletes rows,
                // and it takes published ones; look again next round.
                tracing::warn!(id, "outbox row vanished between two reads");
                lead.cursor.retry(id);
                continue;
            };
            if queue_full || held.contains(&row.order_id) {
                lead.cursor.retry(id);
                continue;
            }
            match self
                .producer
                .send_result(record(&self.topic, &row, &row.order_id.to_string()))
            {
                Ok(delivery) => flight.push(id, delivery),
                Err((e, _)) => {
                    kafka::ErrorLog.log(
                        &e,
                        "handing an event to the producer; it will be sent again",
                    );
                    lead.cursor.retry(id);
                    // A record that can never go (larger than
                    // message.max.bytes) is retried each round and holds
                    // back its order's later events and the watermark (the
                    // backlog and /readyz show it), not other orders.
                    queue_full = e.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull);
                    held.insert(row.order_id);
                }
            }
        }
        Ok(full && !queue_full)
    }

    /// Saves the watermark in one short statement.
    async fn save(&self, lead: &mut Lead, watermark: i64) -> Result<(), DbError> {
        lead.conn
            .run(move |conn| OutboxMessage::advance_published(conn, watermark))
            .await?;
        lead.cursor.saved = watermark;
        Ok(())
    }

    /// At shutdown: waits up to FINAL_FLUSH for the rows in flight and saves
    /// the watermark; what is above it stays for the next relay.
    async fn final_flush(&self, lead: Option<Lead>, flight: &mut InFlight) {
        let Some(mut lead) = lead else {
            return;
        };
        let mut answers = Vec::new();
        let flush = async {
            while let Some(answer) = flight.deliveries.next().await {
                answers.push(answer);
            }
        };
        let gave_up = tokio::time::timeout(FINAL_FLUSH, flush).await.is_err();
        self.settle(flight, Some(&mut lead), answers);
        if gave_up {
            tracing::warn!(
                in_flight = flight.ids.len(),
                "outbox relay final flush gave up; those rows stay for the next relay"
            );
        }
        let watermark = lead.cursor.watermark(flight.lowest());
        if watermark > lead.cursor.saved
            && let Err(e) = self.save(&mut lead, watermark).await
        {
            tracing::warn!(error = %e, "outbox relay could not save its watermark; events above it will be published again");
        }
    }
}

/// The Kafka record of an outbox row: key = order id, headers derived from
/// the row.
fn record<'a>(topic: &'a str, row: &'a OutboxMessage, key: &'a str) -> FutureRecord<'a, str, [u8]> {
    let mut headers = OwnedHeaders::new();
    for (name, value) in events::headers(row) {
        headers = headers.insert(Header {
            key: name,
            value: Some(value.as_bytes()),
        });
    }
    FutureRecord::to(topic)
        .key(key)
        .payload(row.payload.as_slice())
        .headers(headers)
}
