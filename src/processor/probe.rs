//! A known-good command lifecycle, applied in a transaction that is rolled
//! back: proof that the database works for commands at this moment. A
//! command is blamed for its own failure only when the probe passes.

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use uuid::Uuid;

use super::batch;
use crate::domain::{Command, CommandBody, OrderStatus, PaymentStatus};

/// Runs every statement a command can cause (an order created, an item
/// added, a payment processed and completed, a status changed, a command
/// rejected) on an order of its own, then rolls it all back. `Err` is the
/// database's answer (or a lifecycle that did not apply as it must).
pub(super) fn probe(conn: &mut PgConnection) -> Result<(), DieselError> {
    let commands = lifecycle();
    let applied = conn.transaction::<(), DieselError, _>(|conn| {
        let (outcome, _) = batch::apply(conn, &commands, &[])?;
        if outcome.applied != commands.len() - 1 || outcome.rejected != 1 {
            return Err(DieselError::QueryBuilderError(
                format!("the probe's lifecycle did not apply as it must: {outcome:?}").into(),
            ));
        }
        Err(DieselError::RollbackTransaction)
    });
    match applied {
        Err(DieselError::RollbackTransaction) | Ok(()) => Ok(()),
        Err(e) => Err(e),
    }
}

fn lifecycle() -> Vec<Command> {
    let order_id = Uuid::new_v4();
    let transaction_id = format!("probe-{}", Uuid::new_v4());
    let command = |body| Command {
        command_id: Uuid::new_v4(),
        order_id,
        correlation_id: String::new(),
        issued_at: None,
        traceparent: None,
        body,
    };
    vec![
        command(CommandBody::CreateOrder {
            user_id: "order-service-probe".into(),
            shipping_address: "probe".into(),
            currency: "EUR".into(),
        }),
        command(CommandBody::AddItem {
            product_id: "probe".into(),
            quantity: 1,
            price_per_unit: 100,
        }),
        command(CommandBody::ProcessPayment {
            amount: 100,
            payment_method: "probe".into(),
            transaction_id: transaction_id.clone(),
        }),
        command(CommandBody::UpdatePaymentStatus {
            transaction_id,
            status: Some(PaymentStatus::Completed),
        }),
        command(CommandBody::UpdateOrderStatus {
            status: Some(OrderStatus::Confirmed),
            reason: String::new(),
        }),
        // Rejected: an order that does not exist.
        Command {
            order_id: Uuid::new_v4(),
            ..command(CommandBody::AddItem {
                product_id: "probe".into(),
                quantity: 1,
                price_per_unit: 100,
            })
        },
    ]
}
