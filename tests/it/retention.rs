//! Retention: the outbox's partitions are dropped whole once every id in
//! them is published and their last row is older than RETENTION_SECS;
//! processed_commands rows (and the rows of the outbox's default partition)
//! are purged in small batches; younger ones stay, and unpublished rows
//! (above the relay's watermark) are never candidates, however old.

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

fn count(conn: &mut diesel::PgConnection, query: &str) -> i64 {
    diesel::select(sql::<BigInt>(&format!("({query})")))
        .get_result(conn)
        .expect(query)
}

/// The outbox's range partitions: (name, first id, one past the last).
fn partitions(conn: &mut diesel::PgConnection) -> Vec<(String, Option<i64>, i64)> {
    order_service::db::models::OutboxPartition::list(conn)
        .expect("list the outbox's partitions")
        .into_iter()
        .map(|p| (p.name, p.from, p.to))
        .collect()
}

#[tokio::test]
async fn expired_rows_are_purged_in_the_background() {
    let mut app = spawn_app_with(|s| {
        s.housekeeping.retention_secs = 1;
        s.housekeeping.housekeeping_interval_ms = 100;
        s.housekeeping.purge_batch_size = 2; // several statements per purge
        s.housekeeping.outbox_partition_ids = 4;
    })
    .await;
    let mut db = app.db();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while partitions(&mut db)
        .iter()
        .all(|(_, from, _)| from.is_none())
    {
        assert!(tokio::time::Instant::now() < deadline, "no partitions made");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 0..5 {
        app.send(&create_order(&new_id(), "u-retention")).await;
    }
    app.events(5).await;
    let made = partitions(&mut db);
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

    // Every partition wholly below the row that cannot be published goes,
    // and every default-partition row below it; its own partition stays
    // whole (rows published before it included), and so does every row
    // after it, published or not.
    let stuck = count(&mut db, "SELECT id FROM outbox WHERE event_type = 'test'");
    let floor = |db: &mut diesel::PgConnection| {
        partitions(db)
            .into_iter()
            .find(|(_, from, to)| from.is_none_or(|from| from <= stuck) && stuck < *to)
            .map_or(stuck, |(_, from, _)| from.unwrap_or(i64::MIN))
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let below = format!("id < {}", floor(&mut db));
        if outbox_count(&mut db, &below) == 0 && processed_count(&mut db) == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "expired rows still there after 60 s: {:?}",
            partitions(&mut db)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let kept = outbox_count(&mut db, "true");
    // The watermark never passes a row that is not published: the rows
    // after it were published but stay until it goes (a restart would
    // publish them again, as repeats).
    assert_eq!(
        outbox_count(&mut db, &format!("id >= {stuck}")),
        6,
        "the unpublished row and those after it are kept, however old"
    );
    assert_eq!(crate::helpers::unpublished_count(&mut db), 6);
    let left = partitions(&mut db);
    assert!(
        made.iter()
            .any(|p| p.1.is_some() && p.2 <= stuck && !left.contains(p)),
        "a partition below the stuck row was dropped whole: {made:?} then {left:?}"
    );

    let purged = format!(
        r#"order_service_retention_purged_rows_total{{table="outbox"}} {}"#,
        11 - kept
    );
    let lines = [
        purged.as_str(),
        r#"order_service_retention_purged_rows_total{table="processed_commands"} 10"#,
    ];
    let metrics = app.metrics_with(&lines).await;
    for line in lines {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
}

/// Each table purged row by row loses its rows written before the cut,
/// oldest first and `limit` per statement, and keeps the younger ones.
#[test]
fn the_row_by_row_purges_take_the_oldest_rows_before_the_cut() {
    use order_service::db::models::{CommandIdConflict, IdempotencyClaim, NewProcessedCommand};
    let admin = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let database = order_service::db::ScratchDatabase::migrated(&admin, "order_service_test")
        .expect("a scratch database");
    let mut conn =
        <diesel::PgConnection as diesel::Connection>::establish(database.url()).expect("connect");
    conn.batch_execute(
        "INSERT INTO processed_commands (command_id, order_id, outcome, processed_at) \
           SELECT gen_random_uuid(), gen_random_uuid(), 'applied', now() - g * interval '1 hour' \
           FROM generate_series(0, 3) g; \
         INSERT INTO idempotency_keys (principal, key, order_id, body_hash, claimed_at) \
           SELECT 'p', gen_random_uuid(), gen_random_uuid(), 1, now() - g * interval '1 hour' \
           FROM generate_series(0, 3) g; \
         INSERT INTO command_id_conflicts (event_id, answered_at) \
           SELECT gen_random_uuid(), now() - g * interval '1 hour' FROM generate_series(0, 3) g",
    )
    .expect("rows of four ages");
    let cut = chrono::Utc::now() - chrono::Duration::minutes(30);
    type Purge = fn(
        &mut diesel::PgConnection,
        chrono::DateTime<chrono::Utc>,
        i64,
    ) -> diesel::QueryResult<usize>;
    let purges: [(&str, Purge); 3] = [
        ("processed_commands", NewProcessedCommand::purge),
        ("idempotency_keys", IdempotencyClaim::purge),
        ("command_id_conflicts", CommandIdConflict::purge),
    ];
    for (table, purge) in purges {
        assert_eq!(
            purge(&mut conn, cut, 2).expect(table),
            2,
            "{table}: two per statement"
        );
        assert_eq!(
            purge(&mut conn, cut, 2).expect(table),
            1,
            "{table}: the third old row"
        );
        assert_eq!(
            purge(&mut conn, cut, 2).expect(table),
            0,
            "{table}: nothing old left"
        );
        assert_eq!(
            count(&mut conn, &format!("SELECT count(*) FROM {table}")),
            1,
            "{table}: the young row stays"
        );
    }
}
