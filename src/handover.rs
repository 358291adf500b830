//! Committed events handed from the processor to the relay in process: a
//! batch's outbox rows, built in memory and given their ids by the insert,
//! go to the relay right after the commit, so it publishes them without
//! reading them back. Best effort by design: when the relay lags (the
//! channel is full) or this instance is not the publisher, rows are
//! dropped here and the publisher finds them in the outbox table, which
//! stays the durable log.

use std::time::Instant;

use tokio::sync::mpsc;

use crate::db::models::OutboxMessage;

/// Batches of committed rows that may wait for the relay.
const CAPACITY: usize = 8;

/// The outbox rows of one committed transaction, in id order.
pub struct Handed {
    pub rows: Vec<OutboxMessage>,
    /// When the transaction committed (for the stage metrics).
    pub committed_at: Instant,
}

/// The processor's end.
#[derive(Clone)]
pub struct Handover(mpsc::Sender<Handed>);

/// The relay's end.
pub type Committed = mpsc::Receiver<Handed>;

pub fn channel() -> (Handover, Committed) {
    let (sender, receiver) = mpsc::channel(CAPACITY);
    (Handover(sender), receiver)
}

impl Handover {
    /// Hands over the rows of a committed transaction, in id order. Never
    /// waits: rows that do not fit are read from the table instead.
    pub fn committed(&self, rows: Vec<OutboxMessage>) {
        let _ = self.0.try_send(Handed {
            rows,
            committed_at: Instant::now(),
        });
    }

    /// Tells the relay that rows were committed without handing them over
    /// (it reads the table).
    pub fn wake(&self) {
        self.committed(Vec::new());
    }
}
