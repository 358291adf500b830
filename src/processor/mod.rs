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
//! - A command the schema refuses (a constraint the rules did not foresee)
//!   does not take its batch down: the batch is re-applied one command per
//!   transaction, and the refused one is recorded as `VALIDATION_FAILED` —
//!   once a known-good command ([`probe`]) passes the same statements
//!   and the command is refused again right after, with the schema held
//!   still; when the probe fails too, the schema is at fault, not the
//!   command.
//! - The database's faults are never the command's (see [`crate::db::fault`]):
//!   a missing table, a revoked privilege, a lock or statement timeout, a
//!   read-only server fail the batch with nothing written, and the caller
//!   retries it for as long as it takes. A batch that keeps failing is
//!   applied command by command ([`CommandProcessor::apply_isolated`]): a
//!   command that fails alone again and again with an error about its data
//!   (SQLSTATE class 22 or 23), while a known-good command passes, is handed
//!   back as [`Quarantined`] (its place in the batch), for the caller to
//!   dead-letter as it came; the others are applied.
//! - Errors are told apart by SQLSTATE, never by the server's message
//!   text, which depends on its language.

mod batch;
mod load;
mod offsets;
mod outcomes;
mod probe;
mod writes;

pub use offsets::{NextOffset, OffsetStore};
pub use outcomes::{CommandOutcomes, Waiter};

use std::collections::BTreeMap;

use diesel::prelude::*;

use crate::backoff::Backoff;
use crate::db::fault::{self, Blame, UNIQUE_VIOLATION};
use crate::db::models::{ConsumerOffset, OutboxMessage};
use crate::db::{Database, DbError};
use crate::domain::Command;
use crate::excerpt;
use crate::handover::Handover;

/// Waits between the tries of a command applied alone: doubling from the
/// first to the second, jittered.
const ISOLATED_RETRY: std::time::Duration = std::time::Duration::from_millis(500);
const ISOLATED_RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(4);

/// A command that failed alone, again and again, while the database
/// answered: its data is what fails.
#[derive(Debug, Clone)]
pub struct Quarantined {
    /// Its place in the commands given.
    pub index: usize,
    /// Why, bounded (see [`excerpt::ERROR_BYTES`]).
    pub reason: String,
}

/// What [`CommandProcessor::apply_isolated`] did.
#[derive(Debug, Default)]
pub struct Isolated {
    pub outcome: BatchOutcome,
    pub quarantined: Vec<Quarantined>,
}

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
    /// Where the batch transactions record the consumer's positions.
    offsets: OffsetStore,
    /// Told which commands a committed transaction processed.
    outcomes: CommandOutcomes,
    /// Given the outbox rows of each committed transaction.
    handover: Handover,
}

impl CommandProcessor {
    pub fn new(
        db: Database,
        offsets: OffsetStore,
        outcomes: CommandOutcomes,
        handover: Handover,
    ) -> Self {
        Self {
            db,
            offsets,
            outcomes,
            handover,
        }
    }

    /// Applies `commands` (in delivery order) and records the consumer
    /// positions in the same transaction, then commits. On `Err` nothing
    /// was written.
    pub async fn apply_batch(
        &self,
        commands: Vec<Command>,
        positions: Vec<NextOffset>,
    ) -> Result<BatchOutcome, DbError> {
        let offsets = self.offsets.rows(&positions);
        let outcomes = self.outcomes.clone();
        let handover = self.handover.clone();
        self.db
            .run(move |conn| match batch::apply(conn, &commands, &offsets) {
                Ok((outcome, events)) => {
                    handover.committed(events);
                    outcomes.notify(commands.iter().map(|c| c.command_id));
                    Ok(outcome)
                }
                Err(e) if fault::is_constraint_refusal(&e) => {
                    tracing::warn!(error = %e, size = commands.len(), "batch refused by the schema, applying its commands one by one");
                    let mut total = BatchOutcome::default();
                    for command in &commands {
                        let (outcome, events) = apply_alone(conn, command)?;
                        handover.committed(events);
                        total += outcome;
                    }
                    // After the commands: a crash in between replays them, harmlessly.
                    ConsumerOffset::save_all(conn, &offsets)?;
                    outcomes.notify(commands.iter().map(|c| c.command_id));
                    Ok(total)
                }
                Err(e) => Err(e.into()),
            })
            .await
    }
}

