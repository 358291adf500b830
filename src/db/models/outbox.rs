use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::outbox;

/// An event waiting for (or done with) publication.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
pub struct OutboxMessage {
    pub id: i64,
    pub event_id: Uuid,
    pub order_id: Uuid,
    pub event_type: String,
    pub payload: Vec<u8>,
    pub headers: serde_json::Value,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
pub struct NewOutboxMessage {
    pub event_id: Uuid,
    pub order_id: Uuid,
    pub event_type: &'static str,
    pub payload: Vec<u8>,
    pub headers: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl OutboxMessage {
    /// The oldest unpublished events, in the order they were written.
    pub fn pending(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<OutboxMessage>> {
        outbox::table
            .filter(outbox::published_at.is_null())
            .order(outbox::id)
            .limit(limit)
            .select(OutboxMessage::as_select())
            .load(conn)
    }

    pub fn mark_published(
        conn: &mut PgConnection,
        ids: &[i64],
        at: DateTime<Utc>,
    ) -> QueryResult<usize> {
        diesel::update(outbox::table.filter(outbox::id.eq_any(ids)))
            .set(outbox::published_at.eq(at))
            .execute(conn)
    }
}

impl NewOutboxMessage {
    pub fn insert_all(conn: &mut PgConnection, rows: &[NewOutboxMessage]) -> QueryResult<usize> {
        if rows.is_empty() {
            return Ok(0);
        }
        diesel::insert_into(outbox::table)
            .values(rows)
            .execute(conn)
    }
}
