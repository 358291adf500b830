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
    let app = spawn_app_with(|s| s.create_topics = false).await;
    let kafka = &app.settings.kafka;
    let missing = longest_retention(&kafka.connection, &kafka.commands_topic).await;
    assert!(
        missing.is_err(),
        "the command topic does not exist: {missing:?}"
    );
}
