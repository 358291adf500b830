//! A decoded command: ids parsed, the oneof present. Field values are not yet
//! checked; [`super::decide`] does that and rejects with `VALIDATION_FAILED`.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{OrderStatus, PaymentStatus};

/// Upper bounds on text fields, in characters. The same numbers are the
/// `varchar(n)` widths in the migrations, so validation and schema agree.
pub mod limits {
    pub const USER_ID: usize = 64;
    pub const SHIPPING_ADDRESS: usize = 500;
    pub const PRODUCT_ID: usize = 64;
    pub const PAYMENT_METHOD: usize = 50;
    pub const TRANSACTION_ID: usize = 100;
    pub const REASON: usize = 500;
    pub const CORRELATION_ID: usize = 200;
}

#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// Idempotency key: a command with a known id changes nothing.
    pub command_id: Uuid,
    pub order_id: Uuid,
    /// Copied to every event the command causes, empty when not given.
    pub correlation_id: String,
    pub issued_at: Option<DateTime<Utc>>,
    /// The W3C trace context of the record that carried the command (its
    /// `traceparent` header), carried onto the events it causes.
    pub traceparent: Option<String>,
    pub body: CommandBody,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CommandBody {
    CreateOrder {
        user_id: String,
        shipping_address: String,
        currency: String,
    },
    AddItem {
        product_id: String,
        quantity: i32,
        price_per_unit: i64,
    },
    ProcessPayment {
        amount: i64,
        payment_method: String,
        transaction_id: String,
    },
    UpdatePaymentStatus {
        transaction_id: String,
        /// `None` when the wire value was unspecified or unknown.
        status: Option<PaymentStatus>,
    },
    UpdateOrderStatus {
        /// `None` when the wire value was unspecified or unknown.
        status: Option<OrderStatus>,
        reason: String,
    },
}

impl CommandBody {
    /// Short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::CreateOrder { .. } => "create_order",
            Self::AddItem { .. } => "add_order_item",
            Self::ProcessPayment { .. } => "process_payment",
            Self::UpdatePaymentStatus { .. } => "update_payment_status",
            Self::UpdateOrderStatus { .. } => "update_order_status",
        }
    }
}
