//! The relay's transactional producer, one per term: created after the
//! lease is won, its `init_transactions` fences every earlier producer
//! with the transactional id (and aborts their open transaction); dropped
//! when the term ends. librdkafka's transactional calls block, so they run
//! on the blocking pool.

use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryFuture, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;

use crate::config::KafkaConnection;
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

pub(super) struct Publisher {
    producer: kafka::Producer,
}

impl Publisher {
    /// Creates the term's producer (transactions time out after
    /// `txn_timeout`) and fences every earlier one, waiting at most
    /// `init_timeout` for it.
    pub(super) async fn start(
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

    pub(super) fn begin(&self) -> Result<(), TxnError> {
        self.producer.begin_transaction().map_err(classify)
    }

    /// Enqueues a record in the open transaction.
    pub(super) fn send(
        &self,
        record: FutureRecord<'_, str, [u8]>,
    ) -> Result<DeliveryFuture, KafkaError> {
        self.producer.send_result(record).map_err(|(e, _)| e)
    }

    /// Commits the open transaction; a retriable failure (a timeout) is
    /// tried again while `timeout` lasts.
    pub(super) async fn commit(&self, timeout: Duration) -> Result<(), TxnError> {
        self.blocking(move |p| {
            retried(
                timeout,
                |left| p.commit_transaction(left),
                |e| !e.txn_requires_abort(),
            )
        })
        .await
    }

    /// Aborts the open transaction; a retriable failure (a timeout while
    /// records are still answered) is tried again while `timeout` lasts.
    pub(super) async fn abort(&self, timeout: Duration) -> Result<(), TxnError> {
        self.blocking(move |p| retried(timeout, |left| p.abort_transaction(left), |_| true))
            .await
    }

    /// Ends the term's producer off the async threads (dropping it purges
    /// and waits briefly for what it still holds).
    pub(super) async fn close(self) {
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
