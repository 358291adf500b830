//! One place where an `OrderCommand` is made and checked, for everything
//! that issues commands: the REST API, `order-service send`, the load
//! generator and the tests. [`new`] wraps a body with a fresh command id;
//! [`with_envelope`] takes the caller's ids; [`complete`] fills in what a
//! person may leave out and checks the command as the consumer will —
//! envelope first, then the field rules — so a command that could only be
//! dead-lettered, or rejected as `VALIDATION_FAILED`, is refused before it
//! is published.

use chrono::Utc;
use uuid::Uuid;

use crate::domain::{self, Command};
use crate::proto::{self, EnvelopeError, OrderCommand, order_command::Command as Body};

/// Namespace of the order ids derived from a `createOrder`'s `command_id`.
const ORDER_ID_NAMESPACE: Uuid = Uuid::from_u128(0x5d1c_7f0e_8a43_4a55_9c1e_0b7e_2f3d_6a91);
/// Namespace of the transaction ids derived from a `processPayment`'s
/// `command_id`.
const TRANSACTION_ID_NAMESPACE: Uuid = Uuid::from_u128(0x2b9e_6c41_d07a_4f3e_8e15_73c2_a9d4_0f68);

/// The ids a caller may give with a command; absent ones are filled in by
/// [`complete`] (a new command id) or left empty (no correlation id).
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    pub command_id: Option<String>,
    pub correlation_id: Option<String>,
}

/// A command of `order_id` with a new command id.
pub fn new(order_id: &str, body: Body) -> OrderCommand {
    with_envelope(
        order_id.to_owned(),
        Envelope {
            command_id: Some(Uuid::new_v4().to_string()),
            correlation_id: None,
        },
        body,
    )
}

/// A command with the caller's ids (`order_id` may be empty for a create:
/// [`complete`] derives it).
pub fn with_envelope(order_id: String, envelope: Envelope, body: Body) -> OrderCommand {
    OrderCommand {
        command_id: envelope.command_id.unwrap_or_default(),
        order_id,
        correlation_id: envelope.correlation_id.unwrap_or_default(),
        issued_at: None,
        command: Some(body),
    }
}

/// Why a command is refused before it is published.
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    /// It would be dead-lettered: ids, the oneof, the envelope's fields.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// It would be rejected as `VALIDATION_FAILED`: a field's rule.
    #[error("{0}")]
    Field(String),
}

/// Fills in what a person or a REST client may leave out — `command_id` (a
/// new UUID), `order_id` for `createOrder` and `transaction_id` for
/// `processPayment` (derived from the command id, so a retry with the same
/// command id is the same command), `issued_at` (now) — then checks the
/// command. Returns the command to publish and
/// the command the service will see.
pub fn complete(mut command: OrderCommand) -> Result<(OrderCommand, Command), Invalid> {
    if command.command_id.is_empty() {
        command.command_id = Uuid::new_v4().to_string();
    }
    // One spelling of a UUID (upper case, braces, urn: all parse): the ids
    // derived from it below must not depend on how a client wrote it.
    if let Ok(id) = Uuid::parse_str(&command.command_id) {
        command.command_id = id.to_string();
    }
    if command.order_id.is_empty() && matches!(command.command, Some(Body::CreateOrder(_))) {
        command.order_id =
            Uuid::new_v5(&ORDER_ID_NAMESPACE, command.command_id.as_bytes()).to_string();
    }
    if let Some(Body::ProcessPayment(payment)) = &mut command.command {
        if payment.transaction_id.is_empty() {
            payment.transaction_id =
                Uuid::new_v5(&TRANSACTION_ID_NAMESPACE, command.command_id.as_bytes()).to_string();
        }
    }
    if command.issued_at.is_none() {
        command.issued_at = Some(proto::timestamp(Utc::now()));
    }
    let checked = Command::try_from(command.clone())?;
    domain::validate(&checked.body).map_err(|rejection| Invalid::Field(rejection.message))?;
    Ok((command, checked))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(user_id: &str) -> Body {
        Body::CreateOrder(proto::CreateOrder {
            user_id: user_id.into(),
            shipping_address: "1 Main St".into(),
            currency: "EUR".into(),
        })
    }

    #[test]
    fn a_create_without_ids_gets_them_and_a_retry_the_same_order() {
        let envelope = Envelope {
            command_id: Some(Uuid::new_v4().to_string()),
            correlation_id: None,
        };
        let (first, checked) =
            complete(with_envelope(String::new(), envelope.clone(), create("u"))).unwrap();
        let (again, _) = complete(with_envelope(String::new(), envelope, create("u"))).unwrap();
        assert_eq!(first.order_id, again.order_id);
        assert_eq!(checked.order_id.to_string(), first.order_id);
        assert!(first.issued_at.is_some());
        let (fresh, _) = complete(with_envelope(
            String::new(),
            Envelope::default(),
            create("u"),
        ))
        .unwrap();
        assert!(Uuid::parse_str(&fresh.command_id).is_ok());
        assert_ne!(fresh.order_id, first.order_id);
    }

    #[test]
    fn a_command_id_spelled_otherwise_derives_the_same_ids() {
        let id = Uuid::new_v4();
        let pay = || {
            Body::ProcessPayment(proto::ProcessPayment {
                amount: 1,
                payment_method: "card".into(),
                transaction_id: String::new(),
            })
        };
        let order = Uuid::new_v4().to_string();
        let spelled = |text: String| {
            let envelope = Envelope {
                command_id: Some(text),
                correlation_id: None,
            };
            complete(with_envelope(order.clone(), envelope, pay()))
                .unwrap()
                .0
        };
        let plain = spelled(id.to_string());
        let upper = spelled(id.to_string().to_uppercase());
        let braced = spelled(format!("{{{id}}}"));
        assert_eq!(plain.command_id, upper.command_id);
        assert_eq!(plain.command, upper.command);
        assert_eq!(plain.command, braced.command);
    }

    #[test]
    fn what_the_consumer_would_refuse_is_refused_here() {
        let order = Uuid::new_v4().to_string();
        assert!(matches!(
            complete(with_envelope(
                "nope".into(),
                Envelope::default(),
                create("u")
            )),
            Err(Invalid::Envelope(_))
        ));
        assert!(matches!(
            complete(new(&order, create(" "))),
            Err(Invalid::Field(_))
        ));
        let item = Body::AddOrderItem(proto::AddOrderItem {
            product_id: "p".into(),
            quantity: 0,
            price_per_unit: 1,
        });
        let error = complete(new(&order, item)).unwrap_err().to_string();
        assert!(error.contains("quantity"), "{error}");
    }
}
