//! SIGTERM: the batch in hand is finished, the relay flushed, offsets
//! committed, and the process exits 0 within 10 seconds.

use std::time::Duration;

use order_service::db::models::ConsumerOffset;
use order_service::loadgen::Workload;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::process::{SHUTDOWN_BOUND, ServiceProcess};
use super::{audit, distinct, seeded_rng, wait_for_progress};
use crate::helpers::{processed_count, spawn_env_with, unpublished_count};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_batch_flushes_commits_and_exits_0() {
    let mut rng = seeded_rng("graceful");
    let workload = Workload::lifecycles(150, 6, &mut rng);
    let commands = workload.interleaved(&mut rng);
    let mut app = spawn_env_with(|s| s.intake.batch_size = 50).await;
    let settings = app.settings.clone();
    let mut conn = app.db();

    let service = ServiceProcess::start(&settings, "graceful-0");
    // SIGTERM while the commands still stream in.
    let send = app.send_paced(&commands, 25, Duration::from_millis(10));
    let stop = async {
        wait_for_progress(&settings.database.database_url).await;
        let started = std::time::Instant::now();
        let status = service.terminate(SHUTDOWN_BOUND).await;
        (status, started.elapsed())
    };
    let ((), (status, took)) = tokio::join!(send, stop);
    assert!(
        status.is_some_and(|s| s.success()),
        "exit 0 within {SHUTDOWN_BOUND:?}, got {status:?}"
    );
    println!("graceful: stopped in {took:?}");

    // The relay was flushed: every committed event is published.
    let unpublished = unpublished_count(&mut conn);
    assert_eq!(unpublished, 0, "outbox flushed");

    // Positions: exactly the processed commands lie before them, in the
    // database and in Kafka's committed offsets alike.
    let stored = ConsumerOffset::for_topic(
        &mut conn,
        &settings.group.group_id,
        &settings.kafka.commands_topic,
    )
    .unwrap();
    let processed = processed_count(&mut conn);
    let positions: i64 = stored.iter().map(|o| o.next_offset).sum();
    assert_eq!(processed, positions, "{stored:?}");
    assert!(
        (processed as usize) < commands.len(),
        "stopped mid-stream ({processed} of {})",
        commands.len()
    );
    let group: BaseConsumer = ClientConfig::new()
        .set(
            "bootstrap.servers",
            &settings.kafka.connection.bootstrap_servers,
        )
        .set("group.id", &settings.group.group_id)
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for partition in 0..settings.topics.topic_partitions {
        tpl.add_partition(&settings.kafka.commands_topic, partition);
    }
    let committed = group
        .committed_offsets(tpl, Duration::from_secs(30))
        .unwrap();
    for row in &stored {
        let kafka = committed
            .find_partition(&row.topic, row.partition)
            .map(|e| e.offset());
        assert_eq!(
            kafka,
            Some(Offset::Offset(row.next_offset)),
            "partition {}",
            row.partition
        );
    }

    // A restart picks up the rest.
    let service = ServiceProcess::start(&settings, "graceful-1");
    let expected = workload.command_count();
    let _ = app
        .events_until(Duration::from_secs(120), |r| distinct(r) >= expected)
        .await;
    let result = audit(&workload, &app.received, 1, &mut conn);
    println!("graceful: {result}");
    assert!(result.is_clean(), "{result}");
    let status = service.terminate(SHUTDOWN_BOUND).await;
    assert!(status.is_some_and(|s| s.success()));
}
