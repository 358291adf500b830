//! One batch in one transaction: learn the state of every order the batch
//! touches, decide each command in memory in delivery order, then write
//! everything in one statement.
//!
//! What the batch knows comes from fresh reads (the orders row-locked, the
//! processed command ids, the taken transaction ids) or, for what this
//! instance wrote itself, from its cache ([`Known`]): then the processed
//! command ids are not read, and the orders only when one is unknown (all
//! of them locked then, the payments read of those not known at their
//! version). The primary keys and the version check catch what the cache
//! did not know, and the batch fails ([`Failed`]) to be applied again
//! from fresh reads.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use uuid::Uuid;

use super::BatchOutcome;
use super::cache::Known;
use crate::db::models::{
    CommandIdConflict, ConsumerOffset, NewProcessedCommand, OutboxMessage, ProcessedFingerprint,
};
use crate::domain::{
    self, Change, Command, CommandBody, Facts, OrderState, Rejection, RejectionCode,
};
use crate::events;

use super::load::{load_orders, taken_transaction_ids};
use super::writes::{Stale, WorkingOrder, Writes, record_change, record_rejection, write};

/// What a committed batch did and left.
pub(super) struct Applied {
    pub(super) outcome: BatchOutcome,
    /// Its outbox rows, with their ids.
    pub(super) events: Vec<OutboxMessage>,
    /// The state of each order it touched, after it.
    pub(super) orders: HashMap<Uuid, OrderState>,
    /// The commands it found processed before or processed (applied or
    /// rejected).
    pub(super) processed: Vec<(Uuid, ProcessedFingerprint)>,
}

/// Why a batch was rolled back.
#[derive(Debug)]
pub(super) enum Failed {
    Query(DieselError),
    /// An order known from the cache was moved by another writer.
    Stale,
}

impl From<DieselError> for Failed {
    fn from(e: DieselError) -> Self {
        Self::Query(e)
    }
}

impl From<Stale> for Failed {
    fn from(_: Stale) -> Self {
        Self::Stale
    }
}

