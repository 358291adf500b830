//! The command processor: applies a batch of decoded commands to PostgreSQL
//! in ONE transaction — state rows, `processed_commands` rows and outbox rows
//! together — so a batch is either wholly durable or not at all.
//!
//! Guarantees:
//! - A command whose `command_id` is in `processed_commands` changes nothing
//!   and emits nothing. Two instances racing for the same command collide on
//!   that primary key; the loser's batch is retried and finds it processed.
//! - A broken rule is not an error: the command is recorded as rejected and
//!   a `CommandRejected` event is written.
//! - A command the schema refuses (a CHECK or key the rules did not foresee)
//!   does not take its batch down: the batch is re-applied one command per
//!   transaction, and the refused one is recorded as `VALIDATION_FAILED`.
//! - Any other error (connection lost, database down) fails the whole batch
//!   with nothing written; the caller retries it.

mod batch;

use std::collections::BTreeMap;

use diesel::PgConnection;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::models::ConsumerOffset;
use crate::db::{Database, DbError};
use crate::domain::Command;

/// What happened to the commands of a batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    pub applied: usize,
    pub rejected: usize,
    /// Commands whose `command_id` was processed before.
    pub duplicates: usize,
    /// Applied and rejected commands by (kind, rejection code; `None` when
    /// applied), for the metrics.
    pub tally: BTreeMap<(&'static str, Option<&'static str>), usize>,
}

impl BatchOutcome {
    fn count_applied(&mut self, kind: &'static str) {
        self.applied += 1;
        *self.tally.entry((kind, None)).or_default() += 1;
    }

    fn count_rejected(&mut self, kind: &'static str, code: &'static str) {
        self.rejected += 1;
        *self.tally.entry((kind, Some(code))).or_default() += 1;
    }
}

impl std::ops::AddAssign for BatchOutcome {
    fn add_assign(&mut self, other: Self) {
        self.applied += other.applied;
        self.rejected += other.rejected;
        self.duplicates += other.duplicates;
        for (key, count) in other.tally {
            *self.tally.entry(key).or_default() += count;
        }
    }
}

#[derive(Clone)]
pub struct CommandProcessor {
    db: Database,
}

impl CommandProcessor {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Applies `commands` (in delivery order) and records the consumer
    /// positions `offsets` in the same transaction, then commits. On `Err`
    /// nothing was written.
    pub async fn apply_batch(
        &self,
        commands: Vec<Command>,
        offsets: Vec<ConsumerOffset>,
    ) -> Result<BatchOutcome, DbError> {
        self.db
            .run(move |conn| match batch::apply(conn, &commands, &offsets) {
                Ok(outcome) => Ok(outcome),
                Err(e) if is_refusal(&e) => {
                    tracing::warn!(error = %e, size = commands.len(), "batch refused by the schema, applying its commands one by one");
                    let mut total = BatchOutcome::default();
                    for command in &commands {
                        total += apply_alone(conn, command)?;
                    }
                    // After the commands: a crash in between replays them, harmlessly.
                    ConsumerOffset::save_all(conn, &offsets)?;
                    Ok(total)
                }
                Err(e) => Err(e.into()),
            })
            .await
    }
}

/// One command in a transaction of its own; if the schema refuses it, it is
/// recorded as rejected.
fn apply_alone(conn: &mut PgConnection, command: &Command) -> Result<BatchOutcome, DbError> {
    match batch::apply(conn, std::slice::from_ref(command), &[]) {
        Ok(outcome) => Ok(outcome),
        Err(e) if is_refusal(&e) => {
            tracing::warn!(error = %e, command_id = %command.command_id, "command refused by the schema");
            Ok(batch::record_refusal(conn, command, &e)?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Errors that say "this data is wrong", as opposed to "the database is not
/// working": retrying the same data would fail the same way.
fn is_refusal(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(kind, info) => {
            matches!(
                kind,
                DatabaseErrorKind::UniqueViolation
                    | DatabaseErrorKind::ForeignKeyViolation
                    | DatabaseErrorKind::CheckViolation
                    | DatabaseErrorKind::NotNullViolation
            ) || refusal_message(info.message())
        }
        _ => false,
    }
}

/// Class 22 (data exception) errors that diesel does not map to a kind.
fn refusal_message(message: &str) -> bool {
    [
        "out of range",
        "value too long",
        "invalid byte sequence",
        "invalid input syntax",
    ]
    .iter()
    .any(|needle| message.contains(needle))
}