impl CommandProcessor {
    /// Applies `commands` one per transaction, in order. A command failing
    /// with an error about its data (SQLSTATE class 22 or 23, or a unique
    /// violation that persists) is tried up to `attempts` times, waiting
    /// about 0.5 s, 1 s, 2 s … between tries; then, when no other session
    /// holds its order's row lock, once more in one transaction with the
    /// schema held still, right after a known-good command passed
    /// ([`probe`]): failing then, it is quarantined. Any other error is the
    /// database's and returned at once: the caller waits and retries the
    /// batch (commands applied meanwhile are then found processed).
    /// Positions are not saved: the caller dead-letters the quarantined
    /// commands first, then calls [`save_offsets`](Self::save_offsets). A
    /// crash in between replays the batch: applied commands are found
    /// processed, quarantined ones fail and are dead-lettered again.
    pub async fn apply_isolated(
        &self,
        commands: Vec<Command>,
        attempts: u32,
    ) -> Result<Isolated, DbError> {
        let outcomes = self.outcomes.clone();
        let handover = self.handover.clone();
        self.db
            .run(move |conn| {
                let mut isolated = Isolated::default();
                for (index, command) in commands.into_iter().enumerate() {
                    let attempts = attempts.max(1);
                    let mut failures = 0;
                    let mut backoff = Backoff::new(ISOLATED_RETRY, ISOLATED_RETRY_MAX);
                    loop {
                        let tried = if failures < attempts {
                            apply_alone(conn, &command)
                        } else {
                            // Judged: nobody else holds the order, and the
                            // database works for a known-good command.
                            if locked_elsewhere(conn, command.order_id)? {
                                return Err(DbError::Locked(command.order_id));
                            }
                            last_try(conn, &command)?
                        };
                        match tried {
                            Ok((outcome, events)) => {
                                handover.committed(events);
                                outcomes.notify([command.command_id]);
                                isolated.outcome += outcome;
                            }
                            Err(e) if is_the_commands(&e) && failures < attempts => {
                                failures += 1;
                                if failures < attempts {
                                    // A redelivery's race may pass: wait
                                    // before the next try.
                                    std::thread::sleep(backoff.next_delay());
                                }
                                continue;
                            }
                            Err(e) if is_the_commands(&e) => {
                                let tries = failures + 1;
                                tracing::warn!(command_id = %command.command_id, tries, sqlstate = e.sqlstate(), "command quarantined");
                                let reason = format!(
                                    "quarantined: failed {tries} times applied alone (SQLSTATE {}): {e}",
                                    e.sqlstate().unwrap_or("none")
                                );
                                isolated.quarantined.push(Quarantined {
                                    index,
                                    reason: excerpt::bounded(&reason, excerpt::ERROR_BYTES),
                                });
                            }
                            Err(e) => return Err(e),
                        }
                        break;
                    }
                }
                Ok(isolated)
            })
            .await
    }

    /// Records consumer positions in a short transaction of their own.
    pub async fn save_offsets(&self, positions: Vec<NextOffset>) -> Result<(), DbError> {
        let offsets = self.offsets.rows(&positions);
        self.db
            .run(move |conn| Ok(ConsumerOffset::save_all(conn, &offsets).map(drop)?))
            .await
    }
}

/// Whether another session holds the row lock of `order_id` (its row
/// exists but cannot be locked right now).
fn locked_elsewhere(conn: &mut PgConnection, order_id: uuid::Uuid) -> Result<bool, DbError> {
    use crate::db::schema::orders;
    let exists: i64 = orders::table.find(order_id).count().get_result(conn)?;
    if exists == 0 {
        return Ok(false);
    }
    let lockable = orders::table
        .find(order_id)
        .select(orders::id)
        .for_update()
        .skip_locked()
        .get_result::<uuid::Uuid>(conn)
        .optional()?;
    Ok(lockable.is_none())
}

/// An error that may be the command's own: about its data, or a unique
/// violation (a redelivery's race passes when retried; one that persists
/// is the data's too).
fn is_the_commands(error: &DbError) -> bool {
    matches!(error, DbError::Query(_))
        && (error.blame() == Blame::Data || error.sqlstate() == Some(UNIQUE_VIOLATION))
}

/// One command in a transaction of its own; if the schema refuses it, it is
/// recorded as rejected, but only when the refusal is the command's: with
/// the schema held still ([`hold_schema`]), a known-good command passes
/// ([`probe`]) and then the command is refused again. A refusal that ended
/// in between (a trigger's function replaced, which takes no lock; a fault
/// that comes and goes) applies the command instead. Nested in a caller's
/// transaction, it is a savepoint.
fn apply_alone(
    conn: &mut PgConnection,
    command: &Command,
) -> Result<(BatchOutcome, Vec<OutboxMessage>), DbError> {
    let one = std::slice::from_ref(command);
    conn.transaction(|conn| {
        hold_schema(conn)?;
        match batch::apply(conn, one, &[]) {
            Err(e) if fault::is_constraint_refusal(&e) => {}
            applied => return Ok(applied?),
        }
        // Unless a known-good command is refused too (a broken migration):
        // then the database is at fault, and nothing is recorded.
        probe::probe(conn).map_err(DbError::Unwell)?;
        match batch::apply(conn, one, &[]) {
            Err(e) if fault::is_constraint_refusal(&e) => {
                tracing::warn!(error = %e, command_id = %command.command_id, "command refused by the schema");
                Ok(batch::record_refusal(conn, command, &e)?)
            }
            applied => Ok(applied?),
        }
    })
}

/// The last try of a command that kept failing for its data, as one
/// transaction with the schema held still: a known-good command passes,
/// then the command is tried again. `Err`: the database's fault (the probe
/// failed, or another error); `Ok(Err)`: the command failed again, its
/// data is at fault; `Ok(Ok)`: it applied (what failed has gone).
fn last_try(conn: &mut PgConnection, command: &Command) -> Result<Alone, DbError> {
    conn.transaction(|conn| {
        hold_schema(conn)?;
        probe::probe(conn).map_err(DbError::Unwell)?;
        match apply_alone(conn, command) {
            Err(e) if is_the_commands(&e) => Ok(Err(e)),
            applied => Ok(Ok(applied?)),
        }
    })
}

/// What a command applied alone did, or why its data failed.
type Alone = Result<(BatchOutcome, Vec<OutboxMessage>), DbError>;

/// Holds the schema of every table a command writes still until the
/// transaction ends: every `ALTER TABLE`, `CREATE` or `DROP TRIGGER`
/// conflicts with the row-exclusive lock, which writers share. So a
/// command's refusal and a known-good command's pass are judged under one
/// schema. The transaction takes its id first, as every outbox writer must
/// (the relay reads a lock on `outbox` without one as "anyone may commit").
fn hold_schema(conn: &mut PgConnection) -> QueryResult<()> {
    OutboxMessage::take_transaction_id(conn)?;
    diesel::sql_query(
        "LOCK TABLE orders, order_items, payments, order_status_history, \
         processed_commands, outbox IN ROW EXCLUSIVE MODE",
    )
    .execute(conn)
    .map(drop)
}
