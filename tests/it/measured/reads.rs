//! Reads cannot starve the consumer: the GET endpoints have a pool of
//! their own, so a burst of reads while commands stream leaves command
//! throughput near its unloaded rate.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use reqwest::{Client, StatusCode};

use crate::helpers::{TestApp, add_item, create_order, new_id, processed_count, spawn_app};

/// Commands per measured run.
const COMMANDS: usize = 20_000;
/// The read burst: this many clients, each this many GETs back to back.
const READERS: usize = 16;
const READS_EACH: usize = 40;

/// Sends `COMMANDS` add-item commands over `orders` and returns how long
/// the service took to process them all.
async fn stream_commands(app: &TestApp, orders: &[String]) -> Duration {
    let mut conn = app.db();
    let before = processed_count(&mut conn);
    let commands: Vec<_> = (0..COMMANDS)
        .map(|i| add_item(&orders[i % orders.len()], &format!("p-{i}"), 1, 1))
        .collect();
    let started = Instant::now();
    app.send_burst(&commands).await;
    let deadline = started + Duration::from_secs(120);
    while processed_count(&mut conn) < before + COMMANDS as i64 {
        assert!(Instant::now() < deadline, "commands were not processed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
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

// As in production, the service runs on a multi-threaded runtime: on the
// single-threaded test runtime the HTTP server and the consumer would
// share one thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_reads_leaves_command_throughput_at_80_percent() {
    let app = spawn_app().await;
    let orders: Vec<String> = (0..1_000).map(|_| new_id()).collect();
    let creates: Vec<_> = orders
        .iter()
        .map(|id| create_order(id, "u-reads"))
        .collect();
    app.send_burst(&creates).await;
    // Warm up: the creates, and a first stream.
    stream_commands(&app, &orders).await;

    // Two pairs, each an unloaded run then a loaded one, summed: the
    // machine's speed drifts, and a pair sees the same drift.
    let http = Client::new();
    let (mut unloaded, mut loaded) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..2 {
        unloaded += stream_commands(&app, &orders).await;
        let (took, served) =
            tokio::join!(stream_commands(&app, &orders), burst(&app, &http, &orders));
        assert_eq!(served, READERS * READS_EACH, "every read was answered 200");
        loaded += took;
    }
    let ratio = unloaded.as_secs_f64() / loaded.as_secs_f64();
    println!(
        "2 × {COMMANDS} commands: {unloaded:?} unloaded, {loaded:?} during {} reads: {:.0}% of the unloaded rate",
        2 * READERS * READS_EACH,
        ratio * 100.0
    );
    assert!(
        ratio >= 0.8,
        "command throughput fell to {:.0}% of its unloaded rate under reads",
        ratio * 100.0
    );
}
