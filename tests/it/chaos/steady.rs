//! A group of service processes under a steady load, watched from outside:
//! who owns which partition (each instance's `/readyz`), and how long each
//! partition's orders went without an event (a reader's clock). Shared by
//! the membership and rolling-restart tests.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use futures_util::future::join_all;
use order_service::proto::{OrderCommand, OrderEvent};
use prost::Message as _;
use rdkafka::Message as _;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::process::ServiceProcess;
use crate::helpers::TestApp;

pub const PARTITIONS: i32 = 12;
/// Commands per second, sent in ticks of a tenth of a second.
pub const RATE: usize = 1_000;

/// The partitions each instance owns, from its `/readyz`.
pub async fn ownership(services: &[&ServiceProcess]) -> Vec<BTreeSet<i32>> {
    let mut owned = Vec::new();
    for service in services {
        let partitions = match service.readiness().await {
            Some((_, body)) => body["checks"]["consumer"]["partitions"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .filter_map(|p| p.as_i64().map(|p| p as i32))
                        .collect()
                })
                .unwrap_or_default(),
            None => BTreeSet::new(),
        };
        owned.push(partitions);
    }
    owned
}

/// Waits until every partition has exactly one owner among `services`,
/// each owning some; returns the owner of each partition.
pub async fn settled(services: &[&ServiceProcess]) -> BTreeMap<i32, usize> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let owned = ownership(services).await;
        let mut owners = BTreeMap::new();
        let mut clean = owned.iter().all(|set| !set.is_empty());
        for (who, set) in owned.iter().enumerate() {
            for partition in set {
                clean &= owners.insert(*partition, who).is_none();
            }
        }
        if clean && owners.len() == PARTITIONS as usize {
            return owners;
        }
        assert!(
            Instant::now() < deadline,
            "the group did not settle in 60 s: {owned:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The partitions whose owner is not the same instance in `after`.
pub fn moved(before: &BTreeMap<i32, usize>, after: &BTreeMap<i32, usize>) -> BTreeSet<i32> {
    (0..PARTITIONS)
        .filter(|p| before.get(p) != after.get(p))
        .collect()
}

/// Each event's first arrival: its order and when the reader saw it.
pub type Arrivals = HashMap<String, (String, Instant)>;

/// Reads `app`'s events until `expected` distinct ones arrived (or none
/// for two minutes), timing each first arrival.
pub fn collect_arrivals(app: &TestApp, expected: usize) -> JoinHandle<Arrivals> {
    let reader = app.events_reader();
    tokio::spawn(async move {
        let mut seen = HashMap::new();
        while seen.len() < expected {
            let Ok(message) = tokio::time::timeout(Duration::from_secs(120), reader.recv()).await
            else {
                break;
            };
            let message = message.expect("read an event");
            let event =
                OrderEvent::decode(message.payload().unwrap_or_default()).expect("an OrderEvent");
            seen.entry(event.event_id)
                .or_insert((event.order_id, Instant::now()));
        }
        seen
    })
}

/// Sends `commands` at [`RATE`] from `started`; returns each order's
/// partition.
pub async fn send_steadily(
    app: &TestApp,
    commands: &[OrderCommand],
    started: Instant,
) -> HashMap<String, i32> {
    let mut partition_of = HashMap::new();
    for (tick, chunk) in commands.chunks(RATE / 10).enumerate() {
        let partitions = join_all(chunk.iter().map(|c| app.send(c))).await;
        for (command, partition) in chunk.iter().zip(partitions) {
            partition_of.insert(command.order_id.clone(), partition);
        }
        tokio::time::sleep_until(started + Duration::from_millis(100 * (tick as u64 + 1))).await;
    }
    partition_of
}

/// The largest gap between events of one partition's orders, per
/// partition, among the arrivals within `window`.
pub fn largest_gaps(
    arrivals: &Arrivals,
    partition_of: &HashMap<String, i32>,
    window: (Instant, Instant),
) -> BTreeMap<i32, Duration> {
    let mut times: BTreeMap<i32, Vec<Instant>> = BTreeMap::new();
    for (order_id, at) in arrivals.values() {
        if *at >= window.0 && *at <= window.1 {
            times.entry(partition_of[order_id]).or_default().push(*at);
        }
    }
    times
        .into_iter()
        .map(|(partition, mut at)| {
            at.sort();
            let gap = at
                .windows(2)
                .map(|pair| pair[1] - pair[0])
                .max()
                .unwrap_or_default();
            (partition, gap)
        })
        .collect()
}

/// The part of `name`'s log after byte `from`.
pub fn log_since(name: &str, from: usize) -> String {
    let log = std::fs::read(ServiceProcess::log_path(name)).expect("the instance's log");
    String::from_utf8_lossy(&log[from.min(log.len())..]).into_owned()
}

pub fn log_len(name: &str) -> usize {
    std::fs::metadata(ServiceProcess::log_path(name)).map_or(0, |m| m.len() as usize)
}

/// Whether `name`'s log says it took the publisher role.
pub fn publishes(name: &str) -> bool {
    std::fs::read_to_string(ServiceProcess::log_path(name))
        .is_ok_and(|log| log.contains("this instance publishes the outbox"))
}
