//! What a batch writes: the rows of each decided command gathered in
//! memory ([`Writes`]), then written, with the consumer's positions, in one
//! statement.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::models::unnest::OneStatement;
use crate::db::models::{
    ConsumerOffset, NewOrder, NewOrderItem, NewOutboxMessage, NewPayment, NewProcessedCommand,
    NewStatusChange, Order, OrderUpdate, OutboxMessage, Payment,
};
use crate::domain::{Change, Command, OrderState, OrderStatus, PaymentStatus, Rejection};
use crate::events;

/// An order as the batch sees it: read (row-locked or from the cache) or
/// created in this batch.
pub(super) struct WorkingOrder {
    pub(super) state: OrderState,
    /// The version read: the row is written back only over it.
    pub(super) read_version: i64,
    /// Set for an order created in this batch: it is inserted, not updated.
    pub(super) created: Option<Created>,
    pub(super) changed: bool,
    /// Read from the cache, not locked: written back even unchanged, to
    /// check its version.
    pub(super) cached: bool,
}

impl WorkingOrder {
    pub(super) fn read(state: OrderState) -> Self {
        Self {
            read_version: state.version,
            state,
            created: None,
            changed: false,
            cached: false,
        }
    }

    pub(super) fn cached(state: OrderState) -> Self {
        Self {
            cached: true,
            ..Self::read(state)
        }
    }
}

/// Another writer moved an order the batch decided on from the cache: the
/// batch is rolled back, to be applied again from fresh reads.
#[derive(Debug)]
pub(super) struct Stale;

pub(super) struct Created {
    pub(super) user_id: String,
    pub(super) shipping_address: String,
    pub(super) currency: String,
    pub(super) order_date: DateTime<Utc>,
}

/// Rows to write at the end of the batch.
#[derive(Default)]
pub(super) struct Writes {
    pub(super) items: Vec<NewOrderItem>,
    pub(super) new_payments: Vec<NewPayment>,
    /// Final status of payments that existed before the batch.
    pub(super) payment_updates: HashMap<String, PaymentStatus>,
    pub(super) history: Vec<NewStatusChange>,
    pub(super) outbox: Vec<NewOutboxMessage>,
    pub(super) processed: Vec<NewProcessedCommand>,
}

impl Writes {
    /// A payment's new status: on its row still to be inserted, or as an
    /// update of one that exists.
    fn payment_status(&mut self, transaction_id: &str, to: PaymentStatus) {
        match self
            .new_payments
            .iter_mut()
            .find(|p| p.transaction_id == transaction_id)
        {
            Some(new) => new.status = to.as_str(),
            None => {
                self.payment_updates.insert(transaction_id.to_owned(), to);
            }
        }
    }
}

pub(super) fn record_change(
    orders: &mut HashMap<Uuid, WorkingOrder>,
    writes: &mut Writes,
    command: &Command,
    change: Change,
    now: DateTime<Utc>,
) {
    let order_id = command.order_id;
    // Time-ordered (v7), as the primary keys of items, payments and the
    // status history grow at their right edge.
    let row_id = Uuid::now_v7();
    if let Change::Created {
        user_id,
        shipping_address,
        currency,
    } = &change
    {
        writes.history.push(NewStatusChange {
            id: row_id,
            order_id,
            from_status: None,
            status: OrderStatus::Pending.as_str(),
            reason: None,
            timestamp: now,
            command_id: command.command_id,
        });
        orders.insert(
            order_id,
            WorkingOrder {
                state: OrderState::created(),
                read_version: 0,
                cached: false,
                created: Some(Created {
                    user_id: user_id.clone(),
                    shipping_address: shipping_address.clone(),
                    currency: currency.clone(),
                    order_date: now,
                }),
                changed: true,
            },
        );
    }
    let Some(working) = orders.get_mut(&order_id) else {
        unreachable!("decide accepts only CreateOrder for a missing order");
    };
    match &change {
        Change::Created { .. } => {}
        Change::ItemAdded {
            product_id,
            quantity,
            price_per_unit,
            total_price,
            ..
        } => writes.items.push(NewOrderItem {
            id: row_id,
            order_id,
            product_id: product_id.clone(),
            quantity: *quantity,
            price_per_unit: *price_per_unit,
            total_price: *total_price,
        }),
        Change::PaymentProcessed {
            amount,
            payment_method,
            transaction_id,
        } => writes.new_payments.push(NewPayment {
            id: row_id,
            order_id,
            amount: *amount,
            payment_method: payment_method.clone(),
            status: PaymentStatus::Pending.as_str(),
            transaction_id: transaction_id.clone(),
            created_at: now,
            updated_at: now,
        }),
        Change::PaymentStatusChanged {
            transaction_id, to, ..
        } => writes.payment_status(transaction_id, *to),
        Change::OrderStatusChanged { from, to, reason } => writes.history.push(NewStatusChange {
            id: row_id,
            order_id,
            from_status: Some(from.as_str()),
            status: to.as_str(),
            reason: (!reason.is_empty()).then(|| reason.clone()),
            timestamp: now,
            command_id: command.command_id,
        }),
    }
    working.state.apply(&change);
    debug_assert_eq!(
        working.state.broken_invariant(),
        None,
        "{:?}",
        working.state
    );
    working.changed = true;
    let event = events::applied(command, &change, row_id, working.state.version, now);
    writes.processed.push(NewProcessedCommand {
        command_id: command.command_id,
        order_id,
        outcome: "applied",
        rejection_code: None,
        processed_at: now,
        body_hash: command.fingerprint,
        event_id: event.event_id,
        event_type: event.event_type,
        rejection_message: None,
    });
    writes.outbox.push(event);
}

