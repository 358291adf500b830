//! Group membership under a steady load: with cooperative assignment a
//! member that joins or leaves moves only the partitions that must move,
//! and every other partition keeps flowing through the rebalance.
//!
//! Three instances (dynamic members) share a 12-partition command topic
//! while 1,000 commands/s stream in; a fourth joins, then one leaves by
//! SIGTERM. Each instance's `/readyz` names the partitions it owns, before
//! and after each change, which tells the partitions that moved; each
//! instance's log names the partitions each rebalance revoked from it:
//! only moved ones may be (an eager rebalance revokes every partition of
//! every member, and they all stop while the group agrees). The events of
//! each partition's orders are timed as a reader sees them and the largest
//! gap per partition is printed (the speeds are the bench's business; the
//! bounds here only catch a partition that stalls).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use order_service::config::GroupProtocol;
use order_service::loadgen::Workload;
use tokio::time::Instant;

use super::process::{SHUTDOWN_BOUND, ServiceProcess};
use super::steady::{
    PARTITIONS, collect_arrivals, largest_gaps, log_len, log_since, moved, publishes,
    send_steadily, settled,
};
use super::{audit, distinct, seeded_rng};

/// A partition this long without events waited for something it should
/// not have: a session to end (10 s), a revoke that never came.
const STALL: Duration = Duration::from_secs(15);
use crate::helpers::{spawn_env_with, use_group_protocol};

