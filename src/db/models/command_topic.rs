//! `command_topics`: the partition count of the command topic the service
//! recorded, to notice the topic grown (keys would map to other
//! partitions, and an order's commands could be applied out of order).

use diesel::prelude::*;
use diesel::upsert::excluded;

use crate::db::schema::command_topics;

pub struct CommandTopic;

impl CommandTopic {
    /// The recorded count of `topic`; `seen` is recorded first when there
    /// is none yet.
    pub fn record_first(conn: &mut PgConnection, topic: &str, seen: i32) -> QueryResult<i32> {
        diesel::insert_into(command_topics::table)
            .values((
                command_topics::topic.eq(topic),
                command_topics::partitions.eq(seen),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
        command_topics::table
            .find(topic)
            .select(command_topics::partitions)
            .first(conn)
    }

    /// The recorded count of `topic`, if any.
    pub fn recorded(conn: &mut PgConnection, topic: &str) -> QueryResult<Option<i32>> {
        command_topics::table
            .find(topic)
            .select(command_topics::partitions)
            .first(conn)
            .optional()
    }

    /// Records `partitions` as `topic`'s count (an operator accepts the
    /// topic as grown).
    pub fn accept(conn: &mut PgConnection, topic: &str, partitions: i32) -> QueryResult<()> {
        diesel::insert_into(command_topics::table)
            .values((
                command_topics::topic.eq(topic),
                command_topics::partitions.eq(partitions),
            ))
            .on_conflict(command_topics::topic)
            .do_update()
            .set((
                command_topics::partitions.eq(excluded(command_topics::partitions)),
                command_topics::recorded_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .map(drop)
    }
}
