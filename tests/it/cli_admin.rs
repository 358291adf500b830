//! `order-service dlq list` and `dlq replay`, and `migrate`.

use crate::cli::{lines, order_service};
use crate::helpers::{new_id, spawn_app};

#[tokio::test]
async fn dead_letters_are_listed_and_replayed_once_fixed() {
    let mut app = spawn_app().await;
    let order_id = new_id();
    // A JSON command sent without its content-type header: dead-lettered.
    let json = format!(
        "{{\"commandId\":\"{}\",\"orderId\":\"{order_id}\",\"createOrder\":{{\"userId\":\"u-dlq\",\"shippingAddress\":\"x\",\"currency\":\"EUR\"}}}}",
        new_id()
    );
    app.send_raw(
        Some(order_id.as_bytes()),
        json.as_bytes(),
        &[("trace", "t-1")],
    )
    .await;
    app.dead_letters(1).await;

    let listed = lines(&app, &["dlq", "list"], 0).await;
    assert_eq!(listed.len(), 1);
    let letter = &listed[0];
    assert_eq!(letter["key"], order_id.as_str());
    assert_eq!(letter["payload"], json.as_str());
    assert_eq!(
        letter["original_topic"],
        app.settings.kafka.commands_topic.as_str()
    );
    assert_eq!(letter["headers"]["trace"], "t-1");
    assert!(
        letter["error"]
            .as_str()
            .expect("error")
            .contains("protobuf")
    );

    // The cause: the missing header. Replay with it set.
    let replayed = lines(
        &app,
        &["dlq", "replay", "--header", "content-type=application/json"],
        0,
    )
    .await;
    assert_eq!(replayed.len(), 1);
    let events = app.events(1).await;
    assert_eq!(events[0].order_id, order_id);
    assert!(matches!(
        events[0].event,
        Some(order_service::proto::order_event::Event::OrderCreated(_))
    ));

    // Remembered as replayed: nothing pending, but still in the topic.
    assert!(lines(&app, &["dlq", "list"], 0).await.is_empty());
    assert_eq!(lines(&app, &["dlq", "list", "--all"], 0).await.len(), 1);
    let again = lines(&app, &["dlq", "replay"], 0).await;
    assert!(again.is_empty(), "nothing replayed twice: {again:?}");

    // Two more, still broken: a dry run shows both; --only replays one, which
    // fails again (a new dead letter) and is remembered by nothing.
    for _ in 0..2 {
        app.send_raw(Some(b"k"), b"\xff\xff broken", &[]).await;
    }
    app.dead_letters(2).await;
    let pending = lines(&app, &["dlq", "replay", "--dry-run"], 0).await;
    assert_eq!(pending.len(), 2, "{pending:?}");
    let first = format!("{}:{}", pending[0]["partition"], pending[0]["offset"]);
    let one = lines(&app, &["dlq", "replay", "--only", &first], 0).await;
    assert_eq!(one.len(), 1);
    assert_eq!(
        format!("{}:{}", one[0]["dlq_partition"], one[0]["dlq_offset"]),
        first
    );
    app.dead_letters(1).await; // the replayed one, dead-lettered again
    let still = lines(&app, &["dlq", "list"], 0).await;
    assert_eq!(
        still.len(),
        3,
        "both still pending, plus the new letter: {still:?}"
    );
}

#[tokio::test]
async fn migrate_builds_the_schema_of_an_empty_database() {
    use diesel::{Connection, PgConnection, RunQueryDsl};
    let app = spawn_app().await;
    let admin_url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let empty = order_service::db::ScratchDatabase::empty(&admin_url, "order_service_test")
        .expect("an empty database");
    let url = empty.url().to_owned();

    let mut ran = Vec::new();
    for _ in 0..2 {
        let output = order_service(&app, &["migrate"])
            .env("DATABASE_URL", &url)
            .output()
            .await
            .expect("runs");
        ran.push(output.status.success());
    }
    let tables: i64 = {
        let mut conn = PgConnection::establish(&url).expect("connect");
        diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' \
              AND table_name IN ('orders', 'order_items', 'payments', 'order_status_history', \
                                 'processed_commands', 'outbox', 'consumer_offsets'))",
        ))
        .get_result(&mut conn)
        .expect("count tables")
    };
    drop(empty);
    assert_eq!(
        ran,
        [true, true],
        "migrate succeeds, and again with nothing to do"
    );
    assert_eq!(tables, 7);
}
