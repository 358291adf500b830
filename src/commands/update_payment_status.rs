//! `updatePaymentStatus`: moves a payment to another status.

use super::{CommandInput, Envelope, Method, Parts, Route};
use crate::domain;
use crate::proto::{self, UnknownStatus, order_command::Command as Body};

#[derive(Debug, Clone, clap::Args, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePaymentStatusRequest {
    /// The order's id (over REST, the path's).
    #[arg(long)]
    #[serde(skip)]
    pub order_id: String,
    #[arg(long)]
    #[schema(min_length = 1, max_length = 100)]
    pub transaction_id: String,
    /// pending, completed, failed or refunded.
    #[arg(long)]
    pub status: String,
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

impl CommandInput for UpdatePaymentStatusRequest {
    const ROUTE: Route = Route {
        method: Method::Patch,
        path: "/orders/{id}/payment",
        name: "updatePaymentStatus",
        summary: "Moves a payment to another status.",
        creates: false,
    };

    fn for_order(&mut self, order_id: String) {
        self.order_id = order_id;
    }

    fn into_parts(self) -> Result<Parts, UnknownStatus> {
        let status = proto::parse_payment_status(&self.status)?;
        Ok(Parts {
            order_id: self.order_id,
            envelope: Envelope {
                command_id: self.command_id,
                correlation_id: self.correlation_id,
            },
            body: Body::UpdatePaymentStatus(proto::UpdatePaymentStatus {
                transaction_id: self.transaction_id,
                status: status.into(),
            }),
        })
    }
}

/// The wire's message as the rules read it (a status this build does not
/// know as none).
impl From<proto::UpdatePaymentStatus> for domain::UpdatePaymentStatus {
    fn from(wire: proto::UpdatePaymentStatus) -> Self {
        Self {
            transaction_id: wire.transaction_id,
            status: proto::payment_status_from_wire(wire.status),
        }
    }
}
