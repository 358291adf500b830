//! The commands as the rules see them: ids parsed, the oneof present. One
//! module per kind holds its fields, their rules ([`Rule::validate`]: the
//! checks that need no state, answered `VALIDATION_FAILED`) and its rule
//! against the order ([`Rule::decide`]). The list below names the kinds
//! once: [`CommandBody`], [`CommandKind`] and the dispatch are derived
//! from it, so a kind cannot be left out of one of them.

mod add_order_item;
mod create_order;
mod fields;
mod process_payment;
mod update_order_status;
mod update_payment_status;

#[cfg(test)]
mod field_tests;
#[cfg(test)]
mod tests;

pub use add_order_item::AddOrderItem;
pub use create_order::CreateOrder;
pub use process_payment::ProcessPayment;
pub use update_order_status::UpdateOrderStatus;
pub use update_payment_status::UpdatePaymentStatus;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Change, Facts, OrderState, Rejection, RejectionCode};

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
    /// What the command says, fingerprinted on the wire
    /// (`proto::fingerprint`): a command id seen again with another
    /// fingerprint is another command. 0 for commands made in process
    /// (the probe's, tests').
    pub fingerprint: i64,
    pub body: CommandBody,
}

/// What each kind of command does.
pub trait Rule {
    /// The field checks that need no state.
    fn validate(&self) -> Result<(), Rejection>;

    /// The change the command makes to `order` (`None`: no such order),
    /// its fields already valid.
    fn decide(&self, order: Option<&OrderState>, facts: Facts) -> Result<Change, Rejection>;
}

/// The catalogue of kinds: variant, body type, short name (logs, metrics).
macro_rules! kinds {
    ($( $kind:ident = $name:literal, )+) => {
        /// A command's body: one variant per kind, named as in the wire's
        /// oneof.
        #[derive(Debug, Clone, PartialEq)]
        pub enum CommandBody {
            $( $kind($kind), )+
        }

        /// The kinds of command, without their fields.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum CommandKind {
            $( $kind, )+
        }

        impl CommandKind {
            pub const ALL: &[CommandKind] = &[$( CommandKind::$kind, )+];

            /// Short name for logs and metrics.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$kind => $name, )+
                }
            }
        }

        impl CommandBody {
            pub fn kind(&self) -> CommandKind {
                match self {
                    $( Self::$kind(_) => CommandKind::$kind, )+
                }
            }

            fn rule(&self) -> &dyn Rule {
                match self {
                    $( Self::$kind(body) => body, )+
                }
            }
        }

        /// A body of any kind, each kind as likely.
        #[cfg(any(test, feature = "proptest"))]
        impl proptest::arbitrary::Arbitrary for CommandBody {
            type Parameters = ();
            type Strategy = proptest::strategy::BoxedStrategy<Self>;

            fn arbitrary_with((): ()) -> Self::Strategy {
                use proptest::prelude::*;
                proptest::sample::select(CommandKind::ALL.to_vec())
                    .prop_flat_map(|kind| match kind {
                        $( CommandKind::$kind => any::<$kind>().prop_map(Self::from).boxed(), )+
                    })
                    .boxed()
            }
        }

        $(
            impl From<$kind> for CommandBody {
                fn from(body: $kind) -> Self {
                    Self::$kind(body)
                }
            }
        )+
    };
}

/// The kinds, named once: `with_kinds!(m)` expands to `m! { CreateOrder =
/// "create_order", … }`, for the code that needs one arm per kind: the
/// types above, and the wire's decoding (`proto.rs`).
macro_rules! with_kinds {
    ($callback:ident) => {
        $callback! {
            CreateOrder = "create_order",
            AddOrderItem = "add_order_item",
            ProcessPayment = "process_payment",
            UpdatePaymentStatus = "update_payment_status",
            UpdateOrderStatus = "update_order_status",
        }
    };
}
pub(crate) use with_kinds;

with_kinds!(kinds);

/// The field checks that need no state (the first thing [`decide`] does;
/// the REST API and `send` run them before publishing).
pub fn validate(body: &CommandBody) -> Result<(), Rejection> {
    body.rule().validate()
}

/// Applies the rules to one command against the order's current state
/// (`None` when the order does not exist): its fields first, then its rule.
pub fn decide(
    order: Option<&OrderState>,
    body: &CommandBody,
    facts: Facts,
) -> Result<Change, Rejection> {
    validate(body)?;
    body.rule().decide(order, facts)
}

/// The order a command other than a create acts on.
fn existing(order: Option<&OrderState>) -> Result<&OrderState, Rejection> {
    order.ok_or_else(|| Rejection::new(RejectionCode::OrderNotFound, "order does not exist"))
}
