//! `addOrderItem`: adds an item to a pending order.

use super::{CommandInput, Envelope, Method, Parts, Route};
use crate::domain;
use crate::proto::{self, UnknownStatus, order_command::Command as Body};

#[derive(Debug, Clone, clap::Args, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItemRequest {
    /// The order's id (over REST, the path's).
    #[arg(long)]
    #[serde(skip)]
    pub order_id: String,
    #[arg(long)]
    #[schema(min_length = 1, max_length = 64)]
    pub product_id: String,
    #[arg(long)]
    #[schema(minimum = 1)]
    pub quantity: i32,
    /// In the currency's minor units.
    #[arg(long)]
    #[schema(minimum = 0)]
    pub price_per_unit: i64,
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

impl CommandInput for AddItemRequest {
    const ROUTE: Route = Route {
        method: Method::Post,
        path: "/orders/{id}/items/add",
        name: "addOrderItem",
        summary: "Adds an item to a pending order.",
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
            body: Body::AddOrderItem(proto::AddOrderItem {
                product_id: self.product_id,
                quantity: self.quantity,
                price_per_unit: self.price_per_unit,
            }),
        })
    }
}

/// The wire's message as the rules read it.
impl From<proto::AddOrderItem> for domain::AddOrderItem {
    fn from(wire: proto::AddOrderItem) -> Self {
        Self {
            product_id: wire.product_id,
            quantity: wire.quantity,
            price_per_unit: wire.price_per_unit,
        }
    }
}
