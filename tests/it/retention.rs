//! Retention: published outbox rows and processed_commands rows older than
//! RETENTION_SECS are purged in the background, in small batches; younger
//! ones stay (unpublished rows are never candidates: the purge selects on
//! `published_at <`, which NULL never is).

use std::time::Duration;

use diesel::RunQueryDsl;
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
        s.retention_secs = 1;
        s.housekeeping_interval_ms = 100;
        s.purge_batch_size = 2; // several statements per purge
    })
    .await;
    for _ in 0..5 {
        app.send(&create_order(&new_id(), "u-retention")).await;
    }
    app.events(5).await;
    let mut db = app.db();
    // A row written long ago but published after the others (its
    // timestamp set ahead): retention counts from publication, so it stays.
    diesel::sql_query(
        "INSERT INTO outbox (event_id, order_id, event_type, payload, headers, created_at, published_at) \
         VALUES (gen_random_uuid(), gen_random_uuid(), 'test', '\\x00', '{}', \
                 now() - interval '1 hour', now() + interval '1 hour')",
    )
    .execute(&mut db)
    .expect("insert a recently published row");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while outbox_count(&mut db, "event_type <> 'test'") > 0 || processed_count(&mut db) > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "expired rows still there after 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        outbox_count(&mut db, "event_type = 'test'"),
        1,
        "a row published after the cutoff is kept"
    );

    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for table in ["outbox", "processed_commands"] {
        let line = format!("order_service_retention_purged_rows_total{{table=\"{table}\"}} 5");
        assert!(metrics.contains(&line), "{line} in\n{metrics}");
    }
}
