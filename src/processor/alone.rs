//! One command in a transaction of its own, judged: is a failure the
//! command's (its data) or the database's? A refusal counts as the
//! command's only when, with the schema held still, a known-good command
//! ([`probe`]) passes and the command fails again right after it.

use diesel::prelude::*;

use super::{BatchOutcome, batch, probe};
use crate::db::DbError;
use crate::db::fault::{self, Blame, UNIQUE_VIOLATION};
use crate::db::models::OutboxMessage;
use crate::domain::Command;

/// Whether another session holds the row lock of `order_id` (its row
/// exists but cannot be locked right now).
pub(super) fn locked_elsewhere(
    conn: &mut PgConnection,
    order_id: uuid::Uuid,
) -> Result<bool, DbError> {
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
pub(super) fn is_the_commands(error: &DbError) -> bool {
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
pub(super) fn apply_alone(
    conn: &mut PgConnection,
    command: &Command,
) -> Result<(BatchOutcome, Vec<OutboxMessage>), DbError> {
    let one = std::slice::from_ref(command);
    conn.transaction(|conn| {
        hold_schema(conn)?;
        match batch::apply_fresh(conn, one, &[]) {
            Err(e) if fault::is_constraint_refusal(&e) => {}
            applied => return Ok(applied?),
        }
        // Unless a known-good command is refused too (a broken migration):
        // then the database is at fault, and nothing is recorded.
        probe::probe(conn).map_err(DbError::Unwell)?;
        match batch::apply_fresh(conn, one, &[]) {
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
pub(super) fn last_try(conn: &mut PgConnection, command: &Command) -> Result<Alone, DbError> {
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
pub(super) type Alone = Result<(BatchOutcome, Vec<OutboxMessage>), DbError>;

/// Holds the schema of every table a command writes still until the
/// transaction ends: adding or dropping a constraint or a trigger, renaming
/// or altering a column conflicts with the row-exclusive lock, which
/// writers share. So a command's refusal and a known-good command's pass
/// are judged under one schema. Deferred constraints are checked at each
/// statement instead of at the commit, so a refusal comes up inside the
/// savepoint that tried the command. The transaction takes its id first,
/// as every outbox writer must (the relay reads a lock on `outbox` without
/// one as "anyone may commit"). The outbox's partitions are not locked:
/// their schema is the outbox's, and one the housekeeper drops is never
/// written again.
fn hold_schema(conn: &mut PgConnection) -> QueryResult<()> {
    OutboxMessage::take_transaction_id(conn)?;
    diesel::sql_query(
        "LOCK TABLE orders, order_items, payments, order_status_history, \
         processed_commands, command_id_conflicts, ONLY outbox IN ROW EXCLUSIVE MODE",
    )
    .execute(conn)?;
    diesel::sql_query("SET CONSTRAINTS ALL IMMEDIATE")
        .execute(conn)
        .map(drop)
}
