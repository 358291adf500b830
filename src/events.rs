//! Builds the `OrderEvent` for each processed command and the outbox row that
//! carries it (protobuf bytes, key = order_id), and the CloudEvents headers
//! the relay derives from that row when it publishes it.
//!
//! The event is encoded once, here, inside the command's transaction; the
//! relay publishes the stored bytes unchanged, so a re-published event is the
//! same event (same `event_id`, same `sequence`).

use chrono::{DateTime, SecondsFormat, Utc};
use prost::Message;
use uuid::Uuid;

use crate::db::models::{NewOutboxMessage, OutboxMessage};
use crate::domain::{Change, Command, OrderStatus, PaymentStatus, Rejection};
use crate::proto::{self, order_event::Event};
use crate::telemetry;

/// CloudEvents `ce_source` of every event this service emits.
pub const EVENT_SOURCE: &str = "order-service";

/// The event of an accepted command. `row_id` is the id given to the item or
/// payment the change created; `sequence` is the order's new version.
pub fn applied(
    command: &Command,
    change: &Change,
    row_id: Uuid,
    sequence: i64,
    at: DateTime<Utc>,
) -> NewOutboxMessage {
    let order_id = command.order_id.to_string();
    let event = match change {
        Change::Created {
            user_id,
            shipping_address,
            currency,
        } => Event::OrderCreated(proto::OrderCreated {
            order: Some(proto::Order {
                id: order_id.clone(),
                user_id: user_id.clone(),
                status: proto::OrderStatus::from(OrderStatus::Pending).into(),
                payment_status: proto::PaymentStatus::from(PaymentStatus::Pending).into(),
                total_amount: 0,
                currency: currency.clone(),
                shipping_address: shipping_address.clone(),
                order_date: Some(proto::timestamp(at)),
            }),
        }),
        Change::ItemAdded {
            product_id,
            quantity,
            price_per_unit,
            total_price,
            new_total,
        } => Event::OrderItemAdded(proto::OrderItemAdded {
            item: Some(proto::OrderItem {
                id: row_id.to_string(),
                order_id: order_id.clone(),
                product_id: product_id.clone(),
                quantity: *quantity,
                price_per_unit: *price_per_unit,
                total_price: *total_price,
            }),
            order_total_amount: *new_total,
        }),
        Change::PaymentProcessed {
            amount,
            payment_method,
            transaction_id,
        } => Event::PaymentProcessed(proto::PaymentProcessed {
            payment: Some(proto::Payment {
                id: row_id.to_string(),
                order_id: order_id.clone(),
                amount: *amount,
                payment_method: payment_method.clone(),
                status: proto::PaymentStatus::from(PaymentStatus::Pending).into(),
                transaction_id: transaction_id.clone(),
                created_at: Some(proto::timestamp(at)),
            }),
        }),
        Change::PaymentStatusChanged {
            transaction_id,
            from,
            to,
        } => Event::PaymentStatusChanged(proto::PaymentStatusChanged {
            transaction_id: transaction_id.clone(),
            from: proto::PaymentStatus::from(*from).into(),
            to: proto::PaymentStatus::from(*to).into(),
        }),
        Change::OrderStatusChanged { from, to, reason } => {
            Event::OrderStatusChanged(proto::OrderStatusChanged {
                from: proto::OrderStatus::from(*from).into(),
                to: proto::OrderStatus::from(*to).into(),
                reason: reason.clone(),
            })
        }
    };
    outbox_message(command, sequence, at, event, None)
}

/// The `CommandRejected` event of a command that broke a rule (sequence 0:
/// the order did not change).
pub fn rejected(command: &Command, rejection: &Rejection, at: DateTime<Utc>) -> NewOutboxMessage {
    let event = Event::CommandRejected(proto::CommandRejected {
        code: proto::RejectionCode::from(rejection.code).into(),
        message: rejection.message.clone(),
    });
    outbox_message(command, 0, at, event, None)
}

/// Namespace of the event ids derived from commands (UUID v5).
const DERIVED_IDS: Uuid = Uuid::from_u128(0x6f72_6465_7273_4000_8000_6576_656e_7473);

/// The `CommandRejected` answering a command whose `command_id` was used
/// before for another command. Every delivery of it gets this answer, so
/// its id is derived from the command (its id and body fingerprint): a
/// replay yields the same event, which consumers and the outbox can tell.
pub fn conflict_rejected(
    command: &Command,
    body_hash: i64,
    rejection: &Rejection,
    at: DateTime<Utc>,
) -> NewOutboxMessage {
    let mut name = command.command_id.as_bytes().to_vec();
    name.extend_from_slice(&body_hash.to_be_bytes());
    name.extend_from_slice(rejection.code.as_str().as_bytes());
    let event_id = Uuid::new_v5(&DERIVED_IDS, &name);
    let event = Event::CommandRejected(proto::CommandRejected {
        code: proto::RejectionCode::from(rejection.code).into(),
        message: rejection.message.clone(),
    });
    outbox_message(command, 0, at, event, Some(event_id))
}

fn outbox_message(
    command: &Command,
    sequence: i64,
    at: DateTime<Utc>,
    event: Event,
    event_id: Option<Uuid>,
) -> NewOutboxMessage {
    // Time-ordered (v7) unless derived: the outbox's unique index on
    // event_id then grows at its right edge instead of taking writes on
    // random pages. An event written once (a command is processed once)
    // keeps its id however often it is re-published.
    let event_id = event_id.unwrap_or_else(Uuid::now_v7);
    let event_type = type_name(&event);
    let message = proto::OrderEvent {
        event_id: event_id.to_string(),
        order_id: command.order_id.to_string(),
        command_id: command.command_id.to_string(),
        correlation_id: command.correlation_id.clone(),
        sequence: u64::try_from(sequence).unwrap_or_default(),
        occurred_at: Some(proto::timestamp(at)),
        event: Some(event),
    };
    NewOutboxMessage {
        event_id,
        order_id: command.order_id,
        event_type,
        payload: message.encode_to_vec(),
        created_at: at,
        traceparent: command.traceparent.clone(),
    }
}

/// The Kafka headers of an outbox row, derived from its columns when it is
/// published (a re-publication derives the same): content type, the
/// CloudEvents binary-mode attributes, and the trace context if the
/// command's record carried one.
pub fn headers(row: &OutboxMessage) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("content-type", proto::CONTENT_TYPE_PROTOBUF.to_owned()),
        ("ce_specversion", "1.0".to_owned()),
        ("ce_id", row.event_id.to_string()),
        ("ce_source", EVENT_SOURCE.to_owned()),
        ("ce_type", row.event_type.clone()),
        (
            "ce_time",
            row.created_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        ),
        ("ce_subject", row.order_id.to_string()),
    ];
    if let Some(traceparent) = &row.traceparent {
        headers.push((telemetry::TRACEPARENT, traceparent.clone()));
    }
    headers
}

/// The CloudEvents `ce_type`: the fully qualified message name.
pub fn type_name(event: &Event) -> &'static str {
    match event {
        Event::OrderCreated(_) => "orders.v1.OrderCreated",
        Event::OrderItemAdded(_) => "orders.v1.OrderItemAdded",
        Event::PaymentProcessed(_) => "orders.v1.PaymentProcessed",
        Event::PaymentStatusChanged(_) => "orders.v1.PaymentStatusChanged",
        Event::OrderStatusChanged(_) => "orders.v1.OrderStatusChanged",
        Event::CommandRejected(_) => "orders.v1.CommandRejected",
    }
}
