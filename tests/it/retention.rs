//! Retention: published outbox rows and processed_commands rows older than
//! RETENTION_SECS are purged in the background, in small batches; younger
//! ones stay, and unpublished rows (above the relay's watermark) are never
//! candidates, however old.

use std::time::Duration;

use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use diesel::dsl::sql;
use diesel::sql_types::BigInt;

use crate::helpers::{create_order, new_id, processed_count, spawn_app_with};

fn outbox_count(conn: &mut diesel::PgConnection, filter: &str) -> i64 {
    diesel::select(sql::<BigInt>(&format!(
        "(SELECT count(*) FROM outbox WHERE {filter})"
    )))
    .get_result(conn)
    .expect("count outbox rows")
}

#[tokio::test]
async fn expired_rows_are_purged_in_the_background() {
    let mut app = spawn_app_with(|s| {
        s.housekeeping.retention_secs = 1;
        s.housekeeping.housekeeping_interval_ms = 100;
        s.housekeeping.purge_batch_size = 2; // several statements per purge
    })
    .await;
    for _ in 0..5 {
        app.send(&create_order(&new_id(), "u-retention")).await;
    }
    app.events(5).await;
    let mut db = app.db();
    // A row written long ago that cannot be published (larger than any
    // record the producer takes): it holds the watermark, so it stays.
    // As the service writes outbox rows: the transaction takes its id first.
    db.batch_execute(
        "BEGIN; SELECT pg_current_xact_id(); \
         INSERT INTO outbox (event_id, order_id, event_type, payload, created_at) \
         VALUES (gen_random_uuid(), gen_random_uuid(), 'test', \
                 decode(repeat('00', 2000000), 'hex'), now() - interval '1 hour'); \
         COMMIT",
    )
    .expect("insert an old row that cannot be published");
    // Events written after it are still published.
    for _ in 0..5 {
        app.send(&create_order(&new_id(), "u-retention")).await;
    }
    app.events(10).await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let below = "id < (SELECT id FROM outbox WHERE event_type = 'test')";
    while outbox_count(&mut db, below) > 0 || processed_count(&mut db) > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "expired rows still there after 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The watermark never passes a row that is not published: the rows
    // after it were published but stay until it goes (a restart would
    // publish them again, as repeats).
    assert_eq!(
        outbox_count(&mut db, "true"),
        6,
        "the unpublished row and those after it are kept, however old"
    );
    assert_eq!(crate::helpers::unpublished_count(&mut db), 6);

    let lines = [
        r#"order_service_retention_purged_rows_total{table="outbox"} 5"#,
        r#"order_service_retention_purged_rows_total{table="processed_commands"} 10"#,
    ];
    let metrics = app.metrics_with(&lines).await;
    for line in lines {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
}
