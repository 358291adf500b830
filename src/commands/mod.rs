//! The commands people and other services issue, one module per kind. Each
//! holds the kind's input as one type — the REST body, `send`'s flags and
//! the OpenAPI schema, unknown JSON fields refused — with its REST route
//! (the wire contract's method and path) and its conversion to the wire
//! message. The catalogue below lists the kinds once: `send`'s verbs
//! ([`Input`]), the REST routes and their OpenAPI operations ([`visit`]),
//! and every list of kinds ([`routes`]) are derived from it, so a kind
//! cannot be left out of one of them.
//!
//! Besides: [`envelope`] fills in and checks every issued command (ids,
//! field rules) before it is published; [`CommandPublisher`] publishes it.

mod add_item;
mod create_order;
mod envelope;
mod process_payment;
mod publisher;
mod update_order_status;
mod update_payment_status;

pub use add_item::AddItemRequest;
pub use create_order::CreateOrderRequest;
pub use envelope::{Envelope, Invalid, complete, new, with_envelope};
pub use process_payment::ProcessPaymentRequest;
pub use publisher::{CommandPublisher, Published};
pub use update_order_status::UpdateStatusRequest;
pub use update_payment_status::UpdatePaymentStatusRequest;

use crate::proto::{OrderCommand, UnknownStatus, order_command::Command as Body};

/// The catalogue: every kind of command, as `send`'s verb (the variant's
/// name in kebab case, its doc line the verb's help) over its input type.
macro_rules! catalogue {
    ($( $(#[doc = $doc:literal])* $kind:ident($input:ty), )+) => {
        /// One command given as flags: `send`'s verbs, one per kind.
        #[derive(Debug, Clone, clap::Subcommand)]
        pub enum Input {
            $( $(#[doc = $doc])* $kind($input), )+
        }

        impl Input {
            /// The command's order id, ids and wire body.
            pub fn into_parts(self) -> Result<Parts, UnknownStatus> {
                match self {
                    $( Self::$kind(input) => input.into_parts(), )+
                }
            }
        }

        /// Calls `visitor` with every kind's input type, in the
        /// catalogue's order.
        pub fn visit(visitor: &mut impl Visitor) {
            $( visitor.visit::<$input>(); )+
        }
    };
}

catalogue! {
    /// Create an order (its id is derived from the command id unless
    /// --order-id is given).
    CreateOrder(CreateOrderRequest),
    /// Add an item to a pending order.
    AddItem(AddItemRequest),
    /// Pay the order's total (a payment starts pending).
    ProcessPayment(ProcessPaymentRequest),
    /// Change a payment's status: completed, failed or refunded.
    UpdatePaymentStatus(UpdatePaymentStatusRequest),
    /// Change the order's status: confirmed, shipped, delivered or
    /// cancelled.
    UpdateOrderStatus(UpdateStatusRequest),
}

/// A command's REST endpoint (the wire contract's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    /// `{id}` stands for the order's id.
    pub path: &'static str,
    /// The OpenAPI operation id, which is also the command's field in the
    /// protobuf JSON mapping (`createOrder`).
    pub name: &'static str,
    /// What it does, in one line (the OpenAPI summary).
    pub summary: &'static str,
    /// Whether processing makes the order (answered 201 with its
    /// `Location`) rather than changing one (200).
    pub creates: bool,
}

/// The HTTP methods commands use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Post,
    Patch,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Patch => "PATCH",
        }
    }
}

/// A command as the fronts take it.
pub trait CommandInput:
    serde::de::DeserializeOwned + utoipa::ToSchema + Send + Sized + 'static
{
    const ROUTE: Route;

    /// Names the order (the REST path's `{id}`; a create's is in its body).
    fn for_order(&mut self, order_id: String);

    /// The command's order id, ids and wire body (a status that is none
    /// of the statuses is refused).
    fn into_parts(self) -> Result<Parts, UnknownStatus>;
}

/// A command before [`complete`]: its order id (empty for a create whose
/// id is to be derived), the caller's ids and the wire body.
#[derive(Debug, Clone)]
pub struct Parts {
    pub order_id: String,
    pub envelope: Envelope,
    pub body: Body,
}

impl Parts {
    pub fn into_command(self) -> OrderCommand {
        with_envelope(self.order_id, self.envelope, self.body)
    }
}

/// Visits the catalogue's input types ([`visit`]).
pub trait Visitor {
    fn visit<C: CommandInput>(&mut self);
}

/// Every kind's REST endpoint, in the catalogue's order.
pub fn routes() -> Vec<Route> {
    struct Routes(Vec<Route>);
    impl Visitor for Routes {
        fn visit<C: CommandInput>(&mut self) {
            self.0.push(C::ROUTE);
        }
    }
    let mut routes = Routes(Vec::new());
    visit(&mut routes);
    routes.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_name_and_endpoint() {
        let routes = routes();
        let mut names: Vec<_> = routes.iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), routes.len());
        let mut endpoints: Vec<_> = routes.iter().map(|r| (r.method.as_str(), r.path)).collect();
        endpoints.sort_unstable();
        endpoints.dedup();
        assert_eq!(endpoints.len(), routes.len());
        for route in &routes {
            assert_eq!(route.creates, !route.path.contains("{id}"), "{route:?}");
        }
    }

    /// A kind's name is its field in the protobuf JSON mapping (so `send`
    /// can name the choices in its errors), and the catalogue holds every
    /// kind the rules know, once.
    #[test]
    fn the_catalogue_names_every_kind_of_the_wire_and_the_rules() {
        let mut kinds = Vec::new();
        for route in routes() {
            let json = format!(
                r#"{{"commandId": "{}", "orderId": "{}", "{}": {{}}}}"#,
                uuid::Uuid::new_v4(),
                uuid::Uuid::new_v4(),
                route.name
            );
            let command: OrderCommand = serde_json::from_str(&json).expect(route.name);
            let decoded = crate::domain::Command::try_from(command).expect(route.name);
            kinds.push(decoded.body.kind());
        }
        kinds.sort_unstable();
        assert_eq!(kinds, crate::domain::CommandKind::ALL);
    }
}
