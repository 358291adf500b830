//! The relay's transactional producers, made for each term: created after
//! the lease is won, each one's `init_transactions` fences every earlier
//! producer with its transactional id (and aborts their open transaction);
//! dropped when the term ends. librdkafka's transactional calls block, so
//! they run on the blocking pool.
//!
//! Rounds take the producers in turn ([`Publishers`]), one transaction
//! open at a time: Kafka's coordinator writes a committed transaction's
//! markers after it answered the commit, and refuses the same
//! transactional id a new transaction until it is done
//! (`CONCURRENT_TRANSACTIONS`, which librdkafka retries 20 ms later). With
//! two, the next round's producer finished its last transaction a round
//! ago. Every term start fences [`FENCED_IDS`] ids, however many it uses.

use std::time::Duration;

use futures_util::future::join_all;
use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryFuture, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;

use crate::config::{KafkaConnection, MAX_RELAY_PRODUCERS};
use crate::kafka;

/// What a failed transactional call leaves.
#[derive(Debug)]
pub(super) enum TxnError {
    /// The producer is done (fenced by a newer holder, or a fatal error):
    /// the term ends.
    Fatal(KafkaError),
    /// The transaction must be aborted; its rows go again.
    Abort(KafkaError),
}

impl std::fmt::Display for TxnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TxnError::Fatal(e) => write!(f, "fatal: {e}"),
            TxnError::Abort(e) => write!(f, "{e}"),
        }
    }
}

fn classify(error: KafkaError) -> TxnError {
    let fatal = match &error {
        KafkaError::Transaction(e) => e.is_fatal(),
        other => matches!(
            other.rdkafka_error_code(),
            Some(RDKafkaErrorCode::Fatal | RDKafkaErrorCode::ProducerFenced)
        ),
    };
    if fatal {
        TxnError::Fatal(error)
    } else {
        TxnError::Abort(error)
    }
}

/// Transactional ids fenced at every term start, whatever
/// `RELAY_PRODUCERS` says (its highest value): a holder that used more
/// producers than this one, before a change of the setting, is fenced too.
const FENCED_IDS: usize = MAX_RELAY_PRODUCERS as usize;

/// The transactional id of the producer at `index` of a term:
/// `transactional_id` itself first (the one every release fences), then
/// `transactional_id-1`, `-2`, …
fn transactional_id_at(transactional_id: &str, index: usize) -> String {
    match index {
        0 => transactional_id.to_owned(),
        n => format!("{transactional_id}-{n}"),
    }
}

/// A term's producers, taken in turn: each round's transaction goes to
/// the next one once the last committed or aborted.
pub(super) struct Publishers {
    publishers: Vec<Publisher>,
    turn: usize,
}

impl Publishers {
    /// Fences every earlier producer under the [`FENCED_IDS`] ids
    /// `transactional_id`, `transactional_id-1`, … ([`transactional_id_at`]),
    /// the first alone, then the others at once, each phase within
    /// `init_timeout` (each id's producer is a client of its own, as slow
    /// to start as the first); keeps the first `count` producers. The first must start; an id after it
    /// that the cluster refuses (an ACL on the first id only) is left out,
    /// with a warning when it would have been used: the deployment's
    /// principal cannot have used it either. Anything else failing fails
    /// the start: every id must be fenced.
    pub(super) async fn start(
        connection: &KafkaConnection,
        transactional_id: &str,
        count: usize,
        init_timeout: Duration,
        txn_timeout: Duration,
    ) -> Result<Self, TxnError> {
        let first =
            Publisher::start(connection, transactional_id, init_timeout, txn_timeout).await?;
        let others = join_all((1..FENCED_IDS).map(|index| async move {
            let id = transactional_id_at(transactional_id, index);
            let started = Publisher::start(connection, &id, init_timeout, txn_timeout).await;
            (index, id, started)
        }))
        .await;
        let mut publishers = Self {
            publishers: vec![first],
            turn: 0,
        };
        let mut spare = Vec::new();
        let mut failure = None;
        for (index, id, started) in others {
            match started {
                Ok(publisher) if index < count => publishers.publishers.push(publisher),
                Ok(publisher) => spare.push(publisher),
                Err(TxnError::Fatal(e) | TxnError::Abort(e))
                    if e.rdkafka_error_code()
                        == Some(RDKafkaErrorCode::TransactionalIdAuthorizationFailed) =>
                {
                    if index < count {
                        tracing::warn!(transactional_id = %id, error = %e, "the relay may not use this transactional id (an ACL on the first only?); it publishes without it");
                    } else {
                        tracing::debug!(transactional_id = %id, "transactional id refused; not used");
                    }
                }
                Err(e) => {
                    tracing::warn!(transactional_id = %id, error = %e, "the relay could not fence this transactional id; its term does not start");
                    failure = failure.or(Some(e));
                }
            }
        }
        join_all(spare.into_iter().map(Publisher::close)).await;
        match failure {
            Some(failure) => {
                publishers.close().await;
                Err(failure)
            }
            None => Ok(publishers),
        }
    }

    /// How many producers take turns.
    pub(super) fn len(&self) -> usize {
        self.publishers.len()
    }

