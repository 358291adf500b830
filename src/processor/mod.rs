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

mod alone;
mod batch;
mod cache;
mod load;
mod offsets;
mod outcomes;
mod probe;
mod recent;
mod writes;

pub use cache::{OrderCache, PartitionId};
pub use offsets::{NextOffset, OffsetStore};
pub use outcomes::{CommandOutcomes, Waiter};

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use crate::backoff::Backoff;
use crate::db::fault;
use crate::db::models::ConsumerOffset;
use crate::db::{Database, DbError};
use crate::domain::Command;
use crate::excerpt;
use crate::handover::Handover;

use alone::{apply_alone, is_the_commands, last_try, locked_elsewhere};
use batch::Failed;

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
    /// Orders decided on from the cache, and orders read from the
    /// database (row-locked; new ones included).
    pub orders_known: usize,
    pub orders_read: usize,
    /// Why the batch was applied a second time from fresh reads, if it
    /// was: `stale_order` (another writer moved an order the cache knew),
    /// `refused` (a constraint refused what the cache allowed: a command id
    /// processed without its knowing, a race, or a command the schema
    /// refuses).
    pub reapplied: Option<&'static str>,
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
        self.orders_known += other.orders_known;
        self.orders_read += other.orders_read;
        self.reapplied = self.reapplied.or(other.reapplied);
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
    /// What the batches committed: read instead of the database.
    cache: OrderCache,
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
            cache: OrderCache::default(),
        }
    }

    /// What this instance knows of its partitions' orders; the consumer
    /// drops a partition's part when the partition moves.
    pub fn cache(&self) -> &OrderCache {
        &self.cache
    }

    /// Applies `commands` (in delivery order; `partitions[i]` is where
    /// `commands[i]` came from) and records the consumer positions in the
    /// same transaction, then commits. On `Err` nothing was written.
    ///
    /// Decides from the cache where it knows the orders; when the cache
    /// was wrong (another writer moved an order, or a command id was
    /// processed without its knowing), the batch is rolled back and
    /// applied again from fresh reads.
    pub async fn apply_batch(
        &self,
        commands: Vec<Command>,
        partitions: Vec<PartitionId>,
        positions: Vec<NextOffset>,
    ) -> Result<BatchOutcome, DbError> {
        assert_eq!(commands.len(), partitions.len(), "a partition per command");
        let offsets = self.offsets.rows(&positions);
        let outcomes = self.outcomes.clone();
        let handover = self.handover.clone();
        let cache = self.cache.clone();
        self.db
            .run(move |conn| {
                let known = cache.known(&commands, &partitions);
                let (applied, reapplied) =
                    match batch::apply(conn, &commands, &offsets, Some(&known)) {
                        Err(Failed::Stale) => {
                            tracing::info!(size = commands.len(), "an order moved under the cache (another writer): applying the batch from fresh reads");
                            cache.forget_orders(&commands);
                            let fresh = batch::apply(conn, &commands, &offsets, None);
                            (fresh, Some("stale_order"))
                        }
                        Err(Failed::Query(e)) if fault::is_integrity(&e) => {
                            // A processed command, a taken transaction id
                            // the cache did not know, or a refusal: the
                            // fresh reads tell.
                            tracing::debug!(error = %e, "batch refused on what the cache knew: applying it from fresh reads");
                            cache.forget_orders(&commands);
                            let fresh = batch::apply(conn, &commands, &offsets, None);
                            (fresh, Some("refused"))
                        }
                        other => (other, None),
                    };
                match applied {
                    Ok(mut applied) => {
                        applied.outcome.reapplied = reapplied;
                        handover.committed(applied.events);
                        outcomes.notify(commands.iter().map(|c| c.command_id));
                        let order_partition: HashMap<Uuid, &PartitionId> = commands
                            .iter()
                            .zip(&partitions)
                            .map(|(c, p)| (c.order_id, p))
                            .collect();
                        let command_partition: HashMap<Uuid, &PartitionId> = commands
                            .iter()
                            .zip(&partitions)
                            .map(|(c, p)| (c.command_id, p))
                            .collect();
                        cache.remember(
                            &known,
                            applied.orders.into_iter().filter_map(|(id, state)| {
                                order_partition.get(&id).map(|p| (id, (*p).clone(), state))
                            }),
                            applied.processed.into_iter().filter_map(|(id, fingerprint)| {
                                command_partition
                                    .get(&id)
                                    .map(|p| (id, (*p).clone(), fingerprint))
                            }),
                        );
                        Ok(applied.outcome)
                    }
                    Err(Failed::Query(e)) if fault::is_constraint_refusal(&e) => {
                        tracing::warn!(error = %e, size = commands.len(), "batch refused by the schema, applying its commands one by one");
                        cache.forget_orders(&commands);
                        let mut total = BatchOutcome {
                            reapplied,
                            ..BatchOutcome::default()
                        };
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
                    // Nothing was written (or, when the commit's answer was
                    // lost, the version check and the keys catch it).
                    Err(Failed::Query(e)) => Err(e.into()),
                    // Fresh reads lock every order they decide on.
                    Err(Failed::Stale) => Err(DbError::Stale),
                }
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
        // These writes pass the cache by.
        self.cache.forget_orders(&commands);
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
