//! One round of the relay: the rows to publish, read in one snapshot, sent
//! in id order in one Kafka transaction with the position they lead to,
//! and committed; or aborted, and sent again whole.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use tokio::time::Instant;
use uuid::Uuid;

use super::lease::Lease;
use super::progress::Position;
use super::publisher::TxnError;
use super::term::Term;
use super::{OutboxRelay, RoundError};
use crate::db::models::OutboxMessage;
use crate::events;
use crate::kafka;
use crate::metrics::RoundPart;

/// Longest a commit or an abort may take (and never past the term): with
/// the brokers gone a round fails within it, and a shutdown waits no
/// longer.
const TXN_CALL_MAX: Duration = Duration::from_secs(5);

/// A row handed to the producer: its id, its order, the broker's answer.
type Sent = (i64, Uuid, DeliveryFuture);

impl OutboxRelay {
    /// One round, one Kafka transaction: finds, in one statement, which
    /// ids are visible from the cursor up to the highest id handed over
    /// (up to a batch when none was) and among the gaps; fetches the
    /// visible rows not in hand; sends them in id order, then the position
    /// they lead to, and commits. Returns whether the read was cut at a
    /// batch (more may be waiting).
    pub(super) async fn round(
        &self,
        term: &mut Term,
        handed: Vec<OutboxMessage>,
    ) -> Result<bool, RoundError> {
        let started = Instant::now();
        let cursor = &term.cursor;
        let mut in_hand: HashMap<i64, OutboxMessage> = handed
            .into_iter()
            .filter(|row| row.id >= cursor.next || cursor.in_gap(row.id))
            .map(|row| (row.id, row))
            .collect();
        let from = cursor.next;
        let through = in_hand.keys().max().copied().filter(|id| *id >= from);
        let (gap_firsts, gap_lasts) = cursor.gap_bounds();
        let has_gaps = !gap_firsts.is_empty();
        let limit = self.batch_size;
        let (visible, oldest_writer) = term
            .lease
            .run(move |conn| {
                // Only gaps seen before need it, and before the snapshot.
                let oldest_writer = if has_gaps {
                    OutboxMessage::oldest_writer(conn)?
                } else {
                    None
                };
                let through = through.unwrap_or(i64::MAX);
                let visible =
                    OutboxMessage::visible(conn, from, through, &gap_firsts, &gap_lasts, limit)?;
                Ok((visible, oldest_writer))
            })
            .await
            .map_err(RoundError::Db)?;
        // A gap waits for the writers of this database's outbox only.
        let xmin = if has_gaps {
            oldest_writer.unwrap_or(i64::MAX)
        } else {
            visible.xmin
        };
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
            term.lease
                .run(move |conn| OutboxMessage::by_ids(conn, &missing))
                .await
                .map_err(RoundError::Db)?
                .into_iter()
                .map(|row| (row.id, row))
                .collect()
        };
        let read = started.elapsed();
        term.cursor
            .observe(from, top, &visible.ids, xmin, visible.horizon);
        let rows: Vec<OutboxMessage> = visible
            .ids
            .iter()
            .filter(|id| **id <= top)
            .filter_map(|id| {
                let row = in_hand.remove(id).or_else(|| fetched.remove(id));
                if row.is_none() {
                    // Visible a moment ago, gone now: only a purge deletes
                    // rows, and it takes published ones; look again.
                    tracing::warn!(id, "outbox row vanished between two reads");
                    term.cursor.retry(*id);
                }
                row
            })
            .collect();
        if rows.iter().all(|row| term.holds.holds(&row.order_id)) {
            // Nothing may go: no transaction.
            for row in &rows {
                term.cursor.retry(row.id);
            }
            return Ok(full);
        }
        if !term.lease.valid() {
            return Err(RoundError::Expired);
        }
        // Committed even when every row was refused locally: the position
        // alone is valid, and no transaction stays open.
        let sending = Instant::now();
        let (sent, progress) = self.send_round(term, rows)?;
        let (progress, mut failure) = match progress {
            Ok(progress) => (Some(progress), None),
            Err(e) => (None, Some(e)),
        };
        // Every record answered before the commit: it is then instant
        // (rust-rdkafka's commit flushes first, polling in 100 ms steps,
        // which added 100 ms to every round), and a refused record aborts
        // the round without a commit attempt.
        let answers_by = Instant::now() + txn_call_timeout(&term.lease);
        let mut rows = Vec::with_capacity(sent.len());
        let mut refused = Vec::new();
        let deliveries = sent
            .into_iter()
            .map(|(id, order, delivery)| (Some((id, order)), delivery))
            .chain(progress.map(|progress| (None, progress)));
        for (row, delivery) in deliveries {
            let error = match tokio::time::timeout_at(answers_by, delivery).await {
                Ok(Ok(Ok(_))) => None,
                Ok(Ok(Err((error, _)))) => Some(error),
                Ok(Err(_)) => Some(KafkaError::Canceled),
                Err(_) => Some(KafkaError::MessageProduction(
                    RDKafkaErrorCode::MessageTimedOut,
                )),
            };
            if let Some(error) = error {
                // A record purged because another failed is not refused.
                let purged = matches!(
                    error.rdkafka_error_code(),
                    Some(RDKafkaErrorCode::PurgeQueue | RDKafkaErrorCode::PurgeInflight)
                );
                if let Some((id, order)) = row.filter(|_| !purged) {
                    refused.push((id, order, error.to_string()));
                }
                failure.get_or_insert(error);
            }
            rows.extend(row);
        }
        let answered = sending.elapsed();
        // Waiting for the answers may have taken seconds (records stuck
        // behind a refused batch time out): the term is renewed before it
        // commits or aborts, so a slow round does not end it.
        if term.lease.renewal_due() && self.renew(term, None).await.is_err() {
            self.abort(term, &rows, Vec::new(), None).await?;
            return Err(RoundError::Expired);
        }
        if let Some(error) = failure {
            self.abort(term, &rows, refused, Some(error)).await?;
            return Err(RoundError::Aborted);
        }
        if !term.lease.valid() {
            self.abort(term, &rows, Vec::new(), None).await?;
            return Err(RoundError::Expired);
        }
        let committing = Instant::now();
        match term.publishers.commit(txn_call_timeout(&term.lease)).await {
            Ok(()) => {
                let relay = &self.metrics.relay;
                relay.observe_round(RoundPart::read, read.as_secs_f64());
                relay.observe_round(RoundPart::answered, answered.as_secs_f64());
                relay.observe_round(RoundPart::committed, committing.elapsed().as_secs_f64());
                term.committed = true;
                relay.committed_rounds.inc();
                self.metrics.events_published.inc_by(rows.len() as u64);
                term.holds.committed(rows.iter().map(|(_, order)| *order));
                relay.held_orders.set(term.holds.len() as i64);
                Ok(full)
            }
            Err(TxnError::Fatal(e)) => Err(RoundError::Fatal(e)),
            Err(TxnError::Abort(e)) => {
                self.abort(term, &rows, Vec::new(), Some(e)).await?;
                Err(RoundError::Aborted)
            }
        }
    }

    /// Opens the round's transaction and enqueues its rows in id order,
    /// then the position they lead to. A row of an order held back, or
    /// after its order's row the producer refused, waits (a gap to send
    /// again), and so does everything after a full local queue.
    fn send_round(
        &self,
        term: &mut Term,
        rows: Vec<OutboxMessage>,
    ) -> Result<(Vec<Sent>, Result<DeliveryFuture, KafkaError>), RoundError> {
        term.publishers.begin().map_err(|e| match e {
            TxnError::Fatal(e) | TxnError::Abort(e) => RoundError::Fatal(e),
        })?;
        let mut sent = Vec::with_capacity(rows.len());
        let mut queue_full = false;
        // The transaction failed mid-round (a record already refused):
        // nothing more goes, the round is aborted.
        let mut failed: Option<KafkaError> = None;
        let mut refused: HashSet<Uuid> = HashSet::new();
        for row in rows {
            if queue_full
                || failed.is_some()
                || refused.contains(&row.order_id)
                || term.holds.holds(&row.order_id)
            {
                term.cursor.retry(row.id);
                continue;
            }
            match term
                .publishers
                .send(record(&self.topic, &row, &row.order_id.to_string()))
            {
                Ok(delivery) => sent.push((row.id, row.order_id, delivery)),
                Err(e) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::State) => {
                    term.cursor.retry(row.id);
                    failed = Some(e);
                }
                Err(e) => {
                    kafka::ErrorLog.log(
                        &e,
                        "handing an event to the producer; it will be sent again",
                    );
                    term.cursor.retry(row.id);
                    queue_full = e.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull);
                    if !queue_full {
                        // Never sendable as it is (larger than
                        // message.max.bytes): its order waits.
                        term.holds.hold(row.order_id, row.id, &e.to_string());
                    }
                    refused.insert(row.order_id);
                }
            }
        }
        self.metrics.relay.held_orders.set(term.holds.len() as i64);
        if let Some(failed) = failed {
            return Ok((sent, Err(failed)));
        }
        let position = Position {
            next: term.cursor.next,
            gaps: term.cursor.runs(),
            generation: term.lease.claimed.generation,
            holder: self.holder.clone(),
        }
        .to_json();
        // Partition 0 whatever the topic's count: it is read back there.
        let progress = FutureRecord::to(&self.progress_topic)
            .partition(0)
            .key(term.transactional_id.as_str())
            .payload(position.as_slice());
        match term.publishers.send(progress) {
            Ok(progress) => Ok((sent, Ok(progress))),
            // The transaction failed meanwhile: the round is aborted.
            Err(e) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::State) => Ok((sent, Err(e))),
            Err(e) => {
                // Nothing of this round may commit without its position.
                for (id, _, _) in &sent {
                    term.cursor.retry(*id);
                }
                Err(RoundError::Fatal(e))
            }
        }
    }

    /// Aborts the round's transaction: every row goes again. Rows whose own
    /// record the broker refused are known from their answers; after a few
    /// aborted rounds in a row their orders are held back, so the others
    /// go on.
    async fn abort(
        &self,
        term: &mut Term,
        rows: &[(i64, Uuid)],
        refused: Vec<(i64, Uuid, String)>,
        error: Option<KafkaError>,
    ) -> Result<(), RoundError> {
        self.metrics.relay.aborted_rounds.inc();
        if let Some(error) = &error {
            tracing::warn!(%error, rows = rows.len(), "outbox relay round failed; its transaction is aborted and its rows go again");
        }
        for (id, _) in rows {
            term.cursor.retry(*id);
        }
        if let Err(e) = term.publishers.abort(txn_call_timeout(&term.lease)).await {
            return Err(match e {
                TxnError::Fatal(e) | TxnError::Abort(e) => RoundError::Fatal(e),
            });
        }
        if error.is_some() {
            term.holds.aborted(refused);
            self.metrics.relay.held_orders.set(term.holds.len() as i64);
        }
        Ok(())
    }
}

/// How long a commit or an abort may take now.
fn txn_call_timeout(lease: &Lease) -> Duration {
    lease
        .valid_until
        .saturating_duration_since(Instant::now())
        .min(TXN_CALL_MAX)
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
