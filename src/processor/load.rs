//! What a batch reads before it decides: the orders it touches, row-locked
//! (their rows carry the item counts), their payments, and which of its
//! transaction ids are taken.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use uuid::Uuid;

use super::writes::WorkingOrder;
use crate::db::models::{Order, Payment};
use crate::domain::{Command, CommandBody, OrderState, OrderStatus, PaymentState, PaymentStatus};

/// Loads and row-locks the orders `ids` name, in id order (the query is
/// sent for an empty list too: it takes the transaction's id, see
/// [`Order::lock_many`]). An order `cached` knows at the version read is
/// taken from it, its payments not read; returns how many were.
pub(super) fn load_orders(
    conn: &mut PgConnection,
    mut ids: Vec<Uuid>,
    cached: Option<&HashMap<Uuid, OrderState>>,
) -> QueryResult<(HashMap<Uuid, WorkingOrder>, usize)> {
    ids.sort_unstable();
    ids.dedup();
    let rows = Order::lock_many(conn, &ids)?;
    let mut orders = HashMap::with_capacity(rows.len());
    let mut unknown = Vec::new();
    for row in rows {
        match cached.and_then(|c| c.get(&row.id)) {
            Some(state) if state.version == row.version => {
                orders.insert(row.id, WorkingOrder::read(state.clone()));
            }
            _ => unknown.push(row),
        }
    }
    let from_cache = orders.len();
    if unknown.is_empty() {
        return Ok((orders, from_cache));
    }
    let ids: Vec<Uuid> = unknown.iter().map(|o| o.id).collect();
    let mut payments: HashMap<Uuid, Vec<PaymentState>> = HashMap::new();
    for p in Payment::for_orders(conn, &ids)? {
        payments.entry(p.order_id).or_default().push(PaymentState {
            status: parse_status(PaymentStatus::parse(&p.status), &p.status)?,
            transaction_id: p.transaction_id,
        });
    }
    for o in unknown {
        let state = OrderState {
            status: parse_status(OrderStatus::parse(&o.status), &o.status)?,
            payment_status: parse_status(
                PaymentStatus::parse(&o.payment_status),
                &o.payment_status,
            )?,
            total_amount: o.total_amount,
            item_count: u32::try_from(o.item_count).unwrap_or_default(),
            version: o.version,
            payments: payments.remove(&o.id).unwrap_or_default(),
        };
        orders.insert(o.id, WorkingOrder::read(state));
    }
    Ok((orders, from_cache))
}

/// The CHECK constraints make an unknown status impossible; should one
/// appear anyway, the batch fails rather than guessing.
fn parse_status<T>(parsed: Option<T>, text: &str) -> QueryResult<T> {
    parsed
        .ok_or_else(|| DieselError::DeserializationError(format!("unknown status {text:?}").into()))
}

pub(super) fn taken_transaction_ids(
    conn: &mut PgConnection,
    commands: &[Command],
) -> QueryResult<HashSet<String>> {
    let wanted: Vec<&str> = commands
        .iter()
        .filter_map(|c| match &c.body {
            CommandBody::ProcessPayment(p) => Some(p.transaction_id.as_str()),
            _ => None,
        })
        .collect();
    Ok(Payment::taken_transaction_ids(conn, &wanted)?
        .into_iter()
        .collect())
}
