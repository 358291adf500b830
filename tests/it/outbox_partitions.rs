//! The outbox partitioned by id range: the migration keeps every row (and
//! the conflict answers already given), the housekeeper makes partitions
//! ahead and leaves them alone while a long transaction holds the outbox
//! (the rows go to the default partition meanwhile, and are purged there),
//! and deduplication does not depend on the outbox: a redelivery inside
//! the retention is caught after the rows around it expired.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_migrations::MigrationHarness;
use order_service::db::models::OutboxPartition;
use order_service::proto::RejectionCode;

use crate::helpers::*;

fn count(conn: &mut PgConnection, query: &str) -> i64 {
    diesel::select(sql::<BigInt>(&format!("({query})")))
        .get_result(conn)
        .expect(query)
}

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Waits until the housekeeper has made partitions past the next id.
async fn partitions_made(db: &mut PgConnection) -> Vec<OutboxPartition> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let made = OutboxPartition::list(db).expect("list");
        if made.iter().any(|p| p.from.is_some()) {
            return made;
        }
        assert!(tokio::time::Instant::now() < deadline, "no partitions made");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The migration before the outbox was partitioned.
const BEFORE: &str = "20261207130000";

#[test]
fn partitioning_keeps_the_rows_and_the_answers_given_and_reverts() {
    let database = order_service::db::ScratchDatabase::empty(&admin_url(), "order_service_test")
        .expect("an empty scratch database");
    let mut conn = PgConnection::establish(database.url()).expect("connect");
    loop {
        let version = conn
            .run_next_migration(order_service::db::MIGRATIONS)
            .expect("migrate one step");
        if version.to_string() == BEFORE {
            break;
        }
    }
    // Three events, one of them an answer to a reused command id (a
    // rejection no processed command caused).
    conn.batch_execute(
        "INSERT INTO processed_commands (command_id, order_id, outcome, event_id) \
           VALUES (gen_random_uuid(), gen_random_uuid(), 'applied', \
                   '00000000-0000-4000-8000-000000000001'); \
         INSERT INTO outbox (event_id, order_id, event_type, payload) VALUES \
           ('00000000-0000-4000-8000-000000000001', gen_random_uuid(), 'OrderCreated', ''), \
           ('00000000-0000-4000-8000-000000000002', gen_random_uuid(), 'CommandRejected', ''), \
           ('00000000-0000-4000-8000-000000000003', gen_random_uuid(), 'ItemAdded', '')",
    )
    .expect("rows written before the partitioning");
    conn.run_pending_migrations(order_service::db::MIGRATIONS)
        .expect("migrate the rest");

    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM outbox_part_legacy"),
        3
    );
    let parts = OutboxPartition::list(&mut conn).expect("list");
    assert_eq!(parts.len(), 1, "{parts:?}");
    assert_eq!((parts[0].from, parts[0].to), (None, 4), "up to the next id");
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) FROM command_id_conflicts \
             WHERE event_id = '00000000-0000-4000-8000-000000000002'"
        ),
        1,
        "the conflict answer given is claimed, and only it"
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM command_id_conflicts"),
        1
    );
    // The next row goes where no range covers it yet: the default partition.
    conn.batch_execute(
        "INSERT INTO outbox (event_id, order_id, event_type, payload) \
         VALUES (gen_random_uuid(), gen_random_uuid(), 'OrderCreated', '')",
    )
    .expect("insert after");
    assert_eq!(
        count(&mut conn, "SELECT max(id) FROM outbox_part_default"),
        4
    );

    conn.revert_last_migration(order_service::db::MIGRATIONS)
        .expect("revert");
    assert_eq!(count(&mut conn, "SELECT count(*) FROM outbox"), 4);
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'outbox'::regclass"
        ),
        0
    );
    conn.batch_execute(
        "INSERT INTO outbox (event_id, order_id, event_type, payload) \
         VALUES (gen_random_uuid(), gen_random_uuid(), 'OrderCreated', '')",
    )
    .expect("the sequence still gives the ids");
    assert_eq!(count(&mut conn, "SELECT max(id) FROM outbox"), 5);
    let again = conn.batch_execute(
        "INSERT INTO outbox (event_id, order_id, event_type, payload) \
         VALUES ('00000000-0000-4000-8000-000000000003', gen_random_uuid(), 'X', '')",
    );
    assert!(again.is_err(), "event_id is unique again");
    drop(conn);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_transaction_on_the_outbox_holds_the_partitions_not_the_writers() {
    let mut app = spawn_app_with(|s| {
        s.housekeeping.retention_secs = 5;
        s.housekeeping.housekeeping_interval_ms = 100;
        s.housekeeping.outbox_partition_ids = 5;
    })
    .await;
    for _ in 0..2 {
        app.send(&create_order(&new_id(), "u-partitions")).await;
    }
    app.events(2).await;
    let mut db = app.db();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while count(
        &mut db,
        "SELECT count(*) FROM pg_inherits WHERE inhparent = 'outbox'::regclass",
    ) < 3
    {
        assert!(tokio::time::Instant::now() < deadline, "no partitions made");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A report left open on the outbox, by another role (whose sessions'
    // times the service's role cannot see): it holds a lock on every
    // partition.
    let mut report = app.admin_db();
    report
        .batch_execute("BEGIN; SELECT count(*) FROM outbox")
        .expect("a long transaction");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let made = OutboxPartition::list(&mut db).expect("list");
    // Watched from outside: no DDL queues for the outbox's lock behind the
    // report (where it would hold every writer up until it gave up).
    let watch = app.db();
    let queued = tokio::task::spawn_blocking(move || {
        let mut watch = watch;
        let mut seen = 0;
        for _ in 0..300 {
            seen += count(
                &mut watch,
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'relation' \
                 AND mode = 'AccessExclusiveLock' \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        seen
    });
    for _ in 0..25 {
        app.send(&create_order(&new_id(), "u-partitions")).await;
    }
    app.events(27).await;
    // Before the retention (5 s) purges them.
    let parked_max = count(
        &mut db,
        "SELECT coalesce(max(id), 0) FROM outbox_part_default",
    );
    assert!(
        parked_max > 0,
        "the rows past the partitions went to the default one"
    );
    assert_eq!(
        queued.await.expect("watch"),
        0,
        "DDL queued behind the report"
    );
    assert_eq!(
        OutboxPartition::list(&mut db).expect("list"),
        made,
        "no partition made or dropped while the transaction runs"
    );

    report.batch_execute("COMMIT").expect("the report ends");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while OutboxPartition::list(&mut db)
        .expect("list")
        .last()
        .is_none_or(|p| p.to <= parked_max)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no partition made after it"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The next partition starts a little past the next id (room for the
    // ids drawn while it is made: here one or two): most of these go to it.
    for _ in 0..5 {
        app.send(&create_order(&new_id(), "u-partitions")).await;
    }
    app.events(32).await;
    let above = count(
        &mut db,
        &format!(
            "SELECT count(*) FROM outbox WHERE id > {parked_max} \
             AND tableoid <> 'outbox_part_default'::regclass"
        ),
    );
    assert!(
        above >= 3,
        "the rows written after it went to the partitions made above it: {above} of 5"
    );
    // The default partition's rows are published and purged row by row.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while count(&mut db, "SELECT count(*) FROM outbox_part_default") > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "default rows never purged"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivery_inside_the_retention_is_caught_after_the_rows_around_it_expired() {
    let mut app = spawn_app_with(|s| {
        s.housekeeping.retention_secs = 2;
        s.housekeeping.housekeeping_interval_ms = 100;
        s.housekeeping.outbox_partition_ids = 4;
    })
    .await;
    let mut db = app.db();
    let made = partitions_made(&mut db).await;
    let early: Vec<_> = (0..8).map(|_| create_order(&new_id(), "u-early")).collect();
    app.send_all(&early).await;
    app.events(8).await;
    // Their partitions are dropped whole (the first two, four ids each),
    // their processed_commands rows purged.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while processed_count(&mut db) > 0 || count(&mut db, "SELECT count(*) FROM outbox") > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the early rows never expired"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let left = OutboxPartition::list(&mut db).expect("list");
    assert!(
        made.iter()
            .filter(|p| p.from.is_some())
            .all(|p| !left.contains(p)),
        "the partitions of the early rows were dropped: {made:?} then {left:?}"
    );

    let order = new_id();
    let late = create_order(&order, "u-late");
    // From here on nothing expires (a slow machine must not make the
    // late command's row expire before it is delivered again).
    app.stop().await;
    app.settings.housekeeping.retention_secs = 3600;
    app.start().await;
    app.send(&late).await;
    app.events(9).await;
    // Another instance's memory: only the database knows the command now.
    app.stop().await;
    app.start().await;
    app.send(&late).await;
    app.send(&early[0]).await;
    let sentinel = add_item(&order, "sku-1", 1, 100);
    app.send(&sentinel).await;
    let events = app
        .events_until(Duration::from_secs(60), |read| {
            read.iter().any(|e| e.command_id == sentinel.command_id)
                && read
                    .iter()
                    .filter(|e| e.command_id == early[0].command_id)
                    .count()
                    == 2
        })
        .await
        .expect("the sentinel and the early command's second answer are read")
        .to_vec();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.command_id == late.command_id)
            .count(),
        1,
        "the redelivery inside the retention is caught: {events:?}"
    );
    // Past the retention, a command is decided again, on the state it
    // left: the order exists, so it is rejected, not created twice.
    let answers: Vec<_> = events
        .iter()
        .filter(|e| e.command_id == early[0].command_id)
        .collect();
    assert_eq!(
        rejection(answers[1]),
        Some(RejectionCode::OrderAlreadyExists)
    );
    app.stop().await;
}
