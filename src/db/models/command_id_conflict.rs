//! `command_id_conflicts`: the answers given to commands whose id another
//! command had taken. Such an answer's event id is derived from the command,
//! so it is claimed here, once, before its outbox row is written: however
//! often the command is delivered, and by whichever instance, one answer.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::command_id_conflicts;

pub struct CommandIdConflict;

impl CommandIdConflict {
    /// Claims `event_ids`; returns those claimed now (the others were
    /// answered before). A claim another transaction holds waits for it
    /// to end, and counts as answered if it commits.
    pub fn claim(conn: &mut PgConnection, event_ids: &HashSet<Uuid>) -> QueryResult<HashSet<Uuid>> {
        // In one order everywhere: two instances claiming the same ids
        // (in a rebalance race) wait for each other instead of deadlocking.
        let mut ids: Vec<Uuid> = event_ids.iter().copied().collect();
        ids.sort_unstable();
        let rows: Vec<_> = ids
            .into_iter()
            .map(|id| command_id_conflicts::event_id.eq(id))
            .collect();
        Ok(diesel::insert_into(command_id_conflicts::table)
            .values(rows)
            .on_conflict_do_nothing()
            .returning(command_id_conflicts::event_id)
            .get_results::<Uuid>(conn)?
            .into_iter()
            .collect())
    }

    /// Deletes up to `limit` claims made before `before`.
    pub fn purge(conn: &mut PgConnection, before: DateTime<Utc>, limit: i64) -> QueryResult<usize> {
        super::expiry::purge_oldest(
            conn,
            "command_id_conflicts",
            "event_id",
            "answered_at",
            before,
            limit,
        )
    }
}
