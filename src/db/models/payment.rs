//! `payments`: the payments of an order, by provider `transaction_id`
//! (unique across orders), and their status changes.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use diesel::sql_types::{Array, BigInt, Text, Timestamptz, Uuid as SqlUuid};

use super::unnest::{AFTER, OneStatement};
use crate::db::schema::payments;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = payments, check_for_backend(diesel::pg::Pg))]
pub struct Payment {
    pub id: Uuid,
    pub order_id: Uuid,
    pub amount: i64,
    pub payment_method: String,
    pub status: String,
    pub transaction_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewPayment {
    pub id: Uuid,
    pub order_id: Uuid,
    pub amount: i64,
    pub payment_method: String,
    pub status: &'static str,
    pub transaction_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Payment {
    /// All payments of the given orders, oldest first.
    pub fn for_orders(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Payment>> {
        payments::table
            .filter(payments::order_id.eq_any(ids))
            .order((payments::created_at, payments::id))
            .select(Payment::as_select())
            .load(conn)
    }

    /// Which of `transaction_ids` some payment already uses.
    pub fn taken_transaction_ids(
        conn: &mut PgConnection,
        transaction_ids: &[&str],
    ) -> QueryResult<Vec<String>> {
        if transaction_ids.is_empty() {
            return Ok(Vec::new());
        }
        payments::table
            .filter(payments::transaction_id.eq_any(transaction_ids))
            .select(payments::transaction_id)
            .load(conn)
    }

    /// Adds setting the status of many payments, by transaction id, to
    /// `one` (nothing when there are none).
    pub fn add_statuses_to<'a>(
        one: &mut OneStatement<'a>,
        updates: &[(&'a str, &'a str)],
        at: DateTime<Utc>,
    ) {
        if updates.is_empty() {
            return;
        }
        let n = one.next_param();
        one.bind::<Array<Text>, _>(updates.iter().map(|u| u.0).collect::<Vec<_>>());
        one.bind::<Array<Text>, _>(updates.iter().map(|u| u.1).collect::<Vec<_>>());
        one.bind::<Timestamptz, _>(at);
        one.add(format!(
            "UPDATE payments AS p SET status = v.status, updated_at = ${} \
             FROM unnest(${}::text[], ${}::text[]) AS v(transaction_id, status) \
             WHERE p.transaction_id = v.transaction_id AND {AFTER}",
            n + 2,
            n,
            n + 1
        ));
    }
}

impl NewPayment {
    /// Adds the insert of `rows` to `one` (see `NewOrder::add_to`).
    pub fn add_to<'a>(one: &mut OneStatement<'a>, rows: &'a [NewPayment]) {
        crate::insert_unnest!(
            one,
            rows,
            payments {
                id: SqlUuid = |r| r.id,
                order_id: SqlUuid = |r| r.order_id,
                amount: BigInt = |r| r.amount,
                payment_method: Text = |r| r.payment_method.as_str(),
                status: Text = |r| r.status,
                transaction_id: Text = |r| r.transaction_id.as_str(),
                created_at: Timestamptz = |r| r.created_at,
                updated_at: Timestamptz = |r| r.updated_at,
            }
        )
    }
}
