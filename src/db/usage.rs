//! What a connection pool is asked for, counted: every checkout, and every
//! caller that found all of the pool's connections taken and had to wait.
//! The counters are the metrics' (`db_pool_*{pool="…"}`), so `/metrics`
//! shows which pool serves whom and whether anyone queues for one: the
//! proof that the HTTP reads never take the consumer's connections, nor
//! make it wait.

use std::sync::atomic::AtomicU64;

use diesel::r2d2::HandleEvent;
use diesel::r2d2::event::CheckoutEvent;
use prometheus_client::metrics::counter::Counter;

/// A pool's counters. Clones count into the same values.
#[derive(Clone, Debug, Default)]
pub struct PoolUsage {
    /// Connections taken from the pool.
    pub checkouts: Counter,
    /// Callers that found every connection taken and waited for one.
    pub waits: Counter,
    /// Time spent in those waits (by async callers; a blocking caller's
    /// wait is counted, not timed).
    pub wait_seconds: Counter<f64, AtomicU64>,
}

/// r2d2's view: every checkout, whichever way it was asked for.
#[derive(Debug)]
pub(super) struct CountCheckouts(pub(super) PoolUsage);

impl HandleEvent for CountCheckouts {
    fn handle_checkout(&self, _: CheckoutEvent) {
        self.0.checkouts.inc();
    }
}
