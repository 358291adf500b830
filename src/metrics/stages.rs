//! Where a command's time goes, stage by stage: one histogram per stage,
//! observed once per command, so that a slow tail shows which stage it
//! comes from. The stages follow each other; together they span from the
//! moment a producer stamped the record to the moment the relay's Kafka
//! transaction holding its event committed (when a `read_committed` reader
//! may see it).

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Stage {
    /// From the record's timestamp (its producer's clock, CreateTime) to
    /// the consumer reading it: the producer's linger, the broker, the
    /// fetch.
    delivered,
    /// From the read to its batch closing: the lane's queue and linger.
    queued,
    /// From the batch closing to its transaction's commit (retries
    /// included).
    applied,
    /// From the commit to the relay taking the batch's events in hand.
    handed_over,
    /// From the relay taking them to the commit of the Kafka transaction
    /// that publishes them. Events the relay read from the table (not
    /// handed over) are not counted.
    published,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabels {
    pub stage: Stage,
}

pub struct StageMetrics {
    seconds: Family<StageLabels, Histogram>,
}

impl Default for StageMetrics {
    fn default() -> Self {
        Self {
            // 0.25 ms to 4.9 min (a burst's backlog), each bucket 1.5 times
            // the one before.
            seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.00025, 1.5, 36))
            }),
        }
    }
}

impl StageMetrics {
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "command_stage_seconds",
            "Time a command spent in each stage, from its record's timestamp to its event's publication: delivered, queued, applied, handed_over, published",
            self.seconds.clone(),
        );
    }

    /// Counts `commands` that spent `seconds` in `stage`.
    pub fn observe(&self, stage: Stage, seconds: f64, commands: usize) {
        let histogram = self.seconds.get_or_create(&StageLabels { stage });
        for _ in 0..commands {
            histogram.observe(seconds);
        }
    }

    /// Counts one command per item of `seconds`.
    pub fn observe_each(&self, stage: Stage, seconds: impl IntoIterator<Item = f64>) {
        let histogram = self.seconds.get_or_create(&StageLabels { stage });
        for s in seconds {
            histogram.observe(s);
        }
    }
}
