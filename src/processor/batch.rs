//! One batch in one transaction: load the state of every order the batch
//! touches (row-locked), decide each command in memory in delivery order,
//! then write everything with multi-row statements.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use uuid::Uuid;

use super::BatchOutcome;
use crate::db::models::{
    ConsumerOffset, NewOrder, NewOrderItem, NewOutboxMessage, NewPayment, NewProcessedCommand,
    NewStatusChange, Order, OrderItem, OrderUpdate, Payment, ProcessedFingerprint,
};
use crate::domain::{
    self, Change, Command, CommandBody, Facts, OrderState, OrderStatus, PaymentState,
    PaymentStatus, Rejection, RejectionCode,
};
use crate::events;
use crate::proto::OrderCommand;

/// An order as the batch sees it: loaded or created in this batch.
struct WorkingOrder {
    state: OrderState,
    /// Set for an order created in this batch: it is inserted, not updated.
    created: Option<Created>,
    changed: bool,
}

struct Created {
    user_id: String,
    shipping_address: String,
    currency: String,
    order_date: DateTime<Utc>,
}

/// Rows to write at the end of the batch.
#[derive(Default)]
struct Writes {
    items: Vec<NewOrderItem>,
    new_payments: Vec<NewPayment>,
    /// Final status of payments that existed before the batch.
    payment_updates: HashMap<String, PaymentStatus>,
    history: Vec<NewStatusChange>,
    outbox: Vec<NewOutboxMessage>,
    processed: Vec<NewProcessedCommand>,
}

pub(super) fn apply(
    conn: &mut PgConnection,
    commands: &[Command],
    offsets: &[ConsumerOffset],
) -> QueryResult<BatchOutcome> {
    conn.transaction(|conn| {
        // Lock first: a concurrent batch holding these orders (another
        // instance, mid-rebalance) commits before the dedup check below.
        let mut orders = load_orders(conn, commands)?;
        let command_ids: Vec<Uuid> = commands.iter().map(|c| c.command_id).collect();
        let mut seen: HashMap<Uuid, ProcessedFingerprint> =
            NewProcessedCommand::known(conn, &command_ids)?
                .into_iter()
                .collect();
        let mut taken = taken_transaction_ids(conn, commands)?;

        let mut outcome = BatchOutcome::default();
        let mut writes = Writes::default();
        for command in commands {
            // Per command, so that rows and events of one batch keep their order in time.
            let now = Utc::now();
            let fingerprint = ProcessedFingerprint {
                order_id: command.order_id,
                body_hash: Some(body_hash(command)),
            };
            if let Some(earlier) = seen.get(&command.command_id) {
                if is_redelivery(earlier, &fingerprint) {
                    outcome.duplicates += 1;
                } else {
                    // The earlier command stands; this one is answered for
                    // the order it names, and recorded nowhere else (its
                    // id is taken).
                    let rejection = Rejection::new(
                        RejectionCode::CommandIdConflict,
                        "command_id was already used for another order or another command",
                    );
                    writes
                        .outbox
                        .push(events::rejected(command, &rejection, now));
                    outcome.count_rejected(command.body.kind(), rejection.code.as_str());
                }
                continue;
            }
            seen.insert(command.command_id, fingerprint);
            let working = orders.get(&command.order_id);
            let facts = Facts {
                transaction_id_taken: match &command.body {
                    CommandBody::ProcessPayment { transaction_id, .. } => {
                        taken.contains(transaction_id)
                    }
                    _ => false,
                },
            };
            match domain::decide(working.map(|w| &w.state), &command.body, facts) {
                Ok(change) => {
                    if let Change::PaymentProcessed { transaction_id, .. } = &change {
                        taken.insert(transaction_id.clone());
                    }
                    record_change(&mut orders, &mut writes, command, change, now);
                    outcome.count_applied(command.body.kind());
                }
                Err(rejection) => {
                    record_rejection(&mut writes, command, &rejection, now);
                    outcome.count_rejected(command.body.kind(), rejection.code.as_str());
                }
            }
        }
        write(conn, &orders, writes, Utc::now())?;
        ConsumerOffset::save_all(conn, offsets)?;
        Ok(outcome)
    })
}

/// The same command delivered again: same order, same body (or a row from
/// before fingerprints, which cannot tell).
fn is_redelivery(earlier: &ProcessedFingerprint, now: &ProcessedFingerprint) -> bool {
    earlier.order_id == now.order_id
        && earlier
            .body_hash
            .is_none_or(|hash| Some(hash) == now.body_hash)
}

/// A fingerprint of what a command says: FNV-1a (64 bit) over its order id
/// and its body's protobuf encoding; envelope fields that a resend may
/// change (correlation_id, issued_at) are left out. Stable across builds.
pub fn body_hash(command: &Command) -> i64 {
    let wire = OrderCommand::from(command);
    let mut bytes = command.order_id.as_bytes().to_vec();
    if let Some(body) = &wire.command {
        body.encode(&mut bytes);
    }
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    });
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// Records a command the schema refused, in a transaction of its own.
pub(super) fn record_refusal(
    conn: &mut PgConnection,
    command: &Command,
    error: &DieselError,
) -> QueryResult<BatchOutcome> {
    let rejection = Rejection::new(RejectionCode::ValidationFailed, refusal_text(error));
    conn.transaction(|conn| {
        let now = Utc::now();
        if !NewProcessedCommand::known(conn, &[command.command_id])?.is_empty() {
            return Ok(BatchOutcome {
                duplicates: 1,
                ..BatchOutcome::default()
            });
        }
        let mut writes = Writes::default();
        record_rejection(&mut writes, command, &rejection, now);
        write(conn, &HashMap::new(), writes, now)?;
        let mut outcome = BatchOutcome::default();
        outcome.count_rejected(command.body.kind(), rejection.code.as_str());
        Ok(outcome)
    })
}

