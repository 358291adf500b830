//! `consumer_offsets`: the next offset to read per group, topic and
//! partition, written in each batch's transaction (see
//! `processor::OffsetStore`); the consumer seeks there on every assignment.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;

use diesel::sql_types::{Array, BigInt, Integer, Text, Timestamptz};

use super::unnest::{AFTER, OneStatement};
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
    pub fn save_all(conn: &mut PgConnection, rows: &[ConsumerOffset]) -> QueryResult<()> {
        let mut one = OneStatement::default();
        Self::add_saves_to(&mut one, rows);
        one.run(conn).map(drop)
    }

    /// Adds [`save_all`](Self::save_all)'s upsert of `rows` (one per
    /// partition) to `one`.
    pub fn add_saves_to<'a>(one: &mut OneStatement<'a>, rows: &'a [ConsumerOffset]) {
        if rows.is_empty() {
            return;
        }
        let n = one.next_param();
        one.bind::<Array<Text>, _>(rows.iter().map(|r| r.group_id.as_str()).collect::<Vec<_>>());
        one.bind::<Array<Text>, _>(rows.iter().map(|r| r.topic.as_str()).collect::<Vec<_>>());
        one.bind::<Array<Integer>, _>(rows.iter().map(|r| r.partition).collect::<Vec<_>>());
        one.bind::<Array<BigInt>, _>(rows.iter().map(|r| r.next_offset).collect::<Vec<_>>());
        one.bind::<Array<Timestamptz>, _>(rows.iter().map(|r| r.updated_at).collect::<Vec<_>>());
        one.add(format!(
            "INSERT INTO consumer_offsets AS c (group_id, topic, \"partition\", next_offset, updated_at) \
             SELECT * FROM unnest(${}::text[], ${}::text[], ${}::int[], ${}::bigint[], ${}::timestamptz[]) WHERE {AFTER} \
             ON CONFLICT (group_id, topic, \"partition\") DO UPDATE \
             SET next_offset = excluded.next_offset, updated_at = excluded.updated_at \
             WHERE c.next_offset < excluded.next_offset",
            n,
            n + 1,
            n + 2,
            n + 3,
            n + 4
        ));
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
