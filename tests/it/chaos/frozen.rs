//! A peer that freezes (SIGSTOP) while it applies commands, possibly
//! holding order locks mid-transaction: the group hands its partitions to
//! the other instance after the session timeout, the database ends the
//! frozen transaction after `idle_in_transaction_session_timeout` (which
//! releases its locks), and every command is applied. When the frozen
//! instance resumes (SIGCONT), its stale batch fails to commit or changes
//! nothing: 0 lost, 0 doubled, 0 out of order.

use std::time::{Duration, Instant};

use order_service::loadgen::Workload;

use super::process::{SHUTDOWN_BOUND, ServiceProcess};
use super::{audit, distinct, full_scale, seeded_rng, wait_for_progress};
use crate::helpers::{processed_count, spawn_env_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_peer_holds_nothing_up_for_long() {
    let mut rng = seeded_rng("frozen");
    let (orders, items) = if full_scale() { (200, 21) } else { (80, 8) };
    let workload = Workload::lifecycles(orders, items, &mut rng);
    let commands = workload.interleaved(&mut rng);
    let mut app = spawn_env_with(|s| {
        s.topics.topic_partitions = 6;
        s.intake.batch_size = 50;
        s.group.session_timeout_ms = Some(6_000);
        s.database.idle_in_transaction_timeout_ms = 8_000;
    })
    .await;
    let settings = app.settings.clone();
    let url = settings.database.database_url.clone();
    let a = ServiceProcess::start(&settings, "frozen-a");
    let b = ServiceProcess::start(&settings, "frozen-b");

    let (first, rest) = commands.split_at(commands.len() / 3);
    let send = app.send_paced(first, 10, Duration::from_millis(20));
    tokio::join!(send, wait_for_progress(&url));
    // Both instances hold partitions once the group settled.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let send = app.send_paced(rest, 10, Duration::from_millis(20));
    let freeze = async {
        wait_for_progress(&url).await;
        a.signal("STOP");
        Instant::now()
    };
    let ((), frozen_at) = tokio::join!(send, freeze);

    // Every command is applied by the instance that did not freeze.
    let total = commands.len() as i64;
    let mut conn = app.db();
    let deadline = frozen_at + Duration::from_secs(120);
    while processed_count(&mut conn) < total {
        assert!(
            Instant::now() < deadline,
            "only {} of {total} commands applied 120 s after the freeze",
            processed_count(&mut conn)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let moved_on = frozen_at.elapsed();

    a.signal("CONT");
    let expected = workload.command_count();
    let _ = app
        .events_until(Duration::from_secs(120), |r| distinct(r) >= expected)
        .await;
    // The resumed instance's stale batch, if any, has had time to try.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let result = audit(&workload, &app.received, 1, &mut conn);
    println!(
        "frozen: the group moved past the frozen peer in {:.1} s (session timeout 6 s, idle-in-transaction timeout 8 s): {result}",
        moved_on.as_secs_f64()
    );
    assert!(result.is_clean(), "{result}");
    for service in [a, b] {
        let status = service.terminate(SHUTDOWN_BOUND).await;
        assert!(status.is_some(), "exits after the test");
    }
}