/// What a `CommandRejected` says of a refusal: the kind of rule and the
/// constraint's name, never the server's message (its language and wording
/// are the server's).
fn refusal_text(error: &DieselError) -> String {
    let DieselError::DatabaseError(kind, info) = error else {
        return "refused by the database".to_owned();
    };
    let rule = match kind {
        DatabaseErrorKind::UniqueViolation => "a unique key",
        DatabaseErrorKind::ForeignKeyViolation => "a foreign key",
        DatabaseErrorKind::CheckViolation => "a check constraint",
        DatabaseErrorKind::NotNullViolation => "a required column",
        _ => "a rule of the schema",
    };
    match info.constraint_name() {
        Some(name) => format!("refused by the database: it breaks {rule} ({name})"),
        None => format!("refused by the database: it breaks {rule}"),
    }
}

fn load_orders(
    conn: &mut PgConnection,
    commands: &[Command],
) -> QueryResult<HashMap<Uuid, WorkingOrder>> {
    let mut ids: Vec<Uuid> = commands.iter().map(|c| c.order_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let rows = Order::lock_many(conn, &ids)?;
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|o| o.id).collect();
    let counts: HashMap<Uuid, i64> = OrderItem::count_by_order(conn, &ids)?.into_iter().collect();
    let mut payments: HashMap<Uuid, Vec<PaymentState>> = HashMap::new();
    for p in Payment::for_orders(conn, &ids)? {
        payments.entry(p.order_id).or_default().push(PaymentState {
            status: parse_status(PaymentStatus::parse(&p.status), &p.status)?,
            transaction_id: p.transaction_id,
        });
    }
    rows.into_iter()
        .map(|o| {
            let state = OrderState {
                status: parse_status(OrderStatus::parse(&o.status), &o.status)?,
                payment_status: parse_status(
                    PaymentStatus::parse(&o.payment_status),
                    &o.payment_status,
                )?,
                total_amount: o.total_amount,
                item_count: u32::try_from(counts.get(&o.id).copied().unwrap_or(0))
                    .unwrap_or(u32::MAX),
                version: o.version,
                payments: payments.remove(&o.id).unwrap_or_default(),
            };
            Ok((
                o.id,
                WorkingOrder {
                    state,
                    created: None,
                    changed: false,
                },
            ))
        })
        .collect()
}

/// The CHECK constraints make an unknown status impossible; should one
/// appear anyway, the batch fails rather than guessing.
fn parse_status<T>(parsed: Option<T>, text: &str) -> QueryResult<T> {
    parsed
        .ok_or_else(|| DieselError::DeserializationError(format!("unknown status {text:?}").into()))
}

fn taken_transaction_ids(
    conn: &mut PgConnection,
    commands: &[Command],
) -> QueryResult<HashSet<String>> {
    let wanted: Vec<&str> = commands
        .iter()
        .filter_map(|c| match &c.body {
            CommandBody::ProcessPayment { transaction_id, .. } => Some(transaction_id.as_str()),
            _ => None,
        })
        .collect();
    Ok(Payment::taken_transaction_ids(conn, &wanted)?
        .into_iter()
        .collect())
}

fn record_change(
    orders: &mut HashMap<Uuid, WorkingOrder>,
    writes: &mut Writes,
    command: &Command,
    change: Change,
    now: DateTime<Utc>,
) {
    let order_id = command.order_id;
    let row_id = Uuid::new_v4();
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
        } => {
            match writes
                .new_payments
                .iter_mut()
                .find(|p| &p.transaction_id == transaction_id)
            {
                Some(new) => new.status = to.as_str(),
                None => {
                    writes.payment_updates.insert(transaction_id.clone(), *to);
                }
            }
        }
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
        body_hash: body_hash(command),
        event_id: event.event_id,
        event_type: event.event_type,
        rejection_message: None,
    });
    writes.outbox.push(event);
}

fn record_rejection(
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
        body_hash: body_hash(command),
        event_id: event.event_id,
        event_type: event.event_type,
        rejection_message: Some(rejection.message.clone()),
    });
    writes.outbox.push(event);
}

/// Writes in foreign-key order: orders before the rows that reference them.
fn write(
    conn: &mut PgConnection,
    orders: &HashMap<Uuid, WorkingOrder>,
    writes: Writes,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let mut new_orders = Vec::new();
    let mut updates = Vec::new();
    for (id, working) in orders.iter().filter(|(_, w)| w.changed) {
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
            }),
            None => updates.push(OrderUpdate {
                id: *id,
                status: state.status.as_str(),
                payment_status: state.payment_status.as_str(),
                total_amount: state.total_amount,
                version: state.version,
            }),
        }
    }
    NewOrder::insert_all(conn, &new_orders)?;
    Order::update_many(conn, &updates, now)?;
    NewOrderItem::insert_all(conn, &writes.items)?;
    let payment_updates: Vec<(&str, &str)> = writes
        .payment_updates
        .iter()
        .map(|(transaction_id, status)| (transaction_id.as_str(), status.as_str()))
        .collect();
    Payment::set_statuses(conn, &payment_updates, now)?;
    NewPayment::insert_all(conn, &writes.new_payments)?;
    NewStatusChange::insert_all(conn, &writes.history)?;
    NewOutboxMessage::insert_all(conn, &writes.outbox)?;
    NewProcessedCommand::insert_all(conn, &writes.processed)?;
    Ok(())
}
