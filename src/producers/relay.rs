//! `OutboxRelay`: publishes outbox rows to `order-events` and stamps them
//! `published_at`.
//!
//! Guarantees: at-least-once, in order per order. Rows are read in id order
//! (an order's rows get increasing ids, as its commands are applied one after
//! the other under its row lock), sent through an idempotent producer, and
//! only the rows acknowledged before the first failure are marked. A crash
//! between acknowledgement and mark re-publishes the same bytes: same
//! `event_id`, same `sequence`, so consumers can drop the repeat.
//!
//! One relay publishes at a time across all instances: a round holds a
//! transaction-scoped advisory lock; other instances skip the round.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use rdkafka::types::RDKafkaErrorCode;
use tokio::runtime::Handle;
use tokio::sync::Notify;

use crate::config::ServeSettings;
use crate::db::models::OutboxMessage;
use crate::db::{Database, DbError};
use crate::kafka;
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;

/// Key of the advisory lock that makes one relay the publisher.
const RELAY_LOCK: i64 = 0x6f72_6465_725f_726c;
const RETRY_MAX: Duration = Duration::from_secs(5);
/// How long one round waits for the broker's acknowledgements.
const ACK_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("publishing to Kafka failed after {published} events: {source}")]
    Kafka {
        published: usize,
        source: KafkaError,
    },
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
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

    /// Publishes until `shutdown` fires, then drains what is left (giving up
    /// after a few failed rounds: the rows stay and are published later).
    pub async fn run(self, mut shutdown: Shutdown) {
        let mut backoff = self.poll;
        loop {
            tokio::select! {
                _ = shutdown.recv() => break,
                _ = self.wakeup.notified() => {}
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = match self.drain().await {
                Ok(_) => self.poll,
                Err(e) => {
                    tracing::error!(error = %e, "outbox relay round failed, will retry");
                    (backoff * 2).min(RETRY_MAX)
                }
            };
        }
        for _ in 0..3 {
            match self.drain().await {
                Ok(_) => break,
                Err(e) => tracing::warn!(error = %e, "outbox relay final flush failed"),
            }
        }
        tracing::info!("outbox relay stopped");
    }

    /// Publishes rounds until the outbox has no unpublished row left.
    pub async fn drain(&self) -> Result<usize, RelayError> {
        let mut total = 0;
        loop {
            let published = self.publish_round().await?;
            total += published;
            if published < self.batch_size as usize {
                return Ok(total);
            }
        }
    }

    /// One round in one transaction: lock, read, publish, wait for acks,
    /// mark. Returns how many rows were published.
    async fn publish_round(&self) -> Result<usize, RelayError> {
        let producer = self.producer.clone();
        let topic = self.topic.clone();
        let limit = self.batch_size;
        let runtime = Handle::current();
        let (published, failure) = self
            .db
            .run(move |conn| {
                conn.transaction::<_, DbError, _>(|conn| {
                    let lock = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS locked")
                        .bind::<BigInt, _>(RELAY_LOCK)
                        .get_result::<Locked>(conn)?;
                    if !lock.locked {
                        return Ok((0, None));
                    }
                    let rows = OutboxMessage::pending(conn, limit)?;
                    if rows.is_empty() {
                        return Ok((0, None));
                    }
                    // On the blocking pool, so waiting here blocks no runtime thread.
                    let (acked, failure) = runtime.block_on(publish(&producer, &topic, &rows));
                    let ids: Vec<i64> = rows[..acked].iter().map(|r| r.id).collect();
                    OutboxMessage::mark_published(conn, &ids, Utc::now())?;
                    // Committed even after a failure: the acknowledged prefix
                    // stays marked and is not published again.
                    Ok((acked, failure))
                })
            })
            .await?;
        self.metrics.events_published.inc_by(published as u64);
        match failure {
            None => Ok(published),
            Some(source) => Err(RelayError::Kafka { published, source }),
        }
    }
}

/// Sends every row, then awaits the acks in order. Returns the length of the
/// acknowledged prefix and the first failure.
async fn publish(
    producer: &kafka::Producer,
    topic: &str,
    rows: &[OutboxMessage],
) -> (usize, Option<KafkaError>) {
    let mut deliveries = Vec::with_capacity(rows.len());
    let mut failure = None;
    for row in rows {
        let key = row.order_id.to_string();
        let mut headers = OwnedHeaders::new();
        if let Some(map) = row.headers.as_object() {
            for (name, value) in map {
                headers = headers.insert(Header {
                    key: name,
                    value: value.as_str(),
                });
            }
        }
        let record = FutureRecord::to(topic)
            .key(&key)
            .payload(&row.payload)
            .headers(headers);
        match producer.send_result(record) {
            Ok(delivery) => deliveries.push(delivery),
            Err((e, _)) => {
                failure = Some(e);
                break;
            }
        }
    }
    let enqueued = deliveries.len();
    // Records never time out (see `kafka::relay_producer_config`): a round
    // stops waiting after ACK_WAIT, marks what was acknowledged, and the next
    // round sends the rest again behind the copies still queued, in order.
    let deadline = tokio::time::Instant::now() + ACK_WAIT;
    for (index, delivery) in deliveries.into_iter().enumerate() {
        let Ok(delivery) = tokio::time::timeout_at(deadline, delivery).await else {
            return (
                index,
                Some(KafkaError::MessageProduction(
                    RDKafkaErrorCode::MessageTimedOut,
                )),
            );
        };
        match delivery {
            Ok(Ok(_)) => {}
            Ok(Err((e, _))) => return (index, Some(e)),
            Err(_) => return (index, Some(KafkaError::Canceled)),
        }
    }
    (enqueued, failure)
}
