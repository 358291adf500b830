//! Topics as production wants them: the service creates them only when
//! told to, with the replication factor and configs of its settings, and
//! reads the command topic's retention to warn about the dedup window.

use std::time::Duration;

use order_service::config::KafkaConnection;
use order_service::kafka::{TopicSpec, ensure_topics, longest_retention};

use crate::helpers::*;

fn connection() -> KafkaConnection {
    KafkaConnection::plaintext(
        std::env::var("TEST_KAFKA_BOOTSTRAP_SERVERS")
            .expect("TEST_KAFKA_BOOTSTRAP_SERVERS is not set: run the tests with scripts/test"),
    )
}

#[tokio::test]
async fn topics_are_created_with_the_configured_settings_and_their_retention_is_read() {
    let connection = connection();
    let topic = format!("configured-{}", new_id());
    let configs = vec![
        ("retention.ms".to_owned(), "3600000".to_owned()),
        ("segment.ms".to_owned(), "600000".to_owned()),
        ("cleanup.policy".to_owned(), "delete".to_owned()),
        ("min.insync.replicas".to_owned(), "1".to_owned()),
    ];
    let spec = TopicSpec {
        partitions: 2,
        replication_factor: 1,
        configs: &configs,
    };
    ensure_topics(&connection, &[&topic], &spec).await.unwrap();
    // A second time changes nothing and is no error.
    ensure_topics(&connection, &[&topic], &spec).await.unwrap();
    assert_eq!(
        longest_retention(&connection, &topic).await.unwrap(),
        Some(Duration::from_secs(3600 + 600)),
        "retention.ms + segment.ms"
    );

    let unlimited = format!("unlimited-{}", new_id());
    let configs = vec![("retention.ms".to_owned(), "-1".to_owned())];
    let spec = TopicSpec {
        partitions: 1,
        replication_factor: -1,
        configs: &configs,
    };
    ensure_topics(&connection, &[&unlimited], &spec)
        .await
        .unwrap();
    assert_eq!(
        longest_retention(&connection, &unlimited).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_service_with_topic_creation_off_does_not_create_them() {
    let app = spawn_app_with(|s| s.topics.create_topics = false).await;
    let kafka = &app.settings.kafka;
    let missing = longest_retention(&kafka.connection, &kafka.commands_topic).await;
    assert!(
        missing.is_err(),
        "the command topic does not exist: {missing:?}"
    );
}

/// The command topic's partition count is part of the contract (keys map
/// to partitions by it): grown while the service runs, the change shows in
/// `/readyz` and the metrics against the count recorded in the database,
/// commands on the new partitions are applied, and the report lasts until
/// an operator accepts the new count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grown_command_topic_is_reported_until_an_operator_accepts_it() {
    use rdkafka::admin::{AdminClient, AdminOptions, NewPartitions};
    use rdkafka::client::DefaultClientContext;

    use crate::cli::lines;

    let mut app = spawn_app().await;
    let count = |body: &serde_json::Value| body["checks"]["consumer"]["partition_count"].clone();
    let within = Duration::from_secs(90);
    app.await_readiness(within, |_, body| {
        count(body)
            == serde_json::json!({ "now": PARTITIONS, "recorded": PARTITIONS, "changed": false })
    })
    .await;

    let grown = PARTITIONS + 2;
    let admin: AdminClient<DefaultClientContext> =
        test_client_config(&app.settings.kafka.connection)
            .create()
            .expect("admin client");
    let topic = app.settings.kafka.commands_topic.clone();
    let results = admin
        .create_partitions(
            &[NewPartitions::new(&topic, grown as usize)],
            &AdminOptions::new(),
        )
        .await
        .expect("grow the command topic");
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");

    // The consumer's metadata is refreshed every 30 s, its statistics
    // every 5 s, the housekeeper compares at its interval.
    let body = app
        .await_readiness(within, |status, body| {
            status == 200 && count(body)["changed"] == true
        })
        .await;
    assert_eq!(
        count(&body),
        serde_json::json!({ "now": grown, "recorded": PARTITIONS, "changed": true })
    );
    let expected = [
        format!("order_service_command_topic_partitions {grown}"),
        format!("order_service_command_topic_partitions_recorded {PARTITIONS}"),
    ];
    let metrics = app.metrics().await;
    for line in &expected {
        assert!(metrics.lines().any(|l| l == line), "{line} in {metrics}");
    }

    // The new partitions are read: orders until one lands on one.
    let mut tries = 0;
    let order = loop {
        let order = new_id();
        if app.send(&create_order(&order, "u-grown")).await >= PARTITIONS {
            break order;
        }
        tries += 1;
        assert!(
            tries < 200,
            "the test's producer never used a new partition"
        );
    };
    let applied = app
        .events_until(Duration::from_secs(60), |events| {
            events.iter().any(|e| e.order_id == order)
        })
        .await;
    assert!(applied.is_ok(), "the order on a new partition was applied");

    let accepted = lines(&app, &["positions", "accept-partitions"], 0).await;
    assert_eq!(
        accepted,
        vec![
            serde_json::json!({ "topic": topic, "recorded_before": PARTITIONS, "recorded": grown })
        ]
    );
    app.await_readiness(within, |_, body| {
        count(body) == serde_json::json!({ "now": grown, "recorded": grown, "changed": false })
    })
    .await;
}
