//! Each command's happy path: the rows it writes and the event it emits,
//! field by field.

use diesel::prelude::*;
use order_service::db::models::{Order, OrderItem, Payment, StatusChange};
use order_service::db::schema::processed_commands;
use order_service::proto::{OrderStatus, PaymentStatus, order_event::Event};
use uuid::Uuid;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_order_lifecycle_writes_rows_and_events() {
    let mut app = spawn_app().await;
    let order_id = new_id();
    let tx = format!("tx-{}", new_id());
    let mut create = create_order(&order_id, "user-1");
    create.correlation_id = "checkout-42".into();
    let commands = vec![
        create,
        add_item(&order_id, "sku-1", 2, 1_250),
        add_item(&order_id, "sku-2", 1, 500),
        process_payment(&order_id, 3_000, &tx),
        update_payment(&order_id, &tx, PaymentStatus::Completed),
        update_status(&order_id, OrderStatus::Confirmed, "paid"),
        update_status(&order_id, OrderStatus::Shipped, ""),
        update_status(&order_id, OrderStatus::Delivered, "signed for"),
    ];
    app.send_all(&commands).await;
    let events = app.events(commands.len()).await.to_vec();

    // Events: one per command, in order, sequence 1..8, ids copied.
    for (i, (event, command)) in events.iter().zip(&commands).enumerate() {
        assert_eq!(event.sequence, i as u64 + 1);
        assert_eq!(event.order_id, order_id);
        assert_eq!(event.command_id, command.command_id);
        assert_eq!(event.correlation_id, command.correlation_id);
        assert!(Uuid::parse_str(&event.event_id).is_ok());
        assert!(event.occurred_at.is_some());
    }
    let Some(Event::OrderCreated(created)) = &events[0].event else {
        panic!("expected OrderCreated, got {:?}", events[0].event);
    };
    let snapshot = created.order.as_ref().expect("order snapshot");
    assert_eq!(snapshot.id, order_id);
    assert_eq!(snapshot.user_id, "user-1");
    assert_eq!(snapshot.status(), OrderStatus::Pending);
    assert_eq!(snapshot.payment_status(), PaymentStatus::Pending);
    assert_eq!(snapshot.total_amount, 0);
    assert_eq!(snapshot.currency, "EUR");
    assert_eq!(snapshot.shipping_address, "1 Main St, Springfield");
    assert!(snapshot.order_date.is_some());

    let Some(Event::OrderItemAdded(added)) = &events[1].event else {
        panic!("expected OrderItemAdded, got {:?}", events[1].event);
    };
    let item = added.item.as_ref().expect("item");
    assert_eq!(
        (
            item.product_id.as_str(),
            item.quantity,
            item.price_per_unit,
            item.total_price
        ),
        ("sku-1", 2, 1_250, 2_500)
    );
    assert_eq!(item.order_id, order_id);
    assert_eq!(added.order_total_amount, 2_500);
    let Some(Event::OrderItemAdded(added)) = &events[2].event else {
        panic!("expected OrderItemAdded");
    };
    assert_eq!(added.order_total_amount, 3_000);

    let Some(Event::PaymentProcessed(paid)) = &events[3].event else {
        panic!("expected PaymentProcessed, got {:?}", events[3].event);
    };
    let payment = paid.payment.as_ref().expect("payment");
    assert_eq!(payment.amount, 3_000);
    assert_eq!(payment.payment_method, "card");
    assert_eq!(payment.status(), PaymentStatus::Pending);
    assert_eq!(payment.transaction_id, tx);
    assert_eq!(payment.order_id, order_id);

    let Some(Event::PaymentStatusChanged(changed)) = &events[4].event else {
        panic!("expected PaymentStatusChanged, got {:?}", events[4].event);
    };
    assert_eq!(changed.transaction_id, tx);
    assert_eq!(
        (changed.from(), changed.to()),
        (PaymentStatus::Pending, PaymentStatus::Completed)
    );

    let expected_status_changes = [
        (OrderStatus::Pending, OrderStatus::Confirmed, "paid"),
        (OrderStatus::Confirmed, OrderStatus::Shipped, ""),
        (OrderStatus::Shipped, OrderStatus::Delivered, "signed for"),
    ];
    for (event, (from, to, reason)) in events[5..].iter().zip(expected_status_changes) {
        let Some(Event::OrderStatusChanged(changed)) = &event.event else {
            panic!("expected OrderStatusChanged, got {:?}", event.event);
        };
        assert_eq!(
            (changed.from(), changed.to(), changed.reason.as_str()),
            (from, to, reason)
        );
    }

    // Rows.
    let mut conn = app.db();
    let id = Uuid::parse_str(&order_id).unwrap();
    let order = Order::find(&mut conn, id).unwrap().expect("order row");
    assert_eq!(order.user_id, "user-1");
    assert_eq!(order.status, "delivered");
    assert_eq!(order.payment_status, "completed");
    assert_eq!(order.total_amount, 3_000);
    assert_eq!(order.currency, "EUR");
    assert_eq!(order.shipping_address, "1 Main St, Springfield");
    assert_eq!(order.version, 8);
    assert!(order.updated_at >= order.order_date);

    let mut items = OrderItem::for_order(&mut conn, id).unwrap();
    items.sort_by(|a, b| a.product_id.cmp(&b.product_id));
    let items: Vec<_> = items
        .iter()
        .map(|i| {
            (
                i.product_id.as_str(),
                i.quantity,
                i.price_per_unit,
                i.total_price,
            )
        })
        .collect();
    assert_eq!(items, [("sku-1", 2, 1_250, 2_500), ("sku-2", 1, 500, 500)]);

    let payments = Payment::for_orders(&mut conn, &[id]).unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].amount, 3_000);
    assert_eq!(payments[0].status, "completed");
    assert_eq!(payments[0].transaction_id, tx);
    assert_eq!(payments[0].payment_method, "card");
    assert_eq!(
        payments[0].id.to_string(),
        payment.id,
        "event carries the row id"
    );

    let history = StatusChange::for_order(&mut conn, id).unwrap();
    let history: Vec<_> = history
        .iter()
        .map(|h| {
            (
                h.from_status.as_deref(),
                h.status.as_str(),
                h.reason.as_deref(),
                h.command_id.to_string(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            (None, "pending", None, commands[0].command_id.clone()),
            (
                Some("pending"),
                "confirmed",
                Some("paid"),
                commands[5].command_id.clone()
            ),
            (
                Some("confirmed"),
                "shipped",
                None,
                commands[6].command_id.clone()
            ),
            (
                Some("shipped"),
                "delivered",
                Some("signed for"),
                commands[7].command_id.clone()
            ),
        ]
    );

    let processed: i64 = processed_commands::table
        .filter(processed_commands::outcome.eq("applied"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(processed, 8);
    let unpublished = unpublished_count(&mut conn);
    assert_eq!(unpublished, 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_payment_can_be_retried_refunded_and_the_order_cancelled() {
    let mut app = spawn_app().await;
    let order_id = new_id();
    let (tx1, tx2) = (format!("tx-{}", new_id()), format!("tx-{}", new_id()));
    let commands = vec![
        create_order(&order_id, "user-2"),
        add_item(&order_id, "sku-1", 1, 999),
        process_payment(&order_id, 999, &tx1),
        update_payment(&order_id, &tx1, PaymentStatus::Failed),
        // After a failed payment the order is editable again.
        add_item(&order_id, "sku-2", 3, 1),
        process_payment(&order_id, 1_002, &tx2),
        update_payment(&order_id, &tx2, PaymentStatus::Completed),
        update_payment(&order_id, &tx2, PaymentStatus::Refunded),
        update_status(&order_id, OrderStatus::Cancelled, "customer asked"),
    ];
    app.send_all(&commands).await;
    let events = app.events(commands.len()).await.to_vec();
    let sequences: Vec<u64> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=9).collect::<Vec<_>>(), "{events:#?}");
    let Some(Event::PaymentStatusChanged(refund)) = &events[7].event else {
        panic!("expected PaymentStatusChanged");
    };
    assert_eq!(
        (refund.from(), refund.to()),
        (PaymentStatus::Completed, PaymentStatus::Refunded)
    );

    let mut conn = app.db();
    let id = Uuid::parse_str(&order_id).unwrap();
    let order = Order::find(&mut conn, id).unwrap().expect("order row");
    assert_eq!(
        (
            order.status.as_str(),
            order.payment_status.as_str(),
            order.total_amount,
            order.version
        ),
        ("cancelled", "refunded", 1_002, 9)
    );
    let payments = Payment::for_orders(&mut conn, &[id]).unwrap();
    let payments: Vec<_> = payments
        .iter()
        .map(|p| (p.transaction_id.as_str(), p.amount, p.status.as_str()))
        .collect();
    assert_eq!(
        payments,
        [
            (tx1.as_str(), 999, "failed"),
            (tx2.as_str(), 1_002, "refunded")
        ]
    );
    let history = StatusChange::for_order(&mut conn, id).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].from_status.as_deref(), Some("pending"));
    assert_eq!(history[1].status, "cancelled");
    assert_eq!(history[1].reason.as_deref(), Some("customer asked"));
    app.stop().await;
}
