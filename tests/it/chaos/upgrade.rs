//! A rolling upgrade from the release before the transactional relay
//! (whose relay holds a session advisory lock): the old binary publishes,
//! a new one joins while commands stream in (and migrates the database
//! under the running old one), the old one is stopped, another new one
//! joins and the first new one stops. Only one relay publishes at a time:
//! the first new holder ends the old relay's session and keeps its lock,
//! and the old relay never takes the role back; every event arrives, in
//! order per order, none of them twice after the old relay was stopped.
//!
//! The old binary is built by `scripts/test` from the commit named in
//! `scripts/previous-release` (`PREVIOUS_RELEASE_BIN`).

use std::collections::HashSet;
use std::time::Duration;

use order_service::loadgen::Workload;

use super::process::{SHUTDOWN_BOUND, ServiceProcess};
use super::{audit, distinct, full_scale, seeded_rng, wait_for_progress};
use crate::helpers::spawn_env_with;

fn log(name: &str) -> String {
    std::fs::read_to_string(ServiceProcess::log_path(name)).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_upgrade_from_the_advisory_lock_relay_has_one_publisher_at_a_time() {
    let old_binary = std::env::var("PREVIOUS_RELEASE_BIN")
        .expect("PREVIOUS_RELEASE_BIN: the previous release's binary (scripts/test builds it)");
    let mut rng = seeded_rng("upgrade");
    let (orders, items) = if full_scale() { (200, 21) } else { (80, 6) };
    let workload = Workload::lifecycles(orders, items, &mut rng);
    let commands = workload.interleaved(&mut rng);
    let mut app = spawn_env_with(|s| s.topics.topic_partitions = 6).await;
    let settings = app.settings.clone();
    let url = settings.database.database_url.clone();
    let tag = |name: &str| format!("{name}-{}", settings.group.group_id);

    // The old release migrates the scratch database to its own schema and
    // publishes; the new ones are started as the deploy goes.
    let old = ServiceProcess::start_binary(&old_binary, &settings, &tag("upgrade-old"));
    let quarter = commands.len() / 4;
    let (first, rest) = commands.split_at(quarter);
    let send = app.send_paced(first, 10, Duration::from_millis(20));
    tokio::join!(send, wait_for_progress(&url));
    assert!(log(&tag("upgrade-old")).contains("this instance publishes the outbox"));

    let (second, rest) = rest.split_at(quarter);
    let new_a = ServiceProcess::start(&settings, &tag("upgrade-new-a"));
    app.send_paced(second, 10, Duration::from_millis(20)).await;
    // The new relay took the role: the old one's session was ended.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !log(&tag("upgrade-new-a")).contains("this instance publishes the outbox") {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new relay never took the role"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let (third, fourth) = rest.split_at(quarter);
    app.send_paced(third, 10, Duration::from_millis(20)).await;
    let status = old.terminate(SHUTDOWN_BOUND).await;
    assert!(status.is_some_and(|s| s.success()), "old: {status:?}");
    let old_log = log(&tag("upgrade-old"));
    let took = old_log
        .matches("this instance publishes the outbox")
        .count();
    assert_eq!(
        took, 1,
        "the old relay took the role back after the new one had it"
    );
    // Everything published so far, read: what comes later must be new.
    let mut conn = app.db();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while crate::helpers::unpublished_count(&mut conn) > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the backlog stays");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = app.events_until(Duration::from_secs(3), |_| false).await;
    let read_before = app.received.len();

    let new_b = ServiceProcess::start(&settings, &tag("upgrade-new-b"));
    let send = app.send_paced(fourth, 10, Duration::from_millis(20));
    let hand_over = async {
        new_b.wait_until_it_applies().await;
        new_a.terminate(SHUTDOWN_BOUND).await
    };
    let ((), status) = tokio::join!(send, hand_over);
    assert!(status.is_some_and(|s| s.success()), "new-a: {status:?}");

    let expected = workload.command_count();
    let _ = app
        .events_until(Duration::from_secs(120), |received| {
            distinct(received) >= expected
        })
        .await;
    let result = audit(&workload, &app.received, 3, &mut conn);
    println!("upgrade: {result}");
    // The old relay's last records (sent outside any transaction) may be
    // published again by the new one: repeats of the same event_id, then
    // none once the old relay is gone.
    let (earlier, late) = app.received.split_at(read_before);
    let earlier: HashSet<&str> = earlier.iter().map(|e| e.event_id.as_str()).collect();
    assert!(
        late.len() == distinct(late) && late.iter().all(|e| !earlier.contains(e.event_id.as_str())),
        "an event repeated after the old release was stopped"
    );
    assert!(
        result.losses == 0
            && result.double_applications == 0
            && result.out_of_order == 0
            && result.rejections == 0
            && result.distinct_events == result.commands,
        "{result}"
    );
    let status = new_b.terminate(SHUTDOWN_BOUND).await;
    assert!(status.is_some_and(|s| s.success()), "new-b: {status:?}");
}
