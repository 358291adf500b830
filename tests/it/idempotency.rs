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
