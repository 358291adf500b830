//! What the API answers with: typed views of the rows, serialised by serde
//! and described in the OpenAPI document by the same types.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::{Order, OrderItem, Payment, ProcessedCommand, StatusChange};

/// RFC 3339 with microseconds, UTC.
fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// An order without its items, payments and history (list entries).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderSummary {
    pub id: Uuid,
    pub user_id: String,
    /// pending, confirmed, shipped, delivered or cancelled.
    pub status: String,
    /// pending, completed, failed or refunded.
    pub payment_status: String,
    /// In the currency's minor units.
    pub total_amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    pub shipping_address: String,
    #[schema(format = DateTime)]
    pub order_date: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// Starts at 1; each applied command adds one (the events' `sequence`).
    pub version: i64,
}

impl From<Order> for OrderSummary {
    fn from(o: Order) -> Self {
        Self {
            id: o.id,
            user_id: o.user_id,
            status: o.status,
            payment_status: o.payment_status,
            total_amount: o.total_amount,
            currency: o.currency,
            shipping_address: o.shipping_address,
            order_date: time(o.order_date),
            updated_at: time(o.updated_at),
            version: o.version,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemView {
    pub id: Uuid,
    pub product_id: String,
    pub quantity: i32,
    pub price_per_unit: i64,
    pub total_price: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    pub id: Uuid,
    pub amount: i64,
    pub payment_method: String,
    pub status: String,
    pub transaction_id: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusChangeView {
    /// `null` for the first entry (the order's creation).
    pub from_status: Option<String>,
    pub status: String,
    pub reason: Option<String>,
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// The command that made the change.
    pub command_id: Uuid,
}

/// An order with its items, payments and status history, all of one
/// snapshot.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    #[serde(flatten)]
    pub order: OrderSummary,
    pub items: Vec<ItemView>,
    pub payments: Vec<PaymentView>,
    pub status_history: Vec<StatusChangeView>,
}

impl OrderView {
    pub fn new(
        order: Order,
        items: Vec<OrderItem>,
        payments: Vec<Payment>,
        history: Vec<StatusChange>,
    ) -> Self {
        Self {
            order: order.into(),
            items: items
                .into_iter()
                .map(|i| ItemView {
                    id: i.id,
                    product_id: i.product_id,
                    quantity: i.quantity,
                    price_per_unit: i.price_per_unit,
                    total_price: i.total_price,
                })
                .collect(),
            payments: payments
                .into_iter()
                .map(|p| PaymentView {
                    id: p.id,
                    amount: p.amount,
                    payment_method: p.payment_method,
                    status: p.status,
                    transaction_id: p.transaction_id,
                    created_at: time(p.created_at),
                    updated_at: time(p.updated_at),
                })
                .collect(),
            status_history: history
                .into_iter()
                .map(|h| StatusChangeView {
                    from_status: h.from_status,
                    status: h.status,
                    reason: h.reason,
                    timestamp: time(h.timestamp),
                    command_id: h.command_id,
                })
                .collect(),
        }
    }
}

/// A page of a user's orders, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderPage {
    pub orders: Vec<OrderSummary>,
    /// Pass as `page_token` for the next page; `null` on the last page.
    pub next_page_token: Option<String>,
}

/// A command published and not (yet) processed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    pub command_id: Uuid,
    pub order_id: Uuid,
}

/// Whether a processed command changed its order.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Applied,
    Rejected,
}

/// The event a processed command caused.
#[derive(Debug, Serialize, ToSchema)]
pub struct CausedEvent {
    /// The event's `event_id` (its `ce_id` header).
    pub event_id: Uuid,
    /// The event's `ce_type`: orders.v1.OrderCreated, …, orders.v1.CommandRejected.
    pub event_type: String,
}

/// The outcome of a processed command.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommandView {
    pub command_id: Uuid,
    pub order_id: Uuid,
    pub outcome: Outcome,
    /// The rejection code (e.g. INVALID_TRANSITION) of a rejected command.
    pub rejection_code: Option<String>,
    pub rejection_message: Option<String>,
    /// `null` for commands processed before events were recorded here.
    pub event: Option<CausedEvent>,
    #[schema(format = DateTime)]
    pub processed_at: String,
}

impl From<ProcessedCommand> for CommandView {
    fn from(p: ProcessedCommand) -> Self {
        Self {
            command_id: p.command_id,
            order_id: p.order_id,
            outcome: if p.outcome == "applied" {
                Outcome::Applied
            } else {
                Outcome::Rejected
            },
            rejection_code: p.rejection_code,
            rejection_message: p.rejection_message,
            event: p
                .event_id
                .zip(p.event_type)
                .map(|(event_id, event_type)| CausedEvent {
                    event_id,
                    event_type,
                }),
            processed_at: time(p.processed_at),
        }
    }
}
