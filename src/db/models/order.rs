use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::orders;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = orders, check_for_backend(diesel::pg::Pg))]
pub struct Order {
    pub id: Uuid,
    pub user_id: String,
    pub status: String,
    pub payment_status: String,
    pub total_amount: i64,
    pub currency: String,
    pub shipping_address: String,
    pub order_date: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = orders, check_for_backend(diesel::pg::Pg))]
pub struct NewOrder<'a> {
    pub id: Uuid,
    pub user_id: &'a str,
    pub status: &'a str,
    pub payment_status: &'a str,
    pub total_amount: i64,
    pub currency: &'a str,
    pub shipping_address: &'a str,
    pub order_date: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// The columns a command can change on an existing order.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = orders, check_for_backend(diesel::pg::Pg))]
pub struct OrderUpdate<'a> {
    pub status: &'a str,
    pub payment_status: &'a str,
    pub total_amount: i64,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl Order {
    pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<Order>> {
        orders::table
            .find(id)
            .select(Order::as_select())
            .first(conn)
            .optional()
    }

    /// Loads and row-locks the given orders, in id order so that concurrent
    /// batches lock in the same order and cannot deadlock.
    pub fn lock_many(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Order>> {
        orders::table
            .filter(orders::id.eq_any(ids))
            .order(orders::id)
            .for_update()
            .select(Order::as_select())
            .load(conn)
    }

    pub fn update(conn: &mut PgConnection, id: Uuid, update: &OrderUpdate<'_>) -> QueryResult<()> {
        diesel::update(orders::table.find(id))
            .set(update)
            .execute(conn)
            .map(drop)
    }
}

impl NewOrder<'_> {
    pub fn insert_all(conn: &mut PgConnection, rows: &[NewOrder<'_>]) -> QueryResult<usize> {
        if rows.is_empty() {
            return Ok(0);
        }
        diesel::insert_into(orders::table)
            .values(rows)
            .execute(conn)
    }
}
