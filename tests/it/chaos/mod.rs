//! Fault injection: the service under crashes, database and broker faults,
//! rebalances and shutdown, checked for losses, double applications and
//! per-order order. Each test prints an audit line; `scripts/chaos` runs
//! them at full size (`CHAOS_SCALE=full`) and shows the lines.

mod broker;
mod crash;
mod frozen;
mod graceful;
mod membership;
mod operator;
mod partition;
mod postgres;
pub mod process;
mod publisher;
mod rebalance;
mod relay_ids;
mod rolling;
mod steady;
mod upgrade;

use std::collections::{HashMap, HashSet};
use std::fmt;

use diesel::prelude::*;
use order_service::config::ServeSettings;
use order_service::db::models::{Order, OrderItem};
use order_service::db::schema::processed_commands;
use order_service::loadgen::Workload;
use order_service::proto::OrderEvent;
use rdkafka::mocking::MockCluster;

use crate::helpers::{processed_count, rejection, unpublished_count};

/// Points `settings` at librdkafka's mock cluster and makes the topics there
/// (the mock cluster answers no CreateTopics, so the application must not try).
/// Call it last in a `configure` closure, once the partition count is set.
pub fn use_mock_cluster(
    mock: &MockCluster<'_, impl rdkafka::ClientContext>,
    settings: &mut ServeSettings,
) {
    settings.kafka.connection.bootstrap_servers = mock.bootstrap_servers();
    settings.topics.create_topics = false;
    let kafka = &settings.kafka;
    for topic in [&kafka.commands_topic, &kafka.events_topic, &kafka.dlq_topic] {
        mock.create_topic(topic, settings.topics.topic_partitions, 3)
            .expect("create topic on the mock cluster");
    }
    mock.create_topic(&kafka.relay_topic(), 1, 3)
        .expect("create the relay's topic on the mock cluster");
}

/// The tests that time a group under a steady load take turns, under
/// `cargo test` as under nextest (its `timed-group`): two at once on two
/// cores time each other, and the gaps they measure double.
pub async fn timed_turn() -> tokio::sync::MutexGuard<'static, ()> {
    static TIMED: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    TIMED.lock().await
}

/// Whether to run at the size the issue asks for, or at CI size.
pub fn full_scale() -> bool {
    std::env::var("CHAOS_SCALE").is_ok_and(|s| s == "full")
}

pub fn seeded_rng(test: &str) -> fastrand::Rng {
    let seed = std::env::var("TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("{test}: TEST_SEED={seed}");
    fastrand::Rng::with_seed(seed)
}

/// What a fault test found.
#[derive(Debug, Default, Clone, Copy)]
pub struct Audit {
    pub commands: usize,
    pub faults: usize,
    pub events_read: usize,
    pub distinct_events: usize,
    /// Events read more than once (same `event_id`) by a read_committed
    /// reader: none allowed.
    pub repeats: usize,
    /// State changes without an event, and commands without a state change.
    pub losses: usize,
    /// Commands applied more than once: two events with the same order and
    /// sequence, or a row count above the plan.
    pub double_applications: usize,
    /// Orders whose events were first seen out of sequence order.
    pub out_of_order: usize,
    /// Rejections of commands that were all valid: a sign of reordering.
    pub rejections: usize,
}

impl Audit {
    /// Clean but for repeats: on librdkafka's mock cluster, which writes
    /// no transaction markers, the records of an aborted round stay
    /// visible to read_committed readers (a real broker hides them; the
    /// tests on Apache Kafka assert none).
    pub fn is_clean_on_the_mock_cluster(&self) -> bool {
        Audit {
            repeats: 0,
            ..*self
        }
        .is_clean()
    }

    pub fn is_clean(&self) -> bool {
        self.losses == 0
            && self.repeats == 0
            && self.double_applications == 0
            && self.out_of_order == 0
            && self.rejections == 0
            && self.distinct_events == self.commands
    }
}

impl fmt::Display for Audit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "commands sent {}, faults injected {}, events read {} ({} distinct, {} repeats), \
             losses {}, double applications {}, out of order {}, rejections {}",
            self.commands,
            self.faults,
            self.events_read,
            self.distinct_events,
            self.repeats,
            self.losses,
            self.double_applications,
            self.out_of_order,
            self.rejections
        )
    }
}

