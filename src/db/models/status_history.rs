//! `order_status_history`: every status an order took, with the status it
//! left, the reason, the time and the command that made the change.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use diesel::sql_types::{Nullable, Text, Timestamptz, Uuid as SqlUuid};

use super::unnest::OneStatement;
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

#[derive(Debug, Clone)]
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
    /// Adds the insert of `rows` to `one` (see `NewOrder::add_to`).
    pub fn add_to<'a>(one: &mut OneStatement<'a>, rows: &'a [NewStatusChange]) {
        crate::insert_unnest!(one, rows, order_status_history {
            id: SqlUuid = |r| r.id,
            order_id: SqlUuid = |r| r.order_id,
            from_status: Nullable<Text> = |r| r.from_status,
            status: Text = |r| r.status,
            reason: Nullable<Text> = |r| r.reason.as_deref(),
            timestamp: Timestamptz = |r| r.timestamp,
            command_id: SqlUuid = |r| r.command_id,
        })
    }
}
