use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::order_status_history;

/// One row of `order_status_history`: every change of an order's status,
/// including its creation (`from_status` NULL).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = order_status_history, check_for_backend(diesel::pg::Pg))]
pub struct StatusChange {
    pub id: Uuid,
    pub order_id: Uuid,
    pub from_status: Option<String>,
    pub status: String,
    pub reason: Option<String>,
    pub timestamp: DateTime<Utc>,
    pub command_id: Uuid,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = order_status_history, check_for_backend(diesel::pg::Pg))]
pub struct NewStatusChange {
    pub id: Uuid,
    pub order_id: Uuid,
    pub from_status: Option<&'static str>,
    pub status: &'static str,
    pub reason: Option<String>,
    pub timestamp: DateTime<Utc>,
    pub command_id: Uuid,
}

impl StatusChange {
    pub fn for_order(conn: &mut PgConnection, order_id: Uuid) -> QueryResult<Vec<StatusChange>> {
        order_status_history::table
            .filter(order_status_history::order_id.eq(order_id))
            .order((order_status_history::timestamp, order_status_history::id))
            .select(StatusChange::as_select())
            .load(conn)
    }
}

impl NewStatusChange {
    pub fn insert_all(conn: &mut PgConnection, rows: &[NewStatusChange]) -> QueryResult<usize> {
        if rows.is_empty() {
            return Ok(0);
        }
        diesel::insert_into(order_status_history::table)
            .values(rows)
            .execute(conn)
    }
}
