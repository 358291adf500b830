//! Three instances in one group on a 6-partition command topic: instances
//! join, one leaves by SIGTERM, one dies by `kill -9` and comes back, all
//! mid-stream. Per-order order holds and no partition's progress is lost or
//! replayed wrongly across a handover (positions live in `consumer_offsets`
//! and every assignment seeks there).
//!
//! Against the real Apache Kafka broker of the test run: its group
//! coordinator expires the killed instance after the session timeout.

use std::time::Duration;

use order_service::loadgen::Workload;

use super::process::{SHUTDOWN_BOUND, ServiceProcess};
use super::{audit, distinct, full_scale, seeded_rng, wait_for_progress};
use crate::helpers::spawn_env_with;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_leaves_and_crashes_keep_order_and_progress() {
    let mut rng = seeded_rng("rebalance");
    let (orders, items) = if full_scale() { (200, 21) } else { (90, 8) };
    let workload = Workload::lifecycles(orders, items, &mut rng);
    let commands = workload.interleaved(&mut rng);
    let mut app = spawn_env_with(|s| {
        s.topics.topic_partitions = 6;
        s.intake.batch_size = 50;
    })
    .await;
    let settings = app.settings.clone();
    let url = settings.database.database_url.clone();

    let mut a = Some(ServiceProcess::start(&settings, "rebalance-a"));
    let mut b = None;
    let mut c = None;
    let steps = 6;
    let portion = commands.len().div_ceil(steps);
    for (step, portion) in commands.chunks(portion).enumerate() {
        let send = app.send_paced(portion, 20, Duration::from_millis(15));
        let change = async {
            wait_for_progress(&url).await;
            tokio::time::sleep(Duration::from_millis(rng.u64(0..150))).await;
            match step {
                0 => {
                    b = Some(ServiceProcess::start(&settings, "rebalance-b"));
                    "b joins"
                }
                1 => {
                    c = Some(ServiceProcess::start(&settings, "rebalance-c"));
                    "c joins"
                }
                2 => {
                    let status = b.take().unwrap().terminate(SHUTDOWN_BOUND).await;
                    assert!(status.is_some_and(|s| s.success()), "b exits 0: {status:?}");
                    "b leaves (SIGTERM)"
                }
                3 => {
                    c.as_mut().unwrap().kill9();
                    "c dies (kill -9)"
                }
                4 => {
                    c = Some(ServiceProcess::start(&settings, "rebalance-c2"));
                    "c comes back"
                }
                _ => "stream ends",
            }
        };
        let ((), what) = tokio::join!(send, change);
        println!("rebalance: {what}");
    }

    let expected = workload.command_count();
    let _ = app
        .events_until(Duration::from_secs(180), |r| distinct(r) >= expected)
        .await;
    let result = audit(&workload, &app.received, 5, &mut app.db());
    println!("rebalance: {result}");
    assert!(result.is_clean(), "{result}");
    for service in [a.take(), c.take()].into_iter().flatten() {
        let status = service.terminate(SHUTDOWN_BOUND).await;
        assert!(status.is_some_and(|s| s.success()), "{status:?}");
    }
}