/// The partitions the rebalances revoked from `name` in the part of its
/// log after byte `from`.
fn revoked(name: &str, from: usize) -> BTreeSet<i32> {
    log_since(name, from)
        .lines()
        .filter(|line| line.contains("rebalance: partitions revoked"))
        .filter_map(|line| line.split("revoked=").nth(1)?.split(' ').next())
        .flat_map(|list| list.split(','))
        .filter_map(|tp| tp.rsplit_once('/')?.1.parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_joining_and_one_leaving_pause_only_the_partitions_that_move() {
    join_then_leave("cooperative", GroupProtocol::Classic).await;
}

/// The same under Kafka 4's consumer protocol (KIP-848): the broker
/// assigns, incrementally too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_the_consumer_protocol_a_member_joining_and_one_leaving_pause_only_the_partitions_that_move()
 {
    join_then_leave("kip848", GroupProtocol::Consumer).await;
}

async fn join_then_leave(label: &str, protocol: GroupProtocol) {
    let _turn = super::timed_turn().await;
    let mut rng = seeded_rng(label);
    // 2,000 orders × 10 commands = 20 s at 1,000/s.
    let workload = Workload::lifecycles(2_000, 6, &mut rng);
    let commands = workload.interleaved(&mut rng);
    let mut app = spawn_env_with(|s| {
        s.topics.topic_partitions = PARTITIONS;
        s.intake.batch_size = 50;
        use_group_protocol(s, protocol);
    })
    .await;
    let settings = app.settings.clone();
    let names: Vec<String> = ["a", "b", "c", "d"]
        .iter()
        .map(|n| format!("{label}-{n}-{}", settings.group.group_id))
        .collect();
    let a = ServiceProcess::start(&settings, &names[0]);
    let b = ServiceProcess::start(&settings, &names[1]);
    let c = ServiceProcess::start(&settings, &names[2]);
    let three = settled(&[&a, &b, &c]).await;
    let logged: Vec<usize> = names.iter().map(|name| log_len(name)).collect();

    let expected = commands.len();
    let collect = collect_arrivals(&app, expected);
    let started = Instant::now();
    let send = send_steadily(&app, &commands, started);
    let mut leaver_name = String::new();
    let change = async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let d = ServiceProcess::start(&settings, &names[3]);
        let four = settled(&[&a, &b, &c, &d]).await;
        let joined = moved(&three, &four);
        println!("{label}: d joined; moved {joined:?}");
        tokio::time::sleep(Duration::from_secs(5)).await;
        // The one to leave publishes no events, so the events' gaps are
        // the consumer's (a publisher leaving hands its role over too).
        let mut services = vec![a, b, c, d];
        let leaver = (0..3)
            .find(|i| !publishes(&names[*i]))
            .expect("one of three does not publish");
        leaver_name = names[leaver].clone();
        let leaving = services.remove(leaver);
        let status = leaving.terminate(SHUTDOWN_BOUND).await;
        assert!(status.is_some_and(|s| s.success()), "{status:?}");
        let left: Vec<&ServiceProcess> = services.iter().collect();
        let three_again = settled(&left).await;
        // Owners are indexed by position: map the remaining back to `four`'s.
        let index: Vec<usize> = (0..4).filter(|i| *i != leaver).collect();
        let three_again: BTreeMap<i32, usize> = three_again
            .into_iter()
            .map(|(p, who)| (p, index[who]))
            .collect();
        let left_moved = moved(&four, &three_again);
        println!("{label}: {} left; moved {left_moved:?}", names[leaver]);
        (services, joined, left_moved)
    };
    let (partition_of, (services, joined, left)) = tokio::join!(send, change);
    let arrivals = collect.await.expect("collector");

    let _ = app
        .events_until(Duration::from_secs(120), |r| distinct(r) >= expected)
        .await;
    let result = audit(&workload, &app.received, 2, &mut app.db());
    println!("{label}: {result}");
    assert!(result.is_clean(), "{result}");

    let moved_at_all: BTreeSet<i32> = joined.union(&left).copied().collect();
    let mut revoked_at_all = BTreeSet::new();
    for (name, from) in names.iter().zip(&logged) {
        let revoked = revoked(name, *from);
        println!("{label}: revoked from {name}: {revoked:?}");
        assert!(
            revoked.is_subset(&moved_at_all),
            "{name} gave up partitions that did not move: {revoked:?} (moved: {moved_at_all:?})"
        );
        revoked_at_all.extend(revoked);
    }
    // The logs were read: every partition that moved was given up by its
    // owner first.
    assert!(
        moved_at_all.is_subset(&revoked_at_all),
        "moved {moved_at_all:?}, revoked {revoked_at_all:?}"
    );

    // The largest gap between events of one partition's orders, while the
    // load ran (its first and last seconds left out).
    let window = (
        started + Duration::from_secs(1),
        started + Duration::from_secs(19),
    );
    let mut report = Vec::new();
    let mut still = Duration::ZERO;
    let mut moving = Duration::ZERO;
    for (partition, gap) in largest_gaps(&arrivals, &partition_of, window) {
        let moved = joined.contains(&partition) || left.contains(&partition);
        report.push(format!(
            "{partition}{}: {} ms",
            if moved { " (moved)" } else { "" },
            gap.as_millis()
        ));
        if moved {
            moving = moving.max(gap);
        } else {
            still = still.max(gap);
        }
    }
    println!("{label}: largest gap per partition: {}", report.join(", "));
    println!(
        "{label}: largest gap on partitions that stayed {} ms, on moved ones {} ms ({leaver_name} left)",
        still.as_millis(),
        moving.as_millis()
    );
    // The gaps are measured and printed, not held to the 1 s: on
    // two cores shared with other tests a process can wait seconds for
    // the CPU (4.2 s was seen on a partition that stayed). That no
    // partition that stayed was revoked is the mechanism, checked above;
    // the bound only catches a partition left waiting for a session.
    for (what, gap) in [("did not move", still), ("moved", moving)] {
        assert!(gap < STALL, "a partition that {what} paused for {gap:?}");
    }
    for service in services {
        let status = service.terminate(SHUTDOWN_BOUND).await;
        assert!(status.is_some_and(|s| s.success()), "{status:?}");
    }
}

/// Two instances started with one `KAFKA_GROUP_INSTANCE_ID` (a copied
/// StatefulSet, a stale pod after a partition): the group fences the older
/// one, whose consumer can then never consume again. It must not stay up
/// idle and "ready": it stops, with a failure status, so its supervisor
/// sees it; the newer one carries the partitions, and nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_fenced_by_another_with_its_id_stops_with_a_failure() {
    let mut rng = seeded_rng("fenced");
    let workload = Workload::lifecycles(60, 4, &mut rng);
    let commands = workload.interleaved(&mut rng);
    let (first, second) = commands.split_at(commands.len() / 2);
    let mut app = spawn_env_with(|s| s.group.instance_id = Some("order-service-0".into())).await;
    let settings = app.settings.clone();
    let mut old = ServiceProcess::start(&settings, "fenced-old");
    app.send_all(first).await;
    old.wait_until_it_applies().await;
    let new = ServiceProcess::start(&settings, "fenced-new");
    let status = old.exit(Duration::from_secs(60)).await;
    println!("fenced: the older instance ended with {status:?}");
    assert!(
        status.is_some_and(|s| !s.success()),
        "the fenced instance stops with a failure: {status:?}"
    );
    app.send_all(second).await;
    let expected = workload.command_count();
    let _ = app
        .events_until(Duration::from_secs(120), |r| distinct(r) >= expected)
        .await;
    let result = audit(&workload, &app.received, 1, &mut app.db());
    println!("fenced: {result}");
    assert!(result.is_clean(), "{result}");
    let status = new.terminate(SHUTDOWN_BOUND).await;
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}

