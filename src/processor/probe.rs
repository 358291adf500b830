//! A known-good set of command lifecycles, applied in a transaction that is
//! rolled back (a savepoint, in the judging transaction of `alone.rs`):
//! proof that the database works for commands at this moment.
//! A command is blamed for its own failure only when the probe passes.

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use uuid::Uuid;

use super::{BatchOutcome, batch};
use crate::domain::{
    AddOrderItem, Command, CommandBody, CreateOrder, OrderStatus, PaymentStatus, ProcessPayment,
    UpdateOrderStatus, UpdatePaymentStatus,
};

/// Runs every statement a command can cause, with every status value, on
/// orders of its own, then rolls it all back: orders created, items
/// added, payments processed, completed, failed and refunded, orders
/// confirmed, shipped, delivered and cancelled, commands rejected; first
/// on new orders, then, in a second batch, on the orders the first one
/// left (loaded, locked, updated). `Err` is the database's answer, or an
/// outcome other than the one these lifecycles must have.
pub(super) fn probe(conn: &mut PgConnection) -> Result<(), DieselError> {
    let probe = Probe::new();
    let applied = conn.transaction::<(), DieselError, _>(|conn| {
        let (first, _) = batch::apply_fresh(conn, &probe.first(), &[])?;
        expect(&first, 11, 1)?;
        let (second, _) = batch::apply_fresh(conn, &probe.second(), &[])?;
        expect(&second, 4, 1)?;
        Err(DieselError::RollbackTransaction)
    });
    match applied {
        Err(DieselError::RollbackTransaction) | Ok(()) => Ok(()),
        Err(e) => Err(e),
    }
}

fn expect(outcome: &BatchOutcome, applied: usize, rejected: usize) -> Result<(), DieselError> {
    if outcome.applied == applied && outcome.rejected == rejected {
        return Ok(());
    }
    Err(DieselError::QueryBuilderError(
        format!("the probe's lifecycles did not apply as they must: {outcome:?}").into(),
    ))
}

/// Three orders: one that is paid, shipped, delivered and refunded, one
/// cancelled, one whose payment fails.
struct Probe {
    paid: Uuid,
    cancelled: Uuid,
    failed: Uuid,
    paid_with: String,
    failed_with: String,
}

impl Probe {
    fn new() -> Self {
        Self {
            paid: Uuid::new_v4(),
            cancelled: Uuid::new_v4(),
            failed: Uuid::new_v4(),
            paid_with: format!("probe-{}", Uuid::new_v4()),
            failed_with: format!("probe-{}", Uuid::new_v4()),
        }
    }

    /// New orders: 11 commands applied, 1 rejected (no such order).
    fn first(&self) -> Vec<Command> {
        vec![
            create(self.paid),
            item(self.paid),
            pay(self.paid, &self.paid_with),
            payment(self.paid, &self.paid_with, PaymentStatus::Completed),
            status(self.paid, OrderStatus::Confirmed),
            create(self.cancelled),
            status(self.cancelled, OrderStatus::Cancelled),
            create(self.failed),
            item(self.failed),
            pay(self.failed, &self.failed_with),
            payment(self.failed, &self.failed_with, PaymentStatus::Failed),
            item(Uuid::new_v4()),
        ]
    }

    /// The same orders, loaded: 4 applied, 1 rejected (a cancelled order
    /// takes no item).
    fn second(&self) -> Vec<Command> {
        vec![
            status(self.paid, OrderStatus::Shipped),
            status(self.paid, OrderStatus::Delivered),
            payment(self.paid, &self.paid_with, PaymentStatus::Refunded),
            item(self.failed),
            item(self.cancelled),
        ]
    }
}

fn command(order_id: Uuid, body: CommandBody) -> Command {
    Command {
        command_id: Uuid::new_v4(),
        order_id,
        correlation_id: String::new(),
        issued_at: None,
        traceparent: None,
        fingerprint: 0,
        body,
    }
}

fn create(order: Uuid) -> Command {
    command(
        order,
        CreateOrder {
            user_id: "order-service-probe".into(),
            shipping_address: "probe".into(),
            currency: "EUR".into(),
        }
        .into(),
    )
}

fn item(order: Uuid) -> Command {
    command(
        order,
        AddOrderItem {
            product_id: "probe".into(),
            quantity: 1,
            price_per_unit: 100,
        }
        .into(),
    )
}

fn pay(order: Uuid, transaction_id: &str) -> Command {
    command(
        order,
        ProcessPayment {
            amount: 100,
            payment_method: "probe".into(),
            transaction_id: transaction_id.into(),
        }
        .into(),
    )
}

fn payment(order: Uuid, transaction_id: &str, status: PaymentStatus) -> Command {
    command(
        order,
        UpdatePaymentStatus {
            transaction_id: transaction_id.into(),
            status: Some(status),
        }
        .into(),
    )
}

fn status(order: Uuid, status: OrderStatus) -> Command {
    command(
        order,
        UpdateOrderStatus {
            status: Some(status),
            reason: "probe".into(),
        }
        .into(),
    )
}