/// How many distinct events `received` holds.
pub fn distinct(received: &[OrderEvent]) -> usize {
    received
        .iter()
        .map(|e| &e.event_id)
        .collect::<HashSet<_>>()
        .len()
}

/// Checks the events read and the database against the planned workload.
pub fn audit(
    workload: &Workload,
    received: &[OrderEvent],
    faults: usize,
    conn: &mut PgConnection,
) -> Audit {
    let mut audit = Audit {
        commands: workload.command_count(),
        faults,
        events_read: received.len(),
        ..Audit::default()
    };
    let mut by_order: HashMap<&str, Vec<&OrderEvent>> = HashMap::new();
    for event in received {
        by_order
            .entry(event.order_id.as_str())
            .or_default()
            .push(event);
    }
    for planned in &workload.orders {
        let id = planned.order_id.to_string();
        let events = by_order.remove(id.as_str()).unwrap_or_default();
        let mut ids = HashSet::new();
        let mut first_seen = Vec::new();
        let mut by_sequence: HashMap<u64, &str> = HashMap::new();
        for event in events {
            if !ids.insert(event.event_id.as_str()) {
                audit.repeats += 1;
                continue;
            }
            audit.distinct_events += 1;
            if rejection(event).is_some() {
                audit.rejections += 1;
                continue;
            }
            first_seen.push(event.sequence);
            if by_sequence
                .insert(event.sequence, &event.command_id)
                .is_some()
            {
                audit.double_applications += 1;
            }
            // The n-th event must come from the n-th command of the order.
            let planned_command = usize::try_from(event.sequence)
                .ok()
                .and_then(|s| s.checked_sub(1))
                .and_then(|i| planned.commands.get(i));
            if planned_command.is_none_or(|c| c.command_id != event.command_id) {
                audit.out_of_order += 1;
            }
        }
        audit.losses += planned.commands.len().saturating_sub(by_sequence.len());
        if first_seen.windows(2).any(|w| w[0] >= w[1]) {
            audit.out_of_order += 1;
        }

        // The rows.
        match Order::find(conn, planned.order_id).expect("query order") {
            None => audit.losses += 1,
            Some(order) => {
                let expected_version = planned.commands.len() as i64;
                if order.version > expected_version {
                    audit.double_applications += 1;
                }
                if (
                    order.status.as_str(),
                    order.payment_status.as_str(),
                    order.total_amount,
                    order.version,
                ) != ("confirmed", "completed", planned.total, expected_version)
                {
                    audit.losses += usize::from(order.version < expected_version);
                }
                let items = OrderItem::for_order(conn, planned.order_id).expect("query items");
                let planned_items = planned.commands.len() - 4;
                if items.len() > planned_items {
                    audit.double_applications += items.len() - planned_items;
                }
                audit.losses += planned_items.saturating_sub(items.len());
            }
        }
    }
    // Events of orders that were never planned.
    audit.double_applications += by_order.values().map(Vec::len).sum::<usize>();

    let processed = processed_count(conn);
    audit.losses += audit.commands.saturating_sub(processed as usize);
    // The database's watermark follows Kafka's committed position: it may
    // lag what was just read by a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while unpublished_count(conn) > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let unpublished = unpublished_count(conn);
    audit.losses += unpublished as usize;
    // The item count kept on an order's row is its items, counted.
    let miscounted: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM orders o WHERE o.item_count <> \
           (SELECT count(*) FROM order_items i WHERE i.order_id = o.id))",
    ))
    .get_result(conn)
    .expect("count miscounted orders");
    audit.losses += miscounted as usize;
    audit
}

/// Waits until more commands are processed than when it was called. Each
/// poll connects anew, so the database may restart meanwhile.
pub async fn wait_for_progress(database_url: &str) {
    let count = || -> Option<i64> {
        let mut conn = PgConnection::establish(database_url).ok()?;
        processed_commands::table.count().get_result(&mut conn).ok()
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let before = loop {
        if let Some(n) = count() {
            break n;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "database unreachable for 60 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    while count().is_none_or(|n| n <= before) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no progress in 60 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
