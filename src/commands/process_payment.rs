//! `processPayment`: records a payment of the order's total (status
//! pending).

use super::{CommandInput, Envelope, Method, Parts, Route};
use crate::domain;
use crate::proto::{self, UnknownStatus, order_command::Command as Body};

#[derive(Debug, Clone, clap::Args, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessPaymentRequest {
    /// The order's id (over REST, the path's).
    #[arg(long)]
    #[serde(skip)]
    pub order_id: String,
    /// Must equal the order's total, in minor units.
    #[arg(long)]
    #[schema(minimum = 0)]
    pub amount: i64,
    #[arg(long)]
    #[schema(min_length = 1, max_length = 50)]
    pub payment_method: String,
    /// The payment provider's id; when absent, derived from the command id.
    #[arg(long)]
    #[schema(min_length = 1, max_length = 100)]
    pub transaction_id: Option<String>,
    /// The command's id, its idempotency key; a new UUID when absent (over
    /// REST, see also the Idempotency-Key header).
    #[arg(long)]
    #[schema(format = Uuid)]
    pub command_id: Option<String>,
    /// Copied to every event the command causes (over REST, the request id
    /// when absent).
    #[arg(long)]
    #[schema(max_length = 200)]
    pub correlation_id: Option<String>,
}

impl CommandInput for ProcessPaymentRequest {
    const ROUTE: Route = Route {
        method: Method::Post,
        path: "/orders/{id}/payment",
        name: "processPayment",
        summary: "Records a payment of the order's total (status pending).",
        creates: false,
    };

    fn for_order(&mut self, order_id: String) {
        self.order_id = order_id;
    }

    fn into_parts(self) -> Result<Parts, UnknownStatus> {
        Ok(Parts {
            order_id: self.order_id,
            envelope: Envelope {
                command_id: self.command_id,
                correlation_id: self.correlation_id,
            },
            body: Body::ProcessPayment(proto::ProcessPayment {
                amount: self.amount,
                payment_method: self.payment_method,
                // When absent, derived from the command id (`complete`).
                transaction_id: self.transaction_id.unwrap_or_default(),
            }),
        })
    }
}

/// The wire's message as the rules read it.
impl From<proto::ProcessPayment> for domain::ProcessPayment {
    fn from(wire: proto::ProcessPayment) -> Self {
        Self {
            amount: wire.amount,
            payment_method: wire.payment_method,
            transaction_id: wire.transaction_id,
        }
    }
}
