//! The consumer's positions in `consumer_offsets` only move forward: a lane
//! that finishes a partition revoked while it applied cannot move back what
//! the partition's new owner saved meanwhile.

use std::time::Duration;

use chrono::Utc;
use diesel::prelude::*;
use order_service::config::GroupProtocol;
use order_service::db::ScratchDatabase;
use order_service::db::models::ConsumerOffset;

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn position(partition: i32, next_offset: i64) -> ConsumerOffset {
    ConsumerOffset {
        group_id: "group".into(),
        topic: "commands".into(),
        partition,
        next_offset,
        updated_at: Utc::now(),
    }
}

fn saved(conn: &mut PgConnection) -> Vec<(i32, i64)> {
    let mut rows: Vec<(i32, i64)> = ConsumerOffset::for_topic(conn, "group", "commands")
        .expect("read positions")
        .into_iter()
        .map(|row| (row.partition, row.next_offset))
        .collect();
    rows.sort_unstable();
    rows
}

#[test]
fn a_position_never_moves_back() {
    let database = ScratchDatabase::migrated(&admin_url(), "order_service_test").expect("scratch");
    let mut new_owner = PgConnection::establish(database.url()).expect("connect");
    let mut old_owner = PgConnection::establish(database.url()).expect("connect");
    ConsumerOffset::save_all(&mut new_owner, &[position(0, 100), position(1, 10)]).unwrap();
    // The old owner's lane commits the batch it held when the partition was
    // revoked: partition 0 behind what the new owner saved, partition 1 ahead.
    ConsumerOffset::save_all(&mut old_owner, &[position(0, 60), position(1, 20)]).unwrap();
    assert_eq!(saved(&mut new_owner), vec![(0, 100), (1, 20)]);

    // The same race with both transactions open at once: the later commit
    // waits on the row, then sees the newer position and leaves it.
    new_owner
        .transaction::<_, diesel::result::Error, _>(|new_owner| {
            ConsumerOffset::save_all(new_owner, &[position(0, 200)])?;
            let old = std::thread::spawn({
                let url = database.url().to_owned();
                move || {
                    let mut old_owner = PgConnection::establish(&url).expect("connect");
                    ConsumerOffset::save_all(&mut old_owner, &[position(0, 150)]).unwrap()
                }
            });
            std::thread::sleep(std::time::Duration::from_millis(200));
            assert!(!old.is_finished(), "the stale write waits for the row");
            Ok(old)
        })
        .map(|old| old.join().unwrap())
        .unwrap();
    assert_eq!(saved(&mut old_owner), vec![(0, 200), (1, 20)]);
}

/// A long outage: retention deleted commands the group never applied, so
/// the stored position lies below the log's start. `positions show` says
/// so; the service says so (an error line, a metric) and reads on from the
/// log's start instead of looping; `positions reset` is refused while the
/// group has members and, once it is empty, moves the database's and
/// Kafka's positions together — back, too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_position_below_the_log_start_is_told_and_an_operator_can_reset_it() {
    below_the_log_start(GroupProtocol::Classic).await;
}

/// The same under Kafka 4's consumer protocol, where the group's members
/// are described by another API than the classic one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_the_consumer_protocol_a_reset_is_refused_while_the_group_has_a_member() {
    below_the_log_start(GroupProtocol::Consumer).await;
}

async fn below_the_log_start(protocol: GroupProtocol) {
    use order_service::db::models::ConsumerOffset as Row;
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::client::DefaultClientContext;

    use crate::cli::{lines, run};
    use crate::helpers::{
        create_order, new_id, spawn_env_with, test_client_config, use_group_protocol,
    };

    let mut app = spawn_env_with(|s| {
        use_group_protocol(s, protocol);
    })
    .await;
    let topic = app.settings.kafka.commands_topic.clone();
    let group = app.settings.group.group_id.clone();
    // Creates until one partition holds four of them.
    let mut on: std::collections::HashMap<i32, usize> = std::collections::HashMap::new();
    let mut sent = 0;
    let partition = loop {
        let partition = app.send(&create_order(&new_id(), "u-outage")).await;
        sent += 1;
        let count = on.entry(partition).or_default();
        *count += 1;
        if *count == 4 {
            break partition;
        }
    };
    // Retention took its first two records; the group stood at offset 1.
    let admin: AdminClient<DefaultClientContext> =
        test_client_config(&app.settings.kafka.connection)
            .create()
            .expect("admin client");
    let mut deleted = rdkafka::TopicPartitionList::new();
    deleted
        .add_partition_offset(&topic, partition, rdkafka::Offset::Offset(2))
        .unwrap();
    admin
        .delete_records(&deleted, &AdminOptions::new())
        .await
        .expect("delete the partition's first two records");
    Row::save_all(&mut app.db(), &[position_of(&group, &topic, partition, 1)]).unwrap();

    let shown = lines(&app, &["positions", "show"], 0).await;
    let line = shown
        .iter()
        .find(|l| l["partition"] == partition)
        .expect("a line per partition");
    assert_eq!(line["database"], 1, "{line}");
    assert_eq!(line["log_start"], 2, "{line}");
    assert_eq!(line["below_log_start"], true, "{line}");

    app.start().await;
    // The two deleted commands are gone; every other one is applied.
    app.events(sent - 2).await;
    // Counted as librdkafka reports the reset (its log line may trail).
    let resets = "order_service_consumer_offset_resets_total";
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let metrics = app.metrics().await;
        let counted = metrics
            .lines()
            .find(|l| l.starts_with(resets))
            .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok());
        if counted.is_some_and(|n| n >= 1) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let refused = run(&app, &["positions", "reset", "--to-earliest"]).await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("member"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    app.stop().await;

    // The group empties as the instance leaves; then the reset goes through.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let reset = loop {
        let output = run(
            &app,
            &[
                "positions",
                "reset",
                "--to-offset",
                "2",
                "--partition",
                &partition.to_string(),
            ],
        )
        .await;
        if output.status.success() || std::time::Instant::now() > deadline {
            break output;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(
        reset.status.success(),
        "{}",
        String::from_utf8_lossy(&reset.stderr)
    );
    let shown = lines(&app, &["positions", "show"], 0).await;
    let line = shown.iter().find(|l| l["partition"] == partition).unwrap();
    assert_eq!(
        (line["database"].clone(), line["kafka"].clone()),
        (2.into(), 2.into()),
        "{line}"
    );
    assert_eq!(line["below_log_start"], false, "{line}");
}

fn position_of(group: &str, topic: &str, partition: i32, next_offset: i64) -> ConsumerOffset {
    ConsumerOffset {
        group_id: group.into(),
        topic: topic.into(),
        partition,
        next_offset,
        updated_at: Utc::now(),
    }
}
