//! `updateOrderStatus`: moves the order to another status.

use super::{CommandInput, Envelope, Method, Parts, Route};
use crate::domain;
use crate::proto::{self, UnknownStatus, order_command::Command as Body};

#[derive(Debug, Clone, clap::Args, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStatusRequest {
    /// The order's id (over REST, the path's).
    #[arg(long)]
    #[serde(skip)]
    pub order_id: String,
    /// pending, confirmed, shipped, delivered or cancelled.
    #[arg(long)]
    pub status: String,
    #[arg(long)]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
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

impl CommandInput for UpdateStatusRequest {
    const ROUTE: Route = Route {
        method: Method::Patch,
        path: "/orders/{id}/status",
        name: "updateOrderStatus",
        summary: "Moves the order to another status.",
        creates: false,
    };

    fn for_order(&mut self, order_id: String) {
        self.order_id = order_id;
    }

    fn into_parts(self) -> Result<Parts, UnknownStatus> {
        let status = proto::parse_order_status(&self.status)?;
        Ok(Parts {
            order_id: self.order_id,
            envelope: Envelope {
                command_id: self.command_id,
                correlation_id: self.correlation_id,
            },
            body: Body::UpdateOrderStatus(proto::UpdateOrderStatus {
                status: status.into(),
                reason: self.reason.unwrap_or_default(),
            }),
        })
    }
}

/// The wire's message as the rules read it (a status this build does not
/// know as none).
impl From<proto::UpdateOrderStatus> for domain::UpdateOrderStatus {
    fn from(wire: proto::UpdateOrderStatus) -> Self {
        Self {
            status: proto::order_status_from_wire(wire.status),
            reason: wire.reason,
        }
    }
}