    /// Opens the round's transaction on the producer whose turn it is.
    pub(super) fn begin(&self) -> Result<(), TxnError> {
        self.current().begin()
    }

    pub(super) fn send(
        &self,
        record: FutureRecord<'_, str, [u8]>,
    ) -> Result<DeliveryFuture, KafkaError> {
        self.current().send(record)
    }

    /// Commits the round's transaction; the next round goes to the next
    /// producer.
    pub(super) async fn commit(&mut self, timeout: Duration) -> Result<(), TxnError> {
        self.current().commit(timeout).await?;
        self.pass();
        Ok(())
    }

    /// Aborts the round's transaction; the next round goes to the next
    /// producer.
    pub(super) async fn abort(&mut self, timeout: Duration) -> Result<(), TxnError> {
        self.current().abort(timeout).await?;
        self.pass();
        Ok(())
    }

    /// Ends every producer.
    pub(super) async fn close(self) {
        join_all(self.publishers.into_iter().map(Publisher::close)).await;
    }

    fn current(&self) -> &Publisher {
        &self.publishers[self.turn]
    }

    fn pass(&mut self) {
        self.turn = (self.turn + 1) % self.publishers.len();
    }
}

struct Publisher {
    producer: kafka::Producer,
}

impl Publisher {
    /// Creates the term's producer (transactions time out after
    /// `txn_timeout`) and fences every earlier one, waiting at most
    /// `init_timeout` for it.
    async fn start(
        connection: &KafkaConnection,
        transactional_id: &str,
        init_timeout: Duration,
        txn_timeout: Duration,
    ) -> Result<Self, TxnError> {
        let config = kafka::relay_producer_config(connection, transactional_id, txn_timeout)
            .map_err(TxnError::Fatal)?;
        let producer = kafka::create_producer(&config).map_err(TxnError::Fatal)?;
        let publisher = Self { producer };
        match publisher
            .blocking(move |p| p.init_transactions(init_timeout))
            .await
        {
            Ok(()) => Ok(publisher),
            // Whatever failed (a broker not reachable yet), the term does
            // not start and the role is tried again.
            Err(TxnError::Abort(e) | TxnError::Fatal(e)) => {
                publisher.close().await;
                Err(TxnError::Fatal(e))
            }
        }
    }

    fn begin(&self) -> Result<(), TxnError> {
        self.producer.begin_transaction().map_err(classify)
    }

    /// Enqueues a record in the open transaction.
    fn send(&self, record: FutureRecord<'_, str, [u8]>) -> Result<DeliveryFuture, KafkaError> {
        self.producer.send_result(record).map_err(|(e, _)| e)
    }

    /// Commits the open transaction; a retriable failure (a timeout) is
    /// tried again while `timeout` lasts.
    async fn commit(&self, timeout: Duration) -> Result<(), TxnError> {
        self.blocking(move |p| {
            let deadline = std::time::Instant::now() + timeout;
            settle(p, deadline);
            retried(
                deadline.saturating_duration_since(std::time::Instant::now()),
                |left| p.commit_transaction(left),
                |e| !e.txn_requires_abort(),
            )
        })
        .await
    }

    /// Aborts the open transaction; a retriable failure (a timeout while
    /// records are still answered) is tried again while `timeout` lasts.
    async fn abort(&self, timeout: Duration) -> Result<(), TxnError> {
        self.blocking(move |p| retried(timeout, |left| p.abort_transaction(left), |_| true))
            .await
    }

    /// Ends the term's producer off the async threads (dropping it purges
    /// and waits briefly for what it still holds).
    async fn close(self) {
        let _ = tokio::task::spawn_blocking(move || drop(self)).await;
    }

    async fn blocking(
        &self,
        call: impl FnOnce(&kafka::Producer) -> Result<(), KafkaError> + Send + 'static,
    ) -> Result<(), TxnError> {
        let producer = self.producer.clone();
        tokio::task::spawn_blocking(move || call(&producer))
            .await
            .map_err(|e| std::panic::resume_unwind(e.into_panic()))
            .and_then(|result| result.map_err(classify))
    }
}

/// Waits, in steps of half a millisecond until `deadline`, for librdkafka
/// to count none of the transaction's records as outstanding. The relay
/// commits once every record was answered, but a record's count drops
/// only after its answer was served, a moment later; rust-rdkafka's
/// `commit_transaction` flushes first, and its flush polls in 100 ms steps
/// (measured: 3% of commits took 100 ms more). Blocking.
fn settle(producer: &kafka::Producer, deadline: std::time::Instant) {
    while producer.flush(Duration::ZERO).is_err() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_micros(500));
    }
}

/// Calls `call` with the time left until it succeeds, fails for good, or
/// `timeout` has passed; a retriable transactional error for which
/// `retry` holds is tried again. Blocking.
fn retried(
    timeout: Duration,
    mut call: impl FnMut(Duration) -> Result<(), KafkaError>,
    retry: impl Fn(&rdkafka::error::RDKafkaError) -> bool,
) -> Result<(), KafkaError> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match call(left) {
            Err(KafkaError::Transaction(e)) if e.is_retriable() && retry(&e) && !left.is_zero() => {
                continue;
            }
            result => return result,
        }
    }
}