/// Under Kafka 4's consumer protocol a second instance started with a
/// running one's `KAFKA_GROUP_INSTANCE_ID` is refused by the broker
/// (`UNRELEASED_INSTANCE_ID`), not the first: it asks again every second,
/// stays unready and says why in `/readyz`, while the first carries on;
/// once the first stops, the second takes the partitions, and nothing is
/// lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_the_consumer_protocol_a_second_instance_with_a_running_ones_id_waits_for_it() {
    let mut rng = seeded_rng("kip848-same-id");
    let workload = Workload::lifecycles(60, 4, &mut rng);
    let commands = workload.interleaved(&mut rng);
    let (first, second) = commands.split_at(commands.len() / 2);
    let mut app = spawn_env_with(|s| {
        s.group.instance_id = Some("order-service-0".into());
        use_group_protocol(s, GroupProtocol::Consumer);
    })
    .await;
    let settings = app.settings.clone();
    let running = ServiceProcess::start(&settings, "kip848-same-id-running");
    app.send_all(first).await;
    running.wait_until_it_applies().await;
    let waiting = ServiceProcess::start(&settings, "kip848-same-id-waiting");
    let deadline = Instant::now() + Duration::from_secs(60);
    let body = loop {
        if let Some((status, body)) = waiting.readiness().await
            && body["checks"]["consumer"]["instance_id_unreleased"] == true
        {
            assert_eq!(status, 503, "{body}");
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "the second instance was never refused"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    println!(
        "kip848-same-id: the second instance waits: {}",
        body["checks"]["consumer"]
    );
    // Several refusals later the first still owns every partition.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, body) = running.readiness().await.expect("the first answers");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["checks"]["consumer"]["assigned_partitions"], settings.topics.topic_partitions,
        "{body}"
    );
    let status = running.terminate(SHUTDOWN_BOUND).await;
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    app.send_all(second).await;
    waiting.wait_until_it_applies().await;
    let expected = workload.command_count();
    let _ = app
        .events_until(Duration::from_secs(120), |r| distinct(r) >= expected)
        .await;
    let result = audit(&workload, &app.received, 1, &mut app.db());
    println!("kip848-same-id: {result}");
    assert!(result.is_clean(), "{result}");
    let (status, body) = waiting.readiness().await.expect("the second answers");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["checks"]["consumer"]["instance_id_unreleased"], false,
        "{body}"
    );
    let status = waiting.terminate(SHUTDOWN_BOUND).await;
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}
