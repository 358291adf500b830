//! Commands as the tests send them (through `order_service::commands`),
//! and what the database holds of them.

use diesel::{PgConnection, RunQueryDsl};
use order_service::proto::{self, OrderCommand, OrderEvent, order_command::Command};
use uuid::Uuid;

/// Rows of `processed_commands`: commands applied or rejected.
pub fn processed_count(conn: &mut PgConnection) -> i64 {
    use diesel::QueryDsl;
    use order_service::db::schema::processed_commands;
    processed_commands::table
        .count()
        .get_result(conn)
        .expect("count processed commands")
}

/// Outbox rows the relay has not published yet (above its watermark).
pub fn unpublished_count(conn: &mut PgConnection) -> i64 {
    order_service::db::models::OutboxMessage::backlog(conn)
        .expect("count unpublished outbox rows")
        .0
}

pub fn new_id() -> String {
    Uuid::new_v4().to_string()
}

pub fn command(order_id: &str, command: Command) -> OrderCommand {
    order_service::commands::new(order_id, command)
}

pub fn create_order(order_id: &str, user_id: &str) -> OrderCommand {
    command(
        order_id,
        Command::CreateOrder(proto::CreateOrder {
            user_id: user_id.into(),
            shipping_address: "1 Main St, Springfield".into(),
            currency: "EUR".into(),
        }),
    )
}

pub fn add_item(
    order_id: &str,
    product_id: &str,
    quantity: i32,
    price_per_unit: i64,
) -> OrderCommand {
    command(
        order_id,
        Command::AddOrderItem(proto::AddOrderItem {
            product_id: product_id.into(),
            quantity,
            price_per_unit,
        }),
    )
}

pub fn process_payment(order_id: &str, amount: i64, transaction_id: &str) -> OrderCommand {
    command(
        order_id,
        Command::ProcessPayment(proto::ProcessPayment {
            amount,
            payment_method: "card".into(),
            transaction_id: transaction_id.into(),
        }),
    )
}

pub fn update_payment(
    order_id: &str,
    transaction_id: &str,
    status: proto::PaymentStatus,
) -> OrderCommand {
    command(
        order_id,
        Command::UpdatePaymentStatus(proto::UpdatePaymentStatus {
            transaction_id: transaction_id.into(),
            status: status.into(),
        }),
    )
}

pub fn update_status(order_id: &str, status: proto::OrderStatus, reason: &str) -> OrderCommand {
    command(
        order_id,
        Command::UpdateOrderStatus(proto::UpdateOrderStatus {
            status: status.into(),
            reason: reason.into(),
        }),
    )
}

/// The rejection code of a `CommandRejected` event, or `None`.
pub fn rejection(event: &OrderEvent) -> Option<proto::RejectionCode> {
    match &event.event {
        Some(proto::order_event::Event::CommandRejected(r)) => Some(r.code()),
        _ => None,
    }
}
