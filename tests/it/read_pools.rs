//! Reads cannot starve the consumer: the GET endpoints take their
//! connections from a pool of their own. Proven by counting, not by timing
//! (a throughput ratio passes on one machine and fails on the next; the
//! speed comparison lives in `scripts/bench`): during a burst of reads
//! while commands stream, every read takes one connection from the read
//! pool and nobody else takes one from it, and the consumer's pool never
//! makes anyone wait.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::join_all;
use order_service::config::DatabaseSettings;
use order_service::db::{Database, DbError, PoolUsage};
use reqwest::{Client, StatusCode};

use crate::helpers::{TestApp, add_item, create_order, new_id, processed_count, spawn_app};

/// Commands streamed while the reads run.
const COMMANDS: usize = 4_000;
/// The read burst: this many clients, each this many GETs back to back;
/// more clients than the read pool (4) has connections.
const READERS: usize = 16;
const READS_EACH: usize = 40;

/// `order_service_db_pool_<what>_total{pool="…"}` for every pool, from the
/// metrics text.
fn pool_counters(metrics: &str, what: &str) -> HashMap<String, f64> {
    let prefix = format!("order_service_db_pool_{what}_total{{pool=\"");
    metrics
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(&prefix)?;
            let (pool, value) = rest.split_once("\"} ")?;
            Some((pool.to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}

struct Counts {
    checkouts: HashMap<String, f64>,
    waits: HashMap<String, f64>,
}

async fn counts(app: &TestApp) -> Counts {
    let metrics = app.metrics().await;
    Counts {
        checkouts: pool_counters(&metrics, "checkouts"),
        waits: pool_counters(&metrics, "waits"),
    }
}

fn delta(before: &HashMap<String, f64>, after: &HashMap<String, f64>, pool: &str) -> f64 {
    after.get(pool).copied().unwrap_or(0.0) - before.get(pool).copied().unwrap_or(0.0)
}

/// Sends `COMMANDS` add-item commands over `orders` and waits until the
/// service processed them all.
async fn stream_commands(app: &TestApp, orders: &[String]) {
    let mut conn = app.db();
    let before = processed_count(&mut conn);
    let commands: Vec<_> = (0..COMMANDS)
        .map(|i| add_item(&orders[i % orders.len()], &format!("p-{i}"), 1, 1))
        .collect();
    app.send_burst(&commands).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    while processed_count(&mut conn) < before + COMMANDS as i64 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "commands were not processed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `READERS` clients reading orders back to back; how many got 200.
async fn burst(app: &TestApp, http: &Client, orders: &[String]) -> usize {
    let reads = join_all((0..READERS).map(|reader| {
        let urls: Vec<String> = (0..READS_EACH)
            .map(|i| {
                app.url(&format!(
                    "/orders/{}",
                    orders[(reader * READS_EACH + i) % orders.len()]
                ))
            })
            .collect();
        async move {
            let mut ok = 0;
            for url in urls {
                let response = http.get(url).send().await.expect("GET");
                if response.status() == StatusCode::OK {
                    ok += 1;
                }
                let _ = response.bytes().await;
            }
            ok
        }
    }))
    .await;
    reads.into_iter().sum()
}

// As in production, the service runs on a multi-threaded runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_reads_takes_only_read_connections_and_never_makes_the_consumer_wait() {
    let app = spawn_app().await;
    let orders: Vec<String> = (0..500).map(|_| new_id()).collect();
    let creates: Vec<_> = orders
        .iter()
        .map(|id| create_order(id, "u-reads"))
        .collect();
    app.send_burst(&creates).await;
    stream_commands(&app, &orders).await;

    let before = counts(&app).await;
    let http = Client::new();
    let ((), served) = tokio::join!(stream_commands(&app, &orders), burst(&app, &http, &orders));
    let after = counts(&app).await;

    assert_eq!(served, READERS * READS_EACH, "every read was answered 200");
    assert_eq!(
        delta(&before.checkouts, &after.checkouts, "reads"),
        served as f64,
        "one read connection per GET, and none for anything else (the consumer included)"
    );
    assert!(
        delta(&before.waits, &after.waits, "reads") > 0.0,
        "{READERS} readers on 4 read connections queued for them: the burst was a real load"
    );
    assert!(
        delta(&before.checkouts, &after.checkouts, "main") > 0.0,
        "the consumer applied its batches on the main pool"
    );
    assert_eq!(
        delta(&before.waits, &after.waits, "main"),
        0.0,
        "nobody on the consumer's pool waited for a connection during the reads"
    );
}

/// The wait counter counts: a second caller on a pool of one waits for the
/// first caller's connection.
#[tokio::test]
async fn a_caller_that_finds_every_connection_taken_is_counted_as_a_wait() {
    let app = spawn_app().await;
    let db = Database::new(
        &DatabaseSettings {
            pool_size: 1,
            ..app.settings.database.clone()
        },
        PoolUsage::default(),
    );
    let (release, released) = std::sync::mpsc::channel::<()>();
    let first = tokio::spawn({
        let db = db.clone();
        async move {
            db.run(move |_| {
                released.recv().ok();
                Ok::<_, DbError>(())
            })
            .await
        }
    });
    // The first caller holds the only connection until released.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while db.usage().checkouts.get() < 1 {
        assert!(tokio::time::Instant::now() < deadline, "no checkout");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(db.usage().waits.get(), 0, "the first caller did not wait");
    let second = tokio::spawn({
        let db = db.clone();
        async move { db.run(|_| Ok::<_, DbError>(())).await }
    });
    while db.usage().waits.get() < 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the wait was not counted"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    release
        .send(())
        .expect("the first caller waits to be released");
    first.await.expect("first task").expect("first call");
    second.await.expect("second task").expect("second call");
    assert_eq!(db.usage().waits.get(), 1);
    assert_eq!(db.usage().checkouts.get(), 2);
    assert!(db.usage().wait_seconds.get() > 0.0);
}
