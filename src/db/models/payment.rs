use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

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

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = payments, check_for_backend(diesel::pg::Pg))]
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

    pub fn set_status(
        conn: &mut PgConnection,
        transaction_id: &str,
        status: &str,
        at: DateTime<Utc>,
    ) -> QueryResult<()> {
        diesel::update(payments::table.filter(payments::transaction_id.eq(transaction_id)))
            .set((payments::status.eq(status), payments::updated_at.eq(at)))
            .execute(conn)
            .map(drop)
    }
}

impl NewPayment {
    pub fn insert_all(conn: &mut PgConnection, rows: &[NewPayment]) -> QueryResult<usize> {
        if rows.is_empty() {
            return Ok(0);
        }
        diesel::insert_into(payments::table)
            .values(rows)
            .execute(conn)
    }
}
