//! `processed_commands`: one row per command the service processed (applied
//! or rejected). Its primary key makes a redelivery a no-op; its columns say
//! what the outcome was, for `GET /commands/{id}` and answers that wait.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};

use super::unnest::OneStatement;
use crate::db::schema::processed_commands;

/// Marks a command as done. Its primary key is what makes a redelivered
/// command a no-op, also when two instances race for it.
#[derive(Debug, Clone)]
pub struct NewProcessedCommand {
    pub command_id: Uuid,
    pub order_id: Uuid,
    pub outcome: &'static str,
    pub rejection_code: Option<&'static str>,
    pub processed_at: DateTime<Utc>,
    /// Fingerprint of the order id and body (see `proto::fingerprint`).
    pub body_hash: i64,
    /// The event the command caused.
    pub event_id: Uuid,
    pub event_type: &'static str,
    /// For a rejection, what the `CommandRejected` says.
    pub rejection_message: Option<String>,
}

/// A processed command as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = processed_commands, check_for_backend(diesel::pg::Pg))]
pub struct ProcessedCommand {
    pub command_id: Uuid,
    pub order_id: Uuid,
    /// `applied` or `rejected`.
    pub outcome: String,
    pub rejection_code: Option<String>,
    pub processed_at: DateTime<Utc>,
    pub body_hash: Option<i64>,
    pub event_id: Option<Uuid>,
    pub event_type: Option<String>,
    pub rejection_message: Option<String>,
}

impl ProcessedCommand {
    pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<ProcessedCommand>> {
        processed_commands::table
            .find(id)
            .select(ProcessedCommand::as_select())
            .first(conn)
            .optional()
    }

    /// Which of `ids` were processed.
    pub fn which_of(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
        processed_commands::table
            .filter(processed_commands::command_id.eq_any(ids))
            .select(processed_commands::command_id)
            .load(conn)
    }
}

/// What a processed command said: its order and its body's fingerprint
/// (`None` for rows older than the fingerprint), and when it was processed
/// (its row is purged after `RETENTION_SECS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessedFingerprint {
    pub order_id: Uuid,
    pub body_hash: Option<i64>,
    pub processed_at: DateTime<Utc>,
}

impl NewProcessedCommand {
    /// Which of `ids` were processed before, and what they said.
    pub fn known(
        conn: &mut PgConnection,
        ids: &[Uuid],
    ) -> QueryResult<Vec<(Uuid, ProcessedFingerprint)>> {
        let rows: Vec<(Uuid, Uuid, Option<i64>, DateTime<Utc>)> = processed_commands::table
            .filter(processed_commands::command_id.eq_any(ids))
            .select((
                processed_commands::command_id,
                processed_commands::order_id,
                processed_commands::body_hash,
                processed_commands::processed_at,
            ))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|(id, order_id, body_hash, processed_at)| {
                (
                    id,
                    ProcessedFingerprint {
                        order_id,
                        body_hash,
                        processed_at,
                    },
                )
            })
            .collect())
    }

    /// Deletes up to `limit` rows processed before `before`, oldest first.
    /// A command delivered again after its row is gone would be applied
    /// again: retention must outlast any redelivery (the command topic's).
    pub fn purge(conn: &mut PgConnection, before: DateTime<Utc>, limit: i64) -> QueryResult<usize> {
        super::expiry::purge_oldest(
            conn,
            "processed_commands",
            "command_id",
            "processed_at",
            before,
            limit,
        )
    }

    /// Adds the insert of `rows` to `one` (see `NewOrder::add_to`).
    pub fn add_to<'a>(one: &mut OneStatement<'a>, rows: &'a [NewProcessedCommand]) {
        crate::insert_unnest!(one, rows, processed_commands {
            command_id: SqlUuid = |r| r.command_id,
            order_id: SqlUuid = |r| r.order_id,
            outcome: Text = |r| r.outcome,
            rejection_code: Nullable<Text> = |r| r.rejection_code,
            processed_at: Timestamptz = |r| r.processed_at,
            body_hash: Nullable<BigInt> = |r| Some(r.body_hash),
            event_id: Nullable<SqlUuid> = |r| Some(r.event_id),
            event_type: Nullable<Text> = |r| Some(r.event_type),
            rejection_message: Nullable<Text> = |r| r.rejection_message.as_deref(),
        })
    }
}
