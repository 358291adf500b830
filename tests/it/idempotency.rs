//! A command delivered again changes nothing and emits nothing new, whether
//! the copy lands in the same batch or a later one.

use diesel::prelude::*;
use order_service::db::models::{Order, OrderItem};
use order_service::db::schema::outbox;
use order_service::proto::OrderStatus;
use uuid::Uuid;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_command_has_one_effect_and_one_event() {
    let mut app = spawn_app().await;
    let order_id = new_id();
    let create = create_order(&order_id, "user-1");
    let item = add_item(&order_id, "sku-1", 2, 700);

    // Copies in the same batch.
    app.send_all(&[create.clone(), create.clone(), item.clone(), item.clone()])
        .await;
    app.events(2).await;

    // Copies in later batches, after the originals were committed; then a
    // marker on the same order (same partition): every event the copies
    // could have caused would be read before the marker's.
    app.send_all(&[create.clone(), item.clone()]).await;
    let marker = update_status(&order_id, OrderStatus::Cancelled, "marker");
    app.send(&marker).await;
    app.events(3).await;

    let events = app.events_of(&order_id);
    let seen: Vec<(&str, u64)> = events
        .iter()
        .map(|e| (e.command_id.as_str(), e.sequence))
        .collect();
    assert_eq!(
        seen,
        [
            (create.command_id.as_str(), 1),
            (item.command_id.as_str(), 2),
            (marker.command_id.as_str(), 3)
        ]
    );
    assert!(events.iter().all(|e| rejection(e).is_none()));

    let mut conn = app.db();
    let id = Uuid::parse_str(&order_id).unwrap();
    let order = Order::find(&mut conn, id).unwrap().expect("order");
    assert_eq!((order.total_amount, order.version), (1_400, 3));
    assert_eq!(OrderItem::for_order(&mut conn, id).unwrap().len(), 1);
    let processed = processed_count(&mut conn);
    assert_eq!(processed, 3);
    let outbox_rows: i64 = outbox::table.count().get_result(&mut conn).unwrap();
    assert_eq!(outbox_rows, 3);
    app.stop().await;
}

/// A command_id used again for another order, or for another body, is
/// answered `COMMAND_ID_CONFLICT` for the order it names and changes
/// nothing; the same command delivered again still changes and emits
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_command_id_is_answered_as_a_conflict_and_a_redelivery_is_silent() {
    use order_service::proto::RejectionCode;

    let mut app = spawn_app().await;
    let (a, b, c, d) = (new_id(), new_id(), new_id(), new_id());
    let create_a = create_order(&a, "user-a");
    let reused = create_a.command_id.clone();
    app.send(&create_a).await;
    app.send(&create_order(&b, "user-b")).await;
    app.events(2).await;

    // Another order, and the same order with another body, under one id.
    let mut on_b = add_item(&b, "sku-1", 1, 100);
    on_b.command_id = reused.clone();
    let mut other_body = add_item(&a, "sku-1", 1, 100);
    other_body.command_id = reused.clone();
    // In one batch: two commands sharing a fresh id.
    let create_c = create_order(&c, "user-c");
    let mut create_d = create_order(&d, "user-d");
    create_d.command_id = create_c.command_id.clone();
    // The first create again, as a redelivery; then a sentinel behind it on
    // the same partition.
    let sentinel = add_item(&a, "sku-9", 2, 50);
    app.send_all(&[on_b.clone(), other_body.clone(), create_c, create_d])
        .await;
    app.send(&create_a).await;
    app.send(&sentinel).await;
    let events = app.events(2 + 5).await.to_vec();

    let conflicts: Vec<_> = events
        .iter()
        .filter(|e| rejection(e) == Some(RejectionCode::CommandIdConflict))
        .collect();
    let conflict_orders: std::collections::HashSet<&str> =
        conflicts.iter().map(|e| e.order_id.as_str()).collect();
    assert_eq!(conflicts.len(), 3, "{events:?}");
    // c and d may be on different partitions, applied by parallel lanes:
    // Kafka orders nothing across partitions, so either may come first and
    // stand; the other is the conflict.
    let (kept, refused) = if conflict_orders.contains(d.as_str()) {
        (&c, &d)
    } else {
        (&d, &c)
    };
    assert_eq!(
        conflict_orders,
        [b.as_str(), a.as_str(), refused.as_str()]
            .into_iter()
            .collect(),
        "each conflict is answered for the order it names"
    );
    assert!(conflicts.iter().all(|e| e.sequence == 0));
    let of_a: Vec<_> = events.iter().filter(|e| e.order_id == a).collect();
    // Created, the conflict, the sentinel: the redelivery emitted nothing.
    assert_eq!(of_a.len(), 3, "{of_a:?}");
    assert_eq!(of_a.last().unwrap().command_id, sentinel.command_id);
    assert_eq!(
        of_a.last().unwrap().sequence,
        2,
        "only the sentinel changed A"
    );

    let mut conn = app.db();
    let b_id = uuid::Uuid::parse_str(&b).unwrap();
    let order_b = order_service::db::models::Order::find(&mut conn, b_id)
        .unwrap()
        .expect("order b");
    assert_eq!(
        (order_b.total_amount, order_b.version),
        (0, 1),
        "b unchanged"
    );
    let refused_id = uuid::Uuid::parse_str(refused).unwrap();
    assert!(
        order_service::db::models::Order::find(&mut conn, refused_id)
            .unwrap()
            .is_none(),
        "the refused create made no order"
    );
    let kept_id = uuid::Uuid::parse_str(kept).unwrap();
    assert!(
        order_service::db::models::Order::find(&mut conn, kept_id)
            .unwrap()
            .is_some(),
        "the other create stands"
    );
    app.stop().await;
}

/// A command whose id another command took is answered once, under an
/// event id derived from it: delivered again, in the same batch or later,
/// it adds no second answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflicting_command_delivered_again_is_answered_once() {
    use order_service::proto::RejectionCode;

    let mut app = spawn_app().await;
    let (a, b) = (new_id(), new_id());
    let create_a = create_order(&a, "user-a");
    app.send(&create_a).await;
    app.send(&create_order(&b, "user-b")).await;
    app.events(2).await;

    let mut on_b = add_item(&b, "sku-1", 1, 100);
    on_b.command_id = create_a.command_id.clone();
    app.send_all(&[on_b.clone(), on_b.clone()]).await;
    app.events(3).await;
    app.send(&on_b).await;
    // Behind the replays on b's partition: once it is read, any second
    // answer would have been read before it.
    let sentinel = add_item(&b, "sku-2", 1, 100);
    app.send(&sentinel).await;
    let events = app
        .events_until(std::time::Duration::from_secs(30), |read| {
            read.iter().any(|e| e.command_id == sentinel.command_id)
        })
        .await
        .expect("the sentinel is read")
        .to_vec();
    let answers: Vec<_> = events
        .iter()
        .filter(|e| rejection(e) == Some(RejectionCode::CommandIdConflict))
        .collect();
    assert_eq!(answers.len(), 1, "answered once: {answers:?}");
    assert_eq!(answers[0].order_id, b);
    assert!(events.iter().any(|e| e.command_id == sentinel.command_id));
    app.stop().await;
}
