use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::processed_commands;

/// Marks a command as done. Its primary key is what makes a redelivered
/// command a no-op, also when two instances race for it.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = processed_commands, check_for_backend(diesel::pg::Pg))]
pub struct NewProcessedCommand {
    pub command_id: Uuid,
    pub order_id: Uuid,
    pub outcome: &'static str,
    pub rejection_code: Option<&'static str>,
    pub processed_at: DateTime<Utc>,
}

impl NewProcessedCommand {
    /// Which of `ids` were processed before.
    pub fn known(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
        processed_commands::table
            .filter(processed_commands::command_id.eq_any(ids))
            .select(processed_commands::command_id)
            .load(conn)
    }

    pub fn insert_all(conn: &mut PgConnection, rows: &[NewProcessedCommand]) -> QueryResult<usize> {
        if rows.is_empty() {
            return Ok(0);
        }
        diesel::insert_into(processed_commands::table)
            .values(rows)
            .execute(conn)
    }
}