/// Applies `commands` and saves `offsets` in one transaction, deciding
/// from `known` where it knows (`None`: everything read fresh).
pub(super) fn apply(
    conn: &mut PgConnection,
    commands: &[Command],
    offsets: &[ConsumerOffset],
    known: Option<&Known>,
) -> Result<Applied, Failed> {
    OutboxMessage::writing(conn, |conn| {
        // Lock first: a concurrent batch holding these orders (another
        // instance, mid-rebalance) commits before the dedup check below.
        let mut ids: Vec<Uuid> = commands.iter().map(|c| c.order_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut outcome = BatchOutcome::default();
        let cached = known.map(|k| &k.orders);
        let mut orders = match cached {
            // Every order known: nothing read, nothing locked before the
            // write, which checks their versions.
            Some(cached) if ids.iter().all(|id| cached.contains_key(id)) => {
                outcome.orders_known = ids.len();
                ids.iter()
                    .map(|id| (*id, WorkingOrder::cached(cached[id].clone())))
                    .collect()
            }
            // Otherwise all of them locked, in id order, as every batch
            // locks (no deadlock between two writers of the same orders);
            // the known ones at their version are not read further.
            _ => {
                let asked = ids.len();
                let (orders, from_cache) = load_orders(conn, ids, cached)?;
                outcome.orders_known = from_cache;
                outcome.orders_read = asked - from_cache;
                orders
            }
        };
        let mut seen: HashMap<Uuid, ProcessedFingerprint> = match known {
            // A processed command the cache does not know fails the batch
            // on its primary key.
            Some(known) => known.commands.clone(),
            None => {
                let command_ids: Vec<Uuid> = commands.iter().map(|c| c.command_id).collect();
                NewProcessedCommand::known(conn, &command_ids)?
                    .into_iter()
                    .collect()
            }
        };
        // Read even when the orders are known: a taken id decides the
        // rejection before the amount does (no query without payments).
        let mut taken = taken_transaction_ids(conn, commands)?;

        let mut writes = Writes::default();
        let mut conflicts = HashSet::new();
        for command in commands {
            // Per command, so that rows and events of one batch keep their order in time.
            let now = Utc::now();
            let fingerprint = ProcessedFingerprint {
                order_id: command.order_id,
                body_hash: Some(command.fingerprint),
                processed_at: now,
            };
            if let Some(earlier) = seen.get(&command.command_id) {
                if is_redelivery(earlier, &fingerprint) {
                    outcome.duplicates += 1;
                } else {
                    // The earlier command stands; this one is answered for
                    // the order it names, and recorded nowhere else (its
                    // id is taken).
                    let rejection = Rejection::new(
                        RejectionCode::CommandIdConflict,
                        "command_id was already used for another order or another command",
                    );
                    let answer = events::conflict_rejected(
                        command,
                        fingerprint.body_hash.unwrap_or_default(),
                        &rejection,
                        now,
                    );
                    // Its id is derived: answered once, however often
                    // it is delivered.
                    if conflicts.insert(answer.event_id) {
                        writes.outbox.push(answer);
                    }
                    outcome.count_rejected(command.body.kind().as_str(), rejection.code.as_str());
                }
                continue;
            }
            seen.insert(command.command_id, fingerprint);
            let working = orders.get(&command.order_id);
            let facts = Facts {
                transaction_id_taken: match &command.body {
                    CommandBody::ProcessPayment(p) => taken.contains(&p.transaction_id),
                    _ => false,
                },
            };
            match domain::decide(working.map(|w| &w.state), &command.body, facts) {
                Ok(change) => {
                    if let Change::PaymentProcessed { transaction_id, .. } = &change {
                        taken.insert(transaction_id.clone());
                    }
                    record_change(&mut orders, &mut writes, command, change, now);
                    outcome.count_applied(command.body.kind().as_str());
                }
                Err(rejection) => {
                    record_rejection(&mut writes, command, &rejection, now);
                    outcome.count_rejected(command.body.kind().as_str(), rejection.code.as_str());
                }
            }
        }
        if !conflicts.is_empty() {
            let claimed = CommandIdConflict::claim(conn, &conflicts)?;
            writes.outbox.retain(|row| {
                !conflicts.contains(&row.event_id) || claimed.contains(&row.event_id)
            });
        }
        let events = write(conn, &orders, writes, offsets, Utc::now())??;
        Ok(Applied {
            outcome,
            events,
            orders: orders.into_iter().map(|(id, w)| (id, w.state)).collect(),
            processed: seen.into_iter().collect(),
        })
    })
}

/// [`apply`] from fresh reads: every order it decides on is row-locked,
/// so none can be stale (should one be, the batch fails, to be retried).
pub(super) fn apply_fresh(
    conn: &mut PgConnection,
    commands: &[Command],
    offsets: &[ConsumerOffset],
) -> QueryResult<(BatchOutcome, Vec<OutboxMessage>)> {
    match apply(conn, commands, offsets, None) {
        Ok(applied) => Ok((applied.outcome, applied.events)),
        Err(Failed::Query(e)) => Err(e),
        Err(Failed::Stale) => Err(DieselError::QueryBuilderError(
            "an order changed under its row lock".into(),
        )),
    }
}

/// The same command delivered again: same order, same body (or a row from
/// before fingerprints, which cannot tell).
fn is_redelivery(earlier: &ProcessedFingerprint, now: &ProcessedFingerprint) -> bool {
    earlier.order_id == now.order_id
        && earlier
            .body_hash
            .is_none_or(|hash| Some(hash) == now.body_hash)
}

/// Records a command the schema refused, in a transaction of its own.
pub(super) fn record_refusal(
    conn: &mut PgConnection,
    command: &Command,
    error: &DieselError,
) -> QueryResult<(BatchOutcome, Vec<OutboxMessage>)> {
    let rejection = Rejection::new(RejectionCode::ValidationFailed, refusal_text(error));
    conn.transaction(|conn| {
        let now = Utc::now();
        if !NewProcessedCommand::known(conn, &[command.command_id])?.is_empty() {
            let outcome = BatchOutcome {
                duplicates: 1,
                ..BatchOutcome::default()
            };
            return Ok((outcome, Vec::new()));
        }
        let mut writes = Writes::default();
        record_rejection(&mut writes, command, &rejection, now);
        let events = write(conn, &HashMap::new(), writes, &[], now)?
            .expect("no order is written, so none is stale");
        let mut outcome = BatchOutcome::default();
        outcome.count_rejected(command.body.kind().as_str(), rejection.code.as_str());
        Ok((outcome, events))
    })
}

/// What a `CommandRejected` says of a refusal: the kind of rule and the
/// constraint's name, never the server's message (its language and wording
/// are the server's).
fn refusal_text(error: &DieselError) -> String {
    let DieselError::DatabaseError(kind, info) = error else {
        return "refused by the database".to_owned();
    };
    let rule = match kind {
        DatabaseErrorKind::UniqueViolation => "a unique key",
        DatabaseErrorKind::ForeignKeyViolation => "a foreign key",
        DatabaseErrorKind::CheckViolation => "a check constraint",
        DatabaseErrorKind::NotNullViolation => "a required column",
        _ => "a rule of the schema",
    };
    match info.constraint_name() {
        Some(name) => format!("refused by the database: it breaks {rule} ({name})"),
        None => format!("refused by the database: it breaks {rule}"),
    }
}
