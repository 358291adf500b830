//! Lanes waiting for the database: a batch that fails for the database's
//! reasons (a missing table, a revoked privilege, a lock timeout) is
//! retried until it passes, and meanwhile its lane says what it waits on.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::Serialize;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SqlstateLabels {
    /// The SQLSTATE the server sent ("none": no answer, e.g. no connection).
    pub sqlstate: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    /// `cache` or `database`.
    pub source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReappliedLabels {
    /// `stale_order` or `refused`.
    pub reason: &'static str,
}

/// What a waiting lane shows in `/readyz`'s body.
#[derive(Debug, Clone, Serialize)]
pub struct LaneWait {
    pub lane: usize,
    pub sqlstate: Option<String>,
    pub error: String,
    pub waiting_seconds: f64,
    pub attempts: u64,
}

struct Wait {
    sqlstate: Option<String>,
    error: String,
    since: Instant,
    attempts: u64,
}

#[derive(Default)]
pub struct ApplyMetrics {
    /// Lanes whose batch is failing right now.
    pub waiting_lanes: Gauge,
    /// How long the longest-waiting lane has waited (0: none waits).
    pub waiting_seconds: Gauge<f64, AtomicU64>,
    /// Failed attempts at a batch, by SQLSTATE.
    errors: Family<SqlstateLabels, Counter>,
    /// Orders batches decided on, by where their state came from.
    pub orders: Family<SourceLabels, Counter>,
    /// Batches applied again from fresh reads, by why.
    pub reapplied: Family<ReappliedLabels, Counter>,
    waits: Mutex<BTreeMap<usize, Wait>>,
}

impl ApplyMetrics {
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "apply_waiting_lanes",
            "Lanes whose batch fails for now and is retried",
            self.waiting_lanes.clone(),
        );
        registry.register(
            "apply_waiting_seconds",
            "How long the longest-waiting lane has retried its batch (0: none)",
            self.waiting_seconds.clone(),
        );
        registry.register(
            "apply_errors",
            "Failed attempts at applying a batch, by SQLSTATE",
            self.errors.clone(),
        );
        registry.register(
            "apply_orders",
            "Orders batches decided on, by where their state came from (cache: what this instance wrote; database: read row-locked)",
            self.orders.clone(),
        );
        registry.register(
            "apply_reapplied_batches",
            "Batches applied a second time from fresh reads: stale_order (another writer moved an order the cache knew), refused (a constraint refused what the cache allowed: a command id processed without its knowing, a race, or a command the schema refuses)",
            self.reapplied.clone(),
        );
    }

    /// Records a failed attempt of `lane`'s batch; returns how long the
    /// lane has waited (zero at its first failure).
    pub fn failed(&self, lane: usize, sqlstate: Option<&str>, error: &str) -> Duration {
        self.errors
            .get_or_create(&SqlstateLabels {
                sqlstate: sqlstate.unwrap_or("none").to_owned(),
            })
            .inc();
        let mut waits = self.waits.lock().unwrap_or_else(|e| e.into_inner());
        let wait = waits.entry(lane).or_insert_with(|| Wait {
            sqlstate: None,
            error: String::new(),
            since: Instant::now(),
            attempts: 0,
        });
        wait.sqlstate = sqlstate.map(str::to_owned);
        wait.error = error.to_owned();
        wait.attempts += 1;
        let waited = wait.since.elapsed();
        self.publish(&waits);
        waited
    }

    /// `lane`'s batch went through; returns how long it had waited, if it had.
    pub fn recovered(&self, lane: usize) -> Option<(Duration, u64)> {
        let mut waits = self.waits.lock().unwrap_or_else(|e| e.into_inner());
        let wait = waits.remove(&lane)?;
        self.publish(&waits);
        Some((wait.since.elapsed(), wait.attempts))
    }

    /// The lanes waiting now, for `/readyz`.
    pub fn waiting(&self) -> Vec<LaneWait> {
        let waits = self.waits.lock().unwrap_or_else(|e| e.into_inner());
        self.publish(&waits);
        waits
            .iter()
            .map(|(lane, wait)| LaneWait {
                lane: *lane,
                sqlstate: wait.sqlstate.clone(),
                error: wait.error.clone(),
                waiting_seconds: wait.since.elapsed().as_secs_f64(),
                attempts: wait.attempts,
            })
            .collect()
    }

    fn publish(&self, waits: &BTreeMap<usize, Wait>) {
        self.waiting_lanes.set(waits.len() as i64);
        let longest = waits.values().map(|w| w.since.elapsed()).max();
        self.waiting_seconds
            .set(longest.unwrap_or_default().as_secs_f64());
    }
}
