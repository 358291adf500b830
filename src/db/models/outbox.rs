//! `outbox`: one row per event, written in the transaction of the command
//! that caused it (protobuf bytes, key, CloudEvents headers) and marked
//! `published_at` by the relay once the broker acknowledged it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use diesel::sql_types::{BigInt, Bytea, Jsonb, Text, Timestamptz, Uuid as SqlUuid};

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

#[derive(Debug, Clone)]
pub struct NewOutboxMessage {
    pub event_id: Uuid,
    pub order_id: Uuid,
    pub event_type: &'static str,
    pub payload: Vec<u8>,
    pub headers: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl OutboxMessage {
    /// The oldest unpublished events, in the order they were written,
    /// leaving out `skip` (the relay's rows already on their way).
    pub fn pending(
        conn: &mut PgConnection,
        limit: i64,
        skip: &[i64],
    ) -> QueryResult<Vec<OutboxMessage>> {
        outbox::table
            .filter(outbox::published_at.is_null())
            .filter(diesel::dsl::not(outbox::id.eq_any(skip)))
            .order(outbox::id)
            .limit(limit)
            .select(OutboxMessage::as_select())
            .load(conn)
    }

    /// Unpublished rows: how many, and when the oldest was written.
    pub fn backlog(conn: &mut PgConnection) -> QueryResult<(i64, Option<DateTime<Utc>>)> {
        outbox::table
            .filter(outbox::published_at.is_null())
            .select((
                diesel::dsl::count_star(),
                diesel::dsl::min(outbox::created_at),
            ))
            .get_result(conn)
    }

    /// Deletes rows published before `before`: of the `limit` oldest rows,
    /// those before the first one that is unpublished or younger.
    ///
    /// The relay publishes in id order, so `published_at` grows with the id
    /// and the expired rows are a prefix of the table. Reading a bounded head
    /// keeps every purge statement cheap, also when nothing has expired
    /// (`published_at` has no index, which would cost the relay's updates
    /// their HOT path).
    pub fn purge_published(
        conn: &mut PgConnection,
        before: DateTime<Utc>,
        limit: i64,
    ) -> QueryResult<usize> {
        diesel::sql_query(
            "WITH head AS (SELECT id, published_at FROM outbox ORDER BY id LIMIT $2), \
                  keep AS (SELECT min(id) AS id FROM head \
                           WHERE published_at IS NULL OR published_at >= $1) \
             DELETE FROM outbox WHERE id IN \
               (SELECT head.id FROM head, keep WHERE keep.id IS NULL OR head.id < keep.id)",
        )
        .bind::<Timestamptz, _>(before)
        .bind::<BigInt, _>(limit)
        .execute(conn)
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
    /// One statement for any number of rows (see `NewOrder::insert_all`).
    pub fn insert_all(conn: &mut PgConnection, rows: &[NewOutboxMessage]) -> QueryResult<usize> {
        // Ordered: the ids (the relay's publishing order) must follow the
        // order the events were written in.
        crate::insert_unnest!(conn, rows, outbox ordered {
            event_id: SqlUuid = |r| r.event_id,
            order_id: SqlUuid = |r| r.order_id,
            event_type: Text = |r| r.event_type,
            payload: Bytea = |r| r.payload.as_slice(),
            headers: Jsonb = |r| &r.headers,
            created_at: Timestamptz = |r| r.created_at,
        })
    }
}
