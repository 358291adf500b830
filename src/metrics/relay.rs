//! The relay's publisher role: who holds it, this instance's term, the
//! rounds Kafka refused, and where a round's time goes.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The parts of a relay round, one after the other.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum RoundPart {
    /// Reading which ids are visible, and the rows not in hand.
    read,
    /// Opening the Kafka transaction, sending its records and waiting for
    /// every answer.
    answered,
    /// Committing the Kafka transaction (waiting first for librdkafka to
    /// count every answered record as done).
    committed,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RoundPartLabels {
    pub part: RoundPart,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HolderLabels {
    /// The instance holding the publisher lease (host:pid:nonce).
    pub holder: String,
}

pub struct RelayMetrics {
    /// 1 while this instance holds the publisher role.
    pub publishing: Gauge,
    /// The lease generation of this instance's term (0 when it has none).
    pub generation: Gauge,
    /// Transactional producers taking turns in this instance's term (0
    /// when it has none).
    pub producers: Gauge,
    /// Terms this instance started.
    pub terms: Counter,
    /// Kafka transactions the relay committed (each costs the brokers a
    /// round of transaction markers, whatever its size).
    pub committed_rounds: Counter,
    /// Kafka transactions the relay aborted (a record refused, a broker
    /// gone mid-round); their rows go again.
    pub aborted_rounds: Counter,
    /// Orders whose events are held back after their rows kept failing.
    pub held_orders: Gauge,
    /// The lease's holder as the database says (any instance reports it).
    holder: Family<HolderLabels, Gauge>,
    last_holder: std::sync::Mutex<Option<String>>,
    /// Each part of the rounds that committed.
    round_seconds: Family<RoundPartLabels, Histogram>,
}

impl Default for RelayMetrics {
    fn default() -> Self {
        Self {
            publishing: Gauge::default(),
            generation: Gauge::default(),
            producers: Gauge::default(),
            terms: Counter::default(),
            committed_rounds: Counter::default(),
            aborted_rounds: Counter::default(),
            held_orders: Gauge::default(),
            holder: Family::default(),
            last_holder: std::sync::Mutex::default(),
            // 0.1 ms to 5.7 s (a commit may take 5), each bucket 1.5
            // times the one before.
            round_seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.0001, 1.5, 28))
            }),
        }
    }
}

impl RelayMetrics {
    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "relay_publishing",
            "1 while this instance holds the publisher role",
            self.publishing.clone(),
        );
        registry.register(
            "relay_lease_generation",
            "Lease generation of this instance's publisher term (0: none)",
            self.generation.clone(),
        );
        registry.register(
            "relay_producers",
            "Transactional producers taking turns in this instance's publisher term (0: none)",
            self.producers.clone(),
        );
        registry.register(
            "relay_terms",
            "Publisher terms this instance started",
            self.terms.clone(),
        );
        registry.register(
            "relay_committed_rounds",
            "Kafka transactions the relay committed (one a round)",
            self.committed_rounds.clone(),
        );
        registry.register(
            "relay_aborted_rounds",
            "Kafka transactions of the relay that were aborted and sent again",
            self.aborted_rounds.clone(),
        );
        registry.register(
            "relay_held_orders",
            "Orders whose events are held back after their records kept failing",
            self.held_orders.clone(),
        );
        registry.register(
            "relay_holder",
            "The instance holding the publisher lease, as the database says",
            self.holder.clone(),
        );
        registry.register(
            "relay_round_seconds",
            "Time each part of a committed relay round took: read, answered, committed",
            self.round_seconds.clone(),
        );
    }

    /// Counts the time one part of a committed round took.
    pub fn observe_round(&self, part: RoundPart, seconds: f64) {
        self.round_seconds
            .get_or_create(&RoundPartLabels { part })
            .observe(seconds);
    }

    /// Records the lease's holder as read from the database.
    pub fn set_holder(&self, holder: Option<&str>) {
        let mut last = self.last_holder.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(holder) = holder {
            self.holder
                .get_or_create(&HolderLabels {
                    holder: holder.to_owned(),
                })
                .set(1);
        }
        if let Some(old) = last.as_deref()
            && Some(old) != holder
        {
            self.holder.remove(&HolderLabels {
                holder: old.to_owned(),
            });
        }
        *last = holder.map(str::to_owned);
    }
}
