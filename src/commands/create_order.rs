//! `createOrder`: creates an order (status and payment status pending).

use super::{CommandInput, Envelope, Method, Parts, Route};
use crate::domain;
use crate::proto::{self, UnknownStatus, order_command::Command as Body};

#[derive(Debug, Clone, clap::Args, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrderRequest {
    /// The new order's id; when absent, derived from the command id (a
    /// retry with the same command id gets the same order).
    #[arg(long)]
    #[schema(format = Uuid)]
    pub order_id: Option<String>,
    #[arg(long)]
    #[schema(min_length = 1, max_length = 64)]
    pub user_id: String,
    #[arg(long)]
    #[schema(min_length = 1, max_length = 500)]
    pub shipping_address: String,
    /// ISO 4217 code, e.g. EUR.
    #[arg(long)]
    #[schema(pattern = "^[A-Z]{3}$", example = "EUR")]
    pub currency: String,
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

impl CommandInput for CreateOrderRequest {
    const ROUTE: Route = Route {
        method: Method::Post,
        path: "/orders/create",
        name: "createOrder",
        summary: "Creates an order.",
        creates: true,
    };

    fn for_order(&mut self, order_id: String) {
        self.order_id = Some(order_id);
    }

    fn into_parts(self) -> Result<Parts, UnknownStatus> {
        Ok(Parts {
            order_id: self.order_id.unwrap_or_default(),
            envelope: Envelope {
                command_id: self.command_id,
                correlation_id: self.correlation_id,
            },
            body: Body::CreateOrder(proto::CreateOrder {
                user_id: self.user_id,
                shipping_address: self.shipping_address,
                currency: self.currency,
            }),
        })
    }
}

/// The wire's message as the rules read it.
impl From<proto::CreateOrder> for domain::CreateOrder {
    fn from(wire: proto::CreateOrder) -> Self {
        Self {
            user_id: wire.user_id,
            shipping_address: wire.shipping_address,
            currency: wire.currency,
        }
    }
}
