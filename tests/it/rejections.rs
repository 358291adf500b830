//! Every `RejectionCode`, reached by a real command: a `CommandRejected`
//! event with sequence 0, a `rejected` row in processed_commands, and no
//! change to the order.

use diesel::prelude::*;
use order_service::db::models::{Order, OrderItem};
use order_service::db::schema::processed_commands;
use order_service::proto::{OrderStatus, PaymentStatus, RejectionCode, order_event::Event};
use uuid::Uuid;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rejection_code_is_reachable() {
    let mut app = spawn_app().await;
    let order_id = new_id();
    let unknown_order = new_id();
    let tx = format!("tx-{}", new_id());
    // (command, Some(expected rejection) or None when it applies)
    let script = vec![
        (
            add_item(&unknown_order, "sku-1", 1, 100),
            Some(RejectionCode::OrderNotFound),
        ),
        (create_order(&order_id, "user-1"), None),
        (
            create_order(&order_id, "user-1"),
            Some(RejectionCode::OrderAlreadyExists),
        ),
        (
            add_item(&order_id, "sku-1", 0, 100),
            Some(RejectionCode::ValidationFailed),
        ),
        (
            update_status(&order_id, OrderStatus::Shipped, ""),
            Some(RejectionCode::InvalidTransition),
        ),
        (add_item(&order_id, "sku-1", 1, 1_000), None),
        (
            process_payment(&order_id, 999, &tx),
            Some(RejectionCode::AmountMismatch),
        ),
        (
            update_payment(&order_id, "no-such-tx", PaymentStatus::Completed),
            Some(RejectionCode::PaymentNotFound),
        ),
        (process_payment(&order_id, 1_000, &tx), None),
        (
            add_item(&order_id, "sku-2", 1, 1),
            Some(RejectionCode::OrderNotEditable),
        ),
    ];
    let commands: Vec<_> = script.iter().map(|(c, _)| c.clone()).collect();
    app.send_all(&commands).await;
    app.events(commands.len()).await;

    let mut applied = 0;
    for (command, expected) in &script {
        let event = app
            .received
            .iter()
            .find(|e| e.command_id == command.command_id)
            .expect("an event per command");
        assert_eq!(event.order_id, command.order_id);
        match expected {
            Some(code) => {
                assert_eq!(rejection(event), Some(*code), "{command:?}");
                assert_eq!(event.sequence, 0);
                let Some(Event::CommandRejected(rejected)) = &event.event else {
                    unreachable!()
                };
                assert!(!rejected.message.is_empty());
            }
            None => {
                applied += 1;
                assert_eq!(rejection(event), None, "{event:?}");
                assert_eq!(event.sequence, applied);
            }
        }
    }

    let mut conn = app.db();
    let rows: Vec<(Uuid, String, Option<String>)> = processed_commands::table
        .select((
            processed_commands::command_id,
            processed_commands::outcome,
            processed_commands::rejection_code,
        ))
        .load(&mut conn)
        .unwrap();
    assert_eq!(rows.len(), script.len());
    for (command, expected) in &script {
        let row = rows
            .iter()
            .find(|(id, _, _)| id.to_string() == command.command_id)
            .expect("processed row");
        match expected {
            Some(code) => {
                assert_eq!(row.1, "rejected");
                let name = code.as_str_name().trim_start_matches("REJECTION_CODE_");
                assert_eq!(row.2.as_deref(), Some(name));
            }
            None => assert_eq!((row.1.as_str(), row.2.as_deref()), ("applied", None)),
        }
    }

    let id = Uuid::parse_str(&order_id).unwrap();
    let order = Order::find(&mut conn, id).unwrap().expect("order");
    assert_eq!(
        (order.total_amount, order.version, order.status.as_str()),
        (1_000, 3, "pending")
    );
    assert_eq!(OrderItem::for_order(&mut conn, id).unwrap().len(), 1);
    let unknown = Uuid::parse_str(&unknown_order).unwrap();
    assert!(Order::find(&mut conn, unknown).unwrap().is_none());
    app.stop().await;
}