pub(super) fn record_rejection(
    writes: &mut Writes,
    command: &Command,
    rejection: &Rejection,
    now: DateTime<Utc>,
) {
    let event = events::rejected(command, rejection, now);
    writes.processed.push(NewProcessedCommand {
        command_id: command.command_id,
        order_id: command.order_id,
        outcome: "rejected",
        rejection_code: Some(rejection.code.as_str()),
        processed_at: now,
        body_hash: command.fingerprint,
        event_id: event.event_id,
        event_type: event.event_type,
        rejection_message: Some(rejection.message.clone()),
    });
    writes.outbox.push(event);
}

/// Writes every row of the batch and `offsets` in ONE statement (see
/// [`OneStatement`]: one round trip). Created orders are inserted with
/// their state at the end of the batch, and new payments with their last
/// status, so that no row is written twice. Returns the outbox rows with
/// the ids they were given, or [`Stale`] when an order's row no longer has
/// the version read (the caller rolls back).
pub(super) fn write(
    conn: &mut PgConnection,
    orders: &HashMap<Uuid, WorkingOrder>,
    writes: Writes,
    offsets: &[ConsumerOffset],
    now: DateTime<Utc>,
) -> QueryResult<Result<Vec<OutboxMessage>, Stale>> {
    let mut new_orders = Vec::new();
    let mut updates = Vec::new();
    for (id, working) in orders.iter().filter(|(_, w)| w.changed || w.cached) {
        let state = &working.state;
        match &working.created {
            Some(created) => new_orders.push(NewOrder {
                id: *id,
                user_id: &created.user_id,
                status: state.status.as_str(),
                payment_status: state.payment_status.as_str(),
                total_amount: state.total_amount,
                currency: &created.currency,
                shipping_address: &created.shipping_address,
                order_date: created.order_date,
                updated_at: now,
                version: state.version,
                item_count: item_count(state),
            }),
            None => updates.push(OrderUpdate {
                id: *id,
                status: state.status.as_str(),
                payment_status: state.payment_status.as_str(),
                total_amount: state.total_amount,
                version: state.version,
                item_count: item_count(state),
                read_version: working.read_version,
                changed: working.changed,
            }),
        }
    }
    // In id order, as `Order::lock_many` locks.
    updates.sort_unstable_by_key(|u| u.id);
    let payment_updates: Vec<(&str, &str)> = writes
        .payment_updates
        .iter()
        .map(|(transaction_id, status)| (transaction_id.as_str(), status.as_str()))
        .collect();
    // In this order: a payment's status before its replacement's insert
    // (one active payment per order), the outbox last, so that a refused
    // write draws no outbox ids (foreign keys, checked at the statement's
    // end, and the outbox's own unique event id aside).
    let mut one = OneStatement::default();
    NewOrder::add_to(&mut one, &new_orders);
    Order::add_updates_to(&mut one, &updates, now);
    NewOrderItem::add_to(&mut one, &writes.items);
    Payment::add_statuses_to(&mut one, &payment_updates, now);
    NewPayment::add_to(&mut one, &writes.new_payments);
    NewStatusChange::add_to(&mut one, &writes.history);
    NewProcessedCommand::add_to(&mut one, &writes.processed);
    ConsumerOffset::add_saves_to(&mut one, offsets);
    NewOutboxMessage::add_to(&mut one, &writes.outbox);
    let ran = one.run(conn)?;
    if usize::try_from(ran.counted).ok() != Some(updates.len()) {
        return Ok(Err(Stale));
    }
    Ok(Ok(writes
        .outbox
        .into_iter()
        .zip(ran.ids)
        .map(|(row, id)| row.with_id(id))
        .collect()))
}

/// The column's value (`i32::MAX` items would take as many commands).
fn item_count(state: &OrderState) -> i32 {
    i32::try_from(state.item_count).unwrap_or(i32::MAX)
}
