//! What the service counts, served at `/metrics` in the Prometheus
//! (OpenMetrics) text format. One [`Metrics`] per process, shared by the
//! consumer, the relay, the housekeeper and the HTTP server.

use std::sync::atomic::{AtomicBool, AtomicU64};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

use crate::db::PoolUsage;

mod apply;
mod group;
mod labels;
mod relay;
mod stages;
mod topic;

pub use apply::{ApplyMetrics, LaneWait, ReappliedLabels, SourceLabels};
pub use labels::*;
pub use relay::{RelayMetrics, RoundPart};
pub use stages::{Stage, StageMetrics};
pub use topic::{PartitionCount, TopicMetrics};

/// The media type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_request_seconds: Family<HttpRouteLabels, Histogram>,
    pub applied: Family<KindLabels, Counter>,
    pub rejected: Family<RejectionLabels, Counter>,
    pub dead_lettered: Family<ReasonLabels, Counter>,
    pub duplicates: Counter,
    pub key_mismatches: Counter,
    /// Positions below the log's start, reset to it by librdkafka.
    pub offset_resets: Counter,
    /// 1 while this instance has not reached its database for
    /// DB_UNREACHABLE_LEAVE_SECS (and has left its group).
    pub database_unreachable: Gauge,
    pub batch_size: Histogram,
    pub apply_seconds: Histogram,
    pub batch_failures: Counter,
    pub events_published: Counter,
    pub outbox_backlog: Gauge,
    pub outbox_oldest_age_seconds: Gauge<f64, AtomicU64>,
    /// The outbox's range partitions, as the housekeeper last counted them.
    pub outbox_partitions: Gauge,
    pub relay: RelayMetrics,
    pub apply: ApplyMetrics,
    /// Where commands' time goes, stage by stage.
    pub stages: StageMetrics,
    pub topic: TopicMetrics,
    pub purged: Family<TableLabels, Counter>,
    pub consumer_lag: Family<PartitionLabels, Gauge>,
    pub assigned_partitions: Gauge,
    assigned_partition: Family<PartitionLabels, Gauge>,
    member: Family<MemberLabels, Gauge>,
    /// The group membership as the last rebalance left it, for `/readyz`.
    membership: std::sync::Mutex<Membership>,
    db_pool_checkouts: Family<PoolLabels, Counter>,
    db_pool_waits: Family<PoolLabels, Counter>,
    db_pool_wait_seconds: Family<PoolLabels, Counter<f64, AtomicU64>>,
    /// Whether the consumer holds an assignment (possibly of no partition).
    in_group: AtomicBool,
    /// Whether the consumer left its group on purpose (its database is
    /// unreachable): then it is in no group, whatever rebalances said.
    left_group: AtomicBool,
    /// Whether the consumer reached no broker at its last statistics
    /// (false until they first say so).
    brokers_down: AtomicBool,
    /// The consumer's last client error (authentication, TLS, brokers
    /// down) while no broker is up, for `/readyz` to name.
    kafka_error: std::sync::Mutex<Option<String>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("order_service");
        let applied = Family::<KindLabels, Counter>::default();
        registry.register(
            "commands_applied",
            "Commands applied, by kind",
            applied.clone(),
        );
        let rejected = Family::<RejectionLabels, Counter>::default();
        registry.register(
            "commands_rejected",
            "Commands rejected by the rules (a CommandRejected event), by kind and code",
            rejected.clone(),
        );
        let dead_lettered = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "commands_dead_lettered",
            "Records sent to the dead-letter topic, by reason",
            dead_lettered.clone(),
        );
        let duplicates = Counter::default();
        registry.register(
            "commands_duplicate",
            "Commands delivered again after they were processed (no effect); includes commands committed one per transaction (a batch refused by the schema) before the batch failed and was retried",
            duplicates.clone(),
        );
        let key_mismatches = Counter::default();
        registry.register(
            "commands_key_mismatch",
            "Commands whose record key is not their order_id (applied, but per-order order is at risk)",
            key_mismatches.clone(),
        );
        let database_unreachable = Gauge::default();
        registry.register(
            "database_unreachable",
            "1 while this instance has not reached its database for DB_UNREACHABLE_LEAVE_SECS and has left its consumer group",
            database_unreachable.clone(),
        );
        let offset_resets = Counter::default();
        registry.register(
            "consumer_offset_resets",
            "Positions that lay below the command topic's log start (retention deleted commands never applied) and were reset to it",
            offset_resets.clone(),
        );
        let batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 13));
        registry.register(
            "batch_size",
            "Records per batch (one database transaction per lane)",
            batch_size.clone(),
        );
        let apply_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register(
            "batch_apply_seconds",
            "Time to make a batch durable: dead letters, transactions, commit, and any retries",
            apply_seconds.clone(),
        );
        let batch_failures = Counter::default();
        registry.register(
            "batch_failures",
            "Batch attempts that failed and were retried",
            batch_failures.clone(),
        );
        let events_published = Counter::default();
        registry.register(
            "events_published",
            "Order events the broker acknowledged",
            events_published.clone(),
        );
        let outbox_backlog = Gauge::default();
        registry.register(
            "outbox_backlog",
            "Outbox rows not yet published",
            outbox_backlog.clone(),
        );
        let outbox_oldest_age_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "outbox_oldest_unpublished_age_seconds",
            "Age of the oldest unpublished outbox row (0 when none)",
            outbox_oldest_age_seconds.clone(),
        );
        let outbox_partitions = Gauge::default();
        registry.register(
            "outbox_partitions",
            "Range partitions of the outbox (the default one apart)",
            outbox_partitions.clone(),
        );
        let relay = RelayMetrics::default();
        relay.register(&mut registry);
        let apply = ApplyMetrics::default();
        apply.register(&mut registry);
        let stages = StageMetrics::default();
        stages.register(&mut registry);
        let topic = TopicMetrics::default();
        topic.register(&mut registry);
        let purged = Family::<TableLabels, Counter>::default();
        registry.register(
            "retention_purged_rows",
            "Rows deleted by retention, by table",
            purged.clone(),
        );
        let consumer_lag = Family::<PartitionLabels, Gauge>::default();
        registry.register(
            "consumer_lag",
            "Records on an assigned partition not yet processed",
            consumer_lag.clone(),
        );
        let assigned_partitions = Gauge::default();
        registry.register(
            "assigned_partitions",
            "Command-topic partitions this instance owns",
            assigned_partitions.clone(),
        );
        let assigned_partition = Family::<PartitionLabels, Gauge>::default();
        registry.register(
            "assigned_partition",
            "1 for each command-topic partition this instance owns",
            assigned_partition.clone(),
        );
        let member = Family::<MemberLabels, Gauge>::default();
        registry.register(
            "consumer_member",
            "1, labelled with this instance's member id and static instance id in its group",
            member.clone(),
        );
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            http_requests.clone(),
        );
        let http_request_seconds =
            Family::<HttpRouteLabels, Histogram>::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.001, 2.0, 16))
            });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route",
            http_request_seconds.clone(),
        );
        let db_pool_checkouts = Family::<PoolLabels, Counter>::default();
        registry.register(
            "db_pool_checkouts",
            "Connections taken from a database pool, by pool",
            db_pool_checkouts.clone(),
        );
        let db_pool_waits = Family::<PoolLabels, Counter>::default();
        registry.register(
            "db_pool_waits",
            "Callers that found every connection of a pool taken and waited, by pool",
            db_pool_waits.clone(),
        );
        let db_pool_wait_seconds = Family::<PoolLabels, Counter<f64, AtomicU64>>::default();
        registry.register(
            "db_pool_wait_seconds",
            "Time async callers waited for a connection, by pool",
            db_pool_wait_seconds.clone(),
        );
        // Rendered as `order_service_build_info{version="…"} 1`.
        registry.register(
            "build",
            "The running build",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_owned(),
            }),
        );
        Self {
            registry,
            http_requests,
            http_request_seconds,
            applied,
            rejected,
            dead_lettered,
            duplicates,
            key_mismatches,
            offset_resets,
            database_unreachable,
            batch_size,
            apply_seconds,
            batch_failures,
            events_published,
            outbox_backlog,
            outbox_oldest_age_seconds,
            outbox_partitions,
            relay,
            apply,
            stages,
            topic,
            purged,
            consumer_lag,
            assigned_partitions,
            assigned_partition,
            member,
            membership: std::sync::Mutex::default(),
            db_pool_checkouts,
            db_pool_waits,
            db_pool_wait_seconds,
            in_group: AtomicBool::new(false),
            left_group: AtomicBool::new(false),
            brokers_down: AtomicBool::new(false),
            kafka_error: std::sync::Mutex::new(None),
        }
    }

    /// The counters of the database pool named `pool`, for
    /// [`crate::db::Database::new`] and its kin to count into.
    pub fn pool_usage(&self, pool: &str) -> PoolUsage {
        let labels = PoolLabels {
            pool: pool.to_owned(),
        };
        PoolUsage {
            checkouts: self.db_pool_checkouts.get_or_create(&labels).clone(),
            waits: self.db_pool_waits.get_or_create(&labels).clone(),
            wait_seconds: self.db_pool_wait_seconds.get_or_create(&labels).clone(),
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
