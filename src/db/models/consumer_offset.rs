//! `consumer_offsets`: the next offset to read per group, topic and
//! partition, written in each batch's transaction (see
//! `processor::OffsetStore`); the consumer seeks there on every assignment.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;

use crate::db::schema::consumer_offsets;

/// The next offset to read on one partition, for one consumer group.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, Queryable, Selectable)]
#[diesel(table_name = consumer_offsets, check_for_backend(diesel::pg::Pg))]
pub struct ConsumerOffset {
    pub group_id: String,
    pub topic: String,
    pub partition: i32,
    pub next_offset: i64,
    pub updated_at: DateTime<Utc>,
}

impl ConsumerOffset {
    /// Upserts, forward only: a position never moves back, so a lane that
    /// finishes a partition revoked meanwhile cannot undo what its new owner
    /// saved. An operator moves positions back with `order-service
    /// positions reset`, which rewrites these rows.
    pub fn save_all(conn: &mut PgConnection, rows: &[ConsumerOffset]) -> QueryResult<usize> {
        // An upsert's WHERE comes from this trait, not from QueryDsl.
        use diesel::query_dsl::methods::FilterDsl;
        if rows.is_empty() {
            return Ok(0);
        }
        diesel::insert_into(consumer_offsets::table)
            .values(rows)
            .on_conflict((
                consumer_offsets::group_id,
                consumer_offsets::topic,
                consumer_offsets::partition,
            ))
            .do_update()
            .set((
                consumer_offsets::next_offset.eq(excluded(consumer_offsets::next_offset)),
                consumer_offsets::updated_at.eq(excluded(consumer_offsets::updated_at)),
            ))
            .filter(consumer_offsets::next_offset.lt(excluded(consumer_offsets::next_offset)))
            .execute(conn)
    }

    /// Upserts, whichever way the positions move: `positions reset`, with
    /// the group empty.
    pub fn overwrite_all(conn: &mut PgConnection, rows: &[ConsumerOffset]) -> QueryResult<usize> {
        diesel::insert_into(consumer_offsets::table)
            .values(rows)
            .on_conflict((
                consumer_offsets::group_id,
                consumer_offsets::topic,
                consumer_offsets::partition,
            ))
            .do_update()
            .set((
                consumer_offsets::next_offset.eq(excluded(consumer_offsets::next_offset)),
                consumer_offsets::updated_at.eq(excluded(consumer_offsets::updated_at)),
            ))
            .execute(conn)
    }

    /// The stored offsets of the group on `topic`.
    pub fn for_topic(
        conn: &mut PgConnection,
        group_id: &str,
        topic: &str,
    ) -> QueryResult<Vec<ConsumerOffset>> {
        consumer_offsets::table
            .filter(consumer_offsets::group_id.eq(group_id))
            .filter(consumer_offsets::topic.eq(topic))
            .select(ConsumerOffset::as_select())
            .load(conn)
    }
}
