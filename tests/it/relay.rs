//! The relay's cursor against writers it does not control: a row whose
//! transaction commits after later rows were published is still published
//! (not skipped), and the watermark waits for it; an id whose transaction
//! rolled back holds nothing up for long.

use std::time::Duration;

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use order_service::db::models::{NewOutboxMessage, OutboxMessage};
use order_service::domain::{AddOrderItem, Command, Rejection, RejectionCode};
use order_service::events;
use uuid::Uuid;

use crate::helpers::{ApplyStage, add_item, create_order, new_id, spawn_app_with};

/// Opens a transaction on `conn` that has its transaction id, as a batch's
/// has once it locked or wrote something.
fn begin(conn: &mut PgConnection) {
    conn.batch_execute("BEGIN").expect("begin");
    OutboxMessage::take_transaction_id(conn).expect("a transaction id");
}

/// Opens a transaction on `conn` and writes one outbox row in it, as
/// another instance's batch would; returns the row's id and event id.
fn write_in_open_transaction(conn: &mut PgConnection) -> (i64, String) {
    begin(conn);
    write_event(conn)
}

/// Writes one outbox row (a `CommandRejected`) in the open transaction.
fn write_event(conn: &mut PgConnection) -> (i64, String) {
    let command = Command {
        command_id: Uuid::new_v4(),
        order_id: Uuid::new_v4(),
        correlation_id: String::new(),
        issued_at: None,
        traceparent: None,
        fingerprint: 0,
        body: AddOrderItem {
            product_id: "sku".to_owned(),
            quantity: 1,
            price_per_unit: 1,
        }
        .into(),
    };
    let rejection = Rejection::new(RejectionCode::OrderNotFound, "written by another writer");
    let row = events::rejected(&command, &rejection, Utc::now());
    let event_id = row.event_id.to_string();
    let ids = NewOutboxMessage::insert_all(conn, &[row]).expect("insert an outbox row");
    (ids[0], event_id)
}

fn watermark(conn: &mut PgConnection) -> i64 {
    OutboxMessage::published_through(conn).expect("read the watermark")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_that_commits_late_is_published_and_a_rolled_back_one_holds_nothing_up() {
    let mut app = spawn_app_with(|_| {}).await;
    app.send(&create_order(&new_id(), "u-relay")).await;
    app.events(1).await;

    let mut late = app.db();
    let mut rolled_back = app.db();
    let (late_id, late_event) = write_in_open_transaction(&mut late);
    let (rolled_back_id, _) = write_in_open_transaction(&mut rolled_back);

    // Later rows commit and are published meanwhile.
    for _ in 0..5 {
        app.send(&create_order(&new_id(), "u-relay")).await;
    }
    app.events(6).await;
    let mut conn = app.db();
    // Let the relay poll a few times: it must not move past the open rows.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        watermark(&mut conn) < late_id.min(rolled_back_id),
        "the watermark passed a row that may still commit"
    );

    late.batch_execute("COMMIT").expect("commit late");
    rolled_back.batch_execute("ROLLBACK").expect("roll back");
    let received = app
        .events_until(Duration::from_secs(60), |received| {
            received.iter().any(|e| e.event_id == late_event)
        })
        .await
        .unwrap_or_else(|received| {
            panic!(
                "the late row was never published ({} events read)",
                received.len()
            )
        });
    assert_eq!(
        received.iter().filter(|e| e.event_id == late_event).count(),
        1
    );

    // With the late row published and the rolled-back id given up, the
    // watermark reaches the last row.
    let last: i64 = {
        use order_service::db::schema::outbox;
        outbox::table
            .select(diesel::dsl::max(outbox::id))
            .get_result::<Option<i64>>(&mut conn)
            .expect("last id")
            .expect("rows")
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while watermark(&mut conn) < last {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the watermark stays at {} below the last row {last}",
            watermark(&mut conn)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Transaction ids u < v < t: t draws its row's id first, u draws a later
/// one and commits, so the relay sees u's row and misses t's. Then v ends.
/// The newest transaction that had ended when the relay first missed the
/// row was u; t, younger than everything that had ended then, is not among
/// the running ones a snapshot lists until a younger one ends. A gap given
/// up once the running ones it lists have ended (the snapshot's `xmax` as
/// its mark) is lost here, with t still to commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_outlives_every_transaction_that_had_an_id_when_it_was_missed() {
    let mut app = spawn_app_with(|_| {}).await;
    app.send(&create_order(&new_id(), "u-relay")).await;
    app.events(1).await;

    let (mut u, mut v, mut t) = (app.db(), app.db(), app.db());
    begin(&mut u);
    begin(&mut v);
    begin(&mut t);
    let (late_id, late_event) = write_event(&mut t);
    let (early_id, early_event) = write_event(&mut u);
    assert!(early_id > late_id);
    u.batch_execute("COMMIT").expect("commit u");
    app.events_until(Duration::from_secs(60), |received| {
        received.iter().any(|e| e.event_id == early_event)
    })
    .await
    .expect("u's row published");
    v.batch_execute("COMMIT").expect("commit v");
    // Rounds run meanwhile (one each RELAY_POLL_MS).
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let mut conn = app.db();
    assert!(
        watermark(&mut conn) < late_id,
        "the watermark passed t's row"
    );

    t.batch_execute("COMMIT").expect("commit t");
    app.events_until(Duration::from_secs(60), |received| {
        received.iter().any(|e| e.event_id == late_event)
    })
    .await
    .unwrap_or_else(|received| {
        panic!(
            "t's row was never published ({} events read)",
            received.len()
        )
    });
}

/// The rule the cursor rests on holds in the one statement a batch writes:
/// its transaction has its transaction id before its outbox rows draw
/// theirs, also when nothing else it did took one (a batch of rejections
/// locks no order) and whichever part of the statement runs first. A
/// trigger checks it at each outbox row.
#[tokio::test]
async fn outbox_rows_are_written_by_a_transaction_that_has_its_id() {
    let stage = ApplyStage::new();
    stage.execute(
        "CREATE FUNCTION xid_first() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN \
           IF pg_current_xact_id_if_assigned() IS NULL THEN \
             RAISE EXCEPTION 'outbox row % drawn before the transaction had an id', NEW.id; \
           END IF; \
           RETURN NEW; \
         END $$",
    );
    stage.execute(
        "CREATE TRIGGER xid_first BEFORE INSERT ON outbox \
         FOR EACH ROW EXECUTE FUNCTION xid_first()",
    );
    // Rejections only: no order to lock, a processed row and an event each.
    let missing = [new_id(), new_id()];
    let commands: Vec<_> = missing
        .iter()
        .map(|order| add_item(order, "sku", 1, 100))
        .collect();
    let outcome = stage.apply(&commands).await;
    assert_eq!(outcome.rejected, 2);
    assert_eq!(stage.events().len(), 2);

    // The outbox alone, first thing in a transaction.
    let mut conn = stage.db();
    conn.batch_execute("BEGIN").expect("begin");
    write_event(&mut conn);
    conn.batch_execute("COMMIT").expect("commit");
    assert_eq!(stage.events().len(), 3);
}
